"""The grid view: small matrices drawn as number grids inside their nodes, one part per number.

A node whose value is a small matrix (an image, a kernel, a feature map; a conv layer's bias, as a
row) is a box: its header (a variable's name; a gate's symbol and name, in a rounded cell: the part
n<i> a frame highlights), the grid of its value and under it the grid of its gradient. C×H×W values are C maps side by side
(labelled [0], [1], …), N×C×H×W (F×C×kh×kw kernels) N rows of C maps. Every number is a part of its
own, x<i>_<k> for the k-th number (row-major) of node n<i>'s value and d<i>_<k> for its gradient's,
so a frame can light a window or reveal one number (frames.py); the edges out of such a node carry
no numbers, the node shows them. Values with more than GRID_MAX_SIDE rows or columns in a map or
more than GRID_MAX_CELLS numbers, vectors and numbers keep the ordinary drawing (dot.py).

The cells have no borders: the grid lines are the map's background seen through the cell spacing,
so neighbouring cells never overlap (a raster frame pastes each cell on its own).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import CONST, derivative, has_gradient, is_data
from ..numfmt import fmt_number
from ..ops import OPS
from .dot import DotWriter, font

GRID_MAX_SIDE = 16          # rows or columns of one map
GRID_MAX_CELLS = 256        # numbers in a node's value
NUMBER_SIZE = 10            # points
CHAR_WIDTH = 6.4            # points per character of a number at NUMBER_SIZE (DejaVu Sans digits)
CELL_HEIGHT = 16            # points
LINE_WIDTH = 2              # points between cells: the grid lines (1 would vanish in rasters without
                            # supersampling, where Pillow's polygons cover their edge pixels)


def gridded(value) -> bool:
    """Whether a value is drawn as a grid: a matrix or a stack of matrices of readable size."""
    shape = np.shape(value)
    if not 2 <= len(shape) <= 4:
        return False
    size = int(np.prod(shape))
    return 0 < size <= GRID_MAX_CELLS and max(shape[-2:]) <= GRID_MAX_SIDE


@dataclass(frozen=True)
class Grid:
    """Where a node's numbers are: its index in the drawing, its value's shape, and whether a
    gradient grid is drawn under the value's (data has none)."""
    index: int
    shape: tuple
    grad: bool

    def cell_id(self, index: tuple, grad: bool = False) -> str:
        flat = int(np.ravel_multi_index(tuple(int(i) for i in index), self.shape))
        return f"{'d' if grad else 'x'}{self.index}_{flat}"

    def cell_ids(self, grad: bool = False) -> list[str]:
        letter = "d" if grad else "x"
        return [f"{letter}{self.index}_{k}" for k in range(int(np.prod(self.shape)))]

    def whole_id(self, grad: bool = False) -> str:
        """The whole grid, as a worksheet numbers it: x<i> or d<i>."""
        return f"{'d' if grad else 'x'}{self.index}"


def has_grids(graph) -> bool:
    """Whether the grid view draws anything of this graph as a grid."""
    return any(drawn_as_grid(graph, n) for n in graph.order)


def drawn_as_grid(graph, n: str) -> bool:
    node = graph[n]
    if node["kind"] == CONST and not is_data(graph, n):
        return False                      # a literal constant: a parameter of its gate
    return node.get("value") is not None and (gridded(node["value"]) or conv_bias(graph, n))


def conv_bias(graph, n: str) -> bool:
    """A conv layer's bias (one number per filter, conv2d_bias's third input) is a row of cells,
    so that a window lights its filter's entry and adds to its gradient cell by cell."""
    value = graph[n]["value"]
    return np.ndim(value) == 1 and 0 < np.size(value) <= GRID_MAX_SIDE and \
        any(graph[v]["op"] == "conv2d_bias" and arg == 2 for v, arg in graph.users.get(n, ()))


