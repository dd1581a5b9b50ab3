"""`nngraph spec.toml`: the network front end through the command line, pictures included."""
import json
from pathlib import Path

from graphviz_nn.cli import main

NETS = Path(__file__).parent.parent / "examples" / "nets"


def test_untrained_pass_is_drawn_in_the_folder_itself(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text((NETS / "11_relu_regression.toml").read_text().split("[train]")[0])
    assert main([str(spec), "-o", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert {"graph.svg", "backprop.gif", "index.html", "frames"} <= {p.name for p in out.iterdir()}
    assert "∂L/∂W1" in capsys.readouterr().out


def test_each_training_step_gets_its_own_folder_and_plots(tmp_path, capsys):
    assert main([str(NETS / "10_zero_init_sigmoid.toml"), "-o", str(tmp_path / "out"), "--plots",
                 "--no-gif"]) == 0
    out = tmp_path / "out"
    assert (out / "step001" / "graph.svg").exists() and (out / "step002" / "graph.svg").exists()
    assert (out / "plots" / "loss.svg").exists()
    frames = sorted((out / "step001" / "frames").glob("*.svg"))
    assert "update · W" in frames[-1].read_text()


def test_neuron_view_draws_every_weight_with_its_gradient(tmp_path):
    assert main([str(NETS / "10_zero_init_sigmoid.toml"), "--view", "neurons", "-o", str(tmp_path / "out"),
                 "--no-frames"]) == 0
    svg = (tmp_path / "out" / "step001" / "graph.svg").read_text()
    assert "W1[1,1] = 0" in svg and "∂L/∂W3[1,1]" in svg


def test_json_document_of_a_training_run(capsys):
    assert main([str(NETS / "07_linreg_sgd.toml"), "--json", "--no-render"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "network" and len(doc["steps"]) >= 2
    assert all("loss" in p and "params_after" in p for p in doc["steps"])


def test_a_broken_spec_is_one_error_line_and_writes_nothing(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('[data]\nX = [[1, 2]]\n[[layer]]\ntype = "linear"\nW = [[1], [2], [3]]\n')
    assert main([str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    assert not (tmp_path / "out").exists()
