"""Convolutional layers in a spec (conv2d, maxpool, avgpool, flatten): their keys checked, their
kernels made, and the shape of each observation through them. Plain data and checks, imported by
spec.py and summary.py; network/build.py draws each layer as one gate (ops/conv.py computes it).

Images (docs/networks.md): X is one image H×W or C×H×W, or a batch N×C×H×W, held as N×C×H×W.
A conv2d layer is numbered as a linear layer (the k-th linear, recurrent or conv2d layer): it learns
`Kk` (F×C×kh×kw) and `bk` (F entries), and its output is `Hk`, N×F×H'×W'; a pool's output is `Pk`,
flatten's `Fk` (k: the layer that counts before it), N×(C·H·W): a row per observation."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..numfmt import shape_text
from ..ops.conv import ROWS, Conv, Pool, conv_parameters, conv_shape, pool_parameters, pool_shape
from .checks import (INITS, MAX_ENTRIES, Place, bias_vector, brief, check_keys, choice, count_text, fill,
                     init_options, need, nested, over_budget, whole)


@dataclass(frozen=True)
class SpatialRule:
    letter: str              # its output: Hk (conv2d), Pk (a pool), Fk (flatten)
    op: str                  # the layer view's gate
    keys: tuple[str, ...]    # spec keys besides type
    counts: bool = False     # takes a new k, as a linear layer does


CONV_KEYS = ("filters", "kernel", "stride", "padding", "K", "b", "bias", "init", "seed",
             "value", "low", "high", "mean", "std")
POOL_KEYS = ("size", "stride")

SPATIAL = {
    "conv2d": SpatialRule("H", "conv2d", CONV_KEYS, counts=True),
    "maxpool": SpatialRule("P", "maxpool", POOL_KEYS),
    "avgpool": SpatialRule("P", "avgpool", POOL_KEYS),
    "flatten": SpatialRule("F", "flatten", ()),
}
IMAGE_FIRST = ("conv2d", "maxpool", "avgpool")      # a 2-D X before one of these is one H×W image
DENSE = ("linear", "rnn", "lstm", "gru")            # layers that take rows: a flatten must come first


# ---- X as images --------------------------------------------------------------------------------

def reads_images(tables) -> bool:
    """Whether the first layer that is not an activation takes images (conv2d or a pool)."""
    for table in tables if isinstance(tables, list) else []:
        kind = table.get("type") if isinstance(table, dict) else None
        if kind in IMAGE_FIRST:
            return True
        if kind in DENSE or kind == "flatten":
            return False
    return False


def as_batch(X: np.ndarray, images: bool, place: Place) -> np.ndarray:
    """X as the layers take it: rows n×d, or images N×C×H×W (from H×W, C×H×W or N×C×H×W)."""
    if X.ndim == 2 and not images:
        return X
    if X.ndim in (2, 3, 4) and (images or X.ndim > 2):
        return X.reshape((1,) * (4 - X.ndim) + X.shape)
    raise place.error("X", f"must be rows n×d, or images H×W, C×H×W or N×C×H×W; got {shape_text(X.shape)}",
                      hint="rows are observations: X = [[1], [2]] is two observations of one feature")


def input_shape(doc: dict, top: Place) -> tuple[int, ...]:
    """One observation's shape from the spec's top-level input_shape: [C, H, W]; [H, W] before a
    conv or pool (one channel); else [features], or [T, features] (a sequence of T steps)."""
    value = doc["input_shape"]
    if not (isinstance(value, list) and 1 <= len(value) <= 3):
        raise top.error("input_shape", f"must be [C, H, W], [features] or [T, features], got {brief(value)}")
    shape = tuple(whole(v, top, "input_shape", 1) for v in value)
    return (1, *shape) if len(shape) == 2 and reads_images(doc.get("layer")) else shape


# ---- the layers ----------------------------------------------------------------------------------

def parse_spatial(table, kind, k, in_shape, current, seed, place, budget=(0, None)):
    """A conv2d, pool or flatten layer: its Layer's fields (width, bias, options, shape) and the
    parameters it learns (Kk, bk). in_shape: an observation's shape before it."""
    fields, K = spatial_fields(table, kind, k, in_shape, current, place)
    if kind != "conv2d":
        return fields, {}
    options = dict(fields["options"])
    sizes = (options["filters"], in_shape[0], *options["kernel"])
    if K is None:
        K = filled(table, k, sizes, seed, place, budget)
    b = conv_bias(table, k, sizes[0], place)
    return fields, {f"K{k}": K} | ({} if b is None else {f"b{k}": b})


