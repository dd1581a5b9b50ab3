"""Formula errors that teach: what a student who writes maths as on paper meant, said at the spot."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("formula, hint", [
    ("x^2", "powers are written ** in Python: x**2"),
    ("2x", "multiplication is written out: 2*x"),
    ("3(x+1)", "multiplication is written out: 3*(…)"),
    ("ln(x)", "log is the natural logarithm"),
    ("sigmod(x)", "did you mean sigmoid?"),
    ("exq(x)", "did you mean exp?"),
    ("np.exp(x)", "call functions by their bare names, as exp(x)"),
    ("x//2", "division is /"),
])
def test_a_slip_gets_a_hint_that_names_the_fix(nngraph, formula, hint):
    status, out, err = nngraph(formula, "--at", "x=1", "--no-render")
    assert status == 2 and out == ""
    assert any(line.startswith("hint: ") and hint in line for line in err.splitlines()), err


def test_an_unknown_function_without_a_near_name_lists_them_all(nngraph):
    _, _, err = nngraph("qqqq(x)", "--at", "x=1", "--no-render")
    assert "did you mean" not in err and "functions: exp, log" in err


def test_a_python_keyword_as_a_name_is_named_as_such(nngraph):
    status, _, err = nngraph("x", "--at", "lambda=2", "--no-render")
    assert status == 2 and "lambda is a Python keyword" in err


def test_soft_keywords_are_ordinary_names(nngraph):
    status, out, _ = nngraph("match*2", "--at", "match=2", "--no-render")
    assert status == 0 and "∂a/∂match = 2" in out


def test_pi_and_e_are_constants_unless_given(nngraph):
    status, out, _ = nngraph("x*pi + e", "--at", "x=1", "--no-render")
    assert status == 0 and "b = 5.86" in out and "∂b/∂x = 3.142" in out
    status, out, _ = nngraph("x*pi", "--at", "x=1,pi=3", "--no-render")
    assert status == 0 and "∂a/∂pi = 1" in out


def test_a_constant_expression_prints_its_value_without_an_empty_table(nngraph):
    status, out, _ = nngraph("exp(1)", "--no-render")
    assert status == 0 and out.strip() == "exp(1) = 2.718"
