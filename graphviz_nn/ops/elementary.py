"""Arithmetic, the gates carrying a literal (`**2`, `*3`, `+1`, `1/x`), the matrix product and
the elementary functions."""
from __future__ import annotations

import numpy as np

from ..numfmt import shape_text
from .core import ADD, LOCAL, MATMUL, MUL, at_zero, const, infix, num, register, unary


def times(p, name):
    """`2x` for one-letter names, `2·x1` otherwise."""
    return f"{num(p)}{name}" if len(name) == 1 else f"{num(p)}·{name}"


def signed(p):
    return f"+{num(p)}" if p >= 0 else f"−{num(-p)}"


def matmul_vjp(g, out, xs, p):
    a, b = xs
    a2 = a if a.ndim > 1 else a[None, :]
    b2 = b if b.ndim > 1 else b[:, None]
    g2 = np.reshape(g, (a2.shape[0], b2.shape[1]))
    return (g2 @ b2.T).reshape(a.shape), (a2.T @ g2).reshape(b.shape)


def matmul_forward(xs, p):
    a, b = xs
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise ValueError("@ multiplies vectors and matrices; use * for scalars")
    if a.shape[-1] != b.shape[0]:
        raise ValueError(f"@ needs matching inner sizes, got {shape_text(a.shape)} @ {shape_text(b.shape)}")
    return a @ b


def matmul_shape(shapes, p):
    """np.matmul's result shape for the vectors and matrices matmul_forward accepts."""
    a, b = shapes
    if len(a) not in (1, 2) or len(b) not in (1, 2) or a[-1] != b[0]:
        raise ValueError("@ needs matching inner sizes")
    return a[:-1] + b[1:]


def power_slope(x, y):
    """∂(x**y)/∂x = y·x**(y−1), and 0 where y = 0 (x**0 is constant, even at x = 0)."""
    return np.where(np.equal(y, 0), 0.0, y * np.power(x, np.subtract(y, 1)))


def times_log(out, base):
    """∂(base**y)/∂y = base**y · ln(base), and 0 where base**y = 0 (0**y is flat for y > 0)."""
    return np.where(np.equal(out, 0), 0.0, out * np.log(base))


register(name="add", gate=ADD, arity=2, verb="add distributes",
         forward=lambda xs, p: xs[0] + xs[1],
         derivatives=(lambda o, xs, p: 1.0, lambda o, xs, p: 1.0),
         symbol=const("+"), text=infix("+"), local_text=lambda a, o, p: ["1", "1"])
register(name="sub", gate=ADD, arity=2, verb="sub distributes, flipping the sign of the second input",
         forward=lambda xs, p: xs[0] - xs[1],
         derivatives=(lambda o, xs, p: 1.0, lambda o, xs, p: -1.0),
         symbol=const("−"), text=infix("-"), local_text=lambda a, o, p: ["1", "−1"])
register(name="mul", gate=MUL, arity=2, verb="mul swaps",
         forward=lambda xs, p: xs[0] * xs[1],
         derivatives=(lambda o, xs, p: xs[1], lambda o, xs, p: xs[0]),
         symbol=const("×"), text=infix("*"), local_text=lambda a, o, p: [a[1], a[0]])
register(name="div", gate=LOCAL, arity=2,
         forward=lambda xs, p: xs[0] / xs[1],
         derivatives=(lambda o, xs, p: 1.0 / xs[1], lambda o, xs, p: -xs[0] / xs[1] ** 2),
         symbol=const("÷"), text=infix("/"), local_text=lambda a, o, p: [f"1/{a[1]}", f"−{a[0]}/{a[1]}²"])
register(name="pow", gate=LOCAL, arity=2,
         forward=lambda xs, p: xs[0] ** xs[1],
         derivatives=(lambda o, xs, p: power_slope(xs[0], xs[1]), lambda o, xs, p: times_log(o, xs[0])),
         symbol=const("**"), text=infix("**"),
         local_text=lambda a, o, p: [f"{a[1]}·{a[0]}^({a[1]}−1)", f"{o}·ln {a[0]}"])
