"""Frames by identity: every part of the picture has an id, a frame is the one laid-out SVG plus
a short style block naming classes, and raster frames are pasted together and streamed."""
from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from conftest import in_browser
from PIL import Image

import graphviz_nn
from graphviz_nn.render import raster
from graphviz_nn.render.dot import ACTIVE, HIDDEN, PENDING, THEMES, to_dot
from graphviz_nn.render.export import RenderOptions, render, write_gif
from graphviz_nn.render.frames import frame_css

SVG = "{http://www.w3.org/2000/svg}"
PART = re.compile(r"[ngvs]\d+")


def flagship(**options):
    return graphviz_nn.trace("x**2+x*y+(x+y)**2", x=1, y=2).pictures(frames="per-gate", **options)


def styled(svg: str) -> dict[str, dict[str, dict[str, str]]]:
    """part id -> element tag -> property -> value, for the part's own elements, after the
    frame's style block: a small CSS engine for the `.class>tag{…}` rules a frame uses."""
    root = ET.fromstring(svg.encode())
    style = root.find(f"{SVG}style")
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", style.text if style is not None else ""):
        declarations = dict(d.split(":") for d in body.split(";"))
        rules += [(sel.strip().split(">")[0][1:], sel.split(">")[1], declarations) for sel in selectors.split(",")]
    looks = {}
    for group in root.iter(f"{SVG}g"):
        if not PART.fullmatch(group.get("id", "")):
            continue
        classes = set(group.get("class", "").split())
        own = {}
        for e in group:
            tag = e.tag[len(SVG):]
            props = {"fill": e.get("fill"), "stroke": e.get("stroke")}
            for cls, rule_tag, declarations in rules:
                if cls in classes and rule_tag == tag:
                    props |= declarations
            own.setdefault(tag, props)
        looks[group.get("id")] = own
    return looks


def test_every_part_is_a_group_with_an_id_and_the_body_is_shared():
    pictures = flagship()
    svg = pictures.final_svg()
    ids = set(re.findall(r'<g id="([^"]+)"', svg))
    assert set(pictures.drawing.parts) <= ids
    assert "xlink:href" not in svg and "<a " not in svg          # the links Graphviz needed are gone
    bodies = {id(pictures.svg_pieces(f)[3]) for f in pictures.frames}
    assert bodies == {id(pictures.template.body)}                # one body, never copied per frame


def test_each_frame_shows_each_part_in_its_state():
    pictures = flagship()
    theme, line = THEMES["light"], pictures.line
    for frame in pictures.frames + [pictures.final]:
        looks = styled(pictures.svg(frame))
        for part in pictures.drawing.parts.values():
            state, look = line.state(part, frame.index), looks[part.id]
            if part.kind in ("value", "grad", "sum"):
                assert (look["text"]["fill"] == "none") == (state == HIDDEN), (frame, part)
            if part.kind in ("value", "grad"):
                assert (look["polygon"]["fill"] == theme.active_fill) == (state == ACTIVE), (frame, part)
            if part.kind == "gate":
                assert (look["ellipse"]["stroke"] == theme.pending) == (state == PENDING), (frame, part)
                assert (look["ellipse"]["fill"] == theme.active_fill) == (state == ACTIVE), (frame, part)


def test_a_frame_is_a_small_style_block_not_an_edit_of_the_picture():
    pictures = flagship()
    final = pictures.final_svg()
    for frame in pictures.frames:
        svg = pictures.svg(frame)
        body, style = svg.split("<style>")
        assert body.split("</g>\n<text")[0] == final.split("</g>\n<text")[0]   # caption aside, the same
        assert not re.search(r"#[0-9a-f]{6}\b(?![;}])", style)              # colours only as values


def test_text_that_looks_like_a_colour_or_an_id_is_left_alone():
    title = 'keep #0a0001 #0A0002 ID="v1" class="w3" .h2>text{fill:none}'
    pictures = flagship(title=title)
    assert "#0a0" not in to_dot(pictures.graph).source
    shown = "keep #0a0001 #0A0002 ID=&quot;v1&quot; class=&quot;w3&quot; .h2&gt;text{fill:none}"
    for frame in pictures.frames + [pictures.final]:
        assert shown in pictures.svg(frame)


def test_the_style_grows_with_frames_not_with_the_graph():
    rules = flagship().rules
    assert len(frame_css(rules, 0, 100)) < 20 * len(frame_css(rules, 0, 5))
    assert frame_css(rules, 70_000, 70_001).count(".a70000>") == 3          # no limit on numbers


