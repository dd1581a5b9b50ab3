"""PyTorch as a second, independent gradient oracle: the same random expressions, the seeds'
ReLU network (exercise 25) and the softmax / sigmoid / tanh exercises, all in float64."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.slow
torch = pytest.importorskip("torch")

from graphviz_nn import trace  # noqa: E402
from random_expressions import expressions, to_source, to_torch  # noqa: E402

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


def torch_run(source_tree, values: dict, seed):
    """Value and gradients by torch autograd, for the tree at the point, seeded like ours."""
    tensors = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in values.items()}
    out = to_torch(source_tree, tensors)
    if out.requires_grad:           # not when a step() cuts every path: then all gradients are 0
        out.backward(torch.tensor(seed, dtype=torch.float64))
    grads = {n: (t.grad.numpy() if t.grad is not None else np.zeros_like(values[n]))
             for n, t in tensors.items()}
    return out.detach().numpy(), grads


def assert_matches_torch(tree, values, seed):
    ours = trace(to_source(tree), seed=seed, **values)
    value, grads = torch_run(tree, values, seed)
    np.testing.assert_allclose(ours.value, value, rtol=1e-10, atol=1e-12)
    for name, expected in grads.items():
        scale = 1.0 + np.max(np.abs(expected), initial=0.0)
        np.testing.assert_allclose(ours.grad[name], expected, rtol=1e-9, atol=1e-11 * scale,
                                   err_msg=f"∂/∂{name} of {to_source(tree)}")


@SETTINGS
@given(expressions(matrices=False))
def test_scalar_expressions_match_torch(case):
    tree, values, _, seed = case
    assert_matches_torch(tree, values, seed)


@SETTINGS
@given(expressions(matrices=True))
def test_matrix_expressions_match_torch(case):
    tree, values, _, seed = case
    assert_matches_torch(tree, values, seed)


# ---- the seeds' exercises, with torch doing the arithmetic -------------------------------------

def torch_grads(fn, **values):
    tensors = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in values.items()}
    out = fn(**tensors)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), {n: t.grad.numpy() for n, t in tensors.items()}


EXERCISE_11 = dict(X=[[1.0, 2.0], [-1.0, 2.0]], W1=[[1.0, -1.0], [0.5, 0.0]], W2=[[0.5], [1.0]])


def test_exercise_25_relu_network_forward_and_backward():
    """ŷ = max(0, X·W1)·W2 (exercise 25): every weight's gradient, as torch computes it."""
    ours = trace("relu(X@W1)@W2", **EXERCISE_11)
    value, grads = torch_grads(lambda X, W1, W2: torch.relu(X @ W1) @ W2, **EXERCISE_11)
    np.testing.assert_allclose(ours.value, value, rtol=1e-12)
    for name in ("X", "W1", "W2"):
        np.testing.assert_allclose(ours.grad[name], grads[name], rtol=1e-12, err_msg=name)


def test_exercise_25_with_a_squared_loss():
    y = [[2.0], [1.0]]
    source = "0.5 * sum((relu(X@W1)@W2 - y)**2)"
    ours = trace(source, y=y, **EXERCISE_11)
    value, grads = torch_grads(lambda X, W1, W2, y: 0.5 * torch.sum((torch.relu(X @ W1) @ W2 - y) ** 2),
                               y=y, **EXERCISE_11)
    np.testing.assert_allclose(ours.value, value, rtol=1e-12)
    for name in ("W1", "W2"):
        np.testing.assert_allclose(ours.grad[name], grads[name], rtol=1e-12, err_msg=name)


