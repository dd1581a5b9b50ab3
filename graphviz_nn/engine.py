"""The one evaluator: walks a Graph's order forward and backward, for drawing, checking and training.

`forward` and `backward` compute numbers into plain dicts and, when given a list, record Steps;
`run` does both and writes the numbers onto the graph's nodes and edges. The evaluator writes no
words: captions are made from the Steps afterwards (explain/captions.py, network/captions.py).

A graph whose leaves are all numbers (0-d) is computed over Python floats (`forward_scalars`,
`backward_scalars`): the same IEEE numbers as 0-d arrays at a fraction of the cost per operation.
Any other graph goes through the array loops (`forward_arrays`, `backward_arrays`).
"""
from __future__ import annotations

from functools import reduce
from itertools import chain
from operator import add, itemgetter
from typing import NamedTuple

import numpy as np

from .errors import UserError
from .graph import CONST, OP, Graph, paused_cycle_collector
from .ops import OPS
from .steps import BACKWARD, FORWARD, Step, step_of

ONE = np.float64(1.0)
FLOAT = np.float64

# The gates the scalar loops compute on Python floats: for + − × Python gives the very numbers
# numpy gives (inf and nan included). Every other gate computes on numpy floats, as the array
# loops do: Python raises where numpy returns inf or nan (division by zero, overflow in **,
# log(−1)), and from Python 3.12 sum() of floats (the neuron view's total) rounds differently.
PLAIN = frozenset({"add", "sub", "mul", "scale", "shift", "rsub"})


class EvaluationError(UserError):
    """A gate could not be evaluated (e.g. mismatched shapes); names the node and its source."""


def evaluation_error(graph: Graph, node: dict, exc: Exception) -> EvaluationError:
    return EvaluationError(f"cannot compute {node['text']}: {exc}", graph.source or None, node["span"])


def number(value):
    """What the array loops compute with: a scalar as a numpy float (the same IEEE arithmetic as
    a 0-d array, ten times cheaper per operation), any other array as itself."""
    value = np.asarray(value, dtype=float)
    return value[()] if value.ndim == 0 else value


def all_numbers(values: dict) -> bool:
    """Whether every value is a number (a Python or numpy float): the scalar loops apply."""
    return set(map(type, values.values())) <= {float, FLOAT}


def forward(graph: Graph, leaf_values: dict | None = None, steps: list | None = None) -> dict:
    """Every node's value, the leaves' taken from the graph unless given in leaf_values: Python
    floats if every leaf is a number, else numpy floats and arrays."""
    leaves = graph.leaves()
    values = {n: number(graph.node_attrs[n]["value"]) for n in leaves}
    if leaf_values:
        values.update((n, number(v)) for n, v in leaf_values.items())
    scalar = all_numbers(values)
    if scalar:
        values = {n: float(v) for n, v in values.items()}
    if steps is not None:
        steps.append(Step(FORWARD, "inputs", None, tuple(leaves),
                          tuple(chain.from_iterable(graph.outs[n] for n in leaves)),
                          tuple(values[n] for n in leaves)))
    with np.errstate(all="ignore"), paused_cycle_collector():
        (forward_scalars if scalar else forward_arrays)(graph, values, steps)
    return values


def forward_scalars(graph: Graph, values: dict, steps: list | None) -> None:
    """The gates' values into `values`, every one a Python float (the leaves' are)."""
    nodes, args, outs = graph.node_attrs, graph.args, graph.outs
    value_of = values.__getitem__       # map(value_of, …): the arguments without a frame per gate
    record = steps.append if steps is not None else None
    for n in graph.order:
        inputs = args[n]
        if not inputs:                  # a leaf
            continue
        node = nodes[n]
        name = node["op"]
        if len(inputs) == 2:            # most gates: unpacked, cheaper than any loop
            xs = (values[inputs[0]], values[inputs[1]])
        else:
            xs = tuple(map(value_of, inputs))
        try:
            if name in PLAIN:
                value = OPS[name].forward(xs, node["p"])
            else:
                value = float(OPS[name].forward([FLOAT(x) for x in xs], node["p"]))
        except (ValueError, TypeError) as exc:
            raise evaluation_error(graph, node, exc) from None
        values[n] = value
        if record is not None:
            record(step_of((FORWARD, "gate", n, (n,), outs[n], xs, value, (), (), None, None)))


def forward_arrays(graph: Graph, values: dict, steps: list | None) -> None:
    """The gates' values into `values`: numpy floats and arrays."""
    nodes, args, outs = graph.node_attrs, graph.args, graph.outs
    for n in graph.gates():
        node = nodes[n]
        xs = [values[u] for u in args[n]]
        try:
            value = OPS[node["op"]].forward(xs, node["p"])
        except (ValueError, TypeError) as exc:
            raise evaluation_error(graph, node, exc) from None
        if type(value) is not FLOAT:      # most scalar gates already give a numpy float
            value = number(value)
        values[n] = value
        if steps is not None:
            steps.append(Step(FORWARD, "gate", n, (n,), outs[n], tuple(xs), value))


