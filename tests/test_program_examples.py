"""The program examples (examples/programs/*.nn) compute what their headers say: every gradient
agrees with central finite differences taken on the file's own numbers, and with PyTorch
computing the same thing — torch.nn.LSTM and torch.nn.GRU with the file's weights copied in,
torch.nn.functional.batch_norm in training mode, the recurrent cells' formulas in autograd.
And the pictures keep their promise: one box per time step, time left to right, shared
weights outside the boxes."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

import graphviz_nn as nn
from graphviz_nn.render.dot import to_dot
from graphviz_nn.render.layout import layout

PROGRAMS = Path(__file__).parent.parent / "examples" / "programs"
EXAMPLES = sorted(p.name for p in PROGRAMS.glob("*.nn"))
STEP = 1e-6                  # central differences: error ~ STEP² · f''' — far below the tolerance


def source(name: str) -> str:
    return (PROGRAMS / name).read_text(encoding="utf-8")


def run(name: str, expand: bool = False, **values) -> nn.Trace:
    """The example as its file gives it; keywords give inputs other values (as --at does)."""
    return nn.trace(source(name), expand=expand, **values)


def inputs(t: nn.Trace) -> dict[str, np.ndarray]:
    graph = t.graph
    return {n: np.array(graph[n]["value"], dtype=float) for n in graph.order if graph[n]["kind"] != "op"}


def finite_differences(name: str, t: nn.Trace, expand: bool = False) -> dict[str, np.ndarray]:
    """∂L/∂v for every input v with a gradient, entry by entry: (L(v + h) − L(v − h)) / 2h."""
    given = inputs(t)
    found = {}
    for v in t.grad:
        slope = np.zeros_like(given[v])
        for index in np.ndindex(given[v].shape):
            moved = []
            for step in (STEP, -STEP):
                value = given[v].copy()
                value[index] += step
                moved.append(float(run(name, expand, **{v: value}).value))
            slope[index] = (moved[0] - moved[1]) / (2 * STEP)
        found[v] = slope
    return found


# ---- the files ---------------------------------------------------------------------------------

def test_the_program_examples_are_found():
    assert {"48_rnn_unrolled.nn", "50_rnn_cell.nn", "50_bidirectional.nn", "51_peephole_lstm.nn",
            "52_lstm.nn", "52_gru.nn", "34_dropout.nn", "batchnorm_expanded.nn"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_file_says_what_it_is_and_how_to_run_it(name):
    header = source(name).split("\n\n")[0]
    assert header.startswith("# ") and all(line.startswith("#") for line in header.splitlines())
    assert re.search(r"Exercise \d+|Sheet \d+", header), header
    assert f"nngraph examples/programs/{name}" in header


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_file_carries_all_its_numbers(name):
    """It runs with no option: every input has its value in the file, and the data are constants."""
    t = run(name)
    assert np.isfinite(t.value).all() and t.graph.kind == "program"
    assert t.grad and all(np.isfinite(g).all() for g in t.grad.values())


# ---- the numbers: finite differences -------------------------------------------------------------

KINKS = {"42_noughts_and_crosses.nn"}     # its maxima tie at the file's numbers: checked below, off the ties


@pytest.mark.parametrize("name", [n for n in EXAMPLES if n not in KINKS])
def test_gradients_agree_with_finite_differences(name):
    t = run(name)
    numeric = finite_differences(name, t)
    for v, slope in numeric.items():
        np.testing.assert_allclose(t.grad[v], slope, rtol=1e-6, atol=1e-8, err_msg=f"{name}: ∂L/∂{v}")


def test_expanded_batchnorm_has_the_same_gradients_as_the_one_gate():
    name = "batchnorm_expanded.nn"
    one, expanded = run(name), run(name, expand=True)
    assert len(expanded.graph.order) > len(one.graph.order) + 5          # mean, −, **2, mean, +ε, sqrt, ÷, ×, +
    assert float(expanded.value) == pytest.approx(float(one.value), rel=1e-12)
    for v in one.grad:
        np.testing.assert_allclose(expanded.grad[v], one.grad[v], rtol=1e-9, atol=1e-12)
    for v, slope in finite_differences(name, expanded, expand=True).items():
        np.testing.assert_allclose(expanded.grad[v], slope, rtol=1e-6, atol=1e-8)


def test_exercise_48_by_hand():
    """ŷ1 = 0, ŷ2 = relu(0.5·relu(0.5·1)) = 0.25, ŷ3 = 0 (h3 = relu(0.25 − 0.5) = 0):
    L = (1 + 1.25² + 4)/3; only step 2 is alive, so ∂L/∂u = ∂L/∂v = (2/3)·1.25·0.5, ∂L/∂w = 0."""
    t = run("48_rnn_unrolled.nn")
    assert float(t.value) == pytest.approx((1 + 1.25 ** 2 + 4) / 3)
    assert float(t.grad["u"]) == pytest.approx(2 / 3 * 1.25 * 0.5)
    assert float(t.grad["v"]) == pytest.approx(2 / 3 * 1.25 * 0.5)
    assert float(t.grad["w"]) == 0
    assert set(t.grad) == {"w", "v", "u"}                  # the sequence and h0 are data


def test_dropout_is_the_spec_examples_first_step(nngraph):
    """The program and examples/nets/34_dropout.toml are one computation: same loss, same gradients."""
    status, out, _ = nngraph(PROGRAMS.parent / "nets" / "34_dropout.toml", "--json", "--no-render")
    step = json.loads(out)["steps"][0]
    t = run("34_dropout.nn")
    assert float(t.value) == pytest.approx(step["loss"])
    for w in ("W1", "W2"):
        np.testing.assert_allclose(t.grad[w], step["gradients"][w], rtol=1e-12)
    assert set(t.grad) == {"W1", "W2"}                    # X, the mask, p and y are data


# ---- the numbers: PyTorch ------------------------------------------------------------------------

def tensors(torch, t: nn.Trace) -> dict:
    """The file's inputs as float64 tensors, those with a gradient in the program requiring one."""
    return {n: torch.tensor(v, dtype=torch.float64, requires_grad=n in t.grad) for n, v in inputs(t).items()}