def test_the_player_holds_one_svg_and_each_frames_caption(tmp_path):
    result = graphviz_nn.trace("x**2+x*y+(x+y)**2", x=1, y=2)
    render(result.scene(), tmp_path / "out", RenderOptions(gif=False))
    page = (tmp_path / "out" / "index.html").read_text()
    graph = (tmp_path / "out" / "graph.svg").read_text()
    captions = sum(len(c) for c in result.captions)
    assert page.count("<svg") == 1 and len(page) <= 2 * len(graph) + captions
    assert page.count("<script") == 1 and "</script" not in page.split("<script>")[1][:-40]


def test_gif_frames_decode_to_the_frames_drawn(tmp_path):
    """The streamed GIF (deltas with transparent unchanged pixels) shows exactly each frame."""
    pictures = flagship()
    write_gif(pictures, pictures.rasterizer(72), tmp_path / "a.gif")
    drawn = pictures.rasterizer(72)
    drawn.use_palette(raster.gif_palette([drawn.look(n) for n in (raster.BEFORE, raster.ALL_KNOWN,
                                                                   raster.ALL_ACTIVE)]))
    gif = Image.open(tmp_path / "a.gif")
    palette = gif.getpalette()
    for i, frame in enumerate(drawn.frames()):
        gif.seek(i)
        expected = b"".join(bytes(palette[3 * v:3 * v + 3]) for v in frame.tobytes())
        assert gif.convert("RGB").tobytes() == expected, i


def test_gif_writer_splits_far_apart_changes_and_still_composes_right(tmp_path):
    size = (1200, 700)
    first = Image.new("L", size, 1)
    second = first.copy()
    second.paste(7, (1100, 20, 1190, 60))                 # far from each other
    second.paste(9, (10, 660, 200, 690))
    palette = Image.new("P", (1, 1))
    palette.putpalette([(i * 37) % 256 for i in range(255 * 3)])
    writer = raster.GifWriter(tmp_path / "b.gif", size, palette, bar_top=650)
    writer.add(first, 500)
    writer.add(second, 500)
    writer.close()
    gif = Image.open(tmp_path / "b.gif")
    assert gif.n_frames == 3                              # the two boxes as two images
    gif.seek(2)
    colours = gif.convert("RGB")
    p = palette.getpalette()
    assert colours.getpixel((1150, 40)) == tuple(p[21:24]) and colours.getpixel((100, 670)) == tuple(p[27:30])
    assert colours.getpixel((600, 300)) == tuple(p[3:6])


def test_big_pictures_are_drawn_at_a_lower_dpi_or_not_as_a_gif(tmp_path, monkeypatch, capsys):
    result = graphviz_nn.trace("x**2+x*y+(x+y)**2", x=1, y=2)
    monkeypatch.setattr(raster, "GIF_MAX_PIXELS", 100_000)
    render(result.scene(), tmp_path / "small", RenderOptions())
    err = capsys.readouterr().err
    assert err.startswith("warning: GIF drawn at ") and err.count("\n") == 1
    assert Image.open(tmp_path / "small" / "backprop.gif").size[0] * 1.0 < 520
    monkeypatch.setattr(raster, "GIF_MAX_PIXELS", 2_000)
    render(result.scene(), tmp_path / "none", RenderOptions())
    err = capsys.readouterr().err
    assert err.startswith("warning: no GIF: ") and err.count("\n") == 1
    assert not (tmp_path / "none" / "backprop.gif").exists() and (tmp_path / "none" / "index.html").exists()


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_browser_hides_and_shows_what_the_frames_say(tmp_path):
    """In Chromium: the player's own CSS equals the SVG frames', and a gradient is invisible
    in the first frame and visible in the last."""
    result = graphviz_nn.trace("x**2+x*y+(x+y)**2", x=1, y=2)
    pictures = result.pictures(frames="per-gate")
    render(result.scene(), tmp_path / "out", RenderOptions(gif=False))
    page = (tmp_path / "out" / "index.html").read_text()
    probe = """
    const seen = [];
    const grad = () => getComputedStyle(document.querySelector('#g0 text')).fill;
    seen.push(document.getElementById('look').textContent, grad());
    document.dispatchEvent(new KeyboardEvent('keydown', {key: 'End'}));
    seen.push(document.getElementById('look').textContent, grad());
    const out = document.createElement('pre'); out.id = 'result'; out.textContent = JSON.stringify(seen);
    document.body.appendChild(out);
    """
    found = in_browser(page, probe, tmp_path)
    first_css, first_fill, last_css, last_fill = json.loads(found)
    count = len(pictures.frames)
    assert first_css == frame_css(pictures.rules, 0, count)
    assert last_css == frame_css(pictures.rules, count - 1, count)
    assert first_fill == "none" and last_fill != "none"
