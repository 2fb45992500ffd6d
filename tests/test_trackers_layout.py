"""ostrack_eval/trackers/ imports in one direction: every file imports only files below it (no circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import ostrack_eval.trackers

PACKAGE = "ostrack_eval.trackers"
FOLDER = Path(ostrack_eval.trackers.__file__).parent


def _module_of(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules ``path`` imports anywhere: top level, in functions, under ``if TYPE_CHECKING``."""
    me = _module_of(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this package
                base = PACKAGE if node.level == 1 else PACKAGE.rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # ``from pkg import sub`` imports the submodule ``pkg.sub``
            names = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                     for alias in node.names]
        else:
            continue
        found.update(n for n in names if n in modules and n != me)
    return found


def import_graph() -> dict[str, set[str]]:
    files = sorted(FOLDER.glob("*.py"))
    modules = {_module_of(p) for p in files}
    return {_module_of(p): _imports(p, modules) for p in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_function_level_circle(tmp_path):
    # the check itself must see what it is meant to catch: a circle closed by an import inside a function
    (tmp_path / "a.py").write_text("from ostrack_eval.trackers.b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from ostrack_eval.trackers import a\n")
    modules = {f"{PACKAGE}.a", f"{PACKAGE}.b"}
    graph = {f"{PACKAGE}.{p.stem}": _imports(p, modules) for p in tmp_path.glob("*.py")}
    assert find_cycle(graph) is not None


def test_trackers_import_graph_is_acyclic():
    graph = import_graph()
    assert f"{PACKAGE}.vit" in graph and f"{PACKAGE}.fast" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_layers_faithful_model_alone_fast_on_it_registry_names_only():
    graph = import_graph()
    # the faithful model stands alone; the fast path is built on it
    assert f"{PACKAGE}.fast" not in graph[f"{PACKAGE}.vit"]
    assert f"{PACKAGE}.vit" in graph[f"{PACKAGE}.fast"]
    # the registry names factories by strings: it imports none of the trackers it builds
    for built in ("ostrack_tracker", "factory", "engine", "model", "identity", "batched"):
        assert f"{PACKAGE}.{built}" not in graph[f"{PACKAGE}.registry"]
    # and nothing below the registry reaches back up to it
    assert not [m for m, deps in graph.items() if f"{PACKAGE}.registry" in deps and m != PACKAGE]
