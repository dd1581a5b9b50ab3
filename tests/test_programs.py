"""Programs: several statements, targets naming their gates, groups drawn as clusters, constants;
and what a call may add (literal numbers, keywords) and indexing, as the front end reads them."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import graphviz_nn as nn
from graphviz_nn.ops import FUNCTIONS
from graphviz_nn.explain.gradcheck import check_gradients
from graphviz_nn.render.dot import to_dot
from graphviz_nn.render.export import positions

RNN = ("h1 = relu(w*h0 + v*x1); p1 = relu(u*h1); h2 = relu(w*h1 + v*x2); p2 = relu(u*h2); "
       "L = ((p1 - y1)**2 + (p2 - y2)**2)/2")
RNN_AT = "w=0.5,v=0.5,u=0.5,h0=0,x1=0,x2=1,y1=1,y2=-1"
RNN_VALUES = dict(w=0.5, v=0.5, u=0.5, h0=0.0, x1=0.0, x2=1.0, y1=1.0, y2=-1.0)
EXERCISE_1 = "a = x**2; b = x*y; c = x+y; d = a+b; e = c**2; f = d+e"


def test_a_program_computes_what_the_one_formula_computes():
    program = nn.trace(EXERCISE_1, x=1.5, y=-2)
    formula = nn.trace("x**2+x*y+(x+y)**2", x=1.5, y=-2)
    assert program.value == pytest.approx(formula.value)
    for name in "xy":
        assert program.grad[name] == pytest.approx(formula.grad[name])


def test_each_target_names_its_statements_top_gate_and_the_last_is_the_output():
    graph = nn.trace(RNN, **RNN_VALUES).graph
    assert graph.output == "L" and graph.kind == "program"
    for target, op in [("h1", "relu"), ("p1", "relu"), ("h2", "relu"), ("L", "divc")]:
        assert graph.label(target) == target and graph[target]["op"] == op
    assert len(graph.users["h1"]) == 2 and sum(n == "h1" for n in graph.order) == 1


def test_program_gradients_agree_with_finite_differences():
    t = nn.trace(RNN, **{**RNN_VALUES, "h0": 0.3, "x1": 0.7})      # away from relu's kink
    assert all(r.relative_error < 1e-6 for r in check_gradients(t.graph))


@pytest.mark.slow
def test_the_unrolled_rnn_matches_torch():
    torch = pytest.importorskip("torch")
    values = {**RNN_VALUES, "h0": 0.3, "x1": 0.7}
    v = {k: torch.tensor(x, dtype=torch.float64, requires_grad=True) for k, x in values.items()}
    h1 = torch.relu(v["w"] * v["h0"] + v["v"] * v["x1"])
    h2 = torch.relu(v["w"] * h1 + v["v"] * v["x2"])
    p1, p2 = torch.relu(v["u"] * h1), torch.relu(v["u"] * h2)
    loss = ((p1 - v["y1"]) ** 2 + (p2 - v["y2"]) ** 2) / 2
    loss.backward()
    t = nn.trace(RNN, **values)
    assert float(t.value) == pytest.approx(loss.item())
    for name, tensor in v.items():
        assert float(t.grad[name]) == pytest.approx(tensor.grad.item(), abs=1e-12), name


def test_json_ids_are_the_targets(nngraph):
    status, out, _ = nngraph(RNN, "--at", RNN_AT, "--json", "--no-render")
    doc = json.loads(out)
    ids = {node["id"] for node in doc["steps"][0]["nodes"]}
    assert {"h1", "p1", "h2", "p2", "L"} <= ids and doc["kind"] == "program"
    assert doc["steps"][0]["output"] == pytest.approx(nn.trace(RNN, **RNN_VALUES).value)


def test_explain_and_check_work_for_programs(nngraph):
    status, out, _ = nngraph(EXERCISE_1, "--at", "x=1,y=2", "--explain", "x", "--check", "--no-render")
    assert status == 0 and "∂f/∂x" in out and "MISMATCH" not in out and "max relative error" in out


# ---- mistakes, each with its caret -------------------------------------------------------------

@pytest.mark.parametrize("source,message,caret", [
    ("a = x*2; a = x+1", "a is assigned twice", "a"),
    ("b = a*2; a = x+1", "a is used before it is assigned", "a"),
    ("a = x*2; b = q + a", "no value for q", "q"),
    ("a = x*2; b + 1; c = a", "only the last statement may be a bare expression", "b + 1"),
    ("a = x*2; b = x+1", "a is computed but the output does not use it", "a"),
    ("a = x*2; b = a", "b = a only gives a a second name", "a"),
    ("a = x*2; a += 1", "updating a name", "a += 1"),
    ("import os; a = x", "import", "import os"),
    ("for i in x: a = i", "a loop", None),
    ("relu = x*2; b = relu", "relu is a function", "relu"),
    ("const(x*2); a = x", "const of anything but a name", "x*2"),
])
def test_program_mistakes_get_one_error_with_a_caret(source, message, caret, nngraph):
    status, _, err = nngraph(source, "--at", "x=1", "--no-render")
    assert status == 2 and message in err.splitlines()[0], err
    if caret:
        lines = err.splitlines()
        line, marks = lines[1], lines[2]
        start = marks.index("^")
        assert line[start:start + marks.count("^")] == caret, err


def test_at_cannot_give_a_computed_name_a_value(nngraph):
    status, _, err = nngraph("a = x*2; b = a+1", "--at", "x=1,a=3", "--no-render")
    assert status == 2 and "a is computed by the program" in err


def test_a_constant_must_be_an_input(nngraph):
    status, _, err = nngraph("a = x*2; b = a+1", "--at", "x=1", "--const", "a", "--no-render")
    assert status == 2 and "cannot be a constant" in err
    status, _, err = nngraph("a = x*2", "--at", "x=1", "--const", "zz", "--no-render")
    assert status == 2 and "zz marked constant but not an input" in err


# ---- files, data statements, groups ----------------------------------------------------------

CELL = """# a tiny recurrent cell, two steps
w = 0.5          # data statements give the inputs their values
v = -1
h0 = 0
x1 = 1
x2 = 2
y = 0.25
const(y)
## t = 1
h1 = tanh(w*h0 + v*x1)
## t = 2
h2 = tanh(w*h1 + v*x2)
##
L = (h2 - y)**2
"""


def test_a_program_file_carries_its_numbers_groups_and_constants(nngraph, tmp_path):
    path = tmp_path / "cell.nn"
    path.write_text(CELL)
    status, out, _ = nngraph(path, "--json", "--no-render")
    doc = json.loads(out)["steps"][0]
    expected = nn.trace("h1 = tanh(w*h0 + v*x1); h2 = tanh(w*h1 + v*x2); L = (h2 - y)**2",
                        w=0.5, v=-1, h0=0, x1=1, x2=2, y=0.25, const=["y"])
    assert doc["output"] == pytest.approx(float(expected.value))
    assert set(doc["gradients"]) == {"w", "v", "h0", "x1", "x2"}          # no gradient for y
    assert next(n for n in doc["nodes"] if n["id"] == "y")["grad"] is None
    status, out, _ = nngraph(path, "--at", "w=2", "--no-render")           # --at overrides data
    again = nn.trace("h1 = tanh(w*h0 + v*x1); h2 = tanh(w*h1 + v*x2); L = (h2 - y)**2",
                     w=2, v=-1, h0=0, x1=1, x2=2, y=0.25)
    assert f"{float(again.grad['w']):.4g}" in out


def test_groups_are_clusters_and_shared_inputs_stay_outside():
    graph = nn.trace(CELL).graph
    assert graph["h1"]["group"] == "t = 1" and graph["h2"]["group"] == "t = 2"
    assert graph["L"]["group"] is None
    assert graph["w"]["group"] is None and graph["v"]["group"] is None      # shared by both steps
    assert graph["x1"]["group"] == "t = 1" and graph["x2"]["group"] == "t = 2"
    dot = to_dot(graph).source
    assert dot.count("subgraph cluster_") == 2 and "t = 1" in dot and "t = 2" in dot
    cluster = dot[dot.index("subgraph cluster_1"):dot.index("subgraph cluster_2")]
    node_of = {n: f"n{i}" for i, n in enumerate(graph.order)}
    assert f'{node_of["x1"]} [' in cluster and f'{node_of["w"]} [' not in cluster


def test_clusters_keep_their_place_in_pdf_frames():
    """PDF frames are drawn by neato -n2 from the one layout: each cluster is pinned too."""
    pins = positions({"bb": "0,0,10,10", "objects": [{"name": "cluster_1", "bb": "1,1,5,5"}]})
    assert pins["cluster_1"] == 'bb="1,1,5,5"'
    dot = to_dot(nn.trace(CELL).graph, pins=pins).source
    assert 'bb="1,1,5,5"' in dot[dot.index("subgraph cluster_1"):]


def test_the_picture_shows_clusters_names_and_no_gradient_for_data(nngraph, tmp_path):
    path = tmp_path / "cell.nn"
    path.write_text(CELL)
    status, _, _ = nngraph(path, "-o", tmp_path / "out", "--no-gif")
    svg = (tmp_path / "out" / "graph.svg").read_text()
    assert status == 0 and 'id="group1"' in svg and 'id="group2"' in svg and "t = 2" in svg
    graph = nn.trace(CELL).graph
    y = graph.order.index("y")
    assert f'id="n{y}"' in svg and f'id="s{y}"' not in svg       # drawn, with no gradient cell
    assert 'font-weight="bold"' in svg                           # h1, h2, L: names the user gave


def test_a_gate_of_data_alone_is_data_too():
    """`a = 1 - p` with p a constant needs no gradient (PyTorch computes none): the table, the
    JSON, the captions, the steps and the picture show none, and the others are unchanged."""
    source = "const(p, y); a = 1 - p; h = w*x/a; L = (h - y)**2"
    t = nn.trace(source, w=0.5, x=2.0, p=0.5, y=1.0)
    assert t.graph["a"]["grad"] is None and t.graph.edge("a", "h", 1)["grad"] is None
    assert not [s for s in t.steps if s.gate == "a" and s.phase == "backward"]
    assert "a is data" in " ".join(t.captions)
    nodes = {node["id"]: node for node in t.to_dict()["steps"][0]["nodes"]}
    assert nodes["a"]["grad"] is None and nodes["h"]["grad"] == pytest.approx(2.0)
    row = next(line for line in t.table().splitlines() if line.startswith("a = "))
    assert row.split()[-4:] == ["0.5", "1", "-", "p"]          # value, then the source: no gradient
    assert t.grad["w"] == pytest.approx(2 * (2.0 - 1.0) * 2.0 / 0.5)
    pictures = t.pictures()
    edge_part = pictures.drawing.grad_id(("a", "h", 1))
    assert all(pictures.line.state(pictures.line.parts[edge_part], f.index) != "active"
               for f in pictures.line.frames if edge_part in pictures.line.parts)


@pytest.mark.parametrize("name", ["a", "p"])
def test_expect_refuses_a_gradient_of_data(nngraph, name):
    status, _, err = nngraph("const(p); a = 1 - p; L = x*a", "--at", "x=3,p=0.25", "--expect", f"dL/d{name}=3",
                             "--no-render")
    assert status == 2 and err.count("error:") == 1 and "has no gradient" in err


def test_no_frame_lights_a_gradient_on_a_datas_edge():
    """The backward step of `e - y` sends nothing to y: its edge's (empty) gradient cell stays
    unlit, and no step makes y's gradient known."""
    pictures = nn.trace("e = w*x; L = (e - y)**2", w=0.5, x=1, y=2, const=["y"]).pictures()
    y_edge = next(pictures.drawing.grad_id(edge) for edge in pictures.drawing.edge_index if edge[0] == "y")
    line = pictures.line
    assert all(line.state(line.parts[y_edge], f.index) != "active" for f in line.frames if y_edge in line.parts)


