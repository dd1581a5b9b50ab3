"""The Python API a notebook user reaches for: `trace("x**2+x*y", x=1, y=2)` and `var("x", 1.0)`."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np

from . import engine
from .explain import diagnostics, paths, report
from .explain.captions import Captions
from .errors import UserError
from .graph import Graph, paused_cycle_collector
from .trace.builder import DEFAULT_MAX_NODES, GraphBuilder
from .trace.expr import MAX_LENGTH
from .trace.program import trace_source
from .trace.statements import statement_graph
from .trace.var import Var, trace_value


@dataclass(repr=False)
class Trace:
    """A traced and run graph: its value, every gradient, the steps, and how to show them.

    t.value, t.grad (by variable name), t.graph (the IR, t.graph.nx for networkx), t.steps (the
    numbers of each step), t.captions (each step in words), t.table(), t.explain("x"),
    t.diagnostics(), t.to_json(); pictures: t.svg(), t.render(folder), t.player(), t.to_graphviz().
    Picture options are those of the command line: theme, rankdir, dpi, slide, transparent,
    frames ("auto" | "per-gate" | "per-level" | "none"), format or formats ("svg", "png", "pdf"),
    worksheet, and view="grid" (matrices as number grids, conv and pool gates window by window)."""
    graph: Graph
    steps: list = field(default_factory=list)

    @cached_property
    def captions(self) -> Captions:
        return Captions(self.graph, self.steps)

    @property
    def value(self) -> np.ndarray:
        return self.graph[self.graph.output]["value"]

    @property
    def grad(self) -> dict[str, np.ndarray]:
        return {self.graph.label(n): self.graph[n]["grad"] for n in self.graph.variables()}

    def __repr__(self) -> str:
        """One line: the source, the output and each gradient (print(t.table()) shows every node)."""
        text = report.clip(self.graph.source or self.graph.label(self.graph.output), 60)
        return f"<Trace {text}: " + ", ".join(report.gradient_lines(self.graph, short=True)) + ">"

    def explain(self, variable: str) -> str:
        """∂out/∂variable as the sum over all paths of the products of local derivatives."""
        return "\n".join(paths.explain_paths(self.graph, variable))

    def diagnostics(self) -> list:
        """nan/inf, dead ReLUs, saturated gates, vanishing or exploding gradients."""
        return diagnostics.diagnostics(self.graph)

    def to_dict(self) -> dict:
        """The JSON document of the command line's --json, as Python objects."""
        return report.document(self.graph.source, self.graph.kind, [report.graph_pass(self.graph)])

    def to_json(self) -> str:
        return report.dumps(self.to_dict())

    def table(self) -> str:
        """The node table the command line prints: each node, its value and gradient."""
        return "\n".join(report.node_table(self.graph))

    def pictures(self, **options):
        from .render.export import Pictures
        return Pictures(*self.scene_and_options(options))

    def scene_and_options(self, options: dict):
        """The scene in the view asked for (view=…) and the other picture options."""
        options = dict(options)
        return self.scene(options.pop("view", None)), render_options(options)

    def scene(self, view: str | None = None):
        """What the renderer draws; view="grid": the grid view (refused where nothing is a matrix)."""
        return report.scene(self.graph, self.steps, self.captions, grid=grid_view(self.graph, view))

    def svg(self, **options) -> str:
        """The finished picture (every value and gradient) as SVG text."""
        return self.pictures(**{**options, "frames": "none"}).final_svg()

    def _repr_svg_(self) -> str:          # Jupyter shows a traced result as its picture
        return self.svg()

    def player(self, **options) -> "Player":
        """The step-by-step HTML player, shown inline in Jupyter; .html is the whole page."""
        from .render.player import player_html
        pictures = self.pictures(**options)
        return Player(player_html(self.graph.source, pictures.frame_svgs(), pictures.options.theme))

    def to_graphviz(self, **options):
        """The finished picture as a `graphviz.Source` (the graphviz package's own object, as
        torchviz and micrograd users know it): .render(), .pipe(format="png"), .source, and shown
        in Jupyter. Picture options as for render(); the first of `formats` is its format."""
        import graphviz
        from .render.dot import to_dot
        from .render.grid import GridWriter
        scene, o = self.scene_and_options(options)
        drawing = to_dot(scene.graph, o.theme, o.rankdir, o.title, scene.warned, o.slide, o.transparent,
                         writer=GridWriter if scene.grid else None)
        return graphviz.Source(drawing.source, format=o.formats[0])

    def render(self, folder, **options):
        """Write graph.svg, frames, GIF and player to folder, as the command line does."""
        from .render.export import render
        scene, render_opts = self.scene_and_options(options)
        return render(scene, folder, render_opts)


