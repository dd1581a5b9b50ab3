"""Ops over whole vectors and matrices: reductions (over everything or along an axis, numpy's
keepdims=False), indexing with integers and slices, and batch normalisation."""
from __future__ import annotations

import numpy as np

from ..numfmt import shape_text
from .core import ADD, LOCAL, MAX, call, const, one_per_column, register, unbroadcast

EPSILON = 1e-5        # batchnorm's ε (PyTorch's)


def described(shape: tuple) -> str:
    """A value of this shape as a student calls it: a number, a vector of 3, a 1×3 row, a 2×3 matrix."""
    if len(shape) == 2 and 1 in shape:
        return f"a {shape_text(shape)} {'row' if shape[0] == 1 else 'column'}"
    if len(shape) < 2:
        return f"a vector of {shape[0]}" if shape else "a number"
    return f"a {shape_text(shape)} {'matrix' if len(shape) == 2 else 'array'}"


# ---- reductions: p is the axis, None for all entries ----------------------------------------

def reduction_parameters(*, axis=None):
    return axis


def reduced_axis(shape: tuple, axis):
    """The axis counted from 0 (None stays None); ValueError where the input has no such axis."""
    if axis is None:
        return None
    if not shape:
        raise ValueError(f"axis={axis} needs a vector or a matrix; this is a number")
    if not -len(shape) <= axis < len(shape):
        n = len(shape)
        axes = "only axis 0 (or -1)" if n == 1 else f"axes 0 to {n - 1} (or -{n} to -1, from the end)"
        raise ValueError(f"axis={axis} is out of range: {described(shape)} has {axes}")
    return axis % len(shape)


def reduced_shape(shape: tuple, axis) -> tuple:
    axis = reduced_axis(shape, axis)
    return () if axis is None else shape[:axis] + shape[axis + 1:]


def one_input_shape(shapes, p):
    return reduced_shape(shapes[0], p)


def count(x, axis) -> int:
    """How many entries each result entry reduces."""
    return np.size(x) if axis is None else np.shape(x)[axis]


def spread(g, x, axis):
    """The upstream gradient of a reduction, copied back over the entries it reduced."""
    g = g if axis is None else np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(x)) * 1.0


def sum_forward(xs, p):
    return np.sum(xs[0], axis=reduced_axis(np.shape(xs[0]), p))


def sum_vjp(g, out, xs, p):
    return (spread(g, xs[0], reduced_axis(np.shape(xs[0]), p)),)


def mean_forward(xs, p):
    axis = reduced_axis(np.shape(xs[0]), p)
    return np.sum(xs[0], axis=axis) / count(xs[0], axis)      # empty: nan


def mean_vjp(g, out, xs, p):
    axis = reduced_axis(np.shape(xs[0]), p)
    return (spread(g / max(count(xs[0], axis), 1), xs[0], axis),)


def centred(x, axis):
    """x − its mean (np.mean would warn of an empty slice; this gives nan, quietly in the engine)."""
    return x - np.sum(x, axis=axis, keepdims=True) / count(x, axis)


def var_forward(xs, p):
    """The population variance (ddof = 0, numpy's default)."""
    axis = reduced_axis(np.shape(xs[0]), p)
    c = centred(xs[0], axis)
    return np.sum(c * c, axis=axis) / count(xs[0], axis)


def var_vjp(g, out, xs, p):
    """∂var/∂xᵢ = 2(xᵢ − mean)/n."""
    axis = reduced_axis(np.shape(xs[0]), p)
    return (spread(g, xs[0], axis) * 2.0 * centred(xs[0], axis) / max(count(xs[0], axis), 1),)


def reduction_text(name):
    return lambda a, p: f"{name}({', '.join(a)})" if p is None else f"{name}({', '.join(a)}, axis={p})"


def reduction_symbol(symbol):
    return lambda p: symbol if p is None else f"{symbol} axis={p}"


# ---- max and min: of one input's entries (along an axis), or entry by entry of several -------

def extreme_shape(shapes, p):
    """max(x): a number, or one per slice along the axis; max(x, y, …): the arguments broadcast."""
    if len(shapes) > 1:
        if p is not None:
            raise ValueError(f"axis= reduces one argument; with {len(shapes)} it compares them entry by entry")
        return np.broadcast_shapes(*shapes)
    shape, axis = shapes[0], reduced_axis(shapes[0], p)
    if (np.prod(shape) if axis is None else shape[axis]) == 0:
        raise ValueError(f"{described(shape)} has no entries to take the extreme of")
    return reduced_shape(shape, p)