def test_exercise_25_sigmoid_output_with_logloss():
    """The second half of exercise 25: a sigmoid on the output, logloss with y = (0, 1)."""
    y = [[0.0], [1.0]]
    source = "-mean(y * log(sigmoid(relu(X@W1)@W2)) + (1 - y) * log(1 - sigmoid(relu(X@W1)@W2)))"
    ours = trace(source, y=y, **EXERCISE_11)

    def loss(X, W1, W2, y):
        p = torch.sigmoid(torch.relu(X @ W1) @ W2)
        return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))
    value, grads = torch_grads(loss, y=y, **EXERCISE_11)
    np.testing.assert_allclose(ours.value, value, rtol=1e-12)
    for name in ("W1", "W2", "X"):
        np.testing.assert_allclose(ours.grad[name], grads[name], rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("scores", [[1.0, -2.0, 0.0], [0.5, -1.0, 0.0]])
@pytest.mark.parametrize("label", [0, 2])
def test_softmax_logloss_matches_torch_cross_entropy(scores, label):
    """Exercise 13: softmax of scores and the logloss of a class."""
    onehot = np.eye(3)[label]
    ours = trace("-log(sum(softmax(s) * t))", s=scores, t=onehot)
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(s[None, :], torch.tensor([label]))
    loss.backward()
    assert float(ours.value) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(ours.grad["s"], s.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("temperature", [10.0, 1.0, 0.1])
def test_softmax_with_temperature(temperature):
    """softmax(z / T) on scores (1, 2, 5), seeded with a non-constant upstream gradient."""
    z = [1.0, 2.0, 5.0]
    seed = np.array([1.0, -2.0, 0.5])
    ours = trace("softmax(z / T)", z=z, T=temperature, seed=seed)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(temperature, dtype=torch.float64, requires_grad=True)
    out = torch.softmax(zt / tt, dim=-1)
    out.backward(torch.tensor(seed))
    np.testing.assert_allclose(ours.value, out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad["z"], zt.grad.numpy(), rtol=1e-9, atol=1e-15)
    assert float(ours.grad["T"]) == pytest.approx(tt.grad.item(), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("source, fn", [
    ("sigmoid(w0*x0 + w1*x1 + w2)", lambda w0, x0, w1, x1, w2: torch.sigmoid(w0 * x0 + w1 * x1 + w2)),
    ("tanh(w0*x0 + w1*x1 + w2)", lambda w0, x0, w1, x1, w2: torch.tanh(w0 * x0 + w1 * x1 + w2)),
    ("1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
     lambda w0, x0, w1, x1, w2: 1 / (1 + torch.exp(-(w0 * x0 + w1 * x1 + w2)))),
])
@pytest.mark.parametrize("expand", [False, True])
def test_sigmoid_and_tanh_neurons(source, fn, expand):
    """SEEDS exercise 3, drawn as one σ gate or broken into *−1, exp, +1, 1/x."""
    point = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    ours = trace(source, expand=expand, **point)
    value, grads = torch_grads(fn, **point)
    assert float(ours.value) == pytest.approx(float(value), rel=1e-12)
    for name in point:
        assert float(ours.grad[name]) == pytest.approx(float(grads[name]), rel=1e-10), name


def test_batched_sigmoid_layer_matches_torch():
    X = np.array([[1.0, 1.0], [5.0, 2.0]])
    W = np.array([[0.3, -0.2], [0.1, 0.4]])
    b = np.array([0.05, -0.1])
    ours = trace("sum(sigmoid(X@W + b) * tanh(X@W - b))", X=X, W=W, b=b)
    value, grads = torch_grads(lambda X, W, b: torch.sum(torch.sigmoid(X @ W + b) * torch.tanh(X @ W - b)),
                               X=X, W=W, b=b)
    assert float(ours.value) == pytest.approx(float(value), rel=1e-12)
    for name in ("X", "W", "b"):
        np.testing.assert_allclose(ours.grad[name], grads[name], rtol=1e-10, err_msg=name)


# ---- the layers of later chapters in network specs: prelu, batchnorm, dropout, smooth activations ----

from graphviz_nn.network.run import run_network  # noqa: E402
from graphviz_nn.network.spec import parse_spec  # noqa: E402
from test_network_gradients import layer_graph, torch_forward, torch_loss, torch_optimizer, torch_tensors  # noqa: E402
from test_network_layers import MASK, MIDDLES, stack_doc  # noqa: E402


@pytest.mark.parametrize("middle", list(MIDDLES))
def test_new_layers_match_torch(middle):
    """Every gradient (X and each parameter: ak, gammak, betak, the weights) as torch computes it."""
    spec = parse_spec(stack_doc(20 + len(middle), MIDDLES[middle]), "net.toml")
    graph = layer_graph(spec)
    params, X, y = torch_tensors(torch, spec)
    loss = torch_forward(torch, spec, params, X, y)
    loss.backward()
    assert float(graph["L"]["value"]) == pytest.approx(loss.item(), rel=1e-12)
    for name, tensor in {"X": X, **params}.items():
        np.testing.assert_allclose(graph[name]["grad"], tensor.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_prelu_alpha_gradient_is_nn_prelu_s():
    """Exercise 29's ∂L/∂α, one α per neuron: nn.PReLU(num_parameters=3), α = 0.25 to start."""
    spec = parse_spec(stack_doc(31, [{"type": "prelu"}], loss=None), "net.toml")
    ours = layer_graph(spec)
    module = torch.nn.PReLU(num_parameters=3).double()
    assert np.allclose(module.weight.detach().numpy(), spec.params["a1"])
    H1 = torch.tensor(ours["H1"]["value"], requires_grad=True)
    out = module(H1)
    out.backward(torch.tensor(ours["O1"]["grad"]))
    np.testing.assert_allclose(ours["O1"]["value"], out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours["a1"]["grad"], module.weight.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ours["H1"]["grad"], H1.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("view", ["layers", "neurons"])
def test_batchnorm_is_batchnorm1d_in_training_mode(view):
    spec = parse_spec(stack_doc(32, MIDDLES["batchnorm"]), "net.toml")
    run = run_network(spec, view)
    module = torch.nn.BatchNorm1d(3, eps=1e-5).double().train()
    with torch.no_grad():
        module.weight.copy_(torch.tensor(spec.params["gamma1"]))
        module.bias.copy_(torch.tensor(spec.params["beta1"]))
    X = torch.tensor(spec.X)
    W1, b1 = (torch.tensor(spec.params[n], requires_grad=True) for n in ("W1", "b1"))
    W2, b2 = (torch.tensor(spec.params[n]) for n in ("W2", "b2"))
    N1 = module(X @ W1 + b1)
    loss = 0.5 * torch.nn.functional.mse_loss(torch.tanh(N1 @ W2 + b2), torch.tensor(spec.y))
    loss.backward()
    p = run.passes[0]
    assert p.loss == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(p.gradients["gamma1"], module.weight.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(p.gradients["beta1"], module.bias.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(p.gradients["W1"], W1.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_dropout_is_the_mask_over_one_minus_p():
    """Backprop through dropout: torch multiplies by the same mask/(1 − p)."""
    spec = parse_spec(stack_doc(33, [{"type": "dropout", "p": 0.25, "mask": MASK}]), "net.toml")
    ours = layer_graph(spec)
    H1 = torch.tensor(ours["H1"]["value"], requires_grad=True)
    D1 = H1 * torch.tensor(MASK, dtype=torch.float64) / 0.75
    D1.backward(torch.tensor(ours["D1"]["grad"]))
    np.testing.assert_allclose(ours["D1"]["value"], D1.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours["H1"]["grad"], H1.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("view", ["layers", "neurons"])
@pytest.mark.parametrize("middle, optimizer, order", [
    ("all three", "adam", None), ("prelu", "momentum", [2, 3, 1]), ("dropout seed", "rmsprop", [3, 1]),
    ("prelu shared", "nesterov", None), ("smooth", "sgd", None),
])
def test_training_with_the_new_layers_matches_torch_optimizers(middle, optimizer, order, view):
    options = {"momentum": {"beta": 0.8}, "nesterov": {"beta": 0.7}, "rmsprop": {"beta": 0.9, "eps": 1e-6},
               "adam": {"beta1": 0.8, "beta2": 0.95, "eps": 1e-7}}.get(optimizer, {})
    train = {"lr": 0.05, "steps": 4, "optimizer": optimizer, **options, **({"order": order} if order else {})}
    spec = parse_spec(stack_doc(34, MIDDLES[middle], train=train, bias="batchnorm" not in str(MIDDLES[middle])),
                      "net.toml")
    run = run_network(spec, view, "all")
    params, X, y = torch_tensors(torch, spec)
    reference = torch_optimizer(torch, optimizer, options, list(params.values()), 0.05)
    for p in run.passes:
        reference.zero_grad()
        rows = [r - 1 for r in p.rows]
        loss = torch_forward(torch, spec, params, X[rows], y[rows], p.data)
        assert p.loss == pytest.approx(loss.item(), rel=1e-10)
        loss.backward()
        reference.step()
        for name, tensor in params.items():
            np.testing.assert_allclose(p.params_after[name], tensor.detach().numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=f"step {p.number}: {name}")


# ---- recurrent layers: torch.nn.RNN, LSTM and GRU ----------------------------------------------------------

from graphviz_nn.network import recurrent  # noqa: E402
from test_recurrent import recurrent_doc  # noqa: E402

MODULES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def torch_recurrent(spec):
    """The spec's first layer as torch.nn.RNN / LSTM / GRU: our W is weight_ih transposed, R weight_hh
    transposed, b bias_ih; bias_hh is 0 and stays 0 (our layout has one bias per gate: for the GRU
    that makes PyTorch's separate hidden bias of n zero). Returns the module and, per parameter of
    ours, the torch tensor holding it and whether it is transposed."""
    layer = spec.layers[0]
    options = {"nonlinearity": layer.option("activation")} if layer.type == "rnn" else {}
    module = getattr(torch.nn, MODULES[layer.type])(spec.X.shape[1], layer.option("units"), bias=layer.bias,
                                                    bidirectional=layer.option("bidirectional"),
                                                    **options).double()
    ours = {}
    with torch.no_grad():
        for suffix, theirs in [("", "")] + ([("_rev", "_reverse")] if layer.option("bidirectional") else []):
            ours[f"W1{suffix}"] = (getattr(module, f"weight_ih_l0{theirs}"), True)
            ours[f"R1{suffix}"] = (getattr(module, f"weight_hh_l0{theirs}"), True)
            if layer.bias:
                ours[f"b1{suffix}"] = (getattr(module, f"bias_ih_l0{theirs}"), False)
                hidden_bias = getattr(module, f"bias_hh_l0{theirs}")
                hidden_bias.zero_()
                hidden_bias.requires_grad_(False)
        for name, (tensor, transposed) in ours.items():
            value = torch.tensor(spec.params[name])
            tensor.copy_(value.T if transposed else value)
    return module, ours


def torch_sequence(torch, spec, module, tail: dict, X):
    """The whole network: the recurrent layer from h0 (c0), then linear layers and activations, the loss."""
    layer = spec.layers[0]
    h0 = torch.tensor(np.array(layer.option("h0")))
    state = (h0, torch.tensor(np.array(layer.option("c0")))) if layer.type == "lstm" else h0
    O1, _ = module(X, state)
    h = O1
    for later in spec.layers[1:]:
        if later.type == "linear":
            h = h @ tail[f"W{later.index}"] + (tail[f"b{later.index}"] if later.bias else 0)
        else:
            h = {"tanh": torch.tanh, "relu": torch.relu}[later.type](h)
    return O1, torch_loss(torch, spec.loss, h, torch.tensor(spec.y))


def our_grad(torch_param, transposed):
    return torch_param.grad.numpy().T if transposed else torch_param.grad.numpy()


RECURRENT_CASES = [("rnn", "tanh", False, True), ("rnn", "relu", False, True), ("rnn", "tanh", True, False),
                   ("rnn", "relu", True, True), ("lstm", "tanh", False, True), ("lstm", "tanh", True, True),
                   ("lstm", "tanh", False, False), ("gru", "tanh", False, True), ("gru", "tanh", True, True),
                   ("gru", "tanh", True, False)]


@pytest.mark.parametrize("kind, activation, bidirectional, bias", RECURRENT_CASES)
@pytest.mark.parametrize("view, detail", [("layers", False), ("layers", True), ("neurons", False)])
def test_recurrent_layers_match_torch(kind, activation, bidirectional, bias, view, detail):
    """Forward values (the stacked states O1, the loss) and every gradient, in each drawing."""
    small = dict(units=1, d=1) if view == "neurons" else dict(units=2, d=3, T=4)
    doc = recurrent_doc(kind, 11 + RECURRENT_CASES.index((kind, activation, bidirectional, bias)),
                        bidirectional=bidirectional, activation=activation, bias=bias,
                        after=("linear", "tanh"), **small)
    spec = parse_spec(doc, "net.toml")
    p = run_network(spec, view, detail=detail).passes[0]
    module, ours = torch_recurrent(spec)
    tail = {n: torch.tensor(v, requires_grad=True) for n, v in spec.params.items() if n not in ours}
    X = torch.tensor(spec.X, requires_grad=True)
    O1, loss = torch_sequence(torch, spec, module, tail, X)
    loss.backward()
    O1_ours = recurrent.neuron_values(p.graph, spec.layers[0], len(spec.X)) if view == "neurons" else \
        p.graph["O1"]["value"]
    np.testing.assert_allclose(O1_ours, O1.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert p.loss == pytest.approx(loss.item(), rel=1e-12)
    expected = {"X": X.grad.numpy(), **{n: our_grad(*ours[n]) for n in ours},
                **{n: t.grad.numpy() for n, t in tail.items()}}
    assert set(p.gradients) == set(expected)
    for name, grad in expected.items():
        np.testing.assert_allclose(p.gradients[name], grad, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind, bidirectional", [("rnn", True), ("lstm", False), ("gru", True)])
@pytest.mark.parametrize("optimizer, options", [
    ("sgd", {}), ("momentum", {"beta": 0.8}), ("nesterov", {"beta": 0.7}),
    ("rmsprop", {"beta": 0.9, "eps": 1e-6}), ("adam", {"beta1": 0.8, "beta2": 0.95, "eps": 1e-7}),
])
def test_recurrent_training_matches_torch_optimizers(kind, bidirectional, optimizer, options):
    """params_after of every step: the torch optimizer steps the module's weights (transposed in
    ours, which an entrywise update does not mind) and the layers after it."""
    train = {"lr": 0.05, "steps": 3, "optimizer": optimizer, **options}
    spec = parse_spec(recurrent_doc(kind, 5, bidirectional=bidirectional, train=train), "net.toml")
    run = run_network(spec, "layers", "1,3")
    module, ours = torch_recurrent(spec)
    tail = {n: torch.tensor(v, requires_grad=True) for n, v in spec.params.items() if n not in ours}
    reference = torch_optimizer(torch, optimizer, options, [t for t, _ in ours.values()] + list(tail.values()),
                                0.05)
    X = torch.tensor(spec.X)
    for p in run.passes:
        reference.zero_grad()
        _, loss = torch_sequence(torch, spec, module, tail, X)
        assert p.loss == pytest.approx(loss.item(), rel=1e-10)
        loss.backward()
        reference.step()
        for name, (tensor, transposed) in ours.items():
            value = tensor.detach().numpy()
            np.testing.assert_allclose(p.params_after[name], value.T if transposed else value, rtol=1e-9,
                                       atol=1e-12, err_msg=f"step {p.number}: {name}")
        for name, tensor in tail.items():
            np.testing.assert_allclose(p.params_after[name], tensor.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_exercise_48_is_torch_s_relu_rnn():
    spec = parse_spec({"data": {"X": [[0], [1], [-1]], "y": [[1], [-1], [2]]},
                       "layer": [{"type": "rnn", "units": 1, "activation": "relu", "W": [[0.5]], "R": [[0.5]],
                                  "bias": False}, {"type": "linear", "W": [[0.5]]}, {"type": "relu"}],
                       "loss": {"type": "mse"}}, "48.toml")
    module, ours = torch_recurrent(spec)
    W2 = torch.tensor(spec.params["W2"], requires_grad=True)
    _, loss = torch_sequence(torch, spec, module, {"W2": W2}, torch.tensor(spec.X))
    loss.backward()
    p = run_network(spec).passes[0]
    assert p.loss == pytest.approx(loss.item(), rel=1e-12) == 2.1875
    np.testing.assert_allclose(p.gradients["R1"], our_grad(*ours["R1"]), atol=1e-15)
    np.testing.assert_allclose(p.gradients["W1"], our_grad(*ours["W1"]), rtol=1e-12)
