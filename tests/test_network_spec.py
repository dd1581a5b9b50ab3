"""Network specs: every mistake is one UserError naming the file, the table and the key."""
import pytest

from graphviz_nn.errors import UserError
from graphviz_nn.network.spec import MAX_ENTRIES, load_spec, parse_spec


def spec_doc(**changes):
    doc = {"data": {"X": [[1, 2], [-1, 2]], "y": [2, 1]},
           "layer": [{"type": "linear", "W": [[1, -1], [0.5, 0]]}, {"type": "relu"},
                     {"type": "linear", "W": [[0.5], [1]]}],
           "loss": {"type": "half_sse"},
           "train": {"lr": 1, "steps": 1}}
    doc.update(changes)
    return doc


def error_of(doc) -> str:
    with pytest.raises(UserError) as info:
        parse_spec(doc, "net.toml")
    return "\n".join(info.value.lines())


def test_a_good_spec_names_layers_and_parameters_by_position():
    spec = parse_spec(spec_doc(), "net.toml")
    assert [layer.name for layer in spec.layers] == ["H1", "O1", "H2"]
    assert list(spec.params) == ["W1", "W2"]
    assert spec.y.shape == (2, 1)


def test_mismatched_layers_name_the_layer_and_both_shapes():
    doc = spec_doc()
    doc["layer"][2]["W"] = [[0.5], [1], [2]]
    message = error_of(doc)
    assert "net.toml" in message and "[[layer]] 3 (linear)" in message and "key W" in message
    assert "W2 is 3×1" in message and "O1 is 2×2" in message


def test_declared_shape_must_fit_the_layer_before():
    doc = spec_doc()
    doc["layer"][2] = {"type": "linear", "shape": [3, 1], "init": "zeros"}
    assert "W2 is 3×1" in error_of(doc)


@pytest.mark.parametrize("layer, loss, word", [
    ({"type": "rleu"}, {"type": "half_sse"}, "unknown layer type 'rleu'"),
    ({"type": "relu"}, {"type": "hinge"}, "unknown loss 'hinge'"),
])
def test_unknown_layer_or_loss(layer, loss, word):
    doc = spec_doc(loss=loss)
    doc["layer"][1] = layer
    message = error_of(doc)
    assert word in message and "key type" in message


def test_ragged_matrix():
    message = error_of(spec_doc(data={"X": [[1, 2], [3]], "y": [1, 2]}))
    assert "[data], key X" in message and "ragged" in message


@pytest.mark.parametrize("change, table, key", [
    ({"train": {"steps": 2}}, "[train]", "lr"),
    ({"data": {"X": [[1, 2], [-1, 2]]}}, "[data]", "y"),
    ({"loss": {"reduction": "sum"}}, "[loss]", "type"),
    ({"layer": [{"W": [[1], [2]]}]}, "[[layer]] 1", "type"),
    ({"layer": [{"type": "linear", "units": 2}]}, "[[layer]] 1 (linear)", "init"),
    ({"layer": [{"type": "linear", "init": "constant", "units": 1}]}, "[[layer]] 1 (linear)", "value"),
])
def test_missing_keys(change, table, key):
    message = error_of(spec_doc(**change))
    assert "missing" in message and table in message and f"key {key}" in message


def test_missing_data_table():
    doc = spec_doc()
    del doc["data"]
    assert "[data]" in error_of(doc)


def test_wrong_target_shape():
    message = error_of(spec_doc(data={"X": [[1, 2], [-1, 2]], "y": [2, 1, 0]}))
    assert "[data], key y" in message and "H2 is 2×1" in message


@pytest.mark.parametrize("change, table, key", [
    ({"lerning_rate": 1}, "the top level", "lerning_rate"),
    ({"train": {"lr": 1, "stpes": 2}}, "[train]", "stpes"),
    ({"loss": {"type": "mse", "weight": 2}}, "[loss]", "weight"),
])
def test_unknown_keys(change, table, key):
    message = error_of(spec_doc(**change))
    assert "unknown key" in message and table in message and f"key {key}" in message


def test_unknown_key_in_a_layer_suggests_the_right_one():
    doc = spec_doc()
    doc["layer"][0]["bais"] = True
    message = error_of(doc)
    assert "[[layer]] 1 (linear), key bais" in message and "did you mean bias" in message


def test_steps_are_bounded():
    assert "limit" in error_of(spec_doc(train={"lr": 1, "steps": 10**6}))
    spec = parse_spec(spec_doc(train={"lr": 1, "steps": 20}), "net.toml", max_steps=20)
    assert spec.train.steps == 20


def test_matrix_size_is_bounded():
    doc = spec_doc()
    doc["layer"][2] = {"type": "linear", "shape": [2, MAX_ENTRIES], "init": "zeros"}
    assert "limit" in error_of(doc)


def test_two_activations_in_a_row():
    doc = spec_doc()
    doc["layer"].insert(2, {"type": "sigmoid"})
    assert "two activations in a row" in error_of(doc)


def test_logloss_needs_probabilities():
    message = error_of(spec_doc(loss={"type": "logloss"}))
    assert "[loss], key type" in message and "probabilities" in message


def test_reduction_only_for_cross_entropies():
    assert "key reduction" in error_of(spec_doc(loss={"type": "mse", "reduction": "sum"}))


def test_classes_are_numbered_from_one():
    doc = spec_doc(loss={"type": "softmax_ce"}, data={"X": [[1, 2], [-1, 2]], "y": [0, 1]})
    doc["layer"][2]["W"] = [[0.5, 1], [1, 0]]
    doc["layer"].append({"type": "softmax"})
    assert "from 1" in error_of(doc)
    doc["data"]["y"] = [2, 1]
    assert parse_spec(doc, "net.toml").y.tolist() == [[0, 1], [1, 0]]


def test_training_needs_a_loss():
    doc = spec_doc()
    del doc["loss"]
    assert "needs a [loss]" in error_of(doc)


def test_optimizer_parameters_belong_to_their_optimizer():
    message = error_of(spec_doc(train={"lr": 1, "optimizer": "momentum", "beta1": 0.9}))
    assert "key beta1" in message and "adam" in message


def test_order_names_observations():
    assert "numbered 1 to 2" in error_of(spec_doc(train={"lr": 1, "order": [3]}))


def test_init_by_shape_is_seeded_and_reproducible():
    doc = spec_doc()
    doc["layer"][0] = {"type": "linear", "units": 2, "init": "xavier", "bias": True}
    first, second = parse_spec(doc, "net.toml"), parse_spec(doc, "net.toml")
    assert (first.params["W1"] == second.params["W1"]).all()
    assert first.params["b1"].tolist() == [0, 0]
    doc["seed"] = 1
    assert (parse_spec(doc, "net.toml").params["W1"] != first.params["W1"]).any()


def test_file_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[data\nX = 1")
    with pytest.raises(UserError, match="broken.toml: not valid TOML"):
        load_spec(str(broken))
    with pytest.raises(UserError, match="cannot read"):
        load_spec(str(tmp_path / "missing.toml"))
