"""Frames: a pure function of (one layout, the steps so far). Only colours and captions change.

A frame says, for every Part of the drawing, which state it is in (hidden, pending, known,
active); the colours of that state replace the Part's placeholder colours in the laid-out SVG.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from ..steps import BACKWARD, FORWARD, Step
from ..graph import OP, Graph
from .dot import FONT, FONT_STACK, Drawing, Theme
from .escape import escape

HIDDEN, PENDING, KNOWN, ACTIVE = "hidden", "pending", "known", "active"
CAPTION_SIZE = 12.0               # points
CAPTION_LINE = 16.0
MIN_CAPTION_WIDTH = 420.0         # points: narrow graphs get a wider caption bar
PER_GATE_LIMIT = 80               # above this many steps, frames group by topological level
MAX_FRAMES = 120                  # and levels merge until a GIF has at most about this many


@dataclass
class Frame:
    states: dict[str, str]        # part name -> state
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


def frame_states(graph: Graph, drawing: Drawing, steps: list[Step], captions,
                 groups: list[list[int]]) -> list[Frame]:
    """Walk the steps once, keeping the known set; each group of steps makes one frame."""
    states = initial_states(graph, drawing)
    waiting = {n: len(graph.users[n]) for n in graph.order}   # out-edges whose gradient is unknown
    frames = []
    for group in groups:
        active: list[str] = []
        for i in group:
            active += apply_step(graph, drawing, states, waiting, steps[i])
        frame = dict(states)
        for name in active:
            frame[name] = ACTIVE
        frames.append(Frame(frame, combine_captions(steps[group[0]].phase, [captions[i] for i in group])))
    return frames


def initial_states(graph: Graph, drawing: Drawing) -> dict[str, str]:
    states = {}
    for name, part in drawing.parts.items():
        if part.kind == "node":
            n = name.split(":", 1)[1]
            states[name] = PENDING if graph[n]["kind"] == OP else KNOWN
        else:
            states[name] = HIDDEN
    return states


def apply_step(graph: Graph, drawing: Drawing, states: dict, waiting: dict, step: Step) -> list[str]:
    """Mark what the step makes known; return the parts it highlights."""
    kind = "value" if step.phase == FORWARD else "grad"
    active = []
    for edge in step.edges:
        name = f"{kind}:{drawing.edge_ids[edge]}"
        states[name] = KNOWN
        active.append(name)
        if step.phase == BACKWARD:
            active += settle(graph, states, waiting, edge[0])
    output_label = f"{kind}:{drawing.edge_ids[(graph.output, None, 0)]}"
    if (step.phase == FORWARD and graph.output in step.nodes) or step.kind == "seed":
        states[output_label] = KNOWN
        active.append(output_label)
    if step.gate:
        states[f"node:{step.gate}"] = KNOWN
        active.append(f"node:{step.gate}")
    if step.kind in ("seed", "copy") and f"sum:{step.gate}" in states:
        states[f"sum:{step.gate}"] = KNOWN
    return active


def settle(graph: Graph, states: dict, waiting: dict, n: str) -> list[str]:
    """A variable's total gradient is shown once every gate it feeds has sent its part back."""
    waiting[n] -= 1
    name = f"sum:{n}"
    if waiting[n] == 0 and len(graph.users[n]) == 1 and name in states:   # fan-out: the copy step
        states[name] = KNOWN
        return [name]
    return []


def combine_captions(phase: str, captions: list[str]) -> str:
    if len(captions) == 1:
        return captions[0]
    head = f"{phase} · {len(captions)} steps at once: "
    parts = [c.split(" · ", 1)[-1] for c in captions]
    text = "; ".join(parts)
    return head + (text if len(text) < 300 else text[:297] + "…")


def final_frame(drawing: Drawing, caption: str) -> Frame:
    return Frame({name: KNOWN for name in drawing.parts}, caption)


