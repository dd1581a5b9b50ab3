"""The renderer: one layout per animation, identical geometry in every frame, numbers hidden not absent."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

import graphviz_nn
from graphviz_nn.cli import main
from graphviz_nn.render import layout as graphviz
from graphviz_nn.render.dot import THEMES, to_dot
from graphviz_nn.render.export import RenderOptions, render

FLAGSHIP = ("x**2+x*y+(x+y)**2", {"x": 1, "y": 2})
MATRIX = ("relu(X@W1)@W2", {"X": [[1, 2], [-1, 2]], "W1": [[1, -1], [0.5, 0]], "W2": [[0.5], [1]]})
GOLDEN = Path(__file__).parent / "golden"


def traced(case, **options):
    source, values = case
    return graphviz_nn.trace(source, **values, **options)


def geometry(svg: str) -> str:
    """An SVG with colours and the caption taken out: what must not change between frames."""
    svg = re.sub(r'(fill|stroke)="[^"]*"', "", svg)
    return svg[: svg.rindex("</g>")]


@pytest.mark.parametrize("case", [FLAGSHIP, MATRIX])
def test_every_frame_has_the_same_geometry(case):
    pictures = traced(case).pictures(frames="per-gate")
    svgs = pictures.frame_svgs() + [pictures.final_svg()]
    assert len(svgs) > 5
    first = geometry(svgs[0])
    assert all(geometry(s) == first for s in svgs[1:])
    assert len({s for s in svgs}) == len(svgs)          # and yet every frame shows something new


def test_one_layout_per_animation(monkeypatch, tmp_path):
    calls = []
    real = graphviz.layout
    monkeypatch.setattr(graphviz, "layout", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = traced(FLAGSHIP)
    rendered = render(result.scene(), tmp_path / "out", RenderOptions(formats=("svg", "png")))
    assert rendered.frame_count == 16
    assert len(calls) == 1


def test_flagship_frames_follow_the_passes():
    pictures = traced(FLAGSHIP).pictures(frames="per-gate")
    captions = [f.caption for f in pictures.frames]
    assert captions[0].startswith("forward · inputs")
    assert captions[3] == "forward · c = x + y = 1 + 2 = 3"
    assert any(c.startswith("backward · mul swaps: ∂f/∂x += 1·y = 2") for c in captions)
    assert captions[-1] == "copy adds · x feeds 3 gates: 2 + 2 + 6 = 10"


def test_unknown_numbers_are_hidden_not_absent():
    result = traced(FLAGSHIP)
    pictures = result.pictures(frames="per-gate")
    grad_ink = THEMES["light"].grad
    first, final = pictures.svg(pictures.frames[0]), pictures.final_svg()
    edges = result.graph.nx.number_of_edges() + 1               # and the output's own edge
    assert final.count(f'fill="{grad_ink}"') >= edges
    assert f'fill="{grad_ink}"' not in first
    gradient_texts = lambda svg: sorted(re.findall(r">(-?\d+)</text>", svg))
    assert gradient_texts(first) == gradient_texts(final)        # same numbers, only hidden


def gif_colour_tables(data: bytes) -> tuple[bool, int]:
    """(has a global colour table, number of frames with a local one), read from the GIF blocks."""
    def skip_sub_blocks(i):
        while data[i]:
            i += data[i] + 1
        return i + 1
    has_global = bool(data[10] & 0x80)
    i = 13 + (3 * 2 ** ((data[10] & 7) + 1) if has_global else 0)
    local = 0
    while data[i] != 0x3B:                                     # trailer
        if data[i] == 0x21:                                    # extension: label, sub-blocks
            i = skip_sub_blocks(i + 2)
        else:                                                  # image descriptor
            packed = data[i + 9]
            local += bool(packed & 0x80)
            i += 10 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
            i = skip_sub_blocks(i + 1)                         # LZW minimum code size, data
    return has_global, local


def test_gif_is_small_and_shares_one_palette(tmp_path):
    result = traced(FLAGSHIP)
    render(result.scene(), tmp_path / "out", RenderOptions())
    path = tmp_path / "out" / "backprop.gif"
    gif = Image.open(path)
    assert gif.n_frames == 16
    assert gif.info["loop"] == 0
    assert path.stat().st_size < 1_000_000
    assert gif_colour_tables(path.read_bytes()) == (True, 0)


def test_output_folder_is_replaced_whole_and_foreign_folders_refused(tmp_path):
    result = traced(FLAGSHIP)
    target = tmp_path / "out"
    render(result.scene(), target, RenderOptions())
    (target / "stale.txt").write_text("from an earlier run")
    render(result.scene(), target, RenderOptions(gif=False))
    assert not (target / "stale.txt").exists() and not (target / "backprop.gif").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(graphviz_nn.errors.UserError):
        render(result.scene(), foreign, RenderOptions())
    assert (foreign / "thesis.tex").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_graphviz_is_one_error_line_and_exit_3(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    status = main([FLAGSHIP[0], "--at", "x=1,y=2", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 3
    assert err[0].startswith("error: Graphviz is not installed")
    assert any("apt-get install graphviz" in line for line in err)
    assert not (tmp_path / "out").exists()


def test_hostile_title_is_escaped_everywhere(tmp_path):
    title = '<script>alert(1)</script> "]; x -> y [label="pwn'
    result = traced(FLAGSHIP)
    pictures = result.pictures(title=title)
    svg = pictures.final_svg()
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    page = graphviz_nn.render.player.player_html(title, pictures.frame_svgs())
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


@pytest.mark.parametrize("theme,rankdir", [("dark", "TB"), ("light", "TB")])
def test_themes_and_directions_keep_frames_stable(theme, rankdir):
    pictures = traced(MATRIX).pictures(theme=theme, rankdir=rankdir)
    svgs = pictures.frame_svgs()
    assert all(geometry(s) == geometry(svgs[0]) for s in svgs)
    assert THEMES[theme].background in svgs[0]


def test_svg_is_self_contained_with_a_viewbox():
    svg = traced(MATRIX).svg()
    assert re.search(r'viewBox="0\.00 0\.00 [\d.]+ [\d.]+"', svg)
    assert "xlink:href" not in svg and "<image" not in svg and "<script" not in svg
    assert "sans-serif" in svg                                   # a font every system has


def test_large_graphs_group_frames_by_level():
    x = graphviz_nn.var("x", 0.5)
    total = x
    for i in range(60):                                 # a long chain: one gate per level
        total = (total * 0.9 + x).tanh()
    result = graphviz_nn.trace(total)
    pictures = result.pictures()
    assert len(result.steps) > 300
    assert 20 < len(pictures.frames) <= 130
    assert pictures.frames[0].caption.startswith("forward · inputs")
    assert all(geometry(pictures.svg(f)) == geometry(pictures.final_svg()) for f in pictures.frames[::10])


@pytest.mark.parametrize("name,case,options", [
    ("flagship", FLAGSHIP, {}),
    ("matrix", MATRIX, {}),
    ("sigmoid_expanded", ("sigmoid(w0*x0+w1*x1+w2)", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}),
     {"expand": True}),
])
def test_golden_dot(name, case, options):
    """What we send to Graphviz: compared with a reviewed copy, and accepted by this Graphviz."""
    source = to_dot(traced(case, **options).graph).source
    golden = GOLDEN / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(source)
    assert source == golden.read_text()
    graphviz.layout(source)                                       # Graphviz 2.43 accepts it


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_player_steps_with_keys_and_buttons_in_a_real_browser(tmp_path):
    result = traced(FLAGSHIP)
    render(result.scene(), tmp_path / "out", RenderOptions(gif=False))
    page = (tmp_path / "out" / "index.html").read_text()
    drive = """<script>
    const seen = [document.body.dataset.frame];
    const key = k => document.dispatchEvent(new KeyboardEvent('keydown', {key: k}));
    key('ArrowRight'); seen.push(document.body.dataset.frame);
    key('ArrowRight'); seen.push(document.body.dataset.frame);
    key('ArrowLeft'); seen.push(document.body.dataset.frame);
    document.getElementById('next').click(); seen.push(document.body.dataset.frame);
    document.getElementById('prev').click(); seen.push(document.body.dataset.frame);
    key('End'); seen.push(document.body.dataset.frame);
    const visible = document.querySelectorAll('.frame:not([hidden])').length;
    const out = document.createElement('pre'); out.id = 'result';
    out.textContent = seen.join(',') + ';' + visible;
    document.body.appendChild(out);
    </script></body>"""
    (tmp_path / "drive.html").write_text(page.replace("</body>", drive))
    done = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                           (tmp_path / "drive.html").as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">([^<]*)</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    assert found.group(1) == "0,1,2,1,2,1,15;1"


def test_slide_formats_pdf_beamer_and_transparent_png(tmp_path):
    result = traced(FLAGSHIP)
    render(result.scene(), tmp_path / "out",
           RenderOptions(formats=("svg", "png", "pdf"), transparent=True, gif=False))
    out = tmp_path / "out"
    assert (out / "graph.pdf").read_bytes().startswith(b"%PDF")
    assert len(list((out / "frames").glob("*.pdf"))) == 16
    tex = (out / "frames.tex").read_text()
    assert "\\only<16>" in tex and "frames/015.pdf" in tex and "∂" not in tex
    png = Image.open(out / "graph.png")
    assert png.mode == "RGBA" and png.getpixel((1, 1))[3] == 0
    assert 'fill="none"' in (out / "graph.svg").read_text().split("<g", 1)[0] + \
        (out / "graph.svg").read_text()


def test_jupyter_shows_a_trace_as_its_svg():
    svg = traced(FLAGSHIP)._repr_svg_()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:400]
    assert "12" in svg


def test_graphs_graphviz_would_take_minutes_on_are_refused_with_a_hint(tmp_path, capsys):
    from graphviz_nn.cli import main
    long_fan_out = "x" + "*1.01+x" * 300            # x used all the way down: huge rank spans
    assert main([long_fan_out, "--at", "x=1", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the graph's edges cross") and "--no-render" in err
    assert not (tmp_path / "out").exists()