@pytest.mark.parametrize("content,message", [
    (None, "cannot read the program"),
    (b"a = x\xff", "not UTF-8"),
])
def test_unreadable_program_files(content, message, nngraph, tmp_path):
    path = tmp_path / "p.nn"
    if content is not None:
        path.write_bytes(content)
    status, _, err = nngraph(path, "--no-render")
    assert status == 2 and message in err


def test_a_program_file_is_bounded_by_max_length(nngraph, tmp_path):
    path = tmp_path / "long.nn"
    path.write_text("x = 1\n" + "# padding\n" * 100 + "a = x*2\n")
    status, _, err = nngraph(path, "--max-length", "50", "--no-render")
    assert status == 2 and "--max-length" in err


# ---- calls with parameters and keywords, indexing ---------------------------------------------

def test_literal_parameters_and_keywords_reach_the_gate():
    t = nn.trace("leaky_relu(x, 0.2) + sum(X, axis=0)[1]", x=-1.0, X=[[1, 2], [3, 4]])
    assert float(t.value) == pytest.approx(-0.2 + 6)
    gates = {t.graph[n]["op"]: t.graph[n]["p"] for n in t.graph.gates()}
    assert gates["leaky_relu"] == 0.2 and gates["sum"] == 0 and gates["index"] == (1,)


