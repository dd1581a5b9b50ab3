"""Options that do not apply are refused with one error, never silently ignored."""
from __future__ import annotations

from pathlib import Path

import pytest

NETS = Path(__file__).resolve().parent.parent / "examples" / "nets"


@pytest.mark.parametrize("extra, named", [
    (["--at", "x=1"], "--at"), (["--check"], "--check"), (["--expect", "L=3"], "--expect"),
    (["--explain", "W1"], "--explain"), (["--seed", "2"], "--seed"), (["--expand"], "--expand"),
    (["--check", "--const-nodes"], "--check, --const-nodes apply to formulas")])
def test_formula_options_on_a_spec(nngraph, extra, named):
    status, out, err = nngraph(NETS / "25_relu_regression.toml", *extra, "--no-render")
    assert status == 2 and out == "" and named in err and "not to network specs" in err


@pytest.mark.parametrize("extra", [["--draw", "all"], ["--plots"], ["--max-steps", "5"]])
def test_spec_options_on_a_formula(nngraph, extra):
    status, _, err = nngraph("x*y", "--at", "x=1,y=2", *extra, "--no-render")
    assert status == 2 and "not to formulas" in err


@pytest.mark.parametrize("extra", [["--check"], ["--explain", "x"], ["--expect", "a=2"]])
def test_json_stays_one_document(nngraph, extra):
    status, _, err = nngraph("x*y", "--at", "x=1,y=2", "--json", *extra)
    assert status == 2 and "--json prints only the JSON document" in err


def test_a_formula_with_json_still_draws_and_says_so_on_stderr(nngraph, tmp_path):
    status, out, err = nngraph("x*y", "--at", "x=1,y=2", "--json", "-o", tmp_path / "o", "--no-frames")
    assert status == 0 and out.lstrip().startswith("{") and "note: wrote" in err
    assert (tmp_path / "o" / "graph.svg").exists()


@pytest.mark.parametrize("tol", ["nan", "-1"])
def test_a_tolerance_must_be_a_number_at_least_zero(nngraph, tol):
    status, _, err = nngraph("x*y", "--at", "x=1,y=2", "--check", "--tol", tol, "--no-render")
    assert status == 2 and "--tol" in err
