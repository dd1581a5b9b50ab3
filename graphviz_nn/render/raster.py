"""Raster frames (GIF, PNG) without a layout or a Graphviz run per frame, in bounded memory.

The laid-out picture is painted once per look (every part as before it is known, everything
known, everything highlighted); frame i is frame i - 1 with the parts that changed pasted in from
those pictures, so frames come one at a time and go straight to the file. Pictures are capped in
pixels: big graphs are drawn at a lower dpi.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

from PIL import GifImagePlugin, Image, ImageChops, ImageColor, ImageDraw

from .dot import ACTIVE, HIDDEN, KNOWN, PENDING, Part, Theme, changes
from .frames import Timeline
from .paint import Picture, font, paint
from .svg import CAPTION_LINE, CAPTION_SIZE, SvgTemplate, wrap

PICTURE_MAX_PIXELS = 12_000_000     # PNG pictures
GIF_MAX_PIXELS = 2_500_000          # a GIF frame: bigger GIFs are slow to load and to step through
MIN_GIF_DPI = 30                    # below, the numbers are unreadable: no GIF
SUPERSAMPLE_UP_TO = 1_000_000       # pixels: smaller pictures are drawn at twice the size, smoother
TRANSPARENT_INDEX = 255             # GIF: a delta frame's unchanged pixels
SPLIT_MS = 20                       # GIF: the graph's change shown this long before the caption's
SPLIT_ABOVE = 250_000               # GIF: unchanged pixels a split saves (≈ 1 byte per 50 pixels)

BEFORE, ALL_KNOWN, ALL_ACTIVE, ACTIVE_HIDING_SUMS = "before", "known", "active", "active-hiding-sums"
KNOWN_HIDING_SUMS = "known-hiding-sums"
KNOWN_BLANK, ACTIVE_BLANK = "known-blank", "active-blank"          # boxes without their numbers
NUMBERS = ("value", "grad", "sum")
BLANK = {ALL_KNOWN: KNOWN_BLANK, KNOWN_HIDING_SUMS: KNOWN_BLANK, ALL_ACTIVE: ACTIVE_BLANK,
         ACTIVE_HIDING_SUMS: ACTIVE_BLANK}


def fitted_dpi(template: SvgTemplate, dpi: int, max_pixels: int) -> int:
    """dpi, lowered until a frame (graph and caption bar) has at most max_pixels."""
    pixels = template.width * (template.height + template.bar) * (dpi / 72.0) ** 2
    return dpi if pixels <= max_pixels else int(dpi * math.sqrt(max_pixels / pixels))


def before(part: Part) -> str:
    return {"gate": PENDING, "node": KNOWN}.get(part.kind, HIDDEN)


LOOKS = {BEFORE: before, ALL_KNOWN: lambda p: KNOWN,
         ALL_ACTIVE: lambda p: KNOWN if p.kind == "sum" else ACTIVE,
         ACTIVE_HIDING_SUMS: lambda p: HIDDEN if p.kind == "sum" else ACTIVE,
         KNOWN_HIDING_SUMS: lambda p: HIDDEN if p.kind == "sum" else KNOWN,
         KNOWN_BLANK: lambda p: HIDDEN if p.kind in NUMBERS else KNOWN,
         ACTIVE_BLANK: lambda p: HIDDEN if p.kind in NUMBERS else ACTIVE}


class Rasterizer:
    """Raster frames of one layout at one dpi, in RGB or (for the GIF) as palette indices."""

    def __init__(self, picture: Picture, template: SvgTemplate, line: Timeline, theme: Theme, dpi: int):
        self.picture, self.template, self.line, self.theme = picture, template, line, theme
        self.k = dpi / 72.0
        self.supersample = 2 if picture.width * picture.height * self.k ** 2 <= SUPERSAMPLE_UP_TO else 1
        self.dpi = dpi
        self.images: dict[str, Image.Image] = {}
        self.convert = lambda image: image          # to the frames' mode (GIF: palette indices)
        self.ink_of = None                          # GIF: caption coverage -> palette index
        self.font = font(round(CAPTION_SIZE * self.k))
        self.sums = {p.id: "s" + p.id[1:] for p in line.parts.values()     # a box holding a total:
                     if p.kind in ("node", "gate") and "s" + p.id[1:] in line.parts}   # a variable, a statement
        self.owner = {total: node for node, total in self.sums.items()}

    def look(self, name: str) -> Image.Image:
        """The picture with every part in one look, painted the first time it is needed."""
        if name not in self.images:
            state_of = LOOKS[name]
            image = paint(self.picture, lambda p: changes(self.theme, p.kind, state_of(p)),
                          self.theme.background, self.dpi, self.supersample)
            self.images[name] = self.convert(image)
        return self.images[name]

    def use_palette(self, palette: Image.Image) -> None:
        """From now on frames are palette indices (mode L) of this palette."""
        self.images = {n: indices(im.quantize(palette=palette, dither=Image.Dither.NONE))
                       for n, im in self.images.items()}
        self.convert = lambda image: indices(image.quantize(palette=palette, dither=Image.Dither.NONE))
        ink, background = ImageColor.getrgb(self.theme.ink), ImageColor.getrgb(self.theme.background)
        blends = Image.new("RGB", (256, 1))
        blends.putdata([tuple(round(b + (i - b) * a / 255) for i, b in zip(ink, background)) for a in range(256)])
        self.ink_of = list(self.convert(blends).tobytes())     # one remap, for every caption

    def source(self, part: Part, i: int) -> str:
        """Which look to paste a part from in frame i. A variable's box holds its total
        gradient, so the box comes from the look whose total-gradient state matches."""
        state = self.line.state(part, i)
        if part.kind in ("value", "grad"):
            return {HIDDEN: BEFORE, KNOWN: ALL_KNOWN, ACTIVE: ALL_ACTIVE}[state]
        total = self.sums.get(part.id)
        hidden = total is not None and self.line.state(self.line.parts[total], i) == HIDDEN
        if state == ACTIVE:
            return ACTIVE_HIDING_SUMS if hidden else ALL_ACTIVE
        if state == PENDING:
            return BEFORE
        return (BEFORE if part.kind == "node" else KNOWN_HIDING_SUMS) if hidden else ALL_KNOWN

    def region(self, part_id: str) -> tuple[int, int, int, int] | None:
        box = self.picture.boxes.get(part_id)
        if box is None:
            return None
        k = self.k
        return (max(0, round(box[0] * k)), max(0, round(box[1] * k)), round(box[2] * k), round(box[3] * k))

    def canvas(self, graph: Image.Image) -> Image.Image:
        t, k = self.template, self.k
        fill = self.convert(Image.new("RGB", (1, 1), self.theme.background)).getpixel((0, 0))
        out = Image.new(graph.mode, (round(t.width * k), graph.height + round(t.bar * k)), fill)
        out.paste(graph, (round(t.shift * k), 0))
        return out

    def caption(self, canvas: Image.Image, text: str) -> None:
        """Draw the caption in the bar under the graph: its coverage as a mask, then the ink
        pasted through it (or, for the GIF, each coverage level mapped to its palette index)."""
        top = self.look(BEFORE).height
        if canvas.height <= top:
            return
        mask = Image.new("L", (canvas.width, canvas.height - top), 0)
        draw = ImageDraw.Draw(mask)
        for n, line in enumerate(wrap(text, self.template.chars_per_line)):
            draw.text((8 * self.k, (4 + n * CAPTION_LINE) * self.k), line, fill=255, font=self.font)
        if self.ink_of:
            canvas.paste(mask.point(self.ink_of), (0, top))
        else:
            canvas.paste(self.theme.background, (0, top, canvas.width, canvas.height))
            canvas.paste(self.theme.ink, (0, top, canvas.width, canvas.height), mask)

    def frames(self) -> Iterator[Image.Image]:
        """Every frame in order, one at a time: the previous one with what changed pasted in.
        The image yielded is reused for the next frame."""
        canvas = self.canvas(self.look(BEFORE))
        shift = round(self.template.shift * self.k)
        for frame in self.line.frames:
            for part_id in self.changed(frame.index):
                box = self.source(self.line.parts[part_id], frame.index)
                self.paste(canvas, part_id, box, shift)
                for inner in self.picture.inner.get(part_id, []):     # the numbers in a box
                    look = self.inner_look(box, self.line.parts[inner], frame.index)
                    if look:
                        self.paste(canvas, inner, look, shift)
            self.caption(canvas, frame.caption)
            yield canvas

    def paste(self, canvas: Image.Image, part_id: str, look: str, shift: int) -> None:
        region = self.region(part_id)
        if region:
            canvas.paste(self.look(look).crop(region), (region[0] + shift, region[1]))

    def inner_look(self, box: str, part: Part, i: int) -> str | None:
        """Which look to paste a number inside a box from (a statement's share, a grid's cell),
        the box pasted from look `box`; None where the box's look shows it as it is."""
        state = self.line.state(part, i)
        if state == HIDDEN:
            return BLANK.get(box, BEFORE)
        if box == BEFORE or (state == ACTIVE and box not in (ALL_ACTIVE, ACTIVE_HIDING_SUMS)):
            return self.source(part, i)
        return None

    def changed(self, i: int) -> set[str]:
        """Parts to repaint in frame i; a changed total gradient repaints its variable's box."""
        return {self.owner.get(p, p) for p in self.line.changed(i)}

    def finished(self, caption: str) -> Image.Image:
        canvas = self.canvas(self.look(ALL_KNOWN))
        self.caption(canvas, caption)
        return canvas


