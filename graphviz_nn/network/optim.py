"""Optimizers: one update rule each, written as the captions state it (PyTorch's conventions)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..numfmt import fmt_number


def sgd(w, g, state, t, lr, o):
    return w - lr * g


def momentum(w, g, state, t, lr, o):
    state["v"] = o["beta"] * state.get("v", 0.0) + g
    return w - lr * state["v"]


def nesterov(w, g, state, t, lr, o):
    state["v"] = o["beta"] * state.get("v", 0.0) + g
    return w - lr * (g + o["beta"] * state["v"])


def nesterov_lookahead(w, g, state, t, lr, o):
    """The textbook form: g was taken at the look-ahead point w − β·v; v is the step itself."""
    state["v"] = o["beta"] * state.get("v", 0.0) + lr * g
    return w - state["v"]


def look_ahead(w, state, o):
    return w - o["beta"] * state.get("v", 0.0)


def rmsprop(w, g, state, t, lr, o):
    state["s"] = o["beta"] * state.get("s", 0.0) + (1 - o["beta"]) * g * g
    return w - lr * g / (np.sqrt(state["s"]) + o["eps"])


def adam(w, g, state, t, lr, o):
    state["m"] = o["beta1"] * state.get("m", 0.0) + (1 - o["beta1"]) * g
    state["v"] = o["beta2"] * state.get("v", 0.0) + (1 - o["beta2"]) * g * g
    m_hat = state["m"] / (1 - o["beta1"] ** t)
    v_hat = state["v"] / (1 - o["beta2"] ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + o["eps"])


@dataclass(frozen=True)
class Rule:
    update: Callable          # (w, g, state, t, lr, options) -> new w; updates state in place
    template: str             # {w}: the parameter, {g}: its gradient
    defaults: dict = field(default_factory=dict)    # the [train] keys it takes, with defaults
    point: Callable | None = None    # (w, state, options) -> where the gradient is taken; None: at w


# Every optimizer a spec may name: its rule, its formula, its options.
RULES = {
    "sgd": Rule(sgd, "{w} ← {w} − η·{g}"),
    "momentum": Rule(momentum, "v ← β·v + {g}; {w} ← {w} − η·v", {"beta": 0.9}),
    "nesterov": Rule(nesterov, "v ← β·v + {g}; {w} ← {w} − η·({g} + β·v)", {"beta": 0.9}),
    "rmsprop": Rule(rmsprop, "s ← β·s + (1−β)·({g})²; {w} ← {w} − η·{g}/(√s + ε)",
                    {"beta": 0.9, "eps": 1e-8}),
    "adam": Rule(adam, "m ← β1·m + (1−β1)·{g}; v ← β2·v + (1−β2)·({g})²; "
                       "{w} ← {w} − η·m̂/(√v̂ + ε) with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)",
                 {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
}
# Other forms of an optimizer, chosen with `form = "…"` under [train]; the default is PyTorch's.
FORMS = {
    ("nesterov", "lookahead"): Rule(nesterov_lookahead,
                                    "{w̃} = {w} − β·v; v ← β·v + η·∂L/∂{w̃}; {w} ← {w} − v",
                                    {"beta": 0.9}, look_ahead),
}
DEFAULT_FORM = "pytorch"
SYMBOLS = {"beta": "β", "beta1": "β1", "beta2": "β2", "eps": "ε"}


def rule_of(name: str, form: str = DEFAULT_FORM) -> Rule:
    return RULES[name] if form == DEFAULT_FORM else FORMS[name, form]


def forms_of(name: str) -> tuple[str, ...]:
    return (DEFAULT_FORM, *(form for optimizer, form in FORMS if optimizer == name))


@dataclass(frozen=True)
class Update:
    name: str
    old: np.ndarray
    grad: np.ndarray
    new: np.ndarray
    state: dict               # the optimizer's slots after this step (v, s, m), copied
    at: np.ndarray | None = None   # where the gradient was taken, when not at old (look-ahead)


@dataclass
class Optimizer:
    name: str
    lr: float
    options: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)      # parameter -> its slots
    t: int = 0
    form: str = DEFAULT_FORM

    @property
    def rule(self) -> Rule:
        return rule_of(self.name, self.form)

    def formula(self, w: str = "W") -> str:
        return self.rule.template.format(w=w, g=f"∂L/∂{w}", **{"w̃": f"{w}̃"})

    def points(self, params: dict) -> dict:
        """Where this step takes the gradients: the parameters, or the look-ahead point."""
        if self.rule.point is None:
            return params
        return {name: self.rule.point(w, self.state.get(name, {}), self.options) for name, w in params.items()}

    def constants(self) -> str:
        return ", ".join([f"η = {fmt_number(self.lr)}"] +
                         [f"{SYMBOLS[k]} = {fmt_number(v)}" for k, v in self.options.items()])

    def step(self, params: dict, grads: dict) -> list[Update]:
        """One update of every parameter; params are not changed, the new values are returned."""
        at = self.points(params) if self.rule.point else {}
        self.t += 1
        updates = []
        with np.errstate(all="ignore"):        # ε = 0 may give 0/0: nan, reported as numeric trouble
            for name, old in params.items():
                slots = self.state.setdefault(name, {})
                new = self.rule.update(old, grads[name], slots, self.t, self.lr, self.options)
                updates.append(Update(name, old, grads[name], np.asarray(new, dtype=float),
                                      {k: np.copy(v) for k, v in slots.items()}, at.get(name)))
        return updates
