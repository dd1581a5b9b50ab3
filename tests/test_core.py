"""The core, exercise by exercise: tracing, naming, the gate rules, captions, the chain rule as a
sum over paths, the var() front end, the JSON document and the Trace API.

Gradients are checked against central finite differences of a plain Python function (`fd`),
never against numbers copied from a document."""
from __future__ import annotations

import json
import math
import time

import networkx as nx
import numpy as np
import pytest

from graphviz_nn import Trace, api, engine, fn, trace, var
from graphviz_nn.explain import paths
from graphviz_nn.explain.captions import Captions
from graphviz_nn.steps import Step
from graphviz_nn.errors import UserError
from graphviz_nn.graph import Graph
from graphviz_nn.trace.builder import TEXT_LIMIT
from graphviz_nn.explain.gradcheck import check_gradients, relative_error

FLAGSHIP = "x**2+x*y+(x+y)**2"


def fd(f, point: dict, h: float = 1e-6) -> dict:
    """Central finite differences of a scalar Python function at a point (keyword arguments)."""
    grads = {}
    for name, value in point.items():
        up, down = dict(point), dict(point)
        up[name], down[name] = value + h, value - h
        grads[name] = (f(**up) - f(**down)) / (2 * h)
    return grads


def assert_fd(result: Trace, f, point: dict, rel: float = 1e-6):
    for name, expected in fd(f, point).items():
        assert float(result.grad[name]) == pytest.approx(expected, rel=rel, abs=1e-8), name


def gate(result: Trace, name: str) -> tuple:
    node = result.graph[name]
    return node["op"], node["p"], [result.graph.label(u) for u in result.graph.args[name]]


def captions(result: Trace) -> list[str]:
    return list(result.captions)


# ---- exercise 1: the flagship ---------------------------------------------------------------

def flagship_f(x, y):
    return x ** 2 + x * y + (x + y) ** 2


def test_flagship_numbers():
    result = trace(FLAGSHIP, x=1, y=2)
    assert float(result.value) == 12
    assert float(result.grad["x"]) == 10
    assert float(result.grad["y"]) == 7
    assert_fd(result, flagship_f, {"x": 1.0, "y": 2.0})


def test_flagship_naming_follows_the_seeds():
    """a = x², b = xy, c = x+y, d = a+b, e = c², f = d+e."""
    result = trace(FLAGSHIP, x=1, y=2)
    assert result.graph.order == ["x", "y", "a", "b", "c", "d", "e", "f"]
    assert result.graph.output == "f"
    assert gate(result, "a") == ("powc", 2.0, ["x"])
    assert gate(result, "b") == ("mul", None, ["x", "y"])
    assert gate(result, "c") == ("add", None, ["x", "y"])
    assert gate(result, "d") == ("add", None, ["a", "b"])
    assert gate(result, "e") == ("powc", 2.0, ["c"])
    assert gate(result, "f") == ("add", None, ["d", "e"])
    texts = {n: result.graph[n]["text"] for n in "abcdef"}
    assert texts == {"a": "x**2", "b": "x*y", "c": "x+y", "d": "x**2+x*y", "e": "(x+y)**2", "f": FLAGSHIP}


def test_intermediate_names_skip_the_names_the_user_took():
    result = trace("a*b + c", a=1, b=2, c=3)
    assert [n for n in result.graph.order if result.graph[n]["kind"] == "op"] == ["d", "e"]


def test_every_node_has_value_and_grad_and_every_edge_too():
    graph = trace(FLAGSHIP, x=1, y=2).graph
    for n in graph.order:
        assert isinstance(graph[n]["value"], np.ndarray) and graph[n]["value"].ndim == 0
        assert isinstance(graph[n]["grad"], np.ndarray)
    for u, v, k, attrs in graph.nx.edges(keys=True, data=True):
        assert attrs["value"] is graph[u]["value"]
        assert attrs["grad"] is not None
    # a node's gradient is the sum of its out-edges' (the copy gate adds)
    assert float(graph["x"]["grad"]) == sum(float(graph.edge(*e)["grad"]) for e in graph.out_edges("x"))


