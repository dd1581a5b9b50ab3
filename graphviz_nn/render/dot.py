"""Graph -> DOT: CS231n-style gates and edges, with a placeholder colour on every part a frame changes.

Each edge u→v is drawn through a small label node: the forward value above the line, the
gradient below it (left/right of it top-to-bottom). Every part whose look changes between
frames (a node, a value, a gradient) gets colours of its own that no theme uses; a frame is
then the laid-out picture with those placeholder colours replaced (see frames.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import numpy as np

from ..graph import CONST, OP, Graph
from ..numfmt import SMALL_ARRAY, fmt_number, fmt_value, shape_text, summary
from ..ops import OPS
from .escape import escape

FONT = "DejaVu Sans"                     # measured by Graphviz; the SVG adds fallbacks
FONT_STACK = "DejaVu Sans,Verdana,Arial,Helvetica,sans-serif"
PAD_INCHES = 0.1
LABEL_NODES_UP_TO = 300                  # graph nodes; above, edges carry plain labels (faster layout)
BOUNDED_EFFORT_ABOVE = 1500             # rank spans: beyond, dot's x-placement can take minutes
NODE_NUMBERS = 4                         # a variable's box shows a vector up to this long
DEFAULT_MAX_DRAWN = 2500                 # graph nodes; above, drawing is refused (dot takes minutes)


@dataclass(frozen=True)
class Theme:
    background: str
    ink: str
    edge: str
    value: str
    grad: str
    pending: str
    active_fill: str
    active_pen: str
    warn: str
    node_fill: str


THEMES = {
    "light": Theme("#ffffff", "#222222", "#666666", "#1a7f37", "#c62828", "#c8c8c8",
                   "#ffe9a8", "#e67e22", "#d81b60", "#ffffff"),
    "dark": Theme("#1e1e1e", "#eeeeee", "#9a9a9a", "#7ee787", "#ff7b72", "#555555",
                  "#5a4500", "#ffb347", "#ff6ec7", "#2b2b2b"),
}


@dataclass
class Part:
    """A piece of the picture whose colours change between frames."""
    name: str                    # "node:x", "value:3", "grad:3", "sum:x"
    kind: str                    # node | value | grad | sum
    colours: dict[str, str]      # role (fill, pen, font, bg) -> placeholder colour


@dataclass
class Drawing:
    source: str                               # the DOT text
    parts: dict[str, Part] = field(default_factory=dict)
    edge_ids: dict[tuple, int] = field(default_factory=dict)   # (u, v, k) -> label node index


class Placeholders:
    """Unique colours, none of them a theme colour (so a frame can replace them blindly)."""

    def __init__(self):
        self.counter = count(1)
        self.reserved = {c.lower() for t in THEMES.values() for c in vars(t).values()}

    def new(self) -> str:
        while True:
            colour = f"#{0x0a0000 + next(self.counter):06x}"
            if colour not in self.reserved:
                return colour


def number_cells(value, colour: str) -> str:
    """A value as the inside of a TD: a number, a small aligned matrix, or a summary."""
    a = np.asarray(value)
    if a.ndim == 0:
        return font(fmt_number(a), colour)
    if a.size > SMALL_ARRAY or a.ndim > 2:
        return font(summary(a), colour)
    if a.ndim == 1:      # one number per observation: text, as the table prints it (a table would stretch)
        return font(fmt_value(a), colour)
    cells = "".join("<TR>" + "".join(f'<TD ALIGN="RIGHT">{font(fmt_number(x), colour)}</TD>' for x in row)
                    + "</TR>" for row in a)
    return f'<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="1">{cells}</TABLE>'


def in_node(value) -> bool:
    """Numbers a variable's box shows itself: a scalar, or one short row (a few observations);
    larger values show their shape, their numbers being on the edges."""
    return np.ndim(value) == 0 or (np.ndim(value) == 1 and np.size(value) <= NODE_NUMBERS)


def stack(*cells: str) -> str:
    """Cells one above the other. A TD holds text or one table, never both (Graphviz 2.43
    rejects `text<BR/><TABLE>`), so a weight line over a row of values needs a table of its own."""
    rows = "".join(f"<TR><TD>{c}</TD></TR>" for c in cells)
    return f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0">{rows}</TABLE>'


def font(text: str, colour: str, size: float | None = None) -> str:
    size_attr = f' POINT-SIZE="{size}"' if size else ""
    text = escape(text).replace("\\", "\\\\")    # Graphviz reads \G, \N, \L in labels: \\ is one \
    return f'<FONT COLOR="{colour}"{size_attr}>{text or " "}</FONT>'


class DotWriter:
    def __init__(self, graph: Graph, theme: Theme, rankdir: str = "LR", title: str | None = None,
                 warned: set[str] = frozenset(), slide: bool = False, transparent: bool = False):
        self.graph, self.theme, self.rankdir = graph, theme, rankdir
        self.title, self.warned, self.slide, self.transparent = title, warned, slide, transparent
        self.colours = Placeholders()
        self.drawing = Drawing("")
        self.lines: list[str] = []
        self.index_of = {n: i for i, n in enumerate(graph.order)}
        self.compact = len(graph.order) > LABEL_NODES_UP_TO

    def part(self, name: str, kind: str, roles: tuple[str, ...]) -> Part:
        p = Part(name, kind, {role: self.colours.new() for role in roles})
        self.drawing.parts[name] = p
        return p

    def write(self) -> Drawing:
        self.header()
        for index, n in enumerate(self.graph.order):
            self.node(index, n)
        edges = [e for v in self.graph.order for e in self.graph.in_edges(v)]
        for index, edge in enumerate(edges):
            self.edge(index, edge)
        self.output_edge(len(edges))
        self.lines.append("}")
        self.drawing.source = "\n".join(self.lines)
        return self.drawing

    def header(self) -> None:
        t = self.theme
        attrs = [f"rankdir={self.rankdir}", f"pad={PAD_INCHES}", "nodesep=0.25", "ranksep=0.3",
                 f'bgcolor="{"transparent" if self.transparent else t.background}"',
                 "outputorder=edgesfirst"]
        if self.slide:
            attrs += ['ratio="fill"', 'size="13.33,7.5!"']     # a 16:9 slide, landscape
        if rank_spans(self.graph) > BOUNDED_EFFORT_ABOVE:   # long or many edges: bound dot's effort
            attrs += ["nslimit=1", "nslimit1=1", "mclimit=0.1", "remincross=false"]
        if self.title:
            attrs += [f"label=<{font(self.title, t.ink, 16)}>", "labelloc=t"]
        self.lines += ["digraph nngraph {", "  " + "; ".join(attrs) + ";",
                       f'  node [fontname="{FONT}", fontsize=11, penwidth=1.2];',
                       f'  edge [color="{t.edge}", arrowsize=0.7, penwidth=1.1];']

    def node(self, index: int, n: str) -> None:
        kind = self.graph[n]["kind"]
        if kind == OP:
            self.gate(index, n)
        elif kind == CONST:
            p = self.part(f"node:{n}", "node", ("pen", "font", "fill"))
            self.lines.append(f'  n{index} [id="n{index}", shape=box, style="rounded,filled", '
                              f'fillcolor="{p.colours["fill"]}", color="{p.colours["pen"]}", '
                              f'label=<{font(self.graph.label(n), p.colours["font"])}>];')
        else:
            self.variable(index, n)

    def gate(self, index: int, n: str) -> None:
        node = self.graph[n]
        p = self.part(f"node:{n}", "node", ("pen", "font", "fill"))
        symbol = OPS[node["op"]].symbol(node["p"])
        label = (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0">'
                 f'<TR><TD>{font(symbol, p.colours["font"], 13)}</TD></TR>'
                 f'<TR><TD>{font(self.graph.label(n), p.colours["font"], 8)}</TD></TR></TABLE>')
        extra = ", penwidth=2.6" if n == self.graph.output else ""      # the output is marked
        extra += ", penwidth=2.5, style=\"filled,dashed\"" if n in self.warned else ", style=filled"
        self.lines.append(f'  n{index} [id="n{index}", shape=circle, margin=0.02, '
                          f'fillcolor="{p.colours["fill"]}", color="{p.colours["pen"]}"{extra}, '
                          f'label=<{label}>];')

    def variable(self, index: int, n: str) -> None:
        node = self.graph[n]
        p = self.part(f"node:{n}", "node", ("pen", "font", "fill"))
        s = self.part(f"sum:{n}", "sum", ("font",))
        value, grad = node["value"], node["grad"]
        shown = number_cells(value, self.theme.value) if in_node(value) else \
            font(shape_text(np.shape(value)), self.theme.value, 9)
        grad_cell = number_cells(grad, s.colours["font"]) if grad is not None and in_node(grad) \
            else font("∂" if grad is None else shape_text(np.shape(grad)), s.colours["font"], 9)
        label = (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">'
                 f'<TR><TD>{font(self.graph.label(n), p.colours["font"], 12)}</TD></TR>'
                 f'<TR><TD>{shown}</TD></TR><TR><TD>{grad_cell}</TD></TR></TABLE>')
        warn = ', penwidth=2.5, style="filled,dashed"' if n in self.warned else ", style=filled"
        self.lines.append(f'  n{index} [id="n{index}", shape=box, margin="0.08,0.03", '
                          f'fillcolor="{p.colours["fill"]}", color="{p.colours["pen"]}"{warn}, '
                          f'label=<{label}>];')

    def edge(self, index: int, edge: tuple) -> None:
        u, v, k = edge
        attrs = self.graph.edge(*edge)
        self.drawing.edge_ids[edge] = index
        grad = None if self.graph[u]["kind"] == CONST else attrs["grad"]   # constants need none
        self.connect(index, self.node_id(u), self.node_id(v), attrs["value"], grad, attrs)

    def output_edge(self, index: int) -> None:
        """CS231n draws the output's value and its gradient 1 on a last, dangling edge."""
        out = self.graph.output
        node = self.graph[out]
        self.drawing.edge_ids[(out, None, 0)] = index
        self.lines.append(f'  result [shape=plaintext, label=<{font(self.graph.label(out), self.theme.ink, 12)}>];')
        self.connect(index, self.node_id(out), "result", node["value"], node["grad"])

    def connect(self, index: int, tail: str, head: str, value, grad, attrs=None) -> None:
        """Small graphs: the edge runs through a label node, value above the line, gradient below.
        Large graphs: a plain edge label (half the layout work), value over gradient."""
        table = self.label_table(index, value, grad, through=not self.compact, weight=attrs or {})
        if self.compact:
            self.lines.append(f"  {tail} -> {head} [label=<{table}>];")
            return
        into, out = ("w", "e") if self.rankdir == "LR" else ("n", "s")
        self.lines.append(f"  e{index} [shape=plain, label=<{table}>];")
        self.lines.append(f"  {tail} -> e{index}:{into} [arrowhead=none];")
        self.lines.append(f"  e{index}:{out} -> {head};")

    def label_table(self, index: int, value, grad, through: bool, weight: dict) -> str:
        """Value over gradient; a neuron-view edge adds its weight above and the weight's
        gradient below (`W1[1,2] = 0.5` … `∂L/∂W1[1,2] = 0.1`)."""
        v = self.part(f"value:{index}", "value", ("font", "bg"))
        g = self.part(f"grad:{index}", "grad", ("font", "bg"))
        shown = font("", g.colours["font"]) if grad is None else number_cells(grad, g.colours["font"])
        value_cell, grad_cell = number_cells(value, v.colours["font"]), shown
        if "weight" in weight:
            name, dw = weight["weight_name"], weight.get("weight_grad")
            weight_line = font(f"{name} = {fmt_number(weight['weight'])}", self.theme.ink, 8)
            weight_grad = font("" if dw is None else f"∂L/∂{name} = {fmt_number(dw)}", g.colours["font"], 8)
            value_cell = stack(weight_line, value_cell)
            grad_cell = weight_grad if grad is None else stack(grad_cell, weight_grad)
        top = f'<TD BGCOLOR="{v.colours["bg"]}" CELLPADDING="2">{value_cell}</TD>'
        bottom = f'<TD BGCOLOR="{g.colours["bg"]}" CELLPADDING="2">{grad_cell}</TD>'
        if self.rankdir == "TB" and through:
            cells = f"<TR>{top}<VR/>{bottom}</TR>"
        else:
            cells = f"<TR>{top}</TR>{'<HR/>' if through else ''}<TR>{bottom}</TR>"
        return f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0" COLOR="{self.theme.edge}">{cells}</TABLE>'

    def node_id(self, n: str) -> str:
        return f"n{self.index_of[n]}"


def rank_spans(graph: Graph) -> int:
    """How many virtual nodes dot will need: each edge crosses the ranks between its ends."""
    generation = {n: graph[n]["generation"] for n in graph.order}
    return sum(max(1, generation[v] - generation[u])
               for v in graph.order for u in graph.args[v])


def to_dot(graph: Graph, theme: str = "light", rankdir: str = "LR", title: str | None = None,
           warned=frozenset(), slide: bool = False, transparent: bool = False) -> Drawing:
    return DotWriter(graph, THEMES[theme], rankdir, title, set(warned), slide, transparent).write()
