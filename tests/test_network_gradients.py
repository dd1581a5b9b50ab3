"""Network gradients: finite differences, the neuron view against the layer view, and PyTorch."""
import numpy as np
import pytest

from graphviz_nn import engine
from graphviz_nn.explain.gradcheck import numeric_gradient
from graphviz_nn.network.run import run_network
from graphviz_nn.network.spec import ACTIVATIONS, LOSS_TYPES, parse_spec
from graphviz_nn.network.build import (build_graph, layer_program, neuron_gradients,
                                       neuron_program, neuron_values, annotate_weights)

LAST_LAYER = {"logloss": "sigmoid", "softmax_ce": "softmax"}


def random_doc(seed, hidden, loss, rows=3, bias=True, outputs=2, reduction=None):
    """d=2 → linear(3) → hidden → linear(outputs) → last activation → loss, random numbers."""
    rng = np.random.default_rng(seed)
    last = LAST_LAYER.get(loss, "tanh" if seed % 2 else "identity")
    layers = [{"type": "linear", "W": rng.normal(size=(2, 3)).tolist()},
              {"type": hidden, **({"slope": 0.1} if hidden == "leaky_relu" else {})},
              {"type": "linear", "W": rng.normal(size=(3, outputs)).tolist()},
              {"type": last}]
    if bias:
        layers[0]["b"] = rng.normal(size=3).tolist()
        layers[2]["b"] = rng.normal(size=outputs).tolist()
    doc = {"data": {"X": rng.normal(size=(rows, 2)).tolist()}, "layer": layers}
    if loss:
        doc["loss"] = {"type": loss, **({"reduction": reduction} if reduction else {})}
        doc["data"]["y"] = targets(rng, loss, rows, outputs)
    return doc


def targets(rng, loss, rows, outputs):
    if loss == "softmax_ce":
        return rng.integers(1, outputs + 1, size=rows).tolist()
    if loss == "logloss":
        return rng.uniform(size=(rows, outputs)).tolist()
    return rng.normal(size=(rows, outputs)).tolist()


def layer_graph(spec):
    graph = build_graph(layer_program(spec, spec.X, spec.y, spec.params), spec.title)
    engine.run(graph)
    return graph


def neuron_graph(spec):
    graph = build_graph(neuron_program(spec, spec.X, spec.y, spec.params), spec.title)
    engine.run(graph)
    annotate_weights(graph)
    return graph


CASES = [(hidden, loss) for hidden in ACTIVATIONS for loss in LOSS_TYPES + (None,)]


@pytest.mark.parametrize("hidden, loss", CASES)
def test_every_gradient_matches_finite_differences(hidden, loss):
    spec = parse_spec(random_doc(len(CASES[0]) + CASES.index((hidden, loss)), hidden, loss), "random.toml")
    graph = layer_graph(spec)
    seed = graph[graph.output]["grad"]
    assert set(graph.variables()) == {"X", "W1", "b1", "W2", "b2"}
    for name in graph.variables():
        numeric = numeric_gradient(graph, name, seed)
        np.testing.assert_allclose(graph[name]["grad"], numeric, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("loss", ["logloss", "softmax_ce"])
def test_sum_reduction_is_n_times_the_mean(loss):
    mean = layer_graph(parse_spec(random_doc(3, "tanh", loss, reduction="mean"), "a.toml"))
    total = layer_graph(parse_spec(random_doc(3, "tanh", loss, reduction="sum"), "a.toml"))
    n = 3 if loss == "softmax_ce" else 3 * 2
    assert total["L"]["value"] == pytest.approx(n * mean["L"]["value"])
    np.testing.assert_allclose(total["W1"]["grad"], n * mean["W1"]["grad"])


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("hidden, loss", [(h, l) for h in ACTIVATIONS for l in ("half_mse", "softmax_ce", None)])
def test_neuron_view_agrees_with_layer_view_entry_by_entry(hidden, loss, rows):
    spec = parse_spec(random_doc(rows * 7, hidden, loss, rows=rows, bias=hidden != "relu"), "random.toml")
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
    if loss:
        assert neurons["L"]["value"] == pytest.approx(layers["L"]["value"], rel=1e-12)


def test_neuron_view_is_a_scalar_graph_for_one_observation():
    spec = parse_spec(random_doc(5, "sigmoid", "half_sse", rows=1), "random.toml")
    graph = neuron_graph(spec)
    assert graph.is_scalar()
    weighted = [e for v in graph.gates() for e in graph.in_edges(v) if "weight" in graph.edge(*e)]
    assert len(weighted) == (2 + 1) * 3 + (3 + 1) * 2     # one edge per weight, the bias from a constant 1
    assert {graph.label(u) for u, v, k in weighted if graph[u]["kind"] == "const"} == {"1"}


def test_fast_path_gives_the_numbers_of_the_graph():
    doc = random_doc(11, "leaky_relu", "mse") | {"train": {"lr": 0.1, "steps": 3, "optimizer": "adam"}}
    spec = parse_spec(doc, "random.toml")
    drawn = run_network(spec, draw="1-3,last").passes
    fast = run_network(spec, draw="last").passes
    assert [p.drawn for p in fast] == [False, False, True]
    for d, f in zip(drawn[:2], fast[:2]):
        np.testing.assert_array_equal(f.output, d.output)
        assert f.loss == d.loss
        for name, grad in d.gradients.items():
            np.testing.assert_array_equal(f.gradients[name], grad)


# ---- PyTorch, an independent oracle ----------------------------------------------------------------

def torch_forward(torch, spec, params, X, y, data=None):
    """The spec's network in torch: every layer type, the dropout masks of `data` (default: step 1's)."""
    F = torch.nn.functional
    data = spec.data(1) if data is None else data
    h = X
    for layer in spec.layers:
        k = layer.index
        if layer.type == "linear":
            h = h @ params[f"W{k}"] + (params[f"b{k}"] if layer.bias else 0)
        elif layer.type == "prelu":
            h = F.prelu(h, params[f"a{k}"])
        elif layer.type == "batchnorm":
            h = F.batch_norm(h, None, None, params[f"gamma{k}"], params[f"beta{k}"], training=True, eps=1e-5)
        elif layer.type == "dropout":
            h = h * torch.tensor(data[f"M{k}"], dtype=torch.float64) / (1 - layer.p)
        else:
            h = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                 "leaky_relu": lambda t: F.leaky_relu(t, layer.p), "softmax": lambda t: torch.softmax(t, -1),
                 "step": lambda t: t * 0 + (t > 0).double(), "identity": lambda t: t,
                 "softplus": F.softplus, "swish": F.silu, "mish": F.mish, "elu": F.elu,
                 "gelu": F.gelu}[layer.type](h)
    if spec.loss is None:
        return h.sum()
    return torch_loss(torch, spec.loss, h, y)


