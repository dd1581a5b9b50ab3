"""Activation functions: σ, tanh, relu and its relatives, the smooth ones (softplus, swish, mish,
elu, gelu), softmax. The numbers are PyTorch's (torch.nn.functional of the same name)."""
from __future__ import annotations

import math

import numpy as np

from ..numfmt import shape_text
from .core import DIES, LOCAL, MAX, SATURATES, at_zero, call, const, num, one_per_column, register, unary

LEAK = 0.01           # leaky_relu's slope below 0 when none is given (PyTorch's)
SOFTPLUS_LINEAR = 20  # above it softplus(x) is x (PyTorch's threshold, beta = 1)
erf = np.vectorize(math.erf, otypes=[float])       # numpy has no erf, and scipy is not a dependency


def sigmoid(x):
    """1/(1 + e⁻ˣ) as PyTorch computes it: no overflow, and e^x/(1 + e^x) below 0, where
    1 − (something near 1) would lose the digits (σ(−40) = 4e-18, not 0)."""
    e = np.exp(-np.abs(x))
    if np.ndim(x) == 0:             # the scalar loops: a Python branch is cheaper than np.where
        return (1.0 if x >= 0 else e) / (1.0 + e)
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def expand_sigmoid(emit, args, p):
    """σ(x) = 1 / (1 + exp(−x)), as CS231n draws it."""
    x = args[0]
    return emit("rdiv", [emit("shift", [emit("exp", [emit("scale", [x], -1.0)])], 1.0)], 1.0)


def leak(p):
    return LEAK if p is None else p


def softplus(x):
    """log(1 + eˣ), computed as PyTorch does: x itself above the threshold, log1p below."""
    return np.where(x > SOFTPLUS_LINEAR, x, np.log1p(np.exp(np.minimum(x, SOFTPLUS_LINEAR))))


def swish_slope(x):
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


def mish_slope(x):
    t = np.tanh(softplus(x))
    return t + x * sigmoid(x) * (1.0 - t * t)


def gelu(x):
    return 0.5 * x * (1.0 + erf(x * math.sqrt(0.5)))


def gelu_slope(x):
    """Φ(x) + x·φ(x): the normal distribution's CDF and density."""
    return 0.5 * (1.0 + erf(x * math.sqrt(0.5))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def prelu_shape(shapes, p):
    """x's shape; a is a number or one slope per column of x (PyTorch's PReLU weight)."""
    x, a = shapes
    columns = x[-1] if x else 1
    if not one_per_column(a, columns) or len(a) > len(x):
        wanted = "a number" if not x else f"a number or {columns} slopes, one per column of x"
        raise ValueError(f"prelu's a must be {wanted}; it is {shape_text(a)} and x is {shape_text(x)}")
    return x


def prelu_forward(xs, p):
    x, a = xs
    prelu_shape([np.shape(x), np.shape(a)], p)
    return np.where(x > 0, x, a * x)


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
# p: the slope below 0 (None: LEAK); network specs give it as `slope`, formulas as leaky_relu(x, 0.2)
register(name="leaky_relu", gate=LOCAL, verb="leaky relu: slope 1 above 0, the leak below",
         forward=lambda xs, p: np.where(xs[0] > 0, xs[0], leak(p) * xs[0]),
         derivatives=(lambda o, xs, p: np.where(xs[0] > 0, 1.0, leak(p)),),
         parameters=lambda slope=LEAK: float(slope),
         kink=at_zero, convention="leaky_relu'(0) = the leak",
         symbol=const("lrelu"), text=lambda a, p: f"leaky_relu({a[0]}, {num(leak(p))})",
         local_text=lambda a, o, p: [f"([{a[0]} > 0] + {num(leak(p))}·[{a[0]} ≤ 0])"])
register(name="prelu", gate=LOCAL, arity=2, verb="prelu: slope 1 above 0, a below",
         forward=prelu_forward, shape=prelu_shape,
         derivatives=(lambda o, xs, p: np.where(xs[0] > 0, 1.0, xs[1]),
                      lambda o, xs, p: np.where(xs[0] > 0, 0.0, xs[0])),
         kink=at_zero, convention="prelu'(0) = a, as PyTorch",
         symbol=const("prelu"), text=call("prelu"),
         local_text=lambda a, o, p: [f"([{a[0]} > 0] + {a[1]}·[{a[0]} ≤ 0])", f"{a[0]}·[{a[0]} ≤ 0]"])
# Smooth relatives of relu. softplus and elu flatten out far below 0 (their slope tends to 0 there);
# swish, mish and gelu too, but their slope is also negative just below 0, which the saturation
# diagnostic (a slope below 1e-3) would report, so they do not claim it.
unary("softplus", softplus, lambda o, xs, p: np.where(xs[0] > SOFTPLUS_LINEAR, 1.0, sigmoid(xs[0])),
      lambda a, o, p: [f"σ({a[0]})"], trouble=SATURATES)
unary("swish", lambda x: x * sigmoid(x), lambda o, xs, p: swish_slope(xs[0]),
      lambda a, o, p: [f"σ({a[0]})·(1 + {a[0]}·(1 − σ({a[0]})))"])
unary("mish", lambda x: x * np.tanh(softplus(x)), lambda o, xs, p: mish_slope(xs[0]),
      lambda a, o, p: [f"(tanh(softplus({a[0]})) + {a[0]}·σ({a[0]})·sech²(softplus({a[0]})))"])
unary("elu", lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
      lambda o, xs, p: np.where(xs[0] > 0, 1.0, np.exp(np.minimum(xs[0], 0))),
      lambda a, o, p: [f"([{a[0]} > 0] + e^{a[0]}·[{a[0]} ≤ 0])"], trouble=SATURATES)
unary("gelu", gelu, lambda o, xs, p: gelu_slope(xs[0]), lambda a, o, p: [f"(Φ({a[0]}) + {a[0]}·φ({a[0]}))"])
register(name="softmax", gate=LOCAL, verb="softmax",
         forward=softmax_forward, vjp=softmax_vjp,
         symbol=const("softmax"), text=call("softmax"), local_text=lambda a, o, p: [f"{o}·(δ − {o}ᵀ)"])
