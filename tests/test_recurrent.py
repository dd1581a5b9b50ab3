"""Recurrent layers in specs (rnn, lstm, gru): exercise 48's numbers, every gradient against central
finite differences, the three drawings (layer view, --expand, neuron view) agreeing entry by entry,
the unrolled picture's groups, backpropagation through time in the captions, the spec's mistakes,
the JSON and the plots. PyTorch checks the same layers in test_torch.py."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from graphviz_nn import engine
from graphviz_nn.errors import UserError
from graphviz_nn.explain.gradcheck import numeric_gradient
from graphviz_nn.network.build import build_graph, layer_program, neuron_program
from graphviz_nn.network.cells import CELLS
from graphviz_nn.network.run import run_network
from graphviz_nn.network.spec import load_spec, parse_spec

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def recurrent_doc(kind, seed=0, units=2, d=2, T=3, bidirectional=False, activation="tanh", bias=True,
                  outputs=1, train=None, after=("linear",), loss="mse"):
    """X (T×d) → one recurrent layer with random W, R (b), h0 (c0) → what follows → loss."""
    rng = np.random.default_rng(seed)
    G = GATES[kind]
    layer = {"type": kind}
    directions = ("", "_rev") if bidirectional else ("",)
    for suffix in directions:
        layer["W" + suffix] = rng.normal(size=(d, G * units)).tolist()
        layer["R" + suffix] = rng.normal(size=(units, G * units)).tolist()
        if bias:
            layer["b" + suffix] = rng.normal(size=G * units).tolist()
    if not bias:
        layer["bias"] = False
    if kind == "rnn":
        layer["activation"] = activation
    if bidirectional:
        layer["bidirectional"] = True
    layer["h0"] = rng.normal(size=(len(directions), units)).tolist()
    if kind == "lstm":
        layer["c0"] = rng.normal(size=(len(directions), units)).tolist()
    width = units * len(directions)
    layers = [layer]
    for kind_after in after:
        if kind_after == "linear":
            layers.append({"type": "linear", "W": rng.normal(size=(width, outputs)).tolist(),
                           "b": rng.normal(size=outputs).tolist()})
            width = outputs
        else:
            layers.append({"type": kind_after})
    doc = {"data": {"X": rng.normal(size=(T, d)).tolist(), "y": rng.normal(size=(T, width)).tolist()},
           "layer": layers}
    if loss:
        doc["loss"] = {"type": loss}
    if train:
        doc["train"] = train
    return doc


def graph_of(spec, view="layers", detail=False):
    program = neuron_program(spec, spec.X, spec.y, spec.params) if view == "neurons" else \
        layer_program(spec, spec.X, spec.y, spec.params, detail=detail)
    graph = build_graph(program, spec.title)
    engine.run(graph)
    return graph


EXERCISE_48 = {
    "data": {"X": [[0], [1], [-1]], "y": [[1], [-1], [2]]},
    "layer": [{"type": "rnn", "units": 1, "activation": "relu", "W": [[0.5]], "R": [[0.5]], "bias": False},
              {"type": "linear", "W": [[0.5]]}, {"type": "relu"}],
    "loss": {"type": "mse"},
}


# ---- exercise 48 by hand ----------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["layers", "neurons"])
def test_exercise_48_by_hand(view):
    """h1 = relu(0·0.5 + 0·0.5) = 0, h2 = relu(1·0.5 + 0) = 0.5, h3 = relu(−0.5 + 0.25) = 0; ŷ = relu(0.5·h)
    = 0, 0.25, 0; L = ((0 − 1)² + (0.25 + 1)² + (0 − 2)²)/3 = 2.1875. Only step 2 passes a gradient:
    d = 2·1.25/3 at ŷ₂, so ∂L/∂W2 = 0.5·5/6 = 5/12, ∂L/∂a1_2 = 0.5·5/6 = 5/12 = ∂L/∂W1 (x₂ = 1), and
    ∂L/∂R1 = h1_1·5/12 = 0: R1 learns nothing, because h1_1 = 0 and step 3's ReLU is dead."""
    p = run_network(parse_spec(EXERCISE_48, "48.toml"), view).passes[0]
    assert p.loss == pytest.approx(2.1875, rel=1e-12)
    np.testing.assert_allclose(p.output, [[0], [0.25], [0]], atol=1e-15)
    expected = {"W1": [[5 / 12]], "R1": [[0]], "W2": [[5 / 12]], "X": [[0], [5 / 24], [0]]}
    assert set(p.gradients) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(p.gradients[name], value, rtol=1e-12, atol=1e-15, err_msg=name)