# ---- exercise 2 and the gate rules ---------------------------------------------------------------

def test_exercise_2_add_then_multiply():
    result = trace("(x+y)*z", x=-2, y=5, z=-4)
    assert float(result.value) == -12
    assert [float(result.grad[n]) for n in "xyz"] == [-4, -4, 3]
    assert_fd(result, lambda x, y, z: (x + y) * z, {"x": -2.0, "y": 5.0, "z": -4.0})


def test_x_times_x_keeps_two_parallel_edges():
    result = trace("x*x", x=3)
    graph = result.graph
    assert isinstance(graph.nx, nx.MultiDiGraph)
    assert sorted(graph.nx.edges(keys=True)) == [("x", "a", 0), ("x", "a", 1)]
    assert graph.args["a"] == ["x", "x"]
    assert [float(graph.edge("x", "a", k)["grad"]) for k in (0, 1)] == [3, 3]
    assert float(result.grad["x"]) == 6
    assert_fd(result, lambda x: x * x, {"x": 3.0})
    assert any("x feeds 2 gates: 3 + 3 = 6" in c for c in captions(result))


def test_the_networkx_graph_is_the_one_add_edge_would_build_and_shares_the_attributes():
    """graph.multidigraph fills networkx's dicts directly (speed): it must match the public API."""
    graph = trace("x*x + sin(x*y) / (y + 2)", x=3, y=0.5).graph
    public = nx.MultiDiGraph()
    public.add_nodes_from(graph.nx.nodes(data=True))
    public.add_edges_from(graph.nx.edges(keys=True, data=True))
    assert nx.utils.graphs_equal(graph.nx, public)
    assert list(graph.nx.edges(keys=True)) == list(public.edges(keys=True))
    assert list(graph.nx.in_edges("a", keys=True)) == [("x", "a", 0), ("x", "a", 1)]
    assert graph.nx.nodes["a"] is graph["a"] and graph.nx.edges["x", "a", 1] is graph.edge("x", "a", 1)
    assert list(nx.topological_sort(graph.nx))[-1] == graph.output
    graph.nx.remove_edge("x", "a", 1)
    assert list(graph.nx.pred["a"]["x"]) == [0]


# ---- literal constants ---------------------------------------------------------------------

@pytest.mark.parametrize("source, op, p, f", [
    ("x**2", "powc", 2.0, lambda x: x ** 2),
    ("x*3", "scale", 3.0, lambda x: x * 3),
    ("3*x", "scale", 3.0, lambda x: 3 * x),
    ("-x", "scale", -1.0, lambda x: -x),
    ("x*-2", "scale", -2.0, lambda x: x * -2),
    ("x+1", "shift", 1.0, lambda x: x + 1),
    ("1+x", "shift", 1.0, lambda x: 1 + x),
    ("x-1", "shift", -1.0, lambda x: x - 1),
    ("1-x", "rsub", 1.0, lambda x: 1 - x),
    ("1/x", "rdiv", 1.0, lambda x: 1 / x),
    ("x/4", "divc", 4.0, lambda x: x / 4),
    ("2**x", "rpow", 2.0, lambda x: 2 ** x),
])
def test_literal_constants_become_gate_parameters(source, op, p, f):
    result = trace(source, x=1.5)
    graph = result.graph
    assert [n for n in graph.order if graph[n]["kind"] == "const"] == []
    assert gate(result, "a") == (op, p, ["x"])
    assert float(result.value) == pytest.approx(f(1.5), rel=1e-15)
    assert_fd(result, f, {"x": 1.5})


@pytest.mark.parametrize("source, op", [("x**2", "pow"), ("x*3", "mul"), ("x+1", "add"), ("1/x", "div")])
def test_const_nodes_keeps_literals_as_nodes(source, op):
    folded = trace(source, x=1.5)
    nodes = trace(source, x=1.5, keep_constants=True)
    graph = nodes.graph
    constants = [n for n in graph.order if graph[n]["kind"] == "const"]
    assert len(constants) == 1
    assert graph[graph.output]["op"] == op
    assert constants[0] in graph.args[graph.output]
    assert graph.label(constants[0]) == graph[constants[0]]["text"]      # drawn as its number
    assert float(nodes.value) == float(folded.value)
    assert float(nodes.grad["x"]) == pytest.approx(float(folded.grad["x"]), rel=1e-15)
    assert list(nodes.grad) == ["x"]          # constants are not variables


