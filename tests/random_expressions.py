"""Random expression trees for the property tests (finite differences) and the PyTorch oracle.

A tree is nested tuples: ("var", name), ("const", number) or (op, *children), with op a name of
the registry's user-facing operators and functions. A tree can be written as nngraph source, built
with the var() front end, evaluated by the independent numpy reference below, or built in torch.

The generator draws the point first and builds the tree bottom-up with every subtree's value at
hand, so it keeps domains valid by construction: log, sqrt and fractional powers get a positive
argument, denominators stay away from 0, and relu, abs, step, max and min stay `MARGIN` away from
their kinks (an argument is shifted by a literal when it comes too close).
"""
from __future__ import annotations

from functools import lru_cache, reduce

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

MARGIN = 0.05          # distance kept from kinks (relu, abs, step at 0; max/min ties)
LIMIT = 1e3            # no intermediate value larger than this (keeps exp and pow from overflowing)

UNARY = ("neg", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step")
BINARY = ("add", "sub", "mul", "div", "pow", "max", "min")
REDUCE = ("sum", "mean", "max", "min")
INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}

SCALAR_VARIABLES = {"x": (), "y": (), "z": ()}
MATRIX_VARIABLES = {"s": (), "v": (3,), "u": (2,), "r": (1, 3), "k": (2, 1),
                    "M": (2, 3), "N": (3, 2), "Q": (2, 2)}
SHIFTS = (0.0, 0.5, -0.75, 1.25, -1.5, 2.5, -3.0)


# ---- the independent reference: plain numpy, written here, not taken from the registry ---------

def softmax(a):
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return np.float64(1.0)
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


REFERENCE = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "relu": lambda a: np.where(a > 0, a, 0.0),
    "step": lambda a: np.where(a > 0, 1.0, 0.0),
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "matmul": np.matmul,
    "max": lambda *xs: np.max(xs[0]) if len(xs) == 1 else reduce(np.maximum, xs),
    "min": lambda *xs: np.min(xs[0]) if len(xs) == 1 else reduce(np.minimum, xs),
    "sum": np.sum, "mean": np.mean, "softmax": softmax,
}


def evaluate(tree, values: dict):
    """The tree's value at the point, by the reference above (recursion is fine: trees are small)."""
    kind = tree[0]
    if kind == "var":
        return np.asarray(values[tree[1]], dtype=float)
    if kind == "const":
        return np.asarray(tree[1], dtype=float)
    with np.errstate(all="ignore"):
        return np.asarray(REFERENCE[kind](*(evaluate(c, values) for c in tree[1:])), dtype=float)


def variables_in(tree) -> set[str]:
    if tree[0] == "var":
        return {tree[1]}
    if tree[0] == "const":
        return set()
    return set().union(*(variables_in(c) for c in tree[1:]))


# ---- writing a tree in the three front ends ------------------------------------------------

def to_source(tree) -> str:
    kind = tree[0]
    if kind == "var":
        return tree[1]
    if kind == "const":
        return f"({tree[1]!r})" if tree[1] < 0 else repr(tree[1])
    args = [to_source(c) for c in tree[1:]]
    if kind == "neg":
        return f"(-{args[0]})"
    if kind in INFIX:
        return f"({args[0]} {INFIX[kind]} {args[1]})"
    return f"{kind}({', '.join(args)})"


def to_var(tree, variables: dict):
    """The same tree built with graphviz_nn.var / fn (operator overloading)."""
    from graphviz_nn import fn
    kind = tree[0]
    if kind == "var":
        return variables[tree[1]]
    if kind == "const":
        return tree[1]
    args = [to_var(c, variables) for c in tree[1:]]
    if kind == "neg":
        return -args[0]
    if kind in INFIX:
        a, b = args
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                "div": lambda: a / b, "pow": lambda: a ** b, "matmul": lambda: a @ b}[kind]()
    return getattr(fn, kind)(*args)


def to_torch(tree, tensors: dict):
    import torch
    kind = tree[0]
    if kind == "var":
        return tensors[tree[1]]
    if kind == "const":
        return torch.tensor(tree[1], dtype=torch.float64)
    args = [to_torch(c, tensors) for c in tree[1:]]
    a = args[0]
    unary = {"neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
             "abs": torch.abs, "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh,
             "sigmoid": torch.sigmoid, "relu": torch.relu,
             "step": lambda t: (t > 0).to(torch.float64),      # derivative 0 away from the kink
             "sum": torch.sum, "mean": torch.mean,
             "softmax": lambda t: torch.softmax(t, dim=-1)}
    if kind in unary and len(args) == 1:
        return unary[kind](a)
    if kind in ("max", "min"):
        if len(args) == 1:
            return torch.max(a) if kind == "max" else torch.min(a)
        pick = torch.maximum if kind == "max" else torch.minimum
        return reduce(pick, args)
    b = args[1]
    return {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
            "pow": torch.pow, "matmul": torch.matmul}[kind](a, b)


