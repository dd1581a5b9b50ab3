"""Issue 13, model summaries (--summary): each layer's output shape and parameter count against the
PyTorch module it stands for (shapes from running the module, counts as torchinfo makes them,
sum(p.numel())), receptive fields against an independent computation (from the output back, and
the footprint of a gradient in PyTorch), the exercises' answers, the JSON, summaries from
input_shape alone, and one `error:` line per mistake."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graphviz_nn.errors import UserError
from graphviz_nn.network.summary import document, lines, load_summary, summarise

torch = pytest.importorskip("torch")
nn = torch.nn

NETS = Path(__file__).parent.parent / "examples" / "nets"


def rows_of(name: str):
    return load_summary(str(NETS / name)).rows


def conv(filters, kernel, **kw):
    return {"type": "conv2d", "filters": filters, "kernel": kernel, "bias": True, **kw}


def dense(units, bias=True):
    return {"type": "linear", "units": units, "bias": bias}


def summary_of(shape, *layers):
    return summarise({"input_shape": list(shape), "layer": list(layers)}, "net.toml")


# ---- against the PyTorch modules --------------------------------------------------------------

def lenet(padding=0, stride=1, pools=True):
    """The LeNet-like net of exercise 44 as torch modules, one per [[layer]] of its spec."""
    pool = [nn.MaxPool2d(2)] if pools else []
    return [nn.Conv2d(1, 6, 5, stride=stride, padding=padding), nn.ReLU(), *pool,
            nn.Conv2d(6, 16, 5, stride=stride, padding=padding), nn.ReLU(), *pool, nn.Flatten(),
            nn.LazyLinear(120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10), nn.Softmax(dim=1)]


def torch_rows(modules, shape):
    """Each module's output shape (without the batch) from running it, and its parameter count."""
    x, rows = torch.zeros(1, *shape), []
    for module in modules:
        x = module(x)
        rows.append((tuple(x.shape[1:]), sum(p.numel() for p in module.parameters())))
    return rows


@pytest.mark.parametrize("name, modules", [
    ("44_lenet_summary.toml", lenet()),
    ("44_lenet_padding_summary.toml", lenet(padding=2)),
    ("44_lenet_stride2_summary.toml", lenet(stride=2, pools=False)),
    ("44_dense_mnist_summary.toml", [nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10),
                                     nn.Softmax(dim=1)]),
    ("34_regression_summary.toml", [nn.Linear(12, 300), nn.ReLU(), nn.Linear(300, 200), nn.ReLU(),
                                    nn.Linear(200, 100), nn.ReLU(), nn.Linear(100, 1)]),
    ("49_window_dense_summary.toml", [nn.Linear(100, 20, bias=False), nn.ReLU(), nn.Linear(20, 1, bias=False)]),
])
def test_shapes_and_counts_agree_with_pytorch(name, modules):
    summary = load_summary(str(NETS / name))
    expected = torch_rows(modules, summary.input_shape)
    assert [(row.output_shape, row.params) for row in summary.rows] == expected
    assert summary.total == sum(count for _, count in expected)


def test_prelu_batchnorm_and_dropout_agree_with_pytorch():
    summary = summary_of([12], dense(30), {"type": "batchnorm"}, {"type": "prelu"}, {"type": "dropout", "p": 0.2},
                         dense(5, bias=False), {"type": "prelu", "shared": True}, {"type": "softplus"})
    modules = [nn.Linear(12, 30), nn.BatchNorm1d(30), nn.PReLU(30), nn.Dropout(0.2), nn.Linear(30, 5, bias=False),
               nn.PReLU(), nn.Softplus()]
    for m in modules:
        m.eval()
    assert [(row.output_shape, row.params) for row in summary.rows] == torch_rows(modules, summary.input_shape)


def torch_recurrent(kind, inputs, units, bias, bidirectional=False):
    return {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](inputs, units, bias=bias,
                                                                 bidirectional=bidirectional, batch_first=True)


