"""The operator-overloading front end: `x = var("x", 1.0); f = x**2 + x*y` records gates, micrograd style."""
from __future__ import annotations

from itertools import count
from types import SimpleNamespace

import numpy as np

from ..errors import UserError
from ..graph import PARAM, Graph
from .builder import GraphBuilder, Literal
from ..ops import FUNCTIONS, OPS

_created = count()


class Var:
    """A node of an expression being written in Python; `graphviz_nn.trace(f)` turns it into a Graph."""
    __array_priority__ = 1000        # numpy scalars on the left defer to our operators

    def __init__(self, op=None, args=(), p=None, name=None, value=None, kind="input"):
        self.op, self.args, self.p, self.name, self.kind = op, tuple(args), p, name, kind
        self.value = None if value is None else np.asarray(value, dtype=float)
        self.index = next(_created)     # creation order stands in for source position

    def _apply(self, op, *args):
        return Var(op, args)

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


for _name in FUNCTIONS:
    setattr(Var, _name, lambda self, *others, _op=_name: Var(_op, (self, *others)))

def function(name: str):
    """The registered function `name` for Vars: fn.exp(x), fn.max(a, b), …"""
    def apply(*args):
        return Var(name, args)
    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"{OPS[name].text(['x'] if OPS[name].arity == 1 else ['a', 'b', '…'], None)}: " \
                    f"the gate {name!r} applied to Vars (and numbers), recorded for trace()."
    return apply


fn = SimpleNamespace(**{name: function(name) for name in FUNCTIONS})


def var(name: str, value, param: bool = False) -> Var:
    return Var(name=name, value=value, kind=PARAM if param else "input")


def trace_value(result: Var, builder: GraphBuilder) -> Graph:
    """Replay the recorded Vars in creation order, so names match the expression front end."""
    ids: dict[int, object] = {}
    for v in sorted(reachable(result), key=lambda v: v.index):
        args = [ids[id(a)] if isinstance(a, Var) else builder.literal(a) for a in v.args]
        if v.op is None:
            ids[id(v)] = builder.variable(v.name, v.value, v.kind)
            check_same(builder, v)
        elif v.op == "neg":
            ids[id(v)] = (Literal(-args[0].value, f"-{args[0].text}") if isinstance(args[0], Literal)
                          else builder.apply("scale", args, -1.0,
                                             text=f"-{builder.arg_text(args[0], 'scale', 0, -1.0)}"))
        else:
            ids[id(v)] = builder.apply(v.op, args)
    return builder.finish(ids[id(result)], "", "expression")


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
