"""prelu, batchnorm and dropout layers in specs: their parameters (ak; gammak, betak) and data (the
mask Mk), every gradient against finite differences, the neuron view against the layer view,
training steps in both views, and one `error:` line for each bad option."""
import json

import numpy as np
import pytest

from graphviz_nn import engine
from graphviz_nn.errors import UserError
from graphviz_nn.numfmt import fmt_value
from graphviz_nn.explain.gradcheck import numeric_gradient
from graphviz_nn.network.build import (annotate_weights, build_graph, layer_program, neuron_gradients,
                                       neuron_program, neuron_values)
from graphviz_nn.network.run import run_network
from graphviz_nn.network.spec import LAYER_TYPES, parse_spec


def stack_doc(seed, middle, loss="half_mse", rows=3, outputs=2, train=None, bias=True):
    """d=2 → linear(3) (with a bias) → the layers under test → linear(outputs) → tanh → loss."""
    rng = np.random.default_rng(seed)
    first = rng.normal(size=3).tolist()
    layers = [{"type": "linear", "W": rng.normal(size=(2, 3)).tolist(), **({"b": first} if bias else {})},
              *middle,
              {"type": "linear", "W": rng.normal(size=(3, outputs)).tolist(), "b": rng.normal(size=outputs).tolist()},
              {"type": "tanh"}]
    doc = {"data": {"X": rng.normal(size=(rows, 2)).tolist()}, "layer": layers}
    if loss:
        doc["loss"] = {"type": loss}
        doc["data"]["y"] = rng.normal(size=(rows, outputs)).tolist()
    if train:
        doc["train"] = train
    return doc


MASK = [[1, 0, 1], [0, 1, 1], [1, 1, 0]]
MIDDLES = {
    "prelu": [{"type": "prelu", "alpha": [0.1, -0.3, 0.6]}],
    "prelu shared": [{"type": "prelu", "shared": True, "alpha": 0.2}],
    "batchnorm": [{"type": "batchnorm", "gamma": [1.5, -0.5, 2.0], "beta": [0.1, 0.2, -0.3]}],
    "dropout seed": [{"type": "dropout", "p": 0.4, "seed": 5}],
    "dropout mask": [{"type": "dropout", "p": 0.25, "mask": MASK}],
    "all three": [{"type": "batchnorm"}, {"type": "prelu"}, {"type": "dropout", "p": 0.5, "mask": MASK}],
    "smooth": [{"type": "swish"}, {"type": "linear", "W": np.eye(3).tolist()}, {"type": "mish"},
               {"type": "linear", "W": np.eye(3).tolist()}, {"type": "softplus"},
               {"type": "linear", "W": np.eye(3).tolist()}, {"type": "gelu"},
               {"type": "linear", "W": np.eye(3).tolist()}, {"type": "elu"}],
}
ONE_ROW = [name for name in MIDDLES if "batchnorm" not in name and name not in ("all three", "dropout mask")]


def layer_graph(spec, data=None):
    graph = build_graph(layer_program(spec, spec.X, spec.y, spec.params, data), spec.title)
    engine.run(graph)
    return graph


def neuron_graph(spec, data=None):
    graph = build_graph(neuron_program(spec, spec.X, spec.y, spec.params, data), spec.title)
    engine.run(graph)
    annotate_weights(graph)
    return graph


def test_the_layer_types_come_from_the_registries():
    assert {"softplus", "swish", "mish", "elu", "gelu", "leaky_relu", "prelu", "batchnorm", "dropout"} <= \
        set(LAYER_TYPES)


def test_names_follow_the_linear_layer_before():
    spec = parse_spec(stack_doc(1, MIDDLES["all three"]), "net.toml")
    assert [layer.name for layer in spec.layers] == ["H1", "N1", "O1", "D1", "H2", "O2"]
    assert list(spec.params) == ["W1", "b1", "gamma1", "beta1", "a1", "W2", "b2"]
    np.testing.assert_array_equal(spec.params["a1"], [0.25] * 3)         # PyTorch's default α
    np.testing.assert_array_equal(spec.params["gamma1"], np.ones(3))
    np.testing.assert_array_equal(spec.params["beta1"], np.zeros(3))
    graph = layer_graph(spec)
    assert graph["M1"]["kind"] == "const" and graph["a1"]["kind"] == "param"
    assert set(graph.variables()) == {"X", "W1", "b1", "gamma1", "beta1", "a1", "W2", "b2"}


