"""Training runs: update steps, the exercises' properties, the JSON document, examples and plots."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphviz_nn.explain import report
from graphviz_nn.errors import UserError
from graphviz_nn.network.run import run_network, run_spec
from graphviz_nn.network.spec import parse_spec

EXAMPLES = Path(__file__).parent.parent / "examples" / "nets"


def zero_init_net(view="layers"):
    """Exercise 24's variant with an output sigmoid: ŷ = ½ ≠ y, so step 1 already moves W3."""
    return run_spec(str(EXAMPLES / "24_zero_init_sigmoid_output.toml"), view=view)


def moved(p, before):
    return {name: p.params_after[name] - before[name] for name in before}


@pytest.mark.parametrize("view", ["layers", "neurons"])
def test_zero_init_moves_only_the_last_layer_first_and_every_weight_of_a_layer_alike(view):
    run = zero_init_net(view)
    first, second = run.passes
    assert first.rows == [2] and second.rows == [1]
    step1 = moved(first, run.spec.params)
    assert not step1["W1"].any() and not step1["W2"].any()
    assert step1["W3"].all()
    step2 = moved(second, first.params_after)
    assert step2["W2"].all()
    for p, change in ((first, step1), (second, step2)):
        for name, delta in change.items():
            assert np.all(delta == delta.flat[0]), f"step {p.number}: {name} moved unevenly: {delta}"


def test_exercise_24_as_written_moves_nothing_first_then_only_the_last_layer():
    """Linear output: ŷ = 0 equals the first target 0, so step 1 moves nothing; step 2 moves W3."""
    run = run_spec(str(EXAMPLES / "24_zero_init_sigmoid.toml"))
    first, second = run.passes
    assert first.loss == 0 and not any(moved(first, run.spec.params)[n].any() for n in run.spec.params)
    step2 = moved(second, first.params_after)
    assert not step2["W1"].any() and not step2["W2"].any() and step2["W3"].all()
    assert np.all(step2["W3"] == step2["W3"].flat[0])


def test_each_sgd_pass_holds_only_its_observation():
    run = zero_init_net()
    for p in run.passes:
        X = p.graph["X"]["value"]
        assert X.shape == (1, 2)
        np.testing.assert_array_equal(X, run.spec.X[[r - 1 for r in p.rows]])


def test_order_repeats_cyclically():
    spec = parse_spec({"data": {"X": [[1], [2], [3]], "y": [1, 2, 3]},
                       "layer": [{"type": "linear", "W": [[0]]}], "loss": {"type": "mse"},
                       "train": {"lr": 0.1, "steps": 5, "order": [3, 1]}}, "net.toml")
    assert [p.rows for p in run_network(spec).passes] == [[3], [1], [3], [1], [3]]


def test_update_steps_show_the_rule_and_old_and_new_values():
    run = run_spec(str(EXAMPLES / "25_relu_regression.toml"))
    p = run.passes[0]
    updates = [s for s in p.steps if s.phase == "update"]
    assert [s.nodes for s in updates] == [("W1",), ("W2",)]
    texts = [p.captions[i] for i, s in enumerate(p.steps) if s.phase == "update"]
    assert all("← W" in c and "η = 1" in c and "→" in c for c in texts)
    for name in ("W1", "W2"):
        np.testing.assert_array_equal(p.graph[name]["value_after"], p.params_after[name])
        np.testing.assert_allclose(p.params_after[name], run.spec.params[name] - p.gradients[name])


def test_neuron_view_updates_mark_every_weight_edge():
    run = zero_init_net("neurons")
    graph = run.passes[1].graph
    after = {graph.edge(*e)["weight_name"]: graph.edge(*e)["weight_after"]
             for s in run.passes[1].steps if s.phase == "update" for e in s.edges}
    assert len(after) == 2 * 2 + 2 * 2 + 2 * 1
    assert after["W3[2,1]"] == run.passes[1].params_after["W3"][1, 0]


def test_layer_captions_follow_the_backprop_recipe():
    captions = list(zero_init_net().passes[1].captions)
    assert any("d = d·W3ᵀ * O2*(1−O2)" in c for c in captions)
    assert any("∂L/∂W2 = O1ᵀ·d" in c for c in captions)
    step = run_spec(str(EXAMPLES / "05_perceptron_xor.toml"))
    assert any("step passes no gradient" in c for c in step.passes[0].captions)


def test_softmax_with_cross_entropy_sends_back_prediction_minus_target_over_n():
    run = run_spec(str(EXAMPLES / "13_softmax_ce.toml"))
    p = run.passes[0]
    n = len(run.spec.X)
    np.testing.assert_allclose(p.gradients["X"], (p.output - run.spec.y) / n, rtol=1e-12)
    assert any("(ŷ − y)/n" in c for c in p.captions)


