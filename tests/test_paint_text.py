"""PNG and GIF text takes no more room than Graphviz measured for it: Graphviz measures hinted at
96 dpi (digits at 10 pt come out 5% narrower than drawn at a larger scale), so numbers set side by
side in a vector or a statement's box must not run together or cross a border."""
from __future__ import annotations

import json
import subprocess

import pytest

from graphviz_nn.render.paint import font, pixel_size, room

TEXTS = ["0000000000", "[0.01936, -0.01442, -0.0007008]", "0.0004064", "dV += ", "= sigmoid(W * x2 + V * h1 +",
         "abcdefghijklmnopqrstuvwxyz"]
SIZES = [8, 9, 10, 11, 12, 13]


def graphviz_widths() -> dict:
    nodes = [(size, text) for size in SIZES for text in TEXTS]
    source = "digraph { node [shape=plaintext, margin=0, width=0.01, fontname=\"DejaVu Sans\"];\n" + "\n".join(
        f'n{i} [label="{text}", fontsize={size}];' for i, (size, text) in enumerate(nodes)) + "}"
    layout = json.loads(subprocess.run(["dot", "-Tjson"], input=source, capture_output=True, text=True,
                                       check=True).stdout)
    return {nodes[int(o["name"][1:])]: float(o["width"]) * 72 for o in layout["objects"]}


@pytest.mark.parametrize("dpi", [72, 110, 220])
def test_drawn_text_fits_the_width_graphviz_gave_it(dpi):
    k = dpi / 72
    for (size, text), width in graphviz_widths().items():
        drawn = font(pixel_size(text, size * k, room(text, size) * k)).getlength(text) / k
        assert drawn <= width + 0.5 / k, (size, text, drawn, width)
        assert drawn >= 0.85 * room(text, size) or size * k < 12, (size, text, drawn)    # not much smaller


def test_a_shrunk_picture_stays_on_its_page():
    """--slide shrinks a wide picture to 16:9; Graphviz 2.42 writes the factor rounded to two
    decimals, which would push the drawing past its page (under the caption, off a PNG)."""
    import graphviz_nn as nn
    source = " + ".join(f"w{i}*x{i}" for i in range(29))       # a factor Graphviz rounds up
    pictures = nn.trace(source, **{f"w{i}": 1.0 for i in range(29)}, **{f"x{i}": 2.0 for i in range(29)}).pictures(
        slide=True)
    picture = pictures.picture
    ys = [y for s in picture.shapes for _, y in s.points[:1 if s.tag == "ellipse" else None]]
    xs = [x for s in picture.shapes for x, _ in s.points[:1 if s.tag == "ellipse" else None]]
    assert max(ys) <= picture.height + 0.5 and min(ys) >= -0.5
    assert max(xs) <= picture.width + 0.5 and min(xs) >= -0.5