def spatial_fields(table, kind, k, in_shape, current, place) -> tuple[dict, np.ndarray | None]:
    """A conv2d, pool or flatten layer's sizes, checked, without its weights: the Layer's options,
    shape and bias, and Kk where the spec writes it (--summary reads no more than this)."""
    check_keys(table, ("type", *SPATIAL[kind].keys), place)
    if kind == "flatten":
        return {"options": (), "shape": (math.prod(in_shape),)}, None
    channels = spatial_input(in_shape, kind, current, place)[0]
    if kind != "conv2d":
        p = pool_geometry(table, place)
        shape = fitted(lambda: pool_shape([in_shape], p), place, "size", f"the window of {kind}", in_shape, current)
        return {"options": (("size", p.size), ("stride", p.stride)), "shape": shape}, None
    K, sizes = kernel(table, k, channels, place, in_shape)
    p = conv_geometry(table, place)
    key = "K" if "K" in table else "kernel"
    shape = fitted(lambda: conv_shape([in_shape, sizes], p), place, key, f"K{k} ({shape_text(sizes)})",
                   in_shape, current)
    options = (("filters", sizes[0]), ("kernel", tuple(sizes[2:])), ("stride", p.stride), ("padding", p.padding))
    return {"options": options, "shape": shape, "bias": has_bias(table, k, sizes[0], place)}, K


def spatial_input(in_shape, kind, current, place) -> tuple[int, int, int]:
    if len(in_shape) != 3:
        raise place.error("type", f"{kind} slides over images, but its input {current} is a row of "
                                  f"{in_shape[-1]} per observation",
                          hint="conv2d and pooling come before flatten; [data] X holds images H×W, C×H×W or "
                               "N×C×H×W")
    return in_shape


def fitted(rule, place, key, what, in_shape, current) -> tuple[int, ...]:
    """The output shape by the op's own rule; its refusal (numbers named) as the spec's error."""
    try:
        return tuple(int(v) for v in rule())
    except ValueError as exc:
        raise place.error(key, f"{what} on its input {current} ({shape_text(in_shape)} per observation): {exc}",
                          hint="H' = ⌊(H + 2·padding − kernel)/stride⌋ + 1 must be at least 1") from None


def geometry_value(table, key, default, place, check) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise place.error(key, f"must be a whole number, got {brief(value)}")
    try:
        return check(value)
    except ValueError as exc:
        raise place.error(key, str(exc)) from None


def conv_geometry(table, place) -> Conv:
    """stride and padding, checked as conv2d(…, stride=, padding=) checks them in a formula."""
    stride = geometry_value(table, "stride", 1, place, lambda s: conv_parameters(stride=s).stride)
    return Conv(stride, geometry_value(table, "padding", 0, place, lambda p: conv_parameters(padding=p).padding))


def pool_geometry(table, place) -> Pool:
    size = geometry_value(table, "size", 2, place, lambda s: whole(s, place, "size", 1))
    return Pool(size, geometry_value(table, "stride", size, place,
                                     lambda s: pool_parameters(size=size, stride=s).stride))


def kernel_sizes(table, k, channels, place) -> tuple[int, int, int, int]:
    """F×C×kh×kw from filters and kernel (a number or [kh, kw]); C is the input's channels."""
    filters = whole(need(table, "filters", place, f"the number of filters of K{k} (or give K)"),
                    place, "filters", 1)
    size = need(table, "kernel", place, "the kernel's size, kernel = 3 or [kh, kw] (or give K)")
    sizes = size if isinstance(size, list) else [size, size]
    if len(sizes) != 2:
        raise place.error("kernel", f"must be a number or [kh, kw], got {brief(size)}")
    kh, kw = (whole(v, place, "kernel", 1) for v in sizes)
    return filters, channels, kh, kw


