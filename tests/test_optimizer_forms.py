"""Optimizer conventions of the collection: Nesterov's textbook look-ahead form, and ε = 0."""
from __future__ import annotations

import numpy as np
import pytest

from graphviz_nn.network.run import run_network
from graphviz_nn.network.spec import parse_spec
from graphviz_nn.errors import UserError


def regression(train: dict) -> dict:
    """y = w·x on (1, 2), (2, 3), w0 = 0, mean squared error: the collection's exercise 15."""
    return {"data": {"X": [[1], [2]], "y": [2, 3]}, "layer": [{"type": "linear", "W": [[0]]}],
            "loss": {"type": "mse"}, "train": {"lr": 0.1, "steps": 4, **train}}


def trajectory(train: dict) -> list[float]:
    run = run_network(parse_spec(regression(train), "net.toml"))
    return [float(p.params_after["W1"][0, 0]) for p in run.passes]


def gradient(w: float) -> float:
    """d/dw of ((w − 2)² + (2w − 3)²)/2, by hand."""
    return (w - 2) + 2 * (2 * w - 3)


def test_lookahead_nesterov_takes_the_gradient_at_the_look_ahead_point():
    w, v, expected = 0.0, 0.0, []
    for _ in range(4):
        g = gradient(w - 0.9 * v)
        v = 0.9 * v + 0.1 * g
        w = w - v
        expected.append(w)
    got = trajectory({"optimizer": "nesterov", "beta": 0.9, "form": "lookahead"})
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_the_default_nesterov_form_is_pytorchs():
    w, v, expected = 0.0, 0.0, []
    for _ in range(4):
        g = gradient(w)
        v = 0.9 * v + g
        w = w - 0.1 * (g + 0.9 * v)
        expected.append(w)
    np.testing.assert_allclose(trajectory({"optimizer": "nesterov", "beta": 0.9}), expected, rtol=1e-12)


def test_the_lookahead_update_caption_names_the_point():
    run = run_network(parse_spec(regression({"optimizer": "nesterov", "form": "lookahead"}), "net.toml"))
    second = run.passes[1]
    text = [c for c, s in zip(second.captions, second.steps) if s.phase == "update"][0]
    assert "at the look-ahead W1̃ = " in text and "W1̃ = W1 − β·v" in text
    # the drawn pass is the look-ahead point, where the gradient was taken
    np.testing.assert_allclose(second.graph["W1"]["value"], 0.8 + 0.9 * 0.8)


def test_form_is_checked():
    with pytest.raises(UserError, match="form"):
        parse_spec(regression({"optimizer": "adam", "form": "lookahead"}), "net.toml")


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_eps_zero_is_accepted_and_matches_pytorch(optimizer):
    torch = pytest.importorskip("torch")
    got = trajectory({"optimizer": optimizer, "eps": 0})
    w = torch.zeros(1, 1, requires_grad=True)
    make = {"rmsprop": lambda: torch.optim.RMSprop([w], lr=0.1, alpha=0.9, eps=0.0),
            "adam": lambda: torch.optim.Adam([w], lr=0.1, eps=0.0)}[optimizer]
    opt, X, y, expected = make(), torch.tensor([[1.0], [2.0]]), torch.tensor([[2.0], [3.0]]), []
    for _ in range(4):
        opt.zero_grad()
        torch.mean((X @ w - y) ** 2).backward()
        opt.step()
        expected.append(float(w.detach()))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_pytorchs_w_is_the_textbooks_next_look_ahead_point():
    """What docs/networks.md says of the two forms: W_t (PyTorch) = W_t − β·v_t (textbook)."""
    lookahead = run_network(parse_spec(regression({"optimizer": "nesterov", "form": "lookahead"}), "n.toml"))
    pytorch = trajectory({"optimizer": "nesterov"})
    points = [float(p.graph["W1"]["value"][0, 0]) for p in lookahead.passes[1:]]
    np.testing.assert_allclose(points, pytorch[:-1], rtol=1e-12)


def test_nan_made_by_the_last_update_is_numeric_trouble(nngraph, tmp_path):
    """ε = 0 with a zero gradient: 0/0 in the update itself, after the last picture was drawn."""
    spec = tmp_path / "eps0.toml"
    spec.write_text('[data]\nX = [[1]]\ny = [1]\n[[layer]]\ntype = "linear"\nW = [[1]]\n[loss]\n'
                    'type = "mse"\n[train]\nlr = 0.1\nsteps = 1\noptimizer = "rmsprop"\neps = 0\n')
    status, _, err = nngraph(spec, "--no-render")
    assert status == 1 and "step 1: W1 is nan after the update" in err
