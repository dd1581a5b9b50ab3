"""Convolution, pooling and flatten (sheet 6): the ops of a convolutional net, their shape rules,
costs, and the windows each output cell reads (for drawing the grids).

Conventions (DESIGN.md): a convolution is a cross-correlation — the kernel is not flipped, as in
deep learning; H' = ⌊(H + 2·padding − kh)/stride⌋ + 1, zero padding; pooling drops partial
windows; flatten gives a 1×N row, row-major. conv2d works on a batch N×C×H×W (a 2-D image is the
batch of one image with one channel), one matrix product per block of windows unrolled (im2col, a
bounded number at a time); the pools loop over the window's size² offsets, each a whole-array
operation. numpy only: no framework at run time."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..numfmt import shape_text
from .core import ADD, MATMUL, MAX, const, register
from .tensor import described


class Conv(NamedTuple):
    """conv2d's parameter: how far the kernel moves, and the rings of zeros around the input."""
    stride: int = 1
    padding: int = 0


class Pool(NamedTuple):
    """maxpool's and avgpool's parameter: a size×size window, moved by stride."""
    size: int = 2
    stride: int = 2


UNROLLED = 2**21     # numbers of the windows unrolled at once by conv2d (16 MB): memory stays bounded
ROWS = "rows"        # flatten's parameter in network specs: N×(C·H·W), one row per observation


class SameAsSize:
    """The default of a pool's stride: the window's size (shown as `stride=size` in hints)."""
    def __repr__(self):
        return "size"


SAME = SameAsSize()


# ---- parameters, checked where they are given and again by every rule ------------------------

def whole(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"the {name} is a whole number, not {value!r}")
    return int(value)


def checked_stride(stride, moved: str) -> int:
    stride = whole(stride, "stride")
    if stride == 0:
        raise ValueError(f"a stride of 0 would never move the {moved}: the stride is at least 1")
    if stride < 0:
        raise ValueError(f"a stride of {stride} would move the {moved} backwards: the stride is at least 1")
    return stride


def conv_parameters(*, stride=1, padding=0) -> Conv:
    padding = whole(padding, "padding")
    if padding < 0:
        raise ValueError(f"a padding of {padding} is negative: the padding is at least 0 (rings of zeros)")
    return Conv(checked_stride(stride, "kernel"), padding)


def pool_parameters(*, size=2, stride=SAME) -> Pool:
    size = whole(size, "size")
    if size < 1:
        raise ValueError(f"a pool window of size {size} has no entries: the size is at least 1")
    return Pool(size, size if stride is SAME else checked_stride(stride, "window"))


def conv_p(p) -> Conv:
    return conv_parameters() if p is None else conv_parameters(stride=p[0], padding=p[1])


def pool_p(p) -> Pool:
    return pool_parameters() if p is None else pool_parameters(size=p[0], stride=p[1])


def sliding(n: int, k: int, stride: int) -> int:
    """Positions of a window of k along n entries: ⌊(n − k)/stride⌋ + 1 (partial windows dropped)."""
    return (n - k) // stride + 1


# ---- conv2d: p = Conv(stride, padding) --------------------------------------------------------

X_FORMS = {2: "an H×W", 3: "a C×H×W", 4: "an N×C×H×W"}


def conv_shape(shapes, p) -> tuple:
    """H'×W', F×H'×W' or N×F×H'×W'; ValueError naming the numbers where X and K do not fit."""
    x, k = shapes
    stride, padding = conv_p(p)
    if len(x) not in X_FORMS:
        raise ValueError(f"conv2d's X is an image H×W, C×H×W (channels) or N×C×H×W (a batch); "
                         f"X is {described(x)}")
    wanted = 2 if len(x) == 2 else 4
    if len(k) != wanted:
        form = "a kh×kw kernel" if wanted == 2 else "F×C×kh×kw (F filters of C channels)"
        raise ValueError(f"with {X_FORMS[len(x)]} X, K is {form}; K is {described(k)}")
    if len(x) > 2 and k[1] != x[-3]:
        raise ValueError(f"K has {channels(k[1])}, X has {x[-3]}")
    if 0 in k:
        raise ValueError(f"a {shape_text(k)} kernel has no entries")
    kh, kw = k[-2:]
    h, w = x[-2] + 2 * padding, x[-1] + 2 * padding
    if kh > h or kw > w:
        raise ValueError(f"a {shape_text((kh, kw))} kernel does not fit a {shape_text(x[-2:])} input "
                         f"with padding {padding}")
    spatial = (sliding(h, kh, stride), sliding(w, kw, stride))
    return spatial if len(x) == 2 else x[:-3] + (k[0],) + spatial


def channels(n: int) -> str:
    return f"{n} channel{'' if n == 1 else 's'}"


