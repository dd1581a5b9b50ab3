"""Running Graphviz: one place that calls the `dot` program and turns its failures into clear errors."""
from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import GraphvizError
from .files import scratch_folder, uninterrupted

INSTALL_HINT = ("install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS), or see https://graphviz.org/download/")
TIMEOUT_SECONDS = 300
GRAPHVIZ_SVG = re.compile(r'<svg width="[\d.]+pt" height="[\d.]+pt"\s+viewBox="[^"]*"')   # what svg.py reads


@dataclass
class Layout:
    """One Graphviz layout: the SVG, and when asked, the coordinates (json)."""
    svg: str
    json: dict | None = None


def program(name: str = "dot") -> str:
    path = shutil.which(name)
    if path is None:
        raise GraphvizError(f"Graphviz is not installed (the `{name}` program was not found)",
                            hint=INSTALL_HINT)
    return path


def run(args: list[str], source: str, cwd: str | None = None) -> bytes:
    """Run a Graphviz program; however the run ends (an error, a timeout, a signal turned into an
    exception), the program is not left running."""
    process = None
    try:
        with uninterrupted():               # a started program is always recorded, so it can be stopped
            process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, cwd=cwd)
        stdout, stderr = process.communicate(source.encode(), timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"Graphviz took longer than {TIMEOUT_SECONDS} s and was stopped",
                            hint="draw fewer nodes (--frames none, or the layer view)") from None
    except OSError as exc:
        raise GraphvizError(f"Graphviz could not be run: {exc}", hint=INSTALL_HINT) from None
    finally:
        if process is not None:
            with uninterrupted():
                stop(process)
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise GraphvizError("Graphviz failed: " + (message[0] if message else f"exit status {process.returncode}"))
    return stdout


def stop(process: subprocess.Popen) -> None:
    """Kill the program if it still runs, wait for it, close its pipes."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def output(folder: Path, name: str, program_name: str = "dot") -> bytes:
    """A file Graphviz was asked to write: a run that exits 0 without it is a Graphviz failure."""
    try:
        data = (Path(folder) / name).read_bytes()
    except FileNotFoundError:
        data = b""
    if not data.strip():
        raise GraphvizError(f"Graphviz failed: `{program_name}` exited without error but wrote no {name}",
                            hint="check the Graphviz installation (`dot -V`)")
    return data


def text_output(folder: Path, name: str, program_name: str = "dot") -> str:
    try:
        return output(folder, name, program_name).decode("utf-8")
    except UnicodeDecodeError:
        raise GraphvizError(f"Graphviz failed: `{program_name}` wrote {name} that is not UTF-8 text",
                            hint="check the Graphviz installation (`dot -V`)") from None


def json_output(folder: Path, name: str) -> dict:
    text = text_output(folder, name)
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("bb"), str):
        raise GraphvizError(f"Graphviz failed: `dot` wrote {name} that is not a Graphviz JSON layout",
                            hint="check the Graphviz installation (`dot -V`)")
    return document


def layout(source: str, coordinates: bool = True) -> Layout:
    """The one layout of a graph: SVG, and json when asked, from one `dot` run."""
    dot = program("dot")
    outputs = [("svg", True), ("json", coordinates)]
    with scratch_folder() as tmp:
        args = [dot] + [a for fmt, wanted in outputs if wanted for a in (f"-T{fmt}", f"-olayout.{fmt}")]
        run(args, source, cwd=tmp)
        svg = text_output(tmp, "layout.svg")
        if not GRAPHVIZ_SVG.search(svg) or '<g id="graph0"' not in svg:
            raise GraphvizError("Graphviz failed: `dot` wrote layout.svg that is not a Graphviz SVG",
                                hint="check the Graphviz installation (`dot -V`)")
        return Layout(exact_scale(svg), json_output(tmp, "layout.json") if coordinates else None)


def render_positioned(sources: list[str], fmt: str, dpi: int | None = None) -> list[bytes]:
    """Render already laid-out graphs (`neato -n2`: no new layout) in one process."""
    neato = program("neato")
    args = [neato, "-n2", f"-T{fmt}", "-O"] + ([f"-Gdpi={dpi}"] if dpi else [])
    with scratch_folder() as tmp:
        (tmp / "g.dot").write_text("\n".join(sources), encoding="utf-8")
        run(args + ["g.dot"], "", cwd=tmp)
        names = ["g.dot." + fmt] + [f"g.dot.{i}.{fmt}" for i in range(2, len(sources) + 1)]
        return [output(tmp, n, "neato") for n in names]


SVG_HEIGHT = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
GRAPH_TRANSFORM = re.compile(r'(<g id="graph0" class="graph" transform=")scale\(([\d.]+) ([\d.]+)\)( rotate\(0\) '
                             r'translate\([\d.]+ [\d.]+\)">\n<title>[^<]*</title>\n<polygon [^>]*points=")([^"]*)"')


def exact_scale(svg: str) -> str:
    """A picture shrunk to a size (--slide) is scaled by Graphviz 2.42 with the factor rounded to
    two decimals (0.29 for 0.2863): the drawing overflows its own page by up to 2%, under the
    caption bar and past a PNG's edge. The page's outline (the first polygon) gives the exact
    factor: the SVG's size over the page's."""
    size, transform = SVG_HEIGHT.search(svg), GRAPH_TRANSFORM.search(svg)
    if not size or not transform or transform.group(2, 3) == ("1", "1"):      # not shrunk
        return svg
    xs, ys = zip(*(map(float, point.split(",")) for point in transform.group(5).split()))
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    if not span_x or not span_y:
        return svg
    sx, sy = float(size.group(1)) / span_x, float(size.group(2)) / span_y
    return svg[:transform.end(1)] + f"scale({sx:.6f} {sy:.6f})" + svg[transform.start(4):]

