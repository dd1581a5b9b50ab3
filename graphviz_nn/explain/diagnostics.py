"""Diagnostics: nan and inf, dead ReLUs, saturated gates, vanishing and exploding gradients."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import OP, Graph
from ..numfmt import fmt_number, fmt_value
from ..ops import DIES, OPS, SATURATES, local_derivative
from .noise import cleaned


@dataclass(frozen=True)
class Diagnostic:
    node: str
    kind: str        # nan | inf | dead-relu | saturated | vanishing | exploding
    message: str


SATURATION = 1e-3     # σ' or tanh' below this: the gate passes almost nothing back
VANISHING = 1e-4      # a gradient this much smaller than the seed has vanished
EXPLODING = 1e4


def diagnostics(graph: Graph) -> list[Diagnostic]:
    found = []
    for n in graph.order:
        found += non_finite(graph, n)
        if graph[n]["kind"] == OP:
            found += gate_trouble(graph, n)
    found += gradient_scale(graph)
    return found


def non_finite(graph: Graph, n: str) -> list[Diagnostic]:
    """nan or inf in a value or a gradient (a constant's gradient is nobody's business: x**2 at x<0)."""
    found = []
    for what in ("value", "grad"):
        x = graph[n][what]
        if x is None or (what == "grad" and graph[n]["kind"] == "const") or np.isfinite(x).all():
            continue
        for kind, bad in (("nan", np.isnan(x)), ("inf", np.isinf(x))):
            if np.any(bad):
                found.append(Diagnostic(n, kind, f"{node_name(graph, n)}: {what} is "
                                        f"{fmt_value(x) if x.size <= 4 else kind}"))
    return found


def non_finite_kind(value) -> str | None:
    """"nan" or "inf" if any entry is, else None (None for no value)."""
    if value is None:
        return None
    value = np.asarray(value, dtype=float)
    return "nan" if np.isnan(value).any() else "inf" if np.isinf(value).any() else None


WARNING_LINES = 20


def warning_lines(found: list[Diagnostic], limit: int = WARNING_LINES) -> list[str]:
    """The terminal's `warning:` lines, the first `limit` of them (in forward order: where the
    trouble starts) and a count of the rest: a nan spreads to every node after it, and a
    thousand lines would bury the first. The picture marks every node; the JSON has every value."""
    lines = [f"warning: {d.message}" for d in found[:limit]]
    if len(found) > limit:
        rest = found[limit:]
        lines.append(f"warning: … and {len(rest):,} more on {len({d.node for d in rest}):,} "
                     f"nodes (the picture marks them; --json has every value)")
    return lines


def node_name(graph: Graph, n: str) -> str:
    """`a = log(x)` for gates, `x` for inputs."""
    label, text = graph.label(n), graph[n]["text"]
    return label if text == label else f"{label} = {text}"


def gate_trouble(graph: Graph, n: str) -> list[Diagnostic]:
    """What the op's own local derivative says: a relu passing nothing back, a saturated σ."""
    node = graph[n]
    op = OPS[node["op"]]
    if node["grad"] is None or op.trouble is None:
        return []
    xs = [graph[u]["value"] for u in graph.args[n]]
    with np.errstate(all="ignore"):
        slope = np.asarray(local_derivative(op, node["value"], xs, node["p"]), dtype=float)
    label = node_name(graph, n)
    if op.trouble == DIES and np.all(slope == 0):
        return [Diagnostic(n, "dead-relu", f"{label}: dead ReLU, its input is ≤ 0, no gradient passes")]
    if op.trouble == SATURATES and np.all(slope < SATURATION):
        return [Diagnostic(n, "saturated", f"{label}: saturated, local derivative "
                           f"{fmt_value(slope) if slope.size <= 4 else 'below ' + str(SATURATION)}")]
    return []


def gradient_scale(graph: Graph) -> list[Diagnostic]:
    seed = np.max(np.abs(graph[graph.output]["grad"]), initial=0.0)
    if not np.isfinite(seed) or seed == 0:
        return []
    found = []
    for n in graph.variables():
        g = cleaned(graph[n]["grad"], *[graph.edge(*e)["grad"] for e in graph.out_edges(n)])
        if g is None or not np.all(np.isfinite(g)):
            continue
        size = np.max(np.abs(g), initial=0.0)
        if 0 < size < VANISHING * seed:
            found.append(Diagnostic(n, "vanishing", f"∂/∂{graph.label(n)} is {fmt_number(size / seed)} "
                                    f"of the output's gradient: it has vanished on the way back"))
        elif size > EXPLODING * seed:
            found.append(Diagnostic(n, "exploding", f"∂/∂{graph.label(n)} is {fmt_number(size / seed)} "
                                    f"times the output's gradient: it explodes on the way back"))
    return found
