"""The one way tests run the command line: `nngraph(*argv)`, in-process, held to the output
contract of DESIGN.md on every call.

    def test_something(nngraph):
        status, out, err = nngraph("x*y", "--at", "x=3,y=4", "--no-render")

Slow tests (fuzzers, runs at the input limits, PyTorch, Chromium, a Jupyter kernel) carry
`@pytest.mark.slow`: plain `pytest -q` skips them, the README's test command runs everything.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import pytest

from graphviz_nn.cli import main

STATUSES = (0, 1, 2, 3, 130)  # ok, numeric trouble or a failed check, bad input, Graphviz, Ctrl-C
                              # (4, an internal error, is documented too: a bug of ours fails here)
QUIET_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


class Result(NamedTuple):
    status: int
    out: str
    err: str


def check_contract(status: int, out: str, err: str) -> None:
    """What every run of nngraph promises, whatever it was given: a documented exit status; on
    bad input (2) or a Graphviz failure (3) one `error:` line, then only caret lines (indented)
    and `hint:` lines; otherwise stderr holds warnings only; never a traceback, never an
    internal error. Blank lines do not count (click prints one after Ctrl-C)."""
    assert status in STATUSES, (status, err[-2000:])
    for text in (out, err):
        assert "Traceback" not in text, text[-3000:]
        assert "internal error" not in text, text[-3000:]
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("warning: ", "note: "))]
    if status == 130:
        return
    if status in (2, 3):
        assert lines and lines[0].startswith("error: "), err[-2000:]
        assert sum(line.startswith("error:") for line in lines) == 1, err[-2000:]
        assert all(line.startswith(("  ", "hint: ")) for line in lines[1:]), err[-2000:]
    else:
        assert not lines, err[-2000:]
        assert out.strip()                                 # the table or the JSON
    if status == 1:                  # a warning says why, or the check did, or an --expect answer
        assert "warning: " in err or "MISMATCH" in out or "  ✗ " in out, (out[-2000:], err[-2000:])


@pytest.fixture
def nngraph(capsys, tmp_path, monkeypatch):
    """Run `nngraph *argv` in-process, in a fresh working folder (nothing may land in the
    repository's outputs/), and return (status, out, err) after checking the contract. A Python
    warning (SyntaxWarning from the parser, RuntimeWarning from numpy) fails the test: a user
    would see it on stderr, but under pytest it would not reach capsys."""
    monkeypatch.chdir(tmp_path)

    def run(*argv) -> Result:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        shown = [f"{w.category.__name__}: {w.message}" for w in caught
                 if not issubclass(w.category, QUIET_BY_DEFAULT)]
        assert not shown, shown
        check_contract(status, out, err)
        return Result(status, out, err)
    return run


def in_browser(page: str, script: str, folder) -> str:
    """Run `script` at the end of an HTML page in headless Chromium; the script puts its answer
    in a <pre id="result">, which is returned (HTML entities undone)."""
    import html
    import re
    import subprocess
    probe = folder / "probe.html"
    probe.write_text(page.replace("</body>", f"<script>{script}</script></body>"), encoding="utf-8")
    done = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", f"--user-data-dir={folder / 'profile'}", "--dump-dom",
                           probe.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">([^<]*)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    return html.unescape(found.group(1))
