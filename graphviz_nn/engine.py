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


@dataclass(frozen=True)
class Step:
    phase: str                      # forward | backward | update
    kind: str                       # inputs | gate | seed | copy | update
    nodes: tuple[str, ...]          # nodes whose value (forward) or gradient (backward) is now known
    edges: tuple[tuple[str, str, int], ...]   # edges whose value or gradient label is now known
    caption: str                    # or a function writing it: called on first use (see __getattr__)
    gate: str | None = None         # the node being worked on: highlighted in its frame

    def __post_init__(self):
        if callable(self.caption):  # keep the function; `caption` is written when first read
            self.__dict__["write_caption"] = self.__dict__.pop("caption")

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
    with np.errstate(all="ignore"), paused_cycle_collector():
        for n in graph.gates():
            node = graph[n]
            xs = [graph[u]["value"] for u in graph.args[n]]
            try:
                value = OPS[node["op"]].forward(xs, node["p"])
            except (ValueError, TypeError) as exc:
                raise EvaluationError(f"cannot compute {node['text']}: {exc}",
                                      graph.source or None, node["span"]) from None
            edges = set_value(graph, n, value)
            steps.append(Step(FORWARD, "gate", (n,), edges,
                              partial(explain.forward_caption, graph, n, xs, node["value"]), n))
    return steps


def set_value(graph: Graph, n: str, value) -> tuple:
    """The node's value, copied onto its out-edges; returns those edges."""
    value = np.asarray(value, dtype=float)
    node = graph[n]
    node["value"], node["shape"] = value, value.shape
    edges = tuple(graph.out_edges(n))
    for edge in edges:
        graph.edge(*edge)["value"] = value
    return edges


def out_edges(graph: Graph, nodes) -> tuple:
    return tuple(e for n in nodes for e in graph.out_edges(n))


def backward(graph: Graph, seed=None) -> list[Step]:
    """Reverse-mode pass from `seed` (ones by default) at the output; grads land on every edge."""
    steps = []
    with np.errstate(all="ignore"), paused_cycle_collector():
        for n in reversed(graph.order):
            if n == graph.output:
                graph[n]["grad"] = seed_gradient(graph, seed)
                steps.append(Step(BACKWARD, "seed", (n,), (), explain.seed_caption(graph), n))
            else:
                grads = [graph.edge(*e)["grad"] for e in graph.out_edges(n)]
                graph[n]["grad"] = sum_contributions(graph, n, grads)
                if len(grads) > 1:
                    steps.append(Step(BACKWARD, "copy", (n,), (), partial(
                        explain.copy_caption, graph, n, grads, graph[n]["grad"]), n))
            if graph[n]["kind"] == OP:
                grads = push_back(graph, n)
                steps.append(Step(BACKWARD, "gate", tuple(graph.args[n]), tuple(graph.in_edges(n)),
                                  partial(explain.backward_caption, graph, n, graph[n]["grad"], grads), n))
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


def sum_contributions(graph: Graph, n: str, grads: list | None = None) -> np.ndarray:
    """The copy gate: a node used k times sums the k gradients its out-edges carry (none: zero)."""
    grads = [graph.edge(*e)["grad"] for e in graph.out_edges(n)] if grads is None else grads
    if not grads:
        return np.zeros_like(graph[n]["value"])
    total = grads[0]
    for g in grads[1:]:
        total = total + g
    return np.asarray(total, dtype=float)


def push_back(graph: Graph, n: str) -> list[np.ndarray]:
    """Apply the gate's rule: each in-edge gets its share of the node's gradient; returns them."""
    node = graph[n]
    op = OPS[node["op"]]
    xs = [graph[u]["value"] for u in graph.args[n]]
    edges = [graph.edge(*e) for e in graph.in_edges(n)]
    if node["value"].ndim == 0 and all(x.ndim == 0 for x in xs):
        # scalar gate: the local derivatives (the VJP of 1), shown on the edges, times upstream
        upstream = float(node["grad"])        # Python floats: the same IEEE numbers, 3× faster
        for attrs, d in zip(edges, local_derivatives(op, node["value"], xs, node["p"])):
            attrs["local"], attrs["grad"] = np.asarray(float(d)), np.asarray(upstream * float(d))
    else:
        for attrs, g in zip(edges, op.vjp(node["grad"], node["value"], xs, node["p"])):
            attrs["grad"] = np.asarray(g, dtype=float)
    return [attrs["grad"] for attrs in edges]


def local_derivatives(op, out, xs, p) -> list:
    """∂out/∂x for each input of a scalar gate; straight from the op's rules where it has them."""
    derivatives = getattr(op.vjp, "derivatives", None)
    if derivatives is None:
        return op.vjp(ONE, out, xs, p)
    return [d(out, xs, p) for d in derivatives]


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
