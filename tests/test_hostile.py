"""Issue 5, hostile and broken input: tests that attack the tool.

Every case goes through the real entry point in-process, by the `nngraph` fixture of conftest.py,
which holds it to the contract of DESIGN.md (`check_contract`): a documented exit status; for 2
and 3 one `error:` line first on stderr, then only caret and `hint:` lines; never a Python
traceback; never "internal error" (that is a bug of ours). The limits tested here are listed in
docs/limits.md. The fuzzers and the runs at the length and size limits are marked slow.
"""
from __future__ import annotations

import builtins
import html
import html.parser
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import graphviz_nn
from graphviz_nn import numfmt
from graphviz_nn.explain import diagnostics
from conftest import check_contract
from graphviz_nn.cli import main
from graphviz_nn.render import export
from graphviz_nn.render.dot import THEMES, escape, to_dot
from graphviz_nn.render.files import MARKER, folder_name
from graphviz_nn.render.player import player_html
from graphviz_nn.trace import literals as values
from graphviz_nn.trace.expr import MAX_LENGTH, parse_expression
from graphviz_nn.errors import UserError, caret_lines, terminal_safe

WARN = THEMES["light"].warn


def caret_under(err: str) -> str:
    """The part of the shown source that the carets point at."""
    lines = err.splitlines()
    for shown, marks in zip(lines, lines[1:]):
        if shown.startswith("  ") and set(marks.strip()) == {"^"}:
            start = marks.index("^")
            return shown[start: start + len(marks.strip())]
    raise AssertionError(f"no caret in {err!r}")


# ---- 1. nothing a user types is executed -----------------------------------------------------

ESCAPES = [
    "__import__('os').system('touch {m}')",
    "__import__('os').system('touch {m}') + x",
    "x + __import__('pathlib').Path('{m}').touch()",
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "open('{m}', 'w')",
    "eval(\"open('{m}', 'w')\")",
    "exec(\"open('{m}', 'w')\")",
    "compile('1', '{m}', 'eval')",
    "getattr(x, '__class__')",
    "globals()['__builtins__']",
    "breakpoint()",
    "(lambda: open('{m}', 'w'))()",
    "f\"{{open('{m}', 'w')}}\"",
    "exp(*[open('{m}', 'w')])",
    "exp(x=open('{m}', 'w'))",
    "(m := open('{m}', 'w'))",
    "x if open('{m}', 'w') else x",
    "x.__class__",
    "__builtins__",
    "x[open('{m}', 'w')]",
    "sum(open('{m}', 'w') for i in x)",
    "exp(x)(open('{m}', 'w'))",
    "'{m}'",
]


