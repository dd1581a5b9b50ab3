"""Every shipped example, run as a user would: each command of examples/expressions.txt and each
spec of examples/nets/ in every view, pictures included. A few also write the frames, the GIF and
the player; the rest draw graph.svg only, to stay quick. The longest training run is marked slow.
Each program of examples/programs/ runs as its header says (no option): frames, GIF and player;
graph.png and graph.pdf; JSON; --expand where it changes the graph; PNG and PDF frames for the
smallest in the quick run, for all of them in the slow one; a worksheet. A program whose header
command asks for a view (`--view grid`) is drawn in it every time. The README's tables are what
examples/gallery.py writes."""
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from PIL import Image

import graphviz_nn as nn

EXAMPLES = Path(__file__).parent.parent / "examples"
NETS = sorted((EXAMPLES / "nets").glob("*.toml"))
COMMANDS = [line for line in (EXAMPLES / "expressions.txt").read_text().splitlines()
            if line.startswith("nngraph ")]
ANIMATED = {COMMANDS[0], "25_relu_regression.toml"}       # frames, GIF and player too
SLOW = {"classifier_adam.toml"}          # 200 Adam steps: 51 pictures per view, seconds of Graphviz
PROGRAMS = sorted((EXAMPLES / "programs").glob("*.nn"))
QUICK_RASTER = {"batchnorm_expanded.nn", "40_5_stride3.nn"}   # PNG and PDF frames in the quick run (12, 6)
TOO_WIDE_FOR_NEURONS = {"cnn_small.toml"}      # two 6×6 images: 36 pixels, over the 25 a neuron picture holds


def expands(path: Path) -> bool:
    """Does --expand change this program's graph (a σ, a batchnorm to break into primitives)?"""
    text = path.read_text(encoding="utf-8")
    return len(nn.trace(text, expand=True).graph.order) != len(nn.trace(text).graph.order)


EXPANDED = [p for p in PROGRAMS if expands(p)]


def view(path: Path) -> list[str]:
    """The view the file's first header command draws it in (`--view grid`), as options; none if it
    names none (other commands of the header are alternatives, as in the gallery)."""
    command = re.search(rf"^#\s*nngraph examples/programs/{re.escape(path.name)}\b(.*)$",
                        path.read_text(encoding="utf-8"), re.MULTILINE).group(1)
    found = re.search(r"--view \w+", command)
    return found.group(0).split() if found else []


def summary_only(name: str) -> bool:
    """A spec with input_shape and no [data] (exercises 44, 49): its summary is all it runs."""
    path = EXAMPLES / "nets" / name
    return path.suffix == ".toml" and "data" not in tomllib.loads(path.read_text(encoding="utf-8"))


def draw(nngraph, folder: Path, name: str, *argv):
    """Run the example into folder, all pictures or graph.svg only; return the status and stderr.
    A summary-only spec prints its table and draws nothing."""
    pictures = [] if name in ANIMATED else ["--no-frames"]
    status, out, err = nngraph("-o", folder, *pictures, *argv)     # options first: argv may hold `--`
    if status == 0 and summary_only(name):
        assert "total parameters" in out and not folder.exists()
        return status, err
    if status == 0:
        assert list(folder.rglob("graph.svg"))
    if status == 0 and name in ANIMATED:
        gifs = list(folder.rglob("backprop.gif"))
        assert gifs and all(Image.open(gif).n_frames > 3 for gif in gifs)
        assert len(list(folder.rglob("index.html"))) == len(gifs)
    return status, err


def test_the_readme_test_command_is_what_ci_runs():
    """Everyone runs the same tests: the README's command (every test, slow ones included) is CI's."""
    root = EXAMPLES.parent
    readme = [line for line in (root / "README.md").read_text().splitlines() if "-m pytest" in line]
    ci = [line for line in (root / ".ci" / "run").read_text().splitlines() if "-m pytest" in line]
    assert len(readme) == 1 and ci == [readme[0].split("#")[0].rstrip()]
    assert ci[0].endswith('pytest -q -m "slow or not slow"')


def test_the_examples_are_found():
    assert len(NETS) >= 19 and len(COMMANDS) >= 10
    assert "25_relu_regression.toml" in {p.name for p in NETS}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_expression_example_draws(command, nngraph, tmp_path):
    status, err = draw(nngraph, tmp_path / "out", command, *shlex.split(command)[1:])
    assert status == 0, err


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW else p for p in NETS],
                         ids=lambda p: p.name)
