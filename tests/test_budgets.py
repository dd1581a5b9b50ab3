"""Issue 9, resource bounds that hold: every input's cost in memory and time is checked before the
work starts (budget.py, docs/limits.md), and a refusal is one `error:` line naming the option that
raises the limit.

Heavy cases run in a child process under a memory cap (RLIMIT_AS), through the real entry point,
with the code of this checkout (PYTHONPATH); the child reports how long `main()` took, so "before
the work" is measured without the interpreter's start-up.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphviz_nn import budget, reading
from graphviz_nn.cli import main
from graphviz_nn.network import spec as netspec

ROOT = Path(__file__).resolve().parents[1]
MEMORY_CAP = int(1.5 * 2**30)      # bytes of address space for a child run
FAST = 2.0                         # seconds: a refusal before the work (the work would take minutes)
RUNNER = """
import json, sys, time
from graphviz_nn.cli import main
args = json.load(open(sys.argv[1]))
start = time.perf_counter()
try:
    status = main(args)
finally:
    open(sys.argv[2], "w").write(repr(time.perf_counter() - start))
sys.exit(status)
"""


class Run(NamedTuple):
    status: int
    out: str
    err: str
    seconds: float          # main() alone, without the interpreter's start-up


def child(args, folder: Path, memory: int = MEMORY_CAP, timeout: float = 300) -> Run:
    """`nngraph *args` in a child process under a memory cap and a time limit (a run the budgets
    failed to stop fails the test, and does not hold up the suite); arguments go through a file,
    so values of any size pass (a command line takes 128 KiB per argument)."""
    argfile, timefile = folder / "args.json", folder / "seconds"
    argfile.write_text(json.dumps([str(a) for a in args]), encoding="utf-8")
    timefile.unlink(missing_ok=True)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    try:
        done = subprocess.run([sys.executable, "-c", RUNNER, str(argfile), str(timefile)], cwd=folder,
                              capture_output=True, text=True, timeout=timeout, preexec_fn=cap, env=env)
    except subprocess.TimeoutExpired:
        return Run(-1, "", f"still running after {timeout} s", timeout)
    seconds = float(timefile.read_text()) if timefile.exists() else float("nan")
    return Run(done.returncode, done.stdout, done.stderr, seconds)


def in_process(capsys, *args) -> Run:
    start = time.perf_counter()
    status = main([str(a) for a in args])
    seconds = time.perf_counter() - start
    out, err = capsys.readouterr()
    return Run(status, out, err, seconds)


def assert_refused(run: Run, option: str, fast: float = FAST) -> None:
    """Exit 2, one `error:` line (then only carets and a hint) naming the limit, and a hint naming
    the option that raises it; and it came before the work."""
    assert run.status == 2, (run.status, run.err[-2000:])
    lines = run.err.splitlines()
    assert lines[0].startswith("error: ") and "limit" in lines[0], run.err
    assert sum(line.startswith("error:") for line in lines) == 1, run.err
    assert all(line.startswith(("  ", "hint: ")) for line in lines[1:]), run.err
    assert any(line.startswith("hint: ") and option in line for line in lines), run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert run.seconds < fast, f"refused only after {run.seconds:.2f} s"


def assert_clean(run: Run) -> None:
    """A run that is not refused: a documented status, no traceback, no internal error."""
    assert run.status in (0, 1, 2), (run.status, run.err[-2000:])
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err[-2000:]
    assert "MemoryError" not in run.err


def column(n: int) -> str:
    return "[" + ",".join(["[1]"] * n) + "]"


def row(n: int) -> str:
    return "[[" + ",".join(["1"] * n) + "]]"


def matrix(shape: tuple, fill: str = "0.5") -> str:
    if not shape:
        return fill
    if len(shape) == 1:
        return "[" + ",".join([fill] * shape[0]) + "]"
    inner = "[" + ",".join([fill] * shape[1]) + "]"
    return "[" + ",".join([inner] * shape[0]) + "]"


# ---- 1. formulas: every intermediate result --------------------------------------------------

def test_the_issues_broadcast_is_refused_before_2_4_gib_are_allocated(tmp_path):
    run = child(["sum(C*R)", "--at", f"C={column(10_000)}", "--at", f"R={row(10_000)}", "--no-render"],
                tmp_path, memory=int(0.6 * 2**30))       # the product alone would need 0.8 GB
    assert_refused(run, "--max-numbers")
    assert "100,020,001" in run.err and "10000×10000" in run.err
    assert run.err.splitlines()[1:3] == ["  sum(C*R)", "      ^^^"]     # a caret under the culprit


def test_the_limit_can_be_raised_and_then_the_work_runs(capsys):
    args = ["sum(C*R)", "--at", f"C={column(300)}", "--at", f"R={row(300)}", "--no-render"]
    assert_refused(in_process(capsys, *args, "--max-numbers", "50000"), "--max-numbers")
    run = in_process(capsys, *args, "--max-numbers", "200000")
    assert run.status == 0 and run.err == "", run.err


def test_matrix_products_are_counted_in_work(tmp_path):
    """A 2000×2000 @ 2000×2000 holds few numbers but takes 8e9 multiply-adds each way."""
    square = f"A={matrix((1, 2000))}"
    args = ["sum((C*A)@(C*A))", "--at", f"C={column(2000)}", "--at", square, "--no-render"]
    run = child(args, tmp_path, timeout=30)
    assert_refused(run, "--max-work")
    assert "operations" in run.err


def test_a_convolution_is_counted_by_its_multiply_adds(capsys):
    """A 60×60 input and a 20×20 kernel hold few numbers, but each of the 41×41 outputs sums 400
    products: 672,400 multiply-adds forward, about 2 million with the backward pass."""
    args = ["sum(conv2d(X, K))", "--at", f"X={matrix((60, 60))}", "--at", f"K={matrix((20, 20))}", "--no-render"]
    assert_refused(in_process(capsys, *args, "--max-work", "1500000"), "--max-work")
    run = in_process(capsys, *args, "--max-work", "3000000")
    assert run.status == 0, run.err


def test_an_ops_own_count_of_its_work_is_used():
    from graphviz_nn.ops.conv import Conv, Pool
    assert budget.gate_work("conv2d", [(2, 3, 8, 8), (4, 3, 3, 3)], (2, 4, 6, 6), Conv(1, 0)) == 2 * 4 * 6 * 6 * 27
    assert budget.gate_work("maxpool", [(6, 6)], (4, 4), Pool(3, 1)) == 4 * 4 * 9
    assert budget.gate_work("matmul", [(3, 4), (4, 5)], (3, 5)) == 3 * 4 * 5


def test_check_is_counted_in_work(tmp_path):
    """--check evaluates the formula twice per checked entry: 1,602 more passes over 4M numbers."""
    args = ["sum(C*R)", "--at", f"C={column(2000)}", "--at", f"R={row(2000)}", "--no-render"]
    run = child([*args, "--check"], tmp_path, timeout=30)
    assert_refused(run, "--max-work")
    assert "--check" in run.err


def test_json_counts_each_number_several_times(capsys):
    args = ["C*R", "--at", f"C={column(1000)}", "--at", f"R={row(1000)}", "--no-render"]
    assert in_process(capsys, *args, "--max-numbers", "2000000").status == 0
    run = in_process(capsys, *args, "--max-numbers", "2000000", "--json")
    assert_refused(run, "--max-numbers")
    assert "--json" in run.err.splitlines()[0]


SHAPES = st.sampled_from([(), (1,), (7,), (3000,), (1, 1), (1, 7), (7, 1), (3000, 1), (1, 3000),
                          (20_000, 1), (1, 20_000), (300, 300), (300, 1), (1, 300), (5, 20_000)])
FORMULAS = st.sampled_from(["A*B", "sum(A*B)", "exp(A-B)+A", "A@B", "softmax(A*B)", "max(A, B)*2",
                            "sum(A*B) + sum(A/B)", "mean(relu(A*B)*A*B)", "sum((A+B)@(A+B))",
                            "tanh(A)*sigmoid(B)*A*B"])


@pytest.mark.slow
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(formula=FORMULAS, a=SHAPES, b=SHAPES)
def test_broadcasts_are_refused_fast_or_run_under_a_memory_cap(formula, a, b, tmp_path_factory):
    """Whatever the shapes: refused before the work (status 2, one error line naming the option),
    refused because the shapes do not fit (status 2, naming the gate), or run to the end inside
    1.5 GB of address space."""
    folder = tmp_path_factory.mktemp("broadcast")
    run = child([formula, "--at", f"A={matrix(a)}", "--at", f"B={matrix(b)}", "--no-render"], folder)
    assert_clean(run)
    if run.status == 2 and "limit" in run.err.splitlines()[0]:
        option = "--max-numbers" if "numbers" in run.err.splitlines()[0] else "--max-work"
        assert_refused(run, option)
    elif run.status == 2:
        assert run.err.startswith("error: "), run.err
    else:
        assert run.out.strip()


@pytest.mark.parametrize("a,b,formula", [((4400, 1), (1, 4400), "A*B"),          # 19.4M: just under
                                         ((1, 4400), (4400, 1), "sum(A*B)*2")])
def test_just_under_the_default_limit_runs_in_1_5_gb(a, b, formula, tmp_path):
    run = child([formula, "--at", f"A={matrix(a)}", "--at", f"B={matrix(b)}", "--no-render"], tmp_path)
    assert run.status == 0, run.err[-2000:]


def test_shape_rules_agree_with_the_ops():
    """The budget's shapes are the shapes the evaluator makes, for every kind of gate."""
    import numpy as np
    from graphviz_nn.api import build
    from graphviz_nn import engine
    cases = {"A@B": {"A": (3, 4), "B": (4, 2)}, "A@v": {"A": (3, 4), "v": (4,)},
             "v@A": {"v": (3,), "A": (3, 4)}, "v@w": {"v": (4,), "w": (4,)},
             "A*B": {"A": (3, 1), "B": (1, 5)}, "sum(A)*B": {"A": (3, 4), "B": (2,)},
             "max(A)+min(A, B)": {"A": (3, 1), "B": (2,)}, "softmax(A)*mean(B)": {"A": (2, 3), "B": (4,)},
             "A**2/B-1": {"A": (2, 1), "B": (3,)}, "max(A, B, v)": {"A": (2, 1), "B": (3,), "v": (1, 3)},
             "maxpool(conv2d(A, B, stride=2, padding=1), size=2, stride=1)": {"A": (2, 3, 7, 6), "B": (4, 3, 3, 2)},
             "flatten(avgpool(A, size=3))": {"A": (2, 8, 7)}}
    for formula, given in cases.items():
        values = {name: np.ones(shape) for name, shape in given.items()}
        graph = build(formula, values)
        shapes = budget.result_shapes(graph)
        computed = engine.forward(graph)
        for n in graph.gates():
            assert shapes[n] == np.shape(computed[n]), (formula, n)


