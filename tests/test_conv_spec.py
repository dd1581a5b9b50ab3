"""Issue 13, convolutional layers in specs (conv2d, maxpool, avgpool, flatten): forward values,
every gradient and an optimizer step against PyTorch (torch.nn.functional with the same kernels:
our Kk is torch's F×C×kh×kw weight as it is) and against finite differences; images as X in every
form; the names, the captions, the JSON; one `error:` line for every mistake; the budget."""
from __future__ import annotations

import json

import numpy as np
import pytest

from graphviz_nn import budget
from graphviz_nn.errors import BudgetError, UserError
from graphviz_nn.network.run import run_network
from graphviz_nn.network.spec import parse_spec

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(13)
IMAGES = RNG.normal(size=(2, 2, 7, 7)).round(2)          # N×C×H×W: two images of two channels
K1 = RNG.normal(size=(3, 2, 3, 3)).round(2)              # three filters of two channels
B1 = RNG.normal(size=3).round(2)
K2 = RNG.normal(size=(2, 3, 2, 2)).round(2)
W3 = RNG.normal(size=(8, 2)).round(2)


def cnn_doc(optimizer="sgd", steps=1, **conv) -> dict:
    """conv (stride 2, padding 1) + relu → maxpool 2 (stride 1) → conv → tanh → avgpool → flatten →
    linear → mse: every new layer, both pools, stride and padding, a bias and none."""
    return spatial_stack((IMAGES, K1, B1, K2, W3), optimizer, steps, **conv)


def spatial_stack(numbers: tuple, optimizer="sgd", steps=1, **conv) -> dict:
    """cnn_doc's layers with these images, kernels, bias and dense weights."""
    images, k1, b1, k2, w3 = (a.tolist() for a in numbers)
    return {"data": {"X": images, "y": [[0.5, -1.0], [1.0, 0.25]]},
            "layer": [{"type": "conv2d", "K": k1, "b": b1, "stride": 2, "padding": 1, **conv},
                      {"type": "relu"},
                      {"type": "maxpool", "size": 2, "stride": 1},
                      {"type": "conv2d", "K": k2},
                      {"type": "tanh"},
                      {"type": "avgpool", "size": 1},
                      {"type": "flatten"},
                      {"type": "linear", "W": w3}],
            "loss": {"type": "mse"},
            "train": {"lr": 0.1, "steps": steps, "optimizer": optimizer}}


def torch_cnn(X, K1, b1, K2, W3):
    h1 = F.conv2d(X, K1, b1, stride=2, padding=1)
    p1 = F.max_pool2d(torch.relu(h1), 2, stride=1)
    o2 = torch.tanh(F.conv2d(p1, K2))
    f2 = F.avg_pool2d(o2, 1).flatten(1)
    return f2 @ W3


def torch_leaves():
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (IMAGES, K1, B1, K2, W3)]


def test_the_layers_names_and_shapes():
    spec = parse_spec(cnn_doc(), "net.toml")
    assert [layer.name for layer in spec.layers] == ["H1", "O1", "P1", "H2", "O2", "P2", "F2", "H3"]
    assert list(spec.params) == ["K1", "b1", "K2", "W3"]
    shapes = [layer.shape for layer in spec.layers]
    assert shapes == [(3, 4, 4), (3, 4, 4), (3, 3, 3), (2, 2, 2), (2, 2, 2), (2, 2, 2), (8,), (2,)]
    conv = spec.layers[0]
    assert conv.in_shape == (2, 7, 7) and conv.option("kernel") == (3, 3)
    assert (conv.option("stride"), conv.option("padding"), conv.option("filters")) == (2, 1, 3)


def test_forward_and_every_gradient_agree_with_pytorch():
    run = run_network(parse_spec(cnn_doc(), "net.toml"), draw="all")
    p = run.passes[0]
    X, k1, b1, k2, w3 = leaves = torch_leaves()
    y = torch.tensor([[0.5, -1.0], [1.0, 0.25]], dtype=torch.float64)
    out = torch_cnn(X, k1, b1, k2, w3)
    loss = F.mse_loss(out, y)
    loss.backward()
    assert p.output == pytest.approx(out.detach().numpy(), abs=1e-12)
    assert p.loss == pytest.approx(loss.item(), abs=1e-12)
    for name, leaf in zip(["X", "K1", "b1", "K2", "W3"], leaves):
        assert p.gradients[name] == pytest.approx(leaf.grad.numpy(), abs=1e-12), name


