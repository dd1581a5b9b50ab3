"""The gates of layer stacks, registered in the op table beside the expression primitives, and the
registries of what a spec may name: activations and losses (one entry each).

Layer view: one gate per matrix. Neuron view: one gate per neuron, the weights carried as the
gate's parameter. Loss gates take (ŷ, y); the target y is data, so no gradient flows into it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..ops import (ADD, LOCAL, MATMUL, OPS, const, matmul_forward, matmul_vjp, register,
                   softmax_forward, unary, unbroadcast)


@dataclass(frozen=True)
class Activation:
    op: str                   # the registry op computing it
    text: str                 # how a layer's text names it: O1 = σ(H1)
    options: tuple = ()       # spec keys besides type: (key, default)


# Every activation layer a spec may use, by its type name.
ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", "σ"),
    "tanh": Activation("tanh", "tanh"),
    "relu": Activation("relu", "relu"),
    "leaky_relu": Activation("leaky_relu", "leaky_relu", (("slope", 0.01),)),
    "softmax": Activation("softmax", "softmax"),
    "step": Activation("step", "step"),
    "identity": Activation("identity", "id"),
}


def linear_forward(xs, p):
    return matmul_forward(xs[:2], p) + xs[2]


def linear_vjp(g, out, xs, p):
    dx, dw = matmul_vjp(g, out, xs[:2], p)
    return dx, dw, unbroadcast(g, np.shape(xs[2]))


register(name="linear", gate=MATMUL, arity=3, verb="linear",
         forward=linear_forward, vjp=linear_vjp, symbol=const("@+"),
         text=lambda a, p: f"{a[0]}·{a[1]} + {a[2]}",
         local_text=lambda a, o, p: [f"d·{a[1]}ᵀ", f"{a[0]}ᵀ·d", "Σrows d"])
unary("identity", lambda x: x * 1.0, lambda o, xs, p: 1.0, lambda a, o, p: ["1"],
      symbol=const("id"), verb="identity passes d unchanged")


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


# The losses a spec may name: name -> (reduction) -> its rule. Only logloss and softmax_ce have
# a choice of reduction (mean | sum); the squared losses fix theirs in their name.
LOSSES = {name: (lambda reduction, _name=name: squared_rule(_name)) for name in SQUARED} | {
    "logloss": logloss_rule, "softmax_ce": softmax_ce_rule}
REDUCED_LOSSES = ("logloss", "softmax_ce")


def loss_rule(name: str, reduction: str | None = "mean") -> LossRule:
    """The rule of a loss; reduction (mean | sum) matters for logloss and softmax_ce only."""
    return LOSSES[name](reduction or "mean")


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

    register(name=name, gate=LOCAL, arity=2, verb=f"{name} loss", forward=forward, vjp=vjp,
             symbol=lambda p: loss_rule(name, p).symbol,
             text=lambda a, p: loss_rule(name, p).formula.format(yhat=a[0], y=a[1]),
             local_text=lambda a, o, p: [loss_rule(name, p).derivative.format(yhat=a[0], y=a[1]), "0"])


for _loss in LOSSES:
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


register(name="neuron", gate=LOCAL, arity=None, verb="weighted sum: each input gets d times its weight",
         forward=weighted_sum_forward,
         vjp=lambda g, out, xs, p: tuple(unbroadcast(g * w, np.shape(x)) for x, w in zip(xs, p.weights)),
         symbol=const("Σ"), text=lambda a, p: " + ".join(f"{x}·{w}" for x, w in zip(a, p.names)),
         local_text=lambda a, o, p: list(p.names))


def softmax_at_forward(xs, p):
    return softmax_forward([np.stack(xs, axis=-1)], None)[..., p]


def softmax_at_vjp(g, out, xs, p):
    s = softmax_forward([np.stack(xs, axis=-1)], None)
    return tuple(unbroadcast(g * out * ((j == p) - s[..., j]), np.shape(x)) for j, x in enumerate(xs))


register(name="softmax_at", gate=LOCAL, arity=None, verb="softmax: ∂sₖ/∂hⱼ = sₖ(δₖⱼ − sⱼ)",
         forward=softmax_at_forward, vjp=softmax_at_vjp, symbol=const("softmax"),
         text=lambda a, p: f"softmax({', '.join(a)})[{p + 1}]",
         local_text=lambda a, o, p: [f"{o}·({int(j == p)} − s{j + 1})" for j in range(len(a))])


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


register(name="neuron_loss", gate=LOCAL, arity=None, verb="loss",
         forward=neuron_loss_forward, vjp=neuron_loss_vjp,
         symbol=lambda p: loss_rule(p.name, p.reduction).symbol,
         text=lambda a, p: loss_rule(p.name, p.reduction).formula.format(yhat="ŷ", y="y"),
         local_text=lambda a, o, p: [loss_rule(p.name, p.reduction).derivative.format(yhat=x, y=t)
                                     for x, t in zip(a[:p.outputs], a[p.outputs:])] + ["0"] * p.outputs)


def total_vjp(g, out, xs, p):
    return tuple(unbroadcast(np.broadcast_to(g, np.shape(out)) * 1.0, np.shape(x)) for x in xs)


# Neuron view without a loss: S = Σ outputs, so the backward pass starts from ones at every output.
register(name="total", gate=ADD, arity=None, verb="sum distributes",
         forward=lambda xs, p: sum(xs[1:], xs[0]), vjp=total_vjp, symbol=const("Σ"),
         text=lambda a, p: " + ".join(a), local_text=lambda a, o, p: ["1"] * len(a))
