"""--draw: which training steps are drawn (the others keep their numbers), parsed, never run."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import in_browser

from graphviz_nn.errors import UserError
from graphviz_nn.network.selection import drawn_steps

NETS = Path(__file__).resolve().parent.parent / "examples" / "nets"


@pytest.mark.parametrize("text, count, steps", [
    ("1-3,last", 200, {1, 2, 3, 200}), ("1-3,last", 2, {1, 2}), ("all", 4, {1, 2, 3, 4}),
    ("every 50", 200, {50, 100, 150, 200}), ("every:3, first", 7, {1, 3, 6}), ("5", 9, {5}),
    ("2-100", 4, {2, 3, 4}), (" LAST ", 3, {3})])
def test_selections(text, count, steps):
    assert drawn_steps(text, count) == steps


@pytest.mark.parametrize("text, message", [
    ("every 0", "picks nothing"), ("3-1", "not a range"), ("0", "not a range"), ("most", "cannot read"),
    ("9", "picks none of the 4"), ("1," * 200, "characters")])
def test_bad_selections_are_refused(text, message):
    with pytest.raises(UserError, match=message):
        drawn_steps(text, 4)


def test_a_long_run_draws_its_start_and_end_by_default(nngraph, tmp_path):
    status, out, _ = nngraph(NETS / "classifier_adam.toml", "-o", tmp_path / "o", "--no-gif", "--json")
    assert status == 0
    folders = sorted(p.name for p in (tmp_path / "o").iterdir() if p.is_dir())
    assert folders == ["step001", "step002", "step003", "step200"]
    doc = json.loads(out)
    assert len(doc["steps"]) == 200 and all("loss" in step for step in doc["steps"])


def test_draw_every_k(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "classifier_adam.toml", "-o", tmp_path / "o", "--no-frames",
                           "--draw", "every 50")
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir() if p.is_dir()) == \
        ["step050", "step100", "step150", "step200"]


def test_a_bad_selection_is_one_error_line(nngraph):
    status, out, err = nngraph(NETS / "classifier_adam.toml", "--draw", "sometimes", "--no-render")
    assert status == 2 and out == "" and "--draw: cannot read 'sometimes'" in err


def test_a_run_has_one_player_with_a_step_slider(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "classifier_adam.toml", "-o", tmp_path / "o", "--no-gif")
    assert status == 0
    assert not list((tmp_path / "o").glob("step*/index.html"))          # one page, not one per step
    page = (tmp_path / "o" / "index.html").read_text()
    assert page.count("<svg") == 4 and 'id="step"' in page and 'max="3"' in page
    assert '"label": "200 of 200"' in page
    assert page.count('class="frame" hidden') == 3                      # one step shown at a time


def test_a_single_pass_keeps_its_own_page_without_a_step_slider(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "25_relu_regression.toml", "-o", tmp_path / "o", "--no-gif")
    page = (tmp_path / "o" / "index.html").read_text()
    assert status == 0 and page.count("<svg") == 1 and 'id="step"' not in page


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_step_slider_switches_pictures_in_a_real_browser(nngraph, tmp_path):
    nngraph(NETS / "classifier_adam.toml", "-o", tmp_path / "o", "--no-gif")
    page = (tmp_path / "o" / "index.html").read_text()
    drive = """
    const seen = [];
    const key = k => document.dispatchEvent(new KeyboardEvent('keydown', {key: k}));
    const where = () => document.body.dataset.step + '.' + document.body.dataset.frame + '.' +
      [...document.querySelectorAll('.frame')].findIndex(p => !p.hidden);
    key('ArrowRight'); key('ArrowRight'); seen.push(where());
    key('ArrowDown'); seen.push(where());
    key('ArrowDown'); key('ArrowDown'); key('ArrowDown'); seen.push(where());
    key('ArrowUp'); seen.push(where());
    const out = document.createElement('pre'); out.id = 'result';
    out.textContent = seen.join(',') + ';' + document.getElementById('steplabel').textContent;
    document.body.appendChild(out);
    """
    assert in_browser(page, drive, tmp_path) == "0.2.0,1.0.1,3.0.3,2.0.2;3 of 200"


def test_a_training_steps_picture_shows_the_updated_weights_and_the_rule(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "25_relu_regression.toml", "-o", tmp_path / "o", "--no-gif")
    out = tmp_path / "o"
    final = (out / "graph.svg").read_text()
    assert status == 0 and final.count("after the update:") == 2          # W1 and W2
    assert "update: W ← W" in final and "(η = 1)" in final           # the rule, in the caption bar
    frames = [f.read_text() for f in sorted((out / "frames").glob("*.svg"))]
    shown_at = [int(k) for k in re.findall(r'id="u\d+" class="h(\d+)', final)]
    assert len(shown_at) == 2
    for k in shown_at:                       # hidden until its own update frame, shown from then on
        assert "update · W" in frames[k]
        assert f".h{k}>text" in frames[k - 1].split("<style>")[-1]
        assert f".h{k}>text" not in frames[k].split("<style>")[-1]


def test_the_neuron_view_shows_each_weights_new_value(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "24_zero_init_sigmoid.toml", "--view", "neurons", "-o", tmp_path / "o",
                           "--no-frames")
    svg = (tmp_path / "o" / "step002" / "graph.svg").read_text()
    assert status == 0 and svg.count("after the update: 0.5") == 2 and svg.count("after the update: 0<") == 8