class Gradients(NamedTuple):
    nodes: dict        # node -> ∂output/∂node (seed · …)
    edges: dict        # edge -> its share of the source's gradient (the gate's VJP for that argument)
    local: dict        # edge -> local derivative, for edges of scalar gates


def backward(graph: Graph, values: dict, seed=None, steps: list | None = None) -> Gradients:
    """Reverse-mode pass from `seed` (ones by default) at the output, over the forward values."""
    with np.errstate(all="ignore"), paused_cycle_collector():
        if all_numbers(values):
            return backward_scalars(graph, values, seed, steps)
        return backward_arrays(graph, values, seed, steps)


def backward_scalars(graph: Graph, values: dict, seed, steps: list | None) -> Gradients:
    """The backward pass over numbers: every gradient, share and local derivative a Python float.
    (No comprehension in this loop: one would make its variables closure cells, slower to use.)"""
    nodes, args, ins, outs, output = graph.node_attrs, graph.args, graph.ins, graph.outs, graph.output
    grads, shares, local = {}, {}, {}
    # the rules of the commonest gates, + − × of two numbers, looked up once: on floats they give
    # floats, so their slopes need no float()
    pairs = {name: OPS[name].derivatives for name in ("add", "sub", "mul")}
    record = steps.append if steps is not None else None
    for n in reversed(graph.order):
        used = outs[n]
        if n == output:
            g = float(number(seed_gradient(values[n], seed)))
            if record is not None:
                record(Step(BACKWARD, "seed", n, (n,), (), output=g))
        elif len(used) == 1:
            g = shares[used[0]]
        else:             # the copy gate: the shares of the gates using n add up, in order
            parts = tuple(map(shares.__getitem__, used))
            g = reduce(add, parts) if parts else 0.0    # left to right, as a loop would
            if record is not None and parts:
                record(step_of((BACKWARD, "copy", n, (n,), (), (), g, parts, (), None, None)))
        grads[n] = g
        edges = ins[n]
        if not edges:     # a leaf
            continue
        node = nodes[n]
        name, p, out = node["op"], node["p"], values[n]
        rules = pairs.get(name)
        if rules is not None:         # unpacked: cheaper than any loop over two inputs
            (a, b), (first, second), (left, right) = args[n], rules, edges
            inputs, xs = (a, b), (values[a], values[b])
            da, db = first(out, xs, p), second(out, xs, p)
            slopes, parts = (da, db), (g * da, g * db)
            shares[right], shares[left] = parts[1], parts[0]      # last input first: see write
            local[right], local[left] = db, da
        else:
            inputs = tuple(args[n])
            xs = tuple(map(values.__getitem__, inputs))
            slopes = local_slopes(OPS[name], p, out, xs)
            parts = tuple(map(g.__mul__, slopes))       # g × each slope
            for edge, part, slope in zip(edges[::-1], parts[::-1], slopes[::-1]):
                shares[edge] = part
                local[edge] = slope
        if record is not None:
            record(step_of((BACKWARD, "gate", n, inputs, edges, xs, g, parts, slopes, None, None)))
    return Gradients(grads, shares, local)


def local_slopes(op, p, out, xs) -> tuple:
    """A gate's local derivatives at numbers, as Python floats: plain gates on the floats, any
    other on numpy floats (where it has no derivative rules: its VJP of 1)."""
    if op.name in PLAIN:
        return tuple([float(slope(out, xs, p)) for slope in op.derivatives])
    out, xs = FLOAT(out), [FLOAT(x) for x in xs]
    if op.derivatives:
        return tuple([float(slope(out, xs, p)) for slope in op.derivatives])
    return tuple([float(s) for s in op.vjp(ONE, out, xs, p)])


def backward_arrays(graph: Graph, values: dict, seed, steps: list | None) -> Gradients:
    """The backward pass where some values are arrays; a gate whose inputs and output are all
    numbers still gets local derivatives, as in the scalar pass."""
    nodes, args, ins, outs, output = graph.node_attrs, graph.args, graph.ins, graph.outs, graph.output
    grads, shares, local = {}, {}, {}
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
                g = add_up(parts, values[n])
                if steps is not None and parts:
                    steps.append(Step(BACKWARD, "copy", n, (n,), (), grads=tuple(parts), output=g))
        grads[n] = g
        node = nodes[n]
        if node["kind"] == OP:
            edges = ins[n]
            xs = [values[u] for u in args[n]]
            parts, slopes = push_back(OPS[node["op"]], node["p"], g, values[n], xs)
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


