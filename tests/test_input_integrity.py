"""Issue 9, internal errors and output integrity: nothing a user can give makes nngraph crash with
an internal error, and nothing it prints from input can act on the terminal.

Runs go through the real entry point: in-process (`graphviz_nn.cli.main`) where that shows the
behaviour, in a child process (`python -m graphviz_nn`, this checkout) where the terminal, the
file system or the process's own streams are the point.
"""
from __future__ import annotations

import json
import keyword
import os
import subprocess
import sys
import unicodedata
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graphviz_nn.cli import main
from graphviz_nn.errors import INTERNAL_ERROR, LINE_LIMIT, TITLE_LIMIT, json_safe, terminal_safe
from graphviz_nn.ops import FUNCTIONS

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NET = """[data]
X = [[1, 2], [3, 4]]
y = [[1], [0]]
[[layer]]
type = "linear"
W = [[0.5], [-0.25]]
bias = true
[[layer]]
type = "sigmoid"
[loss]
type = "logloss"
[train]
lr = 0.1
steps = 2
"""


def run(capsys, *args):
    """main(args) in-process; a Python warning would reach a user's stderr, so it fails here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    shown = [f"{w.category.__name__}: {w.message}" for w in caught
             if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, ResourceWarning))]
    assert not shown, shown
    return status, out, err


def child(args, cwd: Path, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """`python -m graphviz_nn *args` with this checkout's code; arguments may be bytes."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", **(env or {})}
    return subprocess.run([sys.executable, "-m", "graphviz_nn", *args], cwd=cwd, env=environment,
                          capture_output=True, timeout=300, **kwargs)


def one_error(status: int, err: str) -> str:
    """Status 2 and the contract's shape of stderr: one `error:` line, then carets and a hint."""
    lines = err.splitlines()
    assert status == 2, (status, err[-2000:])
    assert lines and lines[0].startswith("error: "), err[-2000:]
    assert sum(line.startswith("error:") for line in lines) == 1, err[-2000:]
    assert all(line.startswith(("  ", "hint: ")) for line in lines[1:]), err[-2000:]
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def safe_for_a_terminal(text: str) -> bool:
    return all(ch.isprintable() or ch in " \n" for ch in text)


def toml_string(text: str) -> str:
    """A TOML basic string holding exactly `text` (control characters as \\U escapes)."""
    return '"' + "".join(ch if ch.isprintable() and ch not in '"\\' else f"\\U{ord(ch):08X}"
                         for ch in text) + '"'


