"""The gates of recurrent layers (network specs only: registered in OPS, not callable from formulas).

A step's values are vectors (a row of X, drawn as one line of text): x_t (the input), h_t and c_t
(units), the pre-activation a_t (gates·units, the gate blocks in PyTorch's order: LSTM i, f, g, o;
GRU r, z, n). One neuron's values (the neuron view) are numbers, which the entrywise gates take too. Parameters are
W (in × gates·units), R (units × gates·units) and b (gates·units), the ONNX names.

    recur        a_t = x_t·W + h_{t−1}·R + b          (RNN, LSTM: one product per step)
    lstm_cell    c_t = σ(a_f)⊙c_{t−1} + σ(a_i)⊙tanh(a_g)
    lstm_hidden  h_t = σ(a_o)⊙tanh(c_t)
    gru_hidden   h_t = (1 − z)⊙n + z⊙h_{t−1}, r = σ(ax_r + ah_r), z = σ(ax_z + ah_z),
                 n = tanh(ax_n + r⊙ah_n), with ax = x_t·W + b and ah = h_{t−1}·R (PyTorch's GRU
                 with its hidden bias of n at zero)
    stack        O = the states h_1 … h_T as the rows of a T×units matrix (two directions side by side)
    row          x_t = row t of a matrix
    gate         one gate block through its activation: σ(a[i]), or σ(ax[r] + ah[r])     (drawn cells)
    gru_candidate  n = tanh(ax[n] + r⊙ah[n])
    lstm_c       c_t = f⊙c_{t−1} + i⊙g;   lstm_h  h_t = o⊙tanh(c_t)
    gru_mix      h_t = (1 − z)⊙n + z⊙h_{t−1}
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import sigmoid
from .core import ADD, LOCAL, MATMUL, MAX, const, register, unbroadcast
from .elementary import matmul_forward, matmul_vjp


def block(a, index: int, units: int):
    """Gate block `index` of a pre-activation (its last axis holds gates·units)."""
    return a[..., index * units:(index + 1) * units]


def units_of(a, gates: int) -> int:
    return np.shape(a)[-1] // gates


def placed(parts: dict, like, units: int):
    """A gradient shaped like `like` with each gate block's share in place (absent blocks: 0)."""
    grad = np.zeros(np.shape(like))
    for index, part in parts.items():
        grad[..., index * units:(index + 1) * units] = part
    return grad


# ---- a_t = x_t·W + h_{t−1}·R (+ b) ---------------------------------------------------------------

def recur_forward(xs, p):
    total = matmul_forward(xs[0:3:2], None) + matmul_forward(xs[1:4:2], None)
    return total + xs[4] if len(xs) == 5 else total


def recur_vjp(g, out, xs, p):
    dx, dW = matmul_vjp(g, out, xs[0:3:2], None)
    dh, dR = matmul_vjp(g, out, xs[1:4:2], None)
    grads = (dx, dh, dW, dR)
    return grads + (unbroadcast(g, np.shape(xs[4])),) if len(xs) == 5 else grads


def recur_text(a, p):
    text = f"{a[0]}·{a[2]} + {a[1]}·{a[3]}"
    return text + f" + {a[4]}" if len(a) == 5 else text


register(name="recur", gate=MATMUL, arity=None, verb="recurrent step",
         forward=recur_forward, vjp=recur_vjp, symbol=const("@+"), text=recur_text,
         local_text=lambda a, o, p: [f"d·{a[2]}ᵀ", f"d·{a[3]}ᵀ", f"{a[0]}ᵀ·d", f"{a[1]}ᵀ·d", "d"][:len(a)])


# ---- LSTM: the cell and the hidden state ----------------------------------------------------------

def lstm_gates(a):
    """i, f, g, o of a pre-activation (4·units)."""
    u = units_of(a, 4)
    return sigmoid(block(a, 0, u)), sigmoid(block(a, 1, u)), np.tanh(block(a, 2, u)), sigmoid(block(a, 3, u))


def lstm_cell_forward(xs, p):
    i, f, g, _ = lstm_gates(xs[0])
    return f * xs[1] + i * g


def lstm_cell_vjp(grad, out, xs, p):
    a, c_prev = xs
    i, f, g, _ = lstm_gates(a)
    u = units_of(a, 4)
    parts = {0: grad * g * i * (1 - i), 1: grad * c_prev * f * (1 - f), 2: grad * i * (1 - g * g)}
    return placed(parts, a, u), grad * f


def lstm_hidden_forward(xs, p):
    a, c = xs
    return lstm_gates(a)[3] * np.tanh(c)


def lstm_hidden_vjp(grad, out, xs, p):
    a, c = xs
    o, t = lstm_gates(a)[3], np.tanh(c)
    return placed({3: grad * t * o * (1 - o)}, a, units_of(a, 4)), grad * o * (1 - t * t)


