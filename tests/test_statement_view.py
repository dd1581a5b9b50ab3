"""The statement view (--view statements, trace(..., statements=True)): one gate per named
statement. Its numbers are the gate-level graph's, its captions give each statement's partial
derivatives, its boxes carry the shares that add up, and its frames reveal each number at its step
(PNG frames included: a number inside a box stays hidden until its step)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops

import graphviz_nn as nn
from graphviz_nn.render import raster
from graphviz_nn.render.dot import changes
from graphviz_nn.render.paint import paint

PROGRAMS = Path(__file__).parent.parent / "examples" / "programs"
EXAMPLES = sorted(p.name for p in PROGRAMS.glob("*.nn"))
SMALL = "h = relu(w*x); g = h*w; L = (g - y)**2"
SMALL_VALUES = dict(w=0.5, x=1.0, y=2.0)


def both(source: str, **values) -> tuple[nn.Trace, nn.Trace]:
    return nn.trace(source, **values), nn.trace(source, statements=True, **values)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_number_is_the_gate_level_graphs(name):
    fine, folded = both((PROGRAMS / name).read_text(encoding="utf-8"))
    assert folded.graph.kind == "statements"
    assert np.allclose(folded.value, fine.value, rtol=1e-12, atol=1e-15)
    assert folded.grad.keys() == fine.grad.keys()
    for variable, grad in fine.grad.items():
        assert np.allclose(folded.grad[variable], grad, rtol=1e-10, atol=1e-14), variable
    for n in folded.graph.order:           # each statement's value and gradient, by its name
        assert n in fine.graph.order
        assert np.allclose(folded.graph[n]["value"], fine.graph[n]["value"], rtol=1e-12, atol=1e-15), n
        if folded.graph[n]["grad"] is not None:
            assert np.allclose(folded.graph[n]["grad"], fine.graph[n]["grad"], rtol=1e-10, atol=1e-14), n


def test_one_gate_per_statement_reading_the_names_it_uses():
    folded = nn.trace(SMALL, const=["y"], statements=True, **SMALL_VALUES).graph
    assert folded.order == ["w", "x", "y", "h", "g", "L"]
    assert {n: folded.args[n] for n in "hgL"} == {"h": ["w", "x"], "g": ["h", "w"], "L": ["g", "y"]}
    assert all(folded[n]["op"] == "statement" for n in "hgL")
    table = nn.trace(SMALL, const=["y"], statements=True, **SMALL_VALUES).table()
    assert "h = relu(w*x)" in table and "L = (g - y)**2" in table


def test_captions_give_each_statements_partial_derivatives_with_their_numbers():
    captions = list(nn.trace(SMALL, const=["y"], statements=True, **SMALL_VALUES).captions)
    backward = [c for c in captions if c.startswith("backward")]
    assert backward[1] == "backward · the chain rule through L: ∂L/∂g = 1·∂L/∂g = 1·(-3.5) = -3.5, y is data"
    assert backward[2] == ("backward · the chain rule through g: ∂L/∂h = (-3.5)·∂g/∂h = (-3.5)·0.5 = -1.75, "
                           "∂L/∂w += (-3.5)·∂g/∂w = (-3.5)·0.5 = -1.75")
    assert captions[-1] == "copy adds · w feeds 2 gates: (-1.75) + (-1.75) = -3.5"


def test_data_gets_no_gradient_step_and_no_gradient_in_json():
    t = nn.trace(SMALL, const=["y"], statements=True, **SMALL_VALUES)
    assert not [s for s in t.steps if s.kind == "copy" and s.gate == "y"]
    nodes = {node["id"]: node for node in t.to_dict()["steps"][0]["nodes"]}
    assert nodes["y"]["grad"] is None and nodes["L"]["grad"] == 1 and nodes["w"]["grad"] == pytest.approx(-3.5)


def test_the_explanation_runs_over_paths_between_named_values():
    text = nn.trace((PROGRAMS / "48_rnn_unrolled.nn").read_text(encoding="utf-8"), statements=True).explain("v")
    assert "v → h2 → ŷ2 → e2 → L" in text and "∂ŷ2/∂h2" in text


def boxes_with_shares(svg: str) -> int:
    return svg.count("dw += ")


def test_a_shared_input_has_one_share_row_in_each_box_it_feeds():
    svg = nn.trace(SMALL, const=["y"], statements=True, **SMALL_VALUES).svg()
    assert boxes_with_shares(svg) == 2 and "dx += " not in svg        # x feeds one gate: no share row
    assert svg.count("&#45;1.75") >= 3                                  # h's gradient and both shares


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_share_is_what_the_statement_sends_back_in_the_gate_level_graph(name):
    """A share dW += … in a statement's box is ∂L/∂(its output) times ∂(output)/∂W through that
    statement alone: in the gate-level graph, the sum of W's shares into the statement's gates."""
    source = (PROGRAMS / name).read_text(encoding="utf-8")
    fine, folded = both(source)
    for (u, v, k), attrs in folded.graph.edge_attrs.items():
        if folded.graph[u]["kind"] == "const" or len(folded.graph.users[u]) < 2:
            continue
        body = statement_body(fine.graph, v)
        expected = sum(np.asarray(fine.graph.edge(*e)["grad"]) for e in fine.graph.out_edges(u) if e[1] in body)
        assert np.allclose(attrs["grad"], expected, rtol=1e-10, atol=1e-14), (u, v)


def statement_body(graph, top: str) -> set[str]:
    """The gates of top's statement in the gate-level graph: back from top to named values."""
    body, todo = {top}, [top]
    while todo:
        for u in graph.args[todo.pop()]:
            if u not in body and graph[u]["kind"] == "op" and not graph[u].get("named"):
                body.add(u)
                todo.append(u)
    return body


