"""helpers/ has no import cycle, module by module (a package's __init__ counts as a module).

`lint-imports` (pyproject.toml) holds the layers and forbids cycles between sibling packages and
modules; this also catches a cycle between a package's __init__ and a module inside it.
"""

from __future__ import annotations

import grimp


def find_cycle(graph: grimp.ImportGraph) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search over direct imports)."""
    done: set[str] = set()
    for root in sorted(graph.modules):
        path, on_path = [root], {root}
        stack = [iter(sorted(graph.find_modules_directly_imported_by(root)))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
            elif nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(sorted(graph.find_modules_directly_imported_by(nxt))))
    return None


def test_helpers_has_no_import_cycle() -> None:
    graph = grimp.build_graph("helpers")
    assert len(graph.modules) > 40  # the whole package was found
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_find_cycle_finds_one() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.a", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    assert find_cycle(graph) == ["p.a", "p.b", "p.c", "p.a"]
