"""Writing the pictures: graph.svg, frames, the GIF, PNG/PDF, a beamer snippet and the HTML player.

Everything is written into a staging folder (render/files.py) and moved into place only when
complete, so a failed run never leaves a half-written output folder.
"""
from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from ..errors import UserError
from ..graph import OP, Graph, has_gradient
from ..numfmt import fmt_number, fmt_value
from ..ops import OPS
from . import layout
from .files import staged_folder
from .latex import latex_escape
from .dot import DEFAULT_MAX_DRAWN, THEMES, Drawing, rank_spans, to_dot
from .frames import Frame, css_rules, frame_css, group_steps, part_classes, timeline
from .player import PlayerStep, player_html, steps_player_html
from .svg import svg_template, with_part_classes

SPANS_PER_DRAWN_NODE = 3    # rank spans per node of --max-draw: 2,500 → 7,500, a few seconds of dot
FIRST_MS, STEP_MS, LAST_MS = 1500, 1100, 3500


@dataclass
class RenderOptions:
    formats: tuple = ("svg",)          # of graph.* and frames: svg, png, pdf
    gif: bool = True
    frames: str = "auto"               # auto | per-gate | per-level | none
    html: bool = True
    theme: str = "light"
    transparent: bool = False
    rankdir: str = "LR"
    dpi: int = 110
    slide: bool = False
    title: str | None = None
    force: bool = False
    max_draw: int = DEFAULT_MAX_DRAWN
    worksheet: str | None = None       # grads | values | all: numbered blank boxes, and the key


@dataclass
class Rendered:
    folder: Path
    files: list[Path] = field(default_factory=list)
    frame_count: int = 0


@dataclass
class Scene:
    """What the renderer draws: a run graph, its steps and their captions (one per step), the
    nodes to mark as troubled, and the caption of the finished picture. The renderer computes
    none of these: it imports neither the evaluator nor the tracers nor the explainer."""
    graph: Graph
    steps: Sequence = ()
    captions: Sequence[str] = ()
    warned: set = field(default_factory=set)
    summary: str = ""
    label: str = ""             # which pass of a run this is, for the player's step slider
    grid: bool = False          # the grid view: matrices as number grids (render/grid.py)


def grid_writer() -> type:
    """The grid view's writer (grid.py), imported only when a grid is drawn."""
    from .grid import GridWriter
    return GridWriter


def render(scene: Scene, target: Path, options: RenderOptions) -> Rendered:
    return render_many([("", scene)], target, options)


def render_many(jobs: list[tuple[str, Scene]], target: Path, options: RenderOptions, extra=None) -> Rendered:
    """Draw each (subfolder, scene) job into one staging folder, then move it into place whole;
    `extra(folder)` may add files (plots) and returns their paths."""
    target = Path(target)
    one_player = options.html and len(jobs) > 1      # a training run: one page for all its steps
    with staged_folder(target, options.force) as staging:
        rendered, steps = Rendered(staging), []
        for sub, scene in jobs:
            (staging / sub).mkdir(exist_ok=True)
            one = write_all(scene, staging / sub, replace(options, html=options.html and not one_player),
                            steps if one_player else None)
            rendered.files += one.files
            rendered.frame_count += one.frame_count
        if steps:
            title = options.title or jobs[0][1].graph.source
            rendered.files.append(write_text(staging / "index.html", steps_player_html(title, steps, options.theme)))
        rendered.files += extra(staging) if extra else []
    rendered.folder = target
    rendered.files = [target / f.relative_to(staging) for f in rendered.files]
    return rendered