def torch_loss(torch, loss, yhat, y):
    F = torch.nn.functional
    if loss.type == "softmax_ce":
        return F.nll_loss(torch.log(yhat), y.argmax(dim=1), reduction=loss.reduction)
    if loss.type == "logloss":
        return F.binary_cross_entropy(yhat, y, reduction=loss.reduction)
    factor = {"half_sse": 0.5, "sse": 1.0, "mse": 1.0, "half_mse": 0.5}[loss.type]
    return factor * F.mse_loss(yhat, y, reduction="mean" if "mse" in loss.type else "sum")


def torch_tensors(torch, spec):
    params = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in spec.params.items()}
    X = torch.tensor(spec.X, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(spec.y, dtype=torch.float64) if spec.y is not None else None
    return params, X, y


@pytest.mark.slow
@pytest.mark.parametrize("hidden, loss", CASES)
def test_gradients_match_pytorch(hidden, loss):
    torch = pytest.importorskip("torch")
    spec = parse_spec(random_doc(100 + CASES.index((hidden, loss)), hidden, loss), "random.toml")
    graph = layer_graph(spec)
    params, X, y = torch_tensors(torch, spec)
    value = torch_forward(torch, spec, params, X, y)
    value.backward()
    if loss:
        assert graph["L"]["value"] == pytest.approx(value.item(), rel=1e-10)
    for name, tensor in {"X": X, **params}.items():
        np.testing.assert_allclose(graph[name]["grad"], tensor.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer, options", [
    ("sgd", {}), ("momentum", {"beta": 0.8}), ("nesterov", {"beta": 0.7}),
    ("rmsprop", {"beta": 0.9, "eps": 1e-6}), ("adam", {"beta1": 0.8, "beta2": 0.95, "eps": 1e-7}),
])
@pytest.mark.parametrize("order", [None, [2, 3, 1]])
def test_training_matches_pytorch_optimizers(optimizer, options, order):
    torch = pytest.importorskip("torch")
    doc = random_doc(7, "tanh", "half_mse")
    doc["train"] = {"lr": 0.05, "steps": 6, "optimizer": optimizer, **options, **({"order": order} if order else {})}
    spec = parse_spec(doc, "random.toml")
    run = run_network(spec, draw="1-3,last")
    params, X, y = torch_tensors(torch, spec)
    reference = torch_optimizer(torch, optimizer, options, list(params.values()), 0.05)
    for p in run.passes:
        reference.zero_grad()
        rows = [r - 1 for r in p.rows]
        loss = torch_forward(torch, spec, params, X[rows], y[rows])
        assert p.loss == pytest.approx(loss.item(), rel=1e-10)
        loss.backward()
        reference.step()
        for name, tensor in params.items():
            np.testing.assert_allclose(p.params_after[name], tensor.detach().numpy(), rtol=1e-9, atol=1e-12)


def torch_optimizer(torch, name, options, params, lr):
    """PyTorch's optimizer of that name, with the spec's options."""
    optim = torch.optim
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name in ("momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=options["beta"], nesterov=name == "nesterov")
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, alpha=options["beta"], eps=options["eps"])
    return optim.Adam(params, lr=lr, betas=(options["beta1"], options["beta2"]), eps=options["eps"])
