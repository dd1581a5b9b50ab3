"""Graph -> DOT: CS231n-style gates and edges, every part a frame changes named by an id.

Each edge u→v is drawn through a small label node: the forward value above the line, the
gradient below it (left/right of it top-to-bottom). The DOT carries the finished picture's
colours; every part whose look changes between frames (a node, a value, a gradient, a
variable's total gradient) has an id (`n3`, `v3`, `g3`, `s3`), which Graphviz writes into the
SVG, so a frame only needs to say which ids look how (frames.py, svg.py).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np

from ..graph import CONST, OP, Graph, is_data
from ..numfmt import SMALL_ARRAY, fmt_number, fmt_value, shape_text, summary
from ..ops import COMPOSITE, OPS
from .escape import escape

FONT = "DejaVu Sans"                     # measured by Graphviz; the SVG adds fallbacks
FONT_STACK = "DejaVu Sans,Verdana,Arial,Helvetica,sans-serif"
PAD_INCHES = 0.1
LABEL_NODES_UP_TO = 300                  # graph nodes; above, edges carry plain labels (faster layout)
BOUNDED_EFFORT_ABOVE = 1500             # rank spans: beyond, dot's x-placement can take minutes
NODE_NUMBERS = 4                         # a variable's box shows a vector up to this long
DEFAULT_MAX_DRAWN = 2500                 # graph nodes; above, drawing is refused (dot takes minutes)
UPDATED = "after the update:"              # the label of a parameter's new value
STEP_EDGE_WEIGHT = 8                     # dot's weight of an edge within the time steps (see half_weights)
OUTSIDE_EDGE_WEIGHT = 1                  # dot's weight of a shared weight's long edge into a step
SPINE_WEIGHT = 100                       # dot's weight of the invisible line through the steps (see spine)
RANKSEP, GROUPED_RANKSEP = 0.3, 0.15     # inches between columns; the unrolled steps' columns are
# mostly label nodes, which need no more room than an arrowhead: 8–15 % narrower pictures
FORMULA_LINE = 28                        # characters of a statement's formula per line in its box
SHARE_SIZE = 10                          # points: a share's number beside its edge (statement view)

HIDDEN, PENDING, KNOWN, ACTIVE = "hidden", "pending", "known", "active"

# Tied weights (a conv layer in the neuron view): the edges carrying one kernel entry share a colour,
# by the entry's number (edge attribute `tie`), cycling through the palette; no green or red, the
# colours of values and gradients.
TIE_COLOURS = (("blue", "#1f6fd1"), ("orange", "#e8870e"), ("purple", "#8e44ad"), ("teal", "#12a3a3"),
               ("brown", "#8c5a3c"), ("pink", "#e0559d"), ("olive", "#8f8f12"), ("navy", "#283d8f"))
TIE_PEN = 1.8


def tie_colour(number: int) -> tuple[str, str]:
    """A tied weight's colour: (its name, as captions say it; its hex, as the picture draws it)."""
    return TIE_COLOURS[number % len(TIE_COLOURS)]


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


@dataclass(frozen=True)
class Part:
    """A piece of the picture whose look changes between frames."""
    id: str          # its group's id in the SVG
    kind: str        # gate | node (a variable or constant) | value | grad | sum
    warned: bool = False


# ---- looks -----------------------------------------------------------------------------
# Roles: fill and pen of a node's shape, font of its text, bg of a number's cell.

def finished(theme: Theme, part: Part) -> dict[str, str]:
    """The finished picture's colours of a part, by role: what the DOT says."""
    if part.kind in ("gate", "node"):
        return {"fill": theme.node_fill, "pen": theme.warn if part.warned else theme.ink, "font": theme.ink}
    return {"font": theme.value if part.kind == "value" else theme.grad, "bg": "transparent"}


def changes(theme: Theme, kind: str, state: str) -> dict[str, str]:
    """How a part in `state` differs from its finished look, by role ("none": not drawn)."""
    if state == PENDING and kind == "gate":
        return {"fill": theme.background, "pen": theme.pending, "font": theme.pending}
    if state == ACTIVE and kind in ("gate", "node"):
        return {"fill": theme.active_fill, "pen": theme.active_pen}
    if state == ACTIVE and kind in ("value", "grad"):
        return {"bg": theme.active_fill}
    if state == HIDDEN:
        return {"font": "none"}
    return {}


