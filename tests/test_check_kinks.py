"""--check at a kink: central differences straddle it, the one-sided ones disagree; the check says
so and compares the analytic gradient with the one-sided derivative its convention picks."""
from __future__ import annotations

import numpy as np
import pytest

from graphviz_nn import ops, trace
from graphviz_nn.explain.gradcheck import check_gradients, kinked_gates

EXERCISE_5B = "max(0, 4*max(0, 3*x1+4*x2+1) + 2*max(0, 3*x1+2*x2+7) + 6)"


@pytest.mark.parametrize("source, at", [
    ("relu(x)", "x=0"), ("abs(x)", "x=0"), ("max(x, y)", "x=2,y=2"),
    ("min(x, 1)", "x=1"), ("relu(x - y) * 3", "x=2,y=2")])
def test_a_kink_is_named_not_failed(nngraph, source, at):
    status, out, err = nngraph(source, "--at", at, "--check", "--no-render")
    assert status == 0, out + err
    assert "ok at a kink" in out and "MISMATCH" not in out
    assert "has no value here: the left derivative is" in out
    assert "is a kink of" in out and "convention:" in out


def test_the_exercise_with_a_tie_checks_clean(nngraph):
    status, out, _ = nngraph(EXERCISE_5B, "--at", "x1=1,x2=-1", "--check", "--no-render")
    assert status == 0
    assert "left derivative is 6, the right 18" in out
    assert "max(0, 3*x1+4*x2+1) at g = 0 is a kink of max" in out


def test_a_wrong_gradient_at_a_kink_still_fails(nngraph, monkeypatch):
    """relu'(0) = 2 lies outside the one-sided derivatives (0 and 1): a mismatch."""
    relu = ops.OPS["relu"]
    wrong = lambda o, xs, p: np.where(np.equal(xs[0], 0), 2.0, (xs[0] > 0) * 1.0)
    monkeypatch.setitem(ops.OPS, "relu", type(relu)(**{**relu.__dict__, "derivatives": (wrong,), "vjp": None}))
    status, out, _ = nngraph("relu(x)", "--at", "x=0", "--check", "--no-render")
    assert status == 1 and "MISMATCH" in out


def test_smooth_points_report_no_kink():
    results = check_gradients(trace("relu(x)*x + abs(y)", x=0.5, y=-2).graph)
    assert all(r.kinks == () for r in results)
    assert max(r.relative_error for r in results) < 1e-6


def test_kinks_in_matrices_are_found_entry_by_entry():
    result = trace("sum(relu(X))", X=[[0.0, 1.0], [-1.0, 0.0]])
    (check,) = check_gradients(result.graph)
    assert len(check.kinks) == 2
    assert check.kinks[0].startswith("∂/∂X[0,0] has no value here")
    assert check.relative_error < 1e-6
    assert kinked_gates(result.graph) == ["a = relu(X) is a kink of relu (convention: relu'(0) = 0)"]


def test_rounding_noise_around_a_zero_derivative_is_no_kink(nngraph):
    """softmax's entries sum to 1: the derivative of their sum is 0, the differences ~1e-11."""
    status, out, _ = nngraph("softmax(x)", "--at", "x=[1,2]", "--check", "--no-render")
    assert status == 0 and "kink" not in out and "no value here" not in out
