"""Activation functions: σ, tanh, relu and its relatives, softmax."""
from __future__ import annotations

import numpy as np

from .core import DIES, LOCAL, MAX, SATURATES, at_zero, call, const, num, register, unary


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # no overflow warning for large |x|


def expand_sigmoid(emit, args, p):
    """σ(x) = 1 / (1 + exp(−x)), as CS231n draws it."""
    x = args[0]
    return emit("rdiv", [emit("shift", [emit("exp", [emit("scale", [x], -1.0)])], 1.0)], 1.0)


def softmax_forward(xs, p):
    z = xs[0] - np.max(xs[0], axis=-1, keepdims=True) if np.ndim(xs[0]) else xs[0] * 0
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True) if np.ndim(e) else e


def softmax_vjp(g, out, xs, p):
    if np.ndim(out) == 0:
        return (g * 0.0,)
    return (out * (g - np.sum(g * out, axis=-1, keepdims=True)),)


unary("tanh", np.tanh, lambda o, xs, p: 1.0 - o ** 2, lambda a, o, p: [f"(1−{o}²)"],
      trouble=SATURATES)
unary("sigmoid", sigmoid, lambda o, xs, p: o * (1.0 - o), lambda a, o, p: [f"{o}*(1−{o})"],
      symbol=const("σ"), expansion=expand_sigmoid, verb="σ", trouble=SATURATES)
unary("relu", lambda x: np.maximum(x, 0.0), lambda o, xs, p: (xs[0] > 0) * 1.0,
      lambda a, o, p: [f"[{a[0]} > 0]"], gate=MAX, verb="relu routes", trouble=DIES,
      kink=at_zero, convention="relu'(0) = 0")
unary("step", lambda x: (x > 0) * 1.0, lambda o, xs, p: 0.0 * xs[0],
      lambda a, o, p: ["0"], verb="step passes no gradient (its derivative is 0)",
      kink=at_zero, convention="step'(0) = 0")
register(name="leaky_relu", gate=LOCAL, verb="leaky relu: slope 1 above 0, the leak below",
         forward=lambda xs, p: np.where(xs[0] > 0, xs[0], p * xs[0]),
         derivatives=(lambda o, xs, p: np.where(xs[0] > 0, 1.0, p),),
         kink=at_zero, convention="leaky_relu'(0) = the leak",
         symbol=const("lrelu"), text=lambda a, p: f"leaky_relu({a[0]}, {num(p)})",
         local_text=lambda a, o, p: [f"([{a[0]} > 0] + {num(p)}·[{a[0]} ≤ 0])"])
register(name="softmax", gate=LOCAL, verb="softmax",
         forward=softmax_forward, vjp=softmax_vjp,
         symbol=const("softmax"), text=call("softmax"), local_text=lambda a, o, p: [f"{o}·(δ − {o}ᵀ)"])
