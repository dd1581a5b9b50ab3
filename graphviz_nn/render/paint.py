"""Paints the laid-out SVG with Pillow, each part in the look of a chosen state: raster pictures
without another Graphviz run. Graphviz's SVG uses few elements (polygon, ellipse, path of cubic
Béziers, polyline, text); parts are the groups with our ids, found once when the SVG is read."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from .dot import Part

SVG = "{http://www.w3.org/2000/svg}"
BEZIER_STEPS = 12
FONT_FILES = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "Arial.ttf")
INVISIBLE = {"none", "transparent"}
NUMBER = re.compile(r"-?\d*\.?\d+(?:e-?\d+)?")
NODE_SHAPES = {"ellipse": ("fill", "pen"), "polygon": ("fill", "pen"), "path": ("fill", "pen"),
               "text": ("font", None)}
CELL_SHAPES = {"polygon": ("bg", None), "text": ("font", None)}


@lru_cache(maxsize=64)
def font(size_px: int):
    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size_px, layout_engine=ImageFont.Layout.BASIC)   # no shaping: fast
        except OSError:
            continue
    return ImageFont.load_default()


def room(text: str, size: float) -> float:
    """The width Graphviz gives a text, in points: measured hinted at 96 dpi, where digits at 10
    and 11 pt come out up to 5% narrower than they are drawn at any larger scale."""
    return font(int(size * 96 / 72)).getlength(text) * 72 / 96 if text.strip() else 0.0


@lru_cache(maxsize=4096)
def pixel_size(text: str, size_px: float, room_px: float) -> int:
    """The largest whole font size, at most size_px, that draws the text within room_px: numbers
    set side by side must not run together or cross a border (Pillow rounds glyph advances to
    whole pixels, which widens small text too)."""
    px = max(1, int(size_px))
    while px > 1 and font(px).getlength(text) > room_px + 0.5:
        px -= 1
    return px


@dataclass
class Shape:
    tag: str
    part: Part | None
    roles: tuple            # (role of its fill, role of its stroke), or None where no part changes it
    points: list            # in points, y down; a text's anchor; an ellipse's centre and radii
    fill: str
    stroke: str
    width: float
    text: str = ""
    size: float = 14.0      # points, the picture's scale applied
    anchor: str = "ls"
    room: float = 0.0       # a text's width as Graphviz measured it, in points, scale applied


def bezier(points: list) -> list[tuple[float, float]]:
    """Sample a piecewise cubic Bézier curve (1 + 3k control points) into a polyline."""
    out = [tuple(points[0])]
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i:i + 4]
        for s in range(1, BEZIER_STEPS + 1):
            t = s / BEZIER_STEPS
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


def pairs(text: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in NUMBER.findall(text)]
    return list(zip(numbers[::2], numbers[1::2]))


class Picture:
    """The laid-out SVG read once: its size, its shapes in drawing order, each part's box."""

    def __init__(self, svg: str, parts: dict[str, Part]):
        root = ET.fromstring(svg.encode())
        self.width = float(root.get("width")[:-2])          # "123.45pt"
        self.height = float(root.get("height")[:-2])
        graph = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "graph0")
        scale, translate = re.search(r"scale\(([^)]*)\).*translate\(([^)]*)\)", graph.get("transform")).groups()
        self.scale = pairs(scale)[0]
        self.translate = pairs(translate)[0]
        self.parts = parts
        self.shapes: list[Shape] = []
        self.inner: dict[str, list[str]] = {}       # a box's own parts: a statement's numbers, a grid's cells
        self.read(graph, None)
        self.boxes = self.part_boxes()

    def read(self, element, part: Part | None) -> None:
        for child in element:
            tag = child.tag[len(SVG):]
            if tag == "g":
                inner = self.parts.get(child.get("id"))
                if inner is not None and part is not None and part.kind in ("gate", "node"):
                    self.inner.setdefault(part.id, []).append(inner.id)
                self.read(child, inner or part)
            elif tag in ("polygon", "ellipse", "path", "polyline", "text"):
                self.shapes.append(self.shape(tag, child, part))

    def shape(self, tag: str, e, part: Part | None) -> Shape:
        table = {} if part is None else NODE_SHAPES if part.kind in ("gate", "node") else CELL_SHAPES
        roles = table.get(tag, (None, None))
        (sx, sy), (tx, ty) = self.scale, self.translate
        at = lambda x, y: (sx * (x + tx), sy * (y + ty))
        s = Shape(tag, part, roles, [], e.get("fill", "black"), e.get("stroke", "none"),
                  float(e.get("stroke-width", 1)) * sx)
        if tag in ("polygon", "polyline"):
            s.points = [at(x, y) for x, y in pairs(e.get("points"))]
        elif tag == "path":
            s.points = [at(x, y) for x, y in bezier(pairs(e.get("d")))]
        elif tag == "ellipse":
            cx, cy = at(float(e.get("cx")), float(e.get("cy")))
            s.points = [(cx, cy), (float(e.get("rx")) * sx, float(e.get("ry")) * sy)]
        else:
            s.points = [at(float(e.get("x")), float(e.get("y")))]
            s.text, size = e.text or "", float(e.get("font-size", 14))
            s.size, s.room = size * sx, room(s.text, size) * sx
            s.anchor = {"start": "ls", "middle": "ms", "end": "rs"}[e.get("text-anchor", "start")]
        return s

    def part_boxes(self) -> dict[str, tuple[float, float, float, float]]:
        """Each part's box in points: a node's outline (pen included), a number's cell."""
        boxes: dict[str, tuple] = {}
        for s in self.shapes:
            if s.part is None or s.tag == "text" or s.part.kind == "sum":
                continue
            if s.tag == "ellipse":
                (cx, cy), (rx, ry) = s.points
                x0, y0, x1, y1 = cx - rx, cy - ry, cx + rx, cy + ry
            else:
                xs, ys = [p[0] for p in s.points], [p[1] for p in s.points]
                x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
            pen = s.width if s.stroke not in INVISIBLE else 0
            box = (x0 - pen, y0 - pen, x1 + pen, y1 + pen)
            old = boxes.get(s.part.id)
            boxes[s.part.id] = box if old is None else (min(old[0], box[0]), min(old[1], box[1]),
                                                        max(old[2], box[2]), max(old[3], box[3]))
        return boxes


