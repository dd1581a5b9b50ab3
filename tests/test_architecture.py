"""The module layout's promises (DESIGN.md, "The pipeline"), checked on the source: no import
cycles, even through imports inside functions; the evaluator writes no words; the renderer reads
a Scene and imports neither the evaluator, the front ends nor the explainer."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "graphviz_nn"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every graphviz_nn module `path` imports, at the top or inside a function."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            subs = {f"{target}.{a.name}" for a in node.names} & modules
            found |= subs if len(subs) == len(node.names) else {target} | subs
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return (found & modules) - {module_name(path)}


def import_graph() -> nx.DiGraph:
    paths = list(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    graph.add_edges_from((module_name(p), m) for p in paths for m in imports_of(p, modules))
    return graph


def reaches(graph: nx.DiGraph, source: str, prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in nx.descendants(graph, source) if m.startswith(prefixes)}


def test_there_are_no_import_cycles():
    assert list(nx.simple_cycles(import_graph())) == []


def test_the_evaluator_writes_no_words():
    graph = import_graph()
    words = ("graphviz_nn.explain", "graphviz_nn.network", "graphviz_nn.render")
    assert reaches(graph, "graphviz_nn.engine", words) == set()


def test_the_renderer_imports_no_evaluator_front_end_or_explainer():
    graph = import_graph()
    forbidden = ("graphviz_nn.engine", "graphviz_nn.trace", "graphviz_nn.explain", "graphviz_nn.network",
                 "graphviz_nn.api", "graphviz_nn.cli")
    for module in [m for m in graph if m.startswith("graphviz_nn.render")]:
        assert reaches(graph, module, forbidden) == set(), module


def test_the_import_check_sees_imports_inside_functions():
    """The checker itself: the command imports the network package only inside a function."""
    assert import_graph().has_edge("graphviz_nn.cli.command", "graphviz_nn.network.run")
