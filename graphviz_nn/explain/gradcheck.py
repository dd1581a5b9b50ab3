"""Numeric gradient check: every input's gradient against central finite differences."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import output_at
from ..graph import Graph

DEFAULT_TOLERANCE = 1e-5
MAX_CHECKED = 400       # entries per variable: two evaluations each, so big matrices are sampled


@dataclass(frozen=True)
class CheckResult:
    variable: str
    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: float
    checked: int            # entries compared (all of them, or MAX_CHECKED evenly spread)


def checked_entries(shape: tuple) -> list[tuple]:
    """Every entry, or MAX_CHECKED of them spread evenly over a big matrix."""
    size = int(np.prod(shape))
    flat = range(size) if size <= MAX_CHECKED else np.linspace(0, size - 1, MAX_CHECKED).astype(int)
    return [np.unravel_index(int(i), shape) for i in flat]


def numeric_gradient(graph: Graph, variable: str, seed: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences at the checked entries; nan where an entry is not checked."""
    base = graph[variable]["value"]
    grad = np.full_like(base, np.nan)
    with np.errstate(all="ignore"):          # overflow and nan are answers here, not warnings
        for index in checked_entries(base.shape):
            h = step * max(1.0, abs(float(base[index])))
            shifted = []
            for sign in (1, -1):
                moved = base.copy()
                moved[index] += sign * h
                shifted.append(np.sum(seed * output_at(graph, {variable: moved})))
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
        entries = checked_entries(numeric.shape)
        picked = tuple(np.array(entries).T) if numeric.ndim else ()
        results.append(CheckResult(graph.label(n), graph[n]["grad"], numeric,
                                   relative_error(graph[n]["grad"][picked], numeric[picked]), len(entries)))
    return results
