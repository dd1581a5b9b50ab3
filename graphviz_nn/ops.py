"""The op registry: every primitive's forward rule, vector-Jacobian product, gate kind and texts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .numfmt import fmt_number, shape_text

# Gate kinds: how the backward pass treats the upstream gradient (DESIGN.md).
ADD, MUL, MAX, LOCAL, MATMUL = "add", "mul", "max", "local", "matmul"


@dataclass(frozen=True)
class Op:
    name: str
    gate: str
    forward: Callable            # (xs, p) -> array
    vjp: Callable                # (g, out, xs, p) -> one gradient per input
    symbol: Callable             # (p) -> the text in the gate's circle
    text: Callable               # (arg_texts, p) -> source-like text, e.g. "x + y"
    local_text: Callable         # (arg_names, out_name, p) -> one local derivative per input
    arity: int | None = 1        # None: any number of inputs (at least one)
    verb: str = ""               # how captions name the rule ("mul swaps"); empty: the symbol
    expansion: Callable | None = None   # (emit, x, p) -> node: the op as primitives


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


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # no overflow warning for large |x|


def expand_sigmoid(emit, x, p):
    """σ(x) = 1 / (1 + exp(−x)), as CS231n draws it."""
    return emit("rdiv", [emit("shift", [emit("exp", [emit("scale", [x], -1.0)])], 1.0)], 1.0)


def signed(p):
    return f"+{num(p)}" if p >= 0 else f"−{num(-p)}"


# ---- the table --------------------------------------------------------------

OPS: dict[str, Op] = {}


def register(op: Op) -> None:
    OPS[op.name] = op


def unary(name, forward, derivative, local_text, gate=LOCAL, verb=None, symbol=None,
          text=None, expansion=None):
    register(Op(name, gate, lambda xs, p: forward(xs[0]), elementwise(derivative),
                symbol or const(name), text or call(name), local_text,
                verb=verb or "", expansion=expansion))


register(Op("add", ADD, lambda xs, p: xs[0] + xs[1],
            elementwise(lambda o, xs, p: 1.0, lambda o, xs, p: 1.0),
            const("+"), infix("+"), lambda a, o, p: ["1", "1"],
            arity=2, verb="add distributes"))
register(Op("sub", ADD, lambda xs, p: xs[0] - xs[1],
            elementwise(lambda o, xs, p: 1.0, lambda o, xs, p: -1.0),
            const("−"), infix("-"), lambda a, o, p: ["1", "−1"],
            arity=2, verb="sub distributes, flipping the sign of the second input"))
register(Op("mul", MUL, lambda xs, p: xs[0] * xs[1],
            elementwise(lambda o, xs, p: xs[1], lambda o, xs, p: xs[0]),
            const("×"), infix("*"), lambda a, o, p: [a[1], a[0]],
            arity=2, verb="mul swaps"))
register(Op("div", LOCAL, lambda xs, p: xs[0] / xs[1],
            elementwise(lambda o, xs, p: 1.0 / xs[1], lambda o, xs, p: -xs[0] / xs[1] ** 2),
            const("÷"), infix("/"), lambda a, o, p: [f"1/{a[1]}", f"−{a[0]}/{a[1]}²"],
            arity=2))
register(Op("pow", LOCAL, lambda xs, p: xs[0] ** xs[1],
            elementwise(lambda o, xs, p: power_slope(xs[0], xs[1]),
                        lambda o, xs, p: times_log(o, xs[0])),
            const("**"), infix("**"), lambda a, o, p: [f"{a[1]}·{a[0]}^({a[1]}−1)", f"{o}·ln {a[0]}"],
            arity=2))
register(Op("matmul", MATMUL, matmul_forward, matmul_vjp, const("@"), infix("@"),
            lambda a, o, p: [f"d·{a[1]}ᵀ", f"{a[0]}ᵀ·d"], arity=2,
            verb="matmul"))

# Unary gates that carry a literal constant p (DESIGN.md: `**2`, `*3`, `+1`, `1/x`).
register(Op("scale", LOCAL, lambda xs, p: xs[0] * p, elementwise(lambda o, xs, p: p),
            lambda p: f"*{num(p)}".replace("-", "−"),
            lambda a, p: f"-{a[0]}" if p == -1 else f"{a[0]} * {num(p)}",
            lambda a, o, p: [num(p)]))
register(Op("shift", ADD, lambda xs, p: xs[0] + p, elementwise(lambda o, xs, p: 1.0),
            signed, lambda a, p: f"{a[0]} + {num(p)}" if p >= 0 else f"{a[0]} - {num(-p)}",
            lambda a, o, p: ["1"], verb="add distributes"))
register(Op("rsub", ADD, lambda xs, p: p - xs[0], elementwise(lambda o, xs, p: -1.0),
            lambda p: f"{num(p)}−", lambda a, p: f"{num(p)} - {a[0]}",
            lambda a, o, p: ["−1"]))
register(Op("divc", LOCAL, lambda xs, p: xs[0] / p, elementwise(lambda o, xs, p: np.divide(1.0, p)),
            lambda p: f"/{num(p)}", lambda a, p: f"{a[0]} / {num(p)}",
            lambda a, o, p: [f"1/{num(p)}"]))
register(Op("rdiv", LOCAL, lambda xs, p: p / xs[0], elementwise(lambda o, xs, p: -p / xs[0] ** 2),
            lambda p: f"{num(p)}/x", lambda a, p: f"{num(p)} / {a[0]}",
            lambda a, o, p: [f"−{num(p)}/{a[0]}²"],
            ))
register(Op("powc", LOCAL, lambda xs, p: xs[0] ** p,
            elementwise(lambda o, xs, p: power_slope(xs[0], p)),
            lambda p: f"**{num(p)}", lambda a, p: f"{a[0]}**{num(p)}",
            lambda a, o, p: [times(p, a[0]) if p == 2 else f"{num(p)}·{a[0]}^{num(p - 1)}"],
            ))
register(Op("rpow", LOCAL, lambda xs, p: p ** xs[0],
            elementwise(lambda o, xs, p: times_log(o, p)),
            lambda p: f"{num(p)}**", lambda a, p: f"{num(p)}**{a[0]}",
            lambda a, o, p: [f"ln({num(p)})·{o}"]))

unary("exp", np.exp, lambda o, xs, p: o, lambda a, o, p: [o])
unary("log", np.log, lambda o, xs, p: 1.0 / xs[0], lambda a, o, p: [f"1/{a[0]}"])
unary("sqrt", np.sqrt, lambda o, xs, p: 0.5 / o, lambda a, o, p: [f"1/(2{o})"])
unary("abs", np.abs, lambda o, xs, p: np.sign(xs[0]), lambda a, o, p: [f"sign({a[0]})"])
unary("sin", np.sin, lambda o, xs, p: np.cos(xs[0]), lambda a, o, p: [f"cos({a[0]})"])
unary("cos", np.cos, lambda o, xs, p: -np.sin(xs[0]), lambda a, o, p: [f"−sin({a[0]})"])
unary("tanh", np.tanh, lambda o, xs, p: 1.0 - o ** 2, lambda a, o, p: [f"1−{o}²"])
unary("sigmoid", sigmoid, lambda o, xs, p: o * (1.0 - o), lambda a, o, p: ["σ(1−σ)"],
      symbol=const("σ"), text=call("sigmoid"), expansion=expand_sigmoid,
      verb="σ")
unary("relu", lambda x: np.maximum(x, 0.0), lambda o, xs, p: (xs[0] > 0) * 1.0,
      lambda a, o, p: [f"[{a[0]} > 0]"], gate=MAX,
      verb="relu routes")
unary("step", lambda x: (x > 0) * 1.0, lambda o, xs, p: 0.0 * xs[0],
      lambda a, o, p: ["0"], verb="step passes no gradient (its derivative is 0)")

register(Op("max", MAX, extreme(np.max, np.maximum), route(np.argmax), const("max"), call("max"),
            lambda a, o, p: [f"[{n} = {o}]" for n in a], arity=None,
            verb="max routes"))
register(Op("min", MAX, extreme(np.min, np.minimum), route(np.argmin), const("min"), call("min"),
            lambda a, o, p: [f"[{n} = {o}]" for n in a], arity=None,
            verb="min routes"))
register(Op("sum", ADD, lambda xs, p: np.sum(xs[0]),
            lambda g, o, xs, p: (np.broadcast_to(g, np.shape(xs[0])) * 1.0,),
            const("Σ"), call("sum"), lambda a, o, p: ["1"], verb="sum distributes"))
register(Op("mean", LOCAL, lambda xs, p: np.sum(xs[0]) / np.size(xs[0]),   # empty: nan, no warning
            lambda g, o, xs, p: (np.broadcast_to(g / max(np.size(xs[0]), 1), np.shape(xs[0])) * 1.0,),
            const("mean"), call("mean"), lambda a, o, p: ["1/n"], verb="mean distributes 1/n"))
register(Op("softmax", LOCAL, softmax_forward, softmax_vjp, const("softmax"), call("softmax"),
            lambda a, o, p: [f"{o}·(δ − {o}ᵀ)"],
            verb="softmax"))

# The functions an expression may call, by the name the user types.
FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step",
             "max", "min", "sum", "mean", "softmax")


# ---- layer-stack ops --------------------------------------------------------
# Gates of network specs (trace/network.py). Layer view: one gate per matrix.
# Neuron view: one gate per neuron, the weights carried as the gate's parameter.
# Loss gates take (ŷ, y); the target y is data, so no gradient flows into it (zeros).

def linear_forward(xs, p):
    return matmul_forward(xs[:2], p) + xs[2]


def linear_vjp(g, out, xs, p):
    dx, dw = matmul_vjp(g, out, xs[:2], p)
    return dx, dw, unbroadcast(g, np.shape(xs[2]))


register(Op("linear", MATMUL, linear_forward, linear_vjp, const("@+"),
            lambda a, p: f"{a[0]}·{a[1]} + {a[2]}",
            lambda a, o, p: [f"d·{a[1]}ᵀ", f"{a[0]}ᵀ·d", "Σrows d"], arity=3, verb="linear"))
unary("identity", lambda x: x * 1.0, lambda o, xs, p: 1.0, lambda a, o, p: ["1"],
      symbol=const("id"), verb="identity passes d unchanged")
register(Op("leaky_relu", LOCAL, lambda xs, p: np.where(xs[0] > 0, xs[0], p * xs[0]),
            elementwise(lambda o, xs, p: np.where(xs[0] > 0, 1.0, p)),
            const("lrelu"), lambda a, p: f"leaky_relu({a[0]}, {num(p)})",
            lambda a, o, p: [f"[{a[0]} > 0] + {num(p)}·[{a[0]} ≤ 0]"],
            verb="leaky relu: slope 1 above 0, the leak below"))


def xlogy(y, q):
    """y·ln q, with 0·ln 0 = 0 (a target of 0 ignores a probability of 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y * np.log(q))


