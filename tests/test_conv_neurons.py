"""Issue 13, exercise 43: a conv layer in the neuron view is a dense layer with the missing
connections gone and its weights tied. Every neuron's value and gradient is the layer view's entry
(and PyTorch's), a tied weight's gradient is the sum of its edges' shares and the caption says so,
the edges of one kernel entry share a colour, pools are neurons over their windows, flatten draws
nothing, the view is refused above its bound, and every format is written."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from graphviz_nn import engine
from graphviz_nn.network import build
from graphviz_nn.network.build import (annotate_weights, build_graph, layer_program, neuron_gradients,
                                       neuron_program, neuron_values)
from graphviz_nn.network.run import run_network, run_spec
from graphviz_nn.network.spec import parse_spec
from graphviz_nn.render.dot import TIE_COLOURS, to_dot
from test_conv_spec import spatial_stack, toml_of

torch = pytest.importorskip("torch")
F = torch.nn.functional

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "nets" / "43_conv_as_dense.toml"
X43 = np.array([[1, 2, 0], [0, 1, 3], [2, 1, 1]], dtype=float)
K43 = np.array([[1, -1], [0.5, 2]])
Y43 = np.array([4, 1, 1, 2], dtype=float)

RNG = np.random.default_rng(43)
IMAGES = RNG.normal(size=(2, 2, 4, 4)).round(2)        # two images of two channels
K1 = RNG.normal(size=(2, 2, 2, 2)).round(2)            # two filters: padding 1, stride 2 → 2×3×3
B1 = np.array([0.1, -0.2])
K2 = RNG.normal(size=(2, 2, 1, 2)).round(2)
W3 = RNG.normal(size=(4, 2)).round(2)


def cnn_doc(steps: int = 1) -> dict:
    """Every spatial layer type (test_conv_spec's stack) on images small enough for the neuron view."""
    return spatial_stack((IMAGES, K1, B1, K2, W3), steps=steps)


@pytest.fixture
def roomy(monkeypatch):
    """The bound raised: the cnn above draws 165 edges over 2 layers of 18 cells … within it, but
    its 32-pixel input is over the 25 a picture holds."""
    monkeypatch.setattr(build, "NEURON_VIEW_MAX_CELLS", 100)


def both_views(spec):
    layers = build_graph(layer_program(spec, spec.X, spec.y, spec.params), spec.title)
    engine.run(layers)
    neurons = build_graph(neuron_program(spec, spec.X, spec.y, spec.params), spec.title)
    engine.run(neurons)
    annotate_weights(neurons)
    return layers, neurons


# ---- the numbers ---------------------------------------------------------------------------------

def test_exercise_43_every_neuron_is_the_layer_views_entry_and_pytorchs():
    spec = run_spec(str(EXAMPLE)).spec
    layers, neurons = both_views(spec)
    conv = spec.layers[0]
    assert np.array_equal(neuron_values(neurons, conv), layers["H1"]["value"].reshape(1, -1))
    assert np.array_equal(neuron_values(neurons, conv, "grad"), layers["H1"]["grad"].reshape(1, -1))
    assert np.array_equal(neuron_values(neurons, spec.layers[1]), layers["F1"]["value"])     # flatten: H1's cells
    grads = neuron_gradients(neurons, spec, spec.params)
    assert np.array_equal(grads["X"], layers["X"]["grad"]) and np.array_equal(grads["K1"], layers["K1"]["grad"])
    x = torch.tensor(X43[None, None], requires_grad=True)
    k = torch.tensor(K43[None, None], requires_grad=True)
    h = F.conv2d(x, k).flatten(1)
    loss = 0.5 * ((h - torch.tensor(Y43)) ** 2).sum()
    loss.backward()
    assert neuron_values(neurons, conv).tolist() == h.detach().numpy().tolist()
    assert neurons["L"]["value"] == loss.item() == 34.25
    assert grads["X"].tolist() == x.grad.numpy().tolist() and grads["K1"].tolist() == k.grad.numpy().tolist()


def test_every_layer_type_agrees_with_the_layer_view_value_by_value(roomy):
    """Each neuron of every layer, its gradient, ∂L/∂X and every parameter's gradient."""
    spec = parse_spec(cnn_doc(), "net.toml")
    layers, neurons = both_views(spec)
    for layer in spec.layers:
        rows = lambda a: np.reshape(a, (len(spec.X), -1))
        np.testing.assert_allclose(neuron_values(neurons, layer), rows(layers[layer.name]["value"]),
                                   rtol=1e-12, atol=1e-15, err_msg=layer.name)
        np.testing.assert_allclose(neuron_values(neurons, layer, "grad"), rows(layers[layer.name]["grad"]),
                                   rtol=1e-12, atol=1e-15, err_msg=layer.name)
    grads = neuron_gradients(neurons, spec, spec.params)
    for name in ["X", *spec.params]:
        assert grads[name].shape == layers[name]["grad"].shape
        np.testing.assert_allclose(grads[name], layers[name]["grad"], rtol=1e-12, atol=1e-15, err_msg=name)


def test_training_in_the_neuron_view_agrees_with_pytorch(roomy):
    run = run_network(parse_spec(cnn_doc(steps=2), "net.toml"), "neurons", draw="all")
    leaves = [torch.tensor(a, requires_grad=True) for a in (IMAGES, K1, B1, K2, W3)]
    x, k1, b1, k2, w3 = leaves
    y = torch.tensor([[0.5, -1.0], [1.0, 0.25]], dtype=torch.float64)
    sgd = torch.optim.SGD([k1, b1, k2, w3], lr=0.1)
    for p in run.passes:
        sgd.zero_grad()
        x.grad = None
        o2 = torch.tanh(F.conv2d(F.max_pool2d(torch.relu(F.conv2d(x, k1, b1, stride=2, padding=1)), 2, stride=1), k2))
        out = F.avg_pool2d(o2, 1).flatten(1) @ w3
        loss = F.mse_loss(out, y)
        loss.backward()
        assert p.loss == pytest.approx(loss.item(), rel=1e-12) and p.output == pytest.approx(out.detach().numpy())
        for name, leaf in zip(["X", "K1", "b1", "K2", "W3"], leaves):
            assert p.gradients[name] == pytest.approx(leaf.grad.numpy(), rel=1e-10, abs=1e-13), name
        sgd.step()
        for name, leaf in zip(["K1", "b1", "K2", "W3"], leaves[1:]):
            assert p.params_after[name] == pytest.approx(leaf.detach().numpy(), rel=1e-10, abs=1e-13), name


def test_padding_and_cells_no_window_reads_are_not_neurons():
    """Padded zeros add nothing: a corner cell of a padded conv has fewer edges. A stride that
    skips a row and a column leaves pixels unread: not drawn, their gradient 0."""
    padded = parse_spec({"data": {"X": X43.tolist()}, "layer": [{"type": "conv2d", "K": K43.tolist(), "padding": 1}]},
                        "p.toml")
    graph = both_views(padded)[1]
    assert graph.args["H1_1"] == ["x1"] and len(graph.args["H1_6"]) == 4 and len(graph.args["H1_16"]) == 1
    skipped = parse_spec({"data": {"X": np.arange(16.0).reshape(4, 4).tolist()},
                          "layer": [{"type": "conv2d", "K": [[1.0]], "stride": 3}]}, "s.toml")
    layers, neurons = both_views(skipped)
    assert sorted(n for n in neurons.order if n.startswith("x")) == ["x1", "x13", "x16", "x4"]
    grads = neuron_gradients(neurons, skipped, skipped.params)
    assert np.array_equal(grads["X"], layers["X"]["grad"]) and grads["X"].sum() == 4


# ---- tied weights --------------------------------------------------------------------------------

def tied_groups(graph) -> dict[str, list]:
    groups: dict[str, list] = {}
    for edge, attrs in graph.edge_attrs.items():
        if "tie" in attrs:
            groups.setdefault(attrs["weight_name"], []).append(edge)
    return groups


def test_a_tied_weights_gradient_is_the_sum_of_its_edges_shares(roomy):
    spec = parse_spec(cnn_doc(), "net.toml")
    graph = both_views(spec)[1]
    grads = neuron_gradients(graph, spec, spec.params)
    groups = tied_groups(graph)
    names = {f"K1[{f},{c},{i},{j}]" for f in (1, 2) for c in (1, 2) for i in (1, 2) for j in (1, 2)}
    assert names | {"b1[1]", "b1[2]"} | {n for n in groups if n.startswith("K2")} == set(groups)
    for name, edges in groups.items():
        param, index = name[:name.index("[")], build.entry_index(name)
        shares = [graph.edge(*e)["weight_grad"] for e in edges]
        for (u, v, _), share in zip(edges, shares):      # each edge's share: its signal times its neuron's d
            assert share == pytest.approx(float(np.sum(graph[u]["value"] * graph[v]["grad"])))
        assert sum(shares) == pytest.approx(grads[param][index], rel=1e-12, abs=1e-15), name
    assert len(groups["b1[1]"]) == 9 and len(groups["K1[1,1,1,1]"]) == 4     # padding: only 4 windows reach it


def test_the_caption_adds_each_kernel_entrys_edges_with_the_numbers():
    run = run_spec(str(EXAMPLE), view="neurons")
    p = run.passes[0]
    text = "\n".join(p.captions[i] for i in range(len(p.captions)))
    found = re.findall(r"∂L/∂(K1\[1,1,\d,\d\]) \((\w+)\) = Σ over its 4 edges = ([^;]*?) = (-?[\d.]+)", text)
    assert len(found) == 4
    for name, colour, terms, total in found:
        index = build.entry_index(name)
        shares = [float(t.strip("()")) for t in terms.split(" + ")]
        assert sum(shares) == float(total) == p.gradients["K1"][index]
        assert colour == TIE_COLOURS[index[2] * 2 + index[3]][0]
    assert "∂L/∂K1[1,1,2,2] (teal) = Σ over its 4 edges = (-3) + 22.5 + 1 + (-1.5) = 19" in text
    assert "tied weights, one colour each: K1[1,1,1,1] blue, K1[1,1,1,2] orange, K1[1,1,2,1] purple, " \
           "K1[1,1,2,2] teal" in text
    assert "∂L/∂K1[1,1,1,1] += x5·d = -1.5" in text          # each position adds its share


def edge_colours(graph) -> dict[tuple, set[str]]:
    """The colour each edge is drawn in (both halves of it, through its label node)."""
    drawing = to_dot(graph)
    colours: dict[tuple, set[str]] = {}
    for edge, index in drawing.edge_index.items():
        for line in drawing.source.splitlines():
            if f'id="t{index}"' in line or f'id="h{index}"' in line:
                found = re.search(r'color="(#[0-9a-f]{6})"', line)
                colours.setdefault(edge, set()).add(found.group(1) if found else None)
    return colours


def test_the_edges_of_one_kernel_entry_share_a_colour_and_different_entries_differ(roomy):
    for spec in (run_spec(str(EXAMPLE)).spec, parse_spec(cnn_doc(), "net.toml")):
        graph = both_views(spec)[1]
        colours = edge_colours(graph)
        groups = tied_groups(graph)
        by_entry = {}
        for name, edges in groups.items():
            seen = set().union(*(colours[e] for e in edges))
            assert len(seen) == 1 and None not in seen, name
            by_entry[name] = seen.pop()
        names = sorted(by_entry, key=build.tie_order)
        window = min(len(TIE_COLOURS), len(names))
        for start in range(0, len(names) - window + 1):     # any run of entries as long as the palette
            assert len({by_entry[n] for n in names[start:start + window]}) == window
        untied = [e for e in colours if e not in {e for edges in groups.values() for e in edges}]
        assert untied and all(colours[e] == {None} for e in untied)      # the rest: the theme's grey


def test_pixels_cells_and_weights_are_columns_in_row_major_order():
    """x1 … x9 top to bottom, H1_1 … H1_4, and between them each neuron's four weights together,
    in its window's order: the edges into one neuron do not cross."""
    graph = both_views(run_spec(str(EXAMPLE)).spec)[1]
    drawing = to_dot(graph)
    ids = {n: f"n{i}" for i, n in enumerate(graph.order)}
    columns = re.findall(r"\{rank=same; ([^\[]*) \[style=invis\];\}", drawing.source)
    labels = [f"e{drawing.edge_index[e]}" for j in range(1, 5) for e in graph.in_edges(f"H1_{j}")]
    assert sorted(columns) == sorted([" -> ".join(ids[f"x{i}"] for i in range(1, 10)),
                                      " -> ".join(ids[f"H1_{j}"] for j in range(1, 5)), " -> ".join(labels)])
    assert [graph.edge(*e)["weight_name"] for e in graph.in_edges("H1_4")] == \
        ["K1[1,1,1,1]", "K1[1,1,1,2]", "K1[1,1,2,1]", "K1[1,1,2,2]"]


# ---- pools and flatten ---------------------------------------------------------------------------

def test_pools_are_neurons_over_their_windows_and_flatten_draws_nothing(roomy):
    spec = parse_spec(cnn_doc(), "net.toml")
    graph = both_views(spec)[1]
    assert graph["P1_1"]["op"] == "max" and graph.args["P1_1"] == ["O1_1", "O1_2", "O1_4", "O1_5"]
    assert graph["P2_1"]["op"] == "window_mean" and graph.args["P2_1"] == ["O2_1"]
    assert not any(n.startswith("F2") for n in graph.order)
    assert graph.args["H3_1"][:4] == ["P2_1", "P2_2", "P2_3", "P2_4"]          # the dense layer reads P2's cells
    p = run_network(spec, "neurons").passes[0]
    text = "\n".join(p.captions[i] for i in range(len(p.captions)))
    assert "forward · max pool, one neuron per window: P1_1 = max(O1_1, O1_2, O1_4, O1_5)" in text
    assert "backward · max pool routes: for each observation P1_1's d" in text
    assert "backward · average pool distributes: each of the 1 cells of P2_1's window gets d/1" in text


def test_average_pool_neurons_give_each_cell_its_share():
    doc = {"data": {"X": X43.tolist()}, "layer": [{"type": "avgpool", "size": 2, "stride": 1}]}
    spec = parse_spec(doc, "a.toml")
    layers, neurons = both_views(spec)
    assert neuron_values(neurons, spec.layers[0]).tolist() == [[1, 1.5, 1, 1.5]]
    assert np.array_equal(neuron_gradients(neurons, spec, {})["X"], layers["X"]["grad"])
    p = run_network(spec, "neurons").passes[0]
    text = "\n".join(p.captions[i] for i in range(len(p.captions)))
    assert "P0_1 = (x1 + x2 + x4 + x5)/4 = (1 + 2 + 0 + 1)/4 = 1" in text
    assert "each of the 4 cells of P0_4's window gets d/4 = 0.25" in text


# ---- the bound -----------------------------------------------------------------------------------

def test_the_neuron_view_is_refused_above_its_bound_with_one_error_line(nngraph, tmp_path):
    padded = {"data": {"X": np.ones((5, 5)).tolist(), "y": [[0.0] * 25]},
              "layer": [{"type": "conv2d", "K": np.ones((3, 3)).tolist(), "padding": 1}, {"type": "flatten"}],
              "loss": {"type": "mse"}}
    assert build.neuron_view_edges(parse_spec(padded, "p.toml")) == 169 + 50      # 4·4 + 12·6 + 9·9, the loss
    wide = {"data": {"X": np.ones((2, 4, 4)).tolist()}, "layer": [{"type": "conv2d", "K": np.ones((1, 2, 3, 3)).tolist()}]}
    for doc, words in ((padded, "the neuron view would draw 219 edges; it stays legible up to 200"),
                       (wide, "X has 32 cells: the neuron view draws at most 25 per layer legibly")):
        spec = tmp_path / "big.toml"
        spec.write_text(toml_of(doc))
        status, _, err = nngraph(spec, "--view", "neurons", "--no-render")
        lines = err.splitlines()
        assert status == 2 and lines[0] == f"error: {words}"
        assert lines[1:] == ["hint: use --view layers, which draws one node per matrix (or --view grid: the maps "
                             "as number grids)"]


# ---- every format --------------------------------------------------------------------------------

def test_every_format_the_player_and_a_worksheet_are_written(nngraph, tmp_path):
    out = tmp_path / "out"
    status, _, err = nngraph("-o", out, "--format", "svg,png,pdf", "--worksheet", "all", EXAMPLE, "--view", "neurons")
    assert status == 0, err
    frames = len(list((out / "frames").glob("*.svg")))
    assert frames > 10 and frames == len(list((out / "frames").glob("*.png"))) == len(list((out / "frames").glob("*.pdf")))
    assert Image.open(out / "backprop.gif").n_frames > 3 and Image.open(out / "graph.png").size[0] > 600
    for name in ("graph.pdf", "worksheet.pdf", "key.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "K1[1,1,2,2] = 2" in page and page.count("#12a3a3") >= 4        # teal: K1[1,1,2,2]'s four edges
    assert "K1[1,1,2,2]" in (out / "worksheet.svg").read_text(encoding="utf-8")
    assert (out / "answers.txt").read_text(encoding="utf-8").startswith("(1) ")


def test_the_json_lists_every_edges_kernel_entry(nngraph):
    status, out, err = nngraph(EXAMPLE, "--view", "neurons", "--json", "--no-render")
    assert status == 0, err
    doc = json.loads(out)
    step = doc["steps"][0]
    weights = step["weights"]
    assert len(weights) == 16 and {w["param"] for w in weights} == {"K1"}
    by_entry: dict[str, float] = {}
    for w in weights:
        by_entry[w["name"]] = by_entry.get(w["name"], 0.0) + w["grad"]
    assert by_entry == {"K1[1,1,1,1]": 10.5, "K1[1,1,1,2]": -9.5, "K1[1,1,2,1]": 8, "K1[1,1,2,2]": 19}
    assert step["gradients"]["K1"] == [[[[10.5, -9.5], [8, 19]]]]
    assert np.shape(step["gradients"]["X"]) == (1, 1, 3, 3) and step["loss"] == 34.25


@pytest.mark.parametrize("name, parameters", [("43_conv_as_dense.toml", ["K1"]),
                                              ("25_relu_regression.toml", ["W1", "W2"])])
def test_the_neuron_views_last_caption_lists_the_parameters_gradients(nngraph, tmp_path, name, parameters):
    """The weights are edges in the neuron view: the caption under the finished picture gives
    ∂L/∂ of each parameter (the layer view's numbers), not of the input pixels."""
    spec = Path(__file__).parent.parent / "examples" / "nets" / name
    status, out, err = nngraph(spec, "--view", "neurons", "--no-frames", "--no-gif", "-o", tmp_path / "out",
                               "--json")
    assert status == 0, err
    gradients = json.loads(out)["steps"][0]["gradients"]
    svg = next((tmp_path / "out").rglob("graph.svg")).read_text()
    summary = re.findall(r">(L = [^<]*)<", svg)[-1]
    for p in parameters:
        assert f"∂L/∂{p} = " in summary
    assert "∂L/∂x1" not in summary and set(parameters) <= set(gradients)
