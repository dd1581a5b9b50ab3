"""The grid view (issue 13, pictures): matrices as number grids, one part per number; the kernel
slides forward, the gate rules work backward, window by window — checked on exercise 40's image
and kernel against windows computed here independently, and against the engine's numbers."""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import in_browser
from PIL import Image

import graphviz_nn
from graphviz_nn.errors import UserError
from graphviz_nn.numfmt import fmt_value
from graphviz_nn.render import layout as graphviz
from graphviz_nn.render.dot import THEMES
from graphviz_nn.render.export import FIRST_MS, LAST_MS, STEP_MS, positions

X = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [3, 1, 2, 2, 3], [3, 1, 2, 2, 3]]     # SEEDS 15
K = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
X_TEXT, K_TEXT = "X=" + str(X).replace(" ", ""), "K=" + str(K).replace(" ", "")
VALID = "sum(maxpool(conv2d(X, K), size=2))"
GROUP = re.compile(r'<g id="([^"]+)" class="([^"]*)"')


def grid_pictures(source: str = VALID, **values):
    """Exercise 40's X and K (those the source names), or other values; the grid view's pictures."""
    given = {name: value for name, value in (("X", X), ("K", K)) if re.search(rf"\b{name}\b", source)}
    result = graphviz_nn.trace(source, **(given | values))
    return result, result.pictures(view="grid", frames="per-gate")


def lit_in(pictures, i: int) -> set[str]:
    """The parts frame i highlights, read from the SVG: the groups carrying class b<i> or a<i>."""
    return {id for id, classes in GROUP.findall(pictures.svg_text)
            if {f"b{i}", f"a{i}"} & set(classes.split())}


def shown_from(pictures, id: str) -> int:
    """The frame from which a part's number is shown (its h<k> class; -1: from the start)."""
    classes = dict(GROUP.findall(pictures.svg_text))[id].split()
    hidden = [c for c in classes if re.fullmatch(r"h\d+", c)]
    return int(hidden[0][1:]) if hidden else -1


def frames_starting(pictures, text: str) -> list[int]:
    return [f.index for f in pictures.frames if f.caption.startswith(text)]


def window(r: int, c: int, size: int, stride: int = 1, padding: int = 0, shape=(5, 5)) -> set[tuple]:
    """The input cells a size×size window at output (r, c) covers, padding cells left out."""
    cells = {(stride * r + i - padding, stride * c + j - padding) for i in range(size) for j in range(size)}
    return {(a, b) for a, b in cells if 0 <= a < shape[0] and 0 <= b < shape[1]}


# ---- forward: the kernel slides --------------------------------------------------------------

@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 0), (3, 0), (2, 1), (3, 3)])
def test_each_conv_frame_lights_its_window_and_the_kernel_and_writes_its_cell(stride, padding):
    result, pictures = grid_pictures(f"sum(conv2d(X, K, stride={stride}, padding={padding}))")
    grids = pictures.drawing.grids
    size = (5 + 2 * padding - 3) // stride + 1
    frames = frames_starting(pictures, "forward · conv slides the kernel")
    assert len(frames) == size * size
    for i, (r, c) in zip(frames, np.ndindex(size, size)):
        cells = window(r, c, 3, stride, padding)
        kernel = {(a + padding - stride * r, b + padding - stride * c) for a, b in cells}
        expected = ({grids["X"].cell_id(x) for x in cells} | {grids["K"].cell_id(k) for k in kernel}
                    | {grids["a"].cell_id((r, c)), pictures.drawing.node_ids["a"]})
        assert lit_in(pictures, i) == expected, (r, c)
        assert shown_from(pictures, grids["a"].cell_id((r, c))) == i        # the output cell appears