def statement_pictures():
    return nn.trace(SMALL, const=["y"], statements=True, **SMALL_VALUES).pictures()


def grid_pictures():
    t = nn.trace("sum(maxpool(conv2d(X, K)))", X=np.arange(16.0).reshape(4, 4) % 5, K=[[0, 1], [2, -1]])
    return t.pictures(view="grid")


@pytest.mark.parametrize("pictures", [statement_pictures, grid_pictures])
def test_the_png_frames_are_the_frames_painted_whole(pictures):
    """Frames are pasted together from a few looks; a number inside a box (a statement's share,
    a grid's cell) hidden in a frame must not be pasted along with its box."""
    pictures = pictures()
    drawn = pictures.rasterizer(72)
    line, theme = pictures.line, pictures.theme
    for i, frame in enumerate(drawn.frames()):
        graph = frame.crop((0, 0, frame.width, drawn.look(raster.BEFORE).height)).convert("RGB")
        whole = paint(drawn.picture, lambda p: changes(theme, p.kind, line.state(p, i)),
                      theme.background, drawn.dpi, drawn.supersample).convert("RGB")
        shifted = Image.new("RGB", graph.size, theme.background)
        shifted.paste(whole, (round(drawn.template.shift * drawn.k), 0))
        difference = ImageChops.difference(graph, shifted).convert("L").point(lambda v: 255 if v > 64 else 0)
        assert difference.getbbox() is None or sum(difference.histogram()[255:]) < 40, i


def test_every_format_and_output_is_written(nngraph, tmp_path):
    program = PROGRAMS / "51_peephole_lstm.nn"
    result = nngraph(program, "--view", "statements", "--format", "svg,png,pdf", "--worksheet", "--slide",
                     "-o", tmp_path / "out")
    assert result.status == 0
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"graph.svg", "graph.png", "graph.pdf", "backprop.gif", "index.html", "worksheet.svg",
            "key.pdf", "answers.txt"} <= written
    svg = (tmp_path / "out" / "graph.svg").read_text()
    for name in ("ifo1", "c1", "h1", "ifo2", "c2", "h2"):
        assert f">{name}<" in svg
    document = json.loads(nngraph(program, "--view", "statements", "--json", "--no-render").out)
    assert document["kind"] == "statements"
    assert {n["id"] for n in document["steps"][0]["nodes"]} >= {"ifo1", "cʹ1", "c1", "h1", "L"}


def test_it_is_a_slide_two_lstm_steps_fit_on_one():
    """The peephole LSTM over two steps: an order of magnitude fewer boxes than gates, and a
    picture that --slide shrinks less than half as much as the gate-level one."""
    source = (PROGRAMS / "51_peephole_lstm.nn").read_text(encoding="utf-8")
    fine, folded = both(source)
    assert len(list(folded.graph.gates())) * 2 < len(list(fine.graph.gates()))
    width = lambda t: float(t.svg().split('width="', 1)[1].split("pt", 1)[0])
    assert width(folded) * 2 < width(fine)


@pytest.mark.parametrize("argv, words", [
    (("examples/nets/25_relu_regression.toml",), "applies to formulas and programs"),
])
def test_specs_refuse_it_with_one_line(nngraph, argv, words):
    root = Path(__file__).parent.parent
    result = nngraph(root / argv[0], "--view", "statements", "--no-render")
    assert result.status == 2 and words in result.err and result.err.count("error:") == 1


def test_a_long_statement_keeps_its_start_and_end_in_its_box():
    source = "L = " + " + ".join(f"x*{i}" for i in range(1, 400))
    svg = nn.trace(source, x=1, statements=True).svg()
    lines = re.findall(r'font-size="10.00" fill="#222222">([^<]*)</text>', svg)
    assert lines[0].startswith("= x*1 + x*2") and any("…" in line for line in lines) and len(lines) <= 6


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_program_draws_in_the_statement_view_in_every_format(nngraph, tmp_path, name):
    result = nngraph(PROGRAMS / name, "--view", "statements", "--format", "svg,png,pdf", "--worksheet", "all",
                     "-o", tmp_path / "out")
    assert result.status == 0, result.err
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"graph.svg", "graph.png", "graph.pdf", "backprop.gif", "index.html", "frames.tex",
            "worksheet.pdf", "answers.txt"} <= written


def test_a_statement_is_written_as_the_program_wrote_it():
    t = nn.trace("(x**y)**z", x=2, y=3, z=2, statements=True)
    assert t.graph[t.graph.output]["p"].formula == "(x**y)**z" and t.value == 64


def test_a_statement_of_two_thousand_terms_is_one_box():
    source = "L = " + "+".join(["x"] * 2000)
    t = nn.trace(source, x=1, statements=True)
    assert t.value == 2000 and t.grad["x"] == 2000 and len(t.graph.order) == 2
    assert "…" in t.svg()
