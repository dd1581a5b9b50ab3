"""The grid view's window steps: a conv or pool gate's one Step told window by window, with captions.

The engine keeps one Step per gate. In the grid view each conv2d, maxpool and avgpool gate whose
input, kernel and output are drawn as grids (render/grid.py) is told as its window slides: forward,
one step per output cell, reading the window's cells (and the kernel's) and writing the cell's value;
backward, one step per output cell in the same order, sending the cell's gradient d back — a conv
adds d·window into ∂K (the kernel is shared by every position: copy adds) and d·K onto the window in
∂X (together, the full convolution of d with the flipped kernel); a spec's conv layer with a bias
(conv2d_bias) adds its filter's b[f] to each product sum, and d to ∂b[f]; a max pool routes d to the
window's maximum; an average pool gives d/k² to each cell. A gradient cell is written (shown) at the
step after which nothing adds to it any more, and only where this gate is its node's one user (a
node feeding several gates shows its total at the copy step); the steps carry the running sums.

Long scans are grouped so that a GIF stays short: one step per output cell when the gate's output
has at most CELL_STEPS_UP_TO cells, else one per output row when it has at most ROW_STEPS_UP_TO rows
(all maps counted), else one per map.

Every number is read from the gate's Step (its inputs, output and gradients) and placed with the
ops' window helpers (conv_windows, pool_windows); nothing is computed twice except the running sums.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

import numpy as np

from ..graph import Graph, has_gradient
from ..numfmt import fmt_number, fmt_value
from ..ops import conv_windows, pool_windows
from ..ops.conv import pool_p
from ..render.grid import drawn_as_grid
from ..steps import BACKWARD, FORWARD, Cell, Cells, Step
from .captions import Captions, derivative, operand
from .noise import cleaned

CONVS = ("conv2d", "conv2d_bias")           # conv2d_bias: a spec's conv layer, + b[f] at each cell
WINDOWED = (*CONVS, "maxpool", "avgpool")
CELL_STEPS_UP_TO = 16       # output cells of a gate: one step each
ROW_STEPS_UP_TO = 16        # output rows (every map's): one step each; more: one step per map
PRODUCTS_SHOWN = 12         # a product sum longer than this is cut: the first ones, …, the last
WRITTEN_OUT = 3             # windows of a row step whose pool caption is written out in full


def windowed(graph: Graph, n: str) -> bool:
    """Whether a gate is told window by window: a conv or pool whose numbers are all grids."""
    node = graph[n]
    return node.get("op") in WINDOWED and all(drawn_as_grid(graph, m) for m in [n, *graph.args[n]])


def grid_steps(graph: Graph, steps: Sequence[Step], captions: Sequence[str]) -> tuple[list[Step], "GridCaptions"]:
    """The steps with each windowed gate's forward and backward Step replaced by its window steps,
    and their captions (the others' as given)."""
    out, sources = [], []
    for i, step in enumerate(steps):
        if step.kind == "gate" and step.phase in (FORWARD, BACKWARD) and step.gate and windowed(graph, step.gate):
            made = window_steps(graph, step)
            out += made
            sources += [None] * len(made)
        else:
            out.append(step)
            sources.append(i)
    return out, GridCaptions(graph, out, captions, sources)


class GridCaptions(Captions):
    """The captions of grid_steps: a window step's written here on first use, the others' read
    from the captions given."""

    def __init__(self, graph: Graph, steps: list[Step], captions: Sequence[str], sources: list):
        super().__init__(graph, steps, window_caption)
        self.captions, self.sources = captions, sources

    def __getitem__(self, i):
        if isinstance(i, int) and self.sources[i] is not None:
            return self.captions[self.sources[i]]
        return super().__getitem__(i)


# ---- the steps ---------------------------------------------------------------------------------

def window_steps(graph: Graph, step: Step) -> list[Step]:
    """A windowed gate's Step as its window steps, forward or backward."""
    n = step.gate
    node = graph[n]
    x = np.asarray(step.inputs[0], dtype=float)
    if node["op"] in CONVS:
        k = np.asarray(step.inputs[1], dtype=float)
        windows = [(w.cell, w.reads) for w in conv_windows(x.shape, k.shape, node["p"])]
    else:
        windows = [(w.cell, tuple((c, None) for c in w.reads)) for w in pool_windows(x.shape, node["p"])]
    units = grouped(windows, np.shape(step.output))
    if step.phase == FORWARD:
        return [forward_window(graph, step, unit) for unit in units]
    return backward_windows(graph, step, units)


def grouped(windows: list, out_shape: tuple) -> list[list]:
    """The windows (row-major) in the steps that show them: each alone, or by output row, or by map."""
    if len(windows) <= CELL_STEPS_UP_TO:
        return [[w] for w in windows]
    rows = len(windows) // out_shape[-1]
    lead = 1 if rows <= ROW_STEPS_UP_TO else 2
    return [list(g) for _, g in groupby(windows, key=lambda w: w[0][:-lead])]


def terms(graph: Graph, step: Step, reads: tuple, cell: tuple = ()) -> tuple:
    """A window's numbers: (x, k) factor pairs for a conv, then (b[f], 1) for a conv with a bias
    (cell: the output cell, whose filter f is its third axis from the end); the window's entries
    for a pool."""
    x = np.asarray(step.inputs[0], dtype=float)
    op = graph[step.gate]["op"]
    if op not in CONVS:
        return tuple(float(x[xc]) for xc, _ in reads)
    k = np.asarray(step.inputs[1], dtype=float)
    bias = ((float(np.asarray(step.inputs[2])[filter_of(cell)]), 1.0),) if op == "conv2d_bias" else ()
    return tuple((float(x[xc]), float(k[kc])) for xc, kc in reads) + bias


def filter_of(cell: tuple) -> tuple:
    """The bias entry of an output cell (…, f, h, w) of conv2d_bias: (f,)."""
    return (cell[-3],)


def read_cells(graph: Graph, n: str, unit: list) -> list[Cell]:
    """The value cells a unit's windows read: the input's, then the kernel's, then a bias's (each
    once, in order)."""
    args = graph.args[n]
    xs = [Cell(args[0], xc) for _, reads in unit for xc, _ in reads]
    ks = [Cell(args[1], kc) for _, reads in unit for _, kc in reads if kc is not None]
    bs = [Cell(args[2], filter_of(cell)) for cell, _ in unit] if graph[n]["op"] == "conv2d_bias" else []
    return list(dict.fromkeys(xs + ks + bs))


def forward_window(graph: Graph, step: Step, unit: list) -> Step:
    n, y = step.gate, np.asarray(step.output, dtype=float)
    at = tuple(cell for cell, _ in unit)
    cells = Cells(at, tuple(read_cells(graph, n, unit)), tuple(Cell(n, cell) for cell in at))
    return Step(FORWARD, "window", n, (), (), tuple(terms(graph, step, reads, cell) for cell, reads in unit),
                tuple(float(y[cell]) for cell in at), (), windows_of(unit, [None] * len(unit)), None, cells)


def backward_windows(graph: Graph, step: Step, units: list) -> list[Step]:
    """Each unit's d sent back; the running sums carried, each gradient cell written after the
    last unit that adds to it (cells no window reads: after the last unit, with their 0)."""
    n = step.gate
    op = graph[n]["op"]
    g = np.asarray(step.output, dtype=float)
    args = graph.args[n]
    shares = {u: np.asarray(share, dtype=float) for u, share in zip(args, step.grads)}
    written = {u for u in args if has_gradient(graph, u) and len(graph.users[u]) == 1}
    plans = [unit_plan(graph, step, unit, op) for unit in units]
    last = {}
    for i, (_, adds, _) in enumerate(plans):
        for cell in adds:
            last[cell] = i
    running: dict[Cell, float] = {}
    out = []
    for i, (unit, adds, routes) in enumerate(plans):
        for cell, amount in adds.items():
            running[cell] = running.get(cell, 0.0) + amount
        final = [c for c in adds if last[c] == i]
        if i == len(plans) - 1:               # cells no window reads: their 0 is final now
            final += [Cell(u, idx, True) for u in written for idx in np.ndindex(shares[u].shape)
                      if Cell(u, idx, True) not in last]
        for c in final:
            running[c] = float(shares[c.node][c.index])       # the engine's number, as drawn
        at = tuple(cell for cell, _ in unit)
        reads = [Cell(n, cell, True) for cell in at] + routed_reads(graph, n, unit, routes, op)
        writes = tuple(c for c in final if c.node in written)
        kernel = [c for c in running if op in CONVS and c.node in args[1:]]    # ∂K (∂b) in full, for "so far"
        sums = tuple((c, running[c]) for c in dict.fromkeys([*adds, *kernel]))   # (unread cells add nothing)
        out.append(Step(BACKWARD, "window", n, (), (), tuple(terms(graph, step, r, c) for c, r in unit),
                        tuple(float(g[cell]) for cell in at), sums, windows_of(unit, routes or [None] * len(unit)), None,
                        Cells(at, tuple(dict.fromkeys(reads)), writes)))
    return out


def windows_of(unit: list, routes: list) -> tuple:
    """A step's `local`: per output cell, its window's input cells and where a max pool routes d."""
    return tuple((tuple(xc for xc, _ in reads), route) for (_, reads), route in zip(unit, routes))


def unit_plan(graph: Graph, step: Step, unit: list, op: str) -> tuple[list, dict, list]:
    """What a unit adds to each gradient cell, and for a max pool the window cell each d goes to."""
    args = graph.args[step.gate]
    g = np.asarray(step.output, dtype=float)
    adds: dict[Cell, float] = {}
    routes = []

    def add(cell: Cell, amount: float) -> None:
        adds[cell] = adds.get(cell, 0.0) + amount
    for cell, reads in unit:
        d = float(g[cell])
        numbers = terms(graph, step, reads, cell)
        if op in CONVS:
            for (xc, kc), (xv, kv) in zip(reads, numbers):
                add(Cell(args[0], xc, True), d * kv)
                add(Cell(args[1], kc, True), d * xv)
            if op == "conv2d_bias":
                add(Cell(args[2], filter_of(cell), True), d)
        elif op == "maxpool":
            best = int(np.argmax(numbers))     # the first maximum (a nan first), as the op routes
            routes.append(reads[best][0])
            for j, (xc, _) in enumerate(reads):
                add(Cell(args[0], xc, True), d if j == best else 0.0)
        else:
            for xc, _ in reads:
                add(Cell(args[0], xc, True), d / len(reads))
    return unit, adds, routes


def routed_reads(graph: Graph, n: str, unit: list, routes: list, op: str) -> list[Cell]:
    """The value cells a backward unit highlights: the window and kernel (conv), the window's
    maximum (max pool: where d goes), the window (avg pool)."""
    if op == "maxpool":
        return [Cell(graph.args[n][0], cell) for cell in routes]
    return read_cells(graph, n, unit)


# ---- the captions ------------------------------------------------------------------------------

def window_caption(graph: Graph, step: Step) -> str:
    op = graph[step.gate]["op"]
    if step.phase == FORWARD:
        return {"conv2d": conv_forward, "conv2d_bias": conv_forward, "maxpool": pool_forward,
                "avgpool": pool_forward}[op](graph, step)
    return {"conv2d": conv_backward, "conv2d_bias": conv_backward, "maxpool": max_backward,
            "avgpool": avg_backward}[op](graph, step)


def entry(graph: Graph, n: str, cell: tuple) -> str:
    """`a[1,2]`: one number of a node's value, 0-based as formulas index."""
    return f"{graph.label(n)}[{','.join(map(str, cell))}]"


def region(graph: Graph, n: str, cells) -> str:
    """`X[0:3, 1:4]`: the box holding the cells, `:` for a whole axis (none at the end), the name
    alone for all."""
    shape = np.shape(graph[n]["value"])
    parts = []
    for axis, size in enumerate(shape):
        values = [c[axis] for c in cells]
        low, high = min(values), max(values)
        parts.append(":" if (low, high) == (0, size - 1) and size > 1 else
                     str(low) if low == high else f"{low}:{high + 1}")
    while parts and parts[-1] == ":":          # K[0, :, :, :] is K[0]
        parts.pop()
    return f"{graph.label(n)}[{', '.join(parts)}]" if parts else graph.label(n)


def window_texts(graph: Graph, step: Step, x: str, k: str) -> tuple[str, str]:
    """`X[0:3, 0:3]` and `K`: the regions a conv step reads; a window wholly in the zero padding
    reads no cell of X."""
    window = window_cells(step, graph, 0)
    if not window:
        return "the padding's zeros", graph.label(k)
    return region(graph, x, window), region(graph, k, window_cells(step, graph, 1))


def window_cells(step: Step, graph: Graph, which: int) -> list[tuple]:
    """The input (which 0) or kernel (1) cells a step reads, from its Cells."""
    node = graph.args[step.gate][which]
    return [c.index for c in step.cells.reads if c.node == node and not c.grad]


def product_sum(pairs: tuple, total: float, biased: bool = False) -> str:
    """`3·0 + 3·1 + 2·2 + … = 12`: every product up to PRODUCTS_SHOWN, else the first and the last;
    biased: the last pair is (b[f], 1), added as `+ 0.5`."""
    products = [f"{operand(x)}·{operand(k)}" for x, k in (pairs[:-1] if biased else pairs)]
    shown = fmt_number(cleaned(total, *[x * k for x, k in pairs]))
    if not products:                       # a window wholly in the zero padding
        return f"{shown} (only the padding's zeros{', and the bias' if biased else ''})"
    if len(products) > PRODUCTS_SHOWN:
        products = products[:PRODUCTS_SHOWN - 2] + ["…", products[-1]]
    if biased:
        products.append(operand(pairs[-1][0]))
    return f"{' + '.join(products)} = {shown}"


def bias_text(graph: Graph, n: str, cells) -> str:
    """` + b1[0]` after a window ⋆ kernel: the bias entry of the filter(s) of these output cells."""
    if graph[n]["op"] != "conv2d_bias":
        return ""
    return f" + {region(graph, graph.args[n][2], [filter_of(c) for c in cells])}"


def conv_forward(graph: Graph, step: Step) -> str:
    n, (x, k) = step.gate, graph.args[step.gate][:2]
    size = int(np.prod(np.shape(graph[k]["value"])[-3 if np.ndim(graph[k]["value"]) == 4 else 0:]))
    biased = graph[n]["op"] == "conv2d_bias"
    if len(step.cells.at) == 1:
        cell, pairs = step.cells.at[0], step.inputs[0]
        window, kernel = window_texts(graph, step, x, k)
        padding = " (the padding's zeros add nothing)" if 0 < len(pairs) - biased < size else ""
        return (f"forward · conv slides the kernel: {entry(graph, n, cell)} = {window} ⋆ {kernel}"
                f"{bias_text(graph, n, [cell])} = {product_sum(pairs, step.output[0], biased)}{padding}")
    values = ", ".join(f"{entry(graph, n, c)} = {fmt_number(v)}" for c, v in zip(step.cells.at, step.output))
    i = next((i for i, pairs in enumerate(step.inputs) if len(pairs) > biased), 0)   # a window off the padding
    first = f"{entry(graph, n, step.cells.at[i])} = {product_sum(step.inputs[i], step.output[i], biased)}"
    return f"forward · conv slides the kernel along {region(graph, n, step.cells.at)}: {values} (as {first})"


def pool_forward(graph: Graph, step: Step) -> str:
    n, x = step.gate, graph.args[step.gate][0]
    is_max = graph[n]["op"] == "maxpool"
    texts = []
    for k, (cell, numbers, value) in enumerate(zip(step.cells.at, step.inputs, step.output)):
        if k >= WRITTEN_OUT:                  # a long row: the first windows written out, then values
            texts.append(f"{entry(graph, n, cell)} = {fmt_number(value)}")
            continue
        listed = ", ".join(fmt_number(v) for v in numbers)
        window = region(graph, x, window_of(step, cell))
        if is_max:
            texts.append(f"{entry(graph, n, cell)} = max({window}) = max({listed}) = {fmt_number(value)}")
        else:
            plus = " + ".join(operand(v) for v in numbers)
            texts.append(f"{entry(graph, n, cell)} = mean({window}) = ({plus})/{len(numbers)} = {fmt_number(value)}")
    kind = "max pool takes each window's largest" if is_max else "average pool takes each window's mean"
    return f"forward · {kind}: " + "; ".join(texts)


def window_of(step: Step, cell: tuple) -> tuple:
    """The input cells of one output cell's window."""
    return step.local[step.cells.at.index(cell)][0]


def running_text(graph: Graph, step: Step, node: str) -> str:
    """A kernel's gradient as far as this gate has added it, `[[0, 1, 3], …]` (cells nothing has
    reached yet: 0); empty when this step adds nothing to it."""
    cells = [(c.index, v) for c, v in step.grads if c.node == node]
    if not cells:
        return ""
    so_far = np.zeros(np.shape(graph[node]["value"]))
    for index, v in cells:
        so_far[index] = v
    return fmt_value(so_far)


def conv_backward(graph: Graph, step: Step) -> str:
    n, (x, k) = step.gate, graph.args[step.gate][:2]
    ds = [fmt_number(d) for d in step.output]
    where = entry(graph, n, step.cells.at[0]) if len(step.cells.at) == 1 else region(graph, n, step.cells.at)
    d_text = f"d = {ds[0]}" if len(ds) == 1 else f"d = {', '.join(ds)}"
    window, kernel = window_texts(graph, step, x, k)
    dk, dx = derivative(graph, kernel), derivative(graph, graph.label(x))
    bias = graph.args[n][2] if graph[n]["op"] == "conv2d_bias" else None
    db = derivative(graph, bias_text(graph, n, step.cells.at)[3:]) if bias else ""
    if all(d == 0 for d in step.output):
        text = f"backward · conv at {where}, {d_text}: adds nothing to {dk}{f', {db}' if bias else ''} or {dx}"
    elif not window_cells(step, graph, 0):
        added = f"; {db} adds {'d' if len(ds) == 1 else 'Σ d'}" if bias else ""
        text = f"backward · conv at {where}, {d_text}: its window is all padding: nothing for {dk} or {dx}{added}"
    else:
        contribution = f"{ds[0]}·{window}" if len(ds) == 1 else "Σ d·window"
        added = f" and {db} adds {'d' if len(ds) == 1 else 'Σ d'}" if bias else ""
        text = (f"backward · conv at {where}, {d_text}: the kernel is shared, so {dk} adds {contribution}"
                f"{added}; d·{kernel} goes back onto {window}")
    for shared in [k, bias] if bias else [k]:
        so_far = running_text(graph, step, shared)
        if so_far and has_gradient(graph, shared):
            text += f" · {derivative(graph, graph.label(shared))} so far {so_far}"
    return text + finals(graph, step) + closing(graph, step)


def finals(graph: Graph, step: Step) -> str:
    """` · 3 cells of ∂c/∂X final`: the gradient cells shown from this step on (not the last's)."""
    if is_last(graph, step):
        return ""
    counts: dict[str, int] = {}
    for cell in step.cells.writes:
        counts[cell.node] = counts.get(cell.node, 0) + 1
    texts = [f"{count} cell{'s' if count > 1 else ''} of {derivative(graph, graph.label(node))}"
             for node, count in counts.items()]
    return f" · final: {', '.join(texts)}" if texts else ""


def closing(graph: Graph, step: Step) -> str:
    """The gate's last window step: what the sums add up to, the cells no window reads, and who
    shows the total of an input that feeds several gates."""
    if not is_last(graph, step):
        return ""
    n, texts = step.gate, []
    x = graph.args[n][0]
    if graph[n]["op"] in CONVS:
        k = graph.args[n][1]
        texts.append(f"{derivative(graph, graph.label(k))} is the sum over every position of d·window "
                     f"(copy adds); {derivative(graph, graph.label(x))} is every d sent back through the "
                     f"kernel: the full convolution of d with the flipped kernel")
    if graph[n]["op"] == "conv2d_bias":
        texts.append(f"{derivative(graph, graph.label(graph.args[n][2]))} is the sum of d over each filter's "
                     f"positions")
    added = {c for c, _ in step.grads}
    unread = [c for c in step.cells.writes if c not in added]
    if unread:
        texts.append(f"the {len(unread)} cell{'s' if len(unread) > 1 else ''} of "
                     f"{', '.join(dict.fromkeys(graph.label(c.node) for c in unread))} no window reads get 0")
    shared = [graph.label(u) for u in dict.fromkeys(graph.args[n])
              if has_gradient(graph, u) and len(graph.users[u]) > 1]
    if shared:
        texts.append(f"{', '.join(shared)} feed{'s' if len(shared) == 1 else ''} several gates: "
                     f"the total shows when all have sent theirs")
    return (" · " + "; ".join(texts)) if texts else ""


def is_last(graph: Graph, step: Step) -> bool:
    """Whether this is the gate's last window step: its last output cell is the output's last."""
    shape = np.shape(graph[step.gate]["value"])
    return step.cells.at[-1] == tuple(s - 1 for s in shape)


def max_backward(graph: Graph, step: Step) -> str:
    n, x = step.gate, graph.args[step.gate][0]
    texts = []
    for k, (cell, d, (_, route), numbers) in enumerate(zip(step.cells.at, step.output, step.local, step.inputs)):
        if k >= WRITTEN_OUT:
            texts.append(f"{entry(graph, n, cell)}'s {fmt_number(d)} to {entry(graph, x, route)}")
            continue
        window = region(graph, x, window_of(step, cell))
        top = fmt_number(max(numbers)) if not any(np.isnan(numbers)) else "nan"
        texts.append(f"{entry(graph, n, cell)}'s d = {fmt_number(d)} goes to its window's max "
                     f"{entry(graph, x, route)} = {top}, the other {len(numbers) - 1} cells of {window} get 0")
    return "backward · max pool routes: " + "; ".join(texts) + overlap(graph, step) + closing(graph, step)


def avg_backward(graph: Graph, step: Step) -> str:
    n, x = step.gate, graph.args[step.gate][0]
    texts = []
    for k, (cell, d, numbers) in enumerate(zip(step.cells.at, step.output, step.inputs)):
        share = fmt_number(cleaned(d / len(numbers), d))
        if k >= WRITTEN_OUT:
            texts.append(f"{entry(graph, n, cell)}'s {fmt_number(d)}: {share} each")
            continue
        window = region(graph, x, window_of(step, cell))
        texts.append(f"{entry(graph, n, cell)}'s d = {fmt_number(d)} is shared by the {len(numbers)} cells "
                     f"of {window}: each gets {fmt_number(d)}/{len(numbers)} = {share}")
    return "backward · average pool distributes: " + "; ".join(texts) + overlap(graph, step) + closing(graph, step)


def overlap(graph: Graph, step: Step) -> str:
    """Overlapping windows (stride < size): this step's cells whose gradient gathers several shares,
    with their totals so far (final: nothing more adds to them)."""
    size, stride = pool_p(graph[step.gate]["p"])
    if stride >= size:
        return ""
    x = graph.args[step.gate][0]
    final = set(step.cells.writes)
    shown = [f"{entry(graph, x, c.index)} = {fmt_number(v)}{' (final)' if c in final else ''}"
             for c, v in step.grads if c.node == x and v != 0]
    if not shown:
        return ""
    return f" · {derivative(graph, graph.label(x))} so far: " + ", ".join(shown[:4]) + (", …" if len(shown) > 4 else "")