def test_perceptrons_compute_their_truth_tables_and_pass_no_gradient():
    for name, table in (("not", [1, 0]), ("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0])):
        run = run_spec(str(EXAMPLES / f"05_perceptron_{name}.toml"))
        p = run.passes[0]
        assert p.output.ravel().tolist() == table
        assert all(not g.any() for g in p.gradients.values())


def test_json_document_has_one_pass_per_training_step():
    doc = json.loads(zero_init_net().to_json())
    assert doc["kind"] == "network" and doc["source"].endswith("24_zero_init_sigmoid_output.toml")
    assert len(doc["steps"]) == 2
    for number, p in enumerate(doc["steps"], start=1):
        assert p["training_step"] == number
        assert isinstance(p["loss"], float)
        assert set(p["gradients"]) == set(p["params_after"]) | {"X"} == {"X", "W1", "W2", "W3"}
        assert {n["id"] for n in p["nodes"]} >= {"X", "H1", "O1", "H2", "O2", "H3", "O3", "L", "y"}
    assert doc["training"]["update"] == "W ← W − η·∂L/∂W"


def test_without_a_loss_backward_starts_from_ones_and_json_has_no_loss():
    run = run_spec(str(EXAMPLES / "05_perceptron_and.toml"))
    p = run.passes[0]
    np.testing.assert_array_equal(p.graph["O1"]["grad"], np.ones((4, 1)))
    doc = run.to_dict()
    assert len(doc["steps"]) == 1
    assert "loss" not in doc["steps"][0] and "params_after" not in doc["steps"][0]


def test_long_runs_keep_graphs_for_the_first_passes_and_the_last():
    spec = parse_spec({"data": {"X": [[1], [2]], "y": [2, 3]}, "layer": [{"type": "linear", "W": [[0]]}],
                       "loss": {"type": "mse"}, "train": {"lr": 0.1, "steps": 30}}, "net.toml")
    run = run_network(spec, draw="1-5,last")
    assert [p.number for p in run.passes if p.drawn] == [1, 2, 3, 4, 5, 30]
    doc = run.to_dict()
    slim = doc["steps"][10]
    assert "nodes" not in slim and set(slim) >= {"loss", "gradients", "params_after", "output"}
    full = run_network(spec, draw="1-30,last")
    for fast, drawn in zip(run.passes, full.passes):
        assert fast.loss == drawn.loss
        np.testing.assert_array_equal(fast.params_after["W1"], drawn.params_after["W1"])
    report.dumps(doc)


def test_long_runs_of_large_networks_keep_only_the_loss_of_undrawn_passes(monkeypatch):
    from graphviz_nn.network import run as train
    spec = parse_spec({"data": {"X": [[1], [2]], "y": [2, 3]}, "layer": [{"type": "linear", "W": [[0]]}],
                       "loss": {"type": "mse"}, "train": {"lr": 0.1, "steps": 30}}, "net.toml")
    full = run_network(spec, draw="1-2,last")
    monkeypatch.setattr(train, "ARRAY_BUDGET", 10)
    slim = run_network(spec, draw="1-2,last")
    assert [p.loss for p in slim.passes] == [p.loss for p in full.passes]
    assert slim.passes[10].gradients is None and slim.passes[-1].params_after == full.passes[-1].params_after
    assert set(slim.to_dict()["steps"][10]) == {"observations", "training_step", "loss"}


def test_neuron_view_refuses_wide_layers_politely():
    doc = {"data": {"X": [[1, 2]]}, "layer": [{"type": "linear", "units": 13, "init": "zeros"}]}
    with pytest.raises(UserError, match="at most 12") as info:
        run_network(parse_spec(doc, "wide.toml"), view="neurons")
    assert "--view layers" in info.value.hint


def test_neuron_view_of_a_multi_output_net_without_loss_sums_the_outputs():
    doc = {"data": {"X": [[1, 2]]}, "layer": [{"type": "linear", "W": [[1, 2, 3], [4, 5, 6]]}, {"type": "tanh"}]}
    spec = parse_spec(doc, "net.toml")
    layers, neurons = run_network(spec).passes[0], run_network(spec, view="neurons").passes[0]
    assert neurons.graph.output == "S"
    for name in ("X", "W1"):
        np.testing.assert_allclose(neurons.gradients[name], layers.gradients[name], rtol=1e-12)


def test_report_lines_show_loss_gradients_and_parameters_after_each_step():
    text = "\n".join(zero_init_net().report_lines())
    assert "L = " in text and "∂L/∂W3" in text and "after the update" in text
    assert text.count("── step") == 2


def test_training_does_not_import_matplotlib():
    code = ("import sys; from graphviz_nn.network.run import run_spec; "
            f"run_spec({str(EXAMPLES / '25_relu_regression.toml')!r}); print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
