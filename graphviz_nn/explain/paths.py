"""The chain rule as a sum over paths: ∂f/∂x = Σ over paths of the product of local derivatives."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..graph import INPUT, PARAM, Graph
from ..numfmt import fmt_number, fmt_value
from ..ops import OPS
from .captions import operand

PATH_LIST_LIMIT = 64


@dataclass
class PathSum:
    variable: str
    count: int                       # number of paths from the variable to the output
    paths: list[list[tuple]]         # each path as its edges, input side first; empty if too many
    gradient: np.ndarray


def path_counts(graph: Graph) -> dict[str, int]:
    """How many distinct paths lead from each node to the output (exact, however many)."""
    counts = {n: 0 for n in graph.order}
    counts[graph.output] = 1
    for n in reversed(graph.order):
        if n != graph.output:
            counts[n] = sum(counts[v] for v, _ in graph.users[n])
    return counts


def all_paths(graph: Graph, start: str) -> list[list[tuple]]:
    paths, stack = [], [(start, [])]
    while stack:
        n, edges = stack.pop()
        if n == graph.output:
            paths.append(edges)
            continue
        for v, k in reversed(graph.users[n]):
            stack.append((v, edges + [(n, v, k)]))
    return paths


def path_sum(graph: Graph, variable: str, limit: int = PATH_LIST_LIMIT) -> PathSum:
    if variable not in graph.node_attrs or graph[variable]["kind"] not in (INPUT, PARAM):
        names = ", ".join(graph.label(n) for n in graph.variables())
        raise UserError(f"--explain: no input named {variable!r}", hint=f"inputs: {names}")
    if not graph.is_scalar():
        raise UserError("--explain spells out paths for scalar graphs only",
                        hint="for matrices, the backward captions give each step (d·Wᵀ, Xᵀ·d)")
    count = path_counts(graph)[variable]
    paths = all_paths(graph, variable) if count <= limit else []
    return PathSum(variable, count, paths, graph[variable]["grad"])


def explain_paths(graph: Graph, variable: str, limit: int = PATH_LIST_LIMIT) -> list[str]:
    """The exercises' recipe: ∂f/∂x = Σ over paths of the product of local derivatives."""
    ps = path_sum(graph, variable, limit)
    out, x = graph.label(graph.output), graph.label(variable)
    head = f"∂{out}/∂{x}"     # the seed, if not 1, is applied on the last line
    if ps.count == 0:
        return [f"{head} = 0: no path leads from {x} to {out}"]
    if not ps.paths:
        return [f"{head}: {ps.count:,} paths lead from {x} to {out}, too many to list "
                f"(more than {limit}); their sum is {fmt_value(ps.gradient)}"]
    lines = [f"{head} = the sum over {plural(ps.count, 'path')} from {x} to {out} "
             f"of the product of the local derivatives on its edges:"]
    symbols, numbers = [], []
    for path in ps.paths:
        symbolic, numeric, product = path_product(graph, path)
        route = " → ".join([x] + [graph.label(e[1]) for e in path])
        lines.append(f"  {route}: " + equalities(symbolic, numeric, fmt_number(product)))
        symbols.append(symbolic)
        numbers.append(product)
    lines.append(equalities(head, " + ".join(symbols), " + ".join(operand(v) for v in numbers),
                            fmt_number(sum(numbers))))
    seed = graph[graph.output]["grad"]
    if float(seed) != 1.0:
        lines.append(f"times the seed gradient {fmt_number(seed)}: {fmt_value(ps.gradient)}")
    return lines


def path_product(graph: Graph, path: list[tuple]) -> tuple[str, str, float]:
    """Local derivatives along a path, written output side first as the exercises do."""
    symbolic, numeric, product = [], [], 1.0
    for u, v, k in reversed(path):
        node = graph[v]
        names = [graph.label(a) for a in graph.args[v]]
        symbolic.append(OPS[node["op"]].local_text(names, graph.label(v), node["p"])[k])
        local = float(graph.edge(u, v, k)["local"])
        numeric.append(operand(local))
        product *= local
    return "·".join(symbolic) or "1", "·".join(numeric) or "1", product   # the empty path: x itself


def equalities(*sides: str) -> str:
    """`a = b = c`, each side written once (`∂b/∂x = 3`, not `∂b/∂x = ∂b/∂x = 3 = 3`)."""
    kept = [side for i, side in enumerate(sides) if i == 0 or side != sides[i - 1]]
    return " = ".join(kept)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


