"""`nngraph spec.toml`: the network front end through the command line, pictures included."""
import json
from pathlib import Path

import pytest

NETS = Path(__file__).parent.parent / "examples" / "nets"


def test_untrained_pass_is_drawn_in_the_folder_itself(nngraph, tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text((NETS / "25_relu_regression.toml").read_text().split("[train]")[0])
    status, out, _ = nngraph(spec, "-o", tmp_path / "out")
    assert status == 0 and "∂L/∂W1" in out
    assert {"graph.svg", "backprop.gif", "index.html", "frames"} <= {p.name for p in (tmp_path / "out").iterdir()}


def test_each_training_step_gets_its_own_folder_and_plots(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "24_zero_init_sigmoid.toml", "-o", tmp_path / "out", "--plots", "--no-gif")
    assert status == 0
    out = tmp_path / "out"
    assert (out / "step001" / "graph.svg").exists() and (out / "step002" / "graph.svg").exists()
    plots = list((out / "plots").iterdir())
    assert {p.name for p in plots} == {f"{n}.{ext}" for n in ("loss", "gradient_norms", "activations")
                                       for ext in ("png", "svg")}
    assert all(p.stat().st_size > 1000 for p in plots)
    frames = sorted((out / "step001" / "frames").glob("*.svg"))
    assert "update · W" in frames[-1].read_text()


def test_neuron_view_draws_every_weight_with_its_gradient(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "24_zero_init_sigmoid.toml", "--view", "neurons", "-o", tmp_path / "out",
                           "--no-frames")
    assert status == 0
    svg = (tmp_path / "out" / "step001" / "graph.svg").read_text()
    assert "W1[1,1] = 0" in svg and "∂L/∂W3[1,1]" in svg


def test_json_document_of_a_training_run(nngraph):
    status, out, _ = nngraph(NETS / "15_linreg_sgd.toml", "--json", "--no-render")
    assert status == 0
    doc = json.loads(out)
    assert doc["kind"] == "network" and len(doc["steps"]) >= 2
    assert all("loss" in p and "params_after" in p for p in doc["steps"])


def test_a_broken_spec_is_one_error_line_and_writes_nothing(nngraph, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('[data]\nX = [[1, 2]]\n[[layer]]\ntype = "linear"\nW = [[1], [2], [3]]\n')
    status, _, err = nngraph(spec, "-o", tmp_path / "out")
    assert status == 2 and "W1" in err.splitlines()[0]
    assert not (tmp_path / "out").exists()


def test_json_stays_one_document_when_pictures_are_drawn(nngraph, tmp_path):
    status, out, _ = nngraph(NETS / "20_scalar_chain.toml", "--json", "-o", tmp_path / "out", "--no-frames")
    assert status == 0 and (tmp_path / "out" / "graph.svg").exists()
    assert json.loads(out)["kind"] == "network"