def test_constant_subexpressions_fold_into_one_literal():
    result = trace("x * (2 + 3) + exp(0)", x=2)
    graph = result.graph
    assert gate(result, "a") == ("scale", 5.0, ["x"])
    assert gate(result, "b") == ("shift", 1.0, ["a"])
    assert len(graph.order) == 3


def test_a_power_with_constant_nodes_at_a_negative_base_raises_no_nan_alarm():
    """x**2 at x = −1 with --const-nodes: ∂/∂2 = x²·ln x is nan, but nobody asked for it."""
    result = trace("x**2", x=-1.0, keep_constants=True)
    assert float(result.grad["x"]) == -2
    assert not [d for d in result.diagnostics() if d.kind in ("nan", "inf")]


# ---- --expand ----------------------------------------------------------------------------

NEURON = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)


def neuron(w0, x0, w1, x1, w2):
    return 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


def test_sigmoid_is_one_gate_by_default():
    result = trace("sigmoid(w0*x0+w1*x1+w2)", **NEURON)
    assert result.graph[result.graph.output]["op"] == "sigmoid"
    assert_fd(result, neuron, NEURON)
    assert captions(result)[-5].startswith("backward · σ: ")
    assert "*(1−" in captions(result)[-5]


def test_expand_breaks_sigmoid_into_neg_exp_plus_one_and_reciprocal():
    result = trace("sigmoid(w0*x0+w1*x1+w2)", expand=True, **NEURON)
    graph = result.graph
    chain, n = [], graph.output
    while graph[n]["kind"] == "op" and graph[n]["op"] != "add":
        chain.append((graph[n]["op"], graph[n]["p"]))
        n = graph.args[n][0]
    assert chain[::-1] == [("scale", -1.0), ("exp", None), ("shift", 1.0), ("rdiv", 1.0)]
    assert [OP_SYMBOL(graph, m) for m in graph.gates()[-4:]] == ["*−1", "exp", "+1", "1/x"]
    assert_fd(result, neuron, NEURON)
    plain = trace("sigmoid(w0*x0+w1*x1+w2)", **NEURON)
    for name in NEURON:
        assert float(result.grad[name]) == pytest.approx(float(plain.grad[name]), rel=1e-12)


def OP_SYMBOL(graph, n):
    from graphviz_nn.ops import OPS
    return OPS[graph[n]["op"]].symbol(graph[n]["p"])


def test_exercise_4_one_plus_exp():
    point = dict(x=1.0, w0=1.0, w1=2.0)
    result = trace("1 + exp(w0 + w1*x)", **point)
    assert_fd(result, lambda x, w0, w1: 1 + math.exp(w0 + w1 * x), point)
    assert float(result.value) == pytest.approx(1 + math.exp(3))


# ---- captions ----------------------------------------------------------------------------

def test_flagship_captions_spell_out_each_rule():
    text = captions(trace(FLAGSHIP, x=1, y=2))
    assert "forward · b = x * y = 1 * 2 = 2" in text
    assert "backward · mul swaps: ∂f/∂x += 1·y = 2, ∂f/∂y += 1·x = 1" in text
    assert "backward · add distributes 6 to both inputs: ∂f/∂x += 6, ∂f/∂y += 6" in text
    assert "backward · **2: ∂f/∂c = 1·2c = 6" in text
    assert "copy adds · x feeds 3 gates: 2 + 2 + 6 = 10" in text
    assert "copy adds · y feeds 2 gates: 1 + 6 = 7" in text