@pytest.mark.parametrize("source,message", [
    ("sum(X, foo=1)", "the keyword foo"),
    ("exp(X, axis=0)", "the keyword axis"),
    ("sum(X, axis=1.5)", "axis= with anything but an integer"),
    ("sum(X, axis=x)", "axis= with anything but an integer"),
    ("leaky_relu(x, x)", "argument after its input as an expression"),
    ("exp(x, 2)", "exp takes one argument"),
    ("X[x]", "indexing with anything but whole numbers"),
    ("X[1.5]", "indexing with anything but whole numbers"),
    ("X[::0]", "slice step cannot be 0"),
])
def test_bad_parameters_are_refused_with_a_caret(source, message, nngraph):
    status, _, err = nngraph(source, "--at", "x=1", "--at", "X=[[1,2],[3,4]]", "--no-render")
    assert status == 2 and message in err.splitlines()[0], err


def test_indexing_scatters_the_gradient_back_into_place():
    t = nn.trace("X[1, 0]*3 + sum(X[:, 1])", X=[[1, 2], [3, 4]])
    assert np.array_equal(t.grad["X"], [[0, 1], [3, 1]])
    t = nn.trace("softmax(z/2)[2]", z=[1, 2, 5])
    s = np.exp(np.array([1, 2, 5]) / 2) / np.exp(np.array([1, 2, 5]) / 2).sum()
    assert float(t.value) == pytest.approx(s[2])
    assert all(r.relative_error < 1e-6 for r in check_gradients(t.graph))