def check_drawable(graph: Graph, max_draw: int) -> None:
    """Refuse what Graphviz would take minutes on: too many nodes, or edges crossing too many
    ranks in all (a variable used all the way down a long graph)."""
    spans = rank_spans(graph)
    if len(graph.order) > max_draw:
        problem = f"the graph has {len(graph.order):,} nodes; drawing more than {max_draw:,}"
    elif spans > SPANS_PER_DRAWN_NODE * max_draw:
        problem = (f"the graph's edges cross {spans:,} ranks in all (an input used far down a long "
                   f"graph); drawing more than {SPANS_PER_DRAWN_NODE * max_draw:,}")
    else:
        return
    raise UserError(problem + " would keep Graphviz busy for minutes",
                    hint="use --no-render (numbers only), or raise --max-draw")


class Pictures:
    """Everything drawn from one layout: the finished picture and the frames. A frame is the one
    laid-out SVG plus its caption and a style block (frames.py): no new layout, no text edits."""

    def __init__(self, scene: Scene, options: RenderOptions):
        graph, steps = scene.graph, scene.steps
        self.graph, self.options = graph, options
        check_drawable(graph, options.max_draw)
        self.theme = THEMES[options.theme]
        self.warned = scene.warned
        self.grid = scene.grid
        self.drawing = self.dot()
        self.layout = layout.layout(self.drawing.source,                  # the one layout
                                    coordinates="pdf" in options.formats or bool(options.worksheet))
        groups = [] if options.frames == "none" else group_steps(graph, steps, options.frames)
        self.line = timeline(graph, self.drawing, steps, scene.captions, groups)
        self.frames = self.line.frames
        self.final = Frame(len(self.frames), scene.summary)
        classes = {id: part_classes(self.line, p) for id, p in self.drawing.parts.items()} if self.frames else {}
        self.svg_text = with_part_classes(self.layout.svg, classes)
        self.template = svg_template(self.svg_text, [f.caption for f in self.frames + [self.final]],
                                     self.theme, options.transparent, options.slide)
        self.rules = css_rules(self.theme)

    def svg_pieces(self, frame: Frame) -> list[str]:
        return self.template.frame(frame.caption, frame_css(self.rules, frame.index, len(self.frames)))

    def svg(self, frame: Frame) -> str:
        return "".join(self.svg_pieces(frame))

    def final_svg(self) -> str:
        return self.svg(self.final)

    def frame_svgs(self) -> "FrameSvgs":
        return FrameSvgs(self)

    def dot(self, **pinned) -> Drawing:
        """The picture's DOT (pinned: a frame's state_of, the layout's pins, a worksheet's marks)."""
        o = self.options
        return to_dot(self.graph, o.theme, o.rankdir, o.title, self.warned, o.slide, o.transparent,
                      writer=grid_writer() if self.grid else None, **pinned)

    @cached_property
    def picture(self):
        """The laid-out SVG read for painting (Pillow only when raster pictures are asked for)."""
        from .paint import Picture
        return Picture(self.svg_text, self.drawing.parts)

    def rasterizer(self, dpi: int):
        from .raster import Rasterizer
        return Rasterizer(self.picture, self.template, self.line, self.theme, dpi)


class FrameSvgs(Sequence):
    """The frames as SVG text, each made when asked for: a big graph's frames are never all in
    memory at once. The player reads the pictures behind them (one SVG and each frame's state)."""

    def __init__(self, pictures: Pictures):
        self.pictures = pictures

    def __len__(self) -> int:
        return len(self.pictures.frames)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.pictures.svg(self.pictures.frames[i])


def write_all(scene: Scene, folder: Path, options: RenderOptions, player_steps: list | None = None) -> Rendered:
    """graph.svg, frames, GIF, PNG/PDF and the player of one scene; with player_steps, the
    player's share of this scene is added there instead (one page for a whole run)."""
    pictures = Pictures(scene, options)
    if player_steps is not None and pictures.frames:
        player_steps.append(PlayerStep.of(pictures, scene.label))
    rendered = Rendered(folder, frame_count=len(pictures.frames))
    rendered.files.append(write_text(folder / "graph.svg", pictures.final_svg()))
    if pictures.frames:
        (folder / "frames").mkdir()
        rendered.files += [write_text(folder / "frames" / f"{f.index:03d}.svg", pictures.svg(f))
                           for f in progress(pictures.frames, "frames")]
    if (options.gif and pictures.frames) or "png" in options.formats:
        write_rasters(pictures, folder, rendered)
    if "pdf" in options.formats:
        write_pdfs(pictures, folder, rendered)
    if options.worksheet:
        write_worksheet(pictures, scene, folder, rendered)
    if options.html and pictures.frames:
        rendered.files.append(write_text(folder / "index.html",
                                         player_html(scene.graph.source, pictures.frame_svgs(), options.theme)))
    return rendered