def paint(picture: Picture, look, background: str, dpi: float, supersample: int) -> Image.Image:
    """The picture at dpi, each part's colours changed by look(part) -> {role: colour}. Lines
    and shapes are drawn at `supersample` times the size and scaled down (smooth edges); text
    is drawn afterwards at the final size (FreeType smooths it, and it stays sharp)."""
    looks: dict[str, dict] = {}

    def colours(s: Shape) -> tuple:
        change = {} if s.part is None else looks.get(s.part.id)
        if change is None:
            change = looks[s.part.id] = look(s.part)
        fill = change.get(s.roles[0], s.fill) if s.roles[0] else s.fill
        stroke = change.get(s.roles[1], s.stroke) if s.roles[1] else s.stroke
        return None if fill in INVISIBLE else fill, None if stroke in INVISIBLE else stroke

    k = dpi / 72.0
    size = (round(picture.width * k), round(picture.height * k))
    image = Image.new("RGB", (size[0] * supersample, size[1] * supersample), background)
    draw = ImageDraw.Draw(image)
    for s in picture.shapes:
        if s.tag != "text":
            draw_shape(draw, s, k * supersample, *colours(s))
    if supersample > 1:
        image = image.reduce(supersample)
        draw = ImageDraw.Draw(image)
    for s in picture.shapes:
        if s.tag == "text":
            draw_shape(draw, s, k, *colours(s))
    return image


def draw_shape(draw: ImageDraw.ImageDraw, s: Shape, k: float, fill, stroke) -> None:
    width = max(1, round(s.width * k))
    if s.tag == "text":
        if fill and s.text.strip():
            x, y = s.points[0]
            draw.text((x * k, y * k), s.text, fill=fill,
                      font=font(pixel_size(s.text, s.size * k, s.room * k)), anchor=s.anchor)
    elif s.tag == "ellipse" and (fill or stroke):
        (cx, cy), (rx, ry) = s.points
        draw.ellipse(((cx - rx) * k, (cy - ry) * k, (cx + rx) * k, (cy + ry) * k),
                     fill=fill, outline=stroke, width=width)
    elif s.tag == "polyline" or (s.tag == "path" and not fill):
        if stroke:
            draw.line([(x * k, y * k) for x, y in s.points], fill=stroke, width=width, joint="curve")
    elif fill or stroke:
        draw.polygon([(x * k, y * k) for x, y in s.points], fill=fill, outline=stroke, width=width)