# ---- the Python API ---------------------------------------------------------------------------

def test_the_api_names_groups_constants_and_indexes():
    w, x, y = nn.var("w", 0.5), nn.var("x", [1.0, -2.0]), nn.var("y", 2.0, const=True)
    with nn.group("layer"):
        h = nn.relu(w * x).named("h")
    loss = ((nn.sum(h, axis=0) - y) ** 2).named("L")
    t = nn.trace(loss)
    graph = t.graph
    assert graph.output == "L" and graph.label("h") == "h" and graph["h"]["group"] == "layer"
    assert set(t.grad) == {"w", "x"} and graph["y"]["kind"] == "const"
    assert graph[graph.args["L"][0]]["text"].startswith("sum(h")       # later texts use the name
    t = nn.trace(nn.var("X", [[1, 2], [3, 4]])[:, 1].sum())
    assert float(t.value) == 6 and np.array_equal(t.grad["X"], [[0, 1], [0, 1]])


def test_the_api_refuses_what_the_parser_refuses():
    X = nn.var("X", [[1, 2], [3, 4]])
    with pytest.raises(TypeError):
        X[1.5]
    with pytest.raises(TypeError):
        nn.exp(X, axis=0)
    with pytest.raises(ValueError):
        X.named("Y")                                   # an input has its name


def test_every_function_is_documented_with_its_call_and_derivative():
    for name in FUNCTIONS:
        doc = getattr(nn.fn, name).__doc__
        assert doc.startswith(f"{name}(") and "local derivative" in doc, name


DOCS = Path(__file__).resolve().parent.parent / "docs" / "programs.md"


def test_the_docs_list_every_function():
    text = DOCS.read_text()
    assert [name for name in FUNCTIONS if f"`{name}(" not in text] == []


def test_the_docs_python_example_runs_as_written():
    block = re.search(r"## In Python\n\n```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    lines = [line for line in block.splitlines() if not line.startswith("help(")]
    namespace = {}
    exec("\n".join(lines), namespace)          # our own documentation, not user input
    assert float(namespace["t"].value) == 6