# ---- the generator ------------------------------------------------------------------------

@lru_cache(maxsize=None)
def partner_shapes(shape, shapes) -> tuple:
    """Shapes that broadcast against `shape` without changing it (scalar, row, column, same)."""
    found = []
    for other in shapes:
        try:
            if np.broadcast_shapes(shape, other) == shape:
                found.append(other)
        except ValueError:
            pass
    return tuple(sorted(set(found), key=len))


MATMUL = {   # result shape -> (left, right) shapes of a matrix product giving it
    (): [((3,), (3,)), ((2,), (2,))],
    (2,): [((2, 3), (3,)), ((2, 2), (2,))],
    (3,): [((2,), (2, 3)), ((3, 2), (2,))],
    (2, 2): [((2, 3), (3, 2)), ((2, 2), (2, 2))],
    (2, 3): [((2, 2), (2, 3))],
    (3, 2): [((3, 2), (2, 2))],
    (2, 1): [((2, 2), (2, 1))],
}


@lru_cache(maxsize=None)
def one_of(*choices):
    """sampled_from, made once per set of choices (hypothesis validates each new strategy)."""
    return st.sampled_from(choices)


DIGIT = st.integers(0, 9)
ENTRY = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
SEED_ENTRY = st.tuples(st.floats(0.1, 2.0), st.booleans()).map(lambda t: t[0] if t[1] else -t[0])


@lru_cache(maxsize=None)
def entries_of(size: int, entry=ENTRY):
    return st.lists(entry, min_size=size, max_size=size)


class Generator:
    def __init__(self, draw, variables: dict, max_depth: int):
        self.draw, self.variables, self.max_depth = draw, variables, max_depth
        self.values: dict[str, np.ndarray] = {}     # drawn when a leaf first uses the variable
        self.shapes = tuple(sorted(set(variables.values()), key=len))
        self.matrices = len(self.shapes) > 1

    def leaf(self, shape):
        if shape == () and self.draw(DIGIT) < 3:
            c = self.draw(one_of(0.5, 1.0, 2.0, 3.0, -1.0, 1.5, -0.25))
            return ("const", c), np.asarray(c)
        name = self.draw(one_of(*(n for n, s in self.variables.items() if s == shape)))
        if name not in self.values:
            size = int(np.prod(shape, dtype=int))
            entries = self.draw(entries_of(size))
            self.values[name] = np.array(entries, dtype=float).reshape(shape)
        return ("var", name), self.values[name]

    def node(self, shape, depth):
        if depth >= self.max_depth or (depth and self.draw(DIGIT) < 2 + depth):
            return self.leaf(shape)
        kinds = ("unary",) * 4 + ("binary",) * 4 + ("nary",)
        if shape == ():
            kinds += ("reduce",) * (5 if self.matrices else 1)
        if shape in MATMUL and self.matrices:
            kinds += ("matmul",) * 2
        if shape != () or not self.matrices:
            kinds += ("softmax",)
        kind = self.draw(one_of(*kinds))
        result = getattr(self, kind)(shape, depth + 1)
        assume(np.all(np.isfinite(result[1])) and np.all(np.abs(result[1]) < LIMIT))
        return result

    # -- the kinds of node --

    def unary(self, shape, depth):
        op = self.draw(one_of(*UNARY))
        a = self.node(shape, depth)
        if op in ("log", "sqrt"):
            a = positive(a)
        if op in ("relu", "abs", "step"):
            a = away_from_zero(a, MARGIN)
        if op == "exp":
            assume(np.all(a[1] < 6))
        return apply(op, a)

    def binary(self, shape, depth):
        op = self.draw(one_of(*BINARY))
        other = self.draw(one_of(*partner_shapes(shape, self.shapes)))
        a, b = self.node(shape, depth), self.node(other, depth)
        if self.draw(st.booleans()) and op != "pow":
            a, b = b, a
        if op == "div":
            b = away_from_zero(b, 0.3)
        if op == "pow":
            return self.power(a, b)
        if op in ("max", "min"):
            a, b = distinct([a, b])
        return apply(op, a, b)

    def power(self, base, exponent):
        """x ** literal (integer: any base; fractional: positive base), literal ** x, or x ** y."""
        choice = self.draw(one_of("literal exponent", "literal exponent", "literal base", "both"))
        if choice == "literal exponent":
            p = self.draw(one_of(2.0, 3.0, -1.0, 0.5, 1.5))
            if p == -1.0:
                base = away_from_zero(base, 0.3)
            elif p != int(p):
                base = positive(base)
            return apply("pow", base, (("const", p), np.asarray(p)))
        if choice == "literal base":       # the exponent takes the base's place: it has the shape
            c = self.draw(one_of(2.0, 0.5, 3.0))
            assume(np.all(np.abs(base[1]) < 6))
            return apply("pow", (("const", c), np.asarray(c)), base)
        assume(np.all(np.abs(exponent[1]) < 4))
        return apply("pow", positive(base), exponent)

    def nary(self, shape, depth):
        """max or min of two or three arguments, broadcasting, kept apart from ties."""
        op = self.draw(one_of("max", "min"))
        count = self.draw(one_of(2, 3))
        args = [self.node(shape, depth)]
        args += [self.node(self.draw(one_of(*partner_shapes(shape, self.shapes))), depth)
                 for _ in range(count - 1)]
        return apply(op, *distinct(args))

    def reduce(self, shape, depth):
        op = self.draw(one_of(*REDUCE))
        inner = self.draw(one_of(*([s for s in self.shapes if s != ()] or [()])))
        a = self.node(inner, depth)
        if op in ("max", "min") and a[1].size > 1:
            top = np.sort(a[1].ravel())
            gaps = np.diff(top[-2:] if op == "max" else top[:2])
            assume(np.all(np.abs(gaps) > MARGIN))
        return apply(op, a)

    def matmul(self, shape, depth):
        left, right = self.draw(one_of(*MATMUL[shape]))
        return apply("matmul", self.node(left, depth), self.node(right, depth))

    def softmax(self, shape, depth):
        return apply("softmax", self.node(shape, depth))


