"""The renderer: one layout per animation, identical geometry in every frame, numbers hidden not absent."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import in_browser
from PIL import Image

import graphviz_nn
from graphviz_nn.render import layout as graphviz
from graphviz_nn.render.dot import THEMES, to_dot
from graphviz_nn.render.export import RenderOptions, render
from graphviz_nn.render.frames import MAX_FRAMES, PER_GATE_LIMIT, group_steps, merge_to_fit
from graphviz_nn.steps import Step

FLAGSHIP = ("x**2+x*y+(x+y)**2", {"x": 1, "y": 2})
MATRIX = ("relu(X@W1)@W2", {"X": [[1, 2], [-1, 2]], "W1": [[1, -1], [0.5, 0]], "W2": [[0.5], [1]]})
GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"


def traced(case, **options):
    source, values = case
    return graphviz_nn.trace(source, **values, **options)


def geometry(svg: str) -> str:
    """An SVG with colours and the caption taken out: what must not change between frames."""
    svg = re.sub(r'(fill|stroke)="[^"]*"', "", svg)
    return svg[: svg.rindex("</g>")]


def centre(svg: str, node: int) -> tuple[float, float]:
    """Where node n<node> is drawn: the position of its first text."""
    group = re.search(rf"<title>n{node}</title>.*?<text[^>]* x=\"([-\d.]+)\" y=\"([-\d.]+)\"", svg, re.S)
    return float(group.group(1)), float(group.group(2))


@pytest.mark.parametrize("case, options", [
    (FLAGSHIP, {"frames": "per-gate"}),
    (FLAGSHIP, {"frames": "per-level"}),
    (MATRIX, {"frames": "per-gate"}),
    (MATRIX, {"frames": "per-gate", "theme": "dark", "rankdir": "TB"}),
], ids=["flagship", "flagship-per-level", "matrix", "matrix-dark-TB"])
def test_every_frame_has_the_same_geometry(case, options):
    result = traced(case)
    pictures = result.pictures(**options)
    svgs = list(pictures.frame_svgs()) + [pictures.final_svg()]
    assert len(svgs) > 5
    first = geometry(svgs[0])
    assert all(geometry(s) == first for s in svgs[1:])
    assert len({s for s in svgs}) == len(svgs)          # and yet every frame shows something new
    theme = THEMES[options.get("theme", "light")]
    assert all(f'fill="{theme.background}"' in s for s in svgs)
    (x0, y0), (x1, y1) = centre(svgs[-1], 0), centre(svgs[-1], len(result.graph.order) - 1)
    if options.get("rankdir") == "TB":
        assert y1 - y0 > 50 and abs(x1 - x0) < y1 - y0        # the output below the first input
    else:
        assert x1 - x0 > 50 and abs(y1 - y0) < x1 - x0        # the output to its right


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
    hiding = first.split("<style>")[1]          # every gradient's group hidden by the frame's style
    assert all(f".h{k}>text" in hiding for k in re.findall(r'<g id="g\d+" class="h(\d+)', first))
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
    render(result.scene(), target, RenderOptions(gif=False))            # ours: replaced whole
    assert (target / "graph.svg").exists() and not (target / "backprop.gif").exists()
    (target / "notes.txt").write_text("the user's, added later")
    with pytest.raises(graphviz_nn.errors.UserError, match="did not write notes.txt"):
        render(result.scene(), target, RenderOptions())                 # not ours alone any more
    assert (target / "notes.txt").read_text() == "the user's, added later"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(graphviz_nn.errors.UserError):
        render(result.scene(), foreign, RenderOptions())
    assert (foreign / "thesis.tex").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_svg_is_self_contained_with_a_viewbox():
    svg = traced(MATRIX).svg()
    assert re.search(r'viewBox="0\.00 0\.00 [\d.]+ [\d.]+"', svg)
    assert "xlink:href" not in svg and "<image" not in svg and "<script" not in svg
    assert "sans-serif" in svg                                   # a font every system has


def test_small_graphs_get_one_frame_per_step_large_ones_one_per_level():
    """Frame grouping is a function of the graph and the steps: no Graphviz here."""
    result = traced(FLAGSHIP)
    every_step = [[i] for i in range(len(result.steps))]
    assert group_steps(result.graph, result.steps, "auto") == every_step
    assert group_steps(result.graph, result.steps, "per-gate") == every_step
    levels = group_steps(result.graph, result.steps, "per-level")
    gates = ["".join(result.steps[i].gate or "-" for i in group) for group in levels]
    assert gates == ["-", "abc", "de", "f", "ff", "ed", "cba", "yx"]      # inputs; seed with f; copies


def test_long_chains_merge_levels_into_at_most_max_frames():
    x = graphviz_nn.var("x", 0.5)
    total = x
    for i in range(100):                                # a long chain: one gate per level
        total = (total * 0.9 + x).tanh()
    result = graphviz_nn.trace(total)
    steps = result.steps
    groups = group_steps(result.graph, steps, "auto")
    assert len(steps) > PER_GATE_LIMIT and MAX_FRAMES // 2 < len(groups) <= MAX_FRAMES
    assert [i for group in groups for i in group] == list(range(len(steps)))     # each step once, in order
    assert [steps[i].kind for i in groups[0]] == ["inputs"]
    assert all(len({steps[i].phase for i in group}) == 1 for group in groups)


def test_merging_takes_the_same_number_of_levels_per_frame_and_keeps_passes_apart():
    steps = ([Step("forward", "inputs", None, ("x",), ())]
             + [Step("forward", "gate", f"f{i}", (), ()) for i in range(10)]
             + [Step("backward", "gate", f"b{i}", (), ()) for i in range(10)])
    groups = [[i] for i in range(len(steps))]
    assert merge_to_fit(steps, groups, len(steps)) == groups
    assert merge_to_fit(steps, groups, 5) == [[0], [1, 2, 3, 4, 5], [6, 7, 8, 9, 10],
                                              [11, 12, 13, 14, 15], [16, 17, 18, 19, 20]]
    assert merge_to_fit(steps, groups, 10) == [[0], [1, 2, 3], [4, 5, 6], [7, 8, 9], [10],
                                               [11, 12, 13], [14, 15, 16], [17, 18, 19], [20]]


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


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_player_steps_with_keys_and_buttons_in_a_real_browser(tmp_path):
    result = traced(FLAGSHIP)
    render(result.scene(), tmp_path / "out", RenderOptions(gif=False))
    page = (tmp_path / "out" / "index.html").read_text()
    drive = """
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
    """
    assert in_browser(page, drive, tmp_path) == "0,1,2,1,2,1,15;1"


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
    for svg in [out / "graph.svg", *sorted((out / "frames").glob("*.svg"))]:
        assert set(background_fills(svg.read_text())) == {"none"}, svg.name
    assert THEMES["light"].background in background_fills(result.svg())     # opaque without the option


def background_fills(svg: str) -> list[str]:
    """The fills of what lies under the graph: our rectangle (under the caption bar too) and
    Graphviz's page polygon, if it drew one."""
    root = ET.fromstring(svg.encode())
    graph = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "graph0")
    return [e.get("fill") for e in root.iter(f"{SVG}rect")] + [e.get("fill") for e in graph
                                                               if e.tag == f"{SVG}polygon"]


