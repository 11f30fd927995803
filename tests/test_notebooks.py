"""Every lesson notebook is committed executed, clean, secret-free, and shaped like a lesson.

nbval (make test) re-runs the notebooks and compares outputs; these checks cover what nbval
cannot see: a notebook committed unexecuted, a leaked key, a lesson without objectives or
exercises, a lesson missing from the README's table.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
LESSON_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")

SECRET_PATTERNS = {
    "an OpenAI-style key (sk-...)": re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    "a bearer token": re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    "an Authorization header with a value": re.compile(
        r"""Authorization['"]?\s*[:=]\s*['"]?(?:Bearer\s+|Basic\s+)?[A-Za-z0-9._~+/=-]{8,}""",
        re.IGNORECASE,
    ),
}
CHECK_RESULT = re.compile(r"^(✅ Exercise \d+ passed|❌ Exercise \d+ not solved yet: .+)$", re.M)


def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def output_texts(cell: nbformat.NotebookNode) -> list[str]:
    """Every text an output carries: streams, reprs, HTML, tracebacks."""
    texts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append(output["text"])
        for value in output.get("data", {}).values():
            if isinstance(value, str):
                texts.append(value)
        texts.extend(output.get("traceback", []))
    return texts


def all_texts(notebook: nbformat.NotebookNode) -> list[str]:
    return [text for cell in notebook.cells for text in [cell.source, *output_texts(cell)]]


def test_there_are_lessons():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOKS_DIR}"


def test_only_lessons_and_solutions_live_in_notebooks():
    """nbval collects every .ipynb under notebooks/, so stray files would be run as lessons.
    notebooks/app/ is lesson 13's page (HTML, scripts, vendored libraries), never a notebook."""
    strays = [
        path.relative_to(NOTEBOOKS_DIR).as_posix()
        for path in NOTEBOOKS_DIR.rglob("*")
        if path.is_file()
        and ".ipynb_checkpoints" not in path.parts
        and "__pycache__" not in path.parts
        and not LESSON_NAME.match(path.name)
        and not (path.parent.name == "solutions" and path.suffix == ".py")
        and not (path.relative_to(NOTEBOOKS_DIR).parts[0] == "app" and path.suffix != ".ipynb")
    ]
    assert strays == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_uses_the_python3_kernel(path):
    assert load(path).metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_code_cell_was_executed(path):
    unexecuted = [
        index
        for index, cell in enumerate(load(path).cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.execution_count is None
    ]
    assert unexecuted == [], f"cells {unexecuted} were never run: execute the notebook in place"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_no_error_outputs(path):
    errors = [
        f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
        for index, cell in enumerate(load(path).cells)
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_no_secret_looking_strings(path):
    found = [
        f"{what}: {match.group(0)[:12]}..."
        for text in all_texts(load(path))
        for what, pattern in SECRET_PATTERNS.items()
        for match in pattern.finditer(text)
    ]
    assert found == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_opens_with_title_and_learning_objectives(path):
    first = load(path).cells[0]
    assert first.cell_type == "markdown", "the first cell should be the lesson's introduction"
    assert re.match(r"#\s+\S", first.source), "the first cell should start with a '# Title'"
    assert re.search(r"learn", first.source, re.IGNORECASE), "no learning objectives"
    assert re.search(r"^\s*[-*]\s+\S", first.source, re.M), "objectives should be a bullet list"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_ends_with_exercises_and_check_cells(path):
    cells = load(path).cells
    headings = [
        index
        for index, cell in enumerate(cells)
        if cell.cell_type == "markdown" and re.search(r"^#+\s*Exercises", cell.source, re.M)
    ]
    assert headings, "no '## Exercises' heading"
    after = cells[headings[-1] :]
    stubs = [cell for cell in after if "NotImplementedError" in cell.source]
    checks = [
        cell
        for cell in after
        if cell.cell_type == "code" and re.search(r"\bcheck_exercise_\d+\(", cell.source)
    ]
    assert 2 <= len(checks) <= 4, f"expected 2-4 exercise check cells, found {len(checks)}"
    assert len(stubs) >= len(checks), "each exercise needs a stub for the learner to fill in"
    for cell in checks:
        results = CHECK_RESULT.findall("".join(output_texts(cell)))
        assert results, f"check cell printed no ✅/❌ result: {cell.source!r}"
    assert cells[-1] in checks, "the notebook should end with a check cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_listed_in_the_readme_lesson_table(path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.lstrip().startswith("|")]
    assert any(f"notebooks/{path.name}" in row for row in rows), (
        f"README.md has no table row linking notebooks/{path.name}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234",
        "Authorization: Bearer kit-local-no-key-needed",
        '{"authorization": "Bearer abcdefgh12345678"}',
        "authorization: Basic dXNlcjpwYXNzd29yZA==",
    ],
)
def test_secret_patterns_catch_keys_and_headers(text):
    assert any(pattern.search(text) for pattern in SECRET_PATTERNS.values())


@pytest.mark.parametrize(
    "text",
    [
        'headers = {"Authorization": f"Bearer {client.api_key}"}',
        "never print a key; the sk- prefix marks OpenAI keys",
        "the `Authorization:` header carries the key",
    ],
)
def test_secret_patterns_leave_code_and_prose_alone(text):
    assert not any(pattern.search(text) for pattern in SECRET_PATTERNS.values())
