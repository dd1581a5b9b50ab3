"""Frames: a pure function of (one layout, the steps so far). Only looks and captions change.

The steps are walked once to learn, for every part of the drawing (by id), the frame in which it
becomes known and the frames in which it is highlighted. A part's state in frame i follows from
those two facts, so a frame is its index and caption; its look is a short CSS block (`frame_css`)
that restyles the parts not yet known and the parts of this frame, by class.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..graph import Graph, has_gradient
from ..steps import BACKWARD, FORWARD, UPDATE, Step
from .dot import ACTIVE, HIDDEN, KNOWN, PENDING, Drawing, Part, Theme, changes

PER_GATE_LIMIT = 80               # above this many steps, frames group by topological level
MAX_FRAMES = 120                  # and levels merge until a GIF has at most about this many
NEVER = 1 << 30                   # known only in the finished picture


@dataclass(frozen=True)
class Frame:
    index: int                    # the frames' count for the finished picture
    caption: str


def group_steps(graph: Graph, steps: list[Step], policy: str) -> list[list[int]]:
    """The steps (by index) each frame shows. per-gate: one frame per step; per-level: one per
    topological generation and phase."""
    if policy == "auto":
        policy = "per-gate" if len(steps) <= PER_GATE_LIMIT else "per-level"
    if policy == "per-gate":
        return [[i] for i in range(len(steps))]
    groups: list[list[int]] = []
    last_key = None
    for i, step in enumerate(steps):
        key = (step.phase, step.kind == "inputs", level_of(graph, step))
        if key != last_key:
            groups.append([])
            last_key = key
        groups[-1].append(i)
    return merge_to_fit(steps, groups, MAX_FRAMES)


def merge_to_fit(steps: list[Step], groups: list[list[int]], limit: int) -> list[list[int]]:
    """Long chains have one gate per level: merge runs of neighbouring levels into one frame
    (never across passes, never into the inputs frame) until about `limit` frames remain."""
    if len(groups) <= limit:
        return groups
    per_frame = -(-len(groups) // limit)
    merged: list[list[int]] = []
    run = 0
    for group in groups:
        last = steps[merged[-1][0]] if merged else None
        if last and last.phase == steps[group[0]].phase and last.kind != "inputs" and run < per_frame:
            merged[-1].extend(group)
            run += 1
        else:
            merged.append(list(group))
            run = 1
    return merged


def level_of(graph: Graph, step: Step) -> int:
    return graph[step.gate]["generation"] if step.gate else -1


# ---- the timeline of parts --------------------------------------------------------------

@dataclass
class Timeline:
    """When each part becomes known and when it is highlighted: every frame's state in one place."""
    parts: dict[str, Part]
    frames: list[Frame]
    known_at: dict[str, int] = field(default_factory=dict)         # part id -> frame; -1: from the start
    active_in: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    touched: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))  # frame -> parts

    def state(self, part: Part, i: int) -> str:
        if i >= len(self.frames):                                   # the finished picture
            return KNOWN
        if i in self.active_in.get(part.id, ()):
            return ACTIVE
        if self.known_at.get(part.id, NEVER) <= i:
            return KNOWN
        return PENDING if part.kind == "gate" else HIDDEN

    def changed(self, i: int) -> set[str]:
        """The parts whose state in frame i differs from frame i - 1."""
        return self.touched.get(i, set()) | {p for p in self.touched.get(i - 1, ()) if self.active_in.get(p)}


def timeline(graph: Graph, drawing: Drawing, steps: list[Step], captions,
             groups: list[list[int]]) -> Timeline:
    """Walk the steps once; each group of steps makes one frame."""
    line = Timeline(drawing.parts, [])
    line.known_at = {p.id: -1 for p in drawing.parts.values() if p.kind == "node"}
    waiting = {n: len(graph.users[n]) for n in graph.order}   # out-edges whose gradient is unknown
    for i, group in enumerate(groups):
        for s in group:
            known, active = apply_step(graph, drawing, waiting, steps[s])
            line.touched[i].update(known, active)
            for p in known + active:
                line.known_at.setdefault(p, i)
            for p in active:
                if i not in line.active_in[p]:
                    line.active_in[p].append(i)
        line.frames.append(Frame(i, combine_captions(steps[group[0]].phase, [captions[s] for s in group])))
    return line


def apply_step(graph: Graph, drawing: Drawing, waiting: dict, step: Step) -> tuple[list[str], list[str]]:
    """The parts a step makes known, and the parts it highlights: only those the drawing has (a
    variable without a sum, a weight that was not updated, a grid node's out-edge carrying no
    numbers, a number that is not a cell), filtered here once."""
    if step.cells is not None:
        known, active = window_parts(drawing, step)
    else:
        known, active = step_parts(graph, drawing, waiting, step)
    return [p for p in known if p in drawing.parts], [p for p in active if p in drawing.parts]


