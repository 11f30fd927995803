"""The lock files: complete, consistent with requirements*.txt and with each other, and installed.

`make lab` and `make test` install the locks, never the ranges, so a fresh clone next term gets
today's versions. These tests fail when someone edits a requirements file without `make lock`, or
when the venv holds something other than what the locks say.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lockfile import (
    DEV_LOCK,
    LESSONS_LOCK,
    MODEL_LOCK,
    REPO,
    Moved,
    compare,
    moved_since_lock,
    read_lock,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = {
    REPO / "requirements.txt": LESSONS_LOCK,
    REPO / "requirements-dev.txt": DEV_LOCK,
    REPO / "requirements-local-model.txt": MODEL_LOCK,
    REPO / "requirements-interop.txt": REPO / "requirements-interop.lock",
}


def direct_requirements(path: Path) -> list[Requirement]:
    """The ranges a requirements file asks for (its `-r` includes and `-e .` aside)."""
    found = []
    for line in path.read_text("utf-8").splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-r ", "-e ")):
            found.append(Requirement(line))
    return found


@pytest.mark.parametrize("source", REQUIREMENTS, ids=lambda path: path.name)
def test_every_direct_requirement_is_locked_inside_its_range(source: Path) -> None:
    pins = read_lock(REQUIREMENTS[source])
    for requirement in direct_requirements(source):
        if requirement.marker and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {REQUIREMENTS[source].name}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{REQUIREMENTS[source].name} pins {name}=={pins[name]}, outside {source.name}'s "
            f"{requirement.specifier}: run make lock"
        )


@pytest.mark.parametrize("lock", [LESSONS_LOCK, MODEL_LOCK], ids=lambda path: path.name)
def test_the_lessons_and_the_model_get_the_developers_versions(lock: Path) -> None:
    """make lab and make test must install the same version of every package they share."""
    developers = read_lock(DEV_LOCK)
    differ = {
        name: (version, developers[name])
        for name, version in read_lock(lock).items()
        if name in developers and developers[name] != version
    }
    assert not differ, f"{lock.name} and {DEV_LOCK.name} differ: {differ}"


def test_the_interop_clients_drive_the_developers_sdk_versions() -> None:
    """make interop runs its clients on the openai and anthropic the kit's own tests use."""
    developers, interop = read_lock(DEV_LOCK), read_lock(REPO / "requirements-interop.lock")
    for sdk in ("openai", "anthropic"):
        assert interop[sdk] == developers[sdk], (sdk, interop[sdk], developers[sdk])


def test_the_lessons_lock_holds_everything_the_lessons_need() -> None:
    """requirements.lock is installed with --no-deps: a missing dependency would not be noticed."""
    lessons = read_lock(LESSONS_LOCK)
    for must in ("jupyterlab", "ipywidgets", "openai", "matplotlib", "nbval", "httpx2", "jiter"):
        assert must in lessons
    assert "pytest-xdist" not in lessons  # a developer's tool, in requirements-dev.lock only


def test_compare_names_what_moved_what_is_missing_and_what_is_extra() -> None:
    pins = {"openai": "3.63.0", "anthropic": "2.17.0", "httpx": "0.28.1"}
    have = {"openai": "3.64.0", "httpx": "0.28.1", "leftpad": "1.0", "pip": "26.3"}
    assert compare(pins, have) == [
        Moved("anthropic", "2.17.0", None),
        Moved("openai", "3.63.0", "3.64.0"),
        Moved("leftpad", None, "1.0"),
    ]
    assert str(Moved("openai", "3.63.0", "3.64.0")) == "openai 3.63.0 -> 3.64.0"
    assert compare(pins, dict(pins)) == []


def test_read_lock_refuses_a_line_it_cannot_read(tmp_path: Path) -> None:
    broken = tmp_path / "broken.lock"
    broken.write_text("openai>=3\n")
    with pytest.raises(ValueError, match=r"broken.lock:1: not a pinned requirement: 'openai>=3'"):
        read_lock(broken)


def test_a_marker_for_another_platform_is_left_out(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text("appnope==1.0.0 ; sys_platform == 'no-such-os'\nsix==1.17.0\n")
    assert read_lock(lock) == {"six": "1.17.0"}


@pytest.mark.skipif(
    os.environ.get("KIT_LATEST") == "1",
    reason="make test-latest installs the newest allowed releases on purpose; "
    "what moved is printed before the tests and beside any failure",
)
def test_this_venv_holds_exactly_the_locked_versions() -> None:
    moved = moved_since_lock()
    assert not moved, "the venv is not the lock (make clean && make test): " + ", ".join(
        map(str, moved)
    )
