"""The operator-overloading front end: `x = var("x", 1.0); f = x**2 + x*y` records gates, micrograd style."""
from __future__ import annotations

import contextlib
from itertools import count
from types import SimpleNamespace

import inspect

import numpy as np

from ..errors import UserError
from ..graph import CONST, INPUT, PARAM, Graph
from .builder import GraphBuilder, Literal
from ..ops import FUNCTIONS, OPS

_created = count()
_groups: list[str] = []              # the titles of the open `with group(…)` blocks, innermost last


class Var:
    """A node of an expression being written in Python; `graphviz_nn.trace(f)` turns it into a Graph.

    Operators + - * / ** @ and indexing (x[0], X[:, 1]) record gates; so do the functions
    (nn.relu(x), nn.sum(X, axis=0)). `h.named("h1")` labels the gate that computed h."""
    __array_priority__ = 1000        # numpy scalars on the left defer to our operators

    def __init__(self, op=None, args=(), p=None, name=None, value=None, kind=INPUT):
        self.op, self.args, self.p, self.name, self.kind = op, tuple(args), p, name, kind
        self.value = None if value is None else np.asarray(value, dtype=float)
        self.index = next(_created)     # creation order stands in for source position
        self.group = _groups[-1] if _groups and op is not None else None

    def _apply(self, op, *args):
        return Var(op, args)

    def named(self, name: str) -> "Var":
        """Label the gate that computed this value, as a program's `h1 = …` does; returns it."""
        if self.op is None:
            raise ValueError(f"{self.name} is an input and already has a name")
        self.name = name
        return self

    def __getitem__(self, key):
        return Var("index", (self,), index_key(key))

    __add__ = lambda self, o: self._apply("add", self, o)
    __radd__ = lambda self, o: self._apply("add", o, self)
    __sub__ = lambda self, o: self._apply("sub", self, o)
    __rsub__ = lambda self, o: self._apply("sub", o, self)
    __mul__ = lambda self, o: self._apply("mul", self, o)
    __rmul__ = lambda self, o: self._apply("mul", o, self)
    __truediv__ = lambda self, o: self._apply("div", self, o)
    __rtruediv__ = lambda self, o: self._apply("div", o, self)
    __pow__ = lambda self, o: self._apply("pow", self, o)
    __rpow__ = lambda self, o: self._apply("pow", o, self)
    __matmul__ = lambda self, o: self._apply("matmul", self, o)
    __rmatmul__ = lambda self, o: self._apply("matmul", o, self)

    def __neg__(self):
        return Var("neg", (self,))

    def __repr__(self):
        return f"Var({self.name or self.op})"


def index_key(key) -> tuple:
    """x[1], X[:, 0]: whole numbers and slices, as a formula may index."""
    key = key if isinstance(key, tuple) else (key,)
    for part in key:
        bounds = (part.start, part.stop, part.step) if isinstance(part, slice) else (part,)
        if not all(b is None or isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in bounds) \
                or bounds == (None,):
            raise TypeError(f"index with whole numbers and slices, as X[1, 2] or X[:, 0]; got {part!r}")
    return tuple(slice(*(None if b is None else int(b) for b in (p.start, p.stop, p.step)))
                 if isinstance(p, slice) else int(p) for p in key)


def function(name: str):
    """The registered function `name` for Vars: fn.exp(x), fn.max(a, b), fn.sum(X, axis=0), …"""
    op = OPS[name]

    def apply(*args, **keywords):
        inputs = args if op.arity is None else args[:op.arity]
        extra = () if op.arity is None else args[op.arity:]
        if (extra or keywords) and op.parameters is None:
            raise TypeError(f"{name} takes {op.arity} argument(s) and no keywords")
        return Var(name, inputs, op.parameters(*extra, **keywords) if op.parameters else None)
    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = describe(name)
    return apply


def describe(name: str) -> str:
    """A function's help: how it is called, what it computes, its local derivative."""
    op = OPS[name]
    inputs = ["x"] if op.arity == 1 else ["x", "y", "…"] if op.arity is None else \
        [chr(ord("a") + i) for i in range(op.arity)]
    extra = [str(p).replace(" ", "") for p in inspect.signature(op.parameters).parameters.values()] \
        if op.parameters else []
    default = op.parameters() if op.parameters else None
    local = ", ".join(op.local_text(inputs, "out", default))
    return (f"{name}({', '.join(inputs + extra)}): the gate {op.symbol(default)!r} "
            f"({op.verb or 'local derivative'}); local derivative{'s' if len(inputs) > 1 else ''} {local}.\n"
            "Applied to Vars (and numbers), it is recorded for trace().")


fn = SimpleNamespace(**{name: function(name) for name in FUNCTIONS})
for _name in FUNCTIONS:
    setattr(Var, _name, lambda self, *others, _f=getattr(fn, _name), **keywords: _f(self, *others, **keywords))


def var(name: str, value, param: bool = False, const: bool = False) -> Var:
    """An input named `name` with its value (a number or nested lists); param=True: a parameter;
    const=True: data (a target, a mask), for which no gradient is computed, listed or drawn."""
    return Var(name=name, value=value, kind=CONST if const else PARAM if param else INPUT)


@contextlib.contextmanager
def group(title: str):
    """The gates recorded inside `with group("t = 1"):` are drawn in a box with that title,
    as a program's `## t = 1` lines do; inputs used by several groups stay outside."""
    _groups.append(str(title))
    try:
        yield
    finally:
        _groups.pop()


def trace_value(result: Var, builder: GraphBuilder) -> Graph:
    """Replay the recorded Vars in creation order, so names match the expression front end."""
    ids: dict[int, object] = {}
    for v in sorted(reachable(result), key=lambda v: v.index):
        args = [ids[id(a)] if isinstance(a, Var) else builder.literal(a) for a in v.args]
        if v.op is None:
            ids[id(v)] = builder.variable(v.name, v.value, v.kind)
            check_same(builder, v)
            continue
        builder.start_group(v.group)
        if v.op == "neg":
            ids[id(v)] = (Literal(-args[0].value, f"-{args[0].text}") if isinstance(args[0], Literal)
                          else builder.apply("scale", args, -1.0,
                                             text=f"-{builder.arg_text(args[0], 'scale', 0, -1.0)}"))
        else:
            ids[id(v)] = builder.apply(v.op, args, v.p)
        if v.name is not None:
            name_gate(builder, ids[id(v)], v.name)
    return builder.finish(ids[id(result)], "", "program" if builder.targets else "expression")


def name_gate(builder: GraphBuilder, record, name: str) -> None:
    if isinstance(record, Literal):
        raise UserError(f"{name} names a number, not a gate", hint="name a value computed from a var()")
    if name in builder.targets or name in builder.by_name:
        raise UserError(f"two different values are named {name}", hint="give each its own name")
    builder.name(record, name)


def check_same(builder: GraphBuilder, v: Var) -> None:
    """Two Vars may share a name only if they are the same variable (same value and kind)."""
    first = builder.records[builder.by_name[v.name]]
    if first.kind != v.kind or first.value.shape != v.value.shape or not np.array_equal(first.value, v.value, equal_nan=True):
        raise UserError(f"two different variables are named {v.name}",
                        hint="give each var() its own name, or reuse the same Var object")


def reachable(result: Var) -> list[Var]:
    seen, stack = {id(result): result}, [result]
    while stack:
        for a in stack.pop().args:
            if isinstance(a, Var) and id(a) not in seen:
                seen[id(a)] = a
                stack.append(a)
    return list(seen.values())
