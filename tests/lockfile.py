"""What the lock files say against what this venv has installed.

`make test` prints the report first (`python tests/lockfile.py --report`), and tests/test_lock.py
fails when a locked package is missing or at another version. Under `make test-latest`, where the
venv holds the newest releases the ranges allow on purpose, the same comparison names the packages
that moved since the lock: printed before the tests and again beside any failure (conftest.py).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LESSONS_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"
MODEL_LOCK = REPO / "requirements-local-model.lock"
# The kit's own package, installed editable by `-e .` (not a pinned line).
KIT_PACKAGE = "streaming-llm-kit-helpers"
# What a venv has without anyone asking for it.
VENV_OWN = {"pip", "setuptools", "wheel"}

PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)\s*(?:;(?P<marker>.*))?$"
)


@dataclass(frozen=True)
class Moved:
    """One package whose installed version is not the locked one (None: not there)."""

    name: str
    locked: str | None
    installed: str | None

    def __str__(self) -> str:
        locked, installed = self.locked or "(not locked)", self.installed or "(not installed)"
        return f"{self.name} {locked} -> {installed}"


def read_lock(path: Path) -> dict[str, str]:
    """The lock's pins that apply to this interpreter and platform: {normalized name: version}."""
    pins: dict[str, str] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", "-e ")):
            continue
        match = PIN.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not a pinned requirement: {line!r}")
        marker = match["marker"]
        if marker and not Marker(marker.strip()).evaluate():
            continue
        pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def installed() -> dict[str, str]:
    """Every distribution in this interpreter's environment: {normalized name: version}."""
    return {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }


def expected_locks() -> list[Path]:
    """The locks this venv was installed from: the developers' one, plus the model's if present."""
    locks = [DEV_LOCK]
    if "llama-cpp-python" in installed():
        locks.append(MODEL_LOCK)
    return locks


def compare(pins: dict[str, str], have: dict[str, str]) -> list[Moved]:
    """Every locked package at another version or missing, and every unlocked one installed."""
    moved = [
        Moved(name, version, have.get(name))
        for name, version in sorted(pins.items())
        if have.get(name) != version
    ]
    extra = sorted(set(have) - set(pins) - VENV_OWN - {KIT_PACKAGE})
    return moved + [Moved(name, None, have[name]) for name in extra]


def moved_since_lock() -> list[Moved]:
    pins: dict[str, str] = {}
    for lock in expected_locks():
        pins.update(read_lock(lock))
    return compare(pins, installed())


def report() -> str:
    moved = moved_since_lock()
    locks = " + ".join(lock.name for lock in expected_locks())
    if not moved:
        return f"installed packages: exactly {locks}"
    lines = [f"installed packages: {len(moved)} differ from {locks} (locked -> installed):"]
    return "\n".join(lines + [f"  {entry}" for entry in moved])


if __name__ == "__main__":
    if sys.argv[1:] != ["--report"]:
        sys.exit("usage: python tests/lockfile.py --report")
    print(report())
