"""The architecture holds: layers import only downwards, stages never import one another
(``[tool.importlinter]`` in pyproject.toml), and no module imports itself in a circle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_layers_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]


def _cycle(graph: grimp.ImportGraph) -> list[str] | None:
    """One import cycle between modules, if there is any (depth-first search)."""
    finished: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module) :] + [module]
        if module in finished:
            return None
        path.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if (cycle := visit(imported)) is not None:
                return cycle
        path.pop()
        finished.add(module)
        return None

    for module in sorted(graph.modules):
        if (cycle := visit(module)) is not None:
            return cycle
    return None


def test_no_import_cycles() -> None:
    cycle = _cycle(grimp.build_graph("edgedistill"))
    assert cycle is None, " -> ".join(cycle or [])


def test_the_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a")):
        graph.add_import(importer=a, imported=b)
    assert _cycle(graph) == ["p.a", "p.b", "p.c", "p.a"]


def test_every_module_imports() -> None:
    """A module moved between layers leaves no import of its old name behind."""
    import importlib
    import pkgutil

    import edgedistill

    for module in pkgutil.walk_packages(edgedistill.__path__, "edgedistill."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