def extreme(reduce, pairwise):
    def forward(xs, p):
        extreme_shape([np.shape(x) for x in xs], p)
        if len(xs) == 1:
            return reduce(xs[0], axis=reduced_axis(np.shape(xs[0]), p))
        result = xs[0]
        for x in xs[1:]:
            result = pairwise(result, x)
        return result
    return forward


def first_holder(x, axis, pick):
    """1 at the first entry holding the extreme (in each slice along the axis), 0 elsewhere."""
    x = np.asarray(x, dtype=float)
    mask = np.zeros(x.shape)
    if axis is None:
        mask.flat[pick(x)] = 1.0
    else:
        np.put_along_axis(mask, np.expand_dims(pick(x, axis=axis), axis), 1.0, axis)
    return mask


def route(pick):
    """max/min: the first input holding the extreme value gets the whole gradient."""
    def vjp(g, out, xs, p):
        if len(xs) == 1:
            axis = reduced_axis(np.shape(xs[0]), p)
            return (spread(g, xs[0], axis) * first_holder(xs[0], axis, pick),)
        taken = np.zeros(np.shape(out), dtype=bool)
        grads = []
        for x in xs:
            mine = np.broadcast_to(x == out, np.shape(out)) & ~taken
            taken |= mine
            grads.append(unbroadcast(g * mine, np.shape(x)))
        return tuple(grads)
    return vjp


def tie(out, xs, p) -> bool:
    """Two arguments hold the extreme value (one argument: two entries of a slice do)."""
    if len(xs) == 1:
        axis = reduced_axis(np.shape(xs[0]), p)
        holders = np.equal(xs[0], out if axis is None else np.expand_dims(out, axis))
        return bool(np.any(np.sum(holders, axis=axis) > 1))
    holders = sum(np.broadcast_to(np.equal(x, out), np.shape(out)).astype(int) for x in xs)
    return bool(np.any(holders > 1))


for _name, _reduce, _pairwise, _pick in (("max", np.max, np.maximum, np.argmax),
                                         ("min", np.min, np.minimum, np.argmin)):
    register(name=_name, gate=MAX, arity=None, verb=f"{_name} routes",
             forward=extreme(_reduce, _pairwise), vjp=route(_pick), shape=extreme_shape,
             parameters=reduction_parameters, kink=tie,
             convention="a tie's gradient goes to the first argument (the first entry)",
             symbol=reduction_symbol(_name), text=reduction_text(_name),
             local_text=lambda a, o, p: [f"[{n} = {o}]" for n in a])
register(name="sum", gate=ADD, verb="sum distributes",
         forward=sum_forward, vjp=sum_vjp, shape=one_input_shape, parameters=reduction_parameters,
         symbol=reduction_symbol("Σ"), text=reduction_text("sum"), local_text=lambda a, o, p: ["1"])
register(name="mean", gate=LOCAL, verb="mean distributes 1/n",
         forward=mean_forward, vjp=mean_vjp, shape=one_input_shape, parameters=reduction_parameters,
         symbol=reduction_symbol("mean"), text=reduction_text("mean"), local_text=lambda a, o, p: ["1/n"])
register(name="var", gate=LOCAL, verb="var: each entry gets d·2(x − mean)/n",
         forward=var_forward, vjp=var_vjp, shape=one_input_shape, parameters=reduction_parameters,
         symbol=reduction_symbol("var"), text=reduction_text("var"),
         local_text=lambda a, o, p: [f"2({a[0]} − mean)/n"])


# ---- indexing: p is the key, a tuple of ints and slices (numpy's basic indexing) ---------------

def key_text(key: tuple) -> str:
    """The key written back as Python: (1, slice(None), slice(0, 2)) -> "[1, :, 0:2]"."""
    return "[" + (", ".join(map(key_part, key)) if key else "()") + "]"


def key_part(part) -> str:
    if not isinstance(part, slice):
        return str(part)
    text = ":".join("" if b is None else str(b) for b in (part.start, part.stop))
    return text if part.step is None else f"{text}:{part.step}"