PRODUCTS = re.compile(r" = ((?:\(?-?[\d.]+\)?·\(?-?[\d.]+\)? \+ )*\(?-?[\d.]+\)?·\(?-?[\d.]+\)?) = (-?[\d.]+)")


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 0), (3, 0), (2, 1), (3, 3)])
def test_the_captions_product_sums_are_the_output_cells(stride, padding):
    """(3, 3): the corner windows lie wholly in the zero padding."""
    result, pictures = grid_pictures(f"sum(conv2d(X, K, stride={stride}, padding={padding}))")
    a = result.graph["a"]["value"]
    frames = frames_starting(pictures, "forward · conv slides the kernel")
    for i, cell in zip(frames, np.ndindex(a.shape)):
        caption = pictures.frames[i].caption
        if not window(*cell, 3, stride, padding):
            assert f"a[{cell[0]},{cell[1]}] = the padding's zeros ⋆ K = 0 (only the padding's zeros)" in caption
            continue
        products, total = PRODUCTS.search(caption).groups()
        numbers = [[float(n.strip("()")) for n in term.split("·")] for term in products.split(" + ")]
        assert sum(x * k for x, k in numbers) == float(total) == a[cell], caption
        assert f"a[{cell[0]},{cell[1]}] = " in caption
    first = pictures.frames[frames[0]].caption
    if (stride, padding) == (1, 0):            # the example, word for word
        assert "= 3·0 + 3·1 + 2·2 + 0·2 + 0·2 + 1·0 + 3·0 + 1·1 + 2·2 = 12" in first


def test_pooling_frames_light_the_window_and_write_the_max_or_the_mean():
    for pool in ("maxpool", "avgpool"):
        result, pictures = grid_pictures(f"sum({pool}(X, size=2))")
        grids = pictures.drawing.grids
        frames = frames_starting(pictures, f"forward · {'max' if pool == 'maxpool' else 'average'} pool")
        out = np.asarray(result.graph["a"]["value"])
        assert len(frames) == out.size == 4
        for i, (r, c) in zip(frames, np.ndindex(out.shape)):
            cells = window(r, c, 2, stride=2)
            assert lit_in(pictures, i) == {grids["X"].cell_id(x) for x in cells} | \
                {grids["a"].cell_id((r, c)), pictures.drawing.node_ids["a"]}
            numbers = ", ".join(str(X[x][y]) for x, y in sorted(cells))
            expected = max(X[x][y] for x, y in cells) if pool == "maxpool" else np.mean([X[x][y] for x, y in cells])
            assert out[r, c] == expected
            caption = pictures.frames[i].caption
            assert (f"max({numbers}) = {expected:g}" if pool == "maxpool" else f"/4 = {expected:g}") in caption


def test_long_scans_are_grouped_by_output_row():
    """padding 1 gives a 5×5 output: 25 cells, more than one frame each would be worth."""
    result, pictures = grid_pictures("sum(conv2d(X, K, padding=1))")
    grids = pictures.drawing.grids
    frames = frames_starting(pictures, "forward · conv slides the kernel along")
    assert len(frames) == 5
    for row, i in enumerate(frames):
        outputs = {grids["a"].cell_id((row, c)) for c in range(5)}
        assert outputs <= lit_in(pictures, i) and all(shown_from(pictures, o) == i for o in outputs)
        caption = pictures.frames[i].caption
        assert all(f"a[{row},{c}] = {result.graph['a']['value'][row, c]:g}" in caption for c in range(5))


def test_more_than_sixteen_rows_are_grouped_by_map():
    """Two 9×9 maps: 18 output rows in all, so one frame per map."""
    image = (np.arange(121.0).reshape(1, 11, 11) % 7) - 3
    kernels = np.array([[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]], [[[1, 0, -1], [2, 0, -2], [1, 0, -1]]]], dtype=float)
    result, pictures = grid_pictures("sum(conv2d(X, K))", X=image, K=kernels)
    grids = pictures.drawing.grids
    frames = frames_starting(pictures, "forward · conv slides the kernel along")
    assert len(frames) == 2
    for f, i in enumerate(frames):
        outputs = {grids["a"].cell_id((f, r, c)) for r in range(9) for c in range(9)}
        assert outputs <= lit_in(pictures, i) and f"a[{f}]" in pictures.frames[i].caption


# ---- backward: the gate rules -----------------------------------------------------------------

def last_window_over(cell, positions, size=3, stride=1):
    """The last output position (row-major) whose window covers an input cell, or None."""
    covering = [p for p in positions if cell in window(*p, size, stride)]
    return covering[-1] if covering else None


@pytest.mark.parametrize("source", ["sum(avgpool(conv2d(X, K), size=2, stride=1))",
                                    "sum(maxpool(conv2d(X, K, stride=2), size=1))",
                                    "sum(conv2d(X, K, stride=3))", VALID])
