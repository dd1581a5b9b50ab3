"""Draws Graphviz's xdot operations (from `dot -Tjson`) with Pillow: raster pictures without
another Graphviz run. Drawn at twice the size and scaled down, so lines and text are smooth."""
from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

SUPERSAMPLE = 2
BEZIER_STEPS = 12
FONT_FILES = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "Arial.ttf")
INVISIBLE = {"none", "transparent"}


@lru_cache(maxsize=64)
def font(size_px: int):
    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size_px)
        except OSError:
            continue
    return ImageFont.load_default()


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


class XdotPainter:
    """Paints the operations of a laid-out graph onto an image, colours mapped by a function."""

    def __init__(self, layout_json: dict, dpi: int, offset: float):
        self.json = layout_json
        self.scale = dpi / 72.0 * SUPERSAMPLE
        self.offset = offset                     # points of margin around the bounding box
        x0, y0, x1, y1 = (float(v) for v in layout_json["bb"].split(","))
        self.height = y1
        self.size = (round((x1 + 2 * offset) * dpi / 72.0), round((y1 + 2 * offset) * dpi / 72.0))

    def point(self, x: float, y: float) -> tuple[float, float]:
        return ((x + self.offset) * self.scale, (self.height - y + self.offset) * self.scale)

    def paint(self, colour_of, background: str) -> Image.Image:
        big = Image.new("RGB", (self.size[0] * SUPERSAMPLE, self.size[1] * SUPERSAMPLE), background)
        draw = ImageDraw.Draw(big)
        # the graph's own _draw_ is only its background, painted above
        for edge in self.json.get("edges", []):
            for key in ("_draw_", "_hdraw_", "_tdraw_", "_ldraw_"):
                self.run(draw, edge.get(key, []), colour_of)
        for obj in self.json.get("objects", []):
            for key in ("_draw_", "_ldraw_"):
                self.run(draw, obj.get(key, []), colour_of)
        self.run(draw, self.json.get("_ldraw_", []), colour_of)
        return big.reduce(SUPERSAMPLE)

    def run(self, draw: ImageDraw.ImageDraw, ops: list, colour_of) -> None:
        pen, fill, width, size = "#000000", "#000000", 1.0, 14.0
        for op in ops:
            kind = op["op"]
            if kind == "c":
                pen = colour_of(op["color"])
            elif kind == "C":
                fill = colour_of(op["color"])
            elif kind == "S" and op["style"].startswith("setlinewidth("):
                width = float(op["style"][13:-1])
            elif kind == "F":
                size = op["size"]
            else:
                self.shape(draw, op, pen, fill, width, size)

    def shape(self, draw, op: dict, pen: str, fill: str, width: float, size: float) -> None:
        kind = op["op"]
        line = max(1, round(width * self.scale))
        fill = None if kind.islower() or fill in INVISIBLE else fill
        pen = None if pen in INVISIBLE else pen
        if pen is None and fill is None:            # Pillow would use its default ink
            return
        if kind in "eE":
            cx, cy, rx, ry = op["rect"]
            (x0, y0), (x1, y1) = self.point(cx - rx, cy + ry), self.point(cx + rx, cy - ry)
            draw.ellipse((x0, y0, x1, y1), fill=fill, outline=pen, width=line)
        elif kind in "pP":
            points = [self.point(*p) for p in op["points"]]
            draw.polygon(points, fill=fill, outline=pen, width=line)
        elif kind in "bBL":
            raw = op["points"] if kind == "L" else bezier(op["points"])
            if pen:
                draw.line([self.point(*p) for p in raw], fill=pen, width=line, joint="curve")
        elif kind == "T" and pen:
            x, y = self.point(*op["pt"])
            anchor = {"l": "ls", "c": "ms", "r": "rs"}[op["align"]]
            draw.text((x, y), op["text"], fill=pen, font=font(round(size * self.scale)), anchor=anchor)
