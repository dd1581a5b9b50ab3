"""Running Graphviz: one place that calls the `dot` program and turns its failures into clear errors."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import GraphvizError

INSTALL_HINT = ("install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS), or see https://graphviz.org/download/")
TIMEOUT_SECONDS = 300


@dataclass
class Layout:
    """One Graphviz layout: the SVG, and when asked, coordinates (json) and the positioned DOT."""
    svg: str
    json: dict | None = None
    positioned_dot: str | None = None

    @property
    def bounding_box(self) -> tuple[float, float]:
        x0, y0, x1, y1 = (float(v) for v in self.json["bb"].split(","))
        return x1 - x0, y1 - y0


def program(name: str = "dot") -> str:
    path = shutil.which(name)
    if path is None:
        raise GraphvizError(f"Graphviz is not installed (the `{name}` program was not found)",
                            hint=INSTALL_HINT)
    return path


def run(args: list[str], source: str, cwd: str | None = None) -> bytes:
    try:
        done = subprocess.run(args, input=source.encode(), capture_output=True, cwd=cwd,
                              timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"Graphviz took longer than {TIMEOUT_SECONDS} s and was stopped",
                            hint="draw fewer nodes (--frames none, or the layer view)") from None
    except OSError as exc:
        raise GraphvizError(f"Graphviz could not be run: {exc}", hint=INSTALL_HINT) from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GraphvizError("Graphviz failed: " + (message[0] if message else f"exit status {done.returncode}"))
    return done.stdout


def layout(source: str, coordinates: bool = True, positioned: bool = False) -> Layout:
    """The one layout of a graph: SVG, and json and positioned DOT when asked, from one `dot` run."""
    dot = program("dot")
    outputs = [("svg", True), ("json", coordinates), ("dot", positioned)]
    with tempfile.TemporaryDirectory(prefix="nngraph-") as tmp:
        args = [dot] + [a for fmt, wanted in outputs if wanted for a in (f"-T{fmt}", f"-olayout.{fmt}")]
        run(args, source, cwd=tmp)
        read = lambda fmt: (Path(tmp) / f"layout.{fmt}").read_text(encoding="utf-8")
        return Layout(read("svg"), json.loads(read("json")) if coordinates else None,
                      read("dot") if positioned else None)


def render_positioned(sources: list[str], fmt: str, dpi: int | None = None) -> list[bytes]:
    """Render already laid-out graphs (`neato -n2`: no new layout) in one process."""
    neato = program("neato")
    args = [neato, "-n2", f"-T{fmt}", "-O"] + ([f"-Gdpi={dpi}"] if dpi else [])
    with tempfile.TemporaryDirectory(prefix="nngraph-") as tmp:
        (Path(tmp) / "g.dot").write_text("\n".join(sources), encoding="utf-8")
        run(args + ["g.dot"], "", cwd=tmp)
        names = ["g.dot." + fmt] + [f"g.dot.{i}.{fmt}" for i in range(2, len(sources) + 1)]
        return [(Path(tmp) / n).read_bytes() for n in names]