def assert_same(t: nn.Trace, loss, values: dict, leaves: dict, name: str):
    loss.backward()
    assert float(t.value) == pytest.approx(loss.item(), rel=1e-12), name
    for node, tensor in values.items():
        np.testing.assert_allclose(np.asarray(t.graph[node]["value"], dtype=float),
                                   tensor.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"{name}: {node}")
    for v in t.grad:
        np.testing.assert_allclose(t.grad[v], leaves[v].grad.numpy(), rtol=1e-10, atol=1e-14,
                                   err_msg=f"{name}: ∂L/∂{v}")


def torch_48(torch, v):
    """h_t = relu(w·h_{t−1} + v·y_{t−1}), ŷ_t = relu(u·h_t), L = mean (ŷ_t − y_t)²."""
    h, seen, errors = v["h0"], {}, []
    for step in (1, 2, 3):
        h = torch.relu(v["w"] * h + v["v"] * v[f"y{step - 1}"])
        yhat = torch.relu(v["u"] * h)
        errors.append((yhat - v[f"y{step}"]) ** 2)
        seen |= {f"h{step}": h, f"ŷ{step}": yhat}
    return sum(errors) / 3, seen


def torch_50_cell(torch, v):
    """h_t = tanh(b_h + W·h_{t−1} + V·x_t), y_t = σ(b_y + U·h_t), L = ½ Σ (y_t − r_t)²."""
    h, seen, errors = v["h0"], {}, []
    for step in (1, 2):
        h = torch.tanh(v["b_h"] + v["W"] * h + v["V"] * v[f"x{step}"])
        y = torch.sigmoid(v["b_y"] + v["U"] * h)
        errors.append((y - v[f"r{step}"]) ** 2)
        seen |= {f"h{step}": h, f"y{step}": y}
    return sum(errors) / 2, seen