def test_graphs_graphviz_would_take_minutes_on_are_refused_with_a_hint(nngraph, tmp_path):
    long_fan_out = "x" + "*1.01+x" * 300            # x used all the way down: huge rank spans
    status, _, err = nngraph(long_fan_out, "--at", "x=1", "-o", tmp_path / "out")
    assert status == 2 and err.startswith("error: the graph's edges cross") and "--no-render" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_notebook_shows_a_trace_as_its_picture_and_the_player_inline(tmp_path, monkeypatch):
    """A real kernel (ipykernel, driven by nbclient) running this interpreter, as a user's
    notebook would: the trace is the cell's last expression, so Jupyter shows its SVG."""
    import nbclient
    import nbformat
    kernels = tmp_path / "jupyter" / "kernels" / "nngraph-test"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nngraph tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))     # found first, by name
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("PYTHONPATH", str(Path(graphviz_nn.__file__).parent.parent))   # the code under test
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('import graphviz_nn\ngraphviz_nn.trace("x*y", x=3, y=4)'),
        nbformat.v4.new_code_cell('graphviz_nn.trace("x*y", x=3, y=4).player()'),
    ])
    nbclient.NotebookClient(notebook, kernel_name="nngraph-test", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    picture, player = (cell.outputs for cell in notebook.cells)
    assert [o.output_type for o in picture] == ["execute_result"]
    svg = picture[0].data["image/svg+xml"]
    texts = re.findall(r'<text[^>]* fill="([^"]+)"[^>]*>([^<]*)</text>', svg)
    light = THEMES["light"]
    assert {(light.value, "3"), (light.value, "4"), (light.value, "12")} <= set(texts)    # x, y, x·y
    assert {(light.grad, "4"), (light.grad, "3"), (light.grad, "1")} <= set(texts)        # ∂/∂x, ∂/∂y, seed
    shown = [o for o in player if o.output_type == "execute_result"]    # (and a warning: see below)
    iframe = re.fullmatch(r'<iframe srcdoc="([^"]*)"[^>]*></iframe>', shown[0].data["text/html"])
    page = html.unescape(iframe.group(1))
    assert page.count("<svg") == 1 and '"count": 4' in page and 'id="next"' in page   # inputs, x·y, seed, back


def test_the_player_shows_without_a_warning():
    pytest.importorskip("IPython")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traced(("x*y", {"x": 3, "y": 4})).player()
    assert [str(w.message) for w in caught] == []