@pytest.mark.parametrize("optimizer, torch_optimizer", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam)])
def test_the_optimizer_steps_agree_with_pytorch(optimizer, torch_optimizer):
    run = run_network(parse_spec(cnn_doc(optimizer, steps=3), "net.toml"), draw="1")
    X, k1, b1, k2, w3 = torch_leaves()
    y = torch.tensor([[0.5, -1.0], [1.0, 0.25]], dtype=torch.float64)
    opt = torch_optimizer([k1, b1, k2, w3], lr=0.1)
    for p in run.passes:
        opt.zero_grad()
        F.mse_loss(torch_cnn(X, k1, b1, k2, w3), y).backward()
        opt.step()
        for name, leaf in zip(["K1", "b1", "K2", "W3"], (k1, b1, k2, w3)):
            assert p.params_after[name] == pytest.approx(leaf.detach().numpy(), rel=1e-6, abs=1e-9), (p.number, name)


def loss_at(doc: dict, name: str, value: np.ndarray) -> float:
    """The loss with one parameter (or X) replaced: the spec run again, one forward pass."""
    spec = parse_spec(doc, "net.toml")
    if name == "X":
        spec.X = value
    else:
        spec.params[name] = value
    spec.train = None
    return run_network(spec, draw="1").passes[0].loss


@pytest.mark.parametrize("name", ["X", "K1", "b1", "K2", "W3"])
def test_every_gradient_agrees_with_finite_differences(name):
    doc = cnn_doc()
    doc["layer"][2]["type"] = "avgpool"      # no kink: finite differences hold everywhere
    doc.pop("train")
    spec = parse_spec(doc, "net.toml")
    analytic = run_network(spec, draw="1").passes[0].gradients[name]
    base = spec.X if name == "X" else spec.params[name]
    numeric = np.zeros_like(base)
    h = 1e-6
    for index in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss_at(doc, name, up) - loss_at(doc, name, down)) / (2 * h)
    assert analytic == pytest.approx(numeric, abs=1e-6)


@pytest.mark.parametrize("X, shape", [
    (np.arange(25.0).reshape(5, 5), (1, 1, 5, 5)),                  # one image H×W
    (np.arange(50.0).reshape(2, 5, 5), (1, 2, 5, 5)),               # one image C×H×W
    (np.arange(100.0).reshape(2, 2, 5, 5), (2, 2, 5, 5)),           # a batch N×C×H×W
])
def test_images_are_given_in_every_form(X, shape):
    channels = shape[1]
    doc = {"data": {"X": X.tolist()},
           "layer": [{"type": "conv2d", "filters": 1, "kernel": 3, "init": "constant", "value": 1}]}
    spec = parse_spec(doc, "net.toml")
    assert spec.X.shape == shape
    p = run_network(spec, draw="1").passes[0]
    expected = F.conv2d(torch.tensor(X.reshape(shape)), torch.ones(1, channels, 3, 3, dtype=torch.float64))
    assert p.output == pytest.approx(expected.numpy())


def test_a_two_d_kernel_is_one_filter_on_one_channel_and_exercise_40_comes_out():
    """Exercise 40's image and kernel: the valid cross-correlation, then 2×2 max pooling."""
    image = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
    doc = {"data": {"X": image},
           "layer": [{"type": "conv2d", "K": [[0, 1, 2], [2, 2, 0], [0, 1, 2]]}, {"type": "maxpool", "size": 2,
                                                                                  "stride": 1}]}
    spec = parse_spec(doc, "net.toml")
    assert spec.params["K1"].shape == (1, 1, 3, 3)
    p = run_network(spec, draw="1").passes[0]
    conv = np.array([[12, 12, 17], [10, 17, 19], [9, 6, 14]])
    assert np.array_equal(p.output.reshape(2, 2), [[17, 19], [17, 19]])
    valid = run_network(parse_spec({**doc, "layer": doc["layer"][:1]}, "n.toml"), draw="1").passes[0].output
    assert np.array_equal(valid.reshape(3, 3), conv)