def spec_file(folder: Path, text: str, name: str = "net.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- 1. what used to be internal errors ------------------------------------------------------

NET_DOC = {"data": {"X": [[1, 2], [3, 4]], "y": [[1], [0]]},
           "layer": [{"type": "linear", "W": [[0.5], [-0.25]], "bias": True}, {"type": "sigmoid"}],
           "loss": {"type": "logloss"}, "train": {"lr": 0.1, "steps": 2, "optimizer": "momentum"}}


def dump(doc: dict) -> str:
    """A spec document as TOML: top-level keys, then [tables] and [[arrays of tables]]."""
    lines = [f"{key} = {toml_value(value)}" for key, value in doc.items()
             if not isinstance(value, dict) and not (isinstance(value, list) and value
                                                     and all(isinstance(v, dict) for v in value))]
    for key, value in doc.items():
        if isinstance(value, dict):
            lines += [f"[{key}]"] + [f"{k} = {toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for table in value:
                lines += [f"[[{key}]]"] + [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def with_entry(where: str, key: str, value) -> dict:
    doc = json.loads(json.dumps(NET_DOC))
    table = doc if where == "top" else doc["layer"][0] if where == "layer" else doc[where]
    table[key] = value
    if key in ("W", "b") or (key == "bias" and not isinstance(value, bool)):
        doc["layer"][0].pop("bias" if key == "b" else "b", None)
    return doc


HUGE = 10 ** 400
HUGE_CASES = [("top", "seed", HUGE), ("data", "X", [[HUGE, 1], [1, 2]]), ("data", "y", [[HUGE], [0]]),
              ("layer", "W", [[HUGE], [1]]), ("layer", "b", [HUGE]), ("layer", "bias", HUGE),
              ("layer", "units", HUGE), ("layer", "shape", [2, HUGE]), ("train", "lr", HUGE),
              ("train", "steps", HUGE), ("train", "order", [HUGE]), ("train", "beta", HUGE),
              ("loss", "reduction", HUGE), ("top", "title", HUGE)]


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("where,key,value", HUGE_CASES, ids=[f"{w}.{k}" for w, k, _ in HUGE_CASES])
def test_huge_toml_integers_are_one_error_line(where, key, value, sign, tmp_path, capsys):
    """A 401-digit integer in any key: it does not fit a float (OverflowError before)."""
    value = json.loads(json.dumps(value).replace(str(HUGE), str(sign * HUGE)))
    doc = with_entry(where, key, value)
    if key in ("units", "shape"):
        doc["layer"][0].pop("W")
        doc["layer"][0]["init"] = "zeros"
    status, out, err = run(capsys, spec_file(tmp_path, dump(doc)), "--no-render")
    if status == 0:                           # a huge seed is a fine seed
        assert key == "seed" and sign == 1
        return
    message = one_error(status, err)
    named = ("key units", "key shape") if key == "units" else (f"key {key}",)
    assert any(n in message for n in named) and len(message) <= LINE_LIMIT, message


@pytest.mark.parametrize("depth", [400, 3000])
@pytest.mark.parametrize("template", ["X = {o}1{c}", "title = {o}1{c}", "extra = {o}1{c}",
                                      "X = {t}", "[data]\nX = [[1]]\nnested = {t}"])
def test_deeply_nested_toml_is_one_error_line(template, depth, tmp_path, capsys):
    """Arrays or inline tables 3,000 deep overflow tomllib's recursion (RecursionError before);
    400 deep parse, and then our checks must not recurse either."""
    value = template.format(o="[" * depth, c="]" * depth, t="{a = " * depth + "1" + "}" * depth)
    if value.startswith("[data]"):
        text = value + '\n[[layer]]\ntype = "linear"\nW = [[1]]\n'
    else:
        head = "" if value.startswith("X") else value + "\n"
        data = value if value.startswith("X") else "X = [[1]]"
        text = f"{head}[data]\n{data}\n[[layer]]\ntype = \"linear\"\nW = [[1]]\n"
    status, _, err = run(capsys, spec_file(tmp_path, text), "--no-render")
    one_error(status, err)


TRICKY_TITLES = ["cost $x^2$ in $", "$$", r"\frac{1}{2} $\alpha", "50% off_{a}^b $", "a$b$c$d", "$\\$"]


@pytest.mark.parametrize("title", TRICKY_TITLES)
def test_titles_with_dollars_draw_plots(title, tmp_path, capsys):
    """matplotlib read `$…$` in a title as mathtext and failed on unbalanced dollars."""
    path = spec_file(tmp_path, f"title = {toml_string(title)}\n" + NET)
    status, out, err = run(capsys, path, "--plots", "--no-render", "-o", tmp_path / "out")
    assert status == 0, err
    assert sorted(p.name for p in (tmp_path / "out" / "plots").iterdir()) == [
        "activations.png", "activations.svg", "gradient_norms.png", "gradient_norms.svg",
        "loss.png", "loss.svg"]


@pytest.mark.slow
@settings(max_examples=15, **SETTINGS)
@given(title=st.text(st.characters(codec="utf-8"), max_size=60))
def test_any_title_draws_plots(title, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("plots")
    path = spec_file(folder, f"title = {toml_string(title)}\n" + NET)
    status, out, err = run(capsys, path, "--plots", "--no-render", "-o", folder / "out")
    assert status == 0, err
    assert safe_for_a_terminal(out + err)


def test_a_non_utf8_file_name_with_plots(tmp_path):
    """The title defaults to the file's name; undecodable bytes reached matplotlib's SVG writer."""
    name = b"n\xffet\x1b]0;x\x07.toml"
    with open(os.path.join(os.fsencode(tmp_path), name), "w") as f:
        f.write(NET)
    done = child([name, "--plots", "-o", "out"], tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert (tmp_path / "out" / "plots" / "loss.svg").exists()
    assert safe_for_a_terminal(done.stdout.decode() + done.stderr.decode())
    assert "\ufffd" in done.stdout.decode().splitlines()[0]
    done = child([name, "--json", "--no-render"], tmp_path)         # the name is the JSON's source
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert json.loads(done.stdout)["source"] == os.fsdecode(name)


def test_a_full_stdout_is_one_error_line(tmp_path):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "graphviz_nn", "x*2", "--at", "x=1", "--no-render"],
                              cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, timeout=120, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    one_error(done.returncode, done.stderr)
    assert done.stderr.startswith("error: cannot write to the standard output: No space left on device")
    assert "Exception ignored" not in done.stderr


def test_a_closed_stdout_ends_quietly_with_the_sigpipe_status(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)                         # `nngraph … | head` after head has exited
    try:
        done = subprocess.run([sys.executable, "-m", "graphviz_nn", "x*2", "--at", "x=1", "--no-render"],
                              cwd=tmp_path, stdout=write_end, stderr=subprocess.PIPE, timeout=120,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        os.close(write_end)
    assert done.returncode == 128 + 13 and done.stderr == "", done.stderr


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "ascii"])
def test_a_stdout_that_cannot_encode_the_table(encoding, tmp_path):
    """∂ in the table: a clear error naming the cure, never a UnicodeEncodeError."""
    done = child(["x*2", "--at", "x=1", "--no-render"], tmp_path, env={"PYTHONIOENCODING": encoding})
    err = done.stderr.decode(encoding, errors="replace")
    if done.returncode == 0:                   # click writes UTF-8 to a stream it deems misconfigured
        assert encoding == "ascii" and "∂" in done.stdout.decode()
        return
    message = one_error(done.returncode, err)
    assert "cannot show" in message and "PYTHONIOENCODING=utf-8" in err


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "cp1252"])
@pytest.mark.parametrize("source", ["σ_weird*ｘ + sigmoid(y)", "title"])
def test_json_works_with_any_encoding(encoding, source, tmp_path):
    """The same JSON document, with \\uXXXX where the encoding cannot hold a character."""
    if source == "title":
        spec_file(tmp_path, 'title = "∂ σ ← ✓ 𝐱 \\u001b[2J"\n' + NET)
        args = ["net.toml", "--json", "--no-render"]
    else:
        args = [source, "--at", "σ_weird=1,x=2,y=3", "--json", "--no-render"]
    reference = child(args, tmp_path)
    done = child(args, tmp_path, env={"PYTHONIOENCODING": encoding})
    assert done.returncode == reference.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode(encoding)) == json.loads(reference.stdout.decode())
    assert safe_for_a_terminal(done.stdout.decode(encoding))