def ydivq(y, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y / q)


def observations(yhat) -> int:
    return np.shape(yhat)[0] if np.ndim(yhat) > 1 else 1


@dataclass(frozen=True)
class LossRule:
    """A loss of (ŷ, y): its value, ∂L/∂ŷ, and both as the caption writes them."""
    name: str
    symbol: str
    formula: str                 # template in {yhat} and {y}
    derivative: str              # ∂L/∂ŷ, template in {yhat} and {y}
    value: Callable              # (yhat, y, n) -> float
    grad: Callable               # (yhat, y, n) -> array like yhat
    reduction: str = "sum"       # mean: divide by n
    count: Callable = np.size    # n: entries of ŷ, or observations for softmax_ce


SQUARED = {   # name: symbol, formula, ∂L/∂ŷ, factor, reduction
    "half_sse": ("½SSE", "½Σ({yhat} − {y})²", "{yhat} − {y}", 0.5, "sum"),
    "sse": ("SSE", "Σ({yhat} − {y})²", "2({yhat} − {y})", 1.0, "sum"),
    "mse": ("MSE", "(1/n)Σ({yhat} − {y})²", "2({yhat} − {y})/n", 1.0, "mean"),
    "half_mse": ("½MSE", "1/(2n)Σ({yhat} − {y})²", "({yhat} − {y})/n", 0.5, "mean"),
}


