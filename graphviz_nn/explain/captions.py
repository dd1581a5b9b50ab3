"""Captions: each Step as a sentence with its numbers. The numbers come from the Step (what the
evaluator computed with); the graph gives only names and structure.

`Captions(graph, steps, writer)` is the list of sentences the renderer shows, written when first
read (a big graph has 20,000 steps and a GIF shows a few of them). `expression_caption` is the
writer of formulas and programs; network/captions.py has the writers of the layer and neuron views.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import numpy as np

from ..graph import CONST, Graph, derivative, is_data
from ..numfmt import fmt_number, fmt_value, shape_text
from ..ops import ADD, COMPOSITE, FUNCTIONS, OPS
from ..steps import FORWARD, Step
from .noise import cleaned, cleaned_result

Writer = Callable[[Graph, Step], str]


class Captions(Sequence):
    """The caption of every step, each written by `writer` on first use and then kept."""

    def __init__(self, graph: Graph, steps: list[Step], writer: Writer | None = None):
        self.graph, self.steps, self.writer = graph, steps, writer or expression_caption
        self.written: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i not in self.written:
            self.written[i] = self.writer(self.graph, self.steps[i])
        return self.written[i]


def is_scalar(value) -> bool:
    return np.ndim(value) == 0


def operand(value) -> str:
    """A value as it appears inside a formula: negatives bracketed, arrays by shape."""
    if not is_scalar(value):
        return f"[{shape_text(np.shape(value))}]"
    text = fmt_number(value)
    return f"({text})" if text.startswith("-") else text


def expression_caption(graph: Graph, step: Step) -> str:
    """The writer of formulas: chosen by phase and kind of step."""
    if step.kind == "inputs":
        return inputs_caption(graph, step)
    if step.kind == "seed":
        return seed_caption(graph, step)
    if step.kind == "copy":
        return copy_caption(graph, step)
    return forward_caption(graph, step) if step.phase == FORWARD else backward_caption(graph, step)


def inputs_caption(graph: Graph, step: Step) -> str:
    shown = [f"{graph.label(n)} = {fmt_value(v)}" for n, v in zip(step.nodes, step.inputs)
             if graph[n]["kind"] != CONST]
    return "forward · inputs: " + (", ".join(shown) or "constants only")


def forward_caption(graph: Graph, step: Step) -> str:
    """`c = x + y = 1 + 2 = 3`."""
    n = step.gate
    node, op = graph[n], OPS[graph[n]["op"]]
    formula = op.text([graph.label(u) for u in graph.args[n]], node["p"])
    if all(is_scalar(x) for x in step.inputs):
        write = fmt_number if op.name in FUNCTIONS else operand
        numbers = op.text([write(x) for x in step.inputs], node["p"])
        value = cleaned_result(node["op"], step.output, step.inputs)
        return f"forward · {graph.label(n)} = {formula} = {numbers} = {fmt_value(value)}"
    return f"forward · {graph.label(n)} = {formula} → {shape_text(np.shape(step.output))}"


def seed_caption(graph: Graph, step: Step) -> str:
    out = graph.label(graph.output)
    return f"backward · start at the output: {derivative(graph, out)} = {fmt_value(step.output)}"


def backward_caption(graph: Graph, step: Step) -> str:
    """The gate's rule with its numbers: `mul swaps: ∂f/∂x = 1·y = 2, …`."""
    n, upstream = step.gate, step.output
    node, op = graph[n], OPS[graph[n]["op"]]
    args = graph.args[n]
    locals_ = op.local_text([graph.label(u) for u in args], graph.label(n), node["p"])
    verb = op.verb or op.symbol(node["p"])
    if op.gate == COMPOSITE:                          # a statement: named, its partial derivatives' numbers
        verb = f"{verb} {graph.label(n)}"
        if is_scalar(upstream):
            locals_ = [f"{s} = {operand(upstream)}·{operand(slope)}" for s, slope in zip(locals_, step.local)]
    parts = [edge_formula(graph, edge, symbolic, upstream, grad)
             for edge, symbolic, grad in zip(step.edges, locals_, step.grads)]
    if op.gate == ADD and all(s == "1" for s in locals_) and is_scalar(upstream):
        verb = f"{verb} {fmt_number(upstream)} to {inputs_phrase(len(args))}"
    return f"backward · {verb}: " + ", ".join(parts)


def inputs_phrase(count: int) -> str:
    return {1: "its input", 2: "both inputs"}.get(count, f"all {count} inputs")


def edge_formula(graph: Graph, edge, symbolic: str, upstream, grad) -> str:
    """`∂f/∂x += 1·y = 2`: `+=` where the input feeds several gates (its parts add up)."""
    u = edge[0]
    if is_data(graph, u) or graph[u]["grad"] is None:      # a constant, or a gate of constants
        return f"{graph.label(u)} is data"
    equals = "+=" if len(graph.users[u]) > 1 else "="
    name = f"{derivative(graph, graph.label(u))} {equals}"
    if not is_scalar(grad) or not is_scalar(upstream):
        return f"{name} {symbolic} [{shape_text(np.shape(grad))}]"
    grad = cleaned(grad, upstream)
    if symbolic == "1":
        return f"{name} {fmt_number(grad)}"
    return f"{name} {operand(upstream)}·{symbolic} = {fmt_number(grad)}"


def copy_caption(graph: Graph, step: Step) -> str:
    """`x feeds 3 gates: 2 + 2 + 6 = 10`."""
    grads, total = step.grads, cleaned(step.output, *step.grads)
    count = f"{graph.label(step.gate)} feeds {len(grads)} gates"
    if all(is_scalar(g) for g in grads):
        terms = " + ".join(operand(g) for g in grads)
        return f"copy adds · {count}: {terms} = {fmt_number(total)}"
    return f"copy adds · {count}: the {len(grads)} gradients add up [{shape_text(np.shape(total))}]"
