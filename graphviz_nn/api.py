"""The Python API a notebook user reaches for: `trace("x**2+x*y", x=1, y=2)` and `var("x", 1.0)`."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import engine
from .explain import diagnostics, paths, report
from .explain.captions import Captions
from .graph import Graph, paused_cycle_collector
from .trace.builder import DEFAULT_MAX_NODES, GraphBuilder
from .trace.expr import MAX_LENGTH, trace_expression
from .trace.var import Var, trace_value


@dataclass
class Trace:
    """A traced and run graph: its value, every gradient, the steps, and how to show them."""
    graph: Graph
    steps: list = field(default_factory=list)

    @property
    def captions(self) -> Captions:
        return Captions(self.graph, self.steps)

    @property
    def value(self) -> np.ndarray:
        return self.graph[self.graph.output]["value"]

    @property
    def grad(self) -> dict[str, np.ndarray]:
        return {self.graph.label(n): self.graph[n]["grad"] for n in self.graph.variables()}

    def explain(self, variable: str) -> str:
        return "\n".join(paths.explain_paths(self.graph, variable))

    def diagnostics(self) -> list:
        return diagnostics.diagnostics(self.graph)

    def to_dict(self) -> dict:
        return report.document(self.graph.source, self.graph.kind, [report.graph_pass(self.graph)])

    def to_json(self) -> str:
        return report.dumps(self.to_dict())

    def table(self) -> str:
        return "\n".join(report.node_table(self.graph))

    def pictures(self, **options):
        from .render.export import Pictures, RenderOptions
        return Pictures(self.scene(), RenderOptions(**options))

    def scene(self):
        return report.scene(self.graph, self.steps, self.captions)

    def svg(self, **options) -> str:
        """The finished picture (every value and gradient) as SVG text."""
        return self.pictures(frames="none", **options).final_svg()

    def _repr_svg_(self) -> str:          # Jupyter shows a traced result as its picture
        return self.svg()

    def player(self, **options):
        """The step-by-step HTML player, inline in Jupyter (in an iframe, so its keys stay its own)."""
        import html
        from IPython.display import HTML
        from .render.player import player_html
        page = player_html(self.graph.source, self.pictures(**options).frame_svgs(),
                           options.get("theme", "light"))
        return HTML(f'<iframe srcdoc="{html.escape(page)}" style="width:100%;height:520px;border:0"></iframe>')

    def render(self, folder, **options):
        """Write graph.svg, frames, GIF and player to folder, as the command line does."""
        from .render.export import RenderOptions, render
        return render(self.scene(), folder, RenderOptions(**options))


def build(source, values: dict, *, expand=False, keep_constants=False,
          max_nodes=DEFAULT_MAX_NODES, max_length=MAX_LENGTH) -> Graph:
    builder = GraphBuilder(keep_constants=keep_constants, expand=expand, max_nodes=max_nodes)
    with paused_cycle_collector():
        if isinstance(source, Var):
            graph = trace_value(source, builder)
        else:
            values = {k: np.asarray(v, dtype=float) for k, v in values.items()}
            graph = trace_expression(source, values, builder, max_length)
        del builder    # its records are garbage now: freed before the collector resumes and scans them
    return graph


def trace(source, *, expand=False, keep_constants=False, seed=None,
          max_nodes=DEFAULT_MAX_NODES, **values) -> Trace:
    """Trace an expression string (values as keywords) or a Var, then run forward and backward."""
    graph = build(source, values, expand=expand, keep_constants=keep_constants, max_nodes=max_nodes)
    return Trace(graph, engine.run(graph, seed))
