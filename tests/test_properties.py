"""Property tests: random expressions over every user-facing operator and function, random points,
every input's gradient against central finite differences of an independent numpy reference.
The hypothesis properties are marked slow; the broadcasting cases run every time."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from graphviz_nn import api, engine, ops, trace, var
from random_expressions import (EXTRAS, GENERATED, MATRIX_VARIABLES, evaluate, expressions, forms_in,
                                numeric_gradients, to_source, to_var)

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
FEWER = settings(SETTINGS, max_examples=100)       # for the properties that are not gradients


def assert_gradients_match(result, tree, values, seed):
    numeric = numeric_gradients(tree, values, seed)
    for name, expected in numeric.items():
        analytic = result.grad[name]
        assert analytic.shape == expected.shape, name
        scale = 1.0 + np.max(np.abs(expected), initial=0.0)
        np.testing.assert_allclose(analytic, expected, rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=f"∂/∂{name} of {to_source(tree)}")


USER_FACING = set(ops.FUNCTIONS) | {"add", "sub", "mul", "div", "pow", "matmul", "neg", "index"}


def call_extras(name) -> set[str]:
    """What a call of `name` may add after its inputs, by the registry: "number" for a literal
    (leaky_relu(x, 0.2)), a keyword by its name (sum(X, axis=0))."""
    parameters = ops.OPS[name].parameters
    if parameters is None:
        return set()
    return {p.name if p.kind is p.KEYWORD_ONLY else "number"
            for p in inspect.signature(parameters).parameters.values()}


def test_the_generator_covers_every_user_function_and_operator():
    """If someone registers a new user function, or lets one take a number or a keyword, these
    tests must learn to generate it."""
    assert USER_FACING - GENERATED == set()
    for name in ops.FUNCTIONS:
        assert call_extras(name) - EXTRAS.get(name, set()) == set(), name


@pytest.mark.slow
def test_the_generator_draws_every_form_it_claims():
    """What it claims above it does draw: a thousand matrix expressions hold every op and form."""
    claimed = GENERATED | {f"{name}({extra})" for name, extras in EXTRAS.items() for extra in extras}
    seen = set()

    @settings(max_examples=1000, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(expressions(matrices=True))
    def draw(case):
        seen.update(forms_in(case[0]))
    draw()
    assert claimed - seen == set()


@pytest.mark.slow
@SETTINGS
@given(expressions(matrices=False))
def test_scalar_gradients_match_finite_differences(case):
    tree, values, value, seed = case
    result = trace(to_source(tree), seed=seed, **values)
    np.testing.assert_allclose(result.value, value, rtol=1e-9, atol=1e-12)
    assert_gradients_match(result, tree, values, seed)


@pytest.mark.slow
@SETTINGS
@given(expressions(matrices=True))
def test_matrix_gradients_match_finite_differences(case):
    """Vectors and matrices with broadcasting, @, reductions and softmax: every VJP undoes broadcasting."""
    tree, values, value, seed = case
    result = trace(to_source(tree), seed=seed, **values)
    assert result.value.shape == value.shape
    np.testing.assert_allclose(result.value, value, rtol=1e-9, atol=1e-12)
    for name in values:
        assert result.grad[name].shape == MATRIX_VARIABLES[name]
    assert_gradients_match(result, tree, values, seed)


@pytest.mark.slow
@FEWER
@given(expressions(matrices=False))
def test_var_front_end_builds_the_same_graph_as_the_string(case):
    assert_same_graph_from_vars(case)


@pytest.mark.slow
@FEWER
@given(expressions(matrices=True))
def test_var_front_end_builds_the_same_matrix_graph_as_the_string(case):
    """Indexing (v[key]) and keywords (fn.sum(X, axis=0)) too."""
    assert_same_graph_from_vars(case)


def assert_same_graph_from_vars(case):
    tree, values, _, seed = case
    from_string = trace(to_source(tree), seed=seed, **values)
    from_vars = trace(to_var(tree, {n: var(n, v) for n, v in values.items()}), seed=seed)
    assert set(from_vars.graph.order) == set(from_string.graph.order)
    assert sorted(from_vars.graph.nx.edges(keys=True)) == sorted(from_string.graph.nx.edges(keys=True))
    for n in from_string.graph.order:
        assert from_vars.graph[n]["op"] == from_string.graph[n]["op"], n
        assert from_vars.graph[n]["p"] == from_string.graph[n]["p"], n
    for name in values:
        np.testing.assert_array_equal(from_vars.grad[name], from_string.grad[name])


@pytest.mark.slow
@FEWER
@given(expressions(matrices=True, max_depth=3))
def test_a_node_gradient_is_the_sum_of_its_out_edges(case):
    """DESIGN.md: the copy gate adds; an edge carries its source's value."""
    tree, values, _, seed = case
    graph = trace(to_source(tree), seed=seed, **values).graph
    for n in graph.order:
        for edge in graph.out_edges(n):
            assert graph.edge(*edge)["value"] is graph[n]["value"]
        if n != graph.output:
            total = sum(graph.edge(*e)["grad"] for e in graph.out_edges(n))
            np.testing.assert_allclose(graph[n]["grad"], total, rtol=1e-12, atol=1e-12)
            assert graph[n]["grad"].shape == graph[n]["value"].shape