def test_recurrent_layers_are_counted_as_linear_layers_are():
    doc = {"data": {"X": [[1, 2], [3, 4], [5, 6]], "y": [[1], [2], [3]]},
           "layer": [{"type": "linear", "W": [[1, 0], [0, 1]], "b": [0, 0]}, {"type": "tanh"},
                     {"type": "gru", "units": 2, "init": "xavier"}, {"type": "dropout", "p": 0.5, "seed": 1},
                     {"type": "linear", "W": [[1], [1]]}],
           "loss": {"type": "mse"}}
    spec = parse_spec(doc, "net.toml")
    assert [layer.name for layer in spec.layers] == ["H1", "O1", "O2", "D2", "H3"]
    assert list(spec.params) == ["W1", "b1", "W2", "R2", "b2", "W3"]
    assert spec.params["W2"].shape == (2, 6) and spec.params["R2"].shape == (2, 6)
    np.testing.assert_array_equal(spec.params["b2"], np.zeros(6))      # bias = true by default, as PyTorch's
    again = parse_spec(doc, "net.toml")
    np.testing.assert_array_equal(again.params["R2"], spec.params["R2"])    # the same weights every time


# ---- gradients: finite differences, and the three drawings agree ------------------------------------------

CASES = [("rnn", "tanh", False, True), ("rnn", "relu", True, True), ("rnn", "tanh", True, False),
         ("lstm", "tanh", False, True), ("lstm", "tanh", True, True), ("lstm", "tanh", False, False),
         ("gru", "tanh", False, True), ("gru", "tanh", True, True), ("gru", "tanh", False, False)]


def case_spec(kind, activation, bidirectional, bias, seed, **more):
    return parse_spec(recurrent_doc(kind, seed, bidirectional=bidirectional, activation=activation, bias=bias,
                                    **more), "net.toml")


