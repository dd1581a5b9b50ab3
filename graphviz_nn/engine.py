"""Forward and backward passes over a Graph, each producing the Step records frames are made of."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from . import explain
from .errors import UserError
from .graph import OP, Graph, paused_cycle_collector
from .ops import OPS

FORWARD, BACKWARD, UPDATE = "forward", "backward", "update"
ONE = np.float64(1.0)


@dataclass(frozen=True, init=False)
class Step:
    phase: str                      # forward | backward | update
    kind: str                       # inputs | gate | seed | copy | update
    nodes: tuple[str, ...]          # nodes whose value (forward) or gradient (backward) is now known
    edges: tuple[tuple[str, str, int], ...]   # edges whose value or gradient label is now known
    caption: str                    # or a function writing it: called on first use (see __getattr__)
    gate: str | None = None         # the node being worked on: highlighted in its frame

    def __init__(self, phase, kind, nodes, edges, caption, gate=None):
        # Written straight into the instance dict: the frozen dataclass's own __init__ sets each
        # field through object.__setattr__, twice as slow, and a big graph makes 20,000 steps.
        fields = self.__dict__
        fields["phase"], fields["kind"], fields["nodes"], fields["edges"], fields["gate"] = \
            phase, kind, nodes, edges, gate
        # a function: kept, and `caption` written when first read
        fields["write_caption" if callable(caption) else "caption"] = caption

    def __getattr__(self, name):
        """A big graph has thousands of steps: their captions are only written when someone reads them."""
        if name != "caption" or "write_caption" not in self.__dict__:
            raise AttributeError(name)
        caption = self.__dict__["caption"] = self.__dict__.pop("write_caption")()
        return caption


class EvaluationError(UserError):
    """A gate could not be evaluated (e.g. mismatched shapes); names the node and its source."""


def forward(graph: Graph) -> list[Step]:
    leaves = graph.leaves()
    for n in leaves:
        set_value(graph, n, graph[n]["value"])
    steps = [Step(FORWARD, "inputs", tuple(leaves), out_edges(graph, leaves),
                  explain.inputs_caption(graph, leaves))]
    nodes, args = graph.node_attrs, graph.args
    numbers = {n: number(nodes[n]["value"]) for n in leaves}
    with np.errstate(all="ignore"), paused_cycle_collector():
        for n in graph.gates():
            node = nodes[n]
            xs = [numbers[u] for u in args[n]]
            try:
                value = OPS[node["op"]].forward(xs, node["p"])
            except (ValueError, TypeError) as exc:
                raise EvaluationError(f"cannot compute {node['text']}: {exc}",
                                      graph.source or None, node["span"]) from None
            edges = set_value(graph, n, value)
            numbers[n] = number(node["value"])
            steps.append(Step(FORWARD, "gate", (n,), edges,
                              partial(explain.forward_caption, graph, n, xs, node["value"]), n))
    return steps


def number(value: np.ndarray):
    """What the passes compute with: a scalar as a numpy float (the same IEEE arithmetic as a 0-d
    array, ten times cheaper per operation), any other array as itself. The graph keeps arrays."""
    return value[()] if value.ndim == 0 else value


def set_value(graph: Graph, n: str, value) -> tuple:
    """The node's value, copied onto its out-edges; returns those edges."""
    value = np.asarray(value, dtype=float)
    node = graph.node_attrs[n]
    node["value"], node["shape"] = value, value.shape
    edges = graph.outs[n]
    for edge in edges:
        graph.edge_attrs[edge]["value"] = value
    return edges


def out_edges(graph: Graph, nodes) -> tuple:
    return tuple(e for n in nodes for e in graph.out_edges(n))


