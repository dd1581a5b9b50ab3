"""The gates of layer stacks, registered in the op table beside the expression primitives, and the
registries of what a spec may name: activations, the layers with parameters or data of their own
(prelu, batchnorm, dropout) and losses (one entry each).

Layer view: one gate per matrix. Neuron view: one gate per neuron, the weights carried as the
gate's parameter. Loss gates take (ŷ, y); the target y is data, so no gradient flows into it; a
dropout gate takes (X, M), and the mask M is data too."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..numfmt import fmt_number
from ..ops.conv import conv_defaults, conv_forward, conv_local_text, conv_symbol, conv_vjp
from ..ops import (ADD, LOCAL, MATMUL, OPS, const, matmul_forward, matmul_vjp, register,
                   softmax_forward, unary, unbroadcast)


@dataclass(frozen=True)
class Activation:
    op: str                   # the registry op computing it
    text: str                 # how a layer's text names it: O1 = σ(H1)
    options: tuple = ()       # spec keys besides type: (key, default)
    p: str | None = None      # the option the op takes as its parameter (leaky_relu's slope)


# Every activation layer a spec may use, by its type name: one input, no parameters to learn.
ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", "σ"),
    "tanh": Activation("tanh", "tanh"),
    "relu": Activation("relu", "relu"),
    "leaky_relu": Activation("leaky_relu", "leaky_relu", (("slope", 0.01),), "slope"),
    "elu": Activation("elu", "elu"),          # α = 1, as the op computes it (PyTorch's default)
    "softplus": Activation("softplus", "softplus"),
    "swish": Activation("swish", "swish"),
    "mish": Activation("mish", "mish"),
    "gelu": Activation("gelu", "gelu"),
    "softmax": Activation("softmax", "softmax"),
    "step": Activation("step", "step"),
    "identity": Activation("identity", "id"),
}


@dataclass(frozen=True)
class LayerRule:
    """A layer type that is neither linear nor a plain activation: it learns parameters of its own
    (one entry per neuron) or takes data besides its input."""
    letter: str                    # its output node: Ok, Nk, Dk (k: the linear layer before it)
    op: str                        # the layer view's gate, one per layer
    neuron_op: str                 # the neuron view's gate, one per neuron
    params: tuple[str, ...] = ()   # its parameters: a → ak; gamma, beta → gammak, betak
    data: str | None = None        # the constant it takes: M → the dropout mask Mk
    options: tuple = ()            # spec keys besides type: (key, default)


# Every such layer a spec may use, by its type name.
LAYERS = {
    "prelu": LayerRule("O", "prelu", "prelu", ("a",), options=(("alpha", 0.25), ("shared", False))),
    "batchnorm": LayerRule("N", "batchnorm", "batchnorm_neuron", ("gamma", "beta"),
                           options=(("gamma", 1.0), ("beta", 0.0))),
    "dropout": LayerRule("D", "dropout", "dropout", data="M", options=(("p", 0.5), ("seed", None), ("mask", None))),
}
BATCHNORM_EPS = 1e-5           # PyTorch's training mode: the batch mean, the biased variance


def linear_forward(xs, p):
    return matmul_forward(xs[:2], p) + xs[2]


def linear_vjp(g, out, xs, p):
    dx, dw = matmul_vjp(g, out, xs[:2], p)
    return dx, dw, unbroadcast(g, np.shape(xs[2]))


register(name="linear", gate=MATMUL, arity=3, verb="linear",
         forward=linear_forward, vjp=linear_vjp, symbol=const("@+"),
         text=lambda a, p: f"{a[0]}·{a[1]} + {a[2]}",
         local_text=lambda a, o, p: [f"d·{a[1]}ᵀ", f"{a[0]}ᵀ·d", "Σrows d"])
def conv_bias_forward(xs, p):
    return conv_forward(xs[:2], p) + np.reshape(xs[2], (-1, 1, 1))


def conv_bias_vjp(g, out, xs, p):
    """conv2d's two gradients, and the bias's: each filter's d summed over its map (and the images)."""
    dx, dk = conv_vjp(g, out, xs[:2], p)
    g = np.reshape(np.asarray(g, dtype=float), (-1, *np.shape(out)[-3:]))
    return dx, dk, g.sum(axis=(0, 2, 3)).reshape(np.shape(xs[2]))