def test_steps_come_in_pass_order_with_the_gate_they_work_on():
    steps = trace(FLAGSHIP, x=1, y=2).steps
    assert all(isinstance(s, Step) for s in steps)
    phases = [s.phase for s in steps]
    assert phases == sorted(phases, key=["forward", "backward"].index)
    assert steps[0].kind == "inputs" and steps[0].nodes == ("x", "y")
    forward_gates = [s.nodes[0] for s in steps if s.phase == "forward" and s.kind == "gate"]
    assert forward_gates == list("abcdef")
    seed = next(s for s in steps if s.kind == "seed")
    assert seed.nodes == ("f",) and seed.output == 1.0
    mul = next(s for s in steps if s.phase == "backward" and s.kind == "gate" and s.gate == "b")
    assert mul.edges == (("x", "b", 0), ("y", "b", 1))
    assert mul.inputs == (1.0, 2.0) and mul.grads == (2.0, 1.0) and mul.local == (2.0, 1.0)


def test_captions_keep_the_numbers_of_their_own_run():
    """Captions are written when read, from the numbers in the steps: a later run on the same
    graph must not change them."""
    graph = api.build("x*y", {"x": 2.0, "y": 3.0})
    first = engine.run(graph)
    graph["x"]["value"] = np.asarray(5.0)
    second = engine.run(graph)
    first_captions, second_captions = Captions(graph, first), Captions(graph, second)
    assert second_captions[1] == "forward · a = x * y = 5 * 3 = 15"
    assert first_captions[1] == "forward · a = x * y = 2 * 3 = 6"
    assert first_captions[-1].endswith("∂a/∂x = 1·y = 3, ∂a/∂y = 1·x = 2")


def test_matrix_captions_name_shapes_instead_of_numbers():
    result = trace("relu(X@W1)@W2", X=[[1, 2], [-1, 2]], W1=[[1, -1], [0.5, 0]], W2=[[0.5], [1]])
    text = captions(result)
    assert "forward · a = X @ W1 → 2×2" in text
    assert any(c.startswith("backward · matmul: ∂Σc/∂b = d·W2ᵀ [2×2]") for c in text)


# ---- the chain rule as a sum over paths ----------------------------------------------------------

def test_explain_flagship_sums_the_three_paths_from_x():
    lines = trace(FLAGSHIP, x=1, y=2).explain("x").splitlines()
    assert lines[0].startswith("∂f/∂x = the sum over 3 paths from x to f")
    assert "  x → a → d → f: 1·1·2x = 1·1·2 = 2" in lines
    assert "  x → b → d → f: 1·1·y = 1·1·2 = 2" in lines
    assert "  x → c → e → f: 1·2c·1 = 1·6·1 = 6" in lines
    assert lines[-1] == "∂f/∂x = 1·1·2x + 1·1·y + 1·2c·1 = 2 + 2 + 6 = 10"


def test_explain_y_has_two_paths_and_the_same_total_as_backprop():
    result = trace(FLAGSHIP, x=1, y=2)
    ps = paths.path_sum(result.graph, "y")
    assert ps.count == 2 and len(ps.paths) == 2
    products = [paths.path_product(result.graph, p)[2] for p in ps.paths]
    assert sum(products) == pytest.approx(fd(flagship_f, {"x": 1.0, "y": 2.0})["y"], rel=1e-6)


def test_path_explosion_prints_the_count_without_listing():
    """60 doublings x = x + x: 2^60 paths through parallel edges; counting must not enumerate."""
    x = var("x", 1.0)
    y = x
    for _ in range(60):
        y = y + y
    start = time.perf_counter()
    result = trace(y)
    text = result.explain("x")
    assert time.perf_counter() - start < 5
    assert paths.path_counts(result.graph)["x"] == 2 ** 60
    assert f"{2 ** 60:,} paths lead from x" in text
    assert "too many to list" in text
    assert float(result.grad["x"]) == 2.0 ** 60


def test_explain_when_the_input_is_the_output():
    assert trace("x", x=2).explain("x").splitlines()[-1] == "∂x/∂x = 1"


def test_explain_refuses_unknown_names_and_matrices():
    with pytest.raises(UserError, match="no input named 'z'"):
        trace("x*y", x=1, y=2).explain("z")
    with pytest.raises(UserError, match="scalar graphs only"):
        trace("sum(X*2)", X=[1, 2]).explain("X")