def index_shape(shapes, key):
    """The shape x[key] has, worked out from the key alone; ValueError where it does not fit."""
    shape = shapes[0]
    if len(key) > len(shape):
        what = "a number has no entries to index" if not shape else \
            f"{described(shape)} takes at most {len(shape)}"
        raise ValueError(f"{len(key)} ind{'ex' if len(key) == 1 else 'ices'}, but {what}")
    result = []
    for axis, (part, n) in enumerate(zip(key, shape)):
        if isinstance(part, slice):
            if part.step == 0:
                raise ValueError("a slice step cannot be 0")
            result.append(len(range(*part.indices(n))))
        elif not isinstance(part, (int, np.integer)) or isinstance(part, bool):
            raise ValueError(f"an index is a whole number or a slice, not {part!r}")
        elif not -n <= part < n:
            where = f" (axis {axis} has {n})" if len(shape) > 1 else ""
            raise ValueError(f"index {part} is out of range for {described(shape)}{where}")
    return tuple(result) + shape[len(key):]


def index_forward(xs, p):
    index_shape([np.shape(xs[0])], p)
    return np.array(np.asarray(xs[0], dtype=float)[p])       # a copy, as numpy's basic indexing is not


def index_vjp(g, out, xs, p):
    grad = np.zeros(np.shape(xs[0]))
    grad[p] = g              # basic indexing picks each entry once: no gradients to add up
    return (grad,)


register(name="index", gate=MAX, verb="indexing routes d to the entries it picked, 0 to the rest",
         forward=index_forward, vjp=index_vjp, shape=index_shape,
         symbol=key_text, text=lambda a, p: f"{a[0]}{key_text(p)}",
         local_text=lambda a, o, p: [f"δ{key_text(p)}"])


# ---- batch normalisation (PyTorch's training mode) ------------------------------------------

def batchnorm_shape(shapes, p):
    """X is n×m with n ≥ 2 (a batch); γ and β are numbers or one entry per column."""
    x, gamma, beta = shapes
    if len(x) != 2 or x[0] < 2:
        raise ValueError(f"batchnorm normalises each column of a matrix over its rows, and needs at "
                         f"least 2 rows; X is {described(x)}")
    for name, shape in (("γ", gamma), ("β", beta)):
        if not one_per_column(shape, x[1]):
            raise ValueError(f"batchnorm's {name} is a number or has one entry per column of X "
                             f"(a vector of {x[1]} or a 1×{x[1]} row); it is {shape_text(shape)}")
    return x


def normalised(x):
    """x̂ = (x − mean)/√(var + ε), column by column, and 1/√(var + ε)."""
    centred = x - np.mean(x, axis=0)
    inverse = 1.0 / np.sqrt(np.mean(centred * centred, axis=0) + EPSILON)
    return centred * inverse, inverse


def batchnorm_forward(xs, p):
    batchnorm_shape([np.shape(x) for x in xs], p)
    x, gamma, beta = xs
    return gamma * normalised(x)[0] + beta


def batchnorm_vjp(g, out, xs, p):
    """The mean and the variance depend on every row: dX = (d − mean(d) − x̂·mean(d·x̂))/√(var + ε),
    with d = upstream·γ."""
    x, gamma, beta = xs
    xhat, inverse = normalised(x)
    d = g * gamma
    dx = inverse * (d - np.mean(d, axis=0) - xhat * np.mean(d * xhat, axis=0))
    return dx, unbroadcast(g * xhat, np.shape(gamma)), unbroadcast(g, np.shape(beta))


def expand_batchnorm(emit, args, p):
    """The steps as lectures draw them: mean over rows, subtract, square, mean over rows, +ε,
    sqrt, divide, ×γ, +β."""
    x, gamma, beta = args
    centred = emit("sub", [x, emit("mean", [x], 0)])
    variance = emit("mean", [emit("powc", [centred], 2.0)], 0)
    xhat = emit("div", [centred, emit("sqrt", [emit("shift", [variance], EPSILON)])])
    return emit("add", [emit("mul", [xhat, gamma]), beta])


register(name="batchnorm", gate=LOCAL, arity=3, verb="batchnorm",
         forward=batchnorm_forward, vjp=batchnorm_vjp, shape=batchnorm_shape, expansion=expand_batchnorm,
         symbol=const("BN"), text=call("batchnorm"),
         local_text=lambda a, o, p: [f"{a[1]}·(d − mean(d) − x̂·mean(d·x̂))/√(var + ε)",
                                     "Σrows d·x̂", "Σrows d"])