class GridWriter(DotWriter):
    """DotWriter with matrices as grids in their nodes; everything else drawn as DotWriter does."""

    def gate(self, index: int, n: str) -> None:
        if not drawn_as_grid(self.graph, n):
            return super().gate(index, n)
        node = self.graph[n]
        c = self.part(f"n{index}", "gate", n in self.warned)
        symbol = OPS[node["op"]].symbol(node["p"])
        mark = f" {font(self.marks[f'x{index}'], self.theme.ink, 9)}" if f"x{index}" in self.marks else ""
        head = (f'<TD{self.td_id(f"n{index}")} BGCOLOR="{c["fill"]}" COLOR="{c["pen"]}" BORDER="1" '
                f'STYLE="rounded" CELLPADDING="3">{font(symbol, c["font"], 12)} '
                f'{self.gate_name(n, c["font"])}{mark}</TD>')
        pen = 2.6 if n == self.graph.output else 1.2
        self.box(index, n, head, "rounded,filled", pen)

    def variable(self, index: int, n: str) -> None:
        if not drawn_as_grid(self.graph, n):
            return super().variable(index, n)
        c = self.part(f"n{index}", "node", n in self.warned)
        head = (f'<TD{self.td_id(f"n{index}")} BGCOLOR="{c["fill"]}" CELLPADDING="2">'
                f'{font(self.graph.label(n), c["font"], 12)}</TD>')
        self.box(index, n, head, "filled", 1.2)

    def box(self, index: int, n: str, head: str, style: str, pen: float) -> None:
        """The node: its header over its value grid over its gradient grid (and, after a training
        step, the parameter's new value)."""
        node = self.graph[n]
        grid = Grid(index, tuple(np.shape(node["value"])), has_gradient(self.graph, n))
        self.drawing.grids[n] = grid
        width = cell_width(node["value"], node["grad"] if grid.grad else None)
        rows = [head, f'<TD ALIGN="CENTER">{self.maps(grid, node["value"], False, width)}</TD>']
        if grid.grad:
            name = derivative(self.graph, self.graph.label(n))
            rows += [f'<TD ALIGN="CENTER">{self.heading(grid.whole_id(True), name)}</TD>',
                     f'<TD ALIGN="CENTER">{self.maps(grid, node["grad"], True, width)}</TD>']
        after = self.after_row(index, node)
        table = ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="0">'
                 + "".join(f"<TR>{r}</TR>" for r in rows) + after + "</TABLE>")
        warned = n in self.warned
        colour = self.theme.warn if warned else self.theme.ink
        dashed = ",dashed" if warned else ""
        self.lines.append(f'  n{index} [id="m{index}", shape=box, style="{style}{dashed}", '
                          f'fillcolor="{self.theme.node_fill}", color="{colour}", '
                          f'penwidth={2.5 if warned else pen}, margin="0.06,0.04", '
                          f'label=<{table}>{self.pinned(f"n{index}")}];')

    def heading(self, whole: str, name: str) -> str:
        """A gradient grid's title; on a worksheet its number, `(3) ∂c/∂X` (a gate's value grid has
        its number in the gate's header, `conv a (2)`)."""
        mark = f"{self.marks[whole]} " if whole in self.marks else ""
        return font(mark + name, self.theme.grad, 9)

    def maps(self, grid: Grid, values, grad: bool, width: int) -> str:
        """A value (or gradient) as its maps: one, a row of C, or N rows of C."""
        a = np.asarray(values, dtype=float).reshape(grid.shape)
        lead = grid.shape[:-2]
        if a.ndim == 1:                   # a bias: one row
            return self.map_table(grid, a[None], (), grad, width)
        if not lead:
            return self.map_table(grid, a, (), grad, width)
        rows = [[(c,) for c in range(lead[0])]] if len(lead) == 1 else \
            [[(n, c) for c in range(lead[1])] for n in range(lead[0])]
        lines = []
        for row in rows:
            cells = []
            for at in row:
                title = "" if grad else f"<TR><TD>{font('[' + ','.join(map(str, at)) + ']', self.theme.ink, 8)}</TD></TR>"
                body = self.map_table(grid, a[at], at, grad, width)
                cells.append(f'<TD><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
                             f"{title}<TR><TD>{body}</TD></TR></TABLE></TD>")
            lines.append("<TR>" + "".join(cells) + "</TR>")
        return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="4" CELLPADDING="0">{"".join(lines)}</TABLE>'

    def map_table(self, grid: Grid, a: np.ndarray, at: tuple, grad: bool, width: int) -> str:
        """One H×W map, a part per number; the grid lines are the table's background."""
        blank = self.blank and grid.whole_id(grad) in self.marks
        kind = "grad" if grad else "value"
        rows = []
        for r in range(a.shape[0]):
            cells = []
            for col in range(a.shape[1]):
                id = grid.cell_id((col,) if len(grid.shape) == 1 else at + (r, col), grad)
                look = self.part(id, kind)
                bg = self.theme.node_fill if look["bg"] == "transparent" else look["bg"]
                text = "" if blank else fmt_number(a[r, col])
                cells.append(f'<TD{self.td_id(id)} BGCOLOR="{bg}" WIDTH="{width}" HEIGHT="{CELL_HEIGHT}" '
                             f'FIXEDSIZE="TRUE" ALIGN="RIGHT">{font(text, look["font"], NUMBER_SIZE)}</TD>')
            rows.append("<TR>" + "".join(cells) + "</TR>")
        # a fixed size: a table in a wider cell would be stretched (a 1×1 map as wide as its node)
        line = LINE_WIDTH
        size = (f'WIDTH="{a.shape[1] * (width + line) + line}" '
                f'HEIGHT="{a.shape[0] * (CELL_HEIGHT + line) + line}"')
        return (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="{line}" CELLPADDING="1" FIXEDSIZE="TRUE" {size} '
                f'BGCOLOR="{self.theme.pending}">{"".join(rows)}</TABLE>')

    def numbers_in_node(self, n: str) -> bool:
        """An edge out of a grid node is a plain arrow: the node shows the numbers it carries."""
        return n in self.drawing.grids or super().numbers_in_node(n)


def cell_width(value, grad) -> int:
    """One width for every cell of a node, its value's and its gradient's: the grids align."""
    numbers = [np.asarray(value, dtype=float).ravel()] + ([np.asarray(grad, dtype=float).ravel()]
                                                          if grad is not None else [])
    longest = max(len(fmt_number(x)) for a in numbers for x in a)
    return round(max(2, longest) * CHAR_WIDTH + 4)
