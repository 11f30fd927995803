"""One rule for a test that cannot run here: a skip with a note, but a failure under CI=true.

A part the kit installs itself (Chromium, the local model, a recording made with the locked SDK)
must never be silently missing in CI, where a skip would hide the gap.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """CI=true (GitHub Actions, the kit's own CI); "", "0", "false" and "no" mean not CI."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str, what: str = "this test") -> None:
    """Skip with `reason`; under CI fail with it, naming what must run."""
    if in_ci():
        pytest.fail(f"CI is set, so {what} must run: {reason}")
    pytest.skip(reason)
