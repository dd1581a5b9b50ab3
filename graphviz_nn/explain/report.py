"""What a run reports: the JSON document of DESIGN.md and the terminal's node table."""
from __future__ import annotations

import json

import numpy as np

from ..graph import CONST, OP, Graph, is_data
from ..numfmt import fmt_value, shape_text, to_json
from ..ops import OPS
from .captions import derivative
from .noise import shown_graph


def graph_pass(graph: Graph, **extra) -> dict:
    """One pass of the JSON document: every node and edge with its value and gradient."""
    nodes = [{"id": n, "label": graph.label(n), "kind": graph[n]["kind"], "op": graph[n]["op"],
              "text": graph[n]["text"], "value": maybe(graph[n]["value"]),
              "grad": None if graph[n]["kind"] == CONST else maybe(graph[n]["grad"]),
              "shape": list(graph[n]["shape"] or ())}
             for n in graph.order]
    edges = [{"source": u, "target": v, "arg": k, "value": maybe(graph.edge(u, v, k)["value"]),
              "grad": None if graph[u]["kind"] == CONST else maybe(graph.edge(u, v, k)["grad"])}
             for v in graph.order for u, _, k in graph.in_edges(v)]
    result = {"nodes": nodes, "edges": edges, "output": maybe(graph[graph.output]["value"]),
              "gradients": gradients(graph)}
    result.update(extra)
    return result


def maybe(value):
    return None if value is None else to_json(value)


def gradients(graph: Graph) -> dict:
    return {n: maybe(graph[n]["grad"]) for n in graph.variables()}


def document(source: str, kind: str, passes: list[dict]) -> dict:
    return {"source": source, "kind": kind, "steps": passes}


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)


def operation(graph: Graph, n: str) -> str:
    node = graph[n]
    if node["kind"] != OP:
        return node["kind"]
    return OPS[node["op"]].text([graph.label(u) for u in graph.args[n]], node["p"])


def node_table(graph: Graph) -> list[str]:
    """Every node: `c = x + y`, its value, its gradient, and the source text it computes."""
    graph = shown_graph(graph)
    rows = [(f"{graph.label(n)} = {operation(graph, n)}", fmt_value(graph[n]["value"]),
             fmt_value(graph[n]["grad"]) if graph[n]["grad"] is not None and graph[n]["kind"] != CONST else "",
             graph[n]["text"] if graph[n]["kind"] == OP else "")
            for n in graph.order if graph[n]["kind"] != CONST or is_data(graph, n)]
    if not rows:                  # a constant expression, `exp(1)`: its value says it all
        return []
    header = ("node", "value", derivative(graph, "node"), "source")
    widths = [min(40, max(len(r[i]) for r in rows + [header])) for i in range(3)]
    return [format_row(r, widths) for r in [header] + rows]


def format_row(row, widths) -> str:
    cells = [cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]
    return "  ".join(cells).rstrip()


def gradient_lines(graph: Graph, short: bool = False) -> list[str]:
    """`f = 12`, `∂f/∂x = 10`, …; short: matrices by their shape."""
    show = (lambda v: fmt_value(v) if np.size(v) <= 4 else f"[{shape_text(np.shape(v))}]") if short else fmt_value
    graph = shown_graph(graph)
    out = graph.label(graph.output)
    return [f"{out} = {show(graph[graph.output]['value'])}"] + [
        f"{derivative(graph, graph.label(n))} = {show(graph[n]['grad'])}" for n in graph.variables()]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def scene(graph: Graph, steps, captions, marked=frozenset(), label: str = "", recipe: str = "",
          grid: bool = False, parameters: dict | None = None):
    """What the renderer needs of a run: the graph, its steps and captions, the nodes to mark
    (the diagnostics', and `marked`: wrong answers), and the gradients (then `recipe`, a training
    step's update rule) as the final caption. grid: the grid view, matrices drawn as number grids
    and each conv and pool gate told window by window (windows.py). parameters: the gradients to
    list instead of the graph's variables' (a neuron view's weights are on its edges)."""
    from ..render.export import Scene      # the renderer only when something is drawn
    from .diagnostics import diagnostics
    shown = shown_graph(graph)
    if grid:
        from .windows import grid_steps
        steps, captions = grid_steps(shown, steps, captions)
    lines = gradient_lines(graph) if parameters is None else gradient_lines(graph)[:1] + [
        f"{derivative(graph, name)} = {fmt_value(g)}" for name, g in parameters.items()]
    return Scene(shown, steps, captions, {d.node for d in diagnostics(graph)} | set(marked),
                 " · ".join(lines + ([recipe] if recipe else [])), label, grid)