# ---- max / relu: the router's conventions ---------------------------------------------------------

def test_max_tie_gives_everything_to_the_first_input():
    result = trace("max(x, y, z)", x=1, y=1, z=1)
    assert [float(result.grad[n]) for n in "xyz"] == [1, 0, 0]
    result = trace("max(y, x)", x=1, y=1)
    assert [float(result.grad[n]) for n in "yx"] == [1, 0]


def test_min_tie_and_vector_max_tie_too():
    assert [float(g) for g in trace("min(x, y)", x=2, y=2).grad.values()] == [1, 0]
    np.testing.assert_array_equal(trace("max(v)", v=[2, 1, 2]).grad["v"], [1, 0, 0])
    np.testing.assert_array_equal(trace("min(v)", v=[3, 1, 1]).grad["v"], [0, 1, 0])


def test_max_routes_to_the_larger_input_away_from_ties():
    point = {"x": 1.0, "y": 3.0}
    result = trace("max(x, y)", **point)
    assert [float(result.grad[n]) for n in "xy"] == [0, 1]
    assert_fd(result, lambda x, y: max(x, y), point)


def test_relu_derivative_at_zero_is_zero():
    result = trace("relu(x)", x=0)
    assert float(result.grad["x"]) == 0
    assert [d.kind for d in result.diagnostics()] == ["dead-relu"]
    assert float(trace("relu(x)", x=1e-9).grad["x"]) == 1


def test_exercise_5_relu_network_written_as_a_formula():
    source = "max(0, max(0, 5*x1 - 60*x2 + 0.5*x3) + 0.2*max(0, -2*x1 - 80*x2 + 2*x3) + 4)"
    point = {"x1": 20.0, "x2": 0.0, "x3": 1.0}

    def f(x1, x2, x3):
        return max(0, max(0, 5 * x1 - 60 * x2 + 0.5 * x3) + 0.2 * max(0, -2 * x1 - 80 * x2 + 2 * x3) + 4)
    result = trace(source, **point)
    assert float(result.value) == f(**point)
    assert_fd(result, f, point)


# ---- the var() front end ---------------------------------------------------------------------

def same_graph(a: Graph, b: Graph):
    assert set(a.order) == set(b.order)
    assert sorted(a.nx.edges(keys=True)) == sorted(b.nx.edges(keys=True))
    for n in a.order:
        assert (a[n]["kind"], a[n]["op"], a[n]["p"]) == (b[n]["kind"], b[n]["op"], b[n]["p"]), n


def test_var_front_end_builds_the_flagship_graph():
    x, y = var("x", 1.0), var("y", 2.0)
    from_vars = trace(x**2 + x*y + (x + y)**2)
    from_string = trace(FLAGSHIP, x=1, y=2)
    same_graph(from_vars.graph, from_string.graph)
    assert from_vars.graph.order == from_string.graph.order
    assert float(from_vars.grad["x"]) == 10 and float(from_vars.grad["y"]) == 7


@pytest.mark.parametrize("source, build", [
    ("(x+y)*z", lambda x, y, z: (x + y) * z),
    ("sigmoid(x*y + z)", lambda x, y, z: fn.sigmoid(x * y + z)),
    ("max(0, x) - 1/y + 2**z", lambda x, y, z: fn.max(0, x) - 1 / y + 2 ** z),
    ("-(x+y) * tanh(z) / 3", lambda x, y, z: -(x + y) * fn.tanh(z) / 3),
    ("exp(x) + log(y) * z**2", lambda x, y, z: x.exp() + y.log() * z**2),
])
def test_var_front_end_matches_the_string_front_end(source, build):
    point = {"x": 0.5, "y": 2.0, "z": -1.0}
    from_vars = trace(build(*(var(n, v) for n, v in point.items())))
    same_graph(from_vars.graph, trace(source, **point).graph)