@pytest.fixture
def no_eval(monkeypatch):
    """Belt and braces: if anything of ours called eval or exec, the test would fail loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec was called")
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)


@pytest.mark.parametrize("template", ESCAPES)
def test_classic_escapes_are_refused_and_nothing_runs(template, nngraph, tmp_path, no_eval):
    marker = tmp_path / "pwned"
    source = template.format(m=marker)
    status, out, err = nngraph(source, "--at", "x=1", "--no-render")
    assert status == 2 and not marker.exists()
    assert out == ""
    assert err.startswith("error: ") and "hint: " in err
    caret_under(err)                        # the offending spot is shown


def test_escapes_in_at_values_are_refused(nngraph, tmp_path, no_eval):
    marker = tmp_path / "pwned"
    for value in (f"__import__('os').system('touch {marker}')", f"open('{marker}','w')", "[1, x]",
                  "[1, 2][0]", "().__class__", "1 if 1 else 2", "lambda: 1"):
        status, _, err = nngraph("x*2", "--at", f"x={value}", "--no-render")
        assert status == 2 and "not a number or a matrix" in err
    status, _, err = nngraph("x*2", "--at", "x=1", "--seed", f"open('{marker}','w')", "--no-render")
    assert status == 2 and err.startswith("error: --seed")
    assert not marker.exists()


@pytest.mark.parametrize("source,offending,what", [
    ("x + y.real", "y.real", "attribute access"),
    ("x * y[z]", "z", "indexing with anything but whole numbers"),
    ("x + 'a'", "'a'", "a string"),
    ("x + (lambda: 1)", "lambda: 1", "lambda"),
    ("x + [i for i in y]", "[i for i in y]", "a comprehension"),
    ("x + (z := 2)", "z := 2", "assignment"),
    ("exp(*y) + x", "*y", "starred"),
    ("exp(x, base=y)", "y", "the keyword base"),
    ("x + __y", "__y", "__y"),
    ("x + foo(y)", "foo", "calling foo"),
    ("x + os.system(y)", "os.system", "calling os.system"),
    ("x // y", "x // y", "//"),
    ("x < y", "x < y", "comparison"),
    ("x + 1j", "1j", "1j"),
    ("x + None", "None", "None"),
    ("x and y", "x and y", "and/or"),
    ("x + {y}", "{y}", "a set"),
    ("x +", None, "cannot parse"),
])
def test_refusals_point_at_the_offending_token_and_say_what_is_allowed(source, offending, what, nngraph):
    status, _, err = nngraph(source, "--at", "x=1,y=2", "--no-render")
    assert status == 2
    first = err.splitlines()[0]
    assert what in first
    if offending:
        assert caret_under(err) == offending
    assert re.search(r"^hint: (allowed|functions|only real numbers|\w+ takes|call functions|division is|index with|write \w+\()",
                     err, re.M)


def test_error_lines_cannot_carry_terminal_escapes(nngraph):
    source = "(x # \x1b]0;owned\x07\x1b[31m\n + y).z"
    status, _, err = nngraph(source, "--at", "x=1,y=2", "--no-render")
    assert status == 2 and "\x1b" not in err and "\x07" not in err
    assert terminal_safe("a\x1b[2Jb\x00c") == "a\ufffd[2Jb\ufffdc"
    # one column per character: the caret stays under its spot
    assert caret_lines("\x1b\x1bx.y", 2, 5)[1] == "    ^^^"


def test_undecodable_bytes_on_the_command_line_are_an_error(nngraph):
    # Linux hands bytes that are not UTF-8 to Python as lone surrogates (surrogateescape)
    status, _, err = nngraph("x + \udcff", "--at", "x=1", "--no-render")
    assert status == 2 and "not UTF-8" in err
    status, _, err = nngraph("x*2", "--at", "x=1\udcff", "--no-render")
    assert status == 2
    status, _, err = nngraph("x*2", "--at", "\udcff=1", "--no-render")
    assert status == 2


# ---- 2. nothing hangs or eats the machine ----------------------------------------------------

def timed(nngraph, *args, limit: float = 5.0):
    start = time.perf_counter()
    result = nngraph(*args)
    elapsed = time.perf_counter() - start
    assert elapsed < limit, f"{elapsed:.1f} s"
    return result


@pytest.mark.parametrize("source,status,message", [
    ("9**9**9 + x", 1, "inf"),                               # folded in floating point: inf
    ("x * 9**9**9**9", 1, "inf"),
    ("10**400 * x", 1, "inf"),
    ("1e999 * x", 1, "inf"),
    ("x * " + "9" * 5000, 2, "more than 4,300 digits"),      # Python's own int limit
    ("x * 0x" + "f" * 300, 2, "too large for a float"),
    ("(" * 5000 + "x" + ")" * 5000, 2, "too many nested parentheses"),
    ("x**" * 3000 + "x", 2, "nested too deeply"),
    ("-" * 99_990 + "x", 2, "nested too deeply"),
    ("x" + "(x)" * 33_000, 2, "this call"),
    ("x+" * 500_000 + "x", 2, "the limit is 100,000"),        # a megabyte
    ("x" * (MAX_LENGTH + 1), 2, "--max-length"),
])
def test_towers_literals_nesting_and_length_are_refused_or_bounded(source, status, message, nngraph):
    got, out, err = timed(nngraph, "--at", "x=1", "--no-render", "--", source)
    assert got == status and message in err


@pytest.mark.parametrize("source", [
    "(" * 199 + "x" + ")" * 199,             # just under Python's 200 brackets
    "relu(" * 199 + "x" + ")" * 199,
    "x**" * 1000 + "x",
    "-" * 5000 + "x",                         # unary chains: no recursion of ours
    "-(" * 190 + "x" + ")" * 190,
])
def test_deep_but_legal_nesting_runs(source, nngraph):
    status, out, _ = timed(nngraph, "--at", "x=1", "--no-render", "--", source)
    assert status in (0, 1) and "∂" in out


@pytest.mark.slow                   # seconds of parsing at the limit, by design
@pytest.mark.parametrize("build", [
    lambda n: "x" + "+x" * n,                 # the deepest tree: left-leaning, 50,000 levels
    lambda n: "x" + "*x" * n,
    lambda n: "(x)" * (n // 2 * 2 // 3),      # call chains
    lambda n: "x" + ".x" * n,                 # attribute chains (refused later, parsed first)
    lambda n: "x" + "[x]" * (n * 2 // 3),
    lambda n: "x" + "-x" * n,
], ids=["sum", "product", "calls", "attributes", "subscripts", "differences"])
def test_parsing_just_under_the_length_limit_never_crashes(build):
    source = build((MAX_LENGTH - 1) // 2)[:MAX_LENGTH]
    source = source[:len(source) - (source[-1] in "+-*.[(")]  # end on an operand
    assert len(source) <= MAX_LENGTH
    start = time.perf_counter()
    try:
        parse_expression(source)
    except UserError as exc:
        assert exc.lines()[0].startswith("error: ")
    assert time.perf_counter() - start < 5


@pytest.mark.slow                   # seconds of parsing at the limit, by design
def test_a_long_sum_just_under_the_limit_runs_end_to_end(nngraph):
    # the whole pipeline at a fifth of the limit (the full 100,000 characters take ~10 s)
    status, out, err = timed(nngraph, "x" + "+x" * 10_000, "--at", "x=1", "--no-render", limit=20)
    assert status == 0 and "∂" in out and "10001" in out


@pytest.mark.slow                   # seconds of parsing at the limit, by design
def test_a_raised_length_limit_ends_in_an_error_not_a_segfault():
    """CPython 3.11 builds the ast in C up to 3 × the recursion limit deep: a raised --max-length
    with a 300,000-term sum used to crash the interpreter (exit -11). A process of its own."""
    code = textwrap.dedent("""
        import sys
        from graphviz_nn.cli import main
        sys.exit(main(["x" + "+x" * 300_000, "--at", "x=1", "--no-render",
                       "--max-length", "10000000", "--max-nodes", "10000000"]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    check_contract(done.returncode, done.stdout, done.stderr)
    assert done.returncode == 2 and done.stderr.startswith("error: ")


def test_graph_and_drawing_limits_can_be_raised(nngraph, tmp_path):
    source = "x" + "+x" * 100
    status, _, err = nngraph(source, "--at", "x=1", "--no-render", "--max-nodes", "50")
    assert status == 2 and "more than 50 nodes" in err and "--max-nodes" in err
    status, _, _ = nngraph(source, "--at", "x=1", "--no-render", "--max-nodes", "500")
    assert status == 0
    status, _, err = nngraph(source, "--at", "x=1", "-o", str(tmp_path / "o"), "--max-draw", "20")
    assert status == 2 and "--max-draw" in err and not (tmp_path / "o").exists()
    status, _, err = nngraph("x" * 50, "--at", "x" * 50 + "=1", "--no-render", "--max-length", "10")
    assert status == 2 and "--max-length" in err


@pytest.mark.slow                   # seconds of parsing at the limit, by design
def test_matrix_size_limits_in_at(nngraph):
    big = "[" + ",".join(["1"] * (values.MAX_ENTRIES + 1)) + "]"
    status, _, err = timed(nngraph, "sum(x)", "--at", f"x={big}", "--no-render")
    assert status == 2 and f"limit of {values.MAX_ENTRIES:,}" in err
    rows = "[" + ",".join(["[1,2]"] * (values.MAX_ENTRIES // 2)) + "]"
    status, _, _ = timed(nngraph, "sum(x)", "--at", f"x={rows}", "--no-render")
    assert status == 0                                           # exactly at the limit
    status, _, err = timed(nngraph, "sum(x)", "--at", "x=" + "1" * (values.MAX_TEXT + 1), "--no-render")
    assert status == 2 and "characters long" in err
    for value, message in [("[" * 40 + "1" + "]" * 40, "levels of brackets"), ("[]", "empty"),
                           ("[[]]", "empty"), ("[[1,2],[3]]", "different lengths"),
                           ("[" * 5000 + "1" + "]" * 5000, "not a number"),
                           ("1+" * 300_000 + "1", "not a number"), ("-" * 300_000 + "1", "not a number")]:
        status, _, err = timed(nngraph, "sum(x)", "--at", f"x={value}", "--no-render")
        assert status == 2 and message in err, (value[:20], err)


def test_at_names_are_checked(nngraph):
    for text, message in [("for=1", "Python keyword"), ("__x=1", "not a variable name"),
                          ("x=1,x=2", "given twice"), ("exp=1", "function name"), ("1x=2", "not a variable"),
                          ("x", "expects name=value")]:
        status, _, err = nngraph("x*2", "--at", text, "--no-render")
        assert status == 2 and message in err, (text, err)


def write_spec(folder: Path, text: str, name: str = "net.toml") -> str:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


SMALL_NET = """
    title = "tiny"
    [data]
    X = [[1, 2], [-1, 2]]
    y = [2, 1]
    [[layer]]
    type = "linear"
    W = [[1, -1], [0.5, 0]]
    [[layer]]
    type = "relu"
    [[layer]]
    type = "linear"
    W = [[0.5], [1]]
    [loss]
    type = "half_sse"
    [train]
    lr = 0.1
    steps = {steps}
"""


def test_spec_steps_past_the_limit_are_refused_with_a_way_to_raise_it(nngraph, tmp_path):
    from graphviz_nn.network.spec import MAX_STEPS
    path = write_spec(tmp_path, SMALL_NET.format(steps=10**9))
    status, _, err = timed(nngraph, path, "--no-render")
    assert status == 2 and "1,000,000,000" in err and f"{MAX_STEPS:,}" in err and "max" in err
    status, _, _ = timed(nngraph, path, "--no-render", "--max-steps", str(MAX_STEPS + 1))
    assert status == 2
    path = write_spec(tmp_path, SMALL_NET.format(steps=3))
    assert timed(nngraph, path, "--no-render", "--max-steps", "3")[0] == 0


def test_spec_matrices_and_files_past_their_limits_are_refused(nngraph, tmp_path, monkeypatch):
    from graphviz_nn.network import spec as netspec
    wide = SMALL_NET.format(steps=1).replace('W = [[0.5], [1]]', 'shape = [2, 2000000]\ninit = "zeros"')
    status, _, err = timed(nngraph, write_spec(tmp_path, wide), "--no-render")
    assert status == 2 and "limit" in err
    monkeypatch.setattr(netspec, "MAX_FILE_BYTES", 100)
    status, _, err = timed(nngraph, write_spec(tmp_path, SMALL_NET.format(steps=1)), "--no-render")
    assert status == 2 and "larger than 100 bytes" in err


# ---- 3. numeric trouble is reported, not hidden and not fatal --------------------------------

NUMERIC = [
    ("1/x + y", {"x": "0", "y": "1"}, "a = 1/x", "inf"),
    ("log(x) + y", {"x": "0", "y": "1"}, "a = log(x)", "-inf"),
    ("log(x) + y", {"x": "-1", "y": "1"}, "a = log(x)", "nan"),
    ("sqrt(x) + y", {"x": "-1", "y": "1"}, "a = sqrt(x)", "nan"),
    ("exp(x) + y", {"x": "1000", "y": "1"}, "a = exp(x)", "inf"),
    ("exp(x) - exp(y)", {"x": "1000", "y": "1000"}, "c = exp(x) - exp(y)", "nan"),   # inf − inf
    ("x / y", {"x": "0", "y": "0"}, "a = x / y", "nan"),
]


@pytest.mark.parametrize("source,at,node,shown", NUMERIC)
def test_numeric_trouble_is_a_warning_naming_the_node_and_exit_1(source, at, node, shown, nngraph):
    args = [source, "--no-render"] + [a for k, v in at.items() for a in ("--at", f"{k}={v}")]
    status, out, err = nngraph(*args)
    assert status == 1
    assert re.search(rf"^warning: {re.escape(node)}: value is {re.escape(shown)}$", err, re.M), err
    assert shown in out                            # the table shows it too: nothing is hidden


@pytest.mark.parametrize("source,at,node,shown", NUMERIC)
def test_json_carries_nan_and_inf_as_strings(source, at, node, shown, nngraph):
    args = [source, "--json"] + [a for k, v in at.items() for a in ("--at", f"{k}={v}")]
    status, out, err = nngraph(*args)
    assert status == 1 and "warning: " in err

    def no_bare_constants(name):
        raise AssertionError(f"bare {name} in the JSON")
    doc = json.loads(out, parse_constant=no_bare_constants)
    nodes = {n["label"]: n for n in doc["steps"][0]["nodes"]}
    assert nodes[node.split(" = ")[0]]["value"] == shown


def test_to_json_writes_non_finite_numbers_as_strings():
    nan, inf = float("nan"), float("inf")
    assert numfmt.to_json(nan) == "nan" and numfmt.to_json(inf) == "inf" and numfmt.to_json(-inf) == "-inf"
    assert numfmt.to_json(np.float64(2.5)) == 2.5
    assert numfmt.to_json(np.array([[1, nan], [-inf, 0]])) == [[1.0, "nan"], ["-inf", 0.0]]
    assert numfmt.to_json(np.array([])) == []
    assert json.dumps(numfmt.to_json(np.array([nan, inf])), allow_nan=False) == '["nan", "inf"]'


def test_a_nan_that_spreads_is_summarised_in_the_terminal():
    from graphviz_nn import explain
    result = graphviz_nn.trace("log(x)" + "+x" * 60, x=0.0)
    found = result.diagnostics()
    assert len(found) > diagnostics.WARNING_LINES
    lines = diagnostics.warning_lines(found)
    assert len(lines) == diagnostics.WARNING_LINES + 1
    assert lines[1] == "warning: a = log(x): value is -inf"      # where it starts comes first
    assert re.fullmatch(r"warning: … and [\d,]+ more on [\d,]+ nodes .*", lines[-1])


def svg_nodes(svg: str) -> dict[str, ET.Element]:
    """SVG node groups by their title (n0, n1, …), from a real XML parse."""
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    return {g.find("s:title", ns).text: g for g in root.iter("{http://www.w3.org/2000/svg}g")
            if "node" in g.get("class", "").split()}


def border(group: ET.Element) -> ET.Element:
    return next(e for e in group if e.tag.split("}")[1] in ("polygon", "ellipse"))


def test_warned_nodes_are_drawn_with_a_dashed_warn_border(nngraph, tmp_path):
    out_dir = tmp_path / "o"
    status, _, err = nngraph("log(x) + y", "--at", "x=0,y=1", "-o", str(out_dir), "--no-gif")
    assert status == 1 and "warning: a = log(x)" in err
    svg = (out_dir / "graph.svg").read_text()
    result = graphviz_nn.trace("log(x) + y", x=0.0, y=1.0)
    index = {n: f"n{i}" for i, n in enumerate(result.graph.order)}
    nodes = svg_nodes(svg)
    warned = {d.node for d in result.diagnostics()}
    assert warned == {"x", "a", "b"}                      # x's gradient is inf; y is fine
    for n, node_id in index.items():
        edge = border(nodes[node_id])
        if n in warned:
            assert edge.get("stroke") == WARN and edge.get("stroke-dasharray"), n
        else:
            assert edge.get("stroke") != WARN and not edge.get("stroke-dasharray"), n
    styles = [p.read_text().split("<style>")[-1] for p in sorted((out_dir / "frames").glob("*.svg"))]
    pending = nodes[index["a"]].get("class").split()[1]         # w<k>: a frame's style greys it until frame k
    assert f".{pending}>ellipse" in styles[0] and f".{pending}>ellipse" not in styles[-1]   # warn once known


# ---- 4. user errors: one error line, exit 2 (each kind: test_cli_core.py); Graphviz: exit 3 --

@pytest.mark.parametrize("source", ["1if x else 2", "x is 1", "0x1for x", "'\\d' + x"])
def test_python_parser_warnings_do_not_reach_stderr(source, nngraph):
    # CPython warns (SyntaxWarning) on these before we refuse them: one error line only
    status, _, err = nngraph(source, "--at", "x=1", "--no-render")
    assert status == 2 and err.startswith("error: ") and "Warning" not in err
    status, _, err = nngraph("x*2", "--at", f"x={source.replace('x', '1')}", "--no-render")
    assert status == 2 and "Warning" not in err


def test_an_expression_spelled_like_an_option_is_not_one(nngraph):
    status, _, err = nngraph("--no-render", "--", "--debug")     # a formula -(-debug)
    assert status == 2 and err.startswith("error: no value for debug")
    status, out, _ = nngraph("--at", "x=1", "--no-render", "--", "--x")
    assert status == 0 and "∂b/∂x = 1" in out


def test_debug_shows_the_traceback(capsys):
    # the one run that breaks the contract on purpose, so not through the nngraph fixture
    status = main(["x +", "--debug", "--no-render"])
    _, err = capsys.readouterr()
    assert status == 2 and "Traceback" in err and "error: cannot parse" in err


def test_spec_file_errors_are_one_error_line(nngraph, tmp_path):
    cases = {
        "bad.toml": "[data\nX = 1",
        "binary.toml": "\x00\xff not toml",
        "empty.toml": "",
        "types.toml": 'title = 3\n[data]\nX = "a"',
        "nan.toml": SMALL_NET.format(steps=1).replace("y = [2, 1]", "y = [nan, 1]"),
        "ragged.toml": SMALL_NET.format(steps=1).replace("[[1, 2], [-1, 2]]", "[[1, 2], [-1]]"),
        "unknown.toml": SMALL_NET.format(steps=1) + "\n[hack]\ncmd = 'rm -rf /'\n",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_bytes(textwrap.dedent(text).encode("utf-8", "surrogateescape")
                         if name != "binary.toml" else b"\x00\xff not toml")
        status, _, err = nngraph(str(path), "--no-render")
        assert status == 2 and (err.startswith(f"error: {path}") or err.startswith("error: cannot read")), err
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    status, _, err = nngraph(str(folder), "--no-render")
    assert status == 2


def test_graphviz_failing_is_exit_3_with_its_message(nngraph, tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    dot = fake / "dot"
    dot.write_text("#!/bin/sh\necho 'Error: the layout exploded' >&2\nexit 1\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    status, out, err = nngraph("x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "o"))
    assert status == 3 and err.startswith("error: Graphviz failed: Error: the layout exploded")
    assert "∂" in out                                       # the numbers were still printed
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.*"))
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    status, _, err = nngraph("x*y", "--at", "x=1,y=2", "-o", str(tmp_path / "o"))
    assert status == 3 and err.startswith("error: Graphviz is not installed")
    assert "hint: install Graphviz" in err and "apt-get install graphviz" in err
    assert not (tmp_path / "o").exists()


# ---- 5. nothing is lost or half-written ------------------------------------------------------

def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_mid_render_leaves_no_target_and_no_staging_folder(failure, nngraph, tmp_path, monkeypatch):
    written = []

    def write_text(path, text):
        written.append(path)
        if len(written) == 3:                # graph.svg and a frame are written, then it breaks
            raise failure
        path.write_text(text, encoding="utf-8")
        return path
    monkeypatch.setattr(export, "write_text", write_text)
    target = tmp_path / "o"
    status, _, err = nngraph("x*y", "--at", "x=1,y=2", "-o", target, "--no-gif")
    if isinstance(failure, KeyboardInterrupt):
        assert status == 130 and err.strip().startswith("error: interrupted")    # 128 + SIGINT
    else:
        assert status == 2 and err.startswith(f"error: cannot write {target}: disk full")
    assert len(written) == 3
    assert list(tmp_path.iterdir()) == []


def test_an_earlier_complete_folder_survives_a_failed_rerun(nngraph, tmp_path, monkeypatch):
    target = tmp_path / "o"
    assert nngraph("x*y", "--at", "x=1,y=2", "-o", str(target), "--no-gif")[0] == 0
    before = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert Path(MARKER) in before

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(export, "player_html", broken)
    assert nngraph("x*y+y", "--at", "x=3,y=4", "-o", target, "--no-gif").status == 2
    after = {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()}
    assert after == before and leftovers(tmp_path) == []
    # and a failed move into place puts the earlier folder back
    monkeypatch.undo()
    real_rename = Path.rename

    def rename(self, to):
        if self.name.startswith(".o.") and not self.name.endswith(".old"):
            raise OSError("cross-device link")
        return real_rename(self, to)
    monkeypatch.setattr(Path, "rename", rename)
    assert nngraph("x*y+y", "--at", "x=3,y=4", "-o", target, "--no-gif").status == 2
    monkeypatch.undo()
    assert {p.relative_to(target): p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert leftovers(tmp_path) == []


def test_foreign_and_dangerous_targets_are_refused(nngraph, tmp_path, monkeypatch):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    status, _, err = nngraph("x*2", "--at", "x=1", "-o", str(foreign))
    assert status == 2 and "--force" in err and (foreign / "thesis.tex").exists()
    file = tmp_path / "notes.txt"
    file.write_text("precious")
    status, _, err = nngraph("x*2", "--at", "x=1", "-o", str(file))
    assert status == 2 and file.read_text() == "precious"
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    (work / "keep.txt").write_text("precious")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "work"))
    for target in (".", "..", str(tmp_path), "/", "~", str(tmp_path / "work")):
        status, _, err = nngraph("x*2", "--at", "x=1", "-o", os.path.expanduser(target), "--force")
        assert status == 2 and "refusing to replace" in err, target
    assert (work / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "notes.txt", "work"]


WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}


@pytest.mark.parametrize("source", [
    "../../etc/passwd", "/etc/passwd", "..", ".", "", "~", "~/.ssh/id_rsa", "C:\\Windows\\system32",
    "\\\\server\\share", "CON", "nul", "AUX.txt", "com1", "LPT9", "x" * 10_000, "é" * 300, "∂f/∂x",
    "a\x00b", "a\nb", " leading and trailing ", "-rf", ".hidden", "a:b*c?d\"e<f>g|h", "\udcff",
    "x**2+x*y+(x+y)**2", "examples/nets/25_relu_regression.toml",
])
def test_folder_names_stay_inside_the_output_folder(source):
    name = folder_name(source)
    assert re.fullmatch(r"[A-Za-z0-9_]{1,48}-[0-9a-f]{6}", name), name
    assert not name.startswith(("_", "-", ".")) and len(name) <= 55
    assert name.split(".")[0].rstrip(" ").upper() not in WINDOWS_RESERVED
    base = Path("/tmp/outputs")
    assert (base / name).resolve().parent == base
    assert folder_name(source) == name                       # stable


def test_folder_names_of_different_inputs_differ():
    sources = ["x+y", "x-y", "x*y", "x/y", "x**y", "x@y", "(x+y)", "x + y"]
    assert len({folder_name(s) for s in sources}) == len(sources)


# ---- 6. labels from input are escaped everywhere ---------------------------------------------

HOSTILE_TITLES = [
    '<script>alert(1)</script>',
    '"]; x -> y [label="pwn"]; //',
    "]]><!-- --><![CDATA[",
    "<TABLE><TR><TD>x</TD></TR></TABLE>",
    "&amp; &lt; &#0; &#x1F; &bogus;",
    "\\N \\G \\L \\\" }",
    "line\nbreak\r\ttab",
    "bell\x07 null\x00 esc\x1b[31m del\x7f c1\x85",
    "lone \udcff surrogate \ufffe",
    "\u202e right-to-left override",
    "x" * 3000,
]


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def flagship():
    return graphviz_nn.trace("x**2+x*y+(x+y)**2", x=1.0, y=2.0)


@pytest.mark.parametrize("title", HOSTILE_TITLES, ids=range(len(HOSTILE_TITLES)))
def test_hostile_titles_stay_text_in_dot_svg_and_player(title, flagship):
    drawing = to_dot(flagship.graph, title=title)
    label = re.search(r"label=<(.*)>; labelloc=t", drawing.source).group(1)
    assert "<script" not in label and "<TABLE>" not in label.replace('<TABLE BORDER', '')
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe]", drawing.source)
    pictures = flagship.pictures(title=title, frames="per-gate", gif=False)
    svg = pictures.final_svg()                             # Graphviz accepted the DOT
    root = ET.fromstring(svg.encode())                     # and the SVG is well-formed XML
    assert not [e for e in root.iter() if e.tag.split("}")[-1] in ("script", "foreignObject")]
    assert not any(k.startswith("on") for e in root.iter() for k in e.attrib)
    shown = "".join(e.text or "" for e in root.iter() if e.tag.endswith("text"))
    visible = re.sub(r"\s+", "", html.unescape(escape(title)))
    assert visible[:40] in re.sub(r"\s+", "", shown)       # the title is there, as text
    page = player_html(title, pictures.frame_svgs())
    parser = Tags()
    parser.feed(page)
    assert parser.tags.count("script") == 1                # ours only
    assert f"<title>nngraph · {escape(title)}</title>" in page
    assert "nngraph · " + html.unescape(escape(title)) in parser.text


def test_hostile_spec_title_is_escaped_in_the_written_files(nngraph, tmp_path):
    spec = SMALL_NET.format(steps=1).replace('title = "tiny"', r'title = "<script>alert(1)</script>\"]; \u0001 \n x"')
    path = write_spec(tmp_path, spec, "evil.toml")
    out_dir = tmp_path / "o"
    status, _, err = nngraph(path, "-o", str(out_dir), "--no-gif")
    assert status in (0, 1), err
    files = [p for p in out_dir.rglob("*") if p.suffix in (".svg", ".html")]
    assert files
    for p in files:
        text = p.read_text(encoding="utf-8")
        assert "<script>alert" not in text
        if p.suffix == ".svg":
            ET.fromstring(text.encode())


def test_unicode_variable_names_render(nngraph, tmp_path):
    # Python folds ｘ to x (NFKC); other letters stay, long names too
    long = "w" * 100
    status, out, err = nngraph(f"ｘ*é + ℌ*{long}", "--at", f"x=1,é=2,H=3,{long}=0.5",
                           "-o", str(tmp_path / "o"), "--no-gif")
    assert status == 0, err
    svg = (tmp_path / "o" / "graph.svg").read_text(encoding="utf-8")
    ET.fromstring(svg.encode())
    assert ">é<" in svg


# ---- fuzzing -------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)


SCALE = float(os.environ.get("NNGRAPH_FUZZ_SCALE", "1"))


def fuzz(max_examples: int):
    """NNGRAPH_FUZZ_SCALE=20 pytest tests/test_hostile.py -k fuzz: a longer hunt."""
    return settings(FUZZ, max_examples=max(1, int(max_examples * SCALE)))
COUNTS: dict[str, int] = {}


def report(capsys, name: str, count: int, statuses: dict) -> None:
    COUNTS[name] = count
    with capsys.disabled():
        print(f"\n[fuzz] {name}: {count} cases, exit statuses {dict(sorted(statuses.items()))}")


NAMES = ["x", "y", "X", "z", "_", "é", "ℌ", "__import__", "__class__", "__builtins__", "os", "open",
         "eval", "exec", "self", "print", "exp", "log", "sqrt", "relu", "sum", "max", "softmax", "sigmoid"]
NUMBERS = ["0", "1", "2.5", "1e308", "1e-320", "1e999", "0x1f", "0b101", "1_000", "9" * 30, "9" * 5000,
           ".5", "5.", "1j", "0o7", "nan", "inf", "00", "1e", "1__0"]
OPERATORS = ["+", "-", "*", "/", "**", "@", "//", "%", "<<", ">>", "&", "|", "^", "~", "<", "==",
             "!=", ":=", "=", "and", "or", "not", "in", "is", "if", "else", ".", ",", ":", ";", "->", "!"]
BRACKETS = ["(", ")", "[", "]", "{", "}", "()", "[]", "{}"]
KEYWORDS = ["lambda", "for", "yield", "await", "async", "import", "from", "None", "True", "False",
            "del", "return", "global", "with", "as", "assert", "raise", "class", "def", "...", "match"]
STRINGS = ["'a'", '"b"', "f'{x}'", "b'x'", "r'\\n'", "'''x'''", "'", '"', "f'{__import__(\"os\")}'", "'\\x00'"]
CALLS = [f + "(" for f in ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step",
                           "max", "min", "sum", "mean", "softmax", "open", "eval", "__import__", "getattr",
                           "x", "(lambda: 0)", "print"]]
SEPARATORS = ["", "", " ", " ", "\n", "\t", "\\\n", "#c\n", "\x0c", "\u00a0", "\x00"]
TOKENS = st.one_of(*(st.sampled_from(group) for group in
                     (NAMES, NUMBERS, OPERATORS, BRACKETS, KEYWORDS, STRINGS, CALLS)))
token_soup = st.lists(st.tuples(TOKENS, st.sampled_from(SEPARATORS)), max_size=25).map(
    lambda pairs: "".join(t + s for t, s in pairs))

UNARY = ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "step", "sum", "mean", "softmax"]
LEAVES = st.sampled_from(["x", "y", "0", "1", "2", "-1", "0.5", "3", "1e308", "1e-308", "700"])


def extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**"]), children).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["max", "min"]), st.lists(children, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        children.map(lambda c: f"-{c}"),
    )


expressions = st.recursive(LEAVES, extend, max_leaves=14)
AT_VALUES = st.sampled_from(["0", "-1", "1", "2", "0.5", "1e308", "-1e308", "1e-320", "710", "-710",
                             "[1, -2]", "[[1, 2], [3, 0]]", "[0, 0]"])


def at_args(source: str, draw_value) -> list[str]:
    used = [n for n in ("x", "y") if re.search(rf"\b{n}\b", source)]
    return [a for n in used for a in ("--at", f"{n}={draw_value()}")]


@pytest.mark.slow
def test_fuzz_arbitrary_text(nngraph, capsys):
    statuses: dict[int, int] = {}

    @fuzz(400)
    @given(st.text(max_size=120), st.booleans())
    def one(text, with_values):
        extra = ["--at", "x=1,y=2"] if with_values else []
        status = nngraph("--no-render", *extra, "--", text).status
        statuses[status] = statuses.get(status, 0) + 1
    one()
    report(capsys, "arbitrary text", sum(statuses.values()), statuses)
    assert sum(statuses.values()) >= 0.75 * 400 * SCALE


@pytest.mark.slow
def test_fuzz_python_like_token_soup(nngraph, capsys, tmp_path):
    statuses: dict[int, int] = {}

    @fuzz(500)
    @given(token_soup, st.booleans())
    def one(source, json_out):
        args = ["--no-render", "--at", "x=1,y=2"] + (["--json"] if json_out else [])
        status = nngraph(*args, "--", source).status
        statuses[status] = statuses.get(status, 0) + 1
    one()
    assert list(tmp_path.iterdir()) == []   # the working folder: `open('a', 'w')` run by mistake
    report(capsys, "python-like token soup", sum(statuses.values()), statuses)
    assert sum(statuses.values()) >= 0.75 * 500 * SCALE and statuses.get(2, 0) > 0


