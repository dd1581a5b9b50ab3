"""Float noise for people: a number that is zero up to rounding, relative to what it was computed
from (x − mean(x) = −2.776e−17 beside entries of 0.1), is shown as 0 in the table, the pictures and
the captions. The JSON keeps every bit: only what is shown is cleaned."""
from __future__ import annotations

import numpy as np

from ..graph import OP, Graph
from ..ops import ADD, MATMUL, OPS

ROUNDING = 64 * np.finfo(float).eps      # ~1.4e-14: a few roundings of the operands' size


def magnitude(*values) -> float:
    """The largest finite |entry| among the values (0 if none)."""
    sizes = [np.max(np.abs(a[np.isfinite(a)]), initial=0.0) for a in map(np.asarray, values) if a.size]
    return float(max(sizes, default=0.0))


def cleaned(value, *operands):
    """value with entries within rounding of 0, relative to the operands and to itself, set to 0."""
    if value is None:
        return None
    v = np.asarray(value, dtype=float)
    tiny = (v != 0) & (np.abs(v) <= ROUNDING * magnitude(v, *operands))
    return np.where(tiny, 0.0, v) if np.any(tiny) else value


def shown_graph(graph: Graph) -> Graph:
    """A copy of the graph's attributes with the noise cleaned from every value and gradient."""
    nodes = {}
    for n in graph.order:
        node = graph[n]
        shares = [graph.edge(*e)["grad"] for e in graph.out_edges(n) if graph.edge(*e)["grad"] is not None]
        nodes[n] = {**node, "value": shown_value(graph, n), "grad": cleaned(node["grad"], *shares)}
    shown = Graph(graph.output, graph.order, nodes, graph.args, graph.source, graph.kind)
    scales = share_scales(graph)
    for edge, attrs in graph.edge_attrs.items():
        grad = attrs["grad"]
        shown.edge_attrs[edge] = {**attrs, "value": nodes[edge[0]]["value"],
                                  "grad": cleaned(grad, scales[edge[1]]) if edge[1] in scales else grad}
    return shown


def shown_value(graph: Graph, n: str):
    """Sums cancel: a gate that adds is cleaned relative to its operands, a matrix product relative
    to the products of its operands; a product or a function of one number is as exact as its input."""
    node = graph[n]
    if node["kind"] != OP:
        return node["value"]
    return cleaned_result(node["op"], node["value"], [graph[u]["value"] for u in graph.args[n]])


def cleaned_result(op_name: str, value, inputs: list):
    """A gate's result cleaned as its kind of arithmetic allows (see shown_value)."""
    op = OPS[op_name]
    if op.gate == ADD or op.name == "mean":
        return cleaned(value, *inputs)
    if op.gate == MATMUL:
        return cleaned(value, np.prod([magnitude(x) for x in inputs[:2]]))
    return value


def share_scales(graph: Graph) -> dict[str, float]:
    """A gate's shares of the gradient are sums only where its rule is more than a local
    derivative (matmul, softmax, sum, …): cleaned relative to upstream × the gate's own numbers
    there, a scale per gate (once, however many inputs it has)."""
    scales = {}
    for n in graph.gates():
        gate = graph[n]
        if gate["grad"] is not None and not OPS[gate["op"]].derivatives:
            numbers = [graph[u]["value"] for u in graph.args[n]] + [gate["value"]]
            scales[n] = magnitude(gate["grad"]) * magnitude(*numbers)
    return scales
