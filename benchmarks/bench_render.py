"""Render benchmark: prints figures and ratios measured in one run (see shared/PERFORMANCE.md).

    python benchmarks/bench_render.py [--quick]

1. The flagship command with all default outputs against the floor
   (`python -c "import networkx, numpy, PIL.Image"` plus one `dot -Tsvg -Tpng` of the same graph).
2. Time per frame against the time of the one layout, for graphs of ~50, ~500 and ~2,000 nodes.
3. Our whole render of a ~2,000-node graph against `dot -Tsvg` alone on the same DOT.
4. The flagship GIF's size.
"""
from __future__ import annotations

import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import graphviz_nn
from graphviz_nn.render import layout as graphviz
from graphviz_nn.render.export import Pictures, RenderOptions

FLAGSHIP = ["x**2+x*y+(x+y)**2", "--at", "x=1,y=2"]


def median_time(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def compile_package() -> None:
    """Bytecode for our modules, as any installed package has (numpy's and networkx's are
    compiled at install; PYTHONDONTWRITEBYTECODE would otherwise make us compile every run)."""
    compileall.compile_dir(Path(graphviz_nn.__file__).parent, quiet=1)


def flagship_against_floor(repeat: int, tmp: Path) -> None:
    compile_package()
    dot_source = graphviz_nn.trace(FLAGSHIP[0], x=1, y=2).pictures(frames="none").drawing.source
    (tmp / "flagship.dot").write_text(dot_source)
    nngraph = [sys.executable, "-m", "graphviz_nn"] + FLAGSHIP + ["-o", str(tmp / "out"), "--force"]
    imports = median_time(lambda: run([sys.executable, "-c", "import networkx, numpy, PIL.Image"]), repeat)
    dot = median_time(lambda: run(["dot", "-Tsvg", "-o", str(tmp / "f.svg"), "-Tpng", "-o",
                                   str(tmp / "f.png"), str(tmp / "flagship.dot")]), repeat)
    ours = median_time(lambda: run(nngraph), repeat)
    floor = imports + dot
    print("1. flagship, all default outputs (graph.svg, 16 frames, GIF, player)")
    print(f"   floor: imports {imports * 1e3:.0f} ms + one dot -Tsvg -Tpng {dot * 1e3:.1f} ms "
          f"= {floor * 1e3:.0f} ms")
    print(f"   nngraph end to end: {ours * 1e3:.0f} ms   ratio {ours / floor:.2f} × floor (goal ≤ 1.5)")
    gif = tmp / "out" / "backprop.gif"
    print(f"4. flagship GIF: {gif.stat().st_size / 1024:.0f} KiB (goal well under 1 MiB)")


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


def frames_against_layout(size: int, repeat: int) -> None:
    result = graphviz_nn.trace(layered_network(size))
    nodes = len(result.graph.order)
    start = time.perf_counter()
    pictures = Pictures(result.scene(), RenderOptions(frames="per-gate"))
    setup = time.perf_counter() - start
    layout_time = median_time(lambda: graphviz.layout(pictures.drawing.source), max(1, repeat // 2))
    sample = pictures.frames[:: max(1, len(pictures.frames) // 40)]
    per_frame = median_time(lambda: [pictures.svg(f) for f in sample], repeat) / len(sample)
    print(f"   {nodes:5d} graph nodes, {len(pictures.frames):5d} frames: layout {layout_time * 1e3:8.1f} ms, "
          f"SVG frame {per_frame * 1e3:6.2f} ms = {per_frame / layout_time * 100:5.2f} % of the layout "
          f"(setup incl. layout {setup * 1e3:.0f} ms)")
    return result, pictures


def render_against_dot(result, pictures, repeat: int, tmp: Path) -> None:
    (tmp / "big.dot").write_text(pictures.drawing.source)
    dot_alone = median_time(lambda: run(["dot", "-Tsvg", "-o", str(tmp / "big.svg"), str(tmp / "big.dot")]),
                            repeat)
    ours = median_time(lambda: result.svg(), repeat)
    print(f"3. {len(result.graph.order)}-node graph: our render (DOT + layout + picture) {ours * 1e3:.0f} ms, "
          f"dot -Tsvg alone {dot_alone * 1e3:.0f} ms, ratio {ours / dot_alone:.2f} (goal ≤ 1.2)")


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        flagship_against_floor(repeat, tmp)
        print("2. time per frame against the one layout")
        last = None
        for size in (50, 500, 2000):
            last = frames_against_layout(size, repeat)
        render_against_dot(*last, max(1, repeat // 2), tmp)


if __name__ == "__main__":
    main()