def torch_50_bidirectional(torch, v):
    """h forwards, s backwards (s3 = 0), o_t = b_y + U·h_t + Uʹ·s_t, y_t = σ(o_t)."""
    h1 = torch.tanh(v["b_h"] + v["W"] * v["h0"] + v["V"] * v["x1"])
    h2 = torch.tanh(v["b_h"] + v["W"] * h1 + v["V"] * v["x2"])
    s2 = torch.tanh(v["b_s"] + v["Wʹ"] * v["s3"] + v["Vʹ"] * v["x2"])
    s1 = torch.tanh(v["b_s"] + v["Wʹ"] * s2 + v["Vʹ"] * v["x1"])
    o1 = v["b_y"] + v["U"] * h1 + v["Uʹ"] * s1
    o2 = v["b_y"] + v["U"] * h2 + v["Uʹ"] * s2
    y1, y2 = torch.sigmoid(o1), torch.sigmoid(o2)
    loss = ((y1 - v["r1"]) ** 2 + (y2 - v["r2"]) ** 2) / 2
    return loss, dict(h1=h1, h2=h2, s1=s1, s2=s2, o1=o1, o2=o2, y1=y1, y2=y2)


def torch_51(torch, v):
    """The peephole LSTM: [i, f, o] = σ(W·x + V·h + U·c + b), cʹ = tanh(W_c·x + V_c·h + b_c)."""
    h, c, seen = v["h0"], v["c0"], {}
    for step in (1, 2):
        x = v[f"x{step}"]
        gates = torch.sigmoid(v["W"] * x + v["V"] * h + v["U"] * c + v["b"])
        i, f, o = gates[0], gates[1], gates[2]
        candidate = torch.tanh(v["W_c"] * x + v["V_c"] * h + v["b_c"])
        c = f * c + i * candidate
        h = o * torch.tanh(c)
        seen |= {f"i{step}": i, f"f{step}": f, f"o{step}": o, f"cʹ{step}": candidate, f"c{step}": c, f"h{step}": h}
    return (h - v["y"]) ** 2, seen


def torch_dropout(torch, v):
    H1 = v["X"] @ v["W1"]
    D1 = torch.relu(H1) * v["M"] / (1 - v["p"])
    yhat = D1 @ v["W2"]
    return torch.mean((yhat - v["y"]) ** 2) / 2, dict(H1=H1, D1=D1, ŷ=yhat)


FORMULAS = {"48_rnn_unrolled.nn": torch_48, "50_rnn_cell.nn": torch_50_cell,
            "50_bidirectional.nn": torch_50_bidirectional, "51_peephole_lstm.nn": torch_51,
            "34_dropout.nn": torch_dropout}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_the_cells_match_the_same_formulas_in_torch(name):
    torch = pytest.importorskip("torch")
    t = run(name)
    v = tensors(torch, t)
    loss, values = FORMULAS[name](torch, v)
    assert_same(t, loss, values, v, name)


def recurrent_layer(torch, module, t: nn.Trace, names=("W", "R", "b_ih", "b_hh")):
    """torch's layer with the file's weights copied in (weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0: one row per gate, in torch's order), run over x1, x2 from h0 (and c0)."""
    given = inputs(t)
    layer = module(input_size=1, hidden_size=1).double()
    with torch.no_grad():
        for parameter, name in zip((layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0), names):
            parameter.copy_(torch.tensor(given[name]).reshape(parameter.shape))
    x = torch.tensor(np.array([given["x1"], given["x2"]]), dtype=torch.float64).reshape(2, 1, 1)
    return layer, x, given


def sequence_loss(outputs, given):
    return ((outputs[0, 0, 0] - float(given["y1"])) ** 2 + (outputs[1, 0, 0] - float(given["y2"])) ** 2) / 2


def assert_layer_gradients(t: nn.Trace, layer, names=("W", "R", "b_ih", "b_hh")):
    for parameter, name in zip((layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0), names):
        np.testing.assert_allclose(t.grad[name], parameter.grad.numpy().reshape(-1), rtol=1e-10, atol=1e-14,
                                   err_msg=f"∂L/∂{name}")
    assert set(t.grad) == set(names)


