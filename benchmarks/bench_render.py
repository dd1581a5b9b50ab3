"""Render benchmark: prints figures and ratios measured in one run (see shared/PERFORMANCE.md).

    python benchmarks/bench_render.py [--quick]

1. The flagship command with all default outputs against the floor
   (`python -c "import networkx, numpy, PIL.Image"` plus one `dot -Tsvg -Tpng` of the same graph).
2. Time per SVG frame for graphs of ~50, ~500 and ~2,000 nodes (default frame policy).
3. Our render of a ~2,000-node graph (DOT + layout + picture) against `dot -Tsvg` alone on the
   same DOT, interleaved; wall and CPU (user + sys, ours and our children) ratios.
4. Peak RSS of a default render of the ~2,000-node graph, in a subprocess; its index.html
   against its graph.svg.
5. GIF sizes: the flagship's, a ~500-node graph's.
Pairs are timed alternately and the median of each taken: this machine's load drifts.
"""
from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import graphviz_nn
from graphviz_nn.render.export import Pictures, RenderOptions, render

FLAGSHIP = ["x**2+x*y+(x+y)**2", "--at", "x=1,y=2"]
RENDER_IN_A_SUBPROCESS = """
import resource, sys
sys.path.insert(0, {here!r})
from bench_render import layered_network
import graphviz_nn
result = graphviz_nn.trace(layered_network({nodes}))
result.render({out!r})
mb = lambda who: resource.getrusage(who).ru_maxrss / 1024
print(mb(resource.RUSAGE_SELF), mb(resource.RUSAGE_CHILDREN))
"""


def timed(action) -> tuple[float, float]:
    """(wall, cpu) seconds of one call; cpu counts this process and the children it waited for."""
    before, start = os.times(), time.perf_counter()
    action()
    wall, after = time.perf_counter() - start, os.times()
    cpu = sum(after[i] - before[i] for i in range(4))        # user, sys, children's user, sys
    return wall, cpu


def interleaved(actions: dict, repeat: int) -> dict[str, tuple[float, float]]:
    """Each action timed `repeat` times, alternating between them: medians of (wall, cpu)."""
    times = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            times[name].append(timed(action))
    return {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
            for name, t in times.items()}


