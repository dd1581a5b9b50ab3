"""Every shipped example, run as a user would: each command of examples/expressions.txt and each
spec of examples/nets/ in every view, pictures included. A few also write the frames, the GIF and
the player; the rest draw graph.svg only, to stay quick. The longest training run is marked slow.
Each program of examples/programs/ runs as its header says (no option): frames, GIF and player;
graph.png and graph.pdf; JSON; --expand where it changes the graph; PNG and PDF frames for the
smallest in the quick run, for all of them in the slow one."""
import json
import re
import shlex
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
QUICK_RASTER = {"batchnorm_expanded.nn"}   # its PNG and PDF frames in the quick run (12 frames)


def expands(path: Path) -> bool:
    """Does --expand change this program's graph (a σ, a batchnorm to break into primitives)?"""
    text = path.read_text(encoding="utf-8")
    return len(nn.trace(text, expand=True).graph.order) != len(nn.trace(text).graph.order)


EXPANDED = [p for p in PROGRAMS if expands(p)]


def draw(nngraph, folder: Path, name: str, *argv):
    """Run the example into folder, all pictures or graph.svg only; return the status and stderr."""
    pictures = [] if name in ANIMATED else ["--no-frames"]
    status, _, err = nngraph("-o", folder, *pictures, *argv)     # options first: argv may hold `--`
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
@pytest.mark.parametrize("view", ["layers", "neurons"])
def test_every_network_example_draws_in_every_view(path, view, nngraph, tmp_path):
    """The neuron view may refuse a net too wide or too many observations for it, if it says so."""
    status, err = draw(nngraph, tmp_path / "out", path.name, path, "--view", view)
    if view == "neurons" and status == 2:
        assert "the neuron view" in err.splitlines()[0] and "hint: use --view layers" in err
    else:
        assert status == 0, err


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
    status, _, err = nngraph("-o", out, path)
    assert status == 0, err
    assert (out / "graph.svg").exists() and (out / "index.html").exists()
    assert frame_count(out, "svg") > 3 and Image.open(out / "backprop.gif").n_frames > 3
    titles = set(re.findall(r"^##[ \t]*(\S.*)$", path.read_text(encoding="utf-8"), re.MULTILINE))
    svg = (out / "graph.svg").read_text(encoding="utf-8")
    assert len(re.findall(r'<g id="group\d+"', svg)) == len(titles)        # one box per group


@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_every_program_example_as_png_and_pdf(path, nngraph, tmp_path):
    out = tmp_path / "out"
    status, _, err = nngraph("-o", out, "--format", "png,pdf", "--no-frames", path)
    assert status == 0, err
    assert Image.open(out / "graph.png").size[0] > 300
    assert (out / "graph.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("path", [pytest.param(p, marks=[] if p.name in QUICK_RASTER else pytest.mark.slow)
                                  for p in PROGRAMS], ids=program_id)
def test_every_program_example_draws_png_and_pdf_frames(path, nngraph, tmp_path):
    out = tmp_path / "out"
    status, _, err = nngraph("-o", out, "--format", "svg,png,pdf", "--no-gif", path)
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