register(name="lstm_cell", gate=LOCAL, arity=2, verb="LSTM cell",
         forward=lstm_cell_forward, vjp=lstm_cell_vjp, symbol=const("c"),
         text=lambda a, p: f"f⊙{a[1]} + i⊙g of {a[0]}",
         local_text=lambda a, o, p: [f"[d⊙g⊙i(1−i), d⊙{a[1]}⊙f(1−f), d⊙i⊙(1−g²), 0]", "f"])
register(name="lstm_hidden", gate=LOCAL, arity=2, verb="LSTM output",
         forward=lstm_hidden_forward, vjp=lstm_hidden_vjp, symbol=const("h"),
         text=lambda a, p: f"o⊙tanh({a[1]}), o of {a[0]}",
         local_text=lambda a, o, p: [f"[0, 0, 0, d⊙tanh({a[1]})⊙o(1−o)]", f"o⊙(1 − tanh²({a[1]}))"])


# ---- GRU -------------------------------------------------------------------------------------

def gru_gates(ax, ah):
    """r, z, n of the input part ax = x·W + b and the hidden part ah = h·R (3·units each)."""
    u = units_of(ax, 3)
    r = sigmoid(block(ax, 0, u) + block(ah, 0, u))
    z = sigmoid(block(ax, 1, u) + block(ah, 1, u))
    n = np.tanh(block(ax, 2, u) + r * block(ah, 2, u))
    return r, z, n


def gru_hidden_forward(xs, p):
    ax, ah, h = xs
    _, z, n = gru_gates(ax, ah)
    return (1 - z) * n + z * h


def gru_hidden_vjp(grad, out, xs, p):
    ax, ah, h = xs
    u = units_of(ax, 3)
    r, z, n = gru_gates(ax, ah)
    dn = grad * (1 - z) * (1 - n * n)                 # at n's pre-activation
    dz = grad * (h - n) * z * (1 - z)
    dr = dn * block(ah, 2, u) * r * (1 - r)
    return placed({0: dr, 1: dz, 2: dn}, ax, u), placed({0: dr, 1: dz, 2: dn * r}, ah, u), grad * z


register(name="gru_hidden", gate=LOCAL, arity=3, verb="GRU step",
         forward=gru_hidden_forward, vjp=gru_hidden_vjp, symbol=const("GRU"),
         text=lambda a, p: f"(1 − z)⊙n + z⊙{a[2]} of {a[0]}, {a[1]}",
         local_text=lambda a, o, p: ["[dr, dz, dn]", "[dr, dz, dn⊙r]", "z"])


# ---- the sequence as a matrix, and a matrix's rows --------------------------------------------------

def stack_forward(xs, p):
    """The vectors xs as the rows of a matrix; p: the directions (1, or 2: the first half of xs
    forward, the second reverse, side by side)."""
    if p == 2:
        half = len(xs) // 2
        return np.concatenate([np.stack(xs[:half]), np.stack(xs[half:])], axis=1)
    return np.stack(xs)


def stack_vjp(g, out, xs, p):
    g = np.asarray(g, dtype=float)
    if p == 2:
        half, width = len(xs) // 2, np.shape(xs[0])[-1]
        return tuple(g[t, :width] for t in range(half)) + tuple(g[t, width:] for t in range(half))
    return tuple(g[t] for t in range(len(xs)))


register(name="stack", gate=ADD, arity=None, verb="stack: each step gets its row of d",
         forward=stack_forward, vjp=stack_vjp, symbol=const("stack"),
         text=lambda a, p: f"[{', '.join(a)}]" if len(a) <= 4 else f"[{a[0]}, …, {a[-1]}]",
         local_text=lambda a, o, p: [f"row {t + 1} of d" for t in range(len(a))])


def row_vjp(g, out, xs, p):
    grad = np.zeros(np.shape(xs[0]))
    grad[p] = g
    return (grad,)


register(name="row", gate=MAX, verb="a row routes d back to its place",
         forward=lambda xs, p: np.array(np.asarray(xs[0], dtype=float)[p]), vjp=row_vjp,
         symbol=lambda p: f"row {p + 1}", text=lambda a, p: f"{a[0]}[{p + 1}]",
         local_text=lambda a, o, p: [f"δ(row {p + 1})"])


# ---- drawn cells: one gate block through its activation ----------------------------------------------

@dataclass(frozen=True)
class Gate:
    """Gate `letter` of a cell: block `index` of the pre-activation(s), through `activation`."""
    letter: str
    activation: str          # sigmoid | tanh
    index: int
    gates: int               # blocks in the pre-activation: 4 (LSTM) or 3 (GRU)