# ---- 2. network specs: numbers kept across passes, matrix sizes × steps ---------------------

def big_spec(layers: int, size: int, steps: int, optimizer: str = "adam", rows: int = 1) -> str:
    x = "[" + ",".join([matrix((1, size), "0.5")[1:-1]] * rows) + "]"
    y = "[" + ",".join(["[1]"] * rows) + "]"
    text = f"[data]\nX = {x}\ny = {y}\n"
    text += f'[[layer]]\ntype = "linear"\nshape = [{size}, {size}]\ninit = "he"\n' * layers
    text += f'[[layer]]\ntype = "linear"\nshape = [{size}, 1]\ninit = "zeros"\n'
    text += f'[loss]\ntype = "mse"\n[train]\nlr = 0.001\nsteps = {steps}\noptimizer = "{optimizer}"\n'
    return text


def test_the_issues_20_layers_of_1000_by_1000_are_refused_fast(tmp_path):
    """1.5 KB of TOML, 20 weight matrices of a million numbers, 60 Adam steps: the 51 drawn
    passes would keep ~1e9 numbers. Refused while the weights are made, in a small memory cap."""
    path = tmp_path / "wide.toml"
    path.write_text(big_spec(20, 1000, 60))
    assert path.stat().st_size < 10_000
    run = child([path, "--no-render"], tmp_path, memory=int(0.7 * 2**30))
    assert_refused(run, "--max-numbers")