def test_a_gradient_cell_appears_when_final_with_the_engines_number(source):
    """∂X cells are final after the last window over them (cells no window reads: after the
    gate's last window); ∂K cells after the last window; the number drawn is the engine's."""
    result, pictures = grid_pictures(source)
    grids, graph = pictures.drawing.grids, result.graph
    stride = int(re.search(r"conv2d\(X, K(?:, stride=(\d))?", source).group(1) or 1)
    out = graph["a"]["value"].shape
    positions = list(np.ndindex(out))
    frames = frames_starting(pictures, "backward · conv at")
    assert len(frames) == len(positions)
    final = dict(GROUP.findall(pictures.svg_text))
    texts = dict(re.findall(r'<g id="(d\d+_\d+)"[^>]*>\n<polygon[^>]*/>\n<text[^>]*>([^<]*)</text>',
                            pictures.svg_text))
    for cell in np.ndindex(5, 5):
        last = last_window_over(cell, positions, stride=stride)
        expected = frames[positions.index(last)] if last else frames[-1]
        id = grids["X"].cell_id(cell, grad=True)
        assert shown_from(pictures, id) == expected, cell
        assert float(texts[id]) == graph["X"]["grad"][cell] and id in final
    for cell in np.ndindex(3, 3):
        id = grids["K"].cell_id(cell, grad=True)
        assert shown_from(pictures, id) == frames[-1] and float(texts[id]) == graph["K"]["grad"][cell]
    steps = [s for s in pictures_steps(result) if s.kind == "window" and s.phase == "backward"
             and s.gate == "a"]
    for step in steps:               # the running sums at a cell's writing step are its final number
        running = dict(step.grads)
        for cell in step.cells.writes:
            if cell in running:
                assert running[cell] == graph[cell.node]["grad"][cell.index]


def pictures_steps(result):
    return result.scene("grid").steps


def test_the_kernel_gradient_adds_up_over_the_positions_in_the_captions():
    result, pictures = grid_pictures("sum(avgpool(conv2d(X, K), size=3))")    # every d = 1/9
    frames = frames_starting(pictures, "backward · conv at")
    captions = [pictures.frames[i].caption for i in frames]
    assert all("the kernel is shared, so ∂c/∂K adds" in c for c in captions)
    assert "full convolution of d with the flipped kernel" in captions[-1]
    so_far = [re.search(r"∂c/∂K so far (\[\[.*?\]\])", c).group(1) for c in captions]
    x, total = np.array(X, dtype=float), np.zeros((3, 3))
    for text, (r, c) in zip(so_far, np.ndindex(3, 3)):             # d = 1/9 at every position
        total += x[r:r + 3, c:c + 3] / 9
        assert text == fmt_value(total), (r, c)
    assert so_far[-1] == fmt_value(result.graph["K"]["grad"])


def test_max_pool_backward_lights_each_windows_maximum():
    source = "sum(maxpool(conv2d(X, K, padding=1), size=2, stride=1))"      # overlapping windows
    result, pictures = grid_pictures(source)
    grids, a = pictures.drawing.grids, result.graph["a"]["value"]
    frames = frames_starting(pictures, "backward · max pool routes")
    assert len(frames) == 16
    for i, (r, c) in zip(frames, np.ndindex(4, 4)):
        cells = sorted(window(r, c, 2, shape=a.shape))
        argmax = cells[int(np.argmax([a[x] for x in cells]))]
        lit_values = {p for p in lit_in(pictures, i) if p.startswith(f"x{grids['a'].index}_")}
        assert lit_values == {grids["a"].cell_id(argmax)}, (r, c)
        assert grids["b"].cell_id((r, c), grad=True) in lit_in(pictures, i)         # its d
        assert f"goes to its window's max a[{argmax[0]},{argmax[1]}] = {a[argmax]:g}" in pictures.frames[i].caption


def test_average_pool_backward_gives_each_cell_its_quarter():
    result, pictures = grid_pictures("sum(avgpool(conv2d(X, K), size=2))")
    (i,) = frames_starting(pictures, "backward · average pool distributes")
    assert "each gets 1/4 = 0.25" in pictures.frames[i].caption
    grids = pictures.drawing.grids
    shown = {grids["a"].cell_id(cell, grad=True) for cell in [(0, 0), (0, 1), (1, 0), (1, 1)]}
    assert shown <= lit_in(pictures, i) and all(shown_from(pictures, p) == i for p in shown)
    assert result.graph["a"]["grad"][:2, :2].tolist() == [[0.25, 0.25], [0.25, 0.25]]


