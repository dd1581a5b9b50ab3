"""Random expression trees for the property tests (finite differences) and the PyTorch oracle.

A tree is nested tuples: ("var", name), ("const", number) or (op, *children), with op a name of
the registry's user-facing operators and functions ("index" for x[key]); a call that adds something
after its inputs ends with it: ("leaky_relu", x, Slope(0.2)), ("sum", X, Axis(0)),
("index", X, Key((1, slice(None)))), ("conv2d", X, K, Keywords((("stride", 2), ("padding", 1)))).
A tree can be written as nngraph source, built with the var() front end, evaluated by the
independent numpy reference below, or built in torch.

The generator draws the point first and builds the tree bottom-up with every subtree's value at
hand, so it keeps domains valid by construction: log, sqrt and fractional powers get a positive
argument, denominators stay away from 0, relu, abs, step, leaky_relu and prelu stay `MARGIN` away
from their kinks (an argument is shifted by a literal when it comes too close), max and min (of
several arguments, or of each slice, or of each maxpool window) have no ties, and batchnorm's
columns are spread out. conv2d, maxpool, avgpool and flatten find their input shapes among the
variables' (an image P, G and the kernels Q, M, N, r, k…), with strides, paddings and window sizes
that give the shape asked for, partial windows included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache, reduce
from itertools import product

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

MARGIN = 0.05          # distance kept from kinks (relu, abs, step, leaky_relu, prelu at 0; max/min
                       # and maxpool ties)
LIMIT = 1e3            # no intermediate value larger than this (keeps exp and pow from overflowing)

UNARY = ("neg", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step",
         "softplus", "swish", "mish", "elu", "gelu", "leaky_relu")
KINKED = ("relu", "abs", "step", "leaky_relu")         # a kink at 0
BINARY = ("add", "sub", "mul", "div", "pow", "max", "min")
REDUCE = ("sum", "mean", "max", "min", "var")
AXES = (0, 1, -1)                                     # the axis= a reduction is written with
SLOPES = (0.2, 0.1, 0.3)                              # leaky_relu(x, slope)'s literal slopes
KEY_PARTS = (0, 1, 2, -1, slice(None), slice(0, 2), slice(1, None))
STRIDES = (1, 2, 3)                                   # conv2d's and the pools' strides
PADDINGS = (0, 1, 2)                                  # conv2d's rings of zeros
SIZES = (1, 2, 3)                                     # the pools' windows: size×size
POOLS = ("maxpool", "avgpool")
INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}
# Every op a tree can hold, and what each call can add after its inputs ("number": a literal such
# as leaky_relu's slope; a keyword by its name): the coverage test holds these against the registry.
GENERATED = frozenset(UNARY + BINARY + REDUCE + POOLS + ("softmax", "matmul", "prelu", "batchnorm",
                                                         "index", "conv2d", "flatten"))
EXTRAS = {"leaky_relu": {"number"}, **{name: {"axis"} for name in REDUCE},
          "conv2d": {"stride", "padding"}, **{name: {"size", "stride"} for name in POOLS}}

SCALAR_VARIABLES = {"x": (), "y": (), "z": ()}
MATRIX_VARIABLES = {"s": (), "v": (3,), "u": (2,), "r": (1, 3), "k": (2, 1),
                    "M": (2, 3), "N": (3, 2), "Q": (2, 2),
                    "P": (3, 3), "G": (4, 4), "w": (1, 4), "e": (1, 1)}   # images, flatten's row, 1×1
SHIFTS = (0.0, 0.5, -0.75, 1.25, -1.5, 2.5, -3.0)
SOFTPLUS_LINEAR = 20   # PyTorch's softplus is x itself above this threshold
EPSILON = 1e-5         # PyTorch's batchnorm ε
SPREAD = 0.02          # batchnorm's input keeps each column's variance above this


# ---- what a call adds after its inputs: the last element of its tuple ------------------------

@dataclass(frozen=True)
class Slope:
    """A literal number after the inputs: leaky_relu(x, 0.2)."""
    value: float

    def source(self):
        return f", {self.value!r}"


@dataclass(frozen=True)
class Axis:
    """A reduction's keyword: sum(X, axis=0)."""
    value: int

    def source(self):
        return f", axis={self.value}"