@pytest.mark.parametrize("kind, activation, bidirectional, bias", CASES)
@pytest.mark.parametrize("detail", [False, True])
def test_every_gradient_matches_central_differences(kind, activation, bidirectional, bias, detail):
    spec = case_spec(kind, activation, bidirectional, bias, seed=CASES.index((kind, activation, bidirectional,
                                                                               bias)))
    graph = graph_of(spec, detail=detail)
    seed = graph[graph.output]["grad"]
    checked = [n for n in graph.variables()]
    assert set(spec.params) <= set(checked) and {"x_1", "x_2", "x_3"} <= set(checked)
    for name in checked:
        numeric = numeric_gradient(graph, name, seed)
        np.testing.assert_allclose(graph[name]["grad"], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("kind, activation, bidirectional, bias", CASES)
def test_layer_view_expanded_cells_and_neuron_view_agree(kind, activation, bidirectional, bias):
    spec = case_spec(kind, activation, bidirectional, bias, seed=7, units=1, d=1, after=("linear", "tanh"))
    runs = [run_network(spec, "layers").passes[0], run_network(spec, "layers", detail=True).passes[0],
            run_network(spec, "neurons").passes[0]]
    for other in runs[1:]:
        assert other.loss == pytest.approx(runs[0].loss, rel=1e-12)
        np.testing.assert_allclose(other.output, runs[0].output, rtol=1e-12, atol=1e-14)
        assert list(other.gradients) == list(runs[0].gradients)
        for name, grad in runs[0].gradients.items():
            np.testing.assert_allclose(other.gradients[name], grad, rtol=1e-10, atol=1e-13, err_msg=name)
        for layer, norm in runs[0].grad_norms.items():
            assert other.grad_norms[layer] == pytest.approx(norm, rel=1e-10, abs=1e-13)
        for key, record in runs[0].sequence.items():
            np.testing.assert_allclose(other.sequence[key]["norms"], record["norms"], rtol=1e-10, atol=1e-13)
            for letter, values in record["gates"].items():
                np.testing.assert_allclose(other.sequence[key]["gates"][letter], values, rtol=1e-12)


def test_two_recurrent_layers_in_a_row_and_a_linear_layer_before():
    """The second layer reads the rows of O1 (row gates); the first reads rows of H1."""
    rng = np.random.default_rng(3)
    doc = {"data": {"X": rng.normal(size=(3, 2)).tolist(), "y": rng.normal(size=(3, 1)).tolist()},
           "layer": [{"type": "linear", "W": rng.normal(size=(2, 2)).tolist()},
                     {"type": "lstm", "units": 1, "init": "normal", "seed": 1},
                     {"type": "rnn", "units": 2, "init": "uniform", "seed": 2, "bidirectional": True},
                     {"type": "linear", "W": rng.normal(size=(4, 1)).tolist()}],
           "loss": {"type": "half_sse"}}
    spec = parse_spec(doc, "net.toml")
    graph = graph_of(spec)
    assert graph["O2[2]"]["op"] == "row" and graph["H1[1]"]["op"] == "row"
    seed = graph[graph.output]["grad"]
    for name in graph.variables():
        np.testing.assert_allclose(graph[name]["grad"], numeric_gradient(graph, name, seed), rtol=1e-5,
                                   atol=1e-8, err_msg=name)
    layers, neurons = run_network(spec, "layers").passes[0], run_network(spec, "neurons").passes[0]
    for name, grad in layers.gradients.items():
        np.testing.assert_allclose(neurons.gradients[name], grad, rtol=1e-10, atol=1e-13, err_msg=name)


def test_without_a_loss_the_outputs_of_every_step_are_summed():
    spec = case_spec("gru", "tanh", False, True, seed=4, units=1, d=1, loss=None)
    layers, neurons = run_network(spec, "layers").passes[0], run_network(spec, "neurons").passes[0]
    assert layers.loss is None and neurons.loss is None
    for name, grad in layers.gradients.items():
        np.testing.assert_allclose(neurons.gradients[name], grad, rtol=1e-10, atol=1e-13, err_msg=name)


def test_the_fast_passes_give_the_numbers_of_the_drawn_ones():
    doc = recurrent_doc("lstm", 5, train={"lr": 0.1, "steps": 3, "optimizer": "adam"})
    spec = parse_spec(doc, "net.toml")
    drawn, fast = run_network(spec, draw="all").passes, run_network(spec, draw="last").passes
    assert [p.drawn for p in fast] == [False, False, True]
    for d, f in zip(drawn, fast):
        assert f.loss == d.loss
        for name, grad in d.gradients.items():
            np.testing.assert_array_equal(f.gradients[name], grad)
        np.testing.assert_array_equal(f.sequence["O1"]["norms"], d.sequence["O1"]["norms"]) if f.sequence else None
    assert fast[0].sequence and not fast[1].sequence and fast[2].sequence      # the plots' first and last


# ---- the unrolled picture ----------------------------------------------------------------------------------

def test_each_step_is_a_group_and_the_weights_are_drawn_once_outside_with_an_edge_into_every_step():
    spec = parse_spec(EXERCISE_48, "48.toml")
    graph = graph_of(spec)
    for t in (1, 2, 3):
        for name in (f"x_{t}", f"a1_{t}", f"h1_{t}"):
            assert graph[name]["group"] == f"t = {t}", name
    assert graph["h1_0"]["group"] == "t = 1"           # the initial state: data of the first step
    for name in ("W1", "R1", "O1", "H2", "L"):
        assert graph[name]["group"] is None, name
    for weight in ("W1", "R1"):
        users = [v for _, v, _ in graph.out_edges(weight)]
        assert users == ["a1_1", "a1_2", "a1_3"]
    assert graph.args["O1"] == ["h1_1", "h1_2", "h1_3"]
    assert graph.args["a1_2"] == ["x_2", "h1_1", "W1", "R1"]


def test_the_reverse_direction_starts_after_the_last_step():
    spec = case_spec("lstm", "tanh", True, True, seed=2)
    graph = graph_of(spec)
    assert graph["h1_rev_4"]["group"] == "t = 3" and graph["c1_rev_4"]["group"] == "t = 3"
    assert graph.args["a1_rev_2"][:2] == ["x_2", "h1_rev_3"]
    assert graph.args["O1"] == ["h1_1", "h1_2", "h1_3", "h1_rev_1", "h1_rev_2", "h1_rev_3"]
    assert graph["O1"]["value"].shape == (3, 4)
    assert [v for _, v, _ in graph.out_edges("W1_rev")] == ["a1_rev_3", "a1_rev_2", "a1_rev_1"]


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_two_directional_steps_run_left_to_right_the_reverse_state_pointing_back(kind):
    """Each step's box holds both directions; s_{t+1} → step t is laid out left to right and
    drawn pointing back (dir=back), so the boxes stay in time order however the states run."""
    import re
    from graphviz_nn.render.dot import to_dot
    from graphviz_nn.render.layout import layout
    graph = graph_of(case_spec(kind, "tanh", True, True, seed=2))
    drawing = to_dot(graph)
    boxes = {}
    for obj in layout(drawing.source).json["objects"]:
        if obj["name"].startswith("cluster_"):
            title = re.sub(r"<[^>]+>", "", obj["label"]).strip()
            boxes[title] = [float(c) for c in obj["bb"].split(",")]
    assert boxes["t = 1"][2] < boxes["t = 2"][0] and boxes["t = 2"][2] < boxes["t = 3"][0]
    back = re.findall(r"(n\d+) -> (e\d+):w \[[^]]*dir=back", drawing.source)
    names = {v: k for k, v in drawing.node_ids.items()}
    assert sorted(names[n] for n, _ in back) == ["a1_rev_1", "a1_rev_2"] + (["c1_rev_1", "c1_rev_2"] if kind == "lstm" else [])


NETS = Path(__file__).parent.parent / "examples" / "nets"


def laid_out(example, detail=False):
    """An example's unrolled layer view as dot lays it out: the picture's size, each step's box,
    each shared weight's box (points, y up)."""
    from graphviz_nn.render.dot import to_dot
    from graphviz_nn.render.layout import layout
    spec = load_spec(str(NETS / example))
    graph = graph_of(spec, detail=detail)
    drawing = to_dot(graph)
    ids = {graph.label(n): i for n, i in drawing.node_ids.items()}
    objects = layout(drawing.source).json["objects"]
    size = [float(c) for c in layout(drawing.source).json["bb"].split(",")][2:]
    steps, nodes = {}, {}
    for obj in objects:
        if obj["name"].startswith("cluster_"):
            steps[re.sub(r"<[^>]+>", "", obj["label"]).strip()] = [float(c) for c in obj["bb"].split(",")]
        elif "pos" in obj:
            x, y = (float(c) for c in obj["pos"].split(","))
            w, h = float(obj["width"]) * 36, float(obj["height"]) * 36      # half, in points
            nodes[obj["name"]] = [x - w, y - h, x + w, y + h]
    weights = {name: nodes[i] for name, i in ids.items() if re.fullmatch(r"[WRb]1(_rev)?", name)}
    return size, [steps[t] for t in sorted(steps)], weights


UNROLLED = [("48_rnn.toml", False), ("50_bidirectional_rnn.toml", False), ("52_lstm.toml", False),
            ("52_lstm.toml", True), ("52_gru.toml", False), ("52_gru.toml", True)]


@pytest.mark.parametrize("example, detail", UNROLLED)
def test_the_steps_stand_in_one_row_not_a_staircase(example, detail):
    """The boxes' vertical centres within a fifth of the lowest box's height of each other (they
    climbed by up to two box heights when the weights' long edges pulled them apart)."""
    _, steps, _ = laid_out(example, detail)
    centres = [(box[1] + box[3]) / 2 for box in steps]
    lowest = min(box[3] - box[1] for box in steps)
    assert max(centres) - min(centres) < lowest / 5, centres


@pytest.mark.parametrize("example, detail", UNROLLED)
def test_the_shared_weights_stand_before_the_steps_outside_the_boxes(example, detail):
    """Drawn once at the start, their edges into every step (BPTT's copy rule): each weight's box
    is outside every step's box, and begins before the second step does."""
    _, steps, weights = laid_out(example, detail)
    assert len(weights) >= 2
    for name, box in weights.items():
        assert not any(box[0] < s[2] and s[0] < box[2] and box[1] < s[3] and s[1] < box[3] for s in steps), name
        assert box[0] < steps[1][0], name


@pytest.mark.parametrize("example, widest", [("48_rnn.toml", 2.6), ("50_bidirectional_rnn.toml", 2.2),
                                             ("52_gru.toml", 3.2)])
def test_the_unrolled_picture_is_no_wider_than_it_was_made(example, widest):
    """Width over height, a slide's 16:9 being 1.78: exercise 48 was 3.0, the two-directional net 1.6
    but 1256 points tall, the GRU 2.8 at 2228 points wide; now 2.4, 1.9 (912 tall), 2.9 (2106 wide)."""
    (width, height), _, _ = laid_out(example)
    assert width / height < widest
    assert width < {"48_rnn.toml": 1500, "50_bidirectional_rnn.toml": 1850, "52_gru.toml": 2200}[example]


@pytest.mark.parametrize("kind, gates", [("lstm", "ifgoch"), ("gru", "rznh")])
def test_expand_draws_the_gates_as_nodes(kind, gates):
    spec = case_spec(kind, "tanh", False, True, seed=1)
    compact, detailed = graph_of(spec), graph_of(spec, detail=True)
    for t in (1, 2, 3):
        assert all(f"{letter}1_{t}" in detailed.node_attrs for letter in gates)
        assert all(detailed[f"{letter}1_{t}"]["group"] == f"t = {t}" for letter in gates)
    assert "i1_1" not in compact.node_attrs and "r1_1" not in compact.node_attrs
    assert len(detailed.gates()) > len(compact.gates())


def test_the_neuron_view_unrolls_every_layer_and_puts_each_weight_on_an_edge_of_every_step():
    spec = case_spec("rnn", "tanh", False, True, seed=3, units=2, d=1, after=("linear", "relu"))
    graph = annotated(spec)
    assert graph.is_scalar()
    for t in (1, 2, 3):
        for name in (f"x_{t}_1", f"a1_{t}_1", f"h1_{t}_2", f"H2_{t}_1", f"O2_{t}_1"):
            assert graph[name]["group"] == f"t = {t}", name
    for weight in ("W1[1,2]", "R1[2,1]", "b1[2]", "W2[1,1]", "b2[1]"):
        carrying = [e for e in graph.edge_attrs.values() if e.get("weight_name") == weight]
        assert len(carrying) == 3, weight         # one edge per step: their gradients add up
    assert [n for n in graph.args["L"] if n.startswith("O2")] == ["O2_1_1", "O2_2_1", "O2_3_1"]


def annotated(spec):
    from graphviz_nn.network.build import annotate_weights
    graph = graph_of(spec, "neurons")
    annotate_weights(graph)
    return graph


# ---- captions: backpropagation through time as the copy rule ----------------------------------------------

def captions_of(doc, view="layers", detail=False):
    run = run_network(parse_spec(doc, "net.toml"), view, detail=detail)
    p = run.passes[0]
    return [p.captions[i] for i in range(len(p.steps))]


def test_the_copy_step_of_a_weight_writes_out_the_sum_over_the_steps():
    captions = captions_of(EXERCISE_48)
    r1 = next(c for c in captions if c.startswith("BPTT · R1"))
    assert ("∂L/∂R1 = Σₜ h1_t−1ᵀ·dₜ = h1_0ᵀ·d₁ + h1_1ᵀ·d₂ + h1_2ᵀ·d₃ = [[0]] + [[0]] + [[0]] = [[0]], "
            "with dₜ = ∂L/∂a1_t") in r1
    w1 = next(c for c in captions if c.startswith("BPTT · W1"))
    assert "∂L/∂W1 = Σₜ x_tᵀ·dₜ = x_1ᵀ·d₁ + x_2ᵀ·d₂ + x_3ᵀ·d₃ = [[0]] + [[0.4167]] + [[0]] = [[0.4167]]" in w1


def test_the_captions_of_a_step_say_what_it_sends_back_in_time():
    captions = captions_of(EXERCISE_48)
    assert "initial state h1_0 = [0]" in captions[0] and "target y" in captions[0]
    step2 = next(c for c in captions if c.startswith("backward · step 2"))
    assert "∂L/∂W1 += x_2ᵀ·d = [[0.4167]]" in step2 and "∂L/∂R1 += h1_1ᵀ·d = [[0]]" in step2
    assert "back through time ∂L/∂h1_1 gets d·R1ᵀ = [0.2083]" in step2
    state = next(c for c in captions if c.startswith("copy adds · h1_2"))
    assert "a1_3: d·R1ᵀ (back through time)" in state and "O1: row 2 of d" in state
    assert "∂L/∂h1_2 = [0] + [0.4167] = [0.4167]" in state
    step1 = next(c for c in captions if c.startswith("backward · step 1"))
    assert "h1_0 is data: no gradient" in step1


def test_the_gate_captions_of_lstm_and_gru():
    lstm = captions_of(recurrent_doc("lstm", 1, units=1, d=1))
    assert any(c.startswith("forward · c1_2 = f⊙c1_1 + i⊙g with i = σ(a1_2[i]) = ") for c in lstm)
    assert any("(the cell path: d is only multiplied by f)" in c for c in lstm)
    expanded = captions_of(recurrent_doc("lstm", 1, units=1, d=1), detail=True)
    assert any(c.startswith("forward · f1_2 = σ(a1_2[f]) = ") and "forget gate" in c for c in expanded)
    assert any(c.startswith("backward · LSTM cell") and "along the cell path" in c for c in expanded)
    gru = captions_of(recurrent_doc("gru", 1, units=1, d=1))
    assert any(c.startswith("forward · h1_2 = (1 − z)⊙n + z⊙h1_1 with r = σ(ax1_2[r] + ah1_2[r]) = ") for c in gru)
    assert any(c.startswith("BPTT · R1") and "Σₜ h1_t−1ᵀ·dₜ" in c and "dₜ = ∂L/∂ah1_t" in c for c in gru)
    neurons = captions_of(recurrent_doc("rnn", 1, units=1, d=1), "neurons")
    assert any("∂L/∂R1[1,1] += h1_1_1·d" in c for c in neurons)


# ---- the spec's mistakes, one error line each -------------------------------------------------------------

def error_of(doc) -> str:
    with pytest.raises(UserError) as info:
        parse_spec(doc, "net.toml")
    return "\n".join(info.value.lines())


def with_layer(**changes):
    doc = json.loads(json.dumps(EXERCISE_48))
    doc["layer"][0].update(changes)
    for key, value in list(changes.items()):
        if value is None:
            del doc["layer"][0][key]
    return doc


@pytest.mark.parametrize("changes, words", [
    ({"W": [[0.5, 0.5]]}, "key units: says 1 but W1 (1×2) is for 2 units (units columns)"),
    ({"W": [[0.5, 0.5]], "units": None}, "key R: R1 is 1×1 but with 2 units (from W1) it must be 2×2"),
    ({"type": "lstm", "activation": None, "W": [[0.5, 0.5, 0.5]], "R": [[0.5]]},
     "W1 has 3 columns, but a lstm layer's W has 4·units columns, the gate blocks i, f, g, o side by side"),
    ({"W": [[0.5], [0.5]]}, "key W: W1 is 2×1 but its input X is 3×1: W1 needs 1 rows"),
    ({"R": [[0.5, 0.5]]}, "key R: R1 is 1×2 but with 1 unit (from W1) it must be 1×1"),
    ({"R": None}, "key R: missing key: give R1 too (W and R go together)"),
    ({"units": 2}, "key units: says 2 but W1 (1×1) is for 1 unit"),
    ({"W": None, "R": None, "units": None}, "key W: missing key: give W1 and R1, or units = … with init"),
    ({"W": None, "R": None}, "key init: missing key: how to fill W1 and R1"),
    ({"init": "zeros"}, "key init: give W and R, or units with init, not both"),
    ({"activation": "sigmoid"}, "key activation: unknown activation of an rnn 'sigmoid'"),
    ({"type": "gru", "activation": "tanh", "W": [[1, 1, 1]], "R": [[1, 1, 1]]}, "key activation: unknown key"),
    ({"c0": 1}, "key c0: unknown key"),
    ({"W_rev": [[1]]}, "key W_rev: applies to a two-directional layer"),
    ({"bidirectional": "yes"}, "key bidirectional: must be true or false"),
    ({"bidirectional": True}, "key W_rev: missing key: give W1_rev too"),
    ({"h0": [1, 2]}, "key h0: h0 is 2 but needs 1 entry, one per unit"),
    ({"bias": None, "b": [1, 2]}, "key b: b1 is 2 but needs 1 entry"),
    ({"b": [1]}, "key bias: give b, or bias = true/false/number, not both"),
])
def test_a_bad_recurrent_layer_names_the_layer_and_the_key(changes, words):
    message = error_of(with_layer(**changes))
    assert words in message and "net.toml: [[layer]] 1" in message


@pytest.mark.parametrize("doc, words", [
    ({**EXERCISE_48, "train": {"lr": 0.1, "order": [1, 2]}},
     "[train], key order: a recurrent network reads one sequence, whose rows are time steps"),
    ({**EXERCISE_48, "layer": EXERCISE_48["layer"][:2] + [{"type": "batchnorm"}]},
     "[[layer]] 3 (batchnorm), key type: batchnorm normalises each column over the rows, but with a recurrent "
     "layer the rows are the time steps"),
    ({**EXERCISE_48, "layer": EXERCISE_48["layer"][:1] + [{"type": "relu"}]},
     "[[layer]] 2 (relu), key type: O1 is the rnn layer's output, already through its activation"),
    ({**EXERCISE_48, "layer": EXERCISE_48["layer"][:1] + [{"type": "dropout"}, {"type": "prelu"}]},
     "O1 is the rnn layer's output, already through its activation: a prelu cannot follow it"),
    ({**EXERCISE_48, "data": {"X": [[0], [1], [-1]], "y": [[1], [2]]}},
     "y is 2×1 but the network's output O2 is 3×1"),
])
def test_a_recurrent_network_refuses_what_would_mix_its_time_steps(doc, words):
    assert words in error_of(doc)


RNN_SPEC = """
[data]
X = [[0], [1], [-1]]
y = [[1], [-1], [2]]

[[layer]]
type = "{kind}"
units = 1
init = "constant"
value = 0.5
{extra}

[[layer]]
type = "linear"
W = [[0.5]]

[loss]
type = "mse"
{train}
"""


@pytest.mark.parametrize("kind, extra, train, words", [
    ("rnn", 'activation = "softmax"', "", "unknown activation of an rnn 'softmax'"),
    ("lstm", "c0 = [1, 2]", "", "key c0: c0 is 2 but needs 1 entry"),
    ("gru", "", "[train]\nlr = 0.1\norder = [2, 1]", "[train], key order: a recurrent network reads one sequence"),
    ("rnn", "h0 = [[1], [2]]", "", "[[layer]] 1 (rnn), key h0: h0 is 2×1 but needs 1 entry"),
    ("gru", "W_rev = [[1, 1, 1]]", "", "applies to a two-directional layer"),
])
def test_the_command_line_says_it_in_one_error_line(kind, extra, train, words, nngraph, tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(RNN_SPEC.format(kind=kind, extra=extra, train=train))
    status, _, err = nngraph(spec, "--no-render")
    assert status == 2 and words in err.splitlines()[0]


def test_the_neuron_view_refuses_a_long_sequence(nngraph, tmp_path):
    doc = recurrent_doc("rnn", 1, units=1, d=1, T=9)
    spec = tmp_path / "long.toml"
    spec.write_text(toml_of(doc))
    status, _, err = nngraph(spec, "--view", "neurons", "--no-render")
    assert status == 2 and "the sequence has 9 time steps; the neuron view unrolls at most 8" in err
    assert "hint: use --view layers" in err
    assert nngraph(spec, "--no-render").status == 0


def toml_of(doc: dict) -> str:
    """A spec written as TOML (the few shapes these tests use)."""
    def value(v):
        return json.dumps(v)
    lines = []
    for key in ("data",):
        lines += [f"[{key}]"] + [f"{k} = {value(v)}" for k, v in doc[key].items()]
    for layer in doc["layer"]:
        lines += ["[[layer]]"] + [f"{k} = {value(v)}" for k, v in layer.items()]
    for key in ("loss", "train"):
        if key in doc:
            lines += [f"[{key}]"] + [f"{k} = {value(v)}" for k, v in doc[key].items()]
    return "\n".join(lines) + "\n"


# ---- the command line: JSON, --expand, plots -------------------------------------------------------------

def test_json_keys_gradients_and_parameters_by_wk_rk_bk(nngraph, tmp_path):
    doc = recurrent_doc("lstm", 2, bidirectional=True, train={"lr": 0.1, "steps": 2, "optimizer": "momentum"})
    spec = tmp_path / "net.toml"
    spec.write_text(toml_of(doc))
    status, out, _ = nngraph(spec, "--json")
    assert status == 0
    document = json.loads(out)
    layer = document["network"]["layers"][0]
    assert layer["type"] == "lstm" and layer["units"] == 2 and layer["bidirectional"] is True
    assert layer["params"] == ["W1", "R1", "b1", "W1_rev", "R1_rev", "b1_rev"] and layer["width"] == 4
    names = ["X", "W1", "R1", "b1", "W1_rev", "R1_rev", "b1_rev", "W2", "b2"]
    for step in document["steps"]:
        assert list(step["gradients"]) == names and list(step["params_after"]) == names[1:]
        assert np.shape(step["gradients"]["R1_rev"]) == (2, 8) and np.shape(step["gradients"]["X"]) == (3, 2)
    nodes = {n["id"] for n in document["steps"][0]["nodes"]}
    assert {"x_1", "a1_1", "c1_1", "h1_1", "a1_rev_3", "h1_rev_4", "O1"} <= nodes


def test_expand_draws_recurrent_cells_and_is_refused_without_them(nngraph, tmp_path):
    spec = tmp_path / "gru.toml"
    spec.write_text(toml_of(recurrent_doc("gru", 3, units=1, d=1)))
    status, out, _ = nngraph(spec, "--expand", "--json")
    assert status == 0
    nodes = {n["id"]: n["op"] for n in json.loads(out)["steps"][0]["nodes"]}
    assert nodes["r1_2"] == "gate" and nodes["n1_2"] == "gru_candidate" and nodes["h1_2"] == "gru_mix"
    plain = tmp_path / "plain.toml"
    plain.write_text(toml_of({"data": {"X": [[1]], "y": [[1]]}, "layer": [{"type": "linear", "W": [[1]]}],
                              "loss": {"type": "mse"}}))
    status, _, err = nngraph(plain, "--expand", "--no-render")
    assert status == 2 and "--expand draws recurrent cells" in err and "not to network specs" in err


def test_the_terminal_describes_the_layer_and_the_time_steps(nngraph, tmp_path):
    spec = tmp_path / "48.toml"
    spec.write_text(toml_of({**EXERCISE_48, "train": {"lr": 0.5, "steps": 20}}))
    status, out, _ = nngraph(spec, "--no-render", "--draw", "1")
    assert status == 0
    assert "O1 = rnn(X; W1 1×1, R1 1×1) (relu, 1 unit, 3 steps) → H2 = O1·W2 (1×1)" in out
    assert "the whole sequence (3 time steps)" in out and "── step 1 of 20 · time steps 1–3 ──" in out
    assert "step 7 · time steps 1–3 · L = " in out


@pytest.mark.parametrize("kind, files", [("lstm", {"state_gradients", "gates"}), ("rnn", {"state_gradients"})])
def test_plots_show_the_gradient_over_time_and_the_gates(kind, files, tmp_path):
    from graphviz_nn.network.plots import write_plots
    spec = parse_spec(recurrent_doc(kind, 1, bidirectional=True, train={"lr": 0.1, "steps": 3}), "net.toml")
    run = run_network(spec, draw="1")
    written = {p.stem for p in write_plots(run, tmp_path)}
    assert files <= written and ("gates" in written) == ("gates" in files)
    record = run.passes[0].sequence
    assert list(record) == ["O1", "O1_rev"] and len(record["O1"]["norms"]) == 3
    assert record["O1"]["state"] == "h1_t" and record["O1_rev"]["state"] == "h1_rev_t"
    if kind == "lstm":
        assert list(record["O1"]["gates"]) == list(CELLS["lstm"].gates)
        assert all(np.all((g > 0) & (g < 1)) for letter, g in record["O1"]["gates"].items() if letter != "g")
