"""The engine's two paths give the same numbers, bit for bit.

A graph whose leaves are all numbers runs over Python floats (forward_scalars, backward_scalars,
write_numbers); any other graph over numpy (forward_arrays, backward_arrays, write_arrays). Run on
the same graph of numbers, the numpy path must give identical values, gradients, shares, local
derivatives, Steps and graph attributes: inf and nan included (x/0, log(-1), 0*inf, overflow),
where Python's float arithmetic would raise and numpy's gives a number.
"""
from __future__ import annotations

import math
import re
from functools import reduce
from operator import add

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graphviz_nn import api, engine
from graphviz_nn.errors import UserError

INF, NAN = math.inf, math.nan
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, 1e300, -1e308, INF, -INF, NAN]
FUNCTIONS = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step")
LEAVES = st.sampled_from(["x", "y", "z"]) | st.sampled_from(["0", "1", "2", "0.5", "(-1)", "1e308"])


def expressions():
    """Source text over x, y, z and literals (literals fold into scale, shift, divc, rpow … gates)."""
    def grow(inner):
        unary = st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})")
        neg = inner.map(lambda a: f"(-{a})")
        infix = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})")
        extreme = st.tuples(st.sampled_from(["max", "min"]), inner, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})")
        return st.one_of(unary, neg, infix, infix, extreme)
    return st.recursive(LEAVES, grow, max_leaves=10)


def bits(value) -> tuple:
    """Shape and bytes, signed zeros and infinities included. Any nan counts as one: the sign and
    payload a nan gets are not stable even in CPython (nan + nan keeps the left or the right nan,
    depending on whether the interpreter has specialised that addition yet)."""
    a = np.asarray(value, dtype=float)
    return a.shape, np.where(np.isnan(a), np.nan, a).tobytes()


def same_numbers(a, b) -> bool:
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(same_numbers, a, b))
    if a is None or b is None:
        return a is b
    return bits(a) == bits(b)


def scalar_path(graph, seed):
    steps = []
    values = engine.forward(graph, steps=steps)
    grads = engine.backward(graph, values, seed, steps)
    return values, grads, steps[1:]               # without the inputs step, made before either loop


def numpy_path(graph, seed):
    steps = []
    values = {n: engine.number(graph[n]["value"]) for n in graph.leaves()}
    with np.errstate(all="ignore"):
        engine.forward_arrays(graph, values, steps)
        grads = engine.backward_arrays(graph, values, seed, steps)
    return values, grads, steps


def attributes(graph) -> dict:
    numbers = {("node", n, key): bits(graph[n][key]) for n in graph.order for key in ("value", "grad")}
    numbers |= {("edge", e, key): bits(attrs[key]) for e, attrs in graph.edge_attrs.items()
                for key in ("value", "grad", "local") if key in attrs}
    return numbers


def assert_same(source: str, values: dict, seed=None, keep_constants=False) -> None:
    try:
        graph = api.build(source, values, keep_constants=keep_constants)
    except UserError:
        assume(False)
    ours, theirs = scalar_path(graph, seed), numpy_path(graph, seed)
    assert all(type(ours[0][n]) is float for n in graph.order), "the scalar path did not run"
    (values_s, grads_s, steps_s), (values_n, grads_n, steps_n) = ours, theirs
    assert values_s.keys() == values_n.keys()
    for n in values_s:
        assert same_numbers(values_s[n], values_n[n]), (source, n, values_s[n], values_n[n])
    for mine, reference in zip(grads_s, grads_n):
        assert mine.keys() == reference.keys(), source
        for key in mine:
            assert same_numbers(mine[key], reference[key]), (source, key, mine[key], reference[key])
    assert len(steps_s) == len(steps_n), source
    for a, b in zip(steps_s, steps_n):
        assert a[:5] == b[:5], (source, a, b)                        # phase, kind, gate, nodes, edges
        for field in ("inputs", "output", "grads", "local"):
            assert same_numbers(getattr(a, field), getattr(b, field)), (source, field, a, b)
    engine.write(graph, values_s, grads_s)
    written = attributes(graph)
    engine.write_arrays(graph, values_n, grads_n)
    assert written == attributes(graph), source


@pytest.mark.parametrize("source, values", [
    ("x / y", {"x": 1.0, "y": 0.0}),                 # Python: ZeroDivisionError; numpy: inf
    ("x / y", {"x": 0.0, "y": 0.0}),                 # nan
    ("log(x) * y", {"x": -1.0, "y": 2.0}),           # Python's math.log raises; numpy: nan
    ("x * y", {"x": 0.0, "y": INF}),                 # 0·inf = nan, in both arithmetics
    ("x - y + x * y", {"x": INF, "y": INF}),         # inf − inf
    ("x ** y", {"x": -8.0, "y": 1 / 3}),             # Python: a complex number; numpy: nan
    ("x ** y", {"x": 10.0, "y": 400.0}),             # Python: OverflowError; numpy: inf
    ("x * y * y", {"x": 1e308, "y": 10.0}),          # overflow to inf
    ("sqrt(x) + exp(y)", {"x": -4.0, "y": 1000.0}),
    ("max(x, y) - min(x, y)", {"x": NAN, "y": 1.0}),
    ("1 / x + 2 ** x + x ** 2", {"x": -0.0}),        # literal gates: rdiv, rpow, powc
    ("-x * 3 + 1 - x / 2", {"x": -0.0}),             # scale, shift, rsub, divc; signed zeros
    ("x*x + x*y + x", {"x": 1.5, "y": -2.0}),        # the copy gate: x feeds several gates
])
def test_scalar_and_numpy_paths_agree_at_hard_points(source, values):
    assert_same(source, values)
    assert_same(source, values, seed=-2.5, keep_constants=True)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(expressions(), st.fixed_dictionaries({n: st.sampled_from(SPECIAL) | st.floats() for n in "xyz"}),
       st.sampled_from([None, 1.0, -0.5, 0.0, INF]), st.booleans())
def test_scalar_and_numpy_paths_agree_on_random_expressions(source, point, seed, keep_constants):
    used = set(re.findall(r"\b[xyz]\b", source))
    assume(used)
    assert_same(source, {n: point[n] for n in used}, seed, keep_constants)


def test_a_sum_of_products_runs_on_floats_and_writes_arrays():
    """The benchmark's shape: the copy gate adds many shares; node numbers are 0-d arrays, an
    edge's share and local derivative numpy floats, an edge's value its source's array."""
    source = " + ".join(f"x{i % 3}*y{i % 3}" for i in range(30))
    graph = api.build(source, {f"{v}{i}": 0.1 * i + (v == "y") for v in "xy" for i in range(3)})
    steps = engine.run(graph)
    assert len(steps) == 1 + 59 + 1 + 59 + 6          # inputs, gates; seed, gates, copies
    for n in graph.order:
        assert isinstance(graph[n]["value"], np.ndarray) and graph[n]["value"].shape == ()
        assert isinstance(graph[n]["grad"], np.ndarray) and graph[n]["grad"].shape == ()
    for (u, _, _), attrs in graph.edge_attrs.items():
        assert attrs["value"] is graph[u]["value"]
        assert type(attrs["grad"]) is np.float64 and type(attrs["local"]) is np.float64
    shares = [graph.edge(*e)["grad"] for e in graph.out_edges("x1")]
    assert graph["x1"]["grad"] == reduce(add, shares)           # added in order, left to right