register(name="matmul", gate=MATMUL, arity=2, verb="matmul",
         forward=matmul_forward, vjp=matmul_vjp, shape=matmul_shape,
         symbol=const("@"), text=infix("@"), local_text=lambda a, o, p: [f"d·{a[1]}ᵀ", f"{a[0]}ᵀ·d"])

# Unary gates that carry a literal constant p (DESIGN.md: `**2`, `*3`, `+1`, `1/x`).
register(name="scale", gate=LOCAL,
         forward=lambda xs, p: xs[0] * p, derivatives=(lambda o, xs, p: p,),
         symbol=lambda p: f"*{num(p)}".replace("-", "−"),
         text=lambda a, p: f"-{a[0]}" if p == -1 else f"{a[0]} * {num(p)}",
         local_text=lambda a, o, p: [num(p)])
register(name="shift", gate=ADD, verb="add distributes",
         forward=lambda xs, p: xs[0] + p, derivatives=(lambda o, xs, p: 1.0,),
         symbol=signed, text=lambda a, p: f"{a[0]} + {num(p)}" if p >= 0 else f"{a[0]} - {num(-p)}",
         local_text=lambda a, o, p: ["1"])
register(name="rsub", gate=ADD,
         forward=lambda xs, p: p - xs[0], derivatives=(lambda o, xs, p: -1.0,),
         symbol=lambda p: f"{num(p)}−", text=lambda a, p: f"{num(p)} - {a[0]}",
         local_text=lambda a, o, p: ["−1"])
register(name="divc", gate=LOCAL,
         forward=lambda xs, p: xs[0] / p, derivatives=(lambda o, xs, p: np.divide(1.0, p),),
         symbol=lambda p: f"/{num(p)}", text=lambda a, p: f"{a[0]} / {num(p)}",
         local_text=lambda a, o, p: [f"1/{num(p)}"])
register(name="rdiv", gate=LOCAL,
         forward=lambda xs, p: p / xs[0], derivatives=(lambda o, xs, p: -p / xs[0] ** 2,),
         symbol=lambda p: f"{num(p)}/x", text=lambda a, p: f"{num(p)} / {a[0]}",
         local_text=lambda a, o, p: [f"−{num(p)}/{a[0]}²"])
register(name="powc", gate=LOCAL,
         forward=lambda xs, p: xs[0] ** p, derivatives=(lambda o, xs, p: power_slope(xs[0], p),),
         symbol=lambda p: f"**{num(p)}", text=lambda a, p: f"{a[0]}**{num(p)}",
         local_text=lambda a, o, p: [times(p, a[0]) if p == 2 else f"{num(p)}·{a[0]}^{num(p - 1)}"])
register(name="rpow", gate=LOCAL,
         forward=lambda xs, p: p ** xs[0], derivatives=(lambda o, xs, p: times_log(o, p),),
         symbol=lambda p: f"{num(p)}**", text=lambda a, p: f"{num(p)}**{a[0]}",
         local_text=lambda a, o, p: [f"ln({num(p)})·{o}"])

unary("exp", np.exp, lambda o, xs, p: o, lambda a, o, p: [o])
unary("log", np.log, lambda o, xs, p: 1.0 / xs[0], lambda a, o, p: [f"1/{a[0]}"])
unary("sqrt", np.sqrt, lambda o, xs, p: 0.5 / o, lambda a, o, p: [f"1/(2{o})"])
unary("abs", np.abs, lambda o, xs, p: np.sign(xs[0]), lambda a, o, p: [f"sign({a[0]})"],
      kink=at_zero, convention="abs'(0) = 0")
unary("sin", np.sin, lambda o, xs, p: np.cos(xs[0]), lambda a, o, p: [f"cos({a[0]})"])
unary("cos", np.cos, lambda o, xs, p: -np.sin(xs[0]), lambda a, o, p: [f"−sin({a[0]})"])
