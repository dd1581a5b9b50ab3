"""Layout benchmark: how the unrolled (grouped) pictures fit a 16:9 slide.

    python benchmarks/bench_layout.py [OUT_DIR] [--only SUBSTRING]

Renders every example with time-step groups (recurrent specs in the layer view and with --expand,
the programs with `## t = …` groups) as SVG and PNG into OUT_DIR (default /tmp/bench_layout) and
prints for each: the picture's width × height in points, its aspect (16:9 = 1.78), the scale
--slide would apply to the text (min(960/width, 540/height)), the staircase (the largest
difference between the vertical centres of the step boxes) and where the shared weights sit
(how many lie above or left of the first step's box, of how many)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NNGRAPH = str(ROOT / ".venv" / "bin" / "nngraph")
SLIDE = (960.0, 540.0)           # points: 13.33 × 7.5 in

CASES = [
    ("spec 48 rnn", "examples/nets/48_rnn.toml", []),
    ("spec 48 rnn --expand", "examples/nets/48_rnn.toml", ["--expand"]),
    ("spec 50 bi-rnn", "examples/nets/50_bidirectional_rnn.toml", []),
    ("spec 50 bi-rnn --expand", "examples/nets/50_bidirectional_rnn.toml", ["--expand"]),
    ("spec 52 lstm", "examples/nets/52_lstm.toml", []),
    ("spec 52 lstm --expand", "examples/nets/52_lstm.toml", ["--expand"]),
    ("spec 52 gru", "examples/nets/52_gru.toml", []),
    ("spec 52 gru --expand", "examples/nets/52_gru.toml", ["--expand"]),
    ("spec 48 rnn neurons", "examples/nets/48_rnn.toml", ["--view", "neurons"]),
    ("spec 50 bi-rnn neurons", "examples/nets/50_bidirectional_rnn.toml", ["--view", "neurons"]),
    ("spec 52 lstm neurons", "examples/nets/52_lstm.toml", ["--view", "neurons"]),
    ("spec 52 gru neurons", "examples/nets/52_gru.toml", ["--view", "neurons"]),
    ("prog 48 unrolled", "examples/programs/48_rnn_unrolled.nn", []),
    ("prog 50 cell", "examples/programs/50_rnn_cell.nn", []),
    ("prog 50 bidirectional", "examples/programs/50_bidirectional.nn", []),
    ("prog 51 peephole", "examples/programs/51_peephole_lstm.nn", []),
    ("prog 51 peephole stmts", "examples/programs/51_peephole_lstm.nn", ["--view", "statements"]),
    ("prog 52 lstm", "examples/programs/52_lstm.nn", []),
    ("prog 52 gru", "examples/programs/52_gru.nn", []),
]

SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
TRANSLATE = re.compile(r'class="graph" transform="[^"]*translate\(([-\d.]+) ([-\d.]+)\)')
CLUSTER = re.compile(r'<g id="group\d+" class="cluster">\s*<title>[^<]*</title>\s*<path[^>]* d="([^"]+)"/>'
                     r'\s*<text[^>]*>([^<]*)</text>')
NODE = re.compile(r'<g id="(n\d+|e\d+)" class="node">\s*<title>[^<]*</title>(.*?)</g>', re.S)
EDGE = re.compile(r'<title>(\w+)(?::\w+)?&#45;&gt;(\w+)(?::\w+)?</title>')
SHAPE = re.compile(r'\s(?:points|d)="([^"]+)"|cx="([-\d.]+)" cy="([-\d.]+)" rx="([\d.]+)" ry="([\d.]+)"')
POINTS = re.compile(r"(-?[\d.]+),(-?[\d.]+)")


def box(d: str) -> tuple[float, float, float, float]:
    xs, ys = zip(*((float(x), float(y)) for x, y in POINTS.findall(d)))
    return min(xs), min(ys), max(xs), max(ys)


def shape_box(body: str) -> tuple[float, float, float, float] | None:
    m = SHAPE.search(body)
    if not m:
        return None
    if m.group(1):
        return box(m.group(1))
    cx, cy, rx, ry = map(float, m.group(2, 3, 4, 5))
    return cx - rx, cy - ry, cx + rx, cy + ry


def measure(svg: str) -> dict:
    """Size, aspect, slide scale, staircase, and the shared weights: nodes outside the step boxes
    with an edge (through its label node) into two or more steps."""
    width, height = map(float, SIZE.search(svg).groups())
    clusters = sorted((box(d) for d, _ in CLUSTER.findall(svg)), key=lambda b: b[0])
    centres = [(b[1] + b[3]) / 2 for b in clusters]
    boxes = {name: b for name, body in NODE.findall(svg) if (b := shape_box(body))}
    inside = lambda b: next((i for i, c in enumerate(clusters) if b[0] >= c[0] - 1 and b[2] <= c[2] + 1
                             and b[1] >= c[1] - 1 and b[3] <= c[3] + 1), None)
    step_of = {n: inside(b) for n, b in boxes.items() if n.startswith("n")}
    heads: dict[str, list[str]] = {}
    for tail, head in EDGE.findall(svg):
        heads.setdefault(tail, []).append(head)
    def steps_reached(n: str) -> set:
        ends = [h for e in heads.get(n, []) for h in (heads.get(e, []) if e.startswith("e") else [e])]
        return {step_of.get(h) for h in ends} - {None}
    weights = [n for n, s in step_of.items() if s is None and len(steps_reached(n)) >= 2]
    first = clusters[0] if clusters else None
    above = sum(boxes[n][3] <= first[1] + 1 or boxes[n][2] <= first[0] + 1 for n in weights) if first else 0
    return {"width": width, "height": height, "aspect": width / height,
            "scale": min(SLIDE[0] / width, SLIDE[1] / height),
            "stair": max(centres) - min(centres) if centres else 0.0, "steps": len(clusters),
            "weights": len(weights), "above": above}


def render(name: str, source: str, extra: list[str], out: Path) -> dict:
    folder = out / re.sub(r"\W+", "_", name).strip("_")
    draw = ["--draw", "1"] if source.endswith(".toml") else []
    subprocess.run([NNGRAPH, source, *extra, *draw, "--format", "svg,png", "--no-frames",
                    "-o", str(folder), "--force"], cwd=ROOT, check=True, capture_output=True)
    return measure((folder / "graph.svg").read_text())


def main(argv: list[str]) -> None:
    only = argv[argv.index("--only") + 1] if "--only" in argv else ""
    rest = [a for i, a in enumerate(argv) if a != "--only" and (i == 0 or argv[i - 1] != "--only")]
    out = Path(rest[0]) if rest else Path("/tmp/bench_layout")
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'example':26} {'width×height pt':>17} {'aspect':>6} {'slide':>6} {'stair':>6} {'weights above':>13}")
    for name, source, extra in CASES:
        if only not in name:
            continue
        m = render(name, source, extra, out)
        print(f"{name:26} {m['width']:8.0f}×{m['height']:<8.0f} {m['aspect']:6.2f} {m['scale']:6.2f} "
              f"{m['stair']:6.0f} {m['above']:>6}/{m['weights']}")


if __name__ == "__main__":
    main(sys.argv[1:])