# ---- colours ----------------------------------------------------------------------

def state_colours(theme: Theme, kind: str, state: str, warned: bool, hidden: str) -> dict[str, str]:
    """The colours of each role of a part in a state; `hidden` is "none" in SVG, "transparent" in DOT."""
    if kind == "node":
        pen = theme.warn if warned and state != PENDING else theme.ink
        return {PENDING: {"fill": theme.background, "pen": theme.pending, "font": theme.pending},
                KNOWN: {"fill": theme.node_fill, "pen": pen, "font": theme.ink},
                ACTIVE: {"fill": theme.active_fill, "pen": theme.active_pen, "font": theme.ink}}[state]
    ink = theme.value if kind == "value" else theme.grad
    if state == HIDDEN:
        return {"font": hidden, "bg": hidden}
    return {"font": ink, "bg": theme.active_fill if state == ACTIVE else hidden}


def colour_map(drawing: Drawing, frame: Frame, theme: Theme, warned: set, hidden: str) -> dict[str, str]:
    mapping = {}
    for name, part in drawing.parts.items():
        node = name.split(":", 1)[1]
        colours = state_colours(theme, part.kind, frame.states[name], node in warned, hidden)
        for role, placeholder in part.colours.items():
            mapping[placeholder] = colours[role]
    return mapping


PLACEHOLDER = re.compile(r"#0a[0-9a-f]{4}")


def recolour(text: str, mapping: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


# ---- SVG frames -------------------------------------------------------------------------

@dataclass
class SvgTemplate:
    """The laid-out SVG, cut open where the caption bar goes."""
    head: str
    body: str
    width: float          # points, including the caption bar's extra width
    height: float         # points, without the caption bar
    shift: float          # how far the graph moves right to centre it in a wider bar
    chars_per_line: int
    caption_lines: int


SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="[^"]*"')


def svg_template(svg: str, captions: list[str]) -> SvgTemplate:
    svg = svg.replace(f'font-family="{FONT}"', f'font-family="{FONT_STACK}"')
    match = SVG_SIZE.search(svg)
    width, height = float(match.group(1)), float(match.group(2))
    full_width = max(width, MIN_CAPTION_WIDTH)
    chars = max(20, int(full_width / (CAPTION_SIZE * 0.56)))
    lines = max((len(wrap(c, chars)) for c in captions), default=0)
    start = svg.index("<g id=\"graph0\"")
    end = svg.rindex("</svg>")
    return SvgTemplate(svg[:start], svg[start:end], full_width, height,
                       (full_width - width) / 2, chars, lines)


def wrap(caption: str, chars: int) -> list[str]:
    return textwrap.wrap(caption, chars, break_on_hyphens=False) if caption else []


def svg_frame(t: SvgTemplate, mapping: dict[str, str], caption: str, theme: Theme,
              transparent: bool) -> str:
    bar = CAPTION_LINE * t.caption_lines + (8 if t.caption_lines else 0)
    total = t.height + bar
    head = SVG_SIZE.sub(f'<svg width="{t.width:.2f}pt" height="{total:.2f}pt" '
                        f'viewBox="0.00 0.00 {t.width:.2f} {total:.2f}"', t.head)
    background = "none" if transparent else theme.background
    parts = [head, f'<rect x="0" y="0" width="{t.width:.2f}" height="{total:.2f}" fill="{background}"/>',
             f'<g transform="translate({t.shift:.2f} 0)">', recolour(t.body, mapping), "</g>"]
    for i, line in enumerate(wrap(caption, t.chars_per_line)):
        y = t.height + 4 + CAPTION_SIZE + i * CAPTION_LINE
        parts.append(f'<text x="8" y="{y:.2f}" font-family="{FONT_STACK}" font-size="{CAPTION_SIZE}" '
                     f'fill="{theme.ink}">{escape(line)}</text>')
    parts.append("</svg>\n")
    return "\n".join(parts)