def test_kernels_from_init_use_pytorchs_fans_and_the_seed():
    doc = {"seed": 3, "data": {"X": np.zeros((1, 3, 8, 8)).tolist()},
           "layer": [{"type": "conv2d", "filters": 4, "kernel": [3, 2], "init": "xavier", "bias": True}]}
    K = parse_spec(doc, "net.toml").params["K1"]
    assert K.shape == (4, 3, 3, 2) and np.abs(K).max() <= np.sqrt(6 / (3 * 3 * 2 + 4 * 3 * 2))
    assert np.array_equal(K, parse_spec(doc, "net.toml").params["K1"])
    assert parse_spec(doc, "net.toml").params["b1"].tolist() == [0, 0, 0, 0]


def test_the_captions_say_what_each_layer_does():
    run = run_network(parse_spec(cnn_doc(), "net.toml"), draw="1")
    captions = run.passes[0].captions
    text = "\n".join(captions[i] for i in range(len(captions)))
    assert "each of the 3 filters of K1 (2×3×3) slides over X (2 images of 2×7×7) by 2 cells, on the input " \
           "padded with 1 ring of zeros" in text
    assert "the kernel is shared by every position: the copy rule adds their shares" in text
    assert "∂L/∂b1 = Σ d over each filter's map" in text
    assert "the full convolution of d with the flipped kernel" in text
    assert "max pool routes: each window's d goes to the cell holding its maximum" in text
    assert "avg pool distributes: each cell of a window gets 1/1 of its d" in text
    assert "laid out in one row of 8, row-major" in text and "flatten routes each entry's d back to its cell" in text


def test_the_json_keys_the_kernels_and_biases(nngraph, tmp_path):
    spec = tmp_path / "cnn.toml"
    spec.write_text(toml_of(cnn_doc("adam", steps=2)))
    status, out, err = nngraph(spec, "--json", "--no-render")
    assert status == 0, err
    doc = json.loads(out)
    step = doc["steps"][0]
    assert set(step["gradients"]) == {"X", "K1", "b1", "K2", "W3"}
    assert set(step["params_after"]) == {"K1", "b1", "K2", "W3"}
    assert np.shape(step["gradients"]["K1"]) == (3, 2, 3, 3) and np.shape(step["gradients"]["X"]) == (2, 2, 7, 7)
    layer = doc["network"]["layers"][0]
    assert layer["type"] == "conv2d" and layer["params"] == ["K1", "b1"] and layer["kernel"] == [3, 3]


def test_the_neuron_view_refuses_images_too_large_for_it_and_says_which_view_works(nngraph, tmp_path):
    """Two 2×7×7 images: 98 pixels, over the 25 a neuron picture holds (tests/test_conv_neurons.py
    draws conv layers that fit)."""
    spec = tmp_path / "cnn.toml"
    spec.write_text(toml_of(cnn_doc()))
    status, _, err = nngraph(spec, "--view", "neurons", "--no-render")
    assert status == 2 and err.splitlines()[0] == "error: X has 98 cells: the neuron view draws at most 25 per " \
                                                  "layer legibly"
    assert "hint: use --view layers" in err and "--view grid" in err