@pytest.mark.parametrize("view", ["layers", "neurons", "grid"])
def test_every_network_example_draws_in_every_view(path, view, nngraph, tmp_path):
    """Every spec in the layer and neuron views (conv layers as dense layers with tied weights), and
    those with conv or pool layers in the grid view; the neuron view refuses only the nets listed as
    too wide for it, in one error line and a hint; the grid view refuses the others (a summary-only
    spec prints its table in every view)."""
    status, err = draw(nngraph, tmp_path / "out", path.name, path, "--view", view)
    if view == "neurons" and path.name in TOO_WIDE_FOR_NEURONS:
        assert status == 2 and "the neuron view draws at most" in err.splitlines()[0]
        assert err.splitlines()[1].startswith("hint: use --view layers")
    elif view == "grid" and not has_windows(path) and not summary_only(path.name):
        assert status == 2 and err.splitlines()[0].startswith("error: --view grid draws conv and pool layers")
    else:
        assert status == 0, err


def has_windows(path: Path) -> bool:
    """A spec with [data] and a conv or pool layer: what the grid view draws."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    return "data" in doc and any(t.get("type") in ("conv2d", "maxpool", "avgpool") for t in doc["layer"])


def test_the_conv_examples_are_drawn_in_the_neuron_view():
    """Exercise 43 is the neuron view of a conv layer: it must stay within the view's bound."""
    assert "43_conv_as_dense.toml" in {p.name for p in NETS} and "43_conv_as_dense.toml" not in TOO_WIDE_FOR_NEURONS
    assert {p.name for p in NETS if has_windows(p)} >= {"43_conv_as_dense.toml", "cnn_small.toml"}


# ---- programs (examples/programs/*.nn) ------------------------------------------------------------

def program_id(path: Path) -> str:
    return path.name


def test_the_program_examples_are_found():
    assert len(PROGRAMS) >= 8 and "48_rnn_unrolled.nn" in {p.name for p in PROGRAMS}
    assert {"batchnorm_expanded.nn", "52_lstm.nn"} <= {p.name for p in EXPANDED}


def frame_count(folder: Path, suffix: str) -> int:
    return len(list((folder / "frames").glob(f"*.{suffix}")))


@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_every_program_example_draws_its_frames_gif_and_player(path, nngraph, tmp_path):
    """As its header says: `nngraph examples/programs/<file>.nn`, no option."""
    out = tmp_path / "out"
    status, _, err = nngraph("-o", out, *view(path), path)
    assert status == 0, err
    assert (out / "graph.svg").exists() and (out / "index.html").exists()
    assert frame_count(out, "svg") > 3 and Image.open(out / "backprop.gif").n_frames > 3
    titles = set(re.findall(r"^##[ \t]*(\S.*)$", path.read_text(encoding="utf-8"), re.MULTILINE))
    svg = (out / "graph.svg").read_text(encoding="utf-8")
    assert len(re.findall(r'<g id="group\d+"', svg)) == len(titles)        # one box per group


@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_every_program_example_as_png_and_pdf(path, nngraph, tmp_path):
    out = tmp_path / "out"
    status, _, err = nngraph("-o", out, "--format", "png,pdf", "--no-frames", *view(path), path)
    assert status == 0, err
    assert Image.open(out / "graph.png").size[0] > 300
    assert (out / "graph.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("path", [pytest.param(p, marks=[] if p.name in QUICK_RASTER else pytest.mark.slow)
                                  for p in PROGRAMS], ids=program_id)
def test_every_program_example_draws_png_and_pdf_frames(path, nngraph, tmp_path):
    out = tmp_path / "out"
    status, _, err = nngraph("-o", out, "--format", "svg,png,pdf", "--no-gif", *view(path), path)
    assert status == 0, err
    frames = frame_count(out, "svg")
    assert frames > 3 and frame_count(out, "png") == frames == frame_count(out, "pdf")
    assert (out / "frames.tex").exists()


