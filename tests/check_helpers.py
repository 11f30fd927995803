"""What every tests/test_checks_lessonNN.py shares: the reference solutions, a stub, the verdicts.

Each of those modules tests one helpers/checks/lessonNN.py: the check passes the reference
solution in notebooks/solutions/, and fails the notebook's stub and plausible mistakes. Import
from here (tests/ is on sys.path while pytest runs them): `from check_helpers import ...`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"


def load_solution(lesson: str) -> ModuleType:
    """notebooks/solutions/<lesson>.py, e.g. "lesson01", loaded by path (it is not a package)."""
    spec = importlib.util.spec_from_file_location(f"solution_{lesson}", SOLUTIONS / f"{lesson}.py")
    assert spec is not None and spec.loader is not None, f"no solutions for {lesson}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solution_fixture(lesson: str) -> Any:
    """A module-scoped `solution` fixture: one lesson's reference solutions.

    In a test module: ``solution = solution_fixture("lesson01")``.
    """

    @pytest.fixture(scope="module", name="solution")
    def solution() -> ModuleType:
        return load_solution(lesson)

    return solution


def stub(*_args: object, **_kwargs: object) -> Any:
    raise NotImplementedError  # what the committed notebook contains


def assert_passes(message: str, number: int) -> None:
    assert message == f"✅ Exercise {number} passed"


def assert_fails(message: str, number: int, *fragments: str) -> None:
    """A "not solved yet" verdict for this exercise, naming each of the fragments."""
    assert message.startswith(f"❌ Exercise {number} not solved yet: "), message
    for fragment in fragments:
        assert fragment in message, message


def assert_stub_fails(checks: ModuleType, number: int, learner: Callable[..., Any] = stub) -> None:
    """What the committed notebook shows: exercise `number`'s check reports the stub unsolved.

    An async check (lesson 4's third) is run to its verdict here.
    """
    message = getattr(checks, f"check_exercise_{number}")(learner)
    if inspect.iscoroutine(message):
        message = asyncio.run(message)
    assert_fails(message, number, "NotImplementedError")
