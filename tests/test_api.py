"""The Python API as a notebook user meets it: the functions at the top, render(format=…),
values for traced Vars, a one-line repr, and the README's Python example running as written."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import graphviz_nn as nn
from graphviz_nn.errors import UserError
from graphviz_nn.ops import FUNCTIONS, OPS

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_formula_function_is_at_the_top_and_records_its_gate(name):
    """nn.relu(X), nn.prelu(X, 0.25), nn.batchnorm(X, γ, β) …; the variance is nn.fn.var,
    nn.var being the variable constructor."""
    x = nn.var("x", [[0.5, -1.0], [2.0, 0.25]])
    function = getattr(nn.fn, name)
    arity = OPS[name].arity
    extra = [[1.0, 1.0], [0.0, 0.0]][:arity - 1] if arity and arity > 1 else [0.25] if arity is None else []
    extra = [[[1.0, 0.5], [0.0, 1.0]]] if name == "conv2d" else extra       # a 2×2 kernel
    graph = nn.trace(function(x, *extra)).graph
    assert graph[graph.output]["op"] == name
    assert function.__name__ == name and function.__doc__.startswith(f"{name}(")
    assert getattr(nn, name) is function or name == "var"


def test_keywords_give_a_traced_var_new_values():
    x, y = nn.var("x", 1.0), nn.var("y", 2.0)
    t = nn.trace(x * y, x=3)
    assert float(t.value) == 6.0 and float(t.grad["y"]) == 3.0
    with pytest.raises(UserError, match="no variable named z"):
        nn.trace(x * y, z=3)


def test_repr_is_one_short_line():
    t = nn.trace(" + ".join(f"x*{i}" for i in range(200)), x=1)
    text = repr(t)
    assert "\n" not in text and len(text) < 200
    assert "= 19900" in text
    big = nn.trace("sum(X@W)", X=np.ones((5, 5)).tolist(), W=np.ones((5, 5)).tolist())
    assert "[5×5]" in repr(big)


def test_render_takes_graphvizs_format_keyword(tmp_path):
    t = nn.trace("x*y", x=3, y=4)
    t.render(tmp_path / "out", format="png", gif=False)
    assert (tmp_path / "out" / "graph.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(TypeError, match="unknown picture option colour"):
        t.render(tmp_path / "other", colour="red")


def test_the_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                       # it writes outputs/flagship
    block = re.search(r"In Python and Jupyter:\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    display_only = re.compile(r"^t(\s+#.*)?$|^t\.player\(")      # lines that only display in Jupyter
    lines = [line for line in block.splitlines() if not display_only.match(line.strip())]
    namespace: dict = {}
    exec("\n".join(lines), namespace)      # our own README, not user input
    assert float(namespace["t"].grad["x"]) == 10.0
    assert (tmp_path / "outputs" / "flagship" / "graph.png").exists()


def test_to_graphviz_is_the_graphviz_packages_source(tmp_path):
    graphviz = pytest.importorskip("graphviz")
    t = nn.trace("x**2+x*y+(x+y)**2", x=1, y=2)
    source = t.to_graphviz()
    assert isinstance(source, graphviz.Source) and source.format == "svg"
    svg = source.pipe(format="svg").decode()
    assert ">12<" in svg and ">10<" in svg and ">7<" in svg         # f, ∂f/∂x, ∂f/∂y drawn
    assert "image/svg+xml" in source._repr_mimebundle_()             # Jupyter shows it
    written = source.render(tmp_path / "flagship", format="png")
    assert Path(written).read_bytes().startswith(b"\x89PNG")
    assert t.to_graphviz(theme="dark", rankdir="TB").source != source.source
