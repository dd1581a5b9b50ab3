"""Captions of the convolutional layers of a spec (conv2d, maxpool, avgpool, flatten), forward and
backward, in the words of the other layers' captions: what slides over what, and which gate rule
sends d back (the shared kernel adds, max pool routes, avg pool distributes, flatten reshapes).
Numbers come from the Steps; network/captions.py chooses these writers by (phase, op) and gives
them `out`, what the gradients are of (L, or without a loss the sum of the outputs)."""
from __future__ import annotations

import numpy as np

from ..explain.captions import operand
from ..graph import Graph
from ..numfmt import fmt_number, fmt_value, shape_text
from ..ops.conv import conv_p, pool_p
from ..render.dot import tie_colour
from ..steps import BACKWARD, FORWARD, Step


def maps(value) -> str:
    """`2 images of 1×6×6` or `one 1×6×6 image`: a batch N×C×H×W said per observation."""
    shape = np.shape(value)
    if len(shape) < 4:
        return shape_text(shape)
    return f"{shape[0]} image{'s' if shape[0] > 1 else ''} of {shape_text(shape[1:])}"


def moves(p) -> str:
    stride, padding = conv_p(p)
    ring = f", on the input padded with {padding} ring{'s' if padding > 1 else ''} of zeros" if padding else ""
    return f"by {stride} cell{'s' if stride > 1 else ''}{ring}"


def conv_forward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    x, K = graph.args[n][:2]
    F, C, kh, kw = np.shape(step.inputs[1])
    bias = f", plus its filter's bias {graph.args[n][2]}" if len(graph.args[n]) == 3 else ""
    return (f"forward · {n} = {graph[n]['text']}: each of the {F} filters of {K} ({C}×{kh}×{kw}) slides over "
            f"{x} ({maps(step.inputs[0])}) {moves(graph[n]['p'])}; each output cell is the sum of the "
            f"{C * kh * kw} products of the window under it with the filter{bias}: {maps(step.output)} = "
            f"{fmt_value(step.output)}")


def positions(output) -> int:
    """Where the kernel stood: the output's cells per map, times the observations (N×F×H'×W')."""
    shape = np.shape(output)
    return int(np.prod(shape[-2:])) * (shape[0] if len(shape) == 4 else 1)


def conv_backward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    args = graph.args[n]
    x, K = args[:2]
    parts = [f"∂{out(graph)}/∂{K} = Σ over the {positions(step.output)} positions of d·(the window it met) = "
             f"{fmt_value(step.grads[1])} (the kernel is shared by every position: the copy rule adds their shares)"]
    if len(args) == 3:
        parts.append(f"∂{out(graph)}/∂{args[2]} = Σ d over each filter's map = {fmt_value(step.grads[2])}")
    return (f"backward · {'; '.join(parts)}; ∂{out(graph)}/∂{x} = each d sent back through the kernel onto the cells its "
            f"window read, the full convolution of d with the flipped kernel = {fmt_value(step.grads[0])}")


def pool_of(graph: Graph, step: Step) -> tuple[str, str, int, int]:
    """A pool step's gate, its input, and its window's size and stride."""
    n = step.gate
    return (n, graph.args[n][0], *pool_p(graph[n]["p"]))


def pool_forward_caption(graph: Graph, step: Step, out) -> str:
    n, x, size, stride = pool_of(graph, step)
    what = "the largest entry" if graph[n]["op"] == "maxpool" else "the mean"
    rows, cols = np.shape(step.inputs[0])[-2:]
    partial = ", a partial window at the edge dropped" if (rows - size) % stride or (cols - size) % stride else ""
    return (f"forward · {n} = {graph[n]['text']}: {what} of each {size}×{size} window of {x}, moved by {stride} "
            f"(each map on its own{partial}): {maps(step.output)} = {fmt_value(step.output)}")


def pool_backward_caption(graph: Graph, step: Step, out) -> str:
    n, x, size, stride = pool_of(graph, step)
    overlap = "; overlapping windows add" if stride < size else ""
    if graph[n]["op"] == "maxpool":
        rule = ("max pool routes: each window's d goes to the cell holding its maximum (the first, on a tie), "
                "the others get 0")
    else:
        rule = f"avg pool distributes: each cell of a window gets 1/{size * size} of its d"
    return f"backward · {rule}{overlap}: d = {fmt_value(step.grads[0])} (∂{out(graph)}/∂{x})"


def flatten_forward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    shape = np.shape(step.inputs[0])
    if len(shape) < 3:
        return f"forward · {n} = {graph[n]['text']}: already rows, unchanged = {fmt_value(step.output)}"
    return (f"forward · {n} = {graph[n]['text']}: each observation's {shape_text(shape[1:])} laid out in one row of "
            f"{int(np.prod(shape[1:]))}, row-major (channel, then row, then column) = {fmt_value(step.output)}")


def flatten_backward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    x = graph.args[n][0]
    return (f"backward · flatten routes each entry's d back to its cell: d reshaped to "
            f"{shape_text(np.shape(step.inputs[0]))} = {fmt_value(step.grads[0])} (∂{out(graph)}/∂{x})")


