"""Step records: what one move of a pass made known, as numbers only (captions are written later)."""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

FORWARD, BACKWARD, UPDATE = "forward", "backward", "update"
Edge = tuple[str, str, int]


class Step(NamedTuple):
    """One step of a pass. The numbers are the ones the evaluator computed with, so a caption
    writer reads them here and never recomputes. A NamedTuple: a big graph makes 20,000 of them.

    kind      numbers carried
    inputs    inputs: the leaves' values (nodes gives their names)
    gate      inputs = the arguments' values; forward: output = the gate's value;
              backward: output = the gate's gradient (upstream), grads = each in-edge's share,
              local = each in-edge's local derivative (scalar gates; empty otherwise)
    seed      output = the seed gradient at the output
    copy      grads = the out-edges' gradients, output = their sum (the copy gate adds)
    update    update = the optimizer's Update of one parameter (old, grad, new, state)
    window    one output cell (or row, or map) of a conv or pool gate, made from the gate's Step by
              explain/windows.py for the grid view; cells = where it reads and writes (Cells);
              forward: inputs = per output cell its terms ((x, k) factor pairs for a conv, the
              window's numbers for a pool), output = per output cell its value; backward: inputs
              as forward, output = per output cell its gradient d, grads = (Cell, running sum)
              for each gradient cell this step adds to; local = per output cell (its window's
              input cells, the cell a max pool routes d to or None)
    """
    phase: str                       # forward | backward | update
    kind: str                        # inputs | gate | seed | copy | update | window
    gate: str | None                 # the node worked on: highlighted in its frame
    nodes: tuple[str, ...]           # nodes whose value (forward) or gradient (backward) is now known
    edges: tuple[Edge, ...]          # edges whose value or gradient label is now known
    inputs: tuple = ()
    output: object = None
    grads: tuple = ()
    local: tuple = ()
    update: object = None
    cells: object = None             # window steps: Cells (the grid cells read and written)


class Cell(NamedTuple):
    """One number of a node's value (grad False) or of its gradient (grad True), by index."""
    node: str
    index: tuple
    grad: bool = False


class Cells(NamedTuple):
    """The cells a window step works on: `at` its output cells (indices into the gate's value),
    `reads` the cells highlighted, `writes` the cells whose number is final from this step on."""
    at: tuple
    reads: tuple
    writes: tuple


# Step(...) runs namedtuple's __new__, a Python function; the passes make a Step per gate and pass
# (20,000 on a 10,000-node graph), so they build them from all eleven fields, in order, at C speed:
# every positional construction supplies every field (one left out leaves the tuple short, and
# reading the last field raises IndexError).
step_of = partial(tuple.__new__, Step)