@pytest.mark.slow
def test_fuzz_valid_expressions_with_numeric_trouble(nngraph, capsys):
    statuses: dict[int, int] = {}

    @fuzz(400)
    @given(expressions, st.data())
    def one(source, data):
        args = at_args(source, lambda: data.draw(AT_VALUES))
        as_json = data.draw(st.booleans())
        status, out, err = nngraph(*args, "--no-render", *(["--json"] if as_json else []), "--", source)
        statuses[status] = statuses.get(status, 0) + 1
        if status in (0, 1) and as_json:
            doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
            shown = [json.dumps([n["value"]] + ([n["grad"]] if n["kind"] != "const" else []))
                     for n in doc["steps"][0]["nodes"]]
            if any(re.search(r'"(nan|-?inf)"', s) for s in shown):
                assert status == 1          # nan/inf in the JSON: a warning, exit 1
    one()
    report(capsys, "valid expressions (numeric trouble)", sum(statuses.values()), statuses)
    assert statuses.get(0, 0) > 0 and statuses.get(1, 0) > 0


AT_TOKENS = st.sampled_from(["[", "]", "(", ")", ",", ",", "1", "-", "+", "2.5", "1e999", "nan", " ",
                             "x", "=", "__import__('os')", "[]", "1j", "True", ";", "'a'", "0x10", "1_0",
                             "[[", "]]", "-1e-320", "\n", "#", "..."])
