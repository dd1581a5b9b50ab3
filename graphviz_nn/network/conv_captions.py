"""Captions of the convolutional layers of a spec (conv2d, maxpool, avgpool, flatten), forward and
backward, in the words of the other layers' captions: what slides over what, and which gate rule
sends d back (the shared kernel adds, max pool routes, avg pool distributes, flatten reshapes).
Numbers come from the Steps; network/captions.py chooses these writers by (phase, op) and gives
them `out`, what the gradients are of (L, or without a loss the sum of the outputs)."""
from __future__ import annotations

import numpy as np

from ..graph import Graph
from ..numfmt import fmt_number, fmt_value, shape_text
from ..ops.conv import conv_p, pool_p
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


def conv_backward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    args = graph.args[n]
    x, K = args[:2]
    positions = int(np.prod(np.shape(step.output)[-2:])) * (np.shape(step.output)[0] if np.ndim(step.output) == 4 else 1)
    parts = [f"∂{out(graph)}/∂{K} = Σ over the {positions} positions of d·(the window it met) = {fmt_value(step.grads[1])} "
             f"(the kernel is shared by every position: the copy rule adds their shares)"]
    if len(args) == 3:
        parts.append(f"∂{out(graph)}/∂{args[2]} = Σ d over each filter's map = {fmt_value(step.grads[2])}")
    return (f"backward · {'; '.join(parts)}; ∂{out(graph)}/∂{x} = each d sent back through the kernel onto the cells its "
            f"window read, the full convolution of d with the flipped kernel = {fmt_value(step.grads[0])}")


def pool_forward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    x = graph.args[n][0]
    size, stride = pool_p(graph[n]["p"])
    what = "the largest entry" if graph[n]["op"] == "maxpool" else "the mean"
    rows, cols = np.shape(step.inputs[0])[-2:]
    partial = ", a partial window at the edge dropped" if (rows - size) % stride or (cols - size) % stride else ""
    return (f"forward · {n} = {graph[n]['text']}: {what} of each {size}×{size} window of {x}, moved by {stride} "
            f"(each map on its own{partial}): {maps(step.output)} = {fmt_value(step.output)}")


def pool_backward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    x = graph.args[n][0]
    size, stride = pool_p(graph[n]["p"])
    overlap = "; overlapping windows add" if stride < size else ""
    if graph[n]["op"] == "maxpool":
        rule = ("max pool routes: each window's d goes to the cell holding its maximum (the first, on a tie), "
                "the others get 0")
    else:
        rule = f"avg pool distributes: each cell of a window gets 1/{size * size} of its d"
    return f"backward · {rule}{overlap}: d = {fmt_value(step.grads[0])} (∂{out(graph)}/∂{x})"


def flatten_forward_caption(graph: Graph, step: Step, out) -> str:
    n = step.gate
    x = graph.args[n][0]
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


CONV_WRITERS = {(FORWARD, "conv2d"): conv_forward_caption, (BACKWARD, "conv2d"): conv_backward_caption,
                (FORWARD, "conv2d_bias"): conv_forward_caption, (BACKWARD, "conv2d_bias"): conv_backward_caption,
                (FORWARD, "maxpool"): pool_forward_caption, (BACKWARD, "maxpool"): pool_backward_caption,
                (FORWARD, "avgpool"): pool_forward_caption, (BACKWARD, "avgpool"): pool_backward_caption,
                (FORWARD, "flatten"): flatten_forward_caption, (BACKWARD, "flatten"): flatten_backward_caption}
