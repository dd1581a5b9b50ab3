"""Numeric gradient check: every input's gradient against central finite differences."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import evaluate
from .graph import Graph

DEFAULT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class CheckResult:
    variable: str
    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: float


def numeric_gradient(graph: Graph, variable: str, seed: np.ndarray, step: float = 1e-6) -> np.ndarray:
    base = graph[variable]["value"]
    grad = np.zeros_like(base)
    with np.errstate(all="ignore"):          # overflow and nan are answers here, not warnings
        for index in np.ndindex(base.shape):
            h = step * max(1.0, abs(float(base[index])))
            shifted = []
            for sign in (1, -1):
                moved = base.copy()
                moved[index] += sign * h
                shifted.append(np.sum(seed * evaluate(graph, {variable: moved})))
            grad[index] = (shifted[0] - shifted[1]) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a − b| / (|a| + |b|); entries non-finite on both sides alike agree, on one side: inf."""
    if a.size == 0:
        return 0.0
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    finite = np.isfinite(a) & np.isfinite(b)
    alike = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(all="ignore"):
        half_a, half_b = a / 2, b / 2      # halves: |a| + |b| cannot overflow near 1e308
        scale = np.maximum(np.abs(half_a) + np.abs(half_b), 5e-9)
        errors = np.where(finite, np.abs(half_a - half_b) / scale, np.where(alike, 0.0, np.inf))
    return float(np.max(errors))


def check_gradients(graph: Graph) -> list[CheckResult]:
    seed = graph[graph.output]["grad"]
    results = []
    for n in graph.variables():
        numeric = numeric_gradient(graph, n, seed)
        results.append(CheckResult(graph.label(n), graph[n]["grad"], numeric,
                                   relative_error(graph[n]["grad"], numeric)))
    return results
