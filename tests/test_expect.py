"""--expect: a student's own numbers checked against the run, at the digits they wrote."""
from __future__ import annotations

import pytest

from graphviz_nn import trace
from graphviz_nn.cli.expect import last_digit, parse_answers
from graphviz_nn.explain.answers import check_answers

FLAGSHIP = "x**2+x*y+(x+y)**2"


def test_right_and_wrong_answers_and_the_exit_status(nngraph):
    status, out, _ = nngraph(FLAGSHIP, "--at", "x=1,y=2", "--expect", "f=12, df/dx=9, ∂f/∂y=7, c=3",
                             "--no-render")
    assert status == 1
    assert "  ✓ f = 12" in out and "  ✗ ∂f/∂x: you wrote 9, it is 10" in out
    assert "  ✓ ∂f/∂y = 7" in out and "  ✓ c = 3" in out and "3 of 4 right" in out


def test_all_right_exits_0(nngraph):
    status, out, _ = nngraph(FLAGSHIP, "--at", "x=1,y=2", "--expect", "f=12,df/dx=10,df/dy=7", "--no-render")
    assert status == 0 and "3 of 3 right" in out


@pytest.mark.parametrize("written, right", [("0.79", True), ("0.786", True), ("0.8", True),
                                            ("0.78", False), ("0.7859", False), ("1", True), ("0.7", False)])
def test_an_answer_is_right_at_the_digits_written(written, right):
    graph = trace("sigmoid(x)", x=1.3).graph          # σ(1.3) = 0.78583…
    (verdict,) = check_answers(graph, parse_answers(f"a={written}"))
    assert verdict.right is right


def test_matrices_are_checked_entry_by_entry():
    graph = trace("X*2", X=[[0.5, 1.25]]).graph
    assert check_answers(graph, parse_answers("a=[[1, 2.5]]"))[0].right
    assert not check_answers(graph, parse_answers("a=[[1, 2.4]]"))[0].right
    assert not check_answers(graph, parse_answers("a=[[1, 2.5, 3]]"))[0].right


def test_last_digit():
    assert [last_digit(t) for t in ("12", "0.20", "1.5e-3", "3e2")] == [0, -2, -4, 2]


@pytest.mark.parametrize("expect, message", [
    ("q=2", "no node named q"), ("dz/dx=1", "gradients are of the output f"),
    ("f", "expected name=value"), ("2x=1", "neither a node name nor a gradient"),
    ("f=[[1,2]", "is not a number or a matrix")])
def test_bad_answers_are_one_clear_error_before_any_output(nngraph, expect, message):
    status, out, err = nngraph(FLAGSHIP, "--at", "x=1,y=2", "--expect", expect, "--no-render")
    assert status == 2 and out == "" and message in err


def test_wrong_answers_are_marked_in_the_picture(nngraph, tmp_path):
    status, _, _ = nngraph(FLAGSHIP, "--at", "x=1,y=2", "--expect", "df/dx=9", "-o", tmp_path / "o",
                           "--no-frames")
    svg = (tmp_path / "o" / "graph.svg").read_text()
    assert status == 1
    nngraph(FLAGSHIP, "--at", "x=1,y=2", "--expect", "df/dx=10", "-o", tmp_path / "p", "--no-frames")
    assert svg != (tmp_path / "p" / "graph.svg").read_text()      # x is drawn as troubled


def test_answer_names_are_read_as_the_formula_reads_them(nngraph):
    """Python folds ｘ to x (NFKC) in the formula; --expect does the same."""
    status, out, _ = nngraph("ｘ*2", "--at", "ｘ=1", "--expect", "ｘ=1, dａ/dｘ=2", "--no-render")
    assert status == 0 and "2 of 2 right" in out
