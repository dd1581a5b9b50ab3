"""Every shipped example, run as a user would: each command of examples/expressions.txt and each
spec of examples/nets/ in every view, pictures included. A few also write the frames, the GIF and
the player; the rest draw graph.svg only, to stay quick. The longest training run is marked slow."""
import shlex
from pathlib import Path

import pytest
from PIL import Image

EXAMPLES = Path(__file__).parent.parent / "examples"
NETS = sorted((EXAMPLES / "nets").glob("*.toml"))
COMMANDS = [line for line in (EXAMPLES / "expressions.txt").read_text().splitlines()
            if line.startswith("nngraph ")]
ANIMATED = {COMMANDS[0], "25_relu_regression.toml"}       # frames, GIF and player too
SLOW = {"classifier_adam.toml"}          # 200 Adam steps: 51 pictures per view, seconds of Graphviz


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
