"""Writing the pictures: graph.svg, frames, the GIF, PNG/PDF, a beamer snippet and the HTML player.

Everything is written into a staging folder (render/files.py) and moved into place only when
complete, so a failed run never leaves a half-written output folder.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..graph import Graph
from . import layout
from .files import staged_folder
from .dot import DEFAULT_MAX_DRAWN, THEMES, rank_spans, to_dot
from .frames import (Frame, colour_map, final_frame, frame_states, group_steps, recolour,
                     svg_frame, svg_template)
from .player import player_html

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


def render(scene: Scene, target: Path, options: RenderOptions) -> Rendered:
    return render_many([("", scene)], target, options)


def render_many(jobs: list[tuple[str, Scene]], target: Path, options: RenderOptions, extra=None) -> Rendered:
    """Draw each (subfolder, scene) job into one staging folder, then move it into place whole;
    `extra(folder)` may add files (plots) and returns their paths."""
    target = Path(target)
    with staged_folder(target, options.force) as staging:
        rendered = Rendered(staging)
        for sub, scene in jobs:
            (staging / sub).mkdir(exist_ok=True)
            one = write_all(scene, staging / sub, options)
            rendered.files += one.files
            rendered.frame_count += one.frame_count
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
                    hint="use --no-render (numbers only) or --json, or raise --max-draw")


class Pictures:
    """Everything drawn from one layout: the final picture and the frames, as SVG text."""

    def __init__(self, scene: Scene, options: RenderOptions):
        graph, steps = scene.graph, scene.steps
        self.graph, self.options = graph, options
        check_drawable(graph, options.max_draw)
        self.theme = THEMES[options.theme]
        self.warned = scene.warned
        self.drawing = to_dot(graph, options.theme, options.rankdir, options.title, self.warned,
                              options.slide, options.transparent)
        rasters = (options.gif and options.frames != "none") or "png" in options.formats
        self.layout = layout.layout(self.drawing.source, coordinates=rasters,     # the one layout
                                      positioned="pdf" in options.formats)
        self.frames = [] if options.frames == "none" else \
            frame_states(graph, self.drawing, steps, scene.captions, group_steps(graph, steps, options.frames))
        self.final = final_frame(self.drawing, scene.summary)
        self.template = svg_template(self.layout.svg, [f.caption for f in self.frames + [self.final]])

    def svg(self, frame: Frame) -> str:
        mapping = colour_map(self.drawing, frame, self.theme, self.warned, "none")
        return svg_frame(self.template, mapping, frame.caption, self.theme, self.options.transparent)

    def final_svg(self) -> str:
        return self.svg(self.final)

    def frame_svgs(self) -> list[str]:
        return [self.svg(f) for f in progress(self.frames, "frames")]

    def rasterizer(self):
        from .raster import Rasterizer      # Pillow only when raster pictures are asked for
        first = self.frames[0] if self.frames else self.final
        return Rasterizer(self.layout, self.drawing, first, self.theme, self.warned,
                          self.template, self.options.dpi)


def write_all(scene: Scene, folder: Path, options: RenderOptions) -> Rendered:
    pictures = Pictures(scene, options)
    rendered = Rendered(folder, frame_count=len(pictures.frames))
    rendered.files.append(write_text(folder / "graph.svg", pictures.final_svg()))
    frame_svgs = pictures.frame_svgs()
    if frame_svgs:
        (folder / "frames").mkdir()
        rendered.files += [write_text(folder / "frames" / f"{i:03d}.svg", svg)
                           for i, svg in enumerate(frame_svgs)]
    if (options.gif and frame_svgs) or "png" in options.formats:
        write_rasters(pictures, folder, rendered)
    if "pdf" in options.formats:
        write_pdfs(pictures, folder, rendered)
    if options.html and frame_svgs:
        rendered.files.append(write_text(folder / "index.html",
                                         player_html(scene.graph.source, frame_svgs, options.theme)))
    return rendered


def write_rasters(pictures: Pictures, folder: Path, rendered: Rendered) -> None:
    from .raster import write_gif
    options = pictures.options
    rasterizer = pictures.rasterizer()
    images = [rasterizer.frame(f) for f in progress(pictures.frames, "raster frames")]
    if options.gif and images:
        durations = [STEP_MS] * len(images)
        durations[0], durations[-1] = FIRST_MS, LAST_MS
        path = folder / "backprop.gif"
        write_gif(images, path, durations, rasterizer.variant_images())
        rendered.files.append(path)
    if "png" in options.formats:
        for path, image in [(folder / "graph.png", rasterizer.frame(pictures.final))] + \
                [(folder / "frames" / f"{i:03d}.png", im) for i, im in enumerate(images)]:
            if options.transparent:
                image = see_through(image, pictures.theme.background)
            image.save(path, dpi=(options.dpi, options.dpi))
            rendered.files.append(path)


def see_through(image, background: str):
    """The background colour made transparent, for slides of any colour."""
    import numpy as np
    from PIL import Image, ImageColor
    pixels = np.asarray(image.convert("RGBA")).copy()
    pixels[(pixels[..., :3] == ImageColor.getrgb(background)).all(axis=-1), 3] = 0
    return Image.fromarray(pixels, "RGBA")


def write_pdfs(pictures: Pictures, folder: Path, rendered: Rendered) -> None:
    """Vector PDFs from the positioned DOT (no new layout), all in one Graphviz process."""
    sources = [recolour(pictures.layout.positioned_dot,
                        colour_map(pictures.drawing, f, pictures.theme, pictures.warned, "transparent"))
               for f in [pictures.final] + pictures.frames]
    pdfs = layout.render_positioned(sources, "pdf")
    rendered.files.append(write_bytes(folder / "graph.pdf", pdfs[0]))
    for i, pdf in enumerate(pdfs[1:]):
        rendered.files.append(write_bytes(folder / "frames" / f"{i:03d}.pdf", pdf))
    if pictures.frames:
        rendered.files.append(write_text(folder / "frames.tex", beamer_snippet(pictures.frames)))


def beamer_snippet(frames: list[Frame]) -> str:
    """One overlay per frame: \\input{frames.tex} inside a beamer frame steps through them."""
    lines = ["% nngraph: one overlay per step. Use inside a beamer frame: \\input{frames.tex}",
             "% (graphicx is loaded by beamer; keep frames/ beside this file)"]
    for i, frame in enumerate(frames, start=1):
        lines.append(f"\\only<{i}>{{\\includegraphics[width=\\linewidth,height=0.75\\textheight,"
                     f"keepaspectratio]{{frames/{i - 1:03d}.pdf}}\\\\[2pt]")
        lines.append(f"  \\footnotesize {latex_escape(frame.caption)}}}")
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
                    "∂": r"$\partial$", "·": r"$\cdot$", "σ": r"$\sigma$", "−": r"$-$", "×": r"$\times$",
                    "→": r"$\to$", "←": r"$\leftarrow$", "ᵀ": r"$^\top$", "²": r"$^2$", "‖": r"$\|$",
                    "≤": r"$\le$", "≥": r"$\ge$", "Σ": r"$\Sigma$", "η": r"$\eta$", "δ": r"$\delta$",
                    "ŷ": r"$\hat y$", "÷": r"$\div$", "…": r"\dots{}"}
    return "".join(replacements.get(ch, ch) for ch in text)


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def progress(items: list, what: str):
    """A progress line on a terminal for long renders; silent otherwise."""
    if len(items) < 200 or not sys.stderr.isatty():
        yield from items
        return
    for i, item in enumerate(items, start=1):
        if i % 20 == 0 or i == len(items):
            sys.stderr.write(f"\r{what}: {i}/{len(items)}")
        yield item
    sys.stderr.write("\n")