@pytest.mark.slow
def test_the_lstm_is_torch_nn_lstm():
    torch = pytest.importorskip("torch")
    t = run("52_lstm.nn")
    layer, x, given = recurrent_layer(torch, torch.nn.LSTM, t)
    state = (torch.tensor(given["h0"]).reshape(1, 1, 1), torch.tensor(given["c0"]).reshape(1, 1, 1))
    outputs, (h_n, c_n) = layer(x, state)
    loss = sequence_loss(outputs, given)
    loss.backward()
    assert float(t.value) == pytest.approx(loss.item(), rel=1e-12)
    for node, expected in [("h1", outputs[0]), ("h2", outputs[1]), ("c2", c_n)]:
        assert float(t.graph[node]["value"]) == pytest.approx(expected.item(), rel=1e-12), node
    assert_layer_gradients(t, layer)


@pytest.mark.slow
def test_the_gru_is_torch_nn_gru():
    torch = pytest.importorskip("torch")
    t = run("52_gru.nn")
    layer, x, given = recurrent_layer(torch, torch.nn.GRU, t)
    outputs, h_n = layer(x, torch.tensor(given["h0"]).reshape(1, 1, 1))
    loss = sequence_loss(outputs, given)
    loss.backward()
    assert float(t.value) == pytest.approx(loss.item(), rel=1e-12)
    for node, expected in [("h1", outputs[0]), ("h2", h_n)]:
        assert float(t.graph[node]["value"]) == pytest.approx(expected.item(), rel=1e-12), node
    assert_layer_gradients(t, layer)


@pytest.mark.slow
@pytest.mark.parametrize("expand", [False, True], ids=["one gate", "expanded"])
def test_batchnorm_is_torchs_batch_norm_in_training_mode(expand):
    torch = pytest.importorskip("torch")
    t = run("batchnorm_expanded.nn", expand=expand)
    v = tensors(torch, t)
    N = torch.nn.functional.batch_norm(v["X"], None, None, v["gamma"], v["beta"], training=True, eps=1e-5)
    loss = torch.sum((N - v["T"]) ** 2) / 6
    assert_same(t, loss, {"N": N}, v, "batchnorm")
    assert set(t.grad) == {"X", "gamma", "beta"}


# ---- the pictures ----------------------------------------------------------------------------

def boxes(name: str):
    """The laid-out picture: each cluster's title and box, each node's centre, by graph node."""
    t = run(name)
    drawing = to_dot(t.graph)
    laid = layout(drawing.source).json
    names = {v: k for k, v in drawing.node_ids.items()}
    clusters, centres = {}, {}
    for obj in laid["objects"]:
        if obj["name"].startswith("cluster_"):
            title = re.sub(r"<[^>]+>", "", obj["label"]) if "label" in obj else obj["name"]
            clusters[title.strip()] = [float(c) for c in obj["bb"].split(",")]
        elif obj["name"] in names:
            centres[names[obj["name"]]] = [float(c) for c in obj["pos"].split(",")]
    return t.graph, clusters, centres


def inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.mark.parametrize("name,steps,shared", [
    ("48_rnn_unrolled.nn", 3, ["w", "v", "u"]),
    ("50_rnn_cell.nn", 2, ["W", "V", "U", "b_h", "b_y"]),
    ("51_peephole_lstm.nn", 2, ["W", "V", "U", "b", "W_c", "V_c", "b_c"]),
    ("52_lstm.nn", 2, ["W", "R", "b_ih", "b_hh"]),
    ("52_gru.nn", 2, ["W", "R", "b_ih", "b_hh"]),
])
def test_one_box_per_time_step_left_to_right_with_the_shared_weights_outside(name, steps, shared):
    graph, clusters, centres = boxes(name)
    titles = [f"t = {k}" for k in range(1, steps + 1)]
    assert sorted(clusters) == titles
    for before, after in zip(titles, titles[1:]):
        assert clusters[before][2] < clusters[after][0], (before, after)      # time runs left to right
    for k, title in enumerate(titles, 1):
        assert graph[f"h{k}"]["group"] == title and inside(centres[f"h{k}"], clusters[title])
    for w in shared:
        assert graph[w]["group"] is None
        assert not any(inside(centres[w], box) for box in clusters.values()), w