def test_hundreds_of_layers_are_refused_before_their_weights_are_made(tmp_path):
    """500 layers of 1000×1000 from a 30 KB file would fill 4 GB of weights before any check of
    the whole run: one pass over the budget is refused while they are made."""
    path = tmp_path / "deep.toml"
    path.write_text(big_spec(500, 1000, 1))
    run = child([path, "--no-render"], tmp_path, memory=int(0.7 * 2**30), timeout=60)
    assert_refused(run, "--max-numbers")
    assert "one pass" in run.err


def test_one_1000_by_1000_layer_at_10000_steps_is_refused_fast(tmp_path):
    """About 12 minutes of training before: refused at once, by work (the default draws 4 passes)
    and, with every pass drawn, by memory."""
    path = tmp_path / "long.toml"
    path.write_text(big_spec(1, 1000, 10_000))
    run = child([path, "--no-render"], tmp_path, timeout=30)
    assert_refused(run, "--max-work")
    assert "10,000 training steps" in run.err
    assert_refused(child([path, "--no-render", "--draw", "all"], tmp_path, timeout=30), "--max-numbers")


def test_work_alone_refuses_a_long_training_of_a_mid_sized_layer(tmp_path):
    path = tmp_path / "mid.toml"
    path.write_text(big_spec(1, 300, 10_000))
    run = child([path, "--no-render"], tmp_path, timeout=30)
    assert_refused(run, "--max-work")
    assert "train fewer steps" in run.err


