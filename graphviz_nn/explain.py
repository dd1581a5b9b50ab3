"""Words for the numbers: step captions, the chain rule as a sum over paths, and diagnostics."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .graph import OP, Graph
from .numfmt import fmt_number, fmt_value, shape_text
from .ops import ADD, FUNCTIONS, OPS

PATH_LIST_LIMIT = 64


# ---- captions ---------------------------------------------------------------

def is_scalar(value) -> bool:
    return np.ndim(value) == 0


def operand(value) -> str:
    """A value as it appears inside a formula: negatives bracketed, arrays by shape."""
    if not is_scalar(value):
        return f"[{shape_text(np.shape(value))}]"
    text = fmt_number(value)
    return f"({text})" if text.startswith("-") else text


def inputs_caption(graph: Graph, leaves: list[str]) -> str:
    shown = [f"{graph.label(n)} = {fmt_value(graph[n]['value'])}" for n in leaves
             if graph[n]["kind"] != "const"]
    return "forward · inputs: " + (", ".join(shown) or "constants only")


def forward_caption(graph: Graph, n: str, xs=None, value=None) -> str:
    """`c = x + y = 1 + 2 = 3`; xs and value are the numbers of the step (default: the graph's now)."""
    node, op = graph[n], OPS[graph[n]["op"]]
    args = graph.args[n]
    xs = [graph[u]["value"] for u in args] if xs is None else xs
    value = node["value"] if value is None else value
    formula = op.text([graph.label(u) for u in args], node["p"])
    if all(is_scalar(x) for x in xs):
        write = fmt_number if op.name in FUNCTIONS else operand
        numbers = op.text([write(x) for x in xs], node["p"])
        return f"forward · {graph.label(n)} = {formula} = {numbers} = {fmt_value(value)}"
    return f"forward · {graph.label(n)} = {formula} → {shape_text(np.shape(value))}"


def seed_caption(graph: Graph) -> str:
    out = graph.label(graph.output)
    return f"backward · start at the output: ∂{out}/∂{out} = {fmt_value(graph[graph.output]['grad'])}"


def backward_caption(graph: Graph, n: str, upstream=None, grads=None) -> str:
    """The gate's rule with its numbers; upstream and the in-edges' grads default to the graph's now."""
    node, op = graph[n], OPS[graph[n]["op"]]
    args = graph.args[n]
    locals_ = op.local_text([graph.label(u) for u in args], graph.label(n), node["p"])
    upstream = node["grad"] if upstream is None else upstream
    edges = graph.in_edges(n)
    grads = [graph.edge(*e)["grad"] for e in edges] if grads is None else grads
    parts = [edge_formula(graph, edge, symbolic, upstream, grad)
             for edge, symbolic, grad in zip(edges, locals_, grads)]
    verb = op.verb or op.symbol(node["p"])
    if op.gate == ADD and all(s == "1" for s in locals_) and is_scalar(upstream):
        verb = f"{verb} {fmt_number(upstream)} to {inputs_phrase(len(args))}"
    return f"backward · {verb}: " + ", ".join(parts)


def inputs_phrase(count: int) -> str:
    return {1: "its input", 2: "both inputs"}.get(count, f"all {count} inputs")


def edge_formula(graph: Graph, edge, symbolic: str, upstream, grad=None) -> str:
    """`∂f/∂x += 1·y = 2`: `+=` where the input feeds several gates (its parts add up)."""
    u = edge[0]
    equals = "+=" if len(graph.users[u]) > 1 else "="
    name = f"∂{graph.label(graph.output)}/∂{graph.label(u)} {equals}"
    grad = graph.edge(*edge)["grad"] if grad is None else grad
    if not is_scalar(grad) or not is_scalar(upstream):
        return f"{name} {symbolic} [{shape_text(np.shape(grad))}]"
    if symbolic == "1":
        return f"{name} {fmt_number(grad)}"
    return f"{name} {operand(upstream)}·{symbolic} = {fmt_number(grad)}"


def copy_caption(graph: Graph, n: str, grads=None, total=None) -> str:
    """`x feeds 3 gates: 2 + 2 + 6 = 10`; grads are its out-edges' (default: the graph's now)."""
    grads = [graph.edge(*e)["grad"] for e in graph.out_edges(n)] if grads is None else grads
    total = graph[n]["grad"] if total is None else total
    count = f"{graph.label(n)} feeds {len(grads)} gates"
    if all(is_scalar(g) for g in grads):
        terms = " + ".join(operand(g) for g in grads)
        return f"copy adds · {count}: {terms} = {fmt_number(total)}"
    return f"copy adds · {count}: the {len(grads)} gradients add up [{shape_text(np.shape(total))}]"


# ---- the chain rule as a sum over paths -----------------------------------------

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
    if variable not in graph.nx or graph[variable]["kind"] == OP:
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
    head = f"∂{out}/∂{x}"
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
        lines.append(f"  {route}: {symbolic} = {numeric} = {fmt_number(product)}")
        symbols.append(symbolic)
        numbers.append(product)
    lines.append(f"{head} = {' + '.join(symbols)} = "
                 f"{' + '.join(operand(v) for v in numbers)} = {fmt_number(sum(numbers))}")
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


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


# ---- diagnostics ------------------------------------------------------------------

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
    node = graph[n]
    if node["grad"] is None:
        return []
    x = graph[graph.args[n][0]]["value"]
    label = node_name(graph, n)
    if node["op"] == "relu" and np.all(x <= 0):
        return [Diagnostic(n, "dead-relu", f"{label}: dead ReLU, its input is ≤ 0, no gradient passes")]
    if node["op"] in ("sigmoid", "tanh"):
        slope = node["value"] * (1 - node["value"]) if node["op"] == "sigmoid" else 1 - node["value"] ** 2
        if np.all(slope < SATURATION):
            return [Diagnostic(n, "saturated", f"{label}: saturated, local derivative "
                               f"{fmt_value(slope) if slope.size <= 4 else 'below ' + str(SATURATION)}")]
    return []


def gradient_scale(graph: Graph) -> list[Diagnostic]:
    seed = np.max(np.abs(graph[graph.output]["grad"]), initial=0.0)
    if not np.isfinite(seed) or seed == 0:
        return []
    found = []
    for n in graph.variables():
        g = graph[n]["grad"]
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