@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_every_program_example_as_json(path, nngraph):
    """One pass; each statement's target is a node id; data (const) have no gradient."""
    status, out, err = nngraph(path, "--json", "--no-render")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "program" and len(doc["steps"]) == 1
    step = doc["steps"][0]
    nodes = {node["id"]: node for node in step["nodes"]}
    text = path.read_text(encoding="utf-8")
    targets = re.findall(r"^(\w+) = (?![-\d\[])", text, re.MULTILINE)        # statements, not data
    assert targets and set(targets) <= set(nodes)
    for call in re.findall(r"^const\((.*)\)", text, re.MULTILINE):
        for name in call.split(","):
            assert nodes[name.strip()]["grad"] is None and name.strip() not in step["gradients"]
    assert step["output"] == pytest.approx(float(nn.trace(text).value))


@pytest.mark.parametrize("path", EXPANDED, ids=program_id)
def test_every_program_example_expands(path, nngraph, tmp_path):
    """--expand where it applies; the batchnorm example, meant for it, with its frames and GIF."""
    out = tmp_path / "out"
    pictures = [] if path.name == "batchnorm_expanded.nn" else ["--no-frames"]
    status, _, err = nngraph("-o", out, "--expand", *pictures, path)
    assert status == 0, err
    assert (out / "graph.svg").exists()
    if not pictures:
        assert frame_count(out, "svg") > 10 and (out / "backprop.gif").exists()


def test_the_grid_examples_are_found():
    """Exercises 40 and 42 are drawn with --view grid, which the tests above pass on."""
    grid = {p.name for p in PROGRAMS if view(p) == ["--view", "grid"]}
    assert {"40_1_valid.nn", "40_6_padding.nn", "42_noughts_and_crosses.nn"} <= grid


@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_every_program_example_as_a_worksheet(path, nngraph, tmp_path):
    """--worksheet all: the blanks numbered once, the key, the answers, SVG and PDF."""
    out = tmp_path / "out"
    status, _, err = nngraph("-o", out, "--worksheet", "all", "--no-frames", "--format", "svg,pdf", *view(path), path)
    assert status == 0, err
    for name in ("worksheet.svg", "worksheet.pdf", "key.svg", "key.pdf", "answers.txt"):
        assert (out / name).exists(), name
    assert (out / "worksheet.pdf").read_bytes().startswith(b"%PDF")
    answers = (out / "answers.txt").read_text(encoding="utf-8").splitlines()
    assert answers and answers[0].startswith("(1) ")


# ---- the gallery and the README -----------------------------------------------------------------

def gallery():
    import importlib.util
    spec = importlib.util.spec_from_file_location("gallery", EXAMPLES / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_tables_are_what_the_gallery_writes():
    """Every spec, formula and program appears in the README as examples/gallery.py would write it,
    linked to a picture (or a spec's printed output) that is there."""
    g = gallery()
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    assert g.readme_tables(readme) == readme, "the README's tables are stale: run python examples/gallery.py"
    for target in re.findall(r"\]\((outputs/gallery/[^)]+)\)", readme):
        assert (EXAMPLES.parent / target).exists(), target
    for path in NETS + PROGRAMS:
        assert f"examples/{path.parent.name}/{path.name}`" in readme or f"examples/{path.parent.name}/{path.name} " in readme, path.name


def test_the_gallery_draws_a_program_in_its_header_view(tmp_path, monkeypatch):
    """A program whose header asks for --view grid is rendered in it; a spec that draws nothing
    (a summary) is kept as the text it printed."""
    g = gallery()
    monkeypatch.setattr(g, "GALLERY", tmp_path)
    path = EXAMPLES / "programs" / "40_5_stride3.nn"
    example = next(e for e in g.program_examples() if e.name == path.stem)
    assert example.args == [str(path), "--view", "grid"]
    folder = tmp_path / "programs" / path.stem
    g.nngraph("-o", str(folder), "--no-frames", *example.args)
    g.keep_one_picture(folder, path.stem)
    svg = (tmp_path / "programs" / f"{path.stem}.svg").read_text(encoding="utf-8")
    assert re.search(r'id="x\d+_\d+"', svg) and not folder.exists()      # the grid's numbers, one part each
    empty = tmp_path / "nets" / "summary_only"
    empty.mkdir(parents=True)
    g.keep_one_picture(empty, "summary_only", "layer  output  params\n")
    assert (tmp_path / "nets" / "summary_only.txt").read_text() == "layer  output  params\n"
    assert g.link("nets", "summary_only") == "[output](outputs/gallery/nets/summary_only.txt)"