def test_the_examples_are_well_inside_the_budgets():
    checked = 0
    for path in sorted((ROOT / "examples" / "nets").glob("*.toml")):
        try:
            spec = netspec.load_spec(str(path))
        except netspec.UserError:       # reading the examples is test_examples.py's to check
            continue
        budget.check_network(spec, budget.DEFAULT_MAX_NUMBERS // 100, budget.DEFAULT_MAX_WORK // 100)
        checked += 1
    assert checked >= 10


SPEC_SHAPES = st.tuples(st.integers(1, 4), st.sampled_from([1, 8, 64, 300, 700]),
                        st.sampled_from([1, 5, 60, 400, 3000]),
                        st.sampled_from(["sgd", "momentum", "rmsprop", "adam"]), st.integers(1, 4))


@pytest.mark.slow
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(shape=SPEC_SHAPES)
def test_specs_under_a_small_budget_are_refused_fast_or_finish_in_time(shape, tmp_path_factory):
    """The estimates are not wildly low: with a budget of about a second of work and 100 MB of
    numbers, a spec is refused before training or finishes in well under a minute, inside 1 GB."""
    layers, size, steps, optimizer, rows = shape
    folder = tmp_path_factory.mktemp("spec")
    path = folder / "net.toml"
    path.write_text(big_spec(layers, size, steps, optimizer, rows))
    start = time.perf_counter()
    run = child([path, "--no-render", "--max-work", str(10**8), "--max-numbers", str(4 * 10**6)],
                folder, memory=2**30)
    assert_clean(run)
    if run.status == 2:
        assert_refused(run, "--max-numbers" if "numbers" in run.err.splitlines()[0] else "--max-work")
    else:
        assert run.seconds < 60, f"accepted, then took {run.seconds:.1f} s"
    assert time.perf_counter() - start < 120


# ---- 3. spec files: size before parsing, regular files only ---------------------------------

def test_a_big_spec_is_refused_before_it_is_parsed(tmp_path):
    """19.5 MB of TOML took 34-41 s to parse before its size was checked."""
    path = tmp_path / "big.toml"
    row_text = ",".join(["0.123456"] * 1000)
    with path.open("w") as f:
        f.write("[data]\nX = [\n")
        while f.tell() < 19_500_000:
            f.write(f"[{row_text}],\n")
        f.write("]\n")
    run = child([path, "--no-render"], tmp_path, timeout=30)
    assert_refused(run, "--max-spec-bytes", fast=0.5)
    assert f"larger than {netspec.MAX_FILE_BYTES:,} bytes" in run.err


def test_the_spec_size_limit_can_be_raised(tmp_path, capsys):
    path = tmp_path / "net.toml"
    path.write_text(big_spec(1, 2, 1))
    size = path.stat().st_size
    assert_refused(in_process(capsys, path, "--no-render", "--max-spec-bytes", size - 1), "--max-spec-bytes")
    assert in_process(capsys, path, "--no-render", "--max-spec-bytes", size).status == 0


def test_dev_zero_as_a_spec_is_refused_at_once(tmp_path):
    link = tmp_path / "z.toml"
    link.symlink_to("/dev/zero")
    run = child([link, "--no-render"], tmp_path, memory=int(0.5 * 2**30), timeout=60)
    assert run.status == 2 and run.err.startswith("error: cannot read the network spec"), run.err
    assert "not a regular file" in run.err and run.seconds < FAST


def test_a_fifo_as_a_spec_does_not_hang(tmp_path):
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    run = child([fifo, "--no-render"], tmp_path, timeout=60)      # the timeout fails the test
    assert run.status == 2 and "not a regular file" in run.err and run.seconds < FAST


@pytest.mark.parametrize("make", ["folder", "missing", "unreadable", "proc"])
def test_other_non_specs_are_one_error_line(make, tmp_path, capsys):
    path = tmp_path / "x.toml"
    if make == "folder":
        path.mkdir()
    elif make == "unreadable":
        path.write_text("title = 'x'")
        path.chmod(0)
        if os.access(path, os.R_OK):        # root reads anything: nothing to test
            pytest.skip("running as root")
    elif make == "proc":                    # a regular file whose size reads as 0
        path.symlink_to(f"/proc/{os.getpid()}/environ")
    run = in_process(capsys, path, "--no-render")
    assert run.status == 2 and run.err.startswith("error: "), run.err
    assert len(run.err.splitlines()) <= 2 and run.seconds < FAST


def test_a_file_growing_past_the_limit_while_read_is_refused(tmp_path, monkeypatch):
    """The size is checked on the open file and again while it is read (at most limit + 1 bytes)."""
    path = tmp_path / "net.toml"
    path.write_bytes(b"#" * 5000)
    real_fstat = os.fstat

    class Small:                 # what a file whose size reads as 0 (or that grows later) reports
        def __init__(self, info):
            self.st_mode, self.st_size = info.st_mode, 0
    monkeypatch.setattr(reading.os, "fstat", lambda fd: Small(real_fstat(fd)))
    reads = []
    real_read = os.read
    monkeypatch.setattr(reading.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with pytest.raises(netspec.UserError, match="larger than 100 bytes"):
        netspec.read_toml(str(path), 100)
    assert sum(reads) <= 101


# ---- 4. names and titles: pictures stay a sane width ----------------------------------------

def test_a_10000_character_name_is_refused_with_a_caret(capsys):
    name = "v" * 10_000
    run = in_process(capsys, f"{name}*2", "--at", f"{name}=1", "--no-render")
    assert run.status == 2 and "names are at most" in run.err.splitlines()[0], run.err[:500]
    assert all(len(line) <= 240 for line in run.err.splitlines())
    run = in_process(capsys, f"{name}*2", "--no-render")       # the formula's name, with a caret
    assert run.status == 2 and "^" in run.err and all(len(line) <= 240 for line in run.err.splitlines())


def long_title_spec(tmp_path: Path, title: str) -> Path:
    path = tmp_path / "titled.toml"
    path.write_text(f"title = {json.dumps(title)}\n" + big_spec(1, 2, 2))
    return path


def test_a_10000_character_title_is_cut_where_it_is_printed_and_drawn(tmp_path, capsys):
    path = long_title_spec(tmp_path, "T" * 10_000)
    run = in_process(capsys, path, "--no-render")
    assert run.status == 0
    assert len(run.out.splitlines()[0]) <= 100 and run.out.splitlines()[0].endswith("…")
    run = in_process(capsys, path, "--no-render", "--json")
    assert len(json.loads(run.out)["title"]) <= 100


@pytest.mark.slow
def test_a_picture_of_the_longest_title_and_names_stays_narrow(tmp_path, capsys):
    from PIL import Image
    name = "w" * 100
    path = long_title_spec(tmp_path, "T" * 10_000)
    run = in_process(capsys, path, "-o", tmp_path / "net", "--format", "png", "--frames", "per-level")
    assert run.status == 0, run.err
    run = in_process(capsys, f"{name}*x", "--at", f"x=1,{name}=2", "-o", tmp_path / "f", "--format", "png")
    assert run.status == 0, run.err
    for picture in [*tmp_path.glob("net/**/*.gif"), *tmp_path.glob("**/*.png"), tmp_path / "f" / "backprop.gif"]:
        with Image.open(picture) as image:
            assert image.width < 16_000 and image.height < 16_000, (picture, image.size)
