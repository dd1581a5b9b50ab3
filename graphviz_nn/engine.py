"""The one evaluator: walks a Graph's order forward and backward, for drawing, checking and training.

`forward` and `backward` compute numbers into plain dicts and, when given a list, record Steps;
`run` does both and writes the numbers onto the graph's nodes and edges. The evaluator writes no
words: captions are made from the Steps afterwards (explain/captions.py, network/captions.py).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import UserError
from .graph import OP, Graph, paused_cycle_collector
from .ops import OPS
from .steps import BACKWARD, FORWARD, Step

ONE = np.float64(1.0)
FLOAT = np.float64


class EvaluationError(UserError):
    """A gate could not be evaluated (e.g. mismatched shapes); names the node and its source."""


def number(value):
    """What the passes compute with: a scalar as a numpy float (the same IEEE arithmetic as a 0-d
    array, ten times cheaper per operation), any other array as itself. The graph keeps arrays."""
    value = np.asarray(value, dtype=float)
    return value[()] if value.ndim == 0 else value


def forward(graph: Graph, leaf_values: dict | None = None, steps: list | None = None) -> dict:
    """Every node's value, the leaves' taken from the graph unless given in leaf_values."""
    nodes, args, outs = graph.node_attrs, graph.args, graph.outs
    leaves = graph.leaves()
    values = {n: number(nodes[n]["value"]) for n in leaves}
    if leaf_values:
        values.update((n, number(v)) for n, v in leaf_values.items())
    if steps is not None:
        steps.append(Step(FORWARD, "inputs", None, tuple(leaves),
                          tuple(e for n in leaves for e in outs[n]), tuple(values[n] for n in leaves)))
    with np.errstate(all="ignore"), paused_cycle_collector():
        for n in graph.gates():
            node = nodes[n]
            xs = [values[u] for u in args[n]]
            try:
                value = OPS[node["op"]].forward(xs, node["p"])
            except (ValueError, TypeError) as exc:
                raise EvaluationError(f"cannot compute {node['text']}: {exc}",
                                      graph.source or None, node["span"]) from None
            if type(value) is not FLOAT:      # most scalar gates already give a numpy float
                value = number(value)
            values[n] = value
            if steps is not None:
                steps.append(Step(FORWARD, "gate", n, (n,), outs[n], tuple(xs), value))
    return values


class Gradients(NamedTuple):
    nodes: dict        # node -> ∂output/∂node (seed · …)
    edges: dict        # edge -> its share of the source's gradient (the gate's VJP for that argument)
    local: dict        # edge -> local derivative, for edges of scalar gates


def backward(graph: Graph, values: dict, seed=None, steps: list | None = None) -> Gradients:
    """Reverse-mode pass from `seed` (ones by default) at the output, over the forward values."""
    nodes, args, ins, outs, output = graph.node_attrs, graph.args, graph.ins, graph.outs, graph.output
    grads, shares, local = {}, {}, {}
    scalar = not any(isinstance(v, np.ndarray) for v in values.values())
    with np.errstate(all="ignore"), paused_cycle_collector():
        for n in reversed(graph.order):
            if n == output:
                g = number(seed_gradient(values[n], seed))
                if steps is not None:
                    steps.append(Step(BACKWARD, "seed", n, (n,), (), output=g))
            else:
                used = outs[n]
                if len(used) == 1:
                    g = shares[used[0]]
                else:
                    parts = [shares[e] for e in used]
                    g = add_up(parts, values[n], scalar)
                    if steps is not None and parts:
                        steps.append(Step(BACKWARD, "copy", n, (n,), (), grads=tuple(parts), output=g))
            grads[n] = g
            node = nodes[n]
            if node["kind"] == OP:
                edges = ins[n]
                xs = [values[u] for u in args[n]]
                parts, slopes = push_back(OPS[node["op"]], node["p"], g, values[n], xs, scalar)
                for edge, part in zip(edges, parts):
                    shares[edge] = part
                if slopes:
                    for edge, slope in zip(edges, slopes):
                        local[edge] = slope
                if steps is not None:
                    steps.append(Step(BACKWARD, "gate", n, tuple(args[n]), edges,
                                      tuple(xs), g, parts, slopes))
    return Gradients(grads, shares, local)


def seed_gradient(value, seed):
    if seed is None:
        return np.ones_like(value)
    try:
        return np.broadcast_to(np.asarray(seed, dtype=float), np.shape(value)).copy()
    except ValueError:
        raise UserError(f"the seed gradient has shape {np.shape(seed)}, "
                        f"but the output has shape {np.shape(value)}") from None


def add_up(grads: list, value, scalar: bool = False):
    """The copy gate: a node used k times sums the k gradients its out-edges carry, in order
    (none: zeros like its value). scalar: they are all scalars."""
    if not grads:
        return number(np.zeros_like(value))
    if len(grads) == 1:
        return grads[0]
    if scalar:        # Python floats: the same IEEE sums, without a numpy call per term
        total = float(grads[0])
        for g in grads[1:]:
            total += float(g)
        return np.float64(total)
    total = grads[0]
    for g in grads[1:]:
        total = total + g
    return number(total)


def push_back(op, p, upstream, out, xs: list, scalar: bool = False) -> tuple[tuple, tuple]:
    """The gate's rule: each input's share of the upstream gradient, and for a scalar gate the
    local derivatives (the VJP of 1) that make it, straight from the op's rules where it has them.
    Scalar shares are Python floats: the same IEEE products, without a numpy object each."""
    if scalar or (np.ndim(out) == 0 and all(np.ndim(x) == 0 for x in xs)):
        if op.derivatives:
            slopes = tuple([float(slope(out, xs, p)) for slope in op.derivatives])
        else:
            slopes = tuple([float(s) for s in op.vjp(ONE, out, xs, p)])
        g = float(upstream)
        return tuple([g * d for d in slopes]), slopes
    return tuple([number(g) for g in op.vjp(upstream, out, xs, p)]), ()


def write(graph: Graph, values: dict, grads: Gradients | None = None) -> None:
    """The numbers onto the graph: each node's value and gradient (arrays, a scalar 0-d), each
    edge's value (its source's), gradient share and local derivative."""
    nodes = graph.node_attrs
    for n, value in values.items():
        node = nodes[n]
        node["value"] = array = np.asarray(value, dtype=float)
        node["shape"] = array.shape
        if grads is not None:
            node["grad"] = np.asarray(grads.nodes[n], dtype=float)
    for edge, attrs in graph.edge_attrs.items():
        attrs["value"] = nodes[edge[0]]["value"]
        if grads is not None:
            attrs["grad"] = np.asarray(grads.edges[edge], dtype=float)
            if edge in grads.local:
                attrs["local"] = np.asarray(grads.local[edge])


def run(graph: Graph, seed=None) -> list[Step]:
    """Forward and backward, with their Steps; values and gradients written onto the graph."""
    steps: list[Step] = []
    values = forward(graph, steps=steps)
    write(graph, values, backward(graph, values, seed, steps))
    return steps


def output_at(graph: Graph, leaf_values: dict):
    """The output for other leaf values, without touching the graph (finite differences use it)."""
    return forward(graph, leaf_values)[graph.output]