def squared_rule(name):
    symbol, formula, derivative, factor, reduction = SQUARED[name]
    return LossRule(name, symbol, formula, derivative,
                    lambda yh, y, n: factor * np.sum((yh - y) ** 2) / n,
                    lambda yh, y, n: 2 * factor * (yh - y) / n, reduction)


def logloss_rule(reduction):
    over = "(1/n)" if reduction == "mean" else ""
    return LossRule("logloss", "logloss", "−" + over + "Σ[{y}·ln {yhat} + (1−{y})·ln(1−{yhat})]",
                    "({yhat} − {y})/({yhat}(1−{yhat}))" + ("/n" if over else ""),
                    lambda yh, y, n: -np.sum(xlogy(y, yh) + xlogy(1 - y, 1 - yh)) / n,
                    lambda yh, y, n: (ydivq(1 - y, 1 - yh) - ydivq(y, yh)) / n, reduction)


def softmax_ce_rule(reduction):
    over = "(1/n)" if reduction == "mean" else ""
    return LossRule("softmax_ce", "CE", "−" + over + "Σ {y}·ln {yhat}", "−{y}/{yhat}" + ("/n" if over else ""),
                    lambda yh, y, n: -np.sum(xlogy(y, yh)) / n,
                    lambda yh, y, n: -ydivq(y, yh) / n, reduction, observations)


def loss_rule(name: str, reduction: str | None = "mean") -> LossRule:
    """The rule of a loss; reduction (mean | sum) matters for logloss and softmax_ce only."""
    if name in SQUARED:
        return squared_rule(name)
    return {"logloss": logloss_rule, "softmax_ce": softmax_ce_rule}[name](reduction or "mean")


