"""Signals (issue 9): SIGINT, SIGTERM, SIGHUP and SIGQUIT during a render or while `dot` runs
leave the file system as it was (no staging folder, no temporary files, an earlier output
folder intact), leave no Graphviz process running, and end nngraph with status 128 + n and
one `error: interrupted (SIGTERM)` line.

nngraph runs as a real process here, in a session of its own, so that every process it
started can be found afterwards by its process group.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphviz_nn.cli import main
from graphviz_nn.cli.signals import Interrupted, signals_as_exceptions
from graphviz_nn.render import export, files

from test_files import complete, quietly, snapshot

NNGRAPH = Path(sys.executable).with_name("nngraph")
SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT]
SMALL = ("x*y", "--at", "x=1,y=2", "--no-gif")


def alive(pid: int) -> bool:
    """pid is a running process (not gone, not a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def group(pgid: int) -> list[int]:
    """The running processes of a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Run:
    """nngraph as a process of its own, in its own session (its pid is its process group)."""

    def __init__(self, argv, tmp_path: Path, env: dict | None = None, python: str | None = None):
        self.scratch = tmp_path / "scratch"           # TMPDIR: Graphviz's temporary folders
        self.scratch.mkdir(exist_ok=True)
        self.out = tmp_path / "stdout"
        command = [sys.executable, "-c", python, *argv] if python else [str(NNGRAPH), *argv]
        with open(self.out, "wb") as stdout:
            self.process = subprocess.Popen(
                [str(a) for a in command], stdout=stdout, stderr=subprocess.PIPE,
                env={**os.environ, "TMPDIR": str(self.scratch), **(env or {})}, start_new_session=True)

    def started(self, ready) -> None:
        """Wait until ready() (or the end of the process: then say why)."""
        wait_for(lambda: ready() or self.process.poll() is not None)
        assert ready(), self.finish()

    def finish(self, seconds: float = 60.0) -> tuple[int, str]:
        try:
            _, err = self.process.communicate(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        assert not group(self.process.pid), "a process nngraph started outlived it"
        return self.process.returncode, err.decode()


def check_interrupted(status: int, err: str, signum: int) -> None:
    assert status == 128 + signum, (status, err)
    assert err == f"error: interrupted ({signal.Signals(signum).name})\n", err


@pytest.fixture
def earlier(tmp_path) -> tuple[Path, dict]:
    """An output folder from an earlier run, and its snapshot."""
    out = tmp_path / "parent" / "out"
    assert quietly(["x+y", "--at", "x=1,y=2", "--no-gif", "-o", out]) == 0
    return out, snapshot(out.parent)


# ---- while `dot` runs ------------------------------------------------------------------------

SLOW_DOT = '#!/bin/sh\necho $$ > "$DOT_PID_FILE.tmp" && mv "$DOT_PID_FILE.tmp" "$DOT_PID_FILE"\nexec sleep 60\n'


def run_with_slow_dot(tmp_path, out):
    """nngraph started with a `dot` that only sleeps, once that `dot` runs; and its pid file."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text(SLOW_DOT)
    (fake / "dot").chmod(0o755)
    pid_file = tmp_path / "dot.pid"
    run = Run([*SMALL, "-o", out], tmp_path,
              env={"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "DOT_PID_FILE": str(pid_file)})
    run.started(pid_file.exists)
    return run, pid_file


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_dot_runs_stops_dot_and_changes_nothing(tmp_path, earlier, signum):
    out, before = earlier
    run, pid_file = run_with_slow_dot(tmp_path, out)
    dot = int(pid_file.read_text())
    assert alive(dot)
    os.kill(run.process.pid, signum)                   # to nngraph only, as `kill` or a scheduler does
    status, err = run.finish()
    check_interrupted(status, err, signum)
    assert not alive(dot)
    assert snapshot(out.parent) == before and list(run.scratch.iterdir()) == []


def test_ctrl_c_at_a_terminal_reaches_nngraph_and_dot_together(tmp_path, earlier):
    out, before = earlier
    run, pid_file = run_with_slow_dot(tmp_path, out)
    os.killpg(run.process.pid, signal.SIGINT)          # the terminal signals the whole foreground group
    status, err = run.finish()
    check_interrupted(status, err, signal.SIGINT)
    assert snapshot(out.parent) == before and list(run.scratch.iterdir()) == []


# ---- while the pictures are written ----------------------------------------------------------

PAUSE_WHILE_WRITING = """
import pathlib, sys, time
from graphviz_nn.cli import main
from graphviz_nn.render import export
ready = pathlib.Path(sys.argv.pop())
real = export.write_text
def write_text(path, text):
    written = real(path, text)
    if path.name == "001.svg":                       # graph.svg and two frames are in the staging folder
        ready.write_text("ready")
        time.sleep(60)
    return written
export.write_text = write_text
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_writing_removes_the_staging_folder(tmp_path, earlier, signum):
    out, before = earlier
    ready = tmp_path / "ready"
    run = Run([*SMALL, "-o", out, ready], tmp_path, python=PAUSE_WHILE_WRITING)
    run.started(ready.exists)
    assert len(list(out.parent.iterdir())) == 2        # out/ and the staging folder
    os.kill(run.process.pid, signum)
    status, err = run.finish()
    check_interrupted(status, err, signum)
    assert snapshot(out.parent) == before


def test_a_signal_nngraph_was_told_to_ignore_stays_ignored(tmp_path):
    """`nohup nngraph …`: SIGHUP is ignored by the parent's choice, and stays so."""
    ready = tmp_path / "ready"
    python = "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)\n" + PAUSE_WHILE_WRITING.replace(
        "time.sleep(60)", "time.sleep(1)")
    out = tmp_path / "parent" / "out"
    run = Run([*SMALL, "-o", out, ready], tmp_path, python=python)
    run.started(ready.exists)
    os.kill(run.process.pid, signal.SIGHUP)
    status, err = run.finish()
    assert status == 0 and err == "", err
    complete(out)


# ---- the held steps, in-process --------------------------------------------------------------

@pytest.fixture
def net():
    """These tests signal the test process itself: should nngraph's handlers be missing, the
    signal is recorded here (and the test fails) instead of ending pytest."""
    stray = []
    saved = {s: signal.signal(s, lambda signum, frame: stray.append(signum))
             for s in (signal.SIGTERM, signal.SIGHUP)}
    yield stray
    for s, handler in saved.items():
        signal.signal(s, handler)
    assert not stray, "a signal reached the process instead of nngraph's handler"


def test_a_signal_in_a_held_step_is_raised_when_the_step_ends(net):
    steps = []
    with pytest.raises(Interrupted) as caught:
        with signals_as_exceptions():
            with files.uninterrupted():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGHUP)    # a second signal while cleaning up: ignored
                time.sleep(0.05)
                steps.append("held step finished")
    assert steps == ["held step finished"]
    assert caught.value.status == 128 + signal.SIGTERM and str(caught.value) == "interrupted (SIGTERM)"


def test_the_earlier_handlers_come_back(capsys, tmp_path):
    before = {s: signal.getsignal(s) for s in SIGNALS}
    assert main([*SMALL, "-o", tmp_path / "out"]) == 0
    assert {s: signal.getsignal(s) for s in SIGNALS} == before


def test_a_signal_just_before_the_move_into_place_changes_nothing(net, capsys, tmp_path, earlier, monkeypatch):
    """The move into place is held; a signal before its first irreversible step abandons it."""
    out, before = earlier
    real = files.write_manifest

    def write_manifest(folder):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)                               # the handler has run: the signal is pending
        real(folder)
    monkeypatch.setattr(files, "write_manifest", write_manifest)
    status = main([*SMALL, "-o", out])
    check_interrupted(status, capsys.readouterr().err, signal.SIGTERM)
    assert snapshot(out.parent) == before


def test_a_signal_after_the_new_folder_is_in_place_leaves_it_whole(net, capsys, tmp_path, earlier, monkeypatch):
    out, before = earlier
    real = files.remove_if_ours

    def remove_if_ours(folder):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        return real(folder)
    monkeypatch.setattr(files, "remove_if_ours", remove_if_ours)
    status = main([*SMALL, "-o", out])
    check_interrupted(status, capsys.readouterr().err, signal.SIGTERM)
    complete(out)
    assert [p.name for p in out.parent.iterdir()] == ["out"]


def test_a_keyboard_interrupt_raised_in_the_render_is_ctrl_c(capsys, tmp_path, earlier, monkeypatch):
    """Not from a signal (a library, a debugger): still 130, one line, nothing left behind."""
    out, before = earlier

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(export, "player_html", interrupted)
    status = main([*SMALL, "-o", out])
    check_interrupted(status, capsys.readouterr().err.lstrip("\n"), signal.SIGINT)
    assert snapshot(out.parent) == before


# ---- at random moments, with the real `dot` --------------------------------------------------

def long_sum(n: int) -> list[str]:
    return ["+".join(f"x{i}*y{i}" for i in range(n)), "--at", ",".join(f"x{i}=1,y{i}=2" for i in range(n)),
            "--no-gif"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_signals_at_random_moments(tmp_path, earlier, seed):
    rng = random.Random(seed)
    signum = rng.choice(SIGNALS)
    out, before = earlier
    run = Run([*long_sum(32), "-o", out], tmp_path)    # after its table: dot ~0.1 s, then ~0.5 s of files
    wait_for(lambda: run.out.stat().st_size > 0 or run.process.poll() is not None)   # main() runs
    time.sleep(rng.choice([rng.uniform(0, 0.15), rng.uniform(0, 1.0)]))
    dots = [p for p in group(run.process.pid) if p != run.process.pid]
    os.kill(run.process.pid, signum)
    status, err = run.finish()
    assert not any(alive(p) for p in dots)
    assert list(run.scratch.iterdir()) == []
    assert [p.name for p in out.parent.iterdir()] == ["out"]          # no staging, nothing aside
    if status == 0:                                                   # it finished first
        assert err == ""
        complete(out)
    else:
        check_interrupted(status, err, signum)
        after = snapshot(out.parent)
        if after != before:       # the signal came in the last moment, the new folder in place
            complete(out)
            assert "x31" in (out / "graph.svg").read_text()


@pytest.mark.parametrize("exiting", [False, True])
def test_after_the_run_the_command_ignores_signals_and_a_library_call_gets_its_handlers_back(exiting):
    """The nngraph command exits when main returns: a signal in its last moments must not kill a
    run whose files are in place (status -2, no error line); in-process, the caller's handlers
    come back."""
    from graphviz_nn.cli.signals import SIGNALS
    saved = {s: signal.getsignal(s) for s in SIGNALS}
    try:
        with signals_as_exceptions(exiting=exiting):
            pass
        after = {s: signal.getsignal(s) for s in SIGNALS if saved[s] != signal.SIG_IGN}
        assert after == ({s: signal.SIG_IGN for s in after} if exiting else {s: saved[s] for s in after})
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