def apply(op, *args):
    tree = (op, *(a[0] for a in args))
    with np.errstate(all="ignore"):
        return tree, np.asarray(REFERENCE[op](*(a[1] for a in args)), dtype=float)


def shifted(node, shift):
    return node if shift == 0 else apply("add", node, (("const", shift), np.asarray(shift)))


def away_from_zero(node, margin):
    """The node, or the node plus a literal, with every entry at least margin away from 0."""
    for shift in SHIFTS:
        if np.all(np.abs(node[1] + shift) > margin):
            return shifted(node, shift)
    assume(False)


def positive(node):
    """The node if all its entries are comfortably positive, else node*node + 0.5."""
    if np.all(node[1] > 0.2):
        return node
    square = apply("mul", node, node)
    return apply("add", square, (("const", 0.5), np.asarray(0.5)))


def distinct(nodes):
    """Shift the 2nd, 3rd, … node by literals until no two are within MARGIN anywhere (no ties)."""
    kept = [nodes[0]]
    for node in nodes[1:]:
        for shift in SHIFTS:
            candidate = node[1] + shift
            if all(np.all(np.abs(candidate - k[1]) > MARGIN) for k in kept):
                kept.append(shifted(node, shift))
                break
        else:
            assume(False)
    return kept


@st.composite
def expressions(draw, matrices: bool = False, max_depth: int = 4):
    """(tree, values of the variables it uses, its reference value, a seed gradient for its output)."""
    variables = MATRIX_VARIABLES if matrices else SCALAR_VARIABLES
    generator = Generator(draw, variables, max_depth)
    shape = draw(one_of(*generator.shapes)) if matrices else ()
    tree, value = generator.node(shape, 0)
    used = variables_in(tree)
    assume(used)
    seed = np.array(draw(entries_of(value.size, SEED_ENTRY)),
                    dtype=float).reshape(value.shape)
    return tree, {n: generator.values[n] for n in sorted(used)}, value, seed


def numeric_gradients(tree, values: dict, seed, step: float = 1e-6) -> dict:
    """Central finite differences of sum(seed · tree) in every entry of every variable."""
    grads = {}
    for name, base in values.items():
        grad = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            h = step * max(1.0, abs(float(base[index])))
            ends = []
            for sign in (1, -1):
                moved = base.copy()
                moved[index] += sign * h
                ends.append(np.sum(seed * evaluate(tree, {**values, name: moved})))
            grad[index] = (ends[0] - ends[1]) / (2 * h)
        grads[name] = grad
    return grads
