"""Float noise for people: zero up to rounding shows as 0 in the table, pictures and captions;
the JSON keeps every bit."""
from __future__ import annotations

import json

import numpy as np

from graphviz_nn import trace
from graphviz_nn.explain.noise import cleaned, shown_graph

CENTRED = ("x - mean(x)", "x=[0.1,0.2,0.3]")


def test_the_table_shows_zero_and_the_json_keeps_the_bits(nngraph):
    status, out, _ = nngraph(CENTRED[0], "--at", CENTRED[1], "--no-render")
    assert status == 0 and "[-0.1, 0, 0.1]" in out and "e-17" not in out
    status, out, _ = nngraph(CENTRED[0], "--at", CENTRED[1], "--json")
    b = next(n for n in json.loads(out)["steps"][0]["nodes"] if n["id"] == "b")
    assert b["value"][1] != 0 and abs(b["value"][1]) < 1e-16


def test_pictures_and_captions_show_zero(nngraph, tmp_path):
    status, _, _ = nngraph(CENTRED[0], "--at", CENTRED[1], "-o", tmp_path / "o", "--no-gif",
                           "--fractions", "--precision", "3")
    assert status == 0
    for svg in [tmp_path / "o" / "graph.svg", *sorted((tmp_path / "o" / "frames").glob("*.svg"))]:
        assert "e-17" not in svg.read_text() and "e−17" not in svg.read_text(), svg.name


def test_a_gradient_that_cancels_is_zero_and_raises_no_vanishing_warning(nngraph):
    status, out, err = nngraph("0.1*x+0.2*x-0.3*x", "--at", "x=1", "--no-render")
    assert status == 0 and "∂e/∂x = 0" in out.splitlines() and "vanished" not in err
    assert "copy adds · x feeds 3 gates: 0.1 + 0.2 + (-0.3) = 0" in trace("0.1*x+0.2*x-0.3*x", x=1).captions


def test_small_numbers_that_are_not_noise_stay():
    assert cleaned(np.asarray(1e-17), np.asarray(1e-16)) == 1e-17        # small operands: a real value
    assert cleaned(np.asarray(1e-17), np.asarray(1.0)) == 0
    result = trace("x*y", x=1e-20, y=3e-20)                         # a product is as exact as its inputs
    assert shown_graph(result.graph)["a"]["value"] == 3e-40
    assert result.captions[1].endswith("= 3e-40")


def test_the_shown_graph_is_a_copy():
    result = trace(CENTRED[0], x=[0.1, 0.2, 0.3])
    shown = shown_graph(result.graph)
    assert shown["b"]["value"][1] == 0 and result.graph["b"]["value"][1] != 0