ACTIVATE = {"sigmoid": (sigmoid, lambda y: y * (1 - y), "σ"), "tanh": (np.tanh, lambda y: 1 - y * y, "tanh")}


def gate_input(xs, p: Gate):
    u = units_of(xs[0], p.gates)
    return sum(block(x, p.index, u) for x in xs)


def gate_forward(xs, p: Gate):
    return ACTIVATE[p.activation][0](gate_input(xs, p))


def gate_vjp(g, out, xs, p: Gate):
    share = g * ACTIVATE[p.activation][1](out)
    u = units_of(xs[0], p.gates)
    return tuple(placed({p.index: share}, x, u) for x in xs)


def gate_text(a, p: Gate):
    inside = " + ".join(f"{x}[{p.letter}]" for x in a)
    return f"{ACTIVATE[p.activation][2]}({inside})"


register(name="gate", gate=LOCAL, arity=None, verb="gate",
         forward=gate_forward, vjp=gate_vjp, symbol=lambda p: ACTIVATE[p.activation][2], text=gate_text,
         local_text=lambda a, o, p: [f"{o}(1 − {o})" if p.activation == "sigmoid" else f"1 − {o}²"] * len(a))


def candidate_parts(xs, p):
    """ax[n], ah[n] and r: the blocks of the pre-activations (p = units), or already the n parts
    themselves (p = None: one neuron's sums)."""
    ax, ah, r = xs
    if p is None:
        return ax, ah, r
    return block(ax, 2, p), block(ah, 2, p), r


def candidate_forward(xs, p):
    nx, nh, r = candidate_parts(xs, p)
    return np.tanh(nx + r * nh)


def candidate_vjp(g, out, xs, p):
    ax, ah, r = xs
    nx, nh, _ = candidate_parts(xs, p)
    share = g * (1 - out * out)
    if p is None:
        return share, share * r, share * nh
    return placed({2: share}, ax, p), placed({2: share * r}, ah, p), share * nh


def candidate_text(a, p):
    nx, nh = (a[0], a[1]) if p is None else (f"{a[0]}[n]", f"{a[1]}[n]")
    return f"tanh({nx} + {a[2]}⊙{nh})"


register(name="gru_candidate", gate=LOCAL, arity=3, verb="GRU candidate",
         forward=candidate_forward, vjp=candidate_vjp, symbol=const("tanh"), text=candidate_text,
         local_text=lambda a, o, p: [f"1 − {o}²", f"(1 − {o}²)⊙{a[2]}",
                                     f"(1 − {o}²)⊙{a[1] if p is None else a[1] + '[n]'}"])


# ---- drawn cells: the state updates, entry by entry -----------------------------------------------------

# c_t = f⊙c_{t−1} + i⊙g: the cell path, along which d is only multiplied by f
register(name="lstm_c", gate=LOCAL, arity=4, verb="LSTM cell: c = f⊙c′ + i⊙g",
         forward=lambda xs, p: xs[0] * xs[1] + xs[2] * xs[3],
         derivatives=(lambda o, xs, p: xs[1], lambda o, xs, p: xs[0],
                      lambda o, xs, p: xs[3], lambda o, xs, p: xs[2]),
         symbol=const("c"), text=lambda a, p: f"{a[0]}⊙{a[1]} + {a[2]}⊙{a[3]}",
         local_text=lambda a, o, p: [a[1], a[0], a[3], a[2]])
# h_t = o⊙tanh(c_t)
register(name="lstm_h", gate=LOCAL, arity=2, verb="LSTM output: h = o⊙tanh(c)",
         forward=lambda xs, p: xs[0] * np.tanh(xs[1]),
         derivatives=(lambda o, xs, p: np.tanh(xs[1]), lambda o, xs, p: xs[0] * (1 - np.tanh(xs[1]) ** 2)),
         symbol=const("h"), text=lambda a, p: f"{a[0]}⊙tanh({a[1]})",
         local_text=lambda a, o, p: [f"tanh({a[1]})", f"{a[0]}⊙(1 − tanh²({a[1]}))"])
# h_t = (1 − z)⊙n + z⊙h_{t−1}
register(name="gru_mix", gate=LOCAL, arity=3, verb="GRU update: h = (1 − z)⊙n + z⊙h′",
         forward=lambda xs, p: (1 - xs[0]) * xs[1] + xs[0] * xs[2],
         derivatives=(lambda o, xs, p: xs[2] - xs[1], lambda o, xs, p: 1 - xs[0], lambda o, xs, p: xs[0]),
         symbol=const("h"), text=lambda a, p: f"(1 − {a[0]})⊙{a[1]} + {a[0]}⊙{a[2]}",
         local_text=lambda a, o, p: [f"{a[2]} − {a[1]}", f"1 − {a[0]}", a[0]])