@pytest.mark.parametrize("name", ["48_rnn_unrolled.nn", "52_lstm.nn", "52_gru.nn"])
def test_the_time_steps_stand_in_one_row(name):
    """The boxes' vertical centres within a fifth of the lowest box's height of each other:
    exercise 48's three boxes went down a staircase, each a box lower than the one before."""
    _, clusters, _ = boxes(name)
    centres = [(box[1] + box[3]) / 2 for box in clusters.values()]
    lowest = min(box[3] - box[1] for box in clusters.values())
    assert max(centres) - min(centres) < lowest / 5, centres


def test_the_two_directional_steps_are_boxes_that_hold_both_states():
    graph, clusters, centres = boxes("50_bidirectional.nn")
    assert sorted(clusters) == ["t = 1", "t = 2"]
    assert clusters["t = 1"][2] < clusters["t = 2"][0]         # s2 → s1 points back: time still runs right
    for node, title in [("h1", "t = 1"), ("s1", "t = 1"), ("y1", "t = 1"), ("h2", "t = 2"), ("s2", "t = 2")]:
        assert graph[node]["group"] == title and inside(centres[node], clusters[title]), node
    for w in ("W", "Wʹ", "U", "Uʹ"):
        assert not any(inside(centres[w], box) for box in clusters.values()), w


# ---- exercises 40 and 42: convolutions, drawn with --view grid ----------------------------------

EXERCISE_40 = {                      # the file, and what its statements are in torch.nn.functional
    "40_1_valid.nn": lambda F, X, K: {"A": F.conv2d(X, K)},
    "40_2_maxpool.nn": lambda F, X, K: {"A": F.conv2d(X, K), "P": F.max_pool2d(F.conv2d(X, K), 2, stride=1)},
    "40_3_avgpool.nn": lambda F, X, K: {"A": F.conv2d(X, K), "Q": F.avg_pool2d(F.conv2d(X, K), 2, stride=1)},
    "40_4_stride2.nn": lambda F, X, K: {"A": F.conv2d(X, K, stride=2)},
    "40_5_stride3.nn": lambda F, X, K: {"A": F.conv2d(X, K, stride=3)},
    "40_6_padding.nn": lambda F, X, K: {"A": F.conv2d(X, K, padding=1)},
}
EXERCISE_42 = "42_noughts_and_crosses.nn"


def test_the_convolution_examples_are_found():
    assert set(EXERCISE_40) | {EXERCISE_42} <= set(EXAMPLES)
    assert {n for n in EXAMPLES if n.startswith("40_")} == set(EXERCISE_40)


@pytest.mark.parametrize("name", sorted(EXERCISE_40) + [EXERCISE_42])
def test_the_convolution_examples_are_drawn_as_grids(name):
    """The header's command draws them with --view grid, and the stride-0 part says why not."""
    assert f"nngraph examples/programs/{name} --view grid" in source(name)


def test_exercise_40_says_why_there_is_no_stride_0(nngraph):
    """The sheet's "stride 0": a header gives the command and its one error line, as nngraph prints it."""
    header = source("40_5_stride3.nn")
    command = re.search(r'^#\s+(nngraph "conv2d\(X, K, stride=0\)".*)$', header, re.MULTILINE).group(1)
    said = re.search(r"^#\s+(error: .*)$", header, re.MULTILINE).group(1)
    status, _, err = nngraph(*shlex.split(command)[1:], "--no-render")
    assert status == 2 and err.splitlines()[0] == said
    assert "40_5_stride3.nn" in source("40_6_padding.nn")        # the padding example points to it


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXERCISE_40))
def test_exercise_40_matches_torch(name):
    """Every statement's value and every gradient, against torch.nn.functional on the file's X and K."""
    torch = pytest.importorskip("torch")
    t = run(name)
    v = tensors(torch, t)
    values = {node: value[0, 0] for node, value in
              EXERCISE_40[name](torch.nn.functional, v["X"][None, None], v["K"][None, None]).items()}
    last = values.get("P", values.get("Q", values["A"]))
    assert_same(t, last.sum(), values, v, name)
    assert set(t.grad) == {"X", "K"}


