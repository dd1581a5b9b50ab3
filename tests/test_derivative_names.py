"""What a gradient is of, named from the seed: ∂f/∂x, ∂b₁/∂z for a one-hot seed, ∂Σb/∂z for
ones, seed·∂b/∂z otherwise — in the table, the summary, the captions and --explain alike."""
from __future__ import annotations

import pytest

from graphviz_nn import trace
from graphviz_nn.explain.captions import derivative
from graphviz_nn.explain.report import gradient_lines, node_table

VECTOR = {"b": [1.0, 2.0, 3.0], "z": 2.0}


@pytest.mark.parametrize("seed, name", [
    (None, "∂Σa/∂z"), ([1, 0, 0], "∂a₁/∂z"), ([0, 0, 1], "∂a₃/∂z"), ([2, 0, 0], "seed·∂a/∂z"),
    ([1, 1, 0], "seed·∂a/∂z")])
def test_a_vector_output_names_what_was_differentiated(seed, name):
    graph = trace("b*z", seed=seed, **VECTOR).graph
    assert derivative(graph, "z") == name
    assert f"{name} = " in "\n".join(gradient_lines(graph))
    assert name.replace("/∂z", "/∂node") in node_table(graph)[0]


def test_a_matrix_entry_is_named_by_row_and_column():
    graph = trace("M*2", M=[[1.0, 2.0], [3.0, 4.0]], seed=[[0, 0], [1, 0]]).graph
    assert derivative(graph, "M") == "∂a[2,1]/∂M"


def test_a_scalar_output_with_seed_one_is_plain_and_other_seeds_scale():
    assert derivative(trace("x*y", x=1, y=2).graph, "x") == "∂a/∂x"
    graph = trace("x*y", x=1, y=2, seed=3).graph
    assert derivative(graph, "x") == "3·∂a/∂x"
    lines = trace("x*y", x=1, y=2, seed=3).explain("x").splitlines()
    assert lines[0].startswith("∂a/∂x = the sum over 1 path") and lines[-1].endswith("seed gradient 3: 6")


def test_captions_use_the_same_name():
    captions = list(trace("b*z", seed=[0, 1, 0], **VECTOR).captions)
    assert any("∂a₂/∂z" in c for c in captions)
    assert not any("∂a/∂z" in c for c in captions)
