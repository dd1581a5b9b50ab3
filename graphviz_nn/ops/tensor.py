"""Ops over whole vectors and matrices: reductions."""
from __future__ import annotations

import numpy as np

from .core import ADD, LOCAL, MAX, call, const, register, unbroadcast


def route(pick):
    """max/min: the first input holding the extreme value gets the whole gradient."""
    def vjp(g, out, xs, p):
        if len(xs) == 1:
            flat = np.zeros(np.size(xs[0]))
            if flat.size:
                flat[pick(np.ravel(xs[0]))] = 1.0
            return (g * flat.reshape(np.shape(xs[0])),)
        taken = np.zeros(np.shape(out), dtype=bool)
        grads = []
        for x in xs:
            mine = np.broadcast_to(x == out, np.shape(out)) & ~taken
            taken |= mine
            grads.append(unbroadcast(g * mine, np.shape(x)))
        return tuple(grads)
    return vjp


def extreme(reduce_all, pairwise):
    def forward(xs, p):
        if len(xs) == 1:
            return reduce_all(xs[0])
        result = xs[0]
        for x in xs[1:]:
            result = pairwise(result, x)
        return result
    return forward


def scalar_shape(shapes, p):
    return ()


def extreme_shape(shapes, p):
    """max(x): a number; max(x, y, …): the arguments broadcast."""
    return () if len(shapes) == 1 else np.broadcast_shapes(*shapes)


def tie(out, xs, p) -> bool:
    """max/min of several arguments: two of them hold the extreme value (one argument: two entries do)."""
    if len(xs) == 1:
        return bool(np.sum(np.equal(xs[0], out)) > 1)
    holders = sum(np.broadcast_to(np.equal(x, out), np.shape(out)).astype(int) for x in xs)
    return bool(np.any(holders > 1))


register(name="max", gate=MAX, arity=None, verb="max routes",
         forward=extreme(np.max, np.maximum), vjp=route(np.argmax), shape=extreme_shape,
         kink=tie, convention="a tie's gradient goes to the first argument",
         symbol=const("max"), text=call("max"), local_text=lambda a, o, p: [f"[{n} = {o}]" for n in a])
register(name="min", gate=MAX, arity=None, verb="min routes",
         forward=extreme(np.min, np.minimum), vjp=route(np.argmin), shape=extreme_shape,
         kink=tie, convention="a tie's gradient goes to the first argument",
         symbol=const("min"), text=call("min"), local_text=lambda a, o, p: [f"[{n} = {o}]" for n in a])
register(name="sum", gate=ADD, verb="sum distributes",
         forward=lambda xs, p: np.sum(xs[0]), shape=scalar_shape,
         vjp=lambda g, o, xs, p: (np.broadcast_to(g, np.shape(xs[0])) * 1.0,),
         symbol=const("Σ"), text=call("sum"), local_text=lambda a, o, p: ["1"])
register(name="mean", gate=LOCAL, verb="mean distributes 1/n",
         forward=lambda xs, p: np.sum(xs[0]) / np.size(xs[0]), shape=scalar_shape,   # empty: nan
         vjp=lambda g, o, xs, p: (np.broadcast_to(g / max(np.size(xs[0]), 1), np.shape(xs[0])) * 1.0,),
         symbol=const("mean"), text=call("mean"), local_text=lambda a, o, p: ["1/n"])