at_text = st.one_of(st.text(max_size=60), st.lists(AT_TOKENS, max_size=30).map("".join))


@pytest.mark.slow
def test_fuzz_at_and_seed_values(nngraph, capsys):
    statuses: dict[int, int] = {}

    @fuzz(400)
    @given(at_text, st.sampled_from(["value", "whole", "seed"]))
    def one(text, where):
        if where == "value":
            args = ["sum(x*2)", "--at", f"x={text}"]
        elif where == "whole":
            args = ["sum(x*2)", "--at", text]
        else:
            args = ["sum(x*2)", "--at", "x=[1,2]", "--seed", text]
        status = nngraph(*args, "--no-render").status
        statuses[status] = statuses.get(status, 0) + 1
    one()
    report(capsys, "--at and --seed values", sum(statuses.values()), statuses)
    assert statuses.get(0, 0) > 0 and statuses.get(2, 0) > 0


@pytest.mark.slow
def test_fuzz_with_rendering_on(nngraph, capsys, tmp_path):
    statuses: dict[int, int] = {}
    target = tmp_path / "o"

    @fuzz(8)
    @given(expressions, st.data())
    def one(source, data):
        args = at_args(source, lambda: data.draw(AT_VALUES))
        status = nngraph(*args, "-o", target, "--no-gif", "--", source).status
        statuses[status] = statuses.get(status, 0) + 1
        if status in (0, 1):
            ET.fromstring((target / "graph.svg").read_bytes())
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    one()
    report(capsys, "rendering on", sum(statuses.values()), statuses)


