"""Signals end a run cleanly: while the command runs, SIGINT, SIGTERM, SIGHUP and SIGQUIT become
an `Interrupted` exception. It unwinds like any error, so the staging folder and temporary
files are removed and a running Graphviz program is stopped (render/files.py, render/layout.py),
and `main` turns it into one `error: interrupted (SIGTERM)` line and exit status 128 + n.

The few steps that must not be cut in half (creating and recording a temporary folder or a
child process, moving a folder into place, cleaning up) are held (`files.uninterrupted`): a
signal arriving then is raised when they end. After the first signal, further ones are
ignored while nngraph cleans up, unless the cleanup takes longer than GRACE_SECONDS: then a
repeated signal ends nngraph at once, the usual way.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

from ..render.files import HELD

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                if hasattr(signal, name))
GRACE_SECONDS = 5.0


class Interrupted(BaseException):
    """A signal ended the run (a BaseException, like KeyboardInterrupt: no `except Exception`
    swallows it)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted ({self.name})")

    @property
    def status(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def signals_as_exceptions(exiting: bool = False):
    """Within the block, the signals above raise Interrupted (in the main thread only, where
    Python runs signal handlers; a signal the parent process set to be ignored, as `nohup`
    does with SIGHUP, stays ignored). The earlier handlers come back when the block ends —
    unless the process is exiting (the `nngraph` command): then the run is over, its files are
    in place, and a signal in its last moments is ignored rather than killing a finished run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    first: list[float] = []

    def handler(signum, frame):
        if first:
            if time.monotonic() - first[0] > GRACE_SECONDS:     # cleanup hangs: the usual way out
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        first.append(time.monotonic())
        exc = Interrupted(signum)
        if HELD.depth:
            HELD.pending = exc
        else:
            raise exc

    saved = {}
    try:
        for signum in SIGNALS:
            if signal.getsignal(signum) != signal.SIG_IGN:
                saved[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, signal.SIG_IGN if exiting else previous if previous is not None else signal.SIG_DFL)