@dataclass(frozen=True)
class Keywords:
    """Keywords with literal integers, in the order written: conv2d(X, K, stride=2, padding=1) is
    Keywords((("stride", 2), ("padding", 1))); one left out takes the op's default."""
    items: tuple

    def source(self):
        return "".join(f", {name}={value}" for name, value in self.items)


@dataclass(frozen=True)
class Key:
    """An index of integers and slices: X[1, :] is Key((1, slice(None)))."""
    parts: tuple

    def source(self):
        return "[" + ", ".join(map(key_part, self.parts)) + "]"


def key_part(part) -> str:
    if isinstance(part, slice):
        return ":".join("" if b is None else str(b) for b in (part.start, part.stop))
    return str(part)


EXTRA = (Slope, Axis, Keywords, Key)


def is_variable(tree) -> bool:
    """A leaf ("var", name), not the variance ("var", subtree) of the op of that name."""
    return tree[0] == "var" and isinstance(tree[1], str)


def subtrees(tree) -> tuple:
    return tree[1:-1] if isinstance(tree[-1], EXTRA) else tree[1:]


def extra(tree):
    return tree[-1] if isinstance(tree[-1], EXTRA) else None


# ---- the independent reference: plain numpy, written here, not taken from the registry ---------

def softmax(a):
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return np.float64(1.0)
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def softplus(a):
    """ln(1 + eˣ), and x itself above PyTorch's threshold."""
    return np.where(a > SOFTPLUS_LINEAR, a, np.log(1.0 + np.exp(np.minimum(a, SOFTPLUS_LINEAR))))


def gelu(a):
    """x·Φ(x) with Φ the standard normal CDF (PyTorch's exact form)."""
    return np.vectorize(lambda t: 0.5 * t * math.erfc(-t / math.sqrt(2.0)), otypes=[float])(a)


def batchnorm(x, gamma, beta):
    """Each column over the rows: (x − mean)/√(biased variance + ε)·γ + β."""
    centred = x - x.mean(axis=0)
    return centred / np.sqrt((centred ** 2).mean(axis=0) + EPSILON) * gamma + beta


