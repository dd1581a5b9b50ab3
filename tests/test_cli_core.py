"""The command line, run in-process: the table, --json, --explain, --check and its exit status,
and errors (one `error:` line on stderr, exit 2, never a traceback). Pictures are not drawn here."""
from __future__ import annotations

import json

import pytest

from graphviz_nn import cli

FLAGSHIP = "x**2+x*y+(x+y)**2"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # nothing may land in the repository's outputs/


def run(capsys, *argv):
    status = cli.main([*argv, "--no-render"])
    out, err = capsys.readouterr()
    return status, out, err


def test_table_and_gradients(capsys):
    status, out, err = run(capsys, FLAGSHIP, "--at", "x=1,y=2")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["node", "value", "∂f/∂node", "source"]
    rows = {line.split(" = ")[0].strip(): line for line in lines[1:9]}
    assert list(rows) == list("xyabcdef")
    assert rows["c"].split() == ["c", "=", "x", "+", "y", "3", "6", "x+y"]
    assert rows["x"].split() == ["x", "=", "input", "1", "10"]
    assert "f = 12" in lines
    assert "∂f/∂x = 10" in lines and "∂f/∂y = 7" in lines


def test_matrices_in_the_table(capsys):
    status, out, _ = run(capsys, "relu(X@W1)@W2", "--at", "X=[[1,2],[-1,2]]",
                         "--at", "W1=[[1,-1],[0.5,0]]", "--at", "W2=[[0.5],[1]]")
    assert status == 0
    assert any(line.startswith("∂c/∂W2 = [[") for line in out.splitlines())


def test_json_prints_one_document(capsys):
    status, out, err = run(capsys, FLAGSHIP, "--at", "x=1,y=2", "--json")
    assert status == 0 and err == ""
    doc = json.loads(out)
    assert doc["source"] == FLAGSHIP and len(doc["steps"]) == 1
    assert doc["steps"][0]["gradients"] == {"x": 10.0, "y": 7.0}
    assert doc["steps"][0]["output"] == 12.0


def test_explain_prints_the_sum_over_paths(capsys):
    status, out, _ = run(capsys, FLAGSHIP, "--at", "x=1,y=2", "--explain", "x", "--explain", "y")
    assert status == 0
    assert "∂f/∂x = 1·1·2x + 1·1·y + 1·2c·1 = 2 + 2 + 6 = 10" in out.splitlines()
    assert "∂f/∂y = the sum over 2 paths from y to f" in out


def test_check_passes_with_exit_0(capsys):
    status, out, _ = run(capsys, "(x+y)*z", "--at", "x=-2,y=5,z=-4", "--check")
    assert status == 0
    assert out.count("  ok") == 3 and "MISMATCH" not in out


def test_check_fails_at_a_kink_with_exit_1(capsys):
    """relu at 0: backprop says 0 (the seeds' convention), finite differences say 1/2."""
    status, out, _ = run(capsys, "relu(x)", "--at", "x=0", "--check")
    assert status == 1
    assert "MISMATCH" in out


def test_check_fails_below_a_tiny_tolerance_with_exit_1(capsys):
    status, out, _ = run(capsys, "exp(sin(x))", "--at", "x=0.3", "--check", "--tol", "1e-30")
    assert status == 1 and "MISMATCH" in out
    status, out, _ = run(capsys, "exp(sin(x))", "--at", "x=0.3", "--check")
    assert status == 0 and "MISMATCH" not in out


def test_nan_values_warn_and_exit_1(capsys):
    status, out, err = run(capsys, "log(x)", "--at", "x=-1")
    assert status == 1
    assert err.startswith("warning: ") and "nan" in err
    assert "Traceback" not in out + err


def test_seed_option_scales_gradients(capsys):
    status, out, _ = run(capsys, FLAGSHIP, "--at", "x=1,y=2", "--seed", "2")
    assert status == 0 and "∂f/∂x = 20" in out.splitlines()


def test_expand_and_const_nodes_options(capsys):
    status, out, _ = run(capsys, "sigmoid(x)", "--at", "x=1", "--expand")
    assert status == 0 and "d = 1 / c" in out and "a = -x" in out
    status, out, _ = run(capsys, "x*3", "--at", "x=2", "--const-nodes")
    assert status == 0 and "a = x * 3" in out and "∂a/∂x = 3" in out


@pytest.mark.parametrize("argv, message", [
    (["x +", "--at", "x=1"], "error: cannot parse the expression"),
    (["x + y", "--at", "x=1"], "error: no value for y"),
    (["f(x)", "--at", "x=1"], "error: calling f is not allowed here"),
    (["x.real", "--at", "x=1"], "error: attribute access"),
    (["x + 1", "--at", "x=1,z=2"], "error: z given a value but not used"),
    (["x + 1", "--at", "x=[1,2"], "error: --at x:"),
    (["x + 1", "--at", "x"], "error: --at expects name=value"),
    (["x + 1", "--at", "exp=1"], "error: --at: exp is a function name"),
    (["X @ Y", "--at", "X=[[1,2]]", "--at", "Y=[[1,2]]"], "error: cannot compute X @ Y"),
    (["X * 2", "--at", "X=[1,2]", "--seed", "[1,2,3]"], "error: the seed gradient has shape"),
    (["x * 2", "--at", "x=1", "--explain", "q"], "error: --explain: no input named 'q'"),
    (["x * 2", "--at", "x=1", "--max-nodes", "1"], "error: the graph has more than 1 nodes"),
    (["x * 2", "--at", "x=1", "--no-such-option"], "error: No such option"),
    (["", "--at", "x=1"], "error: the expression is empty"),
    (["__import__('os').system('true')"], "error: "),
])
def test_user_errors_are_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith(message)
    assert "Traceback" not in out + err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


def test_parse_errors_point_a_caret_at_the_bad_spot(capsys):
    status, _, err = run(capsys, "x + y", "--at", "x=1")
    lines = err.splitlines()
    assert status == 2
    assert lines[1] == "  x + y"
    assert lines[2] == "      ^"


def test_an_expression_may_start_with_a_minus(capsys):
    status, out, err = run(capsys, "-x*2", "--at", "x=3", "--seed", "-1")
    assert status == 0, err
    assert "b = -6" in out and "∂b/∂x = 2" in out