def write_rasters(pictures: Pictures, folder: Path, rendered: Rendered) -> None:
    from .raster import GIF_MAX_PIXELS, MIN_GIF_DPI, PICTURE_MAX_PIXELS, fitted_dpi
    options = pictures.options
    if "png" in options.formats:
        dpi = fitted_dpi(pictures.template, options.dpi, PICTURE_MAX_PIXELS)
        if dpi < options.dpi:
            note(f"PNG pictures drawn at {dpi} dpi instead of {options.dpi} "
                 f"(at most {PICTURE_MAX_PIXELS / 1e6:g} million pixels a picture)")
        write_pngs(pictures, pictures.rasterizer(dpi), folder, rendered)
    if options.gif and pictures.frames:
        dpi = fitted_dpi(pictures.template, options.dpi, GIF_MAX_PIXELS)
        if dpi < MIN_GIF_DPI:
            note(f"no GIF: the graph is too big to read in one picture (it would be drawn at {dpi} dpi); "
                 "step through index.html or frames/ instead")
            return
        if dpi < options.dpi:
            note(f"GIF drawn at {dpi} dpi instead of {options.dpi} "
                 f"(at most {GIF_MAX_PIXELS / 1e6:g} million pixels a frame)")
        rendered.files.append(write_gif(pictures, pictures.rasterizer(dpi), folder / "backprop.gif"))


def write_gif(pictures: Pictures, rasterizer, path: Path) -> Path:
    """One palette for every frame, no dithering: text stays crisp, nothing flickers; frames
    go to the file one at a time."""
    from .raster import ALL_ACTIVE, ALL_KNOWN, BEFORE, GifWriter, gif_palette
    palette = gif_palette([rasterizer.look(name) for name in (BEFORE, ALL_KNOWN, ALL_ACTIVE)])
    rasterizer.use_palette(palette)
    count, writer = len(pictures.frames), None
    try:
        for i, frame in enumerate(progress(rasterizer.frames(), "GIF frames", count)):
            writer = writer or GifWriter(path, frame.size, palette, rasterizer.look(BEFORE).height)
            writer.add(frame, FIRST_MS if i == 0 else LAST_MS if i == count - 1 else STEP_MS)
    finally:
        if writer:
            writer.close()
    return path


def write_pngs(pictures: Pictures, rasterizer, folder: Path, rendered: Rendered) -> None:
    options = pictures.options
    frames = ((folder / "frames" / f"{i:03d}.png", im) for i, im in enumerate(rasterizer.frames()))
    images = itertools.chain([(folder / "graph.png", rasterizer.finished(pictures.final.caption))], frames)
    for path, image in progress(images, "PNG frames", len(pictures.frames) + 1):
        if options.transparent:
            image = see_through(image, pictures.theme.background)
        image.save(path, dpi=(rasterizer.dpi, rasterizer.dpi))
        rendered.files.append(path)


def note(text: str) -> None:
    """One line on stderr; `warning:` is the only kind of line stderr carries on success."""
    sys.stderr.write(f"warning: {text}\n")


def see_through(image, background: str):
    """The background colour made transparent, for slides of any colour."""
    import numpy as np
    from PIL import Image, ImageColor
    pixels = np.asarray(image.convert("RGBA")).copy()
    pixels[(pixels[..., :3] == ImageColor.getrgb(background)).all(axis=-1), 3] = 0
    return Image.fromarray(pixels, "RGBA")