def conv2d(x, k, stride=1, padding=0):
    """The cross-correlation, from its definition: Y[h, w] = Σ_ij X₀[s·h + i, s·w + j]·K[i, j], X₀ being
    X inside `padding` rings of zeros, for h < ⌊(H + 2p − kh)/s⌋ + 1 (w alike); a C×H×W X with an
    F×C×kh×kw K gives F×H'×W', each filter summing over the channels too."""
    x, k = np.asarray(x, dtype=float), np.asarray(k, dtype=float)
    image = x.ndim == 2
    if image:
        x, k = x[None], k[None, None]
    channels, height, width = x.shape
    filters, _, kh, kw = k.shape
    zeros = np.zeros((channels, height + 2 * padding, width + 2 * padding))
    zeros[:, padding:padding + height, padding:padding + width] = x
    y = np.zeros((filters, (height + 2 * padding - kh) // stride + 1,
                  (width + 2 * padding - kw) // stride + 1))
    for f, h, w in np.ndindex(y.shape):
        y[f, h, w] = sum(zeros[c, stride * h + i, stride * w + j] * k[f, c, i, j]
                         for c, i, j in np.ndindex(channels, kh, kw))
    return y[0] if image else y


def pool(pick):
    """maxpool/avgpool from the definition: pick of each size×size window over the last two axes,
    windows `stride` apart (stride = size when left out), partial windows dropped."""
    def pooled(x, size=2, stride=None):
        x = np.asarray(x, dtype=float)
        stride = size if stride is None else stride
        rows, cols = ((n - size) // stride + 1 for n in x.shape[-2:])
        y = np.zeros(x.shape[:-2] + (rows, cols))
        for cell in np.ndindex(y.shape):
            lead, (h, w) = cell[:-2], cell[-2:]
            y[cell] = pick([x[lead + (stride * h + i, stride * w + j)]
                            for i in range(size) for j in range(size)])
        return y
    return pooled


def flatten(x):
    """A 1×N row of X's entries, row-major (the last index moving fastest)."""
    x = np.asarray(x, dtype=float)
    return np.array([[x[index] for index in np.ndindex(x.shape)]])


def extreme(pick, pairwise):
    """max/min: of one argument's entries (along an axis), or entry by entry of several."""
    return lambda *xs, axis=None: pick(xs[0], axis=axis) if len(xs) == 1 else reduce(pairwise, xs)


REFERENCE = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "sigmoid": sigmoid,
    "relu": lambda a: np.where(a > 0, a, 0.0),
    "step": lambda a: np.where(a > 0, 1.0, 0.0),
    "softplus": softplus,
    "swish": lambda a: a * sigmoid(a),
    "mish": lambda a: a * np.tanh(softplus(a)),
    "elu": lambda a: np.where(a > 0, a, np.exp(np.minimum(a, 0.0)) - 1.0),
    "gelu": gelu,
    "leaky_relu": lambda a, slope=0.01: np.where(a > 0, a, slope * a),
    "prelu": lambda a, w: np.where(a > 0, a, w * a),
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "matmul": np.matmul,
    "max": extreme(np.max, np.maximum), "min": extreme(np.min, np.minimum),
    "sum": np.sum, "mean": np.mean, "var": np.var,      # np.var: the population variance (ddof 0)
    "softmax": softmax, "batchnorm": batchnorm,
    "index": lambda a, key: a[key],
    "conv2d": conv2d, "maxpool": pool(max), "avgpool": pool(lambda cells: sum(cells) / len(cells)),
    "flatten": flatten,
}


def compute(op, inputs, added=None):
    """The reference's value of op on input values, with what the call adds after them."""
    with np.errstate(all="ignore"):
        if isinstance(added, Slope):
            value = REFERENCE[op](*inputs, added.value)
        elif isinstance(added, Axis):
            value = REFERENCE[op](*inputs, axis=added.value)
        elif isinstance(added, Keywords):
            value = REFERENCE[op](*inputs, **dict(added.items))
        elif isinstance(added, Key):
            value = REFERENCE[op](*inputs, added.parts)
        else:
            value = REFERENCE[op](*inputs)
    return np.array(value, dtype=float)


def evaluate(tree, values: dict):
    """The tree's value at the point, by the reference above (recursion is fine: trees are small)."""
    kind = tree[0]
    if is_variable(tree):
        return np.asarray(values[tree[1]], dtype=float)
    if kind == "const":
        return np.asarray(tree[1], dtype=float)
    return compute(kind, [evaluate(c, values) for c in subtrees(tree)], extra(tree))


def variables_in(tree) -> set[str]:
    if is_variable(tree):
        return {tree[1]}
    if tree[0] == "const":
        return set()
    return set().union(*(variables_in(c) for c in subtrees(tree)))


def forms_in(tree) -> set[str]:
    """The ops of a tree, and each call's extras as "sum(axis)", "leaky_relu(number)" or
    "conv2d(stride)" (one per keyword written)."""
    if is_variable(tree) or tree[0] == "const":
        return set()
    added = extra(tree)
    kinds = ({"number"} if isinstance(added, Slope) else {"axis"} if isinstance(added, Axis)
             else {name for name, _ in added.items} if isinstance(added, Keywords) else set())
    own = {tree[0]} | {f"{tree[0]}({kind})" for kind in kinds}
    return own.union(*(forms_in(c) for c in subtrees(tree)))


# ---- writing a tree in the three front ends ------------------------------------------------

def to_source(tree) -> str:
    kind = tree[0]
    if is_variable(tree):
        return tree[1]
    if kind == "const":
        return f"({tree[1]!r})" if tree[1] < 0 else repr(tree[1])
    args = [to_source(c) for c in subtrees(tree)]
    added = extra(tree)
    if kind == "index":             # every text below binds tightly: x, f(…), (…), x[…]
        return args[0] + added.source()
    if kind == "neg":
        return f"(-{args[0]})"
    if kind in INFIX:
        return f"({args[0]} {INFIX[kind]} {args[1]})"
    return f"{kind}({', '.join(args)}{added.source() if added else ''})"


def to_var(tree, variables: dict):
    """The same tree built with graphviz_nn.var / fn (operator overloading)."""
    from graphviz_nn import fn
    kind = tree[0]
    if is_variable(tree):
        return variables[tree[1]]
    if kind == "const":
        return tree[1]
    args = [to_var(c, variables) for c in subtrees(tree)]
    added = extra(tree)
    if kind == "neg":
        return -args[0]
    if kind in INFIX:
        a, b = args
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                "div": lambda: a / b, "pow": lambda: a ** b, "matmul": lambda: a @ b}[kind]()
    if isinstance(added, Key):
        return args[0][added.parts]
    if isinstance(added, Axis):
        return getattr(fn, kind)(*args, axis=added.value)
    if isinstance(added, Keywords):
        return getattr(fn, kind)(*args, **dict(added.items))
    if isinstance(added, Slope):
        return getattr(fn, kind)(*args, added.value)
    return getattr(fn, kind)(*args)


def to_torch(tree, tensors: dict):
    import torch
    import torch.nn.functional as F
    kind = tree[0]
    if is_variable(tree):
        return tensors[tree[1]]
    if kind == "const":
        return torch.tensor(tree[1], dtype=torch.float64)
    args = [to_torch(c, tensors) for c in subtrees(tree)]
    added = extra(tree)
    a = args[0]
    if kind == "index":
        return a[added.parts]
    if kind in REDUCE and len(args) == 1:
        return torch_reduction(kind, a, None if added is None else added.value)
    if kind == "leaky_relu":
        return F.leaky_relu(a, 0.01 if added is None else added.value)
    if kind == "prelu":
        return torch_prelu(a, args[1])
    keywords = dict(added.items) if isinstance(added, Keywords) else {}
    if kind == "conv2d":
        return torch_conv2d(a, args[1], **keywords)
    if kind in POOLS:
        return torch_pool(kind, a, **keywords)
    if kind == "flatten":
        return torch.flatten(a).reshape(1, -1)
    if kind == "batchnorm":
        columns = a.shape[1]          # γ, β: a number becomes one per column; torch 2.13's backward
        gamma, beta = (t.reshape(-1).expand(columns).contiguous()    # misreads a stride-0 weight
                       for t in args[1:])
        return F.batch_norm(a, None, None, gamma, beta, training=True, eps=EPSILON)
    unary = {"neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
             "abs": torch.abs, "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh,
             "sigmoid": torch.sigmoid, "relu": torch.relu,
             "step": lambda t: (t > 0).to(torch.float64),      # derivative 0 away from the kink
             "softplus": F.softplus, "swish": F.silu, "mish": F.mish, "elu": F.elu, "gelu": F.gelu,
             "softmax": lambda t: torch.softmax(t, dim=-1)}
    if kind in unary:
        return unary[kind](a)
    if kind in ("max", "min"):
        pick = torch.maximum if kind == "max" else torch.minimum
        return reduce(pick, args)
    b = args[1]
    return {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
            "pow": torch.pow, "matmul": torch.matmul}[kind](a, b)


def torch_reduction(kind, t, axis):
    """sum, mean, max, min, var over every entry (axis None) or along an axis; max and min on
    tie-free input (amax splits a tie's gradient, we route it to the first)."""
    import torch
    if axis is None:
        return {"sum": torch.sum, "mean": torch.mean, "max": torch.max, "min": torch.min,
                "var": lambda u: torch.var(u, correction=0)}[kind](t)
    return {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin,
            "var": lambda u, dim: torch.var(u, dim=dim, correction=0)}[kind](t, dim=axis)


def torch_conv2d(x, k, stride=1, padding=0):
    """F.conv2d wants a batch of channels: an H×W X and a kh×kw K get both axes added (and lose
    them after), a C×H×W X the batch axis."""
    import torch.nn.functional as F
    if x.dim() == 2:
        return F.conv2d(x[None, None], k[None, None], stride=stride, padding=padding)[0, 0]
    return F.conv2d(x[None], k, stride=stride, padding=padding)[0]


def torch_pool(kind, x, size=2, stride=None):
    """max_pool2d / avg_pool2d over the last two axes (torch's stride defaults to the size as
    ours; ceil_mode False drops partial windows); a matrix gets a channel axis for the call."""
    import torch.nn.functional as F
    pool = F.max_pool2d if kind == "maxpool" else F.avg_pool2d
    if x.dim() == 2:
        return pool(x[None], size, stride)[0]
    return pool(x, size, stride)


def torch_prelu(x, a):
    """nn.PReLU's kernel: its channels are axis 1 of a matrix; a vector with a slope per entry is a
    batch of one row."""
    import torch.nn.functional as F
    if a.numel() > 1 and x.dim() == 1:
        return F.prelu(x.reshape(1, -1), a.reshape(-1)).reshape(-1)
    return F.prelu(x, a.reshape(-1))


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
def reductions_to(shape, shapes) -> tuple:
    """(input shape, axis) pairs a reduction turns into `shape`: axis None gives a number, an axis
    drops that axis (0, 1 or -1, where the input has it)."""
    found = [(inner, None) for inner in shapes if inner and shape == ()]
    for inner, axis in product(shapes, AXES):
        if -len(inner) <= axis < len(inner) and np.sum(np.zeros(inner), axis=axis).shape == shape:
            found.append((inner, axis))
    return tuple(found)


@lru_cache(maxsize=None)
def indexings_to(shape, shapes) -> tuple:
    """(input shape, key) pairs with input[key] of `shape`: X[1], X[:, 0], X[0:2], X[-1], X[1, 2], …"""
    found = []
    for inner in (s for s in shapes if s):
        for key in (k for n in range(1, len(inner) + 1) for k in product(KEY_PARTS, repeat=n)):
            try:
                if np.zeros(inner)[key].shape == shape:
                    found.append((inner, key))
            except IndexError:          # an integer out of range for that axis
                pass
    return tuple(found)


def sliding(n: int, k: int, stride: int) -> int:
    """Windows of k along n entries, stride apart, partial ones dropped (0 when k does not fit)."""
    return (n - k) // stride + 1 if k <= n else 0


@lru_cache(maxsize=None)
def convolutions_to(shape, shapes) -> tuple:
    """(X's shape, K's shape, stride, padding) of the conv2d calls giving `shape`: an H×W X with a
    kh×kw K, or a C×H×W X with an F×C×kh×kw K (when the variables have such shapes); the kernel no
    larger than the image, the padding narrower than the kernel (no window of zeros only)."""
    found = []
    for x, k, stride, padding in product(shapes, shapes, STRIDES, PADDINGS):
        if not ((len(x), len(k)) == (2, 2) or (len(x), len(k)) == (3, 4) and k[1] == x[0]):
            continue
        if padding >= min(k[-2:]) or k[-2] > x[-2] or k[-1] > x[-1]:
            continue
        lead = () if len(x) == 2 else k[:1]
        spatial = tuple(sliding(n + 2 * padding, m, stride) for n, m in zip(x[-2:], k[-2:]))
        if all(spatial) and lead + spatial == shape:
            found.append((x, k, stride, padding))
    return tuple(found)


@lru_cache(maxsize=None)
def poolings_to(shape, shapes) -> tuple:
    """(X's shape, size, stride) of the maxpool/avgpool calls giving `shape`: windows over X's
    last two axes, its leading axes kept."""
    found = []
    for x, size, stride in product((s for s in shapes if len(s) >= 2), SIZES, STRIDES):
        spatial = tuple(sliding(n, size, stride) for n in x[-2:])
        if all(spatial) and x[:-2] + spatial == shape:
            found.append((x, size, stride))
    return tuple(found)


@lru_cache(maxsize=None)
def flattenings_to(shape, shapes) -> tuple:
    """Shapes of arrays whose flatten is `shape` (1×N): N entries, at least one axis."""
    if len(shape) != 2 or shape[0] != 1:
        return ()
    return tuple(s for s in shapes if s and int(np.prod(s)) == shape[1])


@lru_cache(maxsize=None)
def per_column(shape, shapes) -> tuple:
    """Shapes of a number or one entry per column of `shape`, no longer than it (prelu's a,
    batchnorm's γ and β): (), (m,), (1, m)."""
    m = shape[-1] if shape else None
    return tuple(s for s in shapes if s == () or (s in ((m,), (1, m)) and len(s) <= len(shape)))


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
        kinds = ("unary",) * 4 + ("binary",) * 4 + ("nary",) + ("prelu",)
        if shape == ():
            kinds += ("reduce",) * (5 if self.matrices else 1)
        elif reductions_to(shape, self.shapes):
            kinds += ("reduce",) * 3
        if shape in MATMUL and self.matrices:
            kinds += ("matmul",) * 2
        if shape != () or not self.matrices:
            kinds += ("softmax",)
        if indexings_to(shape, self.shapes):
            kinds += ("index",) * 2
        if len(shape) == 2 and shape[0] >= 2:
            kinds += ("batchnorm",)
        if convolutions_to(shape, self.shapes):
            kinds += ("conv2d",)
        if poolings_to(shape, self.shapes):
            kinds += ("pool",)
        if flattenings_to(shape, self.shapes):
            kinds += ("flatten",)
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
        if op in KINKED:
            a = away_from_zero(a, MARGIN)
        if op == "exp":
            assume(np.all(a[1] < 6))
        if op == "softplus":            # PyTorch's threshold: a jump of 2e-9 in the value there
            assume(np.all(np.abs(a[1] - SOFTPLUS_LINEAR) > MARGIN))
        slope = self.draw(one_of(None, *SLOPES)) if op == "leaky_relu" else None
        return apply(op, a) if slope is None else apply(op, a, added=Slope(slope))

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
        """sum, mean, max, min, var of every entry, or along an axis (axis=0, 1, -1)."""
        op = self.draw(one_of(*REDUCE))
        if not self.matrices:
            inner, axis = (), None
        else:                       # along an axis half the time where one can give this shape
            options = reductions_to(shape, self.shapes)
            along = [o for o in options if o[1] is not None]
            inner, axis = self.draw(one_of(*(along if along and self.draw(one_of(True, False)) else options)))
        a = self.node(inner, depth)
        if op in ("max", "min"):
            assume(extreme_is_apart(a[1], axis, op))
        return apply(op, a) if axis is None else apply(op, a, added=Axis(axis))

    def matmul(self, shape, depth):
        left, right = self.draw(one_of(*MATMUL[shape]))
        return apply("matmul", self.node(left, depth), self.node(right, depth))

    def softmax(self, shape, depth):
        return apply("softmax", self.node(shape, depth))

    def prelu(self, shape, depth):
        """prelu(x, a), a a number or one slope per column (the last axis), x away from 0."""
        x = away_from_zero(self.node(shape, depth), MARGIN)
        return apply("prelu", x, self.node(self.draw(one_of(*per_column(shape, self.shapes))), depth))

    def index(self, shape, depth):
        options = indexings_to(shape, self.shapes)       # slices are not hashable: draw a position
        inner, key = options[self.draw(one_of(*range(len(options))))]
        return apply("index", self.node(inner, depth), added=Key(key))

    def conv2d(self, shape, depth):
        """conv2d(X, K[, stride=…][, padding=…]): a stride of 1 or a padding of 0 may be left out."""
        options = convolutions_to(shape, self.shapes)
        x, k, stride, padding = options[self.draw(one_of(*range(len(options))))]
        image, kernel = self.node(x, depth), self.node(k, depth)
        return apply("conv2d", image, kernel, **self.keywords(stride=(stride, 1), padding=(padding, 0)))

    def pool(self, shape, depth):
        """maxpool/avgpool(X[, size=…][, stride=…]): a size of 2, a stride equal to the size may be
        left out; maxpool's windows have no ties."""
        op = self.draw(one_of(*POOLS))
        options = poolings_to(shape, self.shapes)
        x, size, stride = options[self.draw(one_of(*range(len(options))))]
        image = self.node(x, depth)
        if op == "maxpool":
            assume(windows_are_apart(image[1], size, stride))
        return apply(op, image, **self.keywords(size=(size, 2), stride=(stride, size)))

    def flatten(self, shape, depth):
        return apply("flatten", self.node(self.draw(one_of(*flattenings_to(shape, self.shapes))), depth))

    def keywords(self, **given) -> dict:
        """{"added": Keywords(…)} with each keyword's literal, left out (sometimes) where it is the
        default; {} when none is written."""
        items = tuple((name, value) for name, (value, default) in given.items()
                      if value != default or self.draw(st.booleans()))
        return {"added": Keywords(items)} if items else {}

    def batchnorm(self, shape, depth):
        """batchnorm(X, γ, β): X n×m (n ≥ 2) with every column spread out, γ and β of m entries
        (or numbers)."""
        x = spread_out(self.node(shape, depth))
        gamma, beta = (self.node(self.draw(one_of(*per_column(shape, self.shapes))), depth)
                       for _ in range(2))
        return apply("batchnorm", x, gamma, beta)


def apply(op, *args, added=None):
    tree = (op, *(a[0] for a in args)) + ((added,) if added is not None else ())
    return tree, compute(op, [a[1] for a in args], added)


def extreme_is_apart(value, axis, op) -> bool:
    """In every slice along the axis (all entries: axis None), the extreme is MARGIN clear of the
    runner-up, so it has a derivative (no tie)."""
    along = -1 if axis is None else axis
    ordered = np.sort(value.reshape(-1) if axis is None else value, axis=along)
    if ordered.shape[along] < 2:
        return True
    first, second = (-1, -2) if op == "max" else (0, 1)
    gap = np.take(ordered, first, axis=along) - np.take(ordered, second, axis=along)
    return bool(np.all(np.abs(gap) > MARGIN))


def windows_are_apart(value, size, stride) -> bool:
    """In every size×size window of maxpool's, the maximum is MARGIN clear of the runner-up."""
    rows, cols = (sliding(n, size, stride) for n in value.shape[-2:])
    return all(extreme_is_apart(value[lead + (slice(stride * h, stride * h + size),
                                              slice(stride * w, stride * w + size))], None, "max")
               for lead in np.ndindex(value.shape[:-2]) for h, w in np.ndindex(rows, cols))


def spread_out(node):
    """The node, or three times it, with every column's variance above SPREAD: batchnorm divides
    by the column's standard deviation."""
    for factor in (1.0, 3.0):
        if np.all(np.var(node[1], axis=0) * factor ** 2 > SPREAD):
            return node if factor == 1.0 else apply("mul", (("const", factor), np.asarray(factor)), node)
    assume(False)


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