def as_batch(x, k):
    """X as N×C×H×W and K as F×C×kh×kw."""
    x, k = np.asarray(x, dtype=float), np.asarray(k, dtype=float)
    if x.ndim == 2:
        return x[None, None], k[None, None]
    return (x[None] if x.ndim == 3 else x), k


def offsets(kh: int, kw: int, stride: int, rows: int, cols: int):
    """For each kernel cell (i, j), row-major: the slices of the (padded) input it multiplies."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, (Ellipsis, slice(i, i + stride * (rows - 1) + 1, stride),
                         slice(j, j + stride * (cols - 1) + 1, stride))


def padded(x, padding: int):
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))) if padding else x


def windows_view(xp, kh: int, kw: int, stride: int):
    """N×C×H'×W'×kh×kw: the window under each output cell, a view of the padded input (no copy)."""
    return sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def blocks(images: int, rows: int, per_row: int):
    """(images, output rows) slices whose windows, unrolled into one matrix for a product, hold
    about UNROLLED numbers at most (at least one row of one image); per_row: W'·C·kh·kw."""
    if images * per_row <= UNROLLED:
        step = UNROLLED // max(1, images * per_row)      # an empty batch or kernel: one block
        for r in range(0, rows, step):
            yield slice(0, images), slice(r, min(r + step, rows))
    else:
        step = max(1, UNROLLED // per_row)
        for n in range(0, images, step):
            for r in range(rows):
                yield slice(n, n + step), slice(r, r + 1)


def conv_forward(xs, p):
    """Y[n, f, h, w] = Σ_{c, i, j} Xpadded[n, c, s·h + i, s·w + j] · K[f, c, i, j]: one matrix
    product per block of windows (the windows unrolled, im2col)."""
    shape = conv_shape([np.shape(x) for x in xs], p)
    stride, padding = conv_p(p)
    x, k = as_batch(*xs)
    windows = windows_view(padded(x, padding), *k.shape[-2:], stride)
    n, rows, cols = x.shape[0], *shape[-2:]
    out = np.empty((n, k.shape[0], rows, cols))
    for images, band in blocks(n, rows, cols * k[0].size):
        block = np.tensordot(windows[images, :, band], k, axes=([1, 4, 5], [1, 2, 3]))   # n×h×w×F
        out[images, :, band] = block.transpose(0, 3, 1, 2)
    return out.reshape(shape)


def conv_vjp(g, out, xs, p):
    """∂L/∂K[f, c, i, j] = Σ over every position of d · the input cell the kernel cell met (the
    kernel is shared: the copy rule adds); ∂L/∂X: each d sent back through the kernel onto the
    cells it read — the full convolution of d with the flipped kernel."""
    stride, padding = conv_p(p)
    x, k = as_batch(*xs)
    xp = padded(x, padding)
    kh, kw = k.shape[-2:]
    windows = windows_view(xp, kh, kw, stride)
    n, rows, cols = x.shape[0], *np.shape(out)[-2:]
    g = np.reshape(np.asarray(g, dtype=float), (n, k.shape[0], rows, cols))
    dk, dxp = np.zeros(k.shape), np.zeros(xp.shape)
    for images, band in blocks(n, rows, cols * k[0].size):
        d = g[images, :, band]
        # windows first: a long product with few rows is what OpenBLAS threads worst (100× slower)
        dk += np.tensordot(windows[images, :, band], d, axes=([0, 2, 3], [0, 2, 3])).transpose(3, 0, 1, 2)
        sent = np.tensordot(d, k, axes=([1], [0]))                  # n×h×w×C×kh×kw: d times each kernel cell
        top = band.start * stride
        for i, j, cells in offsets(kh, kw, stride, band.stop - band.start, cols):
            moved = (images, slice(None), slice(top + cells[1].start, top + cells[1].stop, stride), cells[2])
            dxp[moved] += sent[..., i, j].transpose(0, 3, 1, 2)
    h, w = x.shape[-2:]
    dx = dxp[:, :, padding:padding + h, padding:padding + w]
    return dx.reshape(np.shape(xs[0])), dk.reshape(np.shape(xs[1]))


def conv_work(shapes, p) -> int:
    """Multiply-adds: every output entry sums kh·kw·C products."""
    x, k = shapes
    return int(np.prod(conv_shape(shapes, p))) * k[-2] * k[-1] * (x[-3] if len(x) > 2 else 1)


def conv_defaults(p) -> str:
    stride, padding = conv_p(p)
    return "".join([f", stride={stride}" if stride != 1 else "", f", padding={padding}" if padding else ""])


def conv_symbol(p) -> str:
    return "conv" + conv_defaults(p).replace(",", "")


def conv_local_text(a, o, p) -> list[str]:
    """∂/∂X: full(d ⋆ flip(K)), d spread out by the stride (d↑s), the padding cut off again;
    ∂/∂K: X (padded) ⋆ d (d↑s). ⋆ is the cross-correlation conv2d computes."""
    stride, padding = conv_p(p)
    d = "d" if stride == 1 else f"d↑{stride}"
    dx = f"full({d} ⋆ flip({a[1]}))"
    x = a[0] if not padding else f"pad({a[0]}, {padding})"
    return [dx if not padding else f"crop({dx}, {padding})", f"{x} ⋆ {d}"]


register(name="conv2d", gate=MATMUL, arity=2,
         verb="conv (the kernel is shared: its gradient adds up over every position)",
         forward=conv_forward, vjp=conv_vjp, shape=conv_shape, work=conv_work, parameters=conv_parameters,
         symbol=conv_symbol, text=lambda a, p: f"conv2d({a[0]}, {a[1]}{conv_defaults(p)})",
         local_text=conv_local_text)


# ---- maxpool and avgpool over the last two axes: p = Pool(size, stride) -----------------------

def pool_shape(shapes, p) -> tuple:
    """X's leading axes, then H'×W'; ValueError naming the numbers where the window does not fit."""
    (x,) = shapes
    size, stride = pool_p(p)
    if len(x) < 2:
        raise ValueError(f"pooling works on the last two axes of a matrix or an array; X is {described(x)}")
    if size > x[-2] or size > x[-1]:
        raise ValueError(f"a {size}×{size} window does not fit a {shape_text(x[-2:])} input")
    return x[:-2] + (sliding(x[-2], size, stride), sliding(x[-1], size, stride))


def pool_cells(x, p):
    """For each window offset (i, j), row-major: the slice of X holding that cell of every window."""
    size, stride = pool_p(p)
    rows, cols = np.shape(x)[-2:]
    return offsets(size, size, stride, sliding(rows, size, stride), sliding(cols, size, stride))


def window_max(x, p):
    """Each window's maximum, and the offset holding it: the first in row-major order on a tie,
    the first nan where there is one (as np.argmax and PyTorch take it)."""
    best = where = None
    for o, (i, j, cells) in enumerate(pool_cells(x, p)):
        cell = x[cells]
        if best is None:
            best, where = cell.copy(), np.zeros(cell.shape, dtype=int)
            continue
        wins = (cell > best) | (np.isnan(cell) & ~np.isnan(best))
        best, where = np.where(wins, cell, best), np.where(wins, o, where)
    return best, where


def maxpool_forward(xs, p):
    pool_shape([np.shape(xs[0])], p)
    return window_max(np.asarray(xs[0], dtype=float), p)[0]


def maxpool_vjp(g, out, xs, p):
    """Each window's d goes to its maximum (the first, on a tie); overlapping windows add."""
    x = np.asarray(xs[0], dtype=float)
    where = window_max(x, p)[1]
    dx = np.zeros(x.shape)
    for o, (i, j, cells) in enumerate(pool_cells(x, p)):
        dx[cells] += np.where(where == o, g, 0.0)
    return (dx,)


def maxpool_tie(out, xs, p) -> bool:
    """Two cells of one window hold its maximum: no derivative there."""
    x = np.asarray(xs[0], dtype=float)
    holders = sum((x[cells] == out).astype(int) for i, j, cells in pool_cells(x, p))
    return bool(np.any(holders > 1))


def avgpool_forward(xs, p):
    pool_shape([np.shape(xs[0])], p)
    x = np.asarray(xs[0], dtype=float)
    total = sum(x[cells] for i, j, cells in pool_cells(x, p))
    return total / pool_p(p).size ** 2


def avgpool_vjp(g, out, xs, p):
    """Each cell of a window gets 1/size² of the window's d; overlapping windows add."""
    x = np.asarray(xs[0], dtype=float)
    share = np.asarray(g, dtype=float) / pool_p(p).size ** 2
    dx = np.zeros(x.shape)
    for i, j, cells in pool_cells(x, p):
        dx[cells] += share
    return (dx,)


def pool_work(shapes, p) -> int:
    """One comparison or addition per cell of every window."""
    out = pool_shape(shapes, p)
    return max(int(np.prod(out)) * pool_p(p).size ** 2, int(np.prod(shapes[0])))


def pool_defaults(p) -> str:
    size, stride = pool_p(p)
    return "".join([f", size={size}" if size != 2 else "", f", stride={stride}" if stride != size else ""])


def pool_symbol(name: str):
    def symbol(p):
        size, stride = pool_p(p)
        return f"{name} {size}×{size}" + (f" stride={stride}" if stride != size else "")
    return symbol


register(name="maxpool", gate=MAX, verb="max pool routes",
         forward=maxpool_forward, vjp=maxpool_vjp, shape=pool_shape, work=pool_work,
         parameters=pool_parameters, kink=maxpool_tie,
         convention="a tie's gradient goes to the window's first maximum, in row-major order",
         symbol=pool_symbol("maxpool"), text=lambda a, p: f"maxpool({a[0]}{pool_defaults(p)})",
         local_text=lambda a, o, p: [f"[{a[0]} = its window's max]"])
register(name="avgpool", gate=ADD, verb="avg pool distributes 1/k²",
         forward=avgpool_forward, vjp=avgpool_vjp, shape=pool_shape, work=pool_work,
         parameters=pool_parameters,
         symbol=pool_symbol("avgpool"), text=lambda a, p: f"avgpool({a[0]}{pool_defaults(p)})",
         local_text=lambda a, o, p: [f"1/{pool_p(p).size ** 2}"])


# ---- flatten: p None (a 1×N row) or ROWS (N×(C·H·W), set by network specs) --------------------

def flatten_shape(shapes, p):
    (x,) = shapes
    if p == ROWS:
        if len(x) < 2:
            raise ValueError(f"flatten by rows keeps the first axis and needs two or more; X is {described(x)}")
        return (x[0], int(np.prod(x[1:])))
    if p is not None:
        raise ValueError(f"flatten's parameter is None (a 1×N row) or {ROWS!r}, not {p!r}")
    if not x:
        raise ValueError("flatten makes a row of an array's entries; X is a number")
    return (1, int(np.prod(x)))


def flatten_forward(xs, p):
    return np.array(xs[0], dtype=float).reshape(flatten_shape([np.shape(xs[0])], p))   # a copy


def flatten_vjp(g, out, xs, p):
    return (np.reshape(np.asarray(g, dtype=float), np.shape(xs[0])),)


register(name="flatten", gate=MAX, verb="flatten routes each d back to its entry",
         forward=flatten_forward, vjp=flatten_vjp, shape=flatten_shape,
         symbol=const("flatten"),
         text=lambda a, p: f"flatten({a[0]})" if p != ROWS else f"flatten({a[0]}) by rows",
         local_text=lambda a, o, p: ["d reshaped back"])


# ---- the windows, for drawing the grids ------------------------------------------------------

class ConvWindow(NamedTuple):
    cell: tuple          # the output cell: (h, w), (f, h, w) or (n, f, h, w)
    reads: tuple         # ((input cell, kernel cell), …), kernel row-major; padding cells left out


class PoolWindow(NamedTuple):
    cell: tuple          # the output cell: (…, h, w), the leading axes as X's
    reads: tuple         # (input cell, …), row-major in the window (a tie goes to the first max)


def conv_windows(x_shape: tuple, k_shape: tuple, p=None) -> list[ConvWindow]:
    """For each output cell of conv2d (row-major), the input cells it reads, each paired with the
    kernel cell it multiplies: Y[cell] = Σ X[x_cell]·K[k_cell] over `reads`. Index tuples have the
    ranks of X, K and Y; cells of the zero padding are left out. ValueError as conv2d's."""
    out = conv_shape([tuple(x_shape), tuple(k_shape)], p)
    stride, padding = conv_p(p)
    x_shape, k_shape = tuple(x_shape), tuple(k_shape)
    h, w = x_shape[-2:]
    kh, kw = k_shape[-2:]
    windows = []
    for cell in np.ndindex(*out):
        lead, (r, c) = cell[:-2], cell[-2:]
        n, f = ((), ()) if len(x_shape) == 2 else (lead[:-1], lead[-1:])
        chans = range(1) if len(x_shape) == 2 else range(x_shape[-3])
        reads = []
        for ch in chans:
            depth = () if len(x_shape) == 2 else (ch,)
            for i in range(kh):
                for j in range(kw):
                    row, col = stride * r + i - padding, stride * c + j - padding
                    if 0 <= row < h and 0 <= col < w:
                        reads.append((n + depth + (row, col), f + depth + (i, j)))
        windows.append(ConvWindow(cell, tuple(reads)))
    return windows


def pool_windows(x_shape: tuple, p=None) -> list[PoolWindow]:
    """For each output cell of maxpool/avgpool (row-major), the input cells of its window,
    row-major: maxpool's Y[cell] is their max, avgpool's their mean. ValueError as the pools'."""
    out = pool_shape([tuple(x_shape)], p)
    size, stride = pool_p(p)
    windows = []
    for cell in np.ndindex(*out):
        lead, (r, c) = cell[:-2], cell[-2:]
        reads = tuple(lead + (stride * r + i, stride * c + j) for i in range(size) for j in range(size))
        windows.append(PoolWindow(cell, reads))
    return windows