def backward(graph: Graph, seed=None) -> list[Step]:
    """Reverse-mode pass from `seed` (ones by default) at the output; grads land on every edge."""
    steps = []
    nodes, edges, args, output = graph.node_attrs, graph.edge_attrs, graph.args, graph.output
    with np.errstate(all="ignore"), paused_cycle_collector():
        numbers = {n: number(nodes[n]["value"]) for n in graph.order}
        scalar = not any(isinstance(x, np.ndarray) for x in numbers.values())
        for n in reversed(graph.order):
            node = nodes[n]
            if n == output:
                node["grad"] = seed_gradient(graph, seed)
                steps.append(Step(BACKWARD, "seed", (n,), (), explain.seed_caption(graph), n))
            else:
                grads = [edges[e]["grad"] for e in graph.outs[n]]
                node["grad"] = add_up(grads, node["value"], scalar)
                if len(grads) > 1:
                    steps.append(Step(BACKWARD, "copy", (n,), (), partial(
                        explain.copy_caption, graph, n, grads, node["grad"]), n))
            if node["kind"] == OP:
                grads = push_back(graph, n, numbers[n], [numbers[u] for u in args[n]], scalar)
                steps.append(Step(BACKWARD, "gate", tuple(args[n]), graph.ins[n],
                                  partial(explain.backward_caption, graph, n, node["grad"], grads), n))
    return steps


def seed_gradient(graph: Graph, seed) -> np.ndarray:
    value = graph[graph.output]["value"]
    if seed is None:
        return np.ones_like(value)
    try:
        return np.broadcast_to(np.asarray(seed, dtype=float), value.shape).copy()
    except ValueError:
        raise UserError(f"the seed gradient has shape {np.shape(seed)}, "
                        f"but the output has shape {value.shape}") from None


def add_up(grads: list, value: np.ndarray, scalar: bool = False) -> np.ndarray:
    """The copy gate: a node used k times sums the k gradients its out-edges carry, in order
    (none: zeros like its value). scalar: they are all 0-d."""
    if not grads:
        return np.zeros_like(value)
    if len(grads) == 1:
        return np.asarray(grads[0], dtype=float)
    if scalar:        # Python floats: the same IEEE sums, without a numpy call per term
        total = float(grads[0])
        for g in grads[1:]:
            total += float(g)
        return np.asarray(total)
    total = grads[0]
    for g in grads[1:]:
        total = total + g
    return np.asarray(total, dtype=float)


def push_back(graph: Graph, n: str, out, xs: list, scalar: bool = False) -> list[np.ndarray]:
    """Apply the gate's rule: each in-edge gets its share of the node's gradient; returns them.
    out, xs: the gate's numbers (see `number`); scalar: all of them are scalars."""
    node, attrs_of = graph.node_attrs[n], graph.edge_attrs
    op, p = OPS[node["op"]], node["p"]
    grads = []
    if scalar or (out.ndim == 0 and all(x.ndim == 0 for x in xs)):
        # scalar gate: the local derivatives (the VJP of 1), shown on the edges, times upstream;
        # straight from the op's rules where it has them (called in the loop: no list per gate)
        rules = getattr(op.vjp, "derivatives", None)
        upstream = float(node["grad"])        # Python floats: the same IEEE numbers, 3× faster
        for edge, slope in zip(graph.ins[n], rules or op.vjp(ONE, out, xs, p)):
            d = float(slope(out, xs, p) if rules else slope)
            attrs = attrs_of[edge]
            attrs["local"] = np.asarray(d)
            attrs["grad"] = grad = np.asarray(upstream * d)
            grads.append(grad)
        return grads
    for edge, g in zip(graph.ins[n], op.vjp(node["grad"], out, xs, p)):
        attrs_of[edge]["grad"] = grad = np.asarray(g, dtype=float)
        grads.append(grad)
    return grads


def evaluate(graph: Graph, leaf_values: dict) -> np.ndarray:
    """The output for other leaf values, without touching the graph (finite differences use it)."""
    values = {n: graph[n]["value"] for n in graph.leaves()} | leaf_values
    with np.errstate(all="ignore"):
        for n in graph.gates():
            node = graph[n]
            values[n] = np.asarray(OPS[node["op"]].forward([values[u] for u in graph.args[n]], node["p"]))
    return values[graph.output]


def run(graph: Graph, seed=None) -> list[Step]:
    return forward(graph) + backward(graph, seed)