def add_up(grads: list, value):
    """The copy gate: a node used k times sums the k gradients its out-edges carry, in order
    (none: zeros like its value)."""
    if not grads:
        return number(np.zeros_like(value))
    if len(grads) == 1:
        return grads[0]
    total = grads[0]
    for g in grads[1:]:
        total = total + g
    return number(total)


def push_back(op, p, upstream, out, xs: list) -> tuple[tuple, tuple]:
    """The gate's rule: each input's share of the upstream gradient, and for a scalar gate the
    local derivatives (the VJP of 1) that make it. Scalar shares are Python floats."""
    if np.ndim(out) == 0 and all(np.ndim(x) == 0 for x in xs):
        slopes = local_slopes(op, p, out, xs)
        g = float(upstream)
        return tuple([g * d for d in slopes]), slopes
    return tuple([number(g) for g in op.vjp(upstream, out, xs, p)]), ()


def write(graph: Graph, values: dict, grads: Gradients | None = None) -> None:
    """The numbers onto the graph: each node's value and gradient (arrays, a number 0-d), each
    edge's value (its source's array), gradient share and local derivative."""
    if grads is not None and all_numbers(values) and len(grads.local) == len(graph.edge_attrs):
        write_numbers(graph, values, grads)
    else:
        write_arrays(graph, values, grads)


def write_numbers(graph: Graph, values: dict, grads: Gradients) -> None:
    """A scalar graph's numbers, converted a column at a time (np.array mapped over the values,
    np.fromiter over the edges' numbers, in C), so that the loops only store. An edge's share and
    local derivative are numpy floats, cheaper to make than 0-d arrays."""
    nodes, edge_attrs = graph.node_attrs, graph.edge_attrs
    order, edges = list(values), list(edge_attrs)
    arrays = list(map(np.array, values.values()))
    node_grads = map(np.array, aligned(grads.nodes, order))
    for node, array, grad in zip(aligned(nodes, order), arrays, node_grads):
        node["value"], node["shape"], node["grad"] = array, (), grad
    array_of = dict(zip(order, arrays))
    sources = map(array_of.__getitem__, map(itemgetter(0), edges))      # each edge's source's array
    shares = np.fromiter(aligned(grads.edges, edges), float, len(edges))
    local = np.fromiter(aligned(grads.local, edges), float, len(edges))
    for attrs, value, share, slope in zip(edge_attrs.values(), sources, shares, local):
        attrs["value"], attrs["grad"], attrs["local"] = value, share, slope


def aligned(table: dict, keys: list):
    """The table's values in the order of keys. The passes fill their dicts in the graph's order
    or in its reverse (the backward pass stores a gate's shares from its last input to its first
    for this), and then the values are read straight through; otherwise each is looked up, which
    for an edge hashes its (source, target, position) tuple: a third of the write, measured."""
    if list(table) == keys:                  # the same key objects: compared without hashing
        return table.values()
    if list(reversed(table)) == keys:
        return reversed(table.values())
    return map(table.__getitem__, keys)


def write_arrays(graph: Graph, values: dict, grads: Gradients | None = None) -> None:
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
    return without_data_gradients(graph, steps)


def data_gates(graph: Graph, constants: list[str]) -> set[str]:
    """Gates computed from data alone (`a = 1 - p` with p a constant): data themselves, as
    PyTorch has no gradient for what needs none (a neuron of data still has weights to learn).
    Found forward from the constants, so a graph without any costs a look at its leaves."""
    nodes, args, users = graph.node_attrs, graph.args, graph.users
    todo = list(constants)
    known, found = set(todo), set()
    while todo:
        for v, _ in users.get(todo.pop(), ()):
            if v in known or OPS[nodes[v]["op"]].learns or not all(u in known for u in args[v]):
                continue
            known.add(v)
            found.add(v)
            todo.append(v)
    return found - {graph.output}          # the output keeps its seed: ∂L/∂L = 1


def without_data_gradients(graph: Graph, steps: list[Step]) -> list[Step]:
    """No gradient is shown for data, nor for a gate of data alone: such a gate's gradient and
    the share its users send it are None, and the backward steps of both go (a constant's: the
    copy step adding its shares). The passes computed them on the way: they cost nothing more."""
    constants = [n for n in graph.leaves() if graph[n]["kind"] == CONST]
    if not constants:
        return steps
    data = data_gates(graph, constants)
    for n in data:
        graph[n]["grad"] = None
        for edge in graph.out_edges(n):
            graph.edge(*edge)["grad"] = None
    quiet = data.union(constants)
    return [s for s in steps if s.phase != BACKWARD or s.gate not in quiet]


def output_at(graph: Graph, leaf_values: dict):
    """The output for other leaf values, without touching the graph (finite differences use it)."""
    return forward(graph, leaf_values)[graph.output]