def divisor(rule: LossRule, yhat) -> float:
    return float(rule.count(yhat)) if rule.reduction == "mean" else 1.0


def loss_op(name):
    """L = loss(ŷ, y); p is the reduction (mean | sum) where the loss has one."""
    def forward(xs, p):
        rule = loss_rule(name, p)
        return np.asarray(rule.value(xs[0], xs[1], divisor(rule, xs[0])), dtype=float)

    def vjp(g, out, xs, p):
        rule = loss_rule(name, p)
        return g * rule.grad(xs[0], xs[1], divisor(rule, xs[0])), np.zeros(np.shape(xs[1]))

    register(Op(name, LOCAL, forward, vjp, lambda p: loss_rule(name, p).symbol,
                lambda a, p: loss_rule(name, p).formula.format(yhat=a[0], y=a[1]),
                lambda a, o, p: [loss_rule(name, p).derivative.format(yhat=a[0], y=a[1]), "0"],
                arity=2, verb=f"{name} loss"))


for _loss in ("half_sse", "sse", "mse", "half_mse", "logloss", "softmax_ce"):
    loss_op(_loss)


@dataclass(frozen=True)
class WeightedSum:
    """A neuron's parameter: one weight per input (the bias is the weight of a constant 1)."""
    weights: tuple[float, ...]
    names: tuple[str, ...]       # W1[1,2], …, b1[2]


def weighted_sum_forward(xs, p):
    total = xs[0] * p.weights[0]
    for x, w in zip(xs[1:], p.weights[1:]):
        total = total + x * w
    return total


register(Op("neuron", LOCAL, weighted_sum_forward,
            lambda g, out, xs, p: tuple(unbroadcast(g * w, np.shape(x)) for x, w in zip(xs, p.weights)),
            const("Σ"), lambda a, p: " + ".join(f"{x}·{w}" for x, w in zip(a, p.names)),
            lambda a, o, p: list(p.names), arity=None,
            verb="weighted sum: each input gets d times its weight"))


def softmax_at_forward(xs, p):
    return softmax_forward([np.stack(xs, axis=-1)], None)[..., p]


def softmax_at_vjp(g, out, xs, p):
    s = softmax_forward([np.stack(xs, axis=-1)], None)
    return tuple(unbroadcast(g * out * ((j == p) - s[..., j]), np.shape(x)) for j, x in enumerate(xs))


register(Op("softmax_at", LOCAL, softmax_at_forward, softmax_at_vjp, const("softmax"),
            lambda a, p: f"softmax({', '.join(a)})[{p + 1}]",
            lambda a, o, p: [f"{o}·({int(j == p)} − s{j + 1})" for j in range(len(a))], arity=None,
            verb="softmax: ∂sₖ/∂hⱼ = sₖ(δₖⱼ − sⱼ)"))


@dataclass(frozen=True)
class NeuronLoss:
    """The loss over output neurons: args are ŷ₁…ŷₘ then y₁…yₘ (columns over observations)."""
    name: str
    reduction: str | None
    outputs: int


def as_columns(xs, m):
    return np.stack(xs, axis=-1).reshape(-1, m)


def neuron_loss_forward(xs, p):
    m = p.outputs
    return OPS[p.name].forward([as_columns(xs[:m], m), as_columns(xs[m:], m)], p.reduction)


def neuron_loss_vjp(g, out, xs, p):
    m = p.outputs
    yhat, y = as_columns(xs[:m], m), as_columns(xs[m:], m)
    grad = OPS[p.name].vjp(g, out, [yhat, y], p.reduction)[0]
    return tuple(grad[:, j].reshape(np.shape(x)) for j, x in enumerate(xs[:m])) + \
        tuple(np.zeros(np.shape(x)) for x in xs[m:])


register(Op("neuron_loss", LOCAL, neuron_loss_forward, neuron_loss_vjp,
            lambda p: loss_rule(p.name, p.reduction).symbol,
            lambda a, p: loss_rule(p.name, p.reduction).formula.format(yhat="ŷ", y="y"),
            lambda a, o, p: [loss_rule(p.name, p.reduction).derivative.format(yhat=x, y=t)
                             for x, t in zip(a[:p.outputs], a[p.outputs:])] + ["0"] * p.outputs,
            arity=None, verb="loss"))


def total_vjp(g, out, xs, p):
    return tuple(unbroadcast(np.broadcast_to(g, np.shape(out)) * 1.0, np.shape(x)) for x in xs)


# Neuron view without a loss: S = Σ outputs, so the backward pass starts from ones at every output.
register(Op("total", ADD, lambda xs, p: sum(xs[1:], xs[0]), total_vjp, const("Σ"),
            lambda a, p: " + ".join(a), lambda a, o, p: ["1"] * len(a), arity=None,
            verb="sum distributes"))