def write_pdfs(pictures: Pictures, folder: Path, rendered: Rendered) -> None:
    """Vector PDFs: the DOT of each frame, in that frame's colours with every node and edge
    pinned where the one layout put them, drawn by `neato -n2` (no new layout) in one process."""
    pins = positions(pictures.layout.json)
    sources = [pictures.dot(state_of=lambda part, i=f.index: pictures.line.state(part, i), pins=pins).source
               for f in [pictures.final] + pictures.frames]
    pdfs = layout.render_positioned(sources, "pdf")
    rendered.files.append(write_bytes(folder / "graph.pdf", pdfs[0]))
    for i, pdf in enumerate(pdfs[1:]):
        rendered.files.append(write_bytes(folder / "frames" / f"{i:03d}.pdf", pdf))
    if pictures.frames:
        rendered.files.append(write_text(folder / "frames.tex", beamer_snippet(pictures.frames)))


WORKSHEET_KINDS = {"grads": ("grad", "sum"), "values": ("value",), "all": ("value", "grad", "sum")}


def write_worksheet(pictures: Pictures, scene: Scene, folder: Path, rendered: Rendered) -> None:
    """worksheet.svg/.pdf: the picture with numbered blank boxes where the chosen numbers go,
    in the order the passes find them; key.svg/.pdf: the same numbers filled in under their
    marks; answers.txt: the list. The one layout, pinned: the boxes are where the numbers are."""
    order = blank_order(pictures, scene, WORKSHEET_KINDS[pictures.options.worksheet])
    marks = {part: f"({k})" for k, part in enumerate(order, start=1)}
    pins = positions(pictures.layout.json)
    for name, blank in (("worksheet", True), ("key", False)):
        source = pictures.dot(pins=pins, marks=marks, blank=blank).source
        for fmt in ("svg", "pdf"):
            rendered.files.append(write_bytes(folder / f"{name}.{fmt}", layout.render_positioned([source], fmt)[0]))
    rendered.files.append(write_text(folder / "answers.txt", answer_lines(pictures, marks)))


def blank_order(pictures: Pictures, scene: Scene, kinds: tuple) -> list[str]:
    """The parts to blank, in the order a step-by-step pass makes them known; the inputs'
    own numbers (known from the start) and new parameter values stay."""
    line = timeline(pictures.graph, pictures.drawing, scene.steps, scene.captions,
                    [[i] for i in range(len(scene.steps))])
    data = {f"g{i}" for (u, _, _), i in pictures.drawing.edge_index.items()     # data, and gates of data
            if not has_gradient(pictures.graph, u)}
    chosen = [(line.known_at[p.id], p.id) for p in pictures.drawing.parts.values()   # (a target's edge
              if p.kind in kinds and p.id[0] in "vgs" and p.id not in data      # has no gradient)
              and line.known_at.get(p.id, 0) > 0]
    return [id for _, id in sorted(chosen + blank_grids(pictures, line, kinds))]


def blank_grids(pictures: Pictures, line, kinds: tuple) -> list[tuple[int, str]]:
    """The grid view: a whole grid is one numbered box (its cells left empty), a gate's values
    (x<i>) or a gradient (d<i>), found when its first number is."""
    found = []
    for n, grid in pictures.drawing.grids.items():
        for grad in (False, True):
            wanted = ("grad" in kinds and grad and grid.grad) or \
                ("value" in kinds and not grad and pictures.graph[n]["kind"] == OP)
            known = [line.known_at.get(c, 0) for c in grid.cell_ids(grad)] if wanted else []
            if known and min(known) > 0:
                found.append((min(known), grid.whole_id(grad)))
    return found


