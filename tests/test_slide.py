"""--slide: the whole picture, caption bar included, is 16:9 in every format and direction."""
from __future__ import annotations

import re

import pytest
from PIL import Image


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_slide_pictures_are_16_by_9_and_whole(nngraph, tmp_path, rankdir):
    out = tmp_path / "o"
    status, _, _ = nngraph("x**2+x*y+(x+y)**2", "--at", "x=1,y=2", "--slide", "--rankdir", rankdir,
                           "--format", "svg,png", "--no-gif", "-o", out)
    assert status == 0
    for svg in [out / "graph.svg", out / "frames" / "005.svg"]:
        width, height = map(float, re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg.read_text()).groups())
        assert width / height == pytest.approx(16 / 9, rel=2e-3), svg.name
    for png in [out / "graph.png", out / "frames" / "005.png"]:
        image = Image.open(png)
        assert image.width / image.height == pytest.approx(16 / 9, rel=3e-3), png.name
        corner = image.convert("RGB").getpixel((image.width - 2, image.height - 2))
        assert corner == (255, 255, 255)                 # the padding is the slide's background