def run(args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def compile_package() -> None:
    """Bytecode for our modules, as any installed package has (numpy's and networkx's are
    compiled at install; PYTHONDONTWRITEBYTECODE would otherwise make us compile every run)."""
    compileall.compile_dir(Path(graphviz_nn.__file__).parent, quiet=1)


def ratio_line(ours: tuple, theirs: tuple) -> str:
    return f"wall {ours[0] / theirs[0]:.2f} ×, CPU {ours[1] / theirs[1]:.2f} ×"


def flagship_against_floor(repeat: int, tmp: Path) -> None:
    compile_package()
    dot_source = graphviz_nn.trace(FLAGSHIP[0], x=1, y=2).pictures(frames="none").drawing.source
    (tmp / "flagship.dot").write_text(dot_source)
    nngraph = [sys.executable, "-m", "graphviz_nn"] + FLAGSHIP + ["-o", str(tmp / "out"), "--force"]
    floor_imports = [sys.executable, "-c", "import networkx, numpy, PIL.Image"]
    floor_dot = ["dot", "-Tsvg", "-o", str(tmp / "f.svg"), "-Tpng", "-o", str(tmp / "f.png"),
                 str(tmp / "flagship.dot")]
    t = interleaved({"floor": lambda: (run(floor_imports), run(floor_dot)), "ours": lambda: run(nngraph)},
                    repeat)
    print("1. flagship, all default outputs (graph.svg, 16 frames, GIF, player)")
    print(f"   floor (imports + one dot -Tsvg -Tpng): {t['floor'][0] * 1e3:.0f} ms;  "
          f"nngraph end to end: {t['ours'][0] * 1e3:.0f} ms")
    print(f"   ratio to the floor: {ratio_line(t['ours'], t['floor'])} (goal ≤ 1.0)")
    pictures = graphviz_nn.trace(FLAGSHIP[0], x=1, y=2).pictures()
    from graphviz_nn.render.export import write_gif
    gif = median_of(lambda: write_gif(pictures, pictures.rasterizer(pictures.options.dpi), tmp / "g.gif"), repeat)
    print(f"   GIF path (paint, palette, 16 frames streamed): {gif * 1e3:.0f} ms")
    return (tmp / "out" / "backprop.gif").stat().st_size


def median_of(action, repeat: int) -> float:
    return statistics.median(timed(action)[0] for _ in range(repeat))


def layered_network(nodes: int, width: int = 8):
    """Layers of sigmoid(a·u + b·v) over neighbours in the layer before, written with var():
    about `nodes` graph nodes (shared subexpressions stay shared, as in a real network)."""
    layer = [graphviz_nn.var(f"x{i}", 0.1 * (i + 1)) for i in range(width)]
    for depth in range(max(1, (nodes - width) // (4 * width))):
        layer = [(0.5 + 0.1 * (j % 3)) * layer[j] - 0.4 * layer[(j + 1) % width]
                 for j in range(width)]
        layer = [v.sigmoid() for v in layer]
    total = layer[0]
    for v in layer[1:]:
        total = total + v
    return total


def frame_time(size: int, repeat: int):
    result = graphviz_nn.trace(layered_network(size))
    start = time.perf_counter()
    pictures = Pictures(result.scene(), RenderOptions())
    setup = time.perf_counter() - start
    sample = pictures.frames[:: max(1, len(pictures.frames) // 40)]
    pieces = median_of(lambda: [pictures.svg_pieces(f) for f in sample], repeat) / len(sample)
    text = median_of(lambda: [pictures.svg(f) for f in sample], repeat) / len(sample)
    print(f"   {len(result.graph.order):5d} graph nodes, {len(pictures.frames):4d} frames: a frame "
          f"{pieces * 1e3:6.3f} ms (as one string {text * 1e3:6.3f} ms); "
          f"layout and setup {setup * 1e3:6.0f} ms")
    return result, pictures


def render_against_dot(result, pictures, repeat: int, tmp: Path) -> None:
    (tmp / "big.dot").write_text(pictures.drawing.source)
    t = interleaved({"dot": lambda: run(["dot", "-Tsvg", "-o", str(tmp / "big.svg"), str(tmp / "big.dot")]),
                     "ours": lambda: result.svg()}, repeat)
    print(f"3. {len(result.graph.order)}-node graph: our render (DOT + layout + picture) "
          f"{t['ours'][0] * 1e3:.0f} ms, dot -Tsvg alone {t['dot'][0] * 1e3:.0f} ms")
    print(f"   ratio: {ratio_line(t['ours'], t['dot'])} (goal ≤ 1.2), medians of {repeat} interleaved runs")


def default_render_in_a_subprocess(nodes: int, out: Path) -> tuple[float, float]:
    script = RENDER_IN_A_SUBPROCESS.format(here=str(Path(__file__).parent), nodes=nodes, out=str(out))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    python_mb, children_mb = (float(v) for v in done.stdout.split())
    return python_mb, children_mb


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        # first, while this process is small: a child's ru_maxrss counts its parent's at the fork
        python_mb, dot_mb = default_render_in_a_subprocess(2000, tmp / "big")
        default_render_in_a_subprocess(500, tmp / "mid")
        flagship_gif = flagship_against_floor(repeat, tmp)
        print("2. time per SVG frame (default frame policy)")
        last = None
        for size in (50, 500, 2000):
            last = frame_time(size, repeat)
        render_against_dot(*last, max(3, repeat // 2), tmp)
        html, svg = ((tmp / "big" / name).stat().st_size for name in ("index.html", "graph.svg"))
        print(f"4. default render of {len(last[0].graph.order)} nodes: peak RSS {python_mb:.0f} MB "
              f"(python), {dot_mb:.0f} MB (dot, its child); goal ≤ 500 MB")
        print(f"   index.html {html / 1e6:.2f} MB = {html / svg:.2f} × graph.svg ({svg / 1e6:.2f} MB); "
              f"goal ≤ 2 × graph.svg + captions")
        mid = tmp / "mid" / "backprop.gif"
        print(f"5. GIF: flagship {flagship_gif / 1024:.0f} KiB (goal ≤ 150 KB); "
              f"500 nodes {mid.stat().st_size / 1024:.0f} KiB (goal ≤ 1 MB)")


if __name__ == "__main__":
    main()
