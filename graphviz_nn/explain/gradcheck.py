"""Numeric gradient check: every input's gradient against finite differences.

Central differences straddle a kink (relu at 0, a tie in max): there the one-sided differences
disagree, the point has no derivative, and the check says so instead of failing — the analytic
gradient must then lie between the two one-sided derivatives (the convention the gate states).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import output_at
from ..graph import CONST, Graph
from ..numfmt import fmt_number
from ..ops import OPS

DEFAULT_TOLERANCE = 1e-5
MAX_CHECKED = 400       # entries per variable: three evaluations each, so big matrices are sampled
KINK_GAP = 1e-4         # one-sided derivatives further apart than this (relative): no derivative
NOISE = 1e-6            # … and further apart than this × max(1, |f|): rounding makes ~1e-10 of |f|
ZERO = 1e-4             # × max(1, |f|): gradients below this compare absolutely (a true 0 reads ~1e-11)


@dataclass(frozen=True)
class CheckResult:
    variable: str
    analytic: np.ndarray
    numeric: np.ndarray              # central differences (nan where an entry is not checked)
    relative_error: float            # at kinks: against the nearer one-sided derivative
    checked: int                     # entries compared (all of them, or MAX_CHECKED evenly spread)
    kinks: tuple[str, ...] = ()      # one sentence per entry sitting on a kink


@dataclass(frozen=True)
class Differences:
    central: np.ndarray
    left: np.ndarray
    right: np.ndarray
    size: float             # |f| where the differences are taken


def checked_entries(shape: tuple) -> list[tuple]:
    """Every entry, or MAX_CHECKED of them spread evenly over a big matrix."""
    size = int(np.prod(shape))
    flat = range(size) if size <= MAX_CHECKED else np.linspace(0, size - 1, MAX_CHECKED).astype(int)
    return [np.unravel_index(int(i), shape) for i in flat]


def differences(graph: Graph, variable: str, seed: np.ndarray, step: float = 1e-6) -> Differences:
    """Central and one-sided differences at the checked entries; nan where an entry is not checked."""
    base = graph[variable]["value"]
    at_base = np.sum(seed * output_at(graph, {}))
    central, left, right = (np.full_like(base, np.nan) for _ in range(3))
    with np.errstate(all="ignore"):          # overflow and nan are answers here, not warnings
        for index in checked_entries(base.shape):
            h = step * max(1.0, abs(float(base[index])))
            ends = []
            for sign in (1, -1):
                moved = base.copy()
                moved[index] += sign * h
                ends.append(np.sum(seed * output_at(graph, {variable: moved})))
            central[index] = (ends[0] - ends[1]) / (2 * h)
            right[index] = (ends[0] - at_base) / h
            left[index] = (at_base - ends[1]) / h
    return Differences(central, left, right, float(abs(at_base)))


def numeric_gradient(graph: Graph, variable: str, seed: np.ndarray, step: float = 1e-6) -> np.ndarray:
    return differences(graph, variable, seed, step).central


def errors(a: np.ndarray, b: np.ndarray, floor: float = 5e-9) -> np.ndarray:
    """|a − b| / max(|a| + |b|, floor) entry by entry (halves, so it cannot overflow); non-finite
    on both sides alike agree, on one side: inf."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    finite = np.isfinite(a) & np.isfinite(b)
    alike = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(all="ignore"):
        half_a, half_b = a / 2, b / 2      # halves: |a| + |b| cannot overflow near 1e308
        scale = np.maximum(np.abs(half_a) + np.abs(half_b), floor / 2)
        return np.where(finite, np.abs(half_a - half_b) / scale, np.where(alike, 0.0, np.inf))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a − b| / (|a| + |b|) over the entries."""
    return float(np.max(errors(a, b))) if np.size(a) else 0.0


def kinked_gates(graph: Graph) -> list[str]:
    """Gates sitting on a point where they have no derivative, in words."""
    found = []
    for n in graph.gates():
        node, op = graph[n], OPS[graph[n]["op"]]
        xs = [graph[u]["value"] for u in graph.args[n]]
        if op.kink and op.kink(node["value"], xs, node["p"]):
            inputs = ", ".join(f"{graph.label(u)} = {fmt_number(x)}" for u, x in zip(graph.args[n], xs)
                               if np.ndim(x) == 0 and graph[u]["kind"] != CONST)
            where = f" at {inputs}" if inputs else ""
            found.append(f"{graph.label(n)} = {node['text']}{where} is a kink of {op.name} "
                         f"(convention: {op.convention})")
    return found


def check_gradients(graph: Graph) -> list[CheckResult]:
    seed = graph[graph.output]["grad"]
    results = []
    for n in graph.variables():
        found = differences(graph, n, seed)
        analytic = graph[n]["grad"]
        entries = checked_entries(analytic.shape)
        picked = tuple(np.array(entries).T) if analytic.ndim else ()
        a, c = analytic[picked], found.central[picked]
        left, right = found.left[picked], found.right[picked]
        kink = (errors(left, right) > KINK_GAP) & (np.abs(left - right) > NOISE * max(1.0, found.size))
        floor = ZERO * max(1.0, found.size)
        error = np.where(kink, kink_error(a, left, right, floor), errors(a, c, floor))
        kinks = tuple(kink_sentence(graph.label(n), e, l, r, g)
                      for e, l, r, g, k in zip(entries, np.ravel(left), np.ravel(right), np.ravel(a),
                                                 np.ravel(kink)) if k)
        results.append(CheckResult(graph.label(n), analytic, found.central,
                                   float(np.max(error)) if error.size else 0.0, len(entries), kinks))
    return results


def kink_error(analytic, left, right, floor: float) -> np.ndarray:
    """At a kink any value between the one-sided derivatives is a valid (sub)gradient — relu'(0) = 0,
    abs'(0) = 0, a tie in max sending all to one argument: 0 there, else the distance to the nearer."""
    low, high = np.minimum(left, right), np.maximum(left, right)
    between = (low <= analytic) & (analytic <= high)
    return np.where(between, 0.0, np.minimum(errors(analytic, left, floor), errors(analytic, right, floor)))


def kink_sentence(name: str, index, left, right, analytic) -> str:
    where = name + ("" if not len(index) else "[" + ",".join(str(i) for i in index) + "]")
    return (f"∂/∂{where} has no value here: the left derivative is {fmt_number(left)}, the right "
            f"{fmt_number(right)}; the analytic {fmt_number(analytic)} is the gate's convention")