@pytest.mark.slow
@FEWER
@given(expressions(matrices=False))
def test_literals_as_nodes_or_as_gate_parameters_give_the_same_numbers(case):
    tree, values, _, seed = case
    source = to_source(tree)
    folded = trace(source, seed=seed, **values)
    nodes = trace(source, seed=seed, keep_constants=True, **values)
    np.testing.assert_allclose(nodes.value, folded.value, rtol=1e-12)
    for name in values:
        np.testing.assert_allclose(nodes.grad[name], folded.grad[name], rtol=1e-9, atol=1e-12)


@pytest.mark.slow
@FEWER
@given(expressions(matrices=False))
def test_expanding_sigmoid_changes_the_graph_not_the_numbers(case):
    assert_expanding_keeps_the_numbers(case)


@pytest.mark.slow
@FEWER
@given(expressions(matrices=True))
def test_expanding_sigmoid_and_batchnorm_changes_the_graph_not_the_numbers(case):
    assert_expanding_keeps_the_numbers(case)


def assert_expanding_keeps_the_numbers(case):
    tree, values, _, seed = case
    source = to_source(tree)
    plain = trace(source, seed=seed, **values)
    expanded = trace(source, seed=seed, expand=True, **values)
    expandable = {name for name in ops.OPS if ops.OPS[name].expansion}
    assert expandable & {expanded.graph[n]["op"] for n in expanded.graph.order} == set()
    np.testing.assert_allclose(expanded.value, plain.value, rtol=1e-9, atol=1e-12)
    for name in values:
        np.testing.assert_allclose(expanded.grad[name], plain.grad[name], rtol=1e-7, atol=1e-10)


# ---- broadcasting, written out: the VJP must sum over the broadcast axes ---------------------

BROADCAST_CASES = [
    ("s * M", {"s": 1.5, "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("M * s", {"s": -0.5, "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("r + M", {"r": [[0.1, 0.2, 0.3]], "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("v + M", {"v": [0.1, 0.2, 0.3], "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("k * M - v", {"k": [[2.0], [-1.0]], "v": [0.1, 0.2, 0.3], "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("M / (k*k + 1) + s", {"k": [[2.0], [-1.0]], "s": 0.3, "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("max(M, v, s)", {"v": [0.15, 0.2, 0.35], "s": 0.01, "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("sum(softmax(M * s) * M)", {"s": 2.0, "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]}),
    ("mean(sigmoid(X @ W + b))", {"X": [[1.0, 2.0], [-1.0, 2.0]], "W": [[1.0, -1.0], [0.5, 0.0]], "b": [0.1, -0.2]}),
    ("(M ** 2) @ v", {"M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], "v": [0.1, 0.2, 0.3]}),
    ("u @ M @ v", {"u": [1.0, -1.0], "M": [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], "v": [0.1, 0.2, 0.3]}),
]


@pytest.mark.parametrize("source, values", BROADCAST_CASES, ids=[c[0] for c in BROADCAST_CASES])
def test_broadcasting_vjps(source, values):
    values = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    graph = api.build(source, values)
    rng = np.random.default_rng(0)
    numbers = engine.forward(graph)
    seed = rng.uniform(0.5, 1.5, size=np.shape(numbers[graph.output]))
    engine.write(graph, numbers, engine.backward(graph, numbers, seed))
    for name, value in values.items():
        analytic = graph[name]["grad"]
        assert analytic.shape == value.shape
        numeric = finite_difference(graph, name, seed)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def finite_difference(graph, name, seed, h=1e-6):
    base = graph[name]["value"]
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        ends = []
        for sign in (1, -1):
            moved = base.copy()
            moved[index] += sign * h
            ends.append(np.sum(seed * engine.output_at(graph, {name: moved})))
        grad[index] = (ends[0] - ends[1]) / (2 * h)
    return grad


@pytest.mark.slow
@given(st.floats(-3, 3).filter(lambda a: abs(a) > 0.01), st.floats(-3, 3).filter(lambda a: abs(a) > 0.01))
@settings(max_examples=50, deadline=None)
def test_the_reference_evaluator_agrees_with_the_engine_on_a_fixed_tree(a, b):
    """A guard on the oracle itself: if the reference were wrong, every property above would lie."""
    tree = ("add", ("mul", ("var", "x"), ("var", "y")), ("sigmoid", ("var", "x")))
    result = trace(to_source(tree), x=a, y=b)
    assert float(result.value) == pytest.approx(a * b + 1 / (1 + np.exp(-a)), rel=1e-12)
    assert float(evaluate(tree, {"x": a, "y": b})) == pytest.approx(float(result.value), rel=1e-12)