def indices(image: Image.Image) -> Image.Image:
    """A palette image's indices as a greyscale image: pasted and compared like any other."""
    return Image.frombytes("L", image.size, image.tobytes())


def gif_palette(images: list[Image.Image]) -> Image.Image:
    """One palette for every frame, from the looks every frame is pasted from; 255 colours, so
    index 255 is free to mark unchanged pixels as transparent."""
    # every other pixel: the same colours for a quarter of the work
    images = [i.resize((i.width // 2, i.height // 2), Image.Resampling.NEAREST) for i in images]
    sample = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)))
    y = 0
    for image in images:
        sample.paste(image, (0, y))
        y += image.height
    return distinct_palette(sample)


def distinct_palette(sample: Image.Image) -> Image.Image:
    """The sample's palette with repeated entries (unused ones) moved to colours of their own:
    Pillow maps onto a palette quickly only when its colours are distinct."""
    palette = sample.quantize(colors=255, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    rgb = palette.getpalette()[:255 * 3]
    seen, distinct = set(), []
    for i in range(0, len(rgb), 3):
        colour = tuple(rgb[i:i + 3])
        while colour in seen:
            colour = ((colour[0] + 1) % 256, (colour[1] + 7) % 256, (colour[2] + 13) % 256)
        seen.add(colour)
        distinct += colour
    palette.putpalette(distinct)
    return palette


class GifWriter:
    """Writes a looping GIF frame by frame: one global palette; after the first frame only the
    boxes that changed, their unchanged pixels transparent. Only the last frame is kept."""

    def __init__(self, path, size: tuple[int, int], palette: Image.Image, bar_top: int):
        self.file = open(path, "wb")
        self.previous: Image.Image | None = None
        self.areas = [(0, 0, size[0], bar_top), (0, bar_top, size[0], size[1])]    # graph, caption
        rgb = bytes(palette.getpalette()[:255 * 3]).ljust(256 * 3, b"\0")
        self.file.write(b"GIF89a" + size[0].to_bytes(2, "little") + size[1].to_bytes(2, "little")
                        + bytes([0xF7, 0, 0]) + rgb                      # global table of 256 colours
                        + b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")   # loop for ever

    def add(self, frame: Image.Image, duration_ms: int) -> None:
        """frame: palette indices (mode L). When the graph changed far from the caption (big
        graphs), the two boxes go as two images, the first shown for SPLIT_MS: one box around
        both would be mostly unchanged pixels, which still cost bytes."""
        if self.previous is None:
            self.write(frame, (0, 0), duration_ms)
        else:
            boxes = [b for b in (self.changed(frame, area) for area in self.areas) if b]
            union = boxes[0] if len(boxes) == 1 else enclosing(boxes) if boxes else (0, 0, 1, 1)
            if len(boxes) == 2 and area(union) - 2 * (area(boxes[0]) + area(boxes[1])) > SPLIT_ABOVE:
                self.write_delta(frame, boxes[0], SPLIT_MS)
                self.write_delta(frame, boxes[1], duration_ms - SPLIT_MS)
            else:
                self.write_delta(frame, union, duration_ms)
        self.previous = frame.copy()

    def changed(self, frame: Image.Image, box) -> tuple | None:
        found = ImageChops.difference(self.previous.crop(box), frame.crop(box)).getbbox()
        return found and (found[0] + box[0], found[1] + box[1], found[2] + box[0], found[3] + box[1])

    def write_delta(self, frame: Image.Image, box, duration_ms: int) -> None:
        part = frame.crop(box)
        unchanged = ImageChops.difference(part, self.previous.crop(box)).point([255] + [0] * 255, "1")
        part.paste(TRANSPARENT_INDEX, mask=unchanged)
        self.write(part, box[:2], duration_ms, TRANSPARENT_INDEX)

    def write(self, image: Image.Image, offset, duration_ms: int, transparency: int | None = None) -> None:
        params = {"duration": duration_ms, "disposal": 1}
        if transparency is not None:
            params["transparency"] = transparency
        for chunk in GifImagePlugin.getdata(image, offset, **params):
            self.file.write(chunk)

    def close(self) -> None:
        self.file.write(b";")
        self.file.close()


def area(box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def enclosing(boxes) -> tuple:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