def answer_lines(pictures: Pictures, marks: dict[str, str]) -> str:
    """The key as text: `(3) ∂f/∂x along x → b: 2`."""
    graph, drawing = pictures.graph, pictures.drawing
    edges = {f"{letter}{i}": edge for edge, i in drawing.edge_index.items() for letter in "vg"}
    nodes = {drawing.sum_id(n): n for n in graph.order}
    grids = {grid.whole_id(grad): (n, grad) for n, grid in drawing.grids.items() for grad in (False, True)}
    out = graph.label(graph.output)
    lines = []
    for part, mark in marks.items():
        if part in grids:
            n, grad = grids[part]
            lines.append(f"{mark} ∂{out}/∂{graph.label(n)}: {every_number(graph[n]['grad'])}" if grad else
                         f"{mark} {graph.label(n)} = {formula(graph, n)}: {every_number(graph[n]['value'])}")
            continue
        if part in nodes:
            n = nodes[part]
            lines.append(f"{mark} ∂{out}/∂{graph.label(n)}, all paths added: {fmt_value(graph[n]['grad'])}")
            continue
        u, v, k = edges[part]
        where = f"{graph.label(u)} → {graph.label(v) if v else 'the output'}"
        if part[0] == "v":
            lines.append(f"{mark} value along {where}: {fmt_value(graph[u]['value'])}")
        else:
            grad = graph[u]["grad"] if v is None else graph.edge(u, v, k)["grad"]
            lines.append(f"{mark} ∂{out}/∂{graph.label(u)} along {where}: {fmt_value(grad)}")
    return "\n".join(lines) + "\n"


def formula(graph: Graph, n: str) -> str:
    """`maxpool(a)`: what a gate computes, from its arguments' names."""
    return OPS[graph[n]["op"]].text([graph.label(u) for u in graph.args[n]], graph[n]["p"])


def every_number(value) -> str:
    """A grid's numbers in nested brackets, however many (fmt_value summarises big ones)."""
    import numpy as np
    a = np.asarray(value, dtype=float)
    return fmt_number(a) if a.ndim == 0 else "[" + ", ".join(every_number(row) for row in a) + "]"


def positions(layout_json: dict) -> dict[str, str]:
    """Where the layout put each node (by name) and edge (by id), as DOT attributes."""
    pins = {"graph": f'bb="{layout_json["bb"]}"' + (f'; lp="{layout_json["lp"]}"' if "lp" in layout_json else "")}
    for node in layout_json.get("objects", []):
        if node.get("name", "").startswith("cluster_") and "bb" in node:    # a statement group's box
            pins[node["name"]] = f'bb="{node["bb"]}"' + (f'; lp="{node["lp"]}"' if "lp" in node else "")
        elif "pos" in node:
            pins[node["name"]] = f'pos="{node["pos"]}", width={node["width"]}, height={node["height"]}'
    for edge in layout_json.get("edges", []):
        if "id" in edge:
            pins[edge["id"]] = f'pos="{edge["pos"]}"' + "".join(f', {key}="{edge[key]}"' for key in ("lp", "xlp")
                                                                 if key in edge)
    return pins


def beamer_snippet(frames: list[Frame]) -> str:
    """One overlay per frame: \\input{frames.tex} inside a beamer frame steps through them."""
    lines = ["% nngraph: one overlay per step. Use inside a beamer frame: \\input{frames.tex}",
             "% (graphicx is loaded by beamer; keep frames/ beside this file)"]
    for i, frame in enumerate(frames, start=1):
        lines.append(f"\\only<{i}>{{\\includegraphics[width=\\linewidth,height=0.75\\textheight,"
                     f"keepaspectratio]{{frames/{i - 1:03d}.pdf}}\\\\[2pt]")
        lines.append(f"  \\footnotesize {latex_escape(frame.caption)}}}")
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def progress(items, what: str, total: int | None = None):
    """A progress line on a terminal for long renders; silent otherwise."""
    total = len(items) if total is None else total
    if total < 200 or not sys.stderr.isatty():
        yield from items
        return
    for i, item in enumerate(items, start=1):
        if i % 20 == 0 or i == total:
            sys.stderr.write(f"\r{what}: {i}/{total}")
        yield item
    sys.stderr.write("\n")
