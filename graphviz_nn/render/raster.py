"""Raster frames without a layout or a Graphviz run per frame.

The laid-out graph is painted three times (everything pending, everything known, everything
active) from Graphviz's own drawing operations; a frame is the pending picture with the
rectangles of its known and active parts pasted in from the other two.
"""
from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from .dot import PAD_INCHES, Drawing, Theme
from .frames import (ACTIVE, CAPTION_LINE, CAPTION_SIZE, HIDDEN, KNOWN, PENDING, Frame,
                     SvgTemplate, colour_map, wrap)
from .xdraw import XdotPainter, font

MARGIN_POINTS = 1.5         # pen width around a part's drawn shapes
ACTIVE_HIDING_SUM = "active, total gradient hidden"


@dataclass
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def union(self, other: "Box") -> "Box":
        return Box(min(self.x0, other.x0), min(self.y0, other.y0),
                   max(self.x1, other.x1), max(self.y1, other.y1))


def op_box(op: dict, font_size: float) -> Box | None:
    """The extent of one xdot drawing operation, in Graphviz points (y up)."""
    kind = op["op"]
    if kind in "pPLbB":
        xs = [p[0] for p in op["points"]]
        ys = [p[1] for p in op["points"]]
        return Box(min(xs), min(ys), max(xs), max(ys))
    if kind in "eE":
        (cx, cy), (rx, ry) = op["rect"][:2], op["rect"][2:]
        return Box(cx - rx, cy - ry, cx + rx, cy + ry)
    if kind == "T":
        x, y = op["pt"]
        left = {"l": x, "c": x - op["width"] / 2, "r": x - op["width"]}[op["align"]]
        return Box(left, y - 0.3 * font_size, left + op["width"], y + 0.9 * font_size)
    return None


def colour_boxes(layout_json: dict) -> dict[str, Box]:
    """Where each colour is drawn: the union of the boxes of the operations using it."""
    boxes: dict[str, Box] = {}
    for obj in layout_json.get("objects", []) + layout_json.get("edges", []):
        for key in ("_draw_", "_ldraw_"):
            pen = fill = None
            size = 11.0
            for op in obj.get(key, []):
                if op["op"] == "c":
                    pen = op["color"][:7].lower()
                elif op["op"] == "C":
                    fill = op["color"][:7].lower()
                elif op["op"] == "F":
                    size = op["size"]
                box = op_box(op, size)
                if box is None:
                    continue
                for colour in (pen, fill if op["op"] in "PEB" else None):
                    if colour:
                        boxes[colour] = boxes[colour].union(box) if colour in boxes else box
    return boxes


def base_states(frame: Frame) -> dict[str, str]:
    return {name: (PENDING if state == PENDING else HIDDEN if state == HIDDEN else KNOWN)
            for name, state in frame.states.items()}


class LazyImages(dict):
    """The pictures of each state, painted the first time a frame needs them."""

    def __init__(self, paint):
        super().__init__()
        self.paint = paint

    def __missing__(self, state: str) -> Image.Image:
        image = self[state] = self[PENDING] if state == HIDDEN else self.paint(state)
        return image