def toml_of(doc: dict) -> str:
    """A spec as TOML: top-level keys, then [data], the layers, [loss] and [train]."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in doc.items() if not isinstance(v, (dict, list))]
    if "input_shape" in doc:
        lines.append(f"input_shape = {json.dumps(doc['input_shape'])}")
    for table in ("data",):
        if table in doc:
            lines += [f"[{table}]"] + [f"{k} = {json.dumps(v)}" for k, v in doc[table].items()]
    for layer in doc["layer"]:
        lines += ["[[layer]]"] + [f"{k} = {json.dumps(v)}" for k, v in layer.items()]
    for table in ("loss", "train"):
        if table in doc:
            lines += [f"[{table}]"] + [f"{k} = {json.dumps(v)}" for k, v in doc[table].items()]
    return "\n".join(lines) + "\n"


# ---- one error line per mistake ---------------------------------------------------------------

def image_doc(*layers, X=None) -> dict:
    X = np.zeros((1, 1, 5, 5)) if X is None else X
    return {"data": {"X": X if isinstance(X, list) else np.asarray(X).tolist()}, "layer": list(layers)}


CONV = {"type": "conv2d", "filters": 2, "kernel": 3, "init": "zeros"}


MISTAKES = [
    (image_doc({**CONV, "stride": 0}), "key stride: a stride of 0 would never move the kernel: the stride is at least 1"),
    (image_doc({**CONV, "stride": -1}), "key stride: a stride of -1 would move the kernel backwards"),
    (image_doc({**CONV, "padding": -1}), "key padding: a padding of -1 is negative"),
    (image_doc({**CONV, "kernel": 7}), "key kernel: K1 (2×1×7×7) on its input X (1×5×5 per observation): a 7×7 kernel "
                                       "does not fit a 5×5 input with padding 0"),
    (image_doc({**CONV, "kernel": 9, "padding": 1}), "a 9×9 kernel does not fit a 5×5 input with padding 1"),
    (image_doc({"type": "conv2d", "K": np.zeros((2, 3, 3, 3)).tolist()}),
     "key K: K1 is 2×3×3×3: filters of 3 channels, but its input has 1 (1×5×5 per observation)"),
    (image_doc({"type": "conv2d", "K": np.zeros((2, 3, 3)).tolist()}), "key K: K1 is 2×3×3: a kernel is F×C×kh×kw"),
    (image_doc({**CONV, "K": [[1]]}), "give K1, or filters and kernel with init, not both"),
    (image_doc({"type": "conv2d", "kernel": 3, "init": "zeros"}), "key filters: missing key: the number of filters"),
    (image_doc({"type": "conv2d", "filters": 2, "init": "zeros"}), "key kernel: missing key"),
    (image_doc({"type": "conv2d", "filters": 2, "kernel": 3}), "key init: missing key: how to fill K1"),
    (image_doc({**CONV, "kernel": [3, 3, 3]}), "key kernel: must be a number or [kh, kw]"),
    (image_doc({**CONV, "b": [1, 2, 3]}), "key b: b1 is 3 but K1 has 2 filters: b1 needs one entry per filter"),
    (image_doc({**CONV, "strides": 2}), "key strides: unknown key"),
    (image_doc({"type": "maxpool", "size": 6}), "key size: the window of maxpool on its input X (1×5×5 per "
                                                "observation): a 6×6 window does not fit a 5×5 input"),
    (image_doc({"type": "avgpool", "size": 2, "stride": 0}), "key stride: a stride of 0 would never move the window"),
    (image_doc({"type": "maxpool", "size": 0}), "key size: must be a whole number ≥ 1, got 0"),
    (image_doc(CONV, {"type": "linear", "units": 2, "init": "zeros"}),
     "[[layer]] 2 (linear), key type: linear takes rows, but its input H1 holds images, 2×3×3 per observation"),
    (image_doc({"type": "linear", "units": 2, "init": "zeros"}), "linear takes rows, but its input X holds images"),
    (image_doc({"type": "flatten"}, {"type": "conv2d", **{k: v for k, v in CONV.items() if k != "type"}}),
     "conv2d slides over images, but its input F0 is a row of 25 per observation"),
    (image_doc(CONV, {"type": "batchnorm"}), "batchnorm acts on rows of neurons, but its input H1 holds feature maps"),
    (image_doc(CONV, {"type": "dropout", "p": 0.5}), "dropout acts on rows of neurons"),
    (image_doc(CONV, {"type": "softmax"}), "softmax acts on rows of neurons"),
    (image_doc(CONV, {"type": "lstm", "units": 2, "init": "zeros"}), "lstm takes rows, but its input H1 holds images"),
    (image_doc(CONV, {"type": "maxpool", "size": 1}, {"type": "avgpool", "size": 1}), "P1 is taken"),
    ({**image_doc(CONV), "loss": {"type": "mse"}, "data": {"X": np.zeros((1, 1, 5, 5)).tolist(), "y": [[1]]}},
     "key y: the loss compares rows, but the network's output H1 holds feature maps, 2×3×3 per observation"),
    ({**image_doc(CONV), "input_shape": [1, 6, 6]}, "key input_shape: says 1×6×6 but [data] X holds 1×5×5 per observation"),
    (image_doc(CONV, X=np.zeros((1, 1, 1, 5, 5))), "key X: has more than 4 axes"),
    (image_doc(CONV, X=[[[1, 2], [3, 4]], [[1, 2]]]), "key X: ragged array"),
]


@pytest.mark.parametrize("doc, words", MISTAKES)
def test_every_mistake_is_one_error_line_naming_the_numbers(doc, words):
    with pytest.raises(UserError) as info:
        parse_spec(doc, "net.toml")
    lines = info.value.lines()
    assert lines[0].startswith("error: net.toml: ") and words in lines[0], lines
    assert all(line.startswith("hint: ") for line in lines[1:])


@pytest.mark.parametrize("doc, words", MISTAKES)
def test_every_mistake_is_one_error_line_and_status_2_on_the_command_line(doc, words, nngraph, tmp_path):
    """Through the real entry point: the contract of DESIGN.md (conftest's check_contract: status 2,
    one `error:` line, then only hints; no traceback), run and --summary alike."""
    spec = tmp_path / "bad.toml"
    spec.write_text(toml_of(doc))
    for extra in ([], ["--summary"]):
        status, _, err = nngraph(spec, "--no-render", *extra)
        assert status == 2 and words in err.splitlines()[0]


@pytest.mark.parametrize("change, words", [
    ({"stride": 0}, "a stride of 0 would never move the kernel"),
    ({"kernel": 9}, "a 9×9 kernel does not fit a 6×6 input"),
])
def test_the_command_line_says_it_in_one_error_line(change, words, nngraph, tmp_path):
    doc = image_doc({**CONV, **change}, X=np.zeros((1, 1, 6, 6)))
    spec = tmp_path / "bad.toml"
    spec.write_text(toml_of(doc))
    for extra in ([], ["--summary"], ["--json"]):
        status, _, err = nngraph(spec, "--no-render", *extra)
        assert status == 2 and words in err.splitlines()[0]


# ---- the budget --------------------------------------------------------------------------------

def test_a_huge_convolution_is_refused_before_any_work():
    doc = {"data": {"X": np.zeros((1, 3, 100, 100)).tolist()},
           "layer": [{"type": "conv2d", "filters": 90, "kernel": 9, "padding": 4, "init": "zeros"}]}
    spec = parse_spec(doc, "net.toml")
    conv_work = 90 * 100 * 100 * 3 * 9 * 9
    assert budget.network_work(spec, 1) >= budget.BACKWARD_FACTOR * conv_work
    with pytest.raises(BudgetError) as info:
        budget.check_network(spec, max_work=10 ** 8)
    assert "operations" in info.value.message and "--max-work" in "\n".join(info.value.lines())


def test_the_budget_counts_each_layer_types_cost():
    """A conv's multiply-adds; a pool's windows; a dropout's mask; a recurrent layer's steps, each with
    its gates' overhead."""
    spec = parse_spec(cnn_doc(), "net.toml")
    costs = {layer.name: budget.layer_cost(layer, 2) for layer in spec.layers}
    assert costs["H1"].work == budget.BACKWARD_FACTOR * 2 * 3 * 4 * 4 * 2 * 3 * 3 + 2 * 2 * 48
    assert costs["P1"].work == (budget.BACKWARD_FACTOR + 1) * 2 * 3 * 3 * 3 * 4
    dropout = parse_spec({"data": {"X": [[1.0, 2.0]] * 5}, "layer": [{"type": "dropout", "p": 0.5}]}, "d.toml")
    assert budget.layer_cost(dropout.layers[0], 5).numbers == 5 * 2
    lstm = parse_spec({"data": {"X": [[1.0]] * 4}, "layer": [{"type": "lstm", "units": 2, "init": "zeros"}]}, "l.toml")
    cost = budget.layer_cost(lstm.layers[0], 4)
    assert cost.work >= 4 * 4 * budget.GATE_OVERHEAD and cost.numbers == 4 * 2 * (4 + 2)


def test_a_long_recurrent_run_is_refused_by_its_gates_overhead():
    doc = {"data": {"X": [[0.5]] * 2000, "y": [[0.0, 0.0]] * 2000},
           "layer": [{"type": "lstm", "units": 1, "init": "zeros", "bidirectional": True}],
           "loss": {"type": "mse"}, "train": {"lr": 0.1, "steps": 2000}}
    spec = parse_spec(doc, "net.toml")
    with pytest.raises(BudgetError):
        budget.check_network(spec)