@pytest.mark.parametrize("kind, gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_counts_are_pytorchs_with_its_two_biases_merged(kind, gates, bias, bidirectional):
    """Ours has one bias per gate (bias_ih + bias_hh of PyTorch as one): torch's count less
    gates·units per direction when there are biases; the output T × units (× 2 directions)."""
    module = torch_recurrent(kind, 3, 2, bias, bidirectional)
    out, _ = module(torch.zeros(1, 10, 3))
    directions = 2 if bidirectional else 1
    merged = sum(p.numel() for p in module.parameters()) - (directions * gates * 2 if bias else 0)
    row = summary_of([10, 3], {"type": kind, "units": 2, "bias": bias, "bidirectional": bidirectional}).rows[0]
    assert (row.output_shape, row.params) == (tuple(out.shape[1:]), merged)


@pytest.mark.parametrize("name, total", [("49_rnn_cell_summary.toml", 2), ("49_rnn_2_1_summary.toml", 13),
                                         ("49_lstm_2_1_summary.toml", 52), ("49_gru_2_1_summary.toml", 39)])
def test_exercise_49s_recurrent_nets(name, total):
    summary = load_summary(str(NETS / name))
    kind = summary.rows[0].type
    modules = [torch_recurrent(kind, row_in, row.output_shape[-1], False)
               for row, row_in in zip(summary.rows, [summary.input_shape[-1]] + [r.output_shape[-1] for r in summary.rows])]
    assert summary.total == total == sum(p.numel() for m in modules for p in m.parameters())


def test_the_formulas_are_written_out():
    rows = rows_of("44_lenet_summary.toml")
    assert [row.formula for row in rows if row.params] == [
        "(5·5·1 + 1)·6 = 156", "(5·5·6 + 1)·16 = 2,416", "(256 + 1)·120 = 30,840", "(120 + 1)·84 = 10,164",
        "(84 + 1)·10 = 850"]
    lstm = summary_of([10, 3], {"type": "lstm", "units": 2, "bias": False, "bidirectional": True}).rows[0]
    assert lstm.formula == "2·4·2·(3 + 2) = 80"
    bn = summary_of([4], dense(5), {"type": "batchnorm"}, {"type": "prelu"}, {"type": "prelu", "shared": True})
    assert [row.formula for row in bn.rows[1:]] == ["2·5 (γ and β) = 10", "5 α, one per neuron = 5", "1 shared α = 1"]


# ---- receptive fields ----------------------------------------------------------------------------

def backwards_field(windows) -> int:
    """The receptive field from the layer back to the input: r ← s·r + (k − s), starting at 1."""
    r = 1
    for k, s in reversed(windows):
        r = s * r + (k - s)
    return r


def footprint(modules, shape) -> tuple[int, int]:
    """Rows and columns of the input pixels that move the output's middle cell: the gradient's
    nonzero extent (average pools and positive kernels: nothing cancels)."""
    x = torch.ones(1, *shape, requires_grad=True)
    y = x
    for m in modules:
        y = m(y)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows, cols = np.nonzero(x.grad[0].abs().sum(0).numpy())
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


@pytest.mark.parametrize("stack", [
    [(5, 1), (2, 2), (5, 1), (2, 2)],                  # LeNet: 5, 6, 14, 16
    [(3, 1), (3, 1), (2, 2), (3, 1), (3, 2)],
    [(5, 2), (5, 2)],                                  # stride 2 instead of pooling: 5, 13
    [(7, 3), (3, 1), (2, 2)],
])
def test_receptive_fields_agree_with_two_independent_computations(stack):
    layers, modules = [], []
    for i, (k, s) in enumerate(stack):
        if i % 2 == 0:
            layers.append(conv(1, k, stride=s))
            module = nn.Conv2d(1, 1, k, stride=s, bias=False)
            torch.nn.init.constant_(module.weight, 1.0)
        else:
            layers.append({"type": "avgpool", "size": k, "stride": s})
            module = nn.AvgPool2d(k, stride=s)
        modules.append(module)
    summary = summary_of([1, 64, 64], *layers)
    for depth, row in enumerate(summary.rows, start=1):
        r = backwards_field(stack[:depth])
        assert row.receptive_field == (r, r)
    assert summary.rows[-1].receptive_field == footprint(modules, (1, 64, 64))


def test_after_a_dense_layer_the_field_is_the_whole_input_and_a_sequence_has_none():
    rows = rows_of("44_lenet_summary.toml")
    fields = {row.name: row.receptive_field for row in rows}
    assert fields["H1"] == (5, 5) and fields["P1"] == (6, 6) and fields["H2"] == (14, 14)
    assert fields["P2"] == fields["F2"] == (16, 16) and fields["H3"] == fields["O5"] == ("whole",)
    assert all(row.receptive_field is None for row in rows_of("49_lstm_2_1_summary.toml"))
    assert "28×28 (all)" in "\n".join(lines(load_summary(str(NETS / "44_lenet_summary.toml"))))


# ---- the command ---------------------------------------------------------------------------------

def test_summary_json_is_the_issues_document(nngraph):
    status, out, err = nngraph(NETS / "44_lenet_summary.toml", "--summary", "--json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "summary" and doc["total_params"] == 44_426
    assert [layer["name"] for layer in doc["layers"]][:4] == ["H1", "O1", "P1", "H2"]
    first = doc["layers"][0]
    assert {"name", "type", "output_shape", "params", "receptive_field"} <= set(first)
    assert first["output_shape"] == [6, 24, 24] and first["receptive_field"] == [5, 5]
    assert doc["layers"][7]["output_shape"] == [120] and doc["layers"][7]["receptive_field"] == [28, 28]


def test_a_spec_with_data_is_summarised_as_it_runs(nngraph):
    status, out, err = nngraph(NETS / "cnn_small.toml", "--summary")
    assert status == 0, err
    assert "(3·3·1 + 1)·2 = 20" in out and "total parameters: 26" in out and "no [data]" not in out
    status, out, _ = nngraph(NETS / "52_lstm.toml", "--summary", "--json")
    doc = json.loads(out)
    assert doc["input_shape"] == [3, 1] and doc["layers"][0]["output_shape"] == [3, 1]


def test_a_data_less_spec_prints_its_summary_and_says_why(nngraph, tmp_path):
    status, out, err = nngraph(NETS / "44_lenet_summary.toml", "-o", tmp_path / "out")
    assert status == 0 and "total parameters: 44,426" in out and "no [data]" in out
    assert not (tmp_path / "out").exists()


def test_a_formula_refuses_summary(nngraph):
    status, _, err = nngraph("x*y", "--at", "x=1,y=2", "--summary")
    assert status == 2 and "--summary applies to network specs" in err


def test_summaries_handle_networks_too_big_to_run():
    """Sizes only: a VGG-like layer of 4096×25088 weights is counted, not made."""
    summary = summary_of([512, 7, 7], {"type": "flatten"}, dense(4096), dense(4096), dense(1000))
    assert summary.total == (25088 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000


@pytest.mark.parametrize("doc, words", [
    ({"layer": [dense(3)]}, "missing table [data]"),
    ({"input_shape": [1, 2, 3, 4], "layer": [dense(3)]}, "key input_shape: must be [C, H, W], [features] or [T, features]"),
    ({"input_shape": [0], "layer": [dense(3)]}, "key input_shape: must be a whole number ≥ 1, got 0"),
    ({"input_shape": [1, 5, 5], "layer": [dense(3)]}, "linear takes rows, but its input X holds images, 1×5×5"),
    ({"input_shape": [1, 5, 5], "layer": [conv(2, 7)]}, "a 7×7 kernel does not fit a 5×5 input with padding 0"),
    ({"input_shape": [1, 5, 5], "layer": [conv(2, 3, stride=0)]}, "a stride of 0 would never move the kernel"),
    ({"input_shape": [1, 5, 5], "layer": [conv(2, 3, padding=-2)]}, "a padding of -2 is negative"),
    ({"input_shape": [3, 5, 5], "layer": [{"type": "conv2d", "K": [[1.0]]}]}, "filters of 1 channel, but its input has 3"),
    ({"input_shape": [5], "layer": [{"type": "linear"}]}, "key units: missing key"),
    ({"input_shape": [5], "layer": [{"type": "lineer", "units": 2}]}, "unknown layer type 'lineer'"),
    ({"input_shape": [5], "layer": [{"type": "linear", "W": [[1.0]]}]}, "W1 has 1 rows but its input has 5 features"),
    ({"input_shape": [1, 8, 8], "layer": [conv(2, 3), {"type": "dropout"}]}, "dropout acts on rows of neurons"),
    ({"input_shape": [5], "layer": [{"type": "maxpool"}]}, "maxpool slides over images, but its input X is a row of 5"),
    ({"input_shape": [5], "data_": 1, "layer": [dense(2)]}, "key data_: unknown key"),
    ({"input_shape": [4], "layer": [{"type": "linear", "shape": [4, 3], "units": 5}]}, "says 5 but shape says 3"),
    ({"input_shape": [3, 2], "layer": [{"type": "rnn", "W": [[1.0], [2.0]]}]}, "give R1 too"),
])
def test_every_mistake_in_a_data_less_spec_is_one_error_line(doc, words):
    with pytest.raises(UserError) as info:
        summarise(doc, "net.toml")
    lines_ = info.value.lines()
    assert lines_[0].startswith("error: net.toml: ") and words in lines_[0], lines_
    assert all(line.startswith("hint: ") for line in lines_[1:])


def test_the_table_lists_every_layer_and_the_total():
    text = lines(load_summary(str(NETS / "44_lenet_summary.toml")))
    assert text[0].startswith("Exercise 44") and text[1] == "input: 1×28×28 (one image, without the batch)"
    assert sum(line.startswith(("H", "O", "P", "F")) for line in text) == 13
    assert "total parameters: 44,426" in text
    document_ = document(load_summary(str(NETS / "34_regression_summary.toml")))
    assert document_["total_params"] == 84_301 and document_["layers"][0]["receptive_field"] is None


def test_every_layer_type_has_a_summary_rule_and_a_cost():
    from graphviz_nn import budget
    from graphviz_nn.network.spec import LAYER_TYPES
    from graphviz_nn.network.summary import RULES
    assert set(RULES) == set(LAYER_TYPES)
    assert set(budget.LAYER_COSTS) <= set(LAYER_TYPES)


def test_images_as_a_sequences_steps_are_summarised_per_image(nngraph, tmp_path):
    """conv, flatten, rnn with [data]: each image is a time step; the conv reads one image."""
    image = [[[0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0]]]
    path = tmp_path / "mix.toml"
    path.write_text(f"""seed = 1
[data]
X = {[image, image, image]}
y = [[1], [0], [1]]
[[layer]]
type = "conv2d"
filters = 1
kernel = 3
init = "he"
[[layer]]
type = "flatten"
[[layer]]
type = "rnn"
units = 1
init = "xavier"
[loss]
type = "mse"
""")
    status, out, err = nngraph(path, "--summary", "--json")
    doc = json.loads(out)
    assert status == 0 and doc["input_shape"] == [1, 4, 4], err
    assert [layer["params"] for layer in doc["layers"]] == [9, 0, 6]
    status, _, err = nngraph(path, "--view", "neurons", "--no-render")
    assert status == 2 and err.count("error:") == 1 and "not both" in err


def test_options_that_draw_are_refused_with_summary(nngraph):
    status, _, err = nngraph(NETS / "cnn_small.toml", "--summary", "--plots", "--view", "grid")
    assert status == 2 and err.count("error:") == 1 and "--plots, --view do nothing with --summary" in err
