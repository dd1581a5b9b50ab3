"""The command line, run in-process: the table, --json, --explain, --check and its exit status,
and errors (one `error:` line on stderr, exit 2, never a traceback). Pictures are not drawn here."""
from __future__ import annotations

import json

import pytest

FLAGSHIP = "x**2+x*y+(x+y)**2"


@pytest.fixture
def run(nngraph):
    return lambda *argv: nngraph(*argv, "--no-render")


def test_table_and_gradients(run):
    status, out, err = run(FLAGSHIP, "--at", "x=1,y=2")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["node", "value", "∂f/∂node", "source"]
    rows = {line.split(" = ")[0].strip(): line for line in lines[1:9]}
    assert list(rows) == list("xyabcdef")
    assert rows["c"].split() == ["c", "=", "x", "+", "y", "3", "6", "x+y"]
    assert rows["x"].split() == ["x", "=", "input", "1", "10"]
    assert "f = 12" in lines
    assert "∂f/∂x = 10" in lines and "∂f/∂y = 7" in lines


def test_matrices_in_the_table(run):
    status, out, _ = run("relu(X@W1)@W2", "--at", "X=[[1,2],[-1,2]]",
                         "--at", "W1=[[1,-1],[0.5,0]]", "--at", "W2=[[0.5],[1]]")
    assert status == 0
    assert any(line.startswith("∂Σc/∂W2 = [[") for line in out.splitlines())


def test_json_prints_one_document(run):
    status, out, err = run(FLAGSHIP, "--at", "x=1,y=2", "--json")
    assert status == 0 and err == ""
    doc = json.loads(out)
    assert doc["source"] == FLAGSHIP and len(doc["steps"]) == 1
    assert doc["steps"][0]["gradients"] == {"x": 10.0, "y": 7.0}
    assert doc["steps"][0]["output"] == 12.0


def test_explain_prints_the_sum_over_paths(run):
    status, out, _ = run(FLAGSHIP, "--at", "x=1,y=2", "--explain", "x", "--explain", "y")
    assert status == 0
    assert "∂f/∂x = 1·1·2x + 1·1·y + 1·2c·1 = 2 + 2 + 6 = 10" in out.splitlines()
    assert "∂f/∂y = the sum over 2 paths from y to f" in out


def test_check_passes_with_exit_0(run):
    status, out, _ = run("(x+y)*z", "--at", "x=-2,y=5,z=-4", "--check")
    assert status == 0
    assert out.count("  ok") == 3 and "MISMATCH" not in out


def test_check_names_a_kink_instead_of_failing(run):
    """relu at 0: backprop says 0 (the seeds' convention), central differences say 1/2; the
    one-sided derivatives are 0 and 1, and 0 lies between them (tests/test_check_kinks.py)."""
    status, out, _ = run("relu(x)", "--at", "x=0", "--check")
    assert status == 0
    assert "ok at a kink" in out and "MISMATCH" not in out


def test_check_fails_below_a_tiny_tolerance_with_exit_1(run):
    status, out, _ = run("exp(sin(x))", "--at", "x=0.3", "--check", "--tol", "1e-30")
    assert status == 1 and "MISMATCH" in out
    status, out, _ = run("exp(sin(x))", "--at", "x=0.3", "--check")
    assert status == 0 and "MISMATCH" not in out


def test_seed_option_scales_gradients(run):
    status, out, _ = run(FLAGSHIP, "--at", "x=1,y=2", "--seed", "2")
    assert status == 0 and "2·∂f/∂x = 20" in out.splitlines()


def test_expand_and_const_nodes_options(run):
    status, out, _ = run("sigmoid(x)", "--at", "x=1", "--expand")
    assert status == 0 and "d = 1 / c" in out and "a = -x" in out
    status, out, _ = run("x*3", "--at", "x=2", "--const-nodes")
    assert status == 0 and "a = x * 3" in out and "∂a/∂x = 3" in out


@pytest.mark.parametrize("argv, message", [
    (["x +", "--at", "x=1"], "error: cannot parse the expression"),
    (["x + y", "--at", "x=1"], "error: no value for y"),
    (["x"], "error: no value for x"),
    (["sum()", "--at", "x=1"], "error: sum takes one argument"),
    (["x + 1", "--at", "x=1,z=2"], "error: z given a value but not used"),
    (["x + 1", "--at", "x=[1,2"], "error: --at x:"),
    (["x + 1", "--at", "x"], "error: --at expects name=value"),
    (["x + 1", "--at", "exp=1"], "error: --at: exp is a function name"),
    (["X @ Y", "--at", "X=[[1,2]]", "--at", "Y=[[1,2]]"], "error: cannot compute X @ Y"),
    (["X * 2", "--at", "X=[1,2]", "--seed", "[1,2,3]"], "error: the seed gradient has shape"),
    (["x * 2", "--at", "x=1", "--explain", "q"], "error: --explain: no input named 'q'"),
    (["x * 2", "--at", "x=1", "--max-nodes", "1"], "error: the graph has more than 1 nodes"),
    (["x", "--at", "x=1", "--format", "svg,gif"], "error: --format: unknown format gif"),
    (["x", "--at", "x=1", "--precision", "0"], "error: Invalid value for '--precision'"),
    (["x", "--at", "x=1", "--tol", "abc"], "error: Invalid value for '--tol'"),
    (["x", "--at", "x=1", "--frames", "all"], "error: Invalid value for '--frames'"),
    (["x", "--at", "x=1", "--theme", "<script>"], "error: Invalid value for '--theme'"),
    (["x * 2", "--at", "x=1", "--no-such-option"], "error: No such option"),
    (["x", "y", "z"], "error: Got unexpected extra arguments (y z)"),
    (["", "--at", "x=1"], "error: the expression is empty"),
    (["   "], "error: the expression is empty"),
    (["no/such/net.toml"], "error: cannot read the network spec no/such/net.toml"),
])
def test_user_errors_are_one_line_and_exit_2(run, argv, message):
    """What is refused in a formula, and where, is test_hostile's; here each kind of mistake."""
    status, _, err = run(*argv)
    assert status == 2 and err.startswith(message)


def test_parse_errors_point_a_caret_at_the_bad_spot(run):
    status, _, err = run("x + y", "--at", "x=1")
    lines = err.splitlines()
    assert status == 2
    assert lines[1] == "  x + y"
    assert lines[2] == "      ^"


def test_an_expression_may_start_with_a_minus(run):
    status, out, err = run("-x*2", "--at", "x=3", "--seed", "-1")
    assert status == 0, err
    assert "b = -6" in out and "∂b/∂x = 2" in out