@dataclass(frozen=True)
class Player:
    """The player page; Jupyter shows it in an iframe of its own, so its keys stay its own."""
    html: str

    def _repr_html_(self) -> str:
        import html
        return f'<iframe srcdoc="{html.escape(self.html)}" style="width:100%;height:520px;border:0"></iframe>'


def grid_view(graph: Graph, view: str | None) -> bool:
    """Whether to draw the grid view: view is None (the ordinary picture) or "grid"; the grid view
    of a graph with no matrix to draw as a grid is refused, as the command line refuses it."""
    if view is None:
        return False
    if view != "grid":
        raise UserError(f"unknown view {view!r} for a formula or program",
                        hint='use view="grid" (matrices as number grids), or leave it out; '
                             "--view layers and neurons are network specs' views")
    from .render.grid import GRID_MAX_CELLS, GRID_MAX_SIDE, has_grids
    if not has_grids(graph):
        raise UserError("--view grid draws matrices as number grids, and this graph has none: its values are "
                        f"numbers, vectors, or matrices over {GRID_MAX_SIDE} rows or columns or "
                        f"{GRID_MAX_CELLS} numbers",
                        hint="leave --view out for the ordinary picture")
    return True


def render_options(options: dict):
    """RenderOptions from keywords; `format="png"` (graphviz's own name) as well as formats=(…)."""
    from .render.export import RenderOptions
    options = dict(options)
    if "format" in options:
        options["formats"] = (options.pop("format"),)
    if isinstance(options.get("formats"), str):
        options["formats"] = tuple(f.strip() for f in options["formats"].split(","))
    known = {f.name for f in fields(RenderOptions)} - {"force", "max_draw"} | {"format"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown picture option {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return RenderOptions(**options)


def build(source, values: dict, *, expand=False, keep_constants=False, constants=(),
          max_nodes=DEFAULT_MAX_NODES, max_length=MAX_LENGTH) -> Graph:
    builder = GraphBuilder(keep_constants=keep_constants, expand=expand, max_nodes=max_nodes)
    with paused_cycle_collector():
        if isinstance(source, Var):
            graph = trace_value(source, builder)
        else:
            values = {k: np.asarray(v, dtype=float) for k, v in values.items()}
            graph = trace_source(source, values, builder, constants, max_length)
        del builder    # its records are garbage now: freed before the collector resumes and scans them
    return graph


def trace(source, *, expand=False, keep_constants=False, const=(), seed=None, statements=False,
          max_nodes=DEFAULT_MAX_NODES, **values) -> Trace:
    """Trace an expression or a program and run forward and backward: `trace("x*y", x=3, y=4)`,
    `trace("h = relu(w*x); L = (h - y)**2", w=0.5, x=1, y=2, const=["y"])`, or a Var built
    with var() (`trace(x*y)`; keywords then give its variables other values: `trace(x*y, x=5)`).
    expand: composite gates as primitives (σ → *−1, exp, +1, 1/x); keep_constants: literals as
    nodes; const: names of inputs that are data (no gradient); seed: the gradient started from
    at the output (default ones); statements: the statement view (the command line's --view
    statements), one gate per named statement, its formula, value and gradient."""
    if isinstance(source, Var) and const:
        raise TypeError("for Vars, mark data with var(name, value, const=True)")
    graph = build(source, values, expand=expand, keep_constants=keep_constants, constants=const,
                  max_nodes=max_nodes)
    if isinstance(source, Var) and values:
        given(graph, values)
    if statements:
        graph = statement_graph(graph)
    return Trace(graph, engine.run(graph, seed))


def given(graph: Graph, values: dict) -> None:
    """New values for a traced Var expression's variables, by name."""
    names = {graph.label(n): n for n in graph.variables()}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UserError(f"no variable named {', '.join(unknown)} in this expression",
                        hint=f"its variables: {', '.join(names) or 'none'}")
    for name, value in values.items():
        graph[names[name]]["value"] = np.asarray(value, dtype=float)