# ---- the neuron view (network/conv_neurons.py): tied weights, pool neurons ------------------------

def tied(graph: Graph, n: str) -> list[tuple]:
    """A neuron's in-edges whose weight is tied (a conv neuron's kernel entries and bias)."""
    return [e for e in graph.in_edges(n) if "tie" in graph.edge(*e)]


def carrying(graph: Graph, weight_name: str) -> list[tuple]:
    """Every edge carrying one weight, in the graph's order."""
    return [e for v in graph.gates() for e in graph.in_edges(v) if graph.edge(*e).get("weight_name") == weight_name]


def first_tied(graph: Graph, n: str) -> list[tuple]:
    """A neuron's tied edges whose weight no neuron before it carries: forward, it introduces them;
    backward (the pass goes the other way), it adds their last share."""
    return [e for e in tied(graph, n) if carrying(graph, graph.edge(*e)["weight_name"])[0][1] == n]


def tie_legend(graph: Graph, n: str) -> str:
    """` · tied weights, one colour each: K1[1,1,1,1] blue, …`: the colours of the kernel entries a
    conv neuron is the first to use."""
    colours = [f"{graph.edge(*e)['weight_name']} {tie_colour(graph.edge(*e)['tie'])[0]}" for e in first_tied(graph, n)]
    return f" · tied weights, one colour each: {', '.join(colours)}" if colours else ""


def tie_totals(graph: Graph, n: str, out) -> str:
    """At the last backward step that adds to a tied weight (its first neuron in the graph's
    order): `∂L/∂K1[1,1,2,2] (teal) = Σ over its 4 edges = 1 + 15 + 2 + 1 = 19`."""
    totals = []
    for edge in first_tied(graph, n):
        name = graph.edge(*edge)["weight_name"]
        shares = [graph.edge(*e)["weight_grad"] for e in carrying(graph, name)]
        colour = tie_colour(graph.edge(*edge)["tie"])[0]
        totals.append(f"∂{out(graph)}/∂{name} ({colour}) = Σ over its {len(shares)} edges = "
                      f"{' + '.join(operand(s) for s in shares)} = {fmt_number(sum(shares))}")
    if not totals:
        return ""
    return " · the kernel is shared, so each entry's gradient adds its edges' shares (copy adds): " + "; ".join(totals)


def pool_neuron_forward_caption(graph: Graph, step: Step, out) -> str:
    """`P1_1 = max(O1_1, O1_2, O1_4, O1_5) = max(1, 2, 0, 3) = 3`, or the mean of the window."""
    n = step.gate
    args = graph.args[n]
    if graph[n]["op"] == "max":
        return (f"forward · max pool, one neuron per window: {n} = max({', '.join(args)}) = "
                f"max({', '.join(fmt_value(x) for x in step.inputs)}) = {fmt_value(step.output)}")
    return (f"forward · average pool, one neuron per window: {n} = ({' + '.join(args)})/{len(args)} = "
            f"({' + '.join(fmt_value(x) for x in step.inputs)})/{len(args)} = {fmt_value(step.output)}")


def pool_neuron_backward_caption(graph: Graph, step: Step, out) -> str:
    n, d = step.gate, step.output
    args = graph.args[n]
    if graph[n]["op"] == "window_mean":
        return (f"backward · average pool distributes: each of the {len(args)} cells of {n}'s window gets "
                f"d/{len(args)} = {fmt_value(step.grads[0])} (d = {fmt_value(d)})")
    if np.ndim(d) == 0:
        winner = next(u for u, g in zip(args, step.grads) if g != 0) if d != 0 else args[0]
        return (f"backward · max pool routes: {n}'s d = {fmt_number(d)} goes to its window's maximum {winner} "
                f"(the first, on a tie); the other {len(args) - 1} get 0")
    shares = ", ".join(f"∂{out(graph)}/∂{u} += {fmt_value(g)}" for u, g in zip(args, step.grads))
    return (f"backward · max pool routes: for each observation {n}'s d = {fmt_value(d)} goes to its "
            f"window's maximum, the others get 0: {shares}")


NEURON_CONV_WRITERS = {(FORWARD, "max"): pool_neuron_forward_caption, (BACKWARD, "max"): pool_neuron_backward_caption,
                       (FORWARD, "window_mean"): pool_neuron_forward_caption,
                       (BACKWARD, "window_mean"): pool_neuron_backward_caption}
CONV_WRITERS = {(FORWARD, "conv2d"): conv_forward_caption, (BACKWARD, "conv2d"): conv_backward_caption,
                (FORWARD, "conv2d_bias"): conv_forward_caption, (BACKWARD, "conv2d_bias"): conv_backward_caption,
                (FORWARD, "maxpool"): pool_forward_caption, (BACKWARD, "maxpool"): pool_backward_caption,
                (FORWARD, "avgpool"): pool_forward_caption, (BACKWARD, "avgpool"): pool_backward_caption,
                (FORWARD, "flatten"): flatten_forward_caption, (BACKWARD, "flatten"): flatten_backward_caption}