def test_var_methods_and_texts_keep_python_precedence():
    a, b = var("a", 1.0), var("b", 2.0)
    assert trace(-(a + b)).graph.source == "-(a + b)"
    assert trace(a / (b * 2)).graph.source == "a / (b * 2)"
    assert trace(a.exp() * 2).graph.source == "exp(a) * 2"
    for expr, expected in ((-(a + b), -3.0), (a / (b * 2), 0.25)):
        assert float(trace(expr).value) == expected


def test_two_different_vars_with_one_name_are_refused():
    x = var("x", 1.0)
    assert float(trace(x * var("x", 1.0)).grad["x"]) == 2       # the same variable, twice
    with pytest.raises(UserError, match="two different variables are named x"):
        trace(var("x", 1.0) * var("x", 2.0))


def test_var_params_are_variables_and_named_as_given():
    w = var("w", [[1.0, 2.0]], param=True)
    X = var("X", [[1.0], [3.0]])
    result = trace(fn.sum(X @ w))
    assert result.graph["w"]["kind"] == "param" and result.graph["X"]["kind"] == "input"
    np.testing.assert_array_equal(result.grad["w"], [[4.0, 4.0]])


# ---- JSON document and the Trace API ---------------------------------------------------------------

def test_json_document_shape():
    doc = json.loads(trace(FLAGSHIP, x=1, y=2).to_json())
    assert set(doc) == {"source", "kind", "steps"}
    assert doc["source"] == FLAGSHIP and doc["kind"] == "expression"
    assert len(doc["steps"]) == 1                                  # an expression has one pass
    p = doc["steps"][0]
    assert {"nodes", "edges", "output", "gradients"} <= set(p)
    assert "loss" not in p
    for node in p["nodes"]:
        assert set(node) == {"id", "label", "kind", "op", "text", "value", "grad", "shape"}
    for edge in p["edges"]:
        assert set(edge) == {"source", "target", "arg", "value", "grad"}
    assert [n["id"] for n in p["nodes"]] == ["x", "y", "a", "b", "c", "d", "e", "f"]
    assert p["output"] == 12.0
    assert p["gradients"] == {"x": 10.0, "y": 7.0}
    assert len(p["edges"]) == 10
    x_edges = [e for e in p["edges"] if e["source"] == "x"]
    assert sum(e["grad"] for e in x_edges) == pytest.approx(p["gradients"]["x"])


def test_json_values_are_floats_or_nested_lists():
    doc = trace("sum(X@w) + s", X=[[1, 2], [3, 4]], w=[0.5, -1], s=2).to_dict()
    nodes = {n["id"]: n for n in doc["steps"][0]["nodes"]}
    assert nodes["X"]["value"] == [[1.0, 2.0], [3.0, 4.0]] and nodes["X"]["shape"] == [2, 2]
    assert nodes["w"]["grad"] == [4.0, 6.0]
    assert isinstance(nodes["s"]["value"], float) and nodes["s"]["shape"] == []
    json.dumps(doc, allow_nan=False)


def test_json_writes_nan_and_inf_as_strings():
    doc = json.loads(trace("log(x) + y/0", x=-1, y=1).to_json())
    p = doc["steps"][0]
    assert p["output"] == "nan"
    assert {n["id"]: n["value"] for n in p["nodes"]}["b"] == "inf"


def test_trace_api():
    result = trace(FLAGSHIP, x=1, y=2)
    assert isinstance(result, Trace)
    assert isinstance(result.value, np.ndarray) and float(result.value) == 12
    assert set(result.grad) == {"x", "y"}
    assert isinstance(result.graph, Graph) and isinstance(result.graph.nx, nx.MultiDiGraph)
    assert len(result.steps) == 1 + 6 + 1 + 6 + 2        # inputs, 6 gates, seed, 6 gates, 2 copies
    assert json.loads(result.to_json()) == json.loads(json.dumps(result.to_dict()))
    assert result.table().splitlines()[0].split() == ["node", "value", "∂f/∂node", "source"]