def scores(t: nn.Trace) -> dict[str, float]:
    """Each picture's score, by the picture's name: m_k is max(A_k), A_k = conv2d(picture, K)."""
    text = source(EXERCISE_42)
    pictures = dict(re.findall(r"^(A\d) = conv2d\((\w+), K\)$", text, re.MULTILINE))
    maxima = dict(re.findall(r"^(m\d) = max\((A\d)\)$", text, re.MULTILINE))
    return {pictures[a]: float(t.graph[m]["value"]) for m, a in maxima.items()}


def test_exercise_42_the_threshold_separates_noughts_from_crosses():
    """The header's threshold: every cross scores above it, every nought below; the margin is the gap."""
    t = run(EXERCISE_42)
    threshold = float(re.search(r"cross if m > ([\d.]+), nought if m < \1", source(EXERCISE_42)).group(1))
    found = scores(t)
    assert sorted(found) == ["cross1", "cross2", "nought1", "nought2"]
    crosses = [m for name, m in found.items() if name.startswith("cross")]
    noughts = [m for name, m in found.items() if name.startswith("nought")]
    assert max(noughts) < threshold < min(crosses)
    assert float(t.value) == min(crosses) - max(noughts) > 0
    assert set(t.grad) == {"K"}                                 # the pictures are data


def test_exercise_42_scores_are_the_maxima_of_the_convolutions():
    """Independently of nngraph: each 3×3 window's sum of products with K, by numpy."""
    t = run(EXERCISE_42)
    given = inputs(t)
    windows = np.lib.stride_tricks.sliding_window_view
    for picture, score in scores(t).items():
        assert score == (windows(given[picture], (3, 3)) * given["K"]).sum(axis=(-2, -1)).max(), picture


def test_exercise_42_at_the_ties_the_check_accepts_the_convention(nngraph):
    """Nought 1's four windows all score 7 and the two crosses 8: kinks, where --check compares
    with the nearer one-sided derivative and names each kink."""
    status, out, err = nngraph(PROGRAMS / EXERCISE_42, "--check", "--no-render")
    assert status == 0, out + err
    assert "MISMATCH" not in out and "kink of max" in out and "kink of min" in out


def off_the_ties() -> np.ndarray:
    """The file's K moved by a small random matrix: no two windows tie any more."""
    return np.array(inputs(run(EXERCISE_42))["K"]) + np.random.default_rng(42).uniform(-0.01, 0.01, (3, 3))


def test_exercise_42_off_the_ties_gradients_agree_with_finite_differences():
    K = off_the_ties()
    t = run(EXERCISE_42, K=K)
    slope = np.zeros_like(K)
    for index in np.ndindex(K.shape):
        moved = []
        for step in (STEP, -STEP):
            value = K.copy()
            value[index] += step
            moved.append(float(run(EXERCISE_42, K=value).value))
        slope[index] = (moved[0] - moved[1]) / (2 * STEP)
    np.testing.assert_allclose(t.grad["K"], slope, rtol=1e-6, atol=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("ties", [True, False], ids=["the file's K", "off the ties"])
def test_exercise_42_matches_torch(ties):
    """The scores and the margin at the file's K; the gradient off the ties (at a tie torch's max
    shares the gradient out evenly, nngraph gives it to the first: both are subgradients)."""
    torch = pytest.importorskip("torch")
    t = run(EXERCISE_42) if ties else run(EXERCISE_42, K=off_the_ties())
    v = tensors(torch, t)
    F = torch.nn.functional
    m = {p: F.conv2d(v[p][None, None], v["K"][None, None]).max() for p in ("nought1", "nought2", "cross1", "cross2")}
    margin = torch.min(m["cross1"], m["cross2"]) - torch.max(m["nought1"], m["nought2"])
    if ties:
        assert float(t.value) == margin.item()
        for k, p in enumerate(m, 1):
            assert float(t.graph[f"m{k}"]["value"]) == m[p].item(), p
    else:
        assert_same(t, margin, {f"m{k}": m[p] for k, p in enumerate(m, 1)}, v, EXERCISE_42)
