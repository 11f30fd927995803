"""Repository-wide pytest hooks (they apply to tests/ and to the nbval run over notebooks/)."""

from __future__ import annotations

import os

import pytest

REAL_MODEL_TAG = "kit-real-model"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip notebook cells tagged `kit-real-model` when the optional local model is missing.

    Those cells' committed outputs come from the real model, so without it they cannot match.
    `make test` installs the model; only `make test SKIP_LOCAL_MODEL=1` (or a plain pytest on a
    machine without it) gets here. Under CI the cells are never skipped: a missing model fails.
    """
    tagged = [item for item in items if REAL_MODEL_TAG in _cell_tags(item)]
    if not tagged or os.environ.get("CI"):
        return
    from helpers.server.model.real import local_model_available

    missing = local_model_available()
    if missing:
        skip = pytest.mark.skip(reason=f"optional local model not installed: {missing}")
        for item in tagged:
            item.add_marker(skip)


def _cell_tags(item: pytest.Item) -> list[str]:
    cell = getattr(item, "cell", None)  # nbval's notebook-cell items carry their cell
    if cell is None:
        return []
    return list(cell.get("metadata", {}).get("tags", []))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Under `make test-latest`, print a failure beside the packages that moved since the lock."""
    if os.environ.get("KIT_LATEST") != "1" or exitstatus == 0:
        return
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "tests"))
    from lockfile import report

    terminalreporter.section("make test-latest: what moved since the lock")
    terminalreporter.write_line(report())
    terminalreporter.write_line("If a failure comes from one of these, fix it and run make lock.")