def test_trace_with_a_seed_scales_every_gradient():
    result = trace(FLAGSHIP, x=1, y=2, seed=3)
    assert float(result.grad["x"]) == 30
    with pytest.raises(UserError, match="seed gradient has shape"):
        trace("X*2", X=[1, 2], seed=[1, 2, 3])


def test_gradcheck_agrees_with_backprop_on_the_flagship():
    results = check_gradients(trace(FLAGSHIP, x=1, y=2).graph)
    assert [r.variable for r in results] == ["x", "y"]
    assert all(r.relative_error < 1e-7 for r in results)


@pytest.mark.filterwarnings("error")
def test_relative_error_handles_nan_inf_and_huge_numbers_quietly():
    nan, inf = float("nan"), float("inf")
    assert relative_error(np.array([nan, inf, 2.0]), np.array([nan, inf, 2.0])) == 0
    assert relative_error(np.array([nan]), np.array([1.0])) == inf
    assert relative_error(np.array([inf]), np.array([-inf])) == inf
    assert relative_error(np.array([1e308]), np.array([-1e308])) == 1.0
    assert relative_error(np.array([1.0]), np.array([1.0 + 1e-9])) == pytest.approx(5e-10, rel=1e-3)


@pytest.mark.filterwarnings("error")
def test_the_mean_of_nothing_is_nan_without_a_warning():
    assert math.isnan(float(trace("mean(e) + x", e=np.zeros(0), x=1).value))


# ---- user errors: one message, a position, never a traceback ----------------------------------------

@pytest.mark.parametrize("source, values, message, span", [
    ("x +", {"x": 1}, "cannot parse", None),
    ("x + y", {"x": 1}, "no value for y", (4, 5)),
    ("x.real", {"x": 1}, "attribute access", (0, 6)),
    ("f(x)", {"x": 1}, "calling f", (0, 1)),
    ("x // 2", {"x": 1}, "the operator //", (0, 6)),
    ("exp(x, x)", {"x": 1}, "exp takes one argument", (0, 9)),
    ("x + 1", {"x": 1, "y": 2}, "y given a value but not used", None),
    ("σ*x + q", {"σ": 1, "x": 2}, "no value for q", (6, 7)),           # columns count characters
    ("x @ y", {"x": 1, "y": 2}, "@ multiplies vectors and matrices", (0, 5)),
    ("'a' + x", {"x": 1}, "a string", (0, 3)),
    ("__import__('os')", {}, "calling __import__", (0, 10)),
    ("x + 1 @ 2", {"x": 1}, "cannot compute 1 @ 2", (4, 9)),         # folded at trace time
])
def test_bad_expressions_raise_user_errors(source, values, message, span):
    with pytest.raises(UserError, match=message) as info:
        trace(source, **values)
    if span is not None:
        assert info.value.span == span
    assert info.value.lines()[0].startswith("error: ")


def test_division_by_a_literal_zero_is_inf_not_a_crash():
    result = trace("x/0", x=1)
    assert math.isinf(float(result.value)) and math.isinf(float(result.grad["x"]))


def test_zero_to_a_positive_power_has_a_zero_gradient():
    """d/dx 0**x = 0 for x > 0 (not 0·ln 0 = nan); d/dx x**0 = 0 even at x = 0."""
    assert float(trace("0**x", x=2).grad["x"]) == 0
    assert float(trace("x**0", x=0).grad["x"]) == 0
    assert float(trace("x**y", x=0, y=2).grad["y"]) == 0
    assert_fd(trace("0.5**x", x=2), lambda x: 0.5 ** x, {"x": 2.0})


def test_long_sums_stay_linear_node_texts_are_clipped():
    terms = 3000
    source = " + ".join(f"x*{i % 7 + 1}" for i in range(terms))
    result = trace(source, x=0.5)
    graph = result.graph
    assert len(graph.order) == 1 + terms + (terms - 1)
    assert max(len(graph[n]["text"]) for n in graph.order) <= TEXT_LIMIT
    assert graph[graph.output]["text"].startswith("x*1 + x*2") and "…" in graph[graph.output]["text"]
    assert graph.source == source
    assert float(result.grad["x"]) == sum(i % 7 + 1 for i in range(terms))