def test_a_shared_input_shows_its_total_at_the_copy_step():
    result, pictures = grid_pictures("sum(conv2d(X, K)) + sum(X*X)")
    grids, line = pictures.drawing.grids, pictures.line
    copy = [f.index for f in pictures.frames if f.caption.startswith("copy adds · X")]
    assert copy and all(line.known_at[grids["X"].cell_id(c, True)] == copy[0] for c in np.ndindex(5, 5))


# ---- one picture, one layout -------------------------------------------------------------------

def test_every_cell_has_one_unique_id_in_the_svg():
    values = {"X": np.arange(32.0).reshape(2, 4, 4) % 5, "K": np.ones((2, 2, 3, 3))}   # 2 filters, 2 channels
    for source, given in ((VALID, {}), ("sum(conv2d(X, K))", values)):
        result, pictures = grid_pictures(source, **given)
        svg = pictures.final_svg()
        ids = Counter(re.findall(r' id="([^"]+)"', svg))
        assert [id for id, count in ids.items() if count > 1] == []
        for n, grid in pictures.drawing.grids.items():
            expected = grid.cell_ids() + (grid.cell_ids(True) if grid.grad else [])
            assert set(expected) <= set(ids), n
        assert "xlink:href" not in svg and "<a " not in svg


def test_one_layout_whatever_is_written(monkeypatch, tmp_path):
    calls = []
    real = graphviz.layout
    monkeypatch.setattr(graphviz, "layout", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = graphviz_nn.trace(VALID, X=X, K=K)
    rendered = result.render(tmp_path / "out", view="grid", formats=("svg", "png", "pdf"), worksheet="all")
    assert rendered.frame_count == 24 and len(calls) == 1


def test_every_frame_has_the_geometry_of_the_finished_picture():
    result, pictures = grid_pictures()
    final = geometry(pictures.final_svg())
    assert all(geometry(pictures.svg(f)) == final for f in pictures.frames)
    assert len({pictures.svg(f) for f in pictures.frames}) == len(pictures.frames)    # each shows something new


def geometry(svg: str) -> str:
    """An SVG with its colours and its caption taken out: what no frame may change."""
    svg = re.sub(r'(fill|stroke)="[^"]*"', "", svg)
    return svg[: svg.rindex("</g>")]


def test_pdf_frames_colour_the_same_cells_from_the_pinned_layout():
    """PDF frames are DOT drawn by neato -n2 at the layout's positions, each in its frame's colours."""
    result = graphviz_nn.trace(VALID, X=X, K=K)
    pictures = result.pictures(view="grid", frames="per-gate", formats=("svg", "pdf"))
    pins, o = positions(pictures.layout.json), pictures.options
    i = frames_starting(pictures, "forward · conv slides the kernel")[4]          # a[1,1]
    source = pictures.dot(state_of=lambda part: pictures.line.state(part, i), pins=pins).source
    active = THEMES["light"].active_fill
    cells = re.findall(rf'<TD BGCOLOR="{active}" WIDTH[^>]*><FONT COLOR="[^"]*" POINT-SIZE="10">(\d+)</FONT>', source)
    window_numbers = [X[r][c] for r, c in sorted(window(1, 1, 3))]
    kernel_numbers = [k for row in K for k in row]
    assert sorted(map(int, cells)) == sorted(window_numbers + kernel_numbers + [19])
    graphviz.render_positioned([source], "pdf")                          # neato takes the tables


# ---- the command line and the API ---------------------------------------------------------------

def test_every_format_and_output_is_written(nngraph, tmp_path):
    out = tmp_path / "out"
    status, _, _ = nngraph(VALID, "--at", X_TEXT, "--at", K_TEXT, "--view", "grid", "--format", "svg,png,pdf",
                           "--slide", "--theme", "dark", "--worksheet", "all", "-o", out)
    assert status == 0
    frames = 24
    assert len(list((out / "frames").glob("*.svg"))) == len(list((out / "frames").glob("*.pdf"))) == frames
    assert len(list((out / "frames").glob("*.png"))) == frames
    gif = Image.open(out / "backprop.gif")        # (far-apart changes go as two images: count the time)
    shown = 0
    for i in range(gif.n_frames):
        gif.seek(i)
        shown += gif.info["duration"]
    assert shown == FIRST_MS + (frames - 2) * STEP_MS + LAST_MS
    assert Image.open(out / "graph.png").size[0] > 1000                      # a 16:9 slide
    page = (out / "index.html").read_text()
    assert page.count("<svg") == 1 and 'id="x0_0"' in page and 'id="d1_8"' in page
    for name in ("graph.pdf", "worksheet.pdf", "key.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF")
    answers = (out / "answers.txt").read_text()
    assert "a = conv2d(X, K): [[12, 12, 17], [15, 19, 21], [18, 18, 24]]" in answers
    assert "∂c/∂X: [[0, 0, 0, 0, 0], [0, 0, 1, 2, 0], [0, 2, 2, 0, 0], [0, 0, 1, 2, 0], [0, 0, 0, 0, 0]]" in answers
    sheet = (out / "worksheet.svg").read_text()
    assert ">24<" not in sheet and ">24<" in (out / "key.svg").read_text()   # a's values left blank


def test_the_grid_view_is_refused_where_it_makes_no_sense(nngraph, tmp_path):
    status, _, err = nngraph("x*y", "--at", "x=1,y=2", "--view", "grid", "--no-render")
    assert status == 2 and err.startswith("error: --view grid draws matrices as number grids")
    big = "X=" + str(np.ones((17, 17)).tolist()).replace(" ", "")
    status, _, err = nngraph("sum(X*2)", "--at", big, "--view", "grid", "--no-render")
    assert status == 2 and "over 16 rows or columns" in err
    status, _, err = nngraph(VALID, "--at", X_TEXT, "--at", K_TEXT, "--view", "neurons", "--no-render")
    assert status == 2 and err.startswith("error: --view neurons applies to network specs")
    spec = Path(__file__).resolve().parent.parent / "examples" / "nets" / "25_relu_regression.toml"
    status, _, err = nngraph(spec, "--view", "grid", "--no-render")
    assert status == 2 and err.startswith("error: --view grid draws conv and pool layers")
    assert not (tmp_path / "outputs").exists()


def test_matrices_too_large_for_a_grid_keep_the_ordinary_drawing():
    big = np.arange(17 * 17.0).reshape(17, 17) % 4
    result, pictures = grid_pictures("sum(conv2d(X, K))", X=big)     # X 17×17; a 15×15 grid
    assert set(pictures.drawing.grids) == {"K", "a"}
    assert frames_starting(pictures, "forward · conv slides") == []     # told as one gate
    assert "17×17" in pictures.final_svg()


def test_the_api_takes_view_grid():
    result = graphviz_nn.trace(VALID, X=X, K=K)
    assert 'id="x0_24"' in result.svg(view="grid") and 'id="x0_24"' not in result.svg()
    assert "x0_24" in result.player(view="grid").html
    assert 'ID="x0_24"' in result.to_graphviz(view="grid").source
    with pytest.raises(UserError, match="unknown view"):
        result.svg(view="neurons")
    with pytest.raises(UserError, match="has none"):
        graphviz_nn.trace("x*y", x=1, y=2).svg(view="grid")


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_player_hides_a_gradient_cell_until_it_is_final(tmp_path):
    """In Chromium: ∂c/∂X[0,0] is invisible in the first frame, visible in the last; a window
    cell is lit in the first conv frame."""
    result = graphviz_nn.trace(VALID, X=X, K=K)
    result.render(tmp_path / "out", view="grid", gif=False)
    page = (tmp_path / "out" / "index.html").read_text()
    probe = """
    const seen = [];
    const styleOf = (id, tag, prop) => getComputedStyle(document.querySelector('#' + id + ' ' + tag))[prop];
    seen.push(styleOf('d0_0', 'text', 'fill'));
    document.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight'}));
    seen.push(styleOf('x0_12', 'polygon', 'fill'), styleOf('x0_13', 'polygon', 'fill'));
    document.dispatchEvent(new KeyboardEvent('keydown', {key: 'End'}));
    seen.push(styleOf('d0_0', 'text', 'fill'));
    const out = document.createElement('pre'); out.id = 'result'; out.textContent = JSON.stringify(seen);
    document.body.appendChild(out);
    """
    first, lit, unlit, last = json.loads(in_browser(page, probe, tmp_path))
    assert first == "none" and last != "none"
    assert lit == "rgb(255, 233, 168)" and unlit != lit          # X[2,2] is in a[0,0]'s window, X[2,3] not


# ---- a spec's conv layer with a bias (conv2d_bias) ------------------------------------------------

BIASED = {"data": {"X": [[X]], "y": [[1.0] * 8]},           # exercise 40's image; two filters, a bias each
          "layer": [{"type": "conv2d", "K": [[K], [[row[::-1] for row in K]]], "b": [0.5, -2],
                     "stride": 2},
                    {"type": "flatten"}],
          "loss": {"type": "half_sse"}}


def spec_pictures(doc: dict):
    from graphviz_nn.api import render_options
    from graphviz_nn.explain.report import scene
    from graphviz_nn.network.run import run_network
    from graphviz_nn.network.spec import parse_spec
    from graphviz_nn.render.export import Pictures
    p = run_network(parse_spec(doc, "net.toml"), draw="1").passes[0]
    drawn = scene(p.graph, p.steps, p.captions, grid=True)
    return p, drawn.steps, Pictures(drawn, render_options({"frames": "per-gate"}))


def test_a_biased_conv_adds_its_filters_bias_to_each_product_sum():
    p, _, pictures = spec_pictures(BIASED)
    H1, b = p.graph["H1"]["value"], [0.5, -2]
    grids = pictures.drawing.grids
    assert grids["b1"].shape == (2,)                 # the bias is a row of cells
    frames = frames_starting(pictures, "forward · conv slides the kernel")
    assert len(frames) == H1.size == 8
    for i, cell in zip(frames, np.ndindex(H1.shape)):
        caption = pictures.frames[i].caption
        f = cell[1]
        assert f" + b1[{f}] = " in caption, caption
        products, total = re.search(r" = ((?:\(?-?[\d.]+\)?·\(?-?[\d.]+\)? \+ )+)(\(?-?[\d.]+\)?) = (-?[\d.]+)$",
                                    caption).group(1, 3)
        numbers = [[float(n.strip("()")) for n in term.split("·")] for term in products.rstrip(" +").split(" + ")]
        assert len(numbers) == 9 and sum(x * k for x, k in numbers) + b[f] == float(total) == H1[cell], caption
        assert f"+ {b[f]:g} = " in caption.replace("(-2)", "-2")
        lit = lit_in(pictures, i)
        assert grids["b1"].cell_id((f,)) in lit and grids["b1"].cell_id((1 - f,)) not in lit
        assert shown_from(pictures, grids["H1"].cell_id(cell)) == i


def test_a_biased_convs_gradient_cells_are_final_with_the_engines_numbers():
    """∂b[f] adds d over every position of filter f: its cell appears at the filter's last window,
    with the engine's number; ∂K and ∂X as for conv2d."""
    p, window_steps, pictures = spec_pictures(BIASED)
    graph, grids = p.graph, pictures.drawing.grids
    frames = frames_starting(pictures, "backward · conv at")
    assert len(frames) == 8
    texts = dict(re.findall(r'<g id="(d\d+_\d+)"[^>]*>\n<polygon[^>]*/>\n<text[^>]*>([^<]*)</text>',
                            pictures.svg_text))
    d = graph["H1"]["grad"]
    for f in (0, 1):
        id = grids["b1"].cell_id((f,), grad=True)
        assert shown_from(pictures, id) == frames[4 * f + 3]              # the filter's last window
        assert float(texts[id]) == pytest.approx(graph["b1"]["grad"][f]) and graph["b1"]["grad"][f] == d[0, f].sum()
    for name in ("K1", "X"):
        for index in np.ndindex(graph[name]["value"].shape):
            id = grids[name].cell_id(index, grad=True)
            assert id in texts and float(texts[id]) == pytest.approx(graph[name]["grad"][index], abs=5e-4)
    captions = [pictures.frames[i].caption for i in frames]
    assert all(re.search(r"∂L/∂b1\[\d\] adds d", c) for c in captions if "adds nothing" not in c)
    so_far = [re.search(r"∂L/∂b1 so far (\[.*?\])", c).group(1) for c in captions]
    running = np.zeros(2)
    for text, (f, r, c) in zip(so_far, np.ndindex(2, 2, 2)):     # each window adds its d to its filter's cell
        running[f] += d[0, f, r, c]
        assert text == fmt_value(running), (f, r, c)
    assert so_far[-1] == fmt_value(graph["b1"]["grad"])
    assert "∂L/∂b1 is the sum of d over each filter's positions" in captions[-1]
    steps = [s for s in window_steps if s.kind == "window" and s.phase == "backward"]
    for step in steps:           # the running sums at a cell's writing step are the engine's numbers
        running = dict(step.grads)
        for cell in step.cells.writes:
            assert running[cell] == graph[cell.node]["grad"][cell.index]
