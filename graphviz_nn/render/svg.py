"""SVG pictures from the one laid-out SVG: its parts are given their ids and classes once, and a
frame is that SVG plus a caption and a short style block, written as a join of shared pieces."""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from .dot import FONT, FONT_STACK, Theme
from .escape import escape

CAPTION_SIZE = 12.0               # points
CAPTION_LINE = 16.0
MIN_CAPTION_WIDTH = 420.0         # points: narrow graphs get a wider caption bar

SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="[^"]*"')
# Graphviz 2.43 writes a TD's ID only as the group of a link: <g id="a_v3"><a xlink:href="#" …>
# values, grads, sums, updated values; the grid view's cells (x<i>_<k> a value's number, d<i>_<k> a
# gradient's: grid.py) and its node headers (n<i>, the part a frame highlights)
CELL_LINK = re.compile(r'<g id="a_([vgsuyxdn]\d+(?:_\d+)?)"><a [^>]*>\n')
CELL_LINK_END = "</a>\n</g>\n"
NODE_GROUP = re.compile(r'<g id="(n\d+)" class="node">')


def with_part_classes(svg: str, classes: dict[str, str]) -> str:
    """The laid-out SVG with each part's group named by its id and given its classes, the
    links Graphviz needed for the ids taken out, and a font every system has. Done once."""
    svg = svg.replace(f'font-family="{FONT}"', f'font-family="{FONT_STACK}"')
    svg = CELL_LINK.sub(lambda m: group(m.group(1), classes.get(m.group(1), ""), "") + "\n", svg)
    svg = svg.replace(CELL_LINK_END, "</g>\n")
    return NODE_GROUP.sub(lambda m: group(m.group(1), classes.get(m.group(1), ""), "node "), svg)


def group(id: str, classes: str, base: str) -> str:
    names = (base + classes).strip()
    return f'<g id="{id}" class="{names}">' if names else f'<g id="{id}">'


@dataclass
class SvgTemplate:
    """The laid-out SVG cut open where the caption bar and a frame's style go."""
    head: str             # <svg …> sized for the graph and the caption bar
    graph_head: str       # <svg …> sized for the graph alone (the player)
    body: str             # the graph's group
    width: float          # points, including the caption bar's extra width
    height: float         # points, without the caption bar
    bar: float            # points: the caption bar's height (on a slide, padded to 16:9)
    shift: float          # how far the graph moves right to centre it in a wider bar
    chars_per_line: int
    caption_lines: int
    background: str
    ink: str

    def frame(self, caption: str, css: str) -> list[str]:
        """A frame's SVG as pieces to join or write; the body is shared, never copied."""
        parts = [self.head, self.background, f'<g transform="translate({self.shift:.2f} 0)">',
                 self.body, "</g>\n"]
        for i, line in enumerate(wrap(caption, self.chars_per_line)):
            y = self.height + 4 + CAPTION_SIZE + i * CAPTION_LINE
            parts.append(f'<text x="8" y="{y:.2f}" font-family="{FONT_STACK}" font-size="{CAPTION_SIZE}" '
                         f'fill="{self.ink}">{escape(line)}</text>\n')
        if css:
            parts.append(f"<style>\n{css}\n</style>\n")
        parts.append("</svg>\n")
        return parts

    def graph_only(self) -> str:
        """The graph without the caption bar (the player shows captions as text)."""
        return self.graph_head + self.body + "</svg>\n"


def svg_template(svg: str, captions: list[str], theme: Theme, transparent: bool,
                 slide: bool = False) -> SvgTemplate:
    match = SVG_SIZE.search(svg)
    width, height = float(match.group(1)), float(match.group(2))
    full_width = max(width, MIN_CAPTION_WIDTH)
    chars = max(20, int(full_width / (CAPTION_SIZE * 0.56)))
    lines = max((len(wrap(c, chars)) for c in captions), default=0)
    bar = CAPTION_LINE * lines + (8 if lines else 0)
    if slide:              # the whole picture, caption bar included, is 16:9: pad below, or widen
        bar += max(0.0, full_width * 9 / 16 - height - bar)
        full_width = max(full_width, (height + bar) * 16 / 9)
    total = height + bar
    start, end = svg.index('<g id="graph0"'), svg.rindex("</svg>")
    head = SVG_SIZE.sub(f'<svg width="{full_width:.2f}pt" height="{total:.2f}pt" '
                        f'viewBox="0.00 0.00 {full_width:.2f} {total:.2f}"', svg[:start])
    fill = "none" if transparent else theme.background
    background = f'<rect x="0" y="0" width="{full_width:.2f}" height="{total:.2f}" fill="{fill}"/>\n'
    return SvgTemplate(head, svg[:start], svg[start:end], full_width, height, bar, (full_width - width) / 2,
                       chars, lines, background, theme.ink)


def wrap(caption: str, chars: int) -> list[str]:
    return textwrap.wrap(caption, chars, break_on_hyphens=False) if caption else []