@pytest.mark.parametrize("middle", list(MIDDLES))
def test_every_gradient_matches_finite_differences(middle):
    spec = parse_spec(stack_doc(len(middle), MIDDLES[middle]), "net.toml")
    graph = layer_graph(spec)
    seed = graph[graph.output]["grad"]
    for name in graph.variables():
        numeric = numeric_gradient(graph, name, seed)
        np.testing.assert_allclose(graph[name]["grad"], numeric, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("middle", list(MIDDLES))
@pytest.mark.parametrize("loss", ["half_mse", None])
def test_neuron_view_agrees_with_layer_view_entry_by_entry(middle, rows, loss):
    if rows == 1 and middle not in ONE_ROW:
        pytest.skip("batchnorm needs a batch")
    spec = parse_spec(stack_doc(rows + 10, MIDDLES[middle], loss, rows=rows), "net.toml")
    layers, neurons = layer_graph(spec), neuron_graph(spec)
    for layer in spec.layers:
        np.testing.assert_allclose(neuron_values(neurons, layer), layers[layer.name]["value"],
                                   rtol=1e-12, atol=1e-14, err_msg=layer.name)
        np.testing.assert_allclose(neuron_values(neurons, layer, "grad"), layers[layer.name]["grad"],
                                   rtol=1e-12, atol=1e-14, err_msg=f"∂/∂{layer.name}")
    from_neurons = neuron_gradients(neurons, spec, spec.params)
    for name in layers.variables():
        np.testing.assert_allclose(from_neurons[name], layers[name]["grad"], rtol=1e-12, atol=1e-14,
                                   err_msg=f"∂/∂{name}")


def test_neuron_view_gives_each_neuron_its_own_parameter_nodes_and_mask_column():
    spec = parse_spec(stack_doc(2, MIDDLES["all three"]), "net.toml")
    graph = neuron_graph(spec)
    for j in (1, 2, 3):
        assert graph.args[f"N1_{j}"] == [f"H1_{j}", f"gamma1_{j}", f"beta1_{j}"]
        assert graph.args[f"O1_{j}"] == [f"N1_{j}", f"a1_{j}"]
        assert graph.args[f"D1_{j}"] == [f"O1_{j}", f"M1_{j}"]
        assert graph[f"a1_{j}"]["kind"] == "param" and graph[f"M1_{j}"]["kind"] == "const"
        np.testing.assert_array_equal(graph[f"M1_{j}"]["value"], np.array(MASK)[:, j - 1])


def test_a_shared_alpha_is_one_node_whose_gradient_adds_up_over_the_neurons():
    spec = parse_spec(stack_doc(3, MIDDLES["prelu shared"]), "net.toml")
    assert spec.params["a1"].shape == (1,)
    graph = neuron_graph(spec)
    assert len(graph.users["a1"]) == 3
    layers = layer_graph(spec)
    assert float(graph["a1"]["grad"]) == pytest.approx(float(layers["a1"]["grad"][0]), rel=1e-12)


@pytest.mark.parametrize("middle, optimizer, order", [
    ("prelu", "adam", [2, 3, 1]), ("prelu shared", "momentum", None), ("batchnorm", "rmsprop", None),
    ("dropout seed", "sgd", [3, 1]), ("dropout mask", "nesterov", None), ("all three", "adam", None),
])
def test_training_steps_agree_in_both_views(middle, optimizer, order):
    """(A bias before batchnorm has gradient 0 up to rounding, which RMSprop and Adam would blow up
    to whole steps: no bias there, as in practice.)"""
    train = {"lr": 0.1, "steps": 3, "optimizer": optimizer, **({"order": order} if order else {})}
    spec = parse_spec(stack_doc(4, MIDDLES[middle], train=train, bias="batchnorm" not in str(MIDDLES[middle])),
                      "net.toml")
    layers, neurons = run_network(spec, "layers", "all"), run_network(spec, "neurons", "all")
    for a, b in zip(layers.passes, neurons.passes):
        assert a.loss == pytest.approx(b.loss, rel=1e-12)
        assert a.data.keys() == b.data.keys()
        for name in a.params_after:
            np.testing.assert_allclose(b.params_after[name], a.params_after[name], rtol=1e-10, atol=1e-13,
                                       err_msg=name)
    learned = (spec.layers[1].params or ["W1"])[0]          # the new layer's parameter moves
    assert not np.allclose(layers.passes[-1].params_after[learned], spec.params[learned])


def test_per_neuron_parameters_show_their_new_value_in_the_neuron_view():
    train = {"lr": 0.5, "steps": 1}
    spec = parse_spec(stack_doc(6, MIDDLES["all three"], train=train), "net.toml")
    run = run_network(spec, "neurons")
    graph, after = run.passes[0].graph, run.passes[0].params_after
    for name in ("a1", "gamma1", "beta1"):
        for j in (1, 2, 3):
            assert graph[f"{name}_{j}"]["value_after"] == after[name][j - 1]
    updated = {n for s in run.passes[0].steps if s.phase == "update" for n in s.nodes}
    assert {"a1_1", "gamma1_2", "beta1_3"} <= updated


# ---- dropout: the mask is data --------------------------------------------------------------

def dropout_doc(**dropout):
    return {"data": {"X": [[1, 2], [3, 4], [5, 6]], "y": [1, 0, 2]},
            "layer": [{"type": "linear", "W": [[1, -1, 0.5], [0.5, 1, -1]]},
                      {"type": "dropout", **dropout},
                      {"type": "linear", "W": [[1], [2], [3]]}],
            "loss": {"type": "half_sse"}, "train": {"lr": 0.1, "steps": 4}}


def test_inverted_dropout_scales_the_kept_entries_and_passes_no_gradient_to_the_mask():
    spec = parse_spec(dropout_doc(p=0.75, mask=MASK), "net.toml")
    graph = layer_graph(spec)
    np.testing.assert_allclose(graph["D1"]["value"], graph["H1"]["value"] * np.array(MASK) * 4)
    np.testing.assert_allclose(graph["H1"]["grad"], graph["D1"]["grad"] * np.array(MASK) * 4)
    assert "M1" not in graph.variables()
    edge = graph.edge("M1", "D1", 1)
    np.testing.assert_array_equal(edge["value"], MASK)


def test_seeded_masks_are_fresh_each_step_and_the_same_each_run():
    spec = parse_spec(dropout_doc(p=0.5, seed=3), "net.toml")
    masks = [spec.data(step)["M1"] for step in range(1, 5)]
    again = parse_spec(dropout_doc(p=0.5, seed=3), "net.toml")
    for step, mask in enumerate(masks, start=1):
        np.testing.assert_array_equal(again.data(step)["M1"], mask)
        assert set(np.unique(mask)) <= {0.0, 1.0} and mask.shape == (3, 3)
    assert any(not np.array_equal(masks[0], m) for m in masks[1:])
    other = parse_spec(dropout_doc(p=0.5, seed=4), "net.toml")
    assert any(not np.array_equal(other.data(s)["M1"], m) for s, m in enumerate(masks, start=1))


def test_with_order_a_seeded_mask_is_the_observations_row_of_the_full_draw():
    doc = dropout_doc(p=0.5, seed=3)
    full = parse_spec(doc, "net.toml")
    doc["train"]["order"] = [3, 1, 2, 3]
    one = parse_spec(doc, "net.toml")
    for step, row in enumerate([3, 1, 2, 3], start=1):
        np.testing.assert_array_equal(one.data(step)["M1"], full.data(step)["M1"][[row - 1]])


def test_seeded_masks_keep_each_entry_with_probability_one_minus_p():
    doc = dropout_doc(p=0.3, seed=1)
    doc["data"]["X"] = np.ones((200, 2)).tolist()
    doc["data"]["y"] = np.ones(200).tolist()
    spec = parse_spec(doc, "net.toml")
    kept = np.mean([spec.data(step)["M1"].mean() for step in range(1, 11)])
    assert kept == pytest.approx(0.7, abs=0.02)
    assert parse_spec(dropout_doc(p=0, seed=1), "net.toml").data(1)["M1"].all()


def test_a_list_of_masks_cycles_and_order_takes_the_observations_row():
    masks = [MASK, [[0, 0, 1], [1, 1, 1], [0, 1, 0]]]
    doc = dropout_doc(p=0.5, mask=masks)
    doc["train"]["order"] = [2, 3]
    run = run_network(parse_spec(doc, "net.toml"), draw="all")
    used = [p.data["M1"] for p in run.passes]
    np.testing.assert_array_equal(used[0], [masks[0][1]])      # step 1: mask 1, observation 2
    np.testing.assert_array_equal(used[1], [masks[1][2]])      # step 2: mask 2, observation 3
    np.testing.assert_array_equal(used[2], [masks[0][1]])      # step 3: mask 1 again
    graph = run.passes[1].graph
    np.testing.assert_array_equal(graph["M1"]["value"], [masks[1][2]])
    neurons = run_network(parse_spec(doc, "net.toml"), view="neurons", draw="all")
    assert neurons.passes[1].graph["M1_1"]["value"] == masks[1][2][0]


def test_json_has_the_new_parameters_and_the_masks_without_gradients():
    doc = stack_doc(8, MIDDLES["all three"], train={"lr": 0.1, "steps": 2})
    run = run_network(parse_spec(doc, "net.toml"), draw="1")
    document = json.loads(run.to_json())
    first, second = document["steps"]
    for p in (first, second):
        assert {"a1", "gamma1", "beta1"} <= set(p["gradients"]) and "M1" not in p["gradients"]
        assert {"a1", "gamma1", "beta1"} <= set(p["params_after"])
        assert p["masks"]["M1"] == MASK
    mask = next(n for n in first["nodes"] if n["id"] == "M1")
    assert mask["kind"] == "const" and mask["grad"] is None
    assert all(e["grad"] is None for e in first["edges"] if e["source"] == "M1")
    layers = {layer["name"]: layer for layer in document["network"]["layers"]}
    assert layers["D1"] == {"type": "dropout", "name": "D1", "width": 3, "p": 0.5, "data": "M1", "masks": 1}
    assert layers["O1"]["params"] == ["a1"] and layers["N1"]["params"] == ["gamma1", "beta1"]
    assert layers["N1"]["eps"] == 1e-5


def test_captions_say_what_each_new_gate_does_with_its_numbers():
    spec = parse_spec(stack_doc(9, MIDDLES["all three"], train={"lr": 0.1}), "net.toml")
    for view in ("layers", "neurons"):
        text = "\n".join(run_network(spec, view).passes[0].captions)
        assert "x̂ = (H1" in text and "μ = " in text and "σ² = " in text and "ε = 1e-5" in text
        assert "∂L/∂gamma1" in text and "∂L/∂beta1" in text and "mean(d * x̂)" in text
        assert "N1" in text and "[N1" in text and "≤ 0]" in text and "∂L/∂a1" in text
        assert "M1" in text and "/(1 − 0.5)" in text and "no gradient flows into it" in text
        assert "update · a1" in text and "update · gamma1" in text
    layers, neurons = run_network(spec).passes[0], run_network(spec, "neurons").passes[0]
    layer_text, neuron_text = "\n".join(layers.captions), "\n".join(neurons.captions)
    assert "dropout mask M1 = [[1, 0, 1]" in layer_text and "target M1" not in layer_text
    grads = layers.gradients
    assert f"∂L/∂a1 = Σrows d * N1·[N1 ≤ 0] = {fmt_value(grads['a1'])}" in layer_text
    assert f"∂L/∂gamma1 = Σrows d * x̂ = {fmt_value(grads['gamma1'])}" in layer_text
    assert f"∂L/∂beta1 = Σrows d = {fmt_value(grads['beta1'])}" in layer_text
    assert f"(∂L/∂H1: μ and σ² depend" in layer_text and f"= {fmt_value(layers.graph['H1']['grad'])}" in layer_text
    assert f"∂L/∂a1_2 = Σ d * N1_2·[N1_2 ≤ 0] = {fmt_value(grads['a1'][1])}" in neuron_text
    assert f"∂L/∂gamma1_3 = Σ d * x̂ = {fmt_value(grads['gamma1'][2])}" in neuron_text
    mean = np.mean(layers.graph["H1"]["value"], axis=0)
    assert f"μ = {fmt_value(mean)}" in layer_text and f"μ = {fmt_value(mean[0])}" in neuron_text
    assert f"σ² = {fmt_value(np.var(layers.graph['H1']['value'], axis=0))} (biased: divided by 3)" in layer_text
    assert "keeps (1) or drops (0) each entry, a kept one ×2" in layer_text
    assert f"d = d·W2ᵀ * M1/(1 − 0.5) = {fmt_value(layers.graph['O1']['grad'])}" in layer_text


def test_report_lines_describe_the_new_layers():
    spec = parse_spec(stack_doc(9, MIDDLES["all three"]), "net.toml")
    text = "\n".join(run_network(spec).report_lines())
    assert "N1 = batchnorm(H1, gamma1, beta1) (batch statistics, ε = 1e-05)" in text
    assert "O1 = prelu(N1, a1)" in text and "D1 = O1 * M1 / (1 - 0.5) (p = 0.5, 1 given mask)" in text
    assert "∂L/∂a1 = " in text and "M1 = " in text


# ---- refusals -------------------------------------------------------------------------------

def error_of(doc) -> str:
    with pytest.raises(UserError) as info:
        parse_spec(doc, "net.toml")
    return "\n".join(info.value.lines())


@pytest.mark.parametrize("layer, words", [
    ({"type": "dropout", "p": 1}, "key p: must lie in [0, 1)"),
    ({"type": "dropout", "p": -0.1}, "key p: must lie in [0, 1)"),
    ({"type": "dropout", "p": True}, "key p: must be a finite number"),
    ({"type": "dropout", "seed": 1, "mask": MASK}, "key seed: give seed"),
    ({"type": "dropout", "mask": [[1, 0], [1, 1], [0, 1]]}, "the mask is 3×2 but D1 is 3×3"),
    ({"type": "dropout", "mask": [[1, 0.5, 1], [0, 1, 1], [1, 1, 0]]}, "must hold only 0 (drop) and 1 (keep)"),
    ({"type": "dropout", "mask": [MASK, [[1, 1, 1]]]}, "mask 2 of 2 is 1×3 but D1 is 3×3"),
    ({"type": "dropout", "mask": [1, 0, 1]}, "key mask: must be a matrix"),
    ({"type": "dropout", "seed": -1}, "key seed: must be a whole number"),
    ({"type": "dropout", "rate": 0.5}, "key rate: unknown key"),
    ({"type": "prelu", "alpha": [0.1, 0.2]}, "a1 needs 3 entries, one per neuron, got 2"),
    ({"type": "prelu", "alpha": "big"}, "key alpha: entries must be numbers"),
    ({"type": "prelu", "shared": True, "alpha": [0.1, 0.2, 0.3]}, "a1 needs one, shared by the layer's neurons"),
    ({"type": "prelu", "shared": 1}, "key shared: must be true or false"),
    ({"type": "prelu", "slope": 0.1}, "key slope: unknown key"),
    ({"type": "batchnorm", "gamma": [1, 2]}, "gamma1 needs 3 entries, one per neuron, got 2"),
    ({"type": "batchnorm", "beta": [[0, 0, 0]]}, "beta1 needs 3 entries"),
    ({"type": "batchnorm", "eps": 0.1}, "key eps: unknown key"),
])
def test_bad_options_name_the_layer_and_the_key(layer, words):
    doc = stack_doc(1, [layer])
    assert words in error_of(doc) and "[[layer]] 2" in error_of(doc)


@pytest.mark.parametrize("middle, words", [
    ([{"type": "batchnorm"}, {"type": "batchnorm"}], "N1 is taken: a linear layer takes at most one batchnorm"),
    ([{"type": "dropout"}, {"type": "dropout"}], "D1 is taken"),
    ([{"type": "relu"}, {"type": "prelu"}], "two activations in a row"),
    ([{"type": "prelu"}, {"type": "dropout"}, {"type": "relu"}], "O1 is taken"),
])
def test_one_of_each_after_a_linear_layer(middle, words):
    assert words in error_of(stack_doc(1, middle))


def test_batchnorm_refuses_a_batch_of_one():
    message = error_of(stack_doc(1, [{"type": "batchnorm"}], train={"lr": 0.1, "order": [1, 2]}))
    assert "[[layer]] 2 (batchnorm), key type" in message and "[train] order gives one observation" in message
    assert "PyTorch refuses it too" in message
    message = error_of(stack_doc(1, [{"type": "batchnorm"}], rows=1))
    assert "[data] X has one observation" in message


SPEC = """
[data]
X = [[1, 2], [3, 4]]
y = [1, 2]

[[layer]]
type = "linear"
W = [[1, 2], [3, 4]]

{layer}

[[layer]]
type = "linear"
W = [[1], [1]]

[loss]
type = "mse"

[train]
lr = 0.1
{train}
"""


@pytest.mark.parametrize("layer, train, words", [
    ('[[layer]]\ntype = "dropout"\np = 1.5', "", "key p: must lie in [0, 1)"),
    ('[[layer]]\ntype = "dropout"\nmask = [[1, 2], [0, 1]]', "", "must hold only 0 (drop) and 1 (keep)"),
    ('[[layer]]\ntype = "prelu"\nalpha = [1, 2, 3]', "", "a1 needs 2 entries"),
    ('[[layer]]\ntype = "batchnorm"', "order = [1, 2]", "a batch of one has variance 0"),
    ('[[layer]]\ntype = "batchnorm"\ngamma = []', "", "key gamma: is empty"),
])
def test_the_command_line_says_it_in_one_error_line(layer, train, words, nngraph, tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(SPEC.format(layer=layer, train=train))
    status, _, err = nngraph(spec, "--no-render")
    assert status == 2 and words in err.splitlines()[0]
