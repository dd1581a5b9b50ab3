"""The registry's machinery: the Op record, the table OPS and how entries get into it, and the
helpers every family of ops shares (undoing broadcasting, VJPs from local derivatives, texts)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..numfmt import fmt_number

# Gate kinds: how the backward pass treats the upstream gradient (DESIGN.md).
ADD, MUL, MAX, LOCAL, MATMUL = "add", "mul", "max", "local", "matmul"
COMPOSITE = "composite"              # a statement's gates folded into one (the statement view)
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
    work: Callable | None = None       # (input shapes, p) -> arithmetic operations of the forward
                                       # rule (budget.py); None: one per number, or a product's
                                       # multiply-adds for a MATMUL gate
    learns: bool = False               # its p holds weights a network learns (a neuron's): a gate
                                       # of data alone still has a gradient (engine.data_gates)

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


def one_per_column(shape: tuple, columns: int) -> bool:
    """A number or one entry per column, as a vector or a 1×m row: (), (1,), (1, 1), (m,), (1, m)."""
    return shape in ((), (1,), (1, 1), (columns,), (1, columns))


def at_zero(out, xs, p) -> bool:
    return bool(np.any(np.equal(xs[0], 0)))


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