class Rasterizer:
    """Raster frames: three pictures painted from the layout, a frame pasted together from them."""

    def __init__(self, layout, drawing: Drawing, first: Frame, theme: Theme, warned: set,
                 template: SvgTemplate, dpi: int):
        self.drawing, self.theme, self.template = drawing, theme, template
        self.scale = dpi / 72.0
        self.base = base_states(first)
        offset = PAD_INCHES * 72
        painter = XdotPainter(layout.json, dpi, offset)
        variants = {PENDING: self.base, KNOWN: {n: KNOWN for n in self.base},
                    ACTIVE: self.active_everything(KNOWN), ACTIVE_HIDING_SUM: self.active_everything(HIDDEN)}
        self.images = LazyImages(lambda state: painter.paint(self.colour_function(variants[state], warned),
                                                              theme.background))
        self.regions = self.part_regions(colour_boxes(layout.json), layout.bounding_box[1], offset)
        self.font = font(round(CAPTION_SIZE * self.scale))

    def colour_function(self, states: dict, warned: set):
        mapping = colour_map(self.drawing, Frame(states, ""), self.theme, warned, "none")

        def colour_of(colour: str) -> str:
            if len(colour) == 9 and colour.endswith("00"):         # fully transparent
                return "none"
            return mapping.get(colour[:7].lower(), colour[:7])
        return colour_of

    def variant_images(self) -> list[Image.Image]:
        return [self.images[PENDING], self.images[KNOWN], self.images[ACTIVE]]

    def active_everything(self, sums: str) -> dict[str, str]:
        return {n: (sums if part.kind == "sum" else ACTIVE) for n, part in self.drawing.parts.items()}

    def part_regions(self, boxes: dict[str, Box], height: float, pad: float) -> dict[str, tuple]:
        s, m = self.scale, MARGIN_POINTS
        regions = {}
        for name, part in self.drawing.parts.items():
            found = [boxes[c] for c in part.colours.values() if c in boxes]
            if not found:
                continue
            box = found[0]
            for b in found[1:]:
                box = box.union(b)
            regions[name] = (int((box.x0 - m + pad) * s), int((height - box.y1 - m + pad) * s),
                             int((box.x1 + m + pad) * s) + 1, int((height - box.y0 + m + pad) * s) + 1)
        return regions

    def graph_image(self, frame: Frame) -> Image.Image:
        """The pending picture with every part not in its pending state pasted in. A variable's
        box holds its total gradient (a part of its own), so the box comes from the picture
        whose total-gradient state matches."""
        image = self.images[PENDING].copy()
        pasted_nodes = set()
        for name, region in self.regions.items():
            state = frame.states[name]
            if name.startswith("sum:") and "node:" + name[4:] in pasted_nodes or state == self.base[name]:
                continue
            if state == ACTIVE and frame.states.get("sum:" + name[5:]) == HIDDEN:
                state = ACTIVE_HIDING_SUM
            image.paste(self.images[state].crop(region), region[:2])
            if name.startswith("node:"):
                pasted_nodes.add(name)
        return image

    def frame(self, frame: Frame) -> Image.Image:
        graph = self.graph_image(frame)
        t, s = self.template, self.scale
        bar = CAPTION_LINE * t.caption_lines + (8 if t.caption_lines else 0)
        canvas = Image.new("RGB", (round(t.width * s), graph.height + round(bar * s)), self.theme.background)
        canvas.paste(graph, (round(t.shift * s), 0))
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(wrap(frame.caption, t.chars_per_line)):
            y = graph.height + (4 + i * CAPTION_LINE) * s
            draw.text((8 * s, y), line, fill=self.theme.ink, font=self.font)
        return canvas


def write_gif(images: list[Image.Image], path, durations: list[int], palette_from: list[Image.Image]) -> None:
    """One global palette for every frame and no dithering: text stays crisp, nothing flickers."""
    sample = Image.new("RGB", (max(i.width for i in palette_from), sum(i.height for i in palette_from)))
    y = 0
    for image in palette_from:
        sample.paste(image, (0, y))
        y += image.height
    palette = distinct_palette(sample)
    frames = [i.quantize(palette=palette, dither=Image.Dither.NONE) for i in images]
    # Pillow writes a global colour table only when given the palette, and remaps quickly
    # only when its colours are distinct: hence distinct_palette.
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False, disposal=1, palette=palette.getpalette())


def distinct_palette(sample: Image.Image) -> Image.Image:
    """The sample's palette with repeated entries (unused ones) moved to colours of their own."""
    palette = sample.quantize(colors=255, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    rgb = palette.getpalette()
    seen, distinct = set(), []
    for i in range(0, len(rgb), 3):
        colour = tuple(rgb[i:i + 3])
        while colour in seen:
            colour = ((colour[0] + 1) % 256, (colour[1] + 7) % 256, (colour[2] + 13) % 256)
        seen.add(colour)
        distinct += colour
    palette.putpalette(distinct)
    return palette