# A conv2d spec layer with a bias, one gate: Hk = conv2d(input, Kk) + bk, bk one number per filter
# added to every cell of its map (ops/conv.py's conv2d without one).
register(name="conv2d_bias", gate=MATMUL, arity=3,
         verb="conv (the kernel is shared: its gradient adds up over every position)",
         forward=conv_bias_forward, vjp=conv_bias_vjp,
         shape=lambda shapes, p: OPS["conv2d"].shape(shapes[:2], p),
         work=lambda shapes, p: OPS["conv2d"].work(shapes[:2], p) + int(np.prod(OPS["conv2d"].shape(shapes[:2], p))),
         symbol=conv_symbol, text=lambda a, p: f"conv2d({a[0]}, {a[1]}{conv_defaults(p)}) + {a[2]}",
         local_text=lambda a, o, p: conv_local_text(a, o, p) + ["Σ d over each map"])
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


register(name="neuron", gate=LOCAL, arity=None, learns=True, verb="weighted sum: each input gets d times its weight",
         forward=weighted_sum_forward,
         vjp=lambda g, out, xs, p: tuple(unbroadcast(g * w, np.shape(x)) for x, w in zip(xs, p.weights)),
         symbol=const("Σ"), text=lambda a, p: " + ".join(f"{x}·{w}" for x, w in zip(a, p.names)),
         local_text=lambda a, o, p: list(p.names))


def window_mean_vjp(g, out, xs, p):
    return tuple(unbroadcast(np.broadcast_to(g, np.shape(out)) / len(xs), np.shape(x)) for x in xs)


# The neuron view's average pool: one neuron per window, the mean of its cells; each gets d/n back.
register(name="window_mean", gate=LOCAL, arity=None, verb="average pool distributes: each cell gets d/n",
         forward=lambda xs, p: sum(xs[1:], xs[0]) / len(xs), vjp=window_mean_vjp, symbol=const("avg"),
         text=lambda a, p: f"({' + '.join(a)})/{len(a)}", local_text=lambda a, o, p: [f"1/{len(a)}"] * len(a))


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


# ---- dropout and batchnorm ------------------------------------------------------------------

def kept_scale(p) -> float:
    return 1.0 / (1.0 - p)


# Inverted dropout, D = X * M/(1 − p): the mask M is data (0 drops an entry, 1 keeps it), so no
# gradient flows into it; a kept entry passes d/(1 − p) back, a dropped one 0. p: the drop rate.
register(name="dropout", gate=LOCAL, arity=2, verb="dropout passes d·M/(1 − p): nothing through a dropped entry",
         forward=lambda xs, p: xs[0] * xs[1] * kept_scale(p),
         derivatives=(lambda o, xs, p: xs[1] * kept_scale(p), lambda o, xs, p: 0.0 * xs[1]),
         symbol=const("drop"), text=lambda a, p: f"{a[0]} * {a[1]} / (1 - {fmt_number(p)})",
         local_text=lambda a, o, p: [f"{a[1]}/(1 − {fmt_number(p)})", "0"])


def normalised(x):
    """Each column of x over its rows (the batch): (x − μ)/√(σ² + ε), with √(σ² + ε)."""
    mean = np.mean(x, axis=0)
    spread = np.sqrt(np.mean((x - mean) ** 2, axis=0) + BATCHNORM_EPS)
    return (x - mean) / spread, spread


def batchnorm_neuron_forward(xs, p):
    x_hat, _ = normalised(xs[0])
    return xs[1] * x_hat + xs[2]


def batchnorm_neuron_vjp(g, out, xs, p):
    """∂/∂x = γ/√(σ²+ε)·(d − mean(d) − x̂·mean(d·x̂)); ∂/∂γ = Σ d·x̂; ∂/∂β = Σ d."""
    x_hat, spread = normalised(xs[0])
    g = np.broadcast_to(g, np.shape(out))
    dx = xs[1] / spread * (g - np.mean(g, axis=0) - x_hat * np.mean(g * x_hat, axis=0))
    return (unbroadcast(dx, np.shape(xs[0])), unbroadcast(np.sum(g * x_hat, axis=0), np.shape(xs[1])),
            unbroadcast(np.sum(g, axis=0), np.shape(xs[2])))


# The neuron view's batchnorm: one neuron's values over the observations (a column), normalised
# with their mean and biased variance, then × γⱼ + βⱼ (the layer view's batchnorm, one column).
register(name="batchnorm_neuron", gate=LOCAL, arity=3, verb="batchnorm",
         forward=batchnorm_neuron_forward, vjp=batchnorm_neuron_vjp, symbol=const("BN"),
         text=lambda a, p: f"{a[1]}·({a[0]} − μ)/√(σ² + ε) + {a[2]}",
         local_text=lambda a, o, p: [f"{a[1]}/√(σ²+ε)·(d − mean(d) − x̂·mean(d·x̂))", "Σ d·x̂", "Σ d"])