def number_cells(value, colour: str, size: float | None = None) -> str:
    """A value as the inside of a TD: a number, a row as text, a small aligned matrix, or a summary."""
    a = np.asarray(value)
    if a.ndim == 0:
        return font(fmt_number(a), colour, size)
    if a.size > SMALL_ARRAY or a.ndim > 2:
        return font(summary(a), colour, size)
    if a.ndim == 1:      # one number per observation: text, as the table prints it (a table would stretch)
        return font(fmt_value(a), colour, size)
    cells = "".join("<TR>" + "".join(f'<TD ALIGN="RIGHT">{font(fmt_number(x), colour, size)}</TD>' for x in row)
                    + "</TR>" for row in a)
    return f'<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="1">{cells}</TABLE>'


def in_node(value) -> bool:
    """Numbers a variable's box shows itself: a scalar, or one short row (a few observations);
    larger values show their shape, their numbers being on the edges."""
    return np.ndim(value) == 0 or (np.ndim(value) == 1 and np.size(value) <= NODE_NUMBERS)


def stack(*cells: str) -> str:
    """TDs one above the other. A TD holds text or one table, never both (Graphviz 2.43
    rejects `text<BR/><TABLE>`), so a weight line over a row of values needs a table of its own."""
    rows = "".join(f"<TR>{c}</TR>" for c in cells)
    return f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0">{rows}</TABLE>'


def side_by_side(*cells: str) -> str:
    """TDs in one row (a TD holds text or one table, never both)."""
    row = "".join(f"<TD>{c}</TD>" for c in cells)
    return f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{row}</TR></TABLE>'


def font(text: str, colour: str, size: float | None = None) -> str:
    size_attr = f' POINT-SIZE="{size}"' if size else ""
    text = escape(text).replace("\\", "\\\\")    # Graphviz reads \G, \N, \L in labels: \\ is one \
    return f'<FONT COLOR="{colour}"{size_attr}>{text or " "}</FONT>'


@dataclass
class Drawing:
    source: str                                   # the DOT text
    parts: dict[str, Part] = field(default_factory=dict)      # by id
    node_ids: dict[str, str] = field(default_factory=dict)    # graph node -> part id n<i>
    edge_index: dict[tuple, int] = field(default_factory=dict)   # (u, v, k) -> label index; (out, None, 0)
    grids: dict = field(default_factory=dict)     # the grid view (grid.py): graph node -> its Grid

    def value_id(self, edge) -> str:
        return f"v{self.edge_index[edge]}"

    def grad_id(self, edge) -> str:
        return f"g{self.edge_index[edge]}"

    def sum_id(self, n: str) -> str:
        return "s" + self.node_ids[n][1:]

    def after_id(self, n: str) -> str:
        """A parameter's value after a training step's update, in its box."""
        return "u" + self.node_ids[n][1:]

    def weight_after_id(self, edge) -> str:
        """A neuron-view weight's value after the update, under its weight line."""
        return f"y{self.edge_index[edge]}"

    def cell_part(self, cell) -> str | None:
        """The grid view: the part id of a steps.Cell (node, index, grad), or None where that
        number is not a cell."""
        grid = self.grids.get(cell.node)
        if grid is None or (cell.grad and not grid.grad):
            return None
        return grid.cell_id(cell.index, cell.grad)

    def node_cells(self, node: str, grad: bool) -> list[str]:
        """Every cell of a node's value (or gradient) grid; none when it is not drawn as a grid."""
        grid = self.grids.get(node)
        if grid is None or (grad and not grid.grad):
            return []
        return grid.cell_ids(grad)