def step_parts(graph: Graph, drawing: Drawing, waiting: dict, step: Step) -> tuple[list[str], list[str]]:
    label = drawing.value_id if step.phase == FORWARD else drawing.grad_id
    known, active = [], []
    for edge in step.edges:
        if step.phase == BACKWARD and not has_gradient(graph, edge[0]):
            continue                  # data's edge carries no gradient: nothing to light
        active.append(label(edge))
        if step.phase == BACKWARD:
            active += settle(graph, drawing, waiting, edge[0])
    if (step.phase == FORWARD and graph.output in step.nodes) or step.kind == "seed":
        active.append(label((graph.output, None, 0)))
    if step.gate:
        active.append(drawing.node_ids[step.gate])
    if step.kind in ("seed", "copy") and step.gate:
        known.append(drawing.sum_id(step.gate))
    if step.phase == UPDATE:          # the parameter's new value appears in its box, or under a weight
        active += [drawing.after_id(n) for n in step.nodes] + [drawing.weight_after_id(e) for e in step.edges]
    if drawing.grids:                 # a grid's numbers appear all at once, where an edge's would
        if step.phase == FORWARD and step.kind in ("inputs", "gate"):
            active += [c for n in step.nodes for c in drawing.node_cells(n, False)]
        elif step.kind in ("seed", "copy") and step.gate:
            active += drawing.node_cells(step.gate, True)
    return known, active


def window_parts(drawing: Drawing, step: Step) -> tuple[list[str], list[str]]:
    """A window step (explain/windows.py): the cells it writes become known, the cells it reads
    and writes and its gate are highlighted."""
    reads = [drawing.cell_part(c) for c in step.cells.reads]
    writes = [drawing.cell_part(c) for c in step.cells.writes]
    return writes, reads + writes + [drawing.node_ids[step.gate]]


def settle(graph: Graph, drawing: Drawing, waiting: dict, n: str) -> list[str]:
    """A variable's total gradient is shown once every gate it feeds has sent its part back
    (in the grid view: every number of its gradient grid)."""
    waiting[n] -= 1
    if waiting[n] != 0 or len(graph.users[n]) != 1:     # fan-out: the copy step shows it
        return []
    return [drawing.sum_id(n)] + drawing.node_cells(n, True)


def combine_captions(phase: str, captions: list[str]) -> str:
    if len(captions) == 1:
        return captions[0]
    head = f"{phase} · {len(captions)} steps at once: "
    parts = [c.split(" · ", 1)[-1] for c in captions]
    text = "; ".join(parts)
    return head + (text if len(text) < 300 else text[:297] + "…")


# ---- a frame's look as CSS --------------------------------------------------------------
# Each part's SVG group carries classes saying when it changes (svg.py adds them):
#   w<k>  a gate, pending until frame k      h<k>  a number, hidden until frame k (x: never)
#   a<i>  a node, highlighted in frame i      b<i>  a number's cell, highlighted in frame i
# Frame i restyles w/h classes of later frames and a/b classes of frame i: a block that grows
# with the number of frames, not with the size of the graph.

SHAPES = ("ellipse", "polygon", "path")
ROLE_CSS = {"fill": (SHAPES, "fill"), "pen": (SHAPES, "stroke"), "font": (("text",), "fill"),
            "bg": (("polygon",), "fill")}
CLASSES = {"w": ("gate", PENDING), "h": ("value", HIDDEN), "a": ("gate", ACTIVE), "b": ("value", ACTIVE)}


def css_rules(theme: Theme) -> list[dict]:
    """One rule per (class letter, element): the selector form, the declarations, and whether
    it applies to the frames after this one (w, h) or to this one (a, b). The player's script
    builds its CSS from the same list."""
    rules = []
    for letter, (kind, state) in CLASSES.items():
        by_tags: dict[tuple, list[str]] = defaultdict(list)
        for role, colour in changes(theme, kind, state).items():
            tags, prop = ROLE_CSS[role]
            by_tags[tags].append(f"{prop}:{colour}")
        for tags, declarations in by_tags.items():
            rules.append({"forms": [f".{letter}{{}}>{tag}" for tag in tags],
                          "css": ";".join(declarations), "later": letter in "wh"})
    return rules


def frame_css(rules: list[dict], i: int, count: int) -> str:
    """The CSS of frame i of count (count: the finished picture, which needs none)."""
    if i >= count:
        return ""
    later = [str(j) for j in range(i + 1, count)] + ["x"]
    out = []
    for rule in rules:
        keys = later if rule["later"] else [str(i)]
        selectors = ",".join(form.replace("{}", k) for k in keys for form in rule["forms"])
        out.append(f"{selectors}{{{rule['css']}}}")
    return "\n".join(out)


def part_classes(line: Timeline, part: Part) -> str:
    """The classes of a part's group: when it becomes known, when it is highlighted."""
    classes = []
    known = line.known_at.get(part.id, NEVER)
    if known >= 0:
        letter = "w" if part.kind == "gate" else "h"
        classes.append(f"{letter}{'x' if known == NEVER else known}")
    letter = "a" if part.kind in ("gate", "node") else "b"
    classes += [f"{letter}{i}" for i in line.active_in.get(part.id, ())]
    return " ".join(classes)