# ---- fuzzing network specs ---------------------------------------------------------------------

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "nets").glob("*.toml"))


def toml_value(v) -> str:
    """A TOML value for any plain Python value (inline tables and arrays; no writer needed)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    return "[" + ", ".join(toml_value(x) for x in v) + "]"


def toml_document(doc: dict) -> str:
    return "\n".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in doc.items()) + "\n"


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


scalars = st.one_of(
    st.integers(min_value=-2**63, max_value=2**63 - 1), st.sampled_from([0, 1, 2, 3, -1, 10**9, 2**63 - 1]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=20), st.sampled_from(["linear", "relu", "sigmoid", "softmax", "adam", "sgd", "mse",
                                           "half_sse", "logloss", "softmax_ce", "zeros", "normal", "he",
                                           "<script>alert(1)</script>", "\"];", "../../x", "\x1b[31m"]))
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["type", "W", "b", "X", "y", "shape", "units", "steps", "lr", "init",
                                     "order", "bias", "title", "seed", "x", "__class__", ""]), inner, max_size=4)),
    max_leaves=10)


def mutate(doc: dict, data) -> dict:
    import copy
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(list(paths(doc))[1:] or [("title",)]))
        parent = doc
        for key in where[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, (dict, list)) and where[-1] in (
                parent if isinstance(parent, dict) else range(len(parent))):
            del parent[where[-1]]
            break                            # paths are stale now
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["hack", "X", "steps", "lr", "W", "type", "train"]))] = data.draw(junk)
        else:
            parent[where[-1]] = data.draw(junk)
    train = doc.get("train")
    if isinstance(train, dict) and isinstance(train.get("steps"), int) and 20 < train["steps"] <= 10_000:
        train["steps"] = 3                   # legal but slow: keep the fuzz fast
    return doc


@pytest.mark.slow
def test_fuzz_network_specs(nngraph, capsys, tmp_path):
    try:
        from graphviz_nn.network.run import run_spec
    except ImportError:
        pytest.skip("graphviz_nn.train.run_spec does not exist yet")
    import tomllib
    originals = [tomllib.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES]
    assert originals
    statuses: dict[int, int] = {}
    path = tmp_path / "fuzz.toml"

    @fuzz(250)
    @given(st.data())
    def one(data):
        kind = data.draw(st.sampled_from(["original", "mutated", "mutated", "mutated", "junk", "text"]))
        if kind == "original":               # as written: keeps the happy path in every run
            text = toml_document(data.draw(st.sampled_from(originals)))
        elif kind == "text":
            text = data.draw(st.text(max_size=200))
        elif kind == "junk":
            text = toml_document(data.draw(st.dictionaries(
                st.sampled_from(["title", "seed", "data", "layer", "loss", "train", "x"]), junk, max_size=6)))
        else:
            text = toml_document(mutate(data.draw(st.sampled_from(originals)), data))
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:                                 # the library entry: only UserError may escape
            run = run_spec(str(path))
            run.report_lines(), run.to_json(), run.diagnostics()
        except UserError as exc:
            assert exc.lines()[0].startswith("error: ")
        status = nngraph(path, "--no-render").status
        statuses[status] = statuses.get(status, 0) + 1
    one()
    report(capsys, "network specs", sum(statuses.values()), statuses)
    assert statuses.get(0, 0) + statuses.get(1, 0) > 0 and statuses.get(2, 0) > 0
