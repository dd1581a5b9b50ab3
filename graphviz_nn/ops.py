"""The op registry: one entry per expression primitive — its forward rule, local derivatives or
vector-Jacobian product, gate kind, and the texts captions and --explain use."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .numfmt import fmt_number, shape_text

# Gate kinds: how the backward pass treats the upstream gradient (DESIGN.md).
ADD, MUL, MAX, LOCAL, MATMUL = "add", "mul", "max", "local", "matmul"
# Diagnostics an op's local derivative can show: a relu that passes nothing back, a saturated σ.
DIES, SATURATES = "dies", "saturates"


@dataclass(frozen=True, kw_only=True)
class Op:
    name: str
    gate: str                          # ADD | MUL | MAX | LOCAL | MATMUL
    forward: Callable                  # (xs, p) -> array
    derivatives: tuple = ()            # one local derivative per input: (out, xs, p) -> array
    vjp: Callable | None = None        # (g, out, xs, p) -> one gradient per input; default: from derivatives
    symbol: Callable                   # (p) -> the text in the gate's circle
    text: Callable                     # (arg_texts, p) -> source-like text, e.g. "x + y"
    local_text: Callable               # (arg_names, out_name, p) -> each local derivative, written out
    arity: int | None = 1              # None: any number of inputs (at least one)
    verb: str = ""                     # how captions name the rule ("mul swaps"); empty: the symbol
    expansion: Callable | None = None  # (emit, args, p) -> node: the op as primitives (--expand)
    parameters: Callable | None = None # (*numbers, **keywords) -> p: what a call may add after its
                                       # `arity` inputs — literal numbers (leaky_relu(x, 0.2)) and
                                       # the keywords axis, stride, padding, size (literal integers);
                                       # its signature is what is allowed; ValueError: a bad value
    trouble: str | None = None         # DIES | SATURATES: what a near-zero local derivative means
    kink: Callable | None = None       # (out, xs, p) -> whether the gate sits where it has no derivative
    convention: str = ""               # which one-sided derivative it takes there, in words
    shape: Callable | None = None      # (input shapes, p) -> the result's shape, known before any
                                       # number is computed (budget.py); None: the inputs broadcast

    def __post_init__(self):
        if self.vjp is None:
            object.__setattr__(self, "vjp", elementwise(*self.derivatives))


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient over the axes numpy broadcast, so it has the input's shape."""
    grad = np.asarray(grad, dtype=float)
    if grad.shape == shape:
        return grad
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.reshape(shape)


def elementwise(*derivatives):
    """A VJP from local derivatives: upstream × local, broadcasting undone.

    The derivatives stay readable as `vjp.derivatives`: the engine shows them on scalar edges."""
    def vjp(g, out, xs, p):
        return tuple(unbroadcast(g * d(out, xs, p), np.shape(x))
                     for d, x in zip(derivatives, xs))
    vjp.derivatives = derivatives
    return vjp


def local_derivative(op: Op, out, xs, p, arg: int = 0):
    """The op's local derivative for one input, where it has one (else None)."""
    rules = getattr(op.vjp, "derivatives", ())
    return rules[arg](out, xs, p) if arg < len(rules) else None


def const(symbol):
    return lambda p=None: symbol


def infix(sign):
    return lambda a, p: f"{a[0]} {sign} {a[1]}"


def call(name):
    return lambda a, p: f"{name}({', '.join(a)})"


def num(p):
    return fmt_number(p)


def times(p, name):
    """`2x` for one-letter names, `2·x1` otherwise."""
    return f"{num(p)}{name}" if len(name) == 1 else f"{num(p)}·{name}"


def signed(p):
    return f"+{num(p)}" if p >= 0 else f"−{num(-p)}"


# ---- the rules that need more than a local derivative ---------------------

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


def scalar_shape(shapes, p):
    return ()


def extreme_shape(shapes, p):
    """max(x): a number; max(x, y, …): the arguments broadcast."""
    return () if len(shapes) == 1 else np.broadcast_shapes(*shapes)


def softmax_forward(xs, p):
    z = xs[0] - np.max(xs[0], axis=-1, keepdims=True) if np.ndim(xs[0]) else xs[0] * 0
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True) if np.ndim(e) else e


def softmax_vjp(g, out, xs, p):
    if np.ndim(out) == 0:
        return (g * 0.0,)
    return (out * (g - np.sum(g * out, axis=-1, keepdims=True)),)


def power_slope(x, y):
    """∂(x**y)/∂x = y·x**(y−1), and 0 where y = 0 (x**0 is constant, even at x = 0)."""
    return np.where(np.equal(y, 0), 0.0, y * np.power(x, np.subtract(y, 1)))


def times_log(out, base):
    """∂(base**y)/∂y = base**y · ln(base), and 0 where base**y = 0 (0**y is flat for y > 0)."""
    return np.where(np.equal(out, 0), 0.0, out * np.log(base))


def at_zero(out, xs, p) -> bool:
    return bool(np.any(np.equal(xs[0], 0)))


def tie(out, xs, p) -> bool:
    """max/min of several arguments: two of them hold the extreme value (one argument: two entries do)."""
    if len(xs) == 1:
        return bool(np.sum(np.equal(xs[0], out)) > 1)
    holders = sum(np.broadcast_to(np.equal(x, out), np.shape(out)).astype(int) for x in xs)
    return bool(np.any(holders > 1))


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # no overflow warning for large |x|


def expand_sigmoid(emit, args, p):
    """σ(x) = 1 / (1 + exp(−x)), as CS231n draws it."""
    x = args[0]
    return emit("rdiv", [emit("shift", [emit("exp", [emit("scale", [x], -1.0)])], 1.0)], 1.0)


# ---- the table --------------------------------------------------------------

OPS: dict[str, Op] = {}


def register(**fields) -> Op:
    op = Op(**fields)
    OPS[op.name] = op
    return op


def unary(name, forward, derivative, local_text, **fields) -> Op:
    """A one-input function the user calls by name: `exp(x)`."""
    fields.setdefault("symbol", const(name))
    fields.setdefault("text", call(name))
    fields.setdefault("gate", LOCAL)
    return register(name=name, forward=lambda xs, p: forward(xs[0]), derivatives=(derivative,),
                    local_text=local_text, **fields)


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
register(name="softmax", gate=LOCAL, verb="softmax",
         forward=softmax_forward, vjp=softmax_vjp,
         symbol=const("softmax"), text=call("softmax"), local_text=lambda a, o, p: [f"{o}·(δ − {o}ᵀ)"])

# The functions an expression may call, by the name the user types.
FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step",
             "max", "min", "sum", "mean", "softmax")