def kernel(table, k, channels, place, in_shape):
    """Kk as written (F×C×kh×kw, or kh×kw: one filter of one channel), or only its sizes (filled
    once the output's shape is known to fit): (K or None, its shape)."""
    if "K" not in table:
        return None, kernel_sizes(table, k, channels, place)
    for key in ("filters", "kernel", "init", "value", "low", "high", "mean", "std"):
        if key in table:
            raise place.error(key, f"give K{k}, or filters and kernel with init, not both")
    K = nested(table["K"], place, "K")
    if K.ndim == 2:
        K = K[None, None]
    if K.ndim != 4:
        raise place.error("K", f"K{k} is {shape_text(K.shape)}: a kernel is F×C×kh×kw (F filters of C "
                               f"channels), or kh×kw for one filter on one channel")
    if K.shape[1] != channels:
        raise place.error("K", f"K{k} is {shape_text(K.shape)}: filters of {K.shape[1]} channel"
                               f"{'s' if K.shape[1] != 1 else ''}, but its input has {channels} "
                               f"({shape_text(in_shape)} per observation)",
                          hint="K is F×C×kh×kw, C the channels of the layer's input")
    return K, K.shape


def filled(table, k, sizes, seed, place, budget) -> np.ndarray:
    """Kk filled by its init, its size checked first (xavier and he with PyTorch's fans)."""
    count = math.prod(sizes)
    if count > MAX_ENTRIES:
        raise place.error("filters", f"K{k} would hold {count_text(count)} numbers: more than the limit "
                                     f"of {MAX_ENTRIES:,}")
    held, limit = budget
    if limit is not None and held + count > limit:
        raise over_budget(place, held + count, limit)
    init = choice(need(table, "init", place, f"how to fill K{k}: {', '.join(INITS)}"), INITS, place, "init", "init")
    options = init_options(table, init, place)
    rng = np.random.default_rng(whole(table["seed"], place, "seed", 0) if "seed" in table else [seed, k])
    F, C, kh, kw = sizes
    return fill(init, sizes, rng, options, fans=(C * kh * kw, F * kh * kw))


def has_bias(table, k, filters, place) -> bool:
    """Whether the layer has bk, its b checked (one per filter) without making it."""
    if "b" in table:
        conv_bias(table, k, filters, place)
    return "b" in table or table.get("bias", False) is not False


def conv_bias(table, k, filters, place) -> np.ndarray | None:
    """bk, one per filter: b = [...], or bias = true (zeros) / a number; none by default."""
    return bias_vector(table, "b", filters, place, lambda shape: f"b{k} is {shape_text(shape)} but K{k} has "
                       f"{filters} filter{'s' if filters > 1 else ''}: b{k} needs one entry per filter")


def dense_input(in_shape, kind, current, place) -> None:
    """Layers that take rows refuse images: a flatten is missing."""
    if len(in_shape) == 3:
        raise place.error("type", f"{kind} takes rows, but its input {current} holds images, "
                                  f"{shape_text(in_shape)} per observation",
                          hint='add [[layer]] type = "flatten" before it (a row of C·H·W per observation)')


def neuron_layer_input(in_shape, kind, current, place) -> None:
    """prelu, batchnorm, dropout and softmax act on rows (one entry per neuron): after flatten."""
    if len(in_shape) == 3:
        raise place.error("type", f"{kind} acts on rows of neurons, but its input {current} holds feature "
                                  f"maps, {shape_text(in_shape)} per observation",
                          hint="put it after flatten")


def layer_p(kind: str, options: dict):
    """What the layer's gate takes as its parameter: Conv(stride, padding), Pool(size, stride), ROWS."""
    if kind == "conv2d":
        return Conv(options["stride"], options["padding"])
    if kind == "flatten":
        return ROWS
    return Pool(options["size"], options["stride"])