def test_an_internal_error_has_a_status_of_its_own(capsys, monkeypatch):
    from graphviz_nn import engine

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug \x1b[31m" + "x" * 10_000)
    monkeypatch.setattr(engine, "run", broken)
    status = main(["x*2", "--at", "x=1", "--no-render"])
    out, err = capsys.readouterr()
    assert status == INTERNAL_ERROR and status not in (0, 1, 2, 3) and status < 128
    assert err.startswith("error: internal error") and len(err.splitlines()) == 1
    assert len(err.splitlines()[0]) <= LINE_LIMIT and safe_for_a_terminal(err)


def test_the_exit_statuses_are_documented(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "4 internal error" in text
    assert "| 4 | internal error" in (ROOT / "docs" / "limits.md").read_text()
    assert "4 internal error" in " ".join((ROOT / "README.md").read_text().split())


# ---- 2. everything printed from input is sanitised --------------------------------------------

ESCAPES = ["\x1b]0;pwned\x07", "\x1b[31mred\x1b[0m", "\x9b2J", "\x07", "bell\x07\x08\x7f", "\u2028x\u2029",
           "\x1bP+q\x1b\\", "a\rb", "\u202eevil"]


@pytest.mark.parametrize("escape", ESCAPES)
def test_a_title_with_terminal_escapes_is_shown_inert(escape, tmp_path, capsys):
    path = spec_file(tmp_path, f"title = {toml_string('T ' + escape + ' end')}\n" + NET)
    for extra in ([], ["--json"]):
        status, out, err = run(capsys, path, "--no-render", *extra)
        assert status == 0, err
        assert safe_for_a_terminal(out) and safe_for_a_terminal(err)
    assert json.loads(out)["title"].startswith("T ")


@pytest.mark.parametrize("escape", ESCAPES)
def test_file_and_folder_names_with_escapes_are_shown_inert(escape, tmp_path, capsys):
    path = spec_file(tmp_path, NET, name=f"n{escape}.toml")
    status, out, err = run(capsys, path, "--no-render")
    assert status == 0 and safe_for_a_terminal(out + err)
    status, out, err = run(capsys, path, "--no-render", "--json")      # the path is the JSON's source
    assert status == 0 and safe_for_a_terminal(out + err)
    assert json.loads(out)["source"] == str(path)
    status, out, err = run(capsys, "x*2", "--at", "x=1", "-o", tmp_path / f"o{escape}", "--no-gif",
                           "--no-frames")
    assert status == 0 and "wrote" in out and safe_for_a_terminal(out + err), err


@settings(max_examples=60, **SETTINGS)
@given(title=st.text(max_size=300))
def test_any_title_prints_safely_and_stays_short(title, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("title")
    path = spec_file(folder, f"title = {toml_string(title)}\n" + NET)
    status, out, err = run(capsys, path, "--no-render")
    assert status == 0, err
    assert safe_for_a_terminal(out + err)
    assert len(out.splitlines()[0]) <= TITLE_LIMIT
    status, out, _ = run(capsys, path, "--no-render", "--json")
    assert safe_for_a_terminal(out) and len(json.loads(out)["title"]) <= TITLE_LIMIT


def test_the_sanitisers():
    assert terminal_safe("a\x1b[2Jb\x00c\udcff") == "a\ufffd[2Jb\ufffdc\ufffd"
    assert json.loads(json_safe(json.dumps({"t": "\x1b\x9b\u2028∂𝐱"}, ensure_ascii=False))) == \
        {"t": "\x1b\x9b\u2028∂𝐱"}
    ascii_only = json_safe(json.dumps({"t": "∂𝐱\x85"}, ensure_ascii=False), ascii_only=True)
    assert ascii_only.isascii() and json.loads(ascii_only) == {"t": "∂𝐱\x85"}


# ---- 3. names normalised on both sides (NFKC) --------------------------------------------------

@pytest.mark.parametrize("typed,at", [("ｘ", "ｘ"), ("𝐱", "𝐱"), ("ﬁ", "ﬁ"), ("\u212b", "\u212b"),
                                      ("ｘ", "x"), ("x", "ｘ"), ("𝐱", "ｘ"), ("fi", "ﬁ"), ("\u212b", "Å"),
                                      ("ℌ", "H"), ("xⁱ", "xi")])
def test_names_are_normalised_the_same_way_on_both_sides(typed, at, capsys):
    status, out, err = run(capsys, f"{typed}*2", "--at", f"{at}=1.5", "--no-render")
    assert status == 0, err
    assert "= 3" in out


NAME_CHARS = st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Mn", "Mc", "Nd", "Pc"],
                           exclude_characters="_")


@settings(max_examples=80, **SETTINGS)
@given(name=st.text(NAME_CHARS, min_size=1, max_size=8))
def test_any_python_identifier_works_in_at(name, capsys):
    normal = unicodedata.normalize("NFKC", name)
    assume(name.isidentifier() and normal.isidentifier() and not keyword.iskeyword(normal))
    assume(normal not in FUNCTIONS and normal not in ("a", "b") and not normal.startswith("__"))
    status, out, err = run(capsys, f"{name}*2+1", "--at", f"{name}=3", "--no-render")
    assert status == 0, (name, err)
    assert "= 7" in out


@pytest.mark.parametrize("ats", [("x=1", "x=5"), ("x=1", "ｘ=5"), ("x=1,y=2", "y=3"), ("x=1,ｘ=2",),
                                 ("𝐱=1", "x=2")])
def test_a_name_given_twice_is_refused_in_one_at_or_across_them(ats, capsys):
    args = ["x*y" if any("y" in a for a in ats) else "x*2"]
    for a in ats:
        args += ["--at", a]
    status, _, err = run(capsys, *args, "--no-render")
    assert "is given twice" in one_error(status, err)


def test_explain_takes_a_name_as_typed(capsys):
    status, out, err = run(capsys, "ｘ*y", "--at", "ｘ=2,y=3", "--explain", "ｘ", "--no-render")
    assert status == 0, err
    assert "∂a/∂x = 3" in out


# ---- 4. error lines of a readable length ----------------------------------------------------------

def test_a_stray_bracket_in_a_500000_number_row(tmp_path, capsys):
    row = ",".join(["1"] * 500_000)
    path = spec_file(tmp_path, f"[data]\nX = [[[{row}]]]\n[[layer]]\ntype = \"linear\"\nW = [[1]]\n")
    status, _, err = run(capsys, path, "--no-render")
    message = one_error(status, err)
    assert len(message) <= LINE_LIMIT and "linear takes rows, but its input X holds images, 1×1×500000" in message


LONG = "9" * 5000


@pytest.mark.parametrize("args", [
    ["x", "--at", f"x=[{LONG}"], ["x", "--dpi", LONG + "x"], ["x", "--theme", LONG],
    ["x", f"--{LONG}"], [f"{LONG}x + y", "--at", "y=1"], ["x", "--at", f"x=1,{'q' * 5000}=2"],
    ["x", "--explain", "q" * 5000, "--at", "x=1"], ["x", "--format", "svg," + "z" * 5000],
    [f"/no/such/{'d' * 3000}/net.toml"],
])
def test_every_error_line_is_cut_to_a_readable_length(args, capsys):
    status, out, err = run(capsys, *args, "--no-render")
    assert status == 2, err[:500]
    assert all(len(line) <= LINE_LIMIT for line in err.splitlines()), max(map(len, err.splitlines()))
    assert safe_for_a_terminal(err)


JUNK = st.recursive(st.one_of(st.integers(), st.floats(), st.text(max_size=30), st.booleans()),
                    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=40)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


@settings(max_examples=80, **SETTINGS)
@given(key=st.sampled_from([("data", "X"), ("data", "y"), ("layer", "W"), ("layer", "b"), ("layer", "bias"),
                            ("layer", "type"), ("layer", "shape"), ("layer", "units"), ("layer", "init"),
                            ("train", "lr"), ("train", "steps"), ("train", "order"), ("train", "optimizer"),
                            ("loss", "type"), ("loss", "reduction"), ("top", "title"), ("top", "seed")]),
       value=JUNK, huge=st.booleans())
def test_junk_in_any_key_is_one_short_error_line_or_accepted(key, value, huge, tmp_path_factory, capsys):
    if huge and isinstance(value, list):
        value = value * 2000                      # long rows, long messages
    folder = tmp_path_factory.mktemp("junk")
    status, out, err = run(capsys, spec_file(folder, dump(with_entry(*key, value))), "--no-render")
    assert status in (0, 1, 2), err
    if status == 2:
        one_error(status, err)
    assert all(len(line) <= LINE_LIMIT for line in err.splitlines())
    assert safe_for_a_terminal(out + err)


# ---- 5. no Python warnings on stderr ----------------------------------------------------------------

HUGE_NET = """[data]
X = [[1e300, 1e300], [1e300, -1e300]]
y = [[1], [2]]
[[layer]]
type = "linear"
W = [[1e300], [1e300]]
[[layer]]
type = "{activation}"
[loss]
type = "mse"
[train]
lr = 1e300
steps = 3
optimizer = "{optimizer}"
"""


@pytest.mark.parametrize("optimizer,activation", [("sgd", "sigmoid"), ("momentum", "tanh"),
                                                  ("rmsprop", "relu"), ("adam", "sigmoid")])
def test_overflow_in_a_spec_gives_warning_lines_only(optimizer, activation, tmp_path):
    spec_file(tmp_path, HUGE_NET.format(optimizer=optimizer, activation=activation))
    done = child(["net.toml", "--no-render", "--plots", "-o", "out"], tmp_path)
    err = done.stderr.decode()
    assert done.returncode in (0, 1), err
    assert all(line.startswith("warning: ") for line in err.splitlines()), err[-2000:]
    assert "Warning" not in err and "site-packages" not in err


@pytest.mark.parametrize("formula,at", [("sum(W*W)", "W=[[1e300],[1e300]]"), ("exp(x)*log(y)", "x=1000,y=-1"),
                                        ("softmax(X)@X", "X=[[1e308,-1e308],[1e308,1e308]]")])
def test_overflow_in_a_formula_gives_warning_lines_only(formula, at, tmp_path):
    done = child([formula, "--at", at, "--no-render", "--check"], tmp_path)
    err = done.stderr.decode()
    assert done.returncode in (0, 1), err
    assert all(line.startswith("warning: ") for line in err.splitlines()), err[-2000:]


# ---- 6. spec files and arguments as users write them -------------------------------------------------

@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_spec_starting_with_a_byte_order_mark_is_read(newline, tmp_path, capsys):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + ('title = "bom"\n' + NET).replace("\n", newline).encode())
    status, out, err = run(capsys, path, "--no-render")
    assert status == 0, err
    assert out.splitlines()[0] == "bom"
    path.write_bytes(b'title = "x"\n\xef\xbb\xbf' + NET.encode())       # only at the start
    one_error(*run(capsys, path, "--no-render")[::2])


@pytest.mark.parametrize("argv,folder", [
    (["x*2", "--at", "x=1", "-o", "-weird"], "-weird"),
    (["-o", "-weird", "x*2", "--at", "x=1"], "-weird"),
    (["x*2", "--at", "x=1", "--output", "-weird"], "-weird"),
    (["x*2", "--at", "x=1", "-oDIR"], "DIR"),
    (["-oDIR", "x*2", "--at", "x=1"], "DIR"),
    (["-o-dash", "x*2", "--at", "x=1"], "-dash"),
    (["-oDIR", "-x*2", "--at", "x=1"], "DIR"),
    (["--at", "x=1", "-oDIR", "--", "-x*2"], "DIR"),
])
def test_output_folders_that_look_like_options(argv, folder, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "--no-gif", "--no-frames", *argv)
    assert status == 0, err
    assert sorted(os.listdir(tmp_path)) == [folder]
    assert (tmp_path / folder / "graph.svg").exists()


@pytest.mark.parametrize("argv,value", [
    (["-x*2", "--at", "x=1"], "-2"),                    # a formula starting with a minus
    (["-o*2", "--at", "o=1"], "-2"),                    # … even one that starts like -o
    (["--seed", "-1", "x*2", "--at", "x=1"], "-2"),     # an option's value stays a value
    (["--at", "x=-1", "x*2"], "-2"),
])
def test_leading_minus_formulas_still_work(argv, value, capsys):
    status, out, err = run(capsys, *argv, "--no-render")
    assert status == 0, err
    assert f"∂" in out and value in out