class DotWriter:
    """Writes the DOT of a graph. By default in its finished colours, for the one layout; given
    `state_of` (part -> state) in a frame's colours, and given `pins` (name -> pos attributes)
    with every node and edge where the layout put them (PDF frames, drawn by `neato -n2`).
    `marks` (part id -> "(3)") numbers parts for a worksheet: `blank` draws the numbered box
    instead of the number, otherwise the number under its mark (the answer key)."""

    def __init__(self, graph: Graph, theme: Theme, rankdir: str = "LR", title: str | None = None,
                 warned: set[str] = frozenset(), slide: bool = False, transparent: bool = False,
                 state_of=None, pins: dict[str, str] | None = None, marks: dict[str, str] | None = None,
                 blank: bool = False):
        self.graph, self.theme, self.rankdir = graph, theme, rankdir
        self.title, self.warned, self.slide, self.transparent = title, warned, slide, transparent
        self.state_of, self.pins = state_of, pins or {}
        self.marks, self.blank = marks or {}, blank
        self.anchors = pins is None      # TD ids reach the SVG only through a link; PDFs get none
        self.drawing = Drawing("")
        self.lines: list[str] = []
        self.index_of = {n: i for i, n in enumerate(graph.order)}
        self.compact = len(graph.order) > LABEL_NODES_UP_TO
        self.boxed = graph.kind == "statements"      # numbers in the boxes (trace/statements.py)
        self.grouped = any(graph[n].get("group") for n in graph.order)
        self.group_rank = self.group_ranks()
        self.shared = {n for n in graph.order if graph[n]["kind"] != OP and graph[n].get("group") is None
                       and len({graph[v].get("group") for v, _ in graph.users.get(n, [])} - {None}) > 1}
        # (the weights every step shares: written first, dot puts them at the top-left more often)

    def part(self, id: str, kind: str, warned: bool = False) -> dict[str, str]:
        """Register a part; its colours by role."""
        p = self.drawing.parts[id] = Part(id, kind, warned)
        colours = finished(self.theme, p)
        if self.state_of:
            hidden = {"none": "transparent"}
            colours |= {role: hidden.get(c, c)
                        for role, c in changes(self.theme, kind, self.state_of(p)).items()}
        return colours

    def pinned(self, name: str) -> str:
        return f", {self.pins[name]}" if name in self.pins else ""

    def td_id(self, id: str) -> str:
        box = ' BORDER="1"' if self.blank and id in self.marks else ""
        return (f' ID="{id}" HREF="#"' if self.anchors else "") + box

    def marked(self, id: str, content: str) -> str:
        """A part's number as a worksheet shows it: its numbered box, or (the key) under its mark."""
        if id not in self.marks:
            return content
        mark = font(self.marks[id], self.theme.ink, 9)
        return font(f" {self.marks[id]}      ", self.theme.ink, 9) if self.blank else \
            stack(f"<TD>{mark}</TD>", f"<TD>{content}</TD>")

    def write(self) -> Drawing:
        edges = [e for v in self.graph.order for e in self.graph.in_edges(v)]
        self.drawing.edge_index.update({e: i for i, e in enumerate(edges)} | {(self.graph.output, None, 0): len(edges)})
        self.header()
        top, groups = self.lines, {}          # a program's statement groups: lines per cluster
        for index, n in enumerate(self.graph.order):
            self.drawing.node_ids[n] = f"n{index}"
            self.lines = top if n in self.shared else groups.setdefault(self.graph[n].get("group"), [])
            self.node(index, n)
        self.entries: dict[str, list[str]] = {}      # a step's box -> the labels at its entry
        for index, edge in enumerate(edges):
            entry = self.entry_group(edge)
            if entry is not None and self.carried(edge):         # its label: in the step's first column
                self.entries.setdefault(entry, []).append(f"e{index}")
            self.lines = groups.setdefault(self.edge_group(edge), [])
            self.label_lines = groups.setdefault(entry or self.edge_group(edge), [])
            self.edge(index, edge)
        self.lines = self.label_lines = groups.setdefault(None, [])
        self.output_edge(len(edges))
        self.lines += self.tied_columns()
        titles = sorted((g for g in groups if g is not None), key=self.group_rank.__getitem__)
        spine = self.spine(titles, groups)
        for number, title in enumerate(titles, 1):
            top += self.cluster(number, title, groups[title])
        self.lines = top + groups[None] + self.group_order(titles) + spine + self.entry_ranks(titles) + ["}"]
        self.drawing.source = "\n".join(self.lines)
        return self.drawing

    def edge_group(self, edge: tuple) -> str | None:
        """An edge (its label node) is drawn inside a cluster when both its ends are."""
        u, v, _ = edge
        group = self.graph[v].get("group")
        return group if self.graph[u].get("group") == group else None

    def layout_ends(self, edge: tuple) -> tuple[str, str]:
        """An edge's ends in the order dot lays it out: a backwards edge from its head."""
        u, v, _ = edge
        return (v, u) if self.backwards(u, v) else (u, v)

    def entry_group(self, edge: tuple) -> str | None:
        """The step whose box holds the numbers of an edge entering it from outside (a shared
        weight, the state of another step): its label node is drawn inside, so the edge's long
        part runs outside the boxes and enters the box where its numbers are."""
        if not self.grouped or self.compact or self.boxed:
            return None
        tail, head = (self.graph[n].get("group") for n in self.layout_ends(edge))
        return head if head is not None and head != tail else None

    def carried(self, edge: tuple) -> bool:
        """A value carried from one step into another (both ends in steps)."""
        return all(self.graph[n].get("group") is not None for n in edge[:2])

    def group_ranks(self) -> dict[str, int]:
        """Groups in the order the program writes them: by where their first gate is in the
        source (a gate's span), else by where their first node is in the graph's order."""
        first = {}
        for position, n in enumerate(self.graph.order):
            node = self.graph[n]
            span = node.get("span") if node["kind"] == OP else None
            key = (0, span[0]) if span else (1, position)
            if node.get("group") is not None:
                first[node["group"]] = min(first.get(node["group"], key), key)
        return {title: rank for rank, title in enumerate(sorted(first, key=first.__getitem__))}

    def backwards(self, u: str, v: str) -> bool:
        """An edge from a later group into an earlier one (a two-directional net's reverse state,
        s_{t+1} into step t): drawn pointing back, so that the steps stay left to right."""
        tail, head = self.graph[u].get("group"), self.graph[v].get("group")
        return tail is not None and head is not None and self.group_rank[tail] > self.group_rank[head]

    def group_order(self, titles: list[str]) -> list[str]:
        """Time steps left to right: each group starts after the one before it ends (invisible
        edges from its last gates to the next group's first nodes), when nothing in a group
        depends on a later one (a two-directional net's groups depend on each other: no order).
        Pinned PDF frames need no ranks."""
        if self.pins:
            return []
        members = {t: [n for n in self.graph.order if self.graph[n].get("group") == t] for t in titles}
        lines = []
        for before, after in zip(titles, titles[1:]):
            if self.reaches(members[after], set(members[before])):
                continue
            last = [n for n in members[before] if all(self.graph[v].get("group") != before
                                                      for v, _ in self.graph.users.get(n, []))]
            first = [n for n in members[after] if all(self.graph[u].get("group") != after
                                                      for u in self.graph.args.get(n, ()))]
            first = [self.node_id(n) for n in first] + self.entries.get(after, [])
            lines += [f"  {self.node_id(u)} -> {v} [style=invis, weight=0];" for u in last for v in first]
        return lines

    def spine(self, titles: list[str], groups: dict) -> list[str]:
        """An invisible heavy line through the steps, which dot keeps straight, so the boxes stand
        in one row: in each box from a point in its first column to a point after its last
        nodes, then on into the next box's first column."""
        if self.pins or len(titles) < 2:
            return []
        lines = []
        for number, title in enumerate(titles, 1):
            groups[title] += [f'  {end}{number} [id="{end}{number}", shape=point, style=invis, width=0, label=""];'
                              for end in ("in", "out")]
            last = [n for n in self.graph.order if self.graph[n].get("group") == title
                    and all(self.graph[v].get("group") != title for v, _ in self.graph.users.get(n, []))]
            lines.append(f"  in{number} -> out{number} [style=invis, weight={SPINE_WEIGHT}];")
            lines += [f"  {self.node_id(n)} -> out{number} [style=invis, minlen=0, weight=0];" for n in last]
            if number > 1:
                lines.append(f"  out{number - 1} -> in{number} [style=invis, weight={SPINE_WEIGHT}];")
        return lines

    def entry_ranks(self, titles: list[str]) -> list[str]:
        """A step's first column: the states carried in from other steps (their numbers) beside
        the step's own inputs that its first gates read (x_t), so that no edge from another
        step passes beside the box before it enters."""
        if self.pins:
            return []
        lines = []
        for title in titles:
            firsts = {v for n in self.graph.order if self.graph[n].get("group") == title
                      and self.graph[n]["kind"] != OP and not self.graph.args.get(n)
                      for v, _ in self.graph.users.get(n, [])
                      if self.graph[v].get("group") == title
                      and all(self.graph[a]["kind"] != OP or self.graph[a].get("group") != title
                              for a in self.graph.args[v])}
            leaves = [self.node_id(n) for n in self.graph.order if self.graph[n].get("group") == title
                      and self.graph[n]["kind"] != OP and not self.graph.args.get(n)
                      and any(v in firsts for v, _ in self.graph.users.get(n, []))]
            spine = [f"in{titles.index(title) + 1}"] if len(titles) > 1 else []
            column = leaves + self.entries.get(title, []) + spine
            if len(column) > 1:
                lines.append(f"  {{rank=same; {'; '.join(column)};}}")
        return lines

    def reaches(self, start: list[str], targets: set[str]) -> bool:
        """Does any path lead from a node of `start` to one of `targets`?"""
        seen, todo = set(start), list(start)
        while todo:
            n = todo.pop()
            if n in targets:
                return True
            for v, _ in self.graph.users.get(n, []):
                if v not in seen and not self.backwards(n, v):
                    seen.add(v)
                    todo.append(v)
        return False

    def tied_columns(self) -> list[str]:
        """Tied edges (a conv layer's) as three columns, each in the graph's order top to bottom:
        their input cells and their output cells row-major, and between them their labels grouped
        by output cell, so each neuron's weights are read together and the edges cross little."""
        if self.pins or self.compact:
            return []
        columns: dict[tuple, list[str]] = {}
        for edge, attrs in self.graph.edge_attrs.items():
            if "tie" in attrs:
                u, v, _ = edge
                layer = self.graph[v]["generation"]
                columns.setdefault(("tails", layer), []).append(self.node_id(u))
                columns.setdefault(("heads", layer), []).append(self.node_id(v))
                columns.setdefault(("labels", layer), []).append(f"e{self.drawing.edge_index[edge]}")
        number = lambda id: int(id[1:])          # n<graph order>, e<edge order: by head, then argument>
        chains = [sorted(set(ids), key=number) for ids in columns.values()]
        return [f"  {{rank=same; {' -> '.join(ids)} [style=invis];}}" for ids in chains if len(ids) > 1]

    def cluster(self, number: int, title: str, lines: list[str]) -> list[str]:
        """A titled box around a statement group; an edge statement inside it would pull its
        other end in, so only nodes and edges with both ends inside are written here."""
        name = f"cluster_{number}"
        attrs = [f'id="group{number}"', f"label=<{font(title, self.theme.ink, 13)}>", "labeljust=l",
                 'style="rounded"', f'color="{self.theme.pending}"', "penwidth=1.2", "margin=10"]
        attrs += [self.pins[name]] if name in self.pins else []
        return [f"  subgraph {name} {{", "    " + "; ".join(attrs) + ";"] + \
            ["  " + line for line in lines] + ["  }"]

    def header(self) -> None:
        t = self.theme
        ranksep = GROUPED_RANKSEP if self.grouped else RANKSEP
        attrs = [f"rankdir={self.rankdir}", f"pad={PAD_INCHES}", "nodesep=0.25", f"ranksep={ranksep}",
                 f'bgcolor="{"transparent" if self.transparent else t.background}"',
                 "outputorder=edgesfirst", f'fontname="{FONT}"']
        if self.slide:      # a 16:9 slide, landscape; pinned frames have the laid-out shape already
            attrs += ['size="13.33,7.5!"'] + ([] if self.pins else ['ratio="fill"'])   # (and neato -n2
            # crashes on ratio=fill with xlabels)
        if rank_spans(self.graph) > BOUNDED_EFFORT_ABOVE:   # long or many edges: bound dot's effort
            attrs += ["nslimit=1", "nslimit1=1", "mclimit=0.1", "remincross=false"]
        if self.grouped:
            attrs += ["newrank=true"]       # one ranking over the clusters: no edge runs backwards
        if self.title:
            attrs += [f"label=<{font(self.title, t.ink, 16)}>", "labelloc=t"]
        attrs += [self.pins["graph"]] if "graph" in self.pins else []
        self.lines += ["digraph nngraph {", "  " + "; ".join(attrs) + ";",
                       f'  node [fontname="{FONT}", fontsize=11, penwidth=1.2];',
                       f'  edge [fontname="{FONT}", color="{t.edge}", arrowsize=0.7, penwidth=1.1];']

    def node(self, index: int, n: str) -> None:
        kind = self.graph[n]["kind"]
        if kind == OP:
            self.gate(index, n)
        elif kind == CONST and not is_data(self.graph, n):
            c = self.part(f"n{index}", "node")
            self.lines.append(f'  n{index} [id="n{index}", shape=box, style="rounded,filled", '
                              f'fillcolor="{c["fill"]}", color="{c["pen"]}", '
                              f'label=<{font(self.graph.label(n), c["font"])}>{self.pinned(f"n{index}")}];')
        else:
            self.variable(index, n)

    def gate(self, index: int, n: str) -> None:
        node = self.graph[n]
        c = self.part(f"n{index}", "gate", n in self.warned)
        op = OPS[node["op"]]
        if op.gate == COMPOSITE:          # a whole statement: its name over its formula, in a box
            formula = op.text([self.graph.label(u) for u in self.graph.args[n]], node["p"])
            lines = textwrap.wrap(f"= {formula}", FORMULA_LINE, break_on_hyphens=False) or [""]   # (≤ 120
            # characters: a long statement's text keeps its start and end, builder.TEXT_LIMIT)
            top = f"<B>{font(self.graph.label(n), c['font'], 12)}</B>"
            bottom = stack(*(f'<TD ALIGN="LEFT">{font(line, c["font"], 10)}</TD>' for line in lines),
                           *self.numbers_in_box(index, n))
            shape, style = 'shape=box, margin="0.1,0.04"', ["rounded", "filled"]
        else:
            top, bottom = font(op.symbol(node["p"]), c["font"], 13), self.gate_name(n, c["font"])
            shape, style = "shape=circle, margin=0.02", ["filled"]
        label = (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0">'
                 f'<TR><TD>{top}</TD></TR><TR><TD>{bottom}</TD></TR></TABLE>')
        extra = ", penwidth=2.6" if n == self.graph.output else ""      # the output is marked
        if n in self.warned:
            extra += ", penwidth=2.5"
            style.append("dashed")
        extra += f", style={style[0]}" if len(style) == 1 else f', style="{",".join(style)}"'
        self.lines.append(f'  n{index} [id="n{index}", {shape}, '
                          f'fillcolor="{c["fill"]}", color="{c["pen"]}"{extra}, '
                          f'label=<{label}>{self.pinned(f"n{index}")}];')

    def numbers_in_box(self, index: int, n: str) -> list[str]:
        """The statement view: a statement's value and gradient in its own box (the value cell is
        its first out-edge's, so the frames reveal it when the statement is computed; the gradient
        cell is its total, as a variable's). Edges then carry only the shares that add up."""
        if not self.boxed:
            return []
        node = self.graph[n]
        out = self.graph.out_edges(n)[0] if self.graph.out_edges(n) else (n, None, 0)
        value_id, grad_id = f"v{self.drawing.edge_index[out]}", f"s{index}"
        v, s = self.part(value_id, "value"), self.part(grad_id, "sum")
        grad = font("", s["font"]) if node["grad"] is None else number_cells(node["grad"], s["font"])
        value = number_cells(node["value"], v["font"])
        return [f'<TD{self.td_id(value_id)} BGCOLOR="{v["bg"]}">{self.marked(value_id, value)}</TD>',
                f'<TD{self.td_id(grad_id)}>{self.marked(grad_id, grad)}</TD>'] + self.shares_sent(n)

    def shares_sent(self, n: str) -> list[str]:
        """`dW += …`: what the statement sends back to each input whose gradient adds up from
        several statements (the copy rule), as CS231n's code writes it."""
        rows = []
        for edge in self.graph.in_edges(n):
            u = edge[0]
            if len(self.graph.users[u]) < 2 or self.graph[u]["kind"] == CONST:
                continue
            grad_id = f"g{self.drawing.edge_index[edge]}"
            g = self.part(grad_id, "grad")
            share = self.graph.edge(*edge)["grad"]
            text = font(f"d{self.graph.label(u)} += ", g["font"], SHARE_SIZE)
            numbers = "" if share is None else number_cells(share, g["font"], SHARE_SIZE)
            rows.append(f'<TD{self.td_id(grad_id)} ALIGN="LEFT" BGCOLOR="{g["bg"]}">'
                        f'{self.marked(grad_id, side_by_side(text, numbers))}</TD>')
        return rows

    def gate_name(self, n: str, colour: str) -> str:
        """Generated names (a, b, …) small under the symbol; a name the user gave (h1) readable."""
        if self.graph[n].get("named"):
            return f"<B>{font(self.graph.label(n), colour, 10)}</B>"
        return font(self.graph.label(n), colour, 8)

    def variable(self, index: int, n: str) -> None:
        node = self.graph[n]
        c = self.part(f"n{index}", "node", n in self.warned)
        s = self.part(f"s{index}", "sum")
        value, grad = node["value"], node["grad"]
        shown = number_cells(value, self.theme.value) if in_node(value) else \
            font(shape_text(np.shape(value)), self.theme.value, 9)
        grad_cell = number_cells(grad, s["font"]) if grad is not None and in_node(grad) \
            else font("∂" if grad is None else shape_text(np.shape(grad)), s["font"], 9)
        grad_row = "" if node["kind"] == CONST else \
            f'<TR><TD{self.td_id(f"s{index}")}>{self.marked(f"s{index}", grad_cell)}</TD></TR>'
        label = (f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">'
                 f'<TR><TD>{font(self.graph.label(n), c["font"], 12)}</TD></TR>'
                 f'<TR><TD>{shown}</TD></TR>{grad_row}'
                 f'{self.after_row(index, node)}</TABLE>')
        warn = ', penwidth=2.5, style="filled,dashed"' if n in self.warned else ", style=filled"
        self.lines.append(f'  n{index} [id="n{index}", shape=box, margin="0.08,0.03", '
                          f'fillcolor="{c["fill"]}", color="{c["pen"]}"{warn}, '
                          f'label=<{label}>{self.pinned(f"n{index}")}];')

    def after_row(self, index: int, node: dict) -> str:
        """A trained parameter's new value, shown from its update frame on: `after: [[0.44]]`."""
        if "value_after" not in node or self.blank:       # a worksheet does not give the update away
            return ""
        a = self.part(f"u{index}", "value")
        new = node["value_after"]
        cells = number_cells(new, a["font"]) if np.size(new) <= SMALL_ARRAY else font(summary(new), a["font"], 9)
        heading = font(UPDATED, a["font"], 8)
        return f'<TR><TD{self.td_id(f"u{index}")}>{stack(f"<TD>{heading}</TD>", f"<TD>{cells}</TD>")}</TD></TR>'

    def edge(self, index: int, edge: tuple) -> None:
        u, v, k = edge
        attrs = self.graph.edge(*edge)
        grad = None if self.graph[u]["kind"] == CONST else attrs["grad"]   # constants need none
        if self.numbers_in_node(u):          # the node shows the numbers its edges carry
            first, second = self.layout_ends(edge)
            self.lines.append(f'  {self.node_id(first)} -> {self.node_id(second)} [id="t{index}"'
                              f'{", dir=back" if self.backwards(u, v) else ""}{self.pinned(f"t{index}")}];')
            return
        self.connect(index, self.node_id(u), self.node_id(v), attrs["value"], grad, attrs,
                     back=self.backwards(u, v), weights=self.half_weights(edge))

    def numbers_in_node(self, n: str) -> bool:
        """Whether n's box shows the numbers on its out-edges (the statement view; the grid view's
        grids): its edges are then plain arrows."""
        return self.boxed

    def half_weights(self, edge: tuple) -> tuple[int, int]:
        """How hard dot keeps each half of an edge short and straight (tail → label node, label
        node → head), for the unrolled steps in a row. Within a step, the chain of gates
        outweighs the rest; a state carried into another step keeps its label in that step's
        first column (entry_ranks), heavy outside the box and light inside, so the boxes line up
        with the chain; a shared weight's label sits at the entry of the gate it feeds (its
        numbers, what this step sends back, read there), its long half light, so that the weight's
        edges into every step do not pull the steps out of line (the spine holds them in a row).
        Elsewhere dot chooses."""
        u, v, _ = edge
        if not self.grouped:
            return 1, 1
        tail, head = self.graph[u].get("group"), self.graph[v].get("group")
        if tail is not None and tail == head:
            return (STEP_EDGE_WEIGHT, STEP_EDGE_WEIGHT) if self.graph[u]["kind"] == OP else (1, 1)
        group = self.entry_group(edge)
        if group is not None and self.carried(edge):          # a state into another step
            return (2, STEP_EDGE_WEIGHT) if self.backwards(u, v) else (STEP_EDGE_WEIGHT, 2)
        if group is not None:                     # a weight, or data, into a step
            return OUTSIDE_EDGE_WEIGHT, 2
        return 1, 1

    def output_edge(self, index: int) -> None:
        """CS231n draws the output's value and its gradient 1 on a last, dangling edge."""
        out = self.graph.output
        node = self.graph[out]
        if self.boxed:            # the statement view: the output's box shows both numbers
            return
        self.lines.append(f'  result [id="result", shape=plaintext, '
                          f'label=<{font(self.graph.label(out), self.theme.ink, 12)}>{self.pinned("result")}];')
        if self.numbers_in_node(out):
            self.lines.append(f'  {self.node_id(out)} -> result [id="t{index}"{self.pinned(f"t{index}")}];')
        else:
            self.connect(index, self.node_id(out), "result", node["value"], node["grad"])

    def connect(self, index: int, tail: str, head: str, value, grad, attrs=None, back=False,
                weights=(1, 1)) -> None:
        """Small graphs: the edge runs through a label node, value above the line, gradient below.
        Large graphs: a plain edge label (half the layout work), value over gradient. back: the
        edge is laid out from head to tail and drawn with its arrow at the head (dir=back)."""
        table = self.label_table(index, value, grad, through=not self.compact, weight=attrs or {})
        e, t, h = f"e{index}", f"t{index}", f"h{index}"        # label node, edge into it, edge out
        tied = f', color="{tie_colour(attrs["tie"])[1]}", penwidth={TIE_PEN}' if attrs and "tie" in attrs else ""
        if self.compact:
            ends = f"{head} -> {tail}" if back else f"{tail} -> {head}"
            self.lines.append(f'  {ends} [id="{t}", label=<{table}>{", dir=back" if back else ""}{tied}{self.pinned(t)}];')
            return
        into, out = ("w", "e") if self.rankdir == "LR" else ("n", "s")
        self.label_lines.append(f'  {e} [id="{e}", shape=plain, label=<{table}>{self.pinned(e)}];')
        tail_pull, head_pull = (f", weight={w}" if w != 1 else "" for w in weights)
        if back:                             # head, label node, tail from left to right
            self.lines.append(f'  {head} -> {e}:{into} [id="{h}", dir=back{head_pull}{self.pinned(h)}];')
            self.lines.append(f'  {e}:{out} -> {tail} [id="{t}", arrowhead=none{tail_pull}{self.pinned(t)}];')
            return
        self.lines.append(f'  {tail} -> {e}:{into} [id="{t}", arrowhead=none{tail_pull}{tied}{self.pinned(t)}];')
        self.lines.append(f'  {e}:{out} -> {head} [id="{h}"{head_pull}{tied}{self.pinned(h)}];')

    def label_table(self, index: int, value, grad, through: bool, weight: dict) -> str:
        """Value over gradient; a neuron-view edge adds its weight above and the weight's
        gradient below (`W1[1,2] = 0.5` … `∂L/∂W1[1,2] = 0.1`)."""
        v = self.part(f"v{index}", "value")
        g = self.part(f"g{index}", "grad")
        value_cell = self.marked(f"v{index}", number_cells(value, v["font"]))
        grad_cell = font("", g["font"]) if grad is None else self.marked(f"g{index}", number_cells(grad, g["font"]))
        if "weight" in weight:
            name, dw = weight["weight_name"], weight.get("weight_grad")
            weight_grad = font("" if dw is None else f"∂L/∂{name} = {fmt_number(dw)}", g["font"], 8)
            grad_cell = weight_grad if grad is None else stack(f"<TD>{grad_cell}</TD>", f"<TD>{weight_grad}</TD>")
        top = f'<TD{self.td_id(f"v{index}")} BGCOLOR="{v["bg"]}" CELLPADDING="2">{value_cell}</TD>'
        bottom = f'<TD{self.td_id(f"g{index}")} BGCOLOR="{g["bg"]}" CELLPADDING="2">{grad_cell}</TD>'
        if "weight" in weight:       # the weight stays shown while its value is still hidden
            name, w = weight["weight_name"], fmt_number(weight["weight"])
            ink = tie_colour(weight["tie"])[1] if "tie" in weight else self.theme.ink    # its colour's key
            line = f"<TD>{font(f'{name} = {w}', ink, 8)}</TD>"
            if "weight_after" in weight:      # and, from its update frame on, its new value
                y = self.part(f"y{index}", "value")
                new = font(f"{UPDATED} {fmt_number(weight['weight_after'])}", y["font"], 8)
                cell = f'<TD{self.td_id(f"y{index}")}>{new}</TD>'
                line = f"<TD>{stack(line, cell)}</TD>"
            top = f"<TD>{stack(line, top)}</TD>"
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
           warned=frozenset(), slide: bool = False, transparent: bool = False,
           state_of=None, pins: dict[str, str] | None = None, marks: dict[str, str] | None = None,
           blank: bool = False, writer: type | None = None) -> Drawing:
    """The DOT of the picture; writer: DotWriter or one built on it (grid.GridWriter)."""
    return (writer or DotWriter)(graph, THEMES[theme], rankdir, title, set(warned), slide, transparent,
                                 state_of, pins, marks, blank).write()
