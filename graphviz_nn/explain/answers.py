"""Checking a student's answers (--expect) against the run: right where the exact number rounds
to what they wrote, at the digits they wrote."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..graph import Graph, has_gradient
from ..numfmt import fmt_value


@dataclass(frozen=True)
class Answer:
    name: str                 # the node (a value), or the node the gradient is taken by
    what: str                 # value | grad
    given: np.ndarray
    tolerance: np.ndarray     # per entry: half a unit in the last digit written
    of: str = ""              # grad: the output named in df/dx


@dataclass(frozen=True)
class Verdict:
    answer: Answer
    node: str
    truth: np.ndarray
    right: bool

    def line(self) -> str:
        a = self.answer
        name = f"∂{a.of}/∂{a.name}" if a.what == "grad" else a.name
        if self.right:
            return f"  ✓ {name} = {fmt_value(a.given)}"
        return f"  ✗ {name}: you wrote {fmt_value(a.given)}, it is {fmt_value(self.truth)}"


def check_answers(graph: Graph, answers: list[Answer]) -> list[Verdict]:
    by_label = {graph.label(n): n for n in graph.order}
    verdicts = []
    for a in answers:
        node = by_label.get(a.name)
        if node is None:
            raise UserError(f"--expect: no node named {a.name}", hint=f"nodes: {', '.join(by_label)}")
        output = graph.label(graph.output)
        if a.what == "grad" and a.of != output:
            raise UserError(f"--expect: gradients are of the output {output}, not {a.of}",
                            hint=f"write d{output}/d{a.name}")
        if a.what == "grad" and not has_gradient(graph, node):
            raise UserError(f"--expect: {a.name} is data (or computed from data alone): it has no gradient",
                            hint="ask for the gradients of inputs and parameters, and of gates that depend on them")
        truth = np.asarray(graph[node][a.what], dtype=float)
        verdicts.append(Verdict(a, node, truth, agrees(truth, a)))
    return verdicts


def agrees(truth: np.ndarray, a: Answer) -> bool:
    if truth.shape != a.given.shape and a.given.size != 1:
        return False
    with np.errstate(all="ignore"):
        close = np.abs(truth - a.given) <= a.tolerance * (1 + 1e-9) + 1e-12 * np.abs(truth)
    return bool(np.all(close | (np.isnan(truth) & np.isnan(a.given))))
