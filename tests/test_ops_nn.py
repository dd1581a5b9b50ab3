"""The neural-network primitives (activations, prelu, axis reductions, var, indexing, batchnorm):
every value and every input's VJP against central finite differences here, and against PyTorch
in the slow tests; shape() against the shape forward gives; the scalar path; batchnorm expanded."""
from __future__ import annotations

import numpy as np
import pytest

from graphviz_nn import engine
from graphviz_nn.errors import UserError
from graphviz_nn.ops import FUNCTIONS, OPS, SATURATES, key_text
from graphviz_nn.trace.builder import GraphBuilder

ACTIVATIONS = ("softplus", "swish", "mish", "elu", "gelu", "leaky_relu")
REDUCTIONS = ("sum", "mean", "max", "min", "var")
MATRIX_AXES = (None, 0, 1, -1, -2)
VECTOR_AXES = (None, 0, -1)


def rng(seed=0):
    return np.random.default_rng(seed)


def signed_matrix(seed=0, shape=(4, 5), zeros=False):
    """Both signs, away from 0 (finite differences straddle no kink) unless zeros are asked for."""
    x = rng(seed).normal(0, 2, shape)
    x = np.where(np.abs(x) < 0.05, 0.5, x)
    if zeros:
        x.flat[::3] = 0.0
    return x


def vjp(op, xs, p, g):
    return OPS[op].vjp(g, OPS[op].forward(xs, p), xs, p)


def central_differences(op, xs, p, g, h=1e-6):
    """∂(Σ g·f)/∂ each entry of each input, by central differences."""
    grads = []
    for k, x in enumerate(xs):
        x = np.asarray(x, dtype=float)
        grad = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            step = h * max(1.0, abs(x[i]))
            ends = []
            for sign in (1, -1):
                moved = x.copy()
                moved[i] += sign * step
                ends.append(np.sum(g * OPS[op].forward([*xs[:k], moved, *xs[k + 1:]], p)))
            grad[i] = (ends[0] - ends[1]) / (2 * step)
        grads.append(grad)
    return grads


def assert_vjp_matches_differences(op, xs, p=None, seed=1):
    out = OPS[op].forward(xs, p)
    g = rng(seed).normal(size=np.shape(out))
    for k, (analytic, numeric) in enumerate(zip(vjp(op, xs, p, g), central_differences(op, xs, p, g))):
        assert np.shape(analytic) == np.shape(xs[k]), (op, k)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7, err_msg=f"{op} input {k}, p={p}")


def run_gate(op, values, p=None):
    """The gate over inputs x0, x1, … through the builder and the one evaluator: value, gradients."""
    builder = GraphBuilder()
    ids = [builder.variable(f"x{k}", v) for k, v in enumerate(values)]
    graph = builder.finish(builder.apply(op, ids, p))
    engine.run(graph)
    return graph[graph.output]["value"], [graph[f"x{k}"]["grad"] for k in range(len(values))]


# ---- the registry ------------------------------------------------------------------------------

def test_the_new_functions_are_callable_in_formulas_and_index_is_not():
    assert set(ACTIVATIONS) | set(REDUCTIONS) | {"prelu", "batchnorm"} <= set(FUNCTIONS)
    assert "index" in OPS and "index" not in FUNCTIONS


@pytest.mark.parametrize("op", [*ACTIVATIONS, "prelu", "batchnorm", "index", *REDUCTIONS])
def test_every_new_op_writes_one_local_derivative_per_input(op):
    p = (0,) if op == "index" else None
    arity = OPS[op].arity or 1
    names = ["x", "a", "b"][:arity]
    assert len(OPS[op].local_text(names, "f", p)) == arity
    assert OPS[op].symbol(p) and OPS[op].text(names, p)


def top_level_sum(text: str) -> bool:
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and text[i:i + 3] in (" + ", " − "):
            return True
    return False


@pytest.mark.parametrize("op", [*ACTIVATIONS, "prelu", "var"])
def test_a_local_derivative_reads_right_inside_a_product(op):
    """--explain multiplies them along a path (a·b·…): a sum must come in brackets."""
    texts = OPS[op].local_text(["x", "a"], "f", None)
    assert not any(top_level_sum(t) for t in texts), texts


def test_parameters_say_what_a_call_may_add():
    assert OPS["leaky_relu"].parameters() == 0.01 and OPS["leaky_relu"].parameters(0.2) == 0.2
    for op in ("sum", "mean", "max", "min", "var"):
        assert OPS[op].parameters() is None and OPS[op].parameters(axis=-1) == -1
        with pytest.raises(TypeError):
            OPS[op].parameters(1)           # the axis is a keyword
    for op in ("softplus", "prelu", "batchnorm", "index"):
        assert OPS[op].parameters is None


def test_texts_show_the_axis_the_slope_and_the_key():
    assert OPS["sum"].text(["X"], 0) == "sum(X, axis=0)" and OPS["sum"].text(["X"], None) == "sum(X)"
    assert OPS["max"].symbol(-1) == "max axis=-1" and OPS["mean"].symbol(None) == "mean"
    assert OPS["leaky_relu"].text(["x"], 0.2) == "leaky_relu(x, 0.2)"
    assert OPS["leaky_relu"].text(["x"], None) == "leaky_relu(x, 0.01)"
    assert OPS["index"].text(["X"], (1, slice(None))) == "X[1, :]"
    assert OPS["index"].symbol((slice(None), 0)) == "[:, 0]"
    assert OPS["softplus"].local_text(["x"], "f", None) == ["σ(x)"]


@pytest.mark.parametrize("key, text", [((1, 2), "[1, 2]"), ((slice(None), 0), "[:, 0]"), ((-1,), "[-1]"),
                                       ((slice(0, 2),), "[0:2]"), ((slice(None, None, -1),), "[::-1]"),
                                       ((slice(1, None), slice(None, 3, 2)), "[1:, :3:2]")])
def test_key_text_writes_the_key_as_python(key, text):
    X = np.arange(20.0).reshape(4, 5)
    assert key_text(key) == text
    assert np.array_equal(eval("X" + text, {"X": X}), X[key])      # our own text, read back


def test_the_saturating_activations_say_so():
    assert OPS["softplus"].trouble == SATURATES and OPS["elu"].trouble == SATURATES


# ---- activations -------------------------------------------------------------------------------

EXTREMES = np.array([-745.0, -50.0, -30.0, -1.5, 1.5, 19.0, 21.0, 50.0, 1000.0])


@pytest.mark.parametrize("op", ACTIVATIONS)
@pytest.mark.parametrize("seed", range(3))
def test_activation_vjps_match_finite_differences(op, seed):
    assert_vjp_matches_differences(op, [signed_matrix(seed)], 0.2 if op == "leaky_relu" else None)


@pytest.mark.parametrize("op", ACTIVATIONS)
def test_activations_stay_finite_far_out(op):
    with np.errstate(over="raise", divide="raise", invalid="raise"):      # underflow to 0 is fine
        out = OPS[op].forward([EXTREMES], None)
        (grad,) = vjp(op, [EXTREMES], None, np.ones(EXTREMES.shape))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(out[-2:], EXTREMES[-2:], rtol=1e-12)       # x itself far above 0
    np.testing.assert_allclose(grad[-2:], 1.0, rtol=1e-12)


def test_known_values():
    forward = lambda op, x, p=None: float(OPS[op].forward([x], p))
    assert forward("softplus", 0.0) == pytest.approx(np.log(2))
    assert forward("swish", 1.0) == pytest.approx(1 / (1 + np.exp(-1)))
    assert forward("elu", -1.0) == pytest.approx(np.exp(-1) - 1)
    assert forward("gelu", 1.0) == pytest.approx(0.8413447460685429)        # Φ(1)
    assert forward("mish", 1.0) == pytest.approx(np.tanh(np.log1p(np.e)))
    assert forward("leaky_relu", -2.0) == -0.02 and forward("leaky_relu", -2.0, 0.2) == -0.4


@pytest.mark.parametrize("op, p, slope", [("leaky_relu", None, 0.01), ("leaky_relu", 0.2, 0.2), ("elu", None, 1.0)])
def test_derivative_at_zero_is_the_convention(op, p, slope):
    """leaky_relu'(0) is its leak (PyTorch's); elu (α = 1) has slope 1 on both sides of 0."""
    (grad,) = vjp(op, [np.array([0.0])], p, np.ones(1))
    assert grad[0] == slope
    assert bool(OPS[op].kink and OPS[op].kink(None, [np.array([0.0])], p)) == (op == "leaky_relu")


@pytest.mark.parametrize("op", [*ACTIVATIONS, "prelu"])
def test_the_scalar_path_gives_the_array_paths_numbers(op):
    """Python floats (engine's scalar loops) and 1-element arrays: the same value and gradients."""
    values = [-0.7, 0.3] if op == "prelu" else [-0.7]
    value, grads = run_gate(op, values, 0.2 if op == "leaky_relu" else None)
    array_value, array_grads = run_gate(op, [np.array([v]) for v in values], 0.2 if op == "leaky_relu" else None)
    assert float(value) == float(array_value[0])
    for g, a in zip(grads, array_grads):
        assert float(g) == float(a[0])


# ---- prelu -------------------------------------------------------------------------------------

SLOPE_SHAPES = [(), (1,), (5,), (1, 5)]


@pytest.mark.parametrize("shape", SLOPE_SHAPES)
def test_prelu_vjps_match_finite_differences(shape):
    a = rng(7).uniform(-0.5, 0.5, shape)
    assert_vjp_matches_differences("prelu", [signed_matrix(3), a])


def test_prelu_at_zero_takes_a_as_pytorch():
    x, a = np.array([[0.0, 0.0]]), np.array([0.25, -0.5])
    dx, da = vjp("prelu", [x, a], None, np.ones((1, 2)))
    np.testing.assert_array_equal(dx, [[0.25, -0.5]])
    np.testing.assert_array_equal(da, [0.0, 0.0])
    assert OPS["prelu"].kink(None, [x, a], None)


# ---- reductions --------------------------------------------------------------------------------

def reduction_cases():
    for op in REDUCTIONS:
        for axis in MATRIX_AXES:
            yield op, (4, 5), axis
        for axis in VECTOR_AXES:
            yield op, (6,), axis


@pytest.mark.parametrize("op, shape, axis", list(reduction_cases()))
def test_reduction_vjps_match_finite_differences(op, shape, axis):
    assert_vjp_matches_differences(op, [signed_matrix(4, shape)], axis)


@pytest.mark.parametrize("op, shape, axis", list(reduction_cases()))
def test_reductions_agree_with_numpy(op, shape, axis):
    x = signed_matrix(5, shape)
    expected = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "var": np.var}[op](x, axis=axis)
    np.testing.assert_allclose(OPS[op].forward([x], axis), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_a_tie_sends_the_gradient_to_the_first_holder(op, axis):
    x = np.array([[1.0, 3.0, 3.0], [3.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    x = x if op == "max" else -x
    out = OPS[op].forward([x], axis)
    (grad,) = vjp(op, [x], axis, np.ones(np.shape(out)))
    first = {0: [[0, 1, 1], [1, 0, 0], [0, 0, 0]], 1: [[0, 1, 0], [1, 0, 0], [1, 0, 0]],
             None: [[0, 1, 0], [0, 0, 0], [0, 0, 0]]}[axis]
    np.testing.assert_array_equal(grad, first)
    assert OPS[op].kink(out, [x], axis)
    assert not OPS[op].kink(OPS[op].forward([signed_matrix()], axis), [signed_matrix()], axis)


def test_max_of_several_arguments_stays_pairwise_and_refuses_an_axis():
    a, b = np.array([1.0, 5.0]), np.array([4.0, 2.0])
    np.testing.assert_array_equal(OPS["max"].forward([a, b], None), [4.0, 5.0])
    for run in (lambda: OPS["max"].forward([a, b], 0), lambda: OPS["max"].shape([(2,), (2,)], 0)):
        with pytest.raises(ValueError, match="axis= reduces one argument"):
            run()


@pytest.mark.parametrize("op", REDUCTIONS)
def test_an_axis_of_a_number_is_a_clear_error(op):
    with pytest.raises(ValueError, match="needs a vector or a matrix"):
        OPS[op].forward([2.0], 0)
    with pytest.raises(UserError, match="needs a vector or a matrix"):
        run_gate(op, [2.0], 0)
    assert float(OPS[op].forward([2.0], None)) == (0.0 if op == "var" else 2.0)


@pytest.mark.parametrize("op", REDUCTIONS)
def test_an_axis_the_input_does_not_have_is_refused(op):
    with pytest.raises(ValueError, match=r"axis=2 is out of range: a 4×5 matrix has axes 0 to 1"):
        OPS[op].forward([signed_matrix()], 2)
    with pytest.raises(ValueError, match=r"axis=-2 is out of range: a vector of 6 has only axis 0"):
        OPS[op].shape([(6,)], -2)


def test_var_is_the_population_variance():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(OPS["var"].forward([x], 0), [1.0, 4.0])
    assert float(OPS["var"].forward([x], None)) == np.var(x)


# ---- indexing ----------------------------------------------------------------------------------

KEYS = [(1, 2), (slice(None), 0), (slice(0, 2),), (-1,), (1,), (slice(None, None, -1),),
        (slice(1, None), slice(None, None, 2)), (slice(3, 10),), (slice(10, 20),), (-4, -5)]


@pytest.mark.parametrize("key", KEYS, ids=key_text)
def test_index_vjp_matches_finite_differences(key):
    assert_vjp_matches_differences("index", [signed_matrix(6)], key)


@pytest.mark.parametrize("key", KEYS, ids=key_text)
def test_index_is_numpys_basic_indexing_and_a_copy(key):
    x = signed_matrix(6)
    out = OPS["index"].forward([x], key)
    np.testing.assert_array_equal(out, x[key])
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("shape, key, message", [
    ((1, 3), (0, 3), "index 3 is out of range for a 1×3 row"),
    ((3,), (-4,), "index -4 is out of range for a vector of 3"),
    ((4, 5), (4,), r"index 4 is out of range for a 4×5 matrix \(axis 0 has 4\)"),
    ((3,), (0, 1), "2 indices, but a vector of 3 takes at most 1"),
    ((), (0,), "a number has no entries to index"),
    ((3,), (slice(None, None, 0),), "a slice step cannot be 0")])
def test_a_bad_index_says_what_is_wrong(shape, key, message):
    with pytest.raises(ValueError, match=message):
        OPS["index"].shape([shape], key)
    with pytest.raises(ValueError, match=message):
        OPS["index"].forward([np.zeros(shape) if shape else 0.0], key)


def test_an_indexed_entry_of_a_softmax_gets_the_gradient_through_it():
    """softmax(z)[2]: the index routes 1 to entry 2, softmax spreads it."""
    z = np.array([0.5, -1.0, 2.0])
    builder = GraphBuilder()
    s = builder.apply("softmax", [builder.variable("z", z)])
    graph = builder.finish(builder.apply("index", [s], (2,)))
    engine.run(graph)
    p = np.exp(z) / np.exp(z).sum()
    assert float(graph[graph.output]["value"]) == pytest.approx(p[2])
    np.testing.assert_allclose(graph["z"]["grad"], p[2] * (np.eye(3)[2] - p), rtol=1e-12)


# ---- batchnorm ---------------------------------------------------------------------------------

def batch(seed=8, shape=(6, 3), affine=(3,)):
    r = rng(seed)
    return [r.normal(1, 3, shape), r.uniform(0.5, 2, affine), r.normal(0, 1, affine)]


@pytest.mark.parametrize("affine", [(3,), (1, 3), (), (1,)])
def test_batchnorm_vjps_match_finite_differences(affine):
    assert_vjp_matches_differences("batchnorm", batch(affine=affine))


def test_batchnorm_normalises_each_column():
    x, gamma, beta = batch()
    out = OPS["batchnorm"].forward([x, np.ones(3), np.zeros(3)], None)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("shapes, message", [
    (((1, 3), (3,), (3,)), "needs at least 2 rows; X is a 1×3 row"),
    (((3,), (3,), (3,)), "X is a vector of 3"),
    (((), (), ()), "X is a number"),
    (((4, 3), (2,), (3,)), "γ is a number or has one entry per column of X"),
    (((4, 3), (3,), (3, 1)), "β is a number or has one entry per column of X"),
    (((4, 3), (4, 3), (3,)), "γ is a number")])
def test_batchnorm_refuses_what_pytorch_refuses(shapes, message):
    with pytest.raises(ValueError, match=message):
        OPS["batchnorm"].shape(list(shapes), None)
    with pytest.raises(ValueError, match=message):
        OPS["batchnorm"].forward([np.ones(s) for s in shapes], None)


@pytest.mark.parametrize("affine", [(3,), (1, 3)])
def test_batchnorm_expanded_gives_the_same_numbers(affine):
    """--expand draws mean, subtract, square, mean, +ε, sqrt, divide, ×γ, +β: the same forward
    value and the same gradients for X, γ and β as the one gate."""
    values = batch(affine=affine)
    graphs = {}
    for expand in (False, True):
        builder = GraphBuilder(expand=expand)
        ids = [builder.variable(name, v) for name, v in zip(("X", "gamma", "beta"), values)]
        graphs[expand] = builder.finish(builder.apply("batchnorm", ids))
        engine.run(graphs[expand], seed=rng(9).normal(size=(6, 3)))
    gate, expanded = graphs[False], graphs[True]
    ops = [expanded[n]["op"] for n in expanded.order if expanded[n]["kind"] == "op"]
    assert sorted(ops) == sorted(["mean", "sub", "powc", "mean", "shift", "sqrt", "div", "mul", "add"])
    np.testing.assert_allclose(expanded[expanded.output]["value"], gate[gate.output]["value"], rtol=1e-12, atol=1e-12)
    for name in ("X", "gamma", "beta"):
        np.testing.assert_allclose(expanded[name]["grad"], gate[name]["grad"], rtol=1e-9, atol=1e-12, err_msg=name)


# ---- shape() before any number ------------------------------------------------------------------

def shape_cases():
    """(op, input shapes, p): every op and parameter, the ones forward refuses included."""
    for op in ACTIVATIONS:
        yield op, [(4, 5)], None
        yield op, [()], None
    for a in SLOPE_SHAPES + [(4,), (5, 1), (4, 5), (2, 5)]:
        yield "prelu", [(4, 5), a], None
    yield "prelu", [(), ()], None
    yield "prelu", [(), (1,)], None
    yield "prelu", [(5,), (1, 5)], None
    for op in REDUCTIONS:
        for shape in [(4, 5), (6,), (), (0, 3)]:
            for axis in (None, 0, 1, -1, -2, 2, -3):
                yield op, [shape], axis
    yield "max", [(4, 5), (5,)], None
    yield "max", [(4, 5), (5,)], 0
    yield "min", [(0,)], None
    for key in KEYS + [(4,), (0, 5), (0, 0, 0), (slice(None, None, 0),)]:
        yield "index", [(4, 5)], key
    yield "index", [(3,)], (-3,)
    yield "index", [()], (0,)
    for shapes in [((6, 3), (3,), (3,)), ((6, 3), (1, 3), ()), ((2, 1), (1,), (1, 1)), ((1, 3), (3,), (3,)),
                   ((6, 3), (6, 3), (3,)), ((6,), (6,), (6,)), ((6, 3), (3,), (2,))]:
        yield "batchnorm", list(shapes), None


@pytest.mark.parametrize("op, shapes, p", list(shape_cases()), ids=str)
def test_shape_is_the_shape_forward_gives_or_the_same_refusal(op, shapes, p):
    xs = [rng(2).normal(size=s) if s else 0.5 for s in shapes]
    try:
        with np.errstate(all="ignore"):
            expected = np.shape(OPS[op].forward(xs, p))
    except ValueError:
        with pytest.raises(ValueError):
            OPS[op].shape(shapes, p)
        return
    rule = OPS[op].shape
    assert tuple(rule(shapes, p) if rule else np.broadcast_shapes(*shapes)) == expected


# ---- PyTorch: the same numbers -----------------------------------------------------------------

def torch_gradients(fn, xs, g):
    """fn's value and each input's gradient by torch.autograd, in float64, seeded with g."""
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*tensors)
    out.backward(torch.tensor(np.asarray(g, dtype=float), dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() if t.grad is not None else np.zeros(np.shape(t)) for t in tensors]


def assert_matches_torch(op, xs, p, fn, seed=3, rtol=1e-12):
    out = OPS[op].forward(xs, p)
    g = rng(seed).normal(size=np.shape(out))
    value, grads = torch_gradients(fn, xs, g)
    np.testing.assert_allclose(out, value, rtol=rtol, atol=1e-300, err_msg=f"{op} value")
    for k, (ours, theirs) in enumerate(zip(vjp(op, xs, p, g), grads)):
        scale = 1.0 + np.max(np.abs(theirs), initial=0.0)
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-13 * scale, err_msg=f"{op} input {k}")


def torch_activation(op, p):
    F = pytest.importorskip("torch.nn.functional")
    return {"softplus": F.softplus, "swish": F.silu, "mish": F.mish, "elu": F.elu, "gelu": F.gelu,
            "leaky_relu": lambda t: F.leaky_relu(t, 0.01 if p is None else p)}[op]


@pytest.mark.slow
@pytest.mark.parametrize("op, p", [(op, None) for op in ACTIVATIONS] + [("leaky_relu", 0.2)])
@pytest.mark.parametrize("seed", range(4))
def test_activations_match_torch(op, p, seed):
    """Both signs, zeros (the convention at a kink), the softplus threshold and far-out values."""
    x = np.concatenate([signed_matrix(seed, (30,), zeros=True), EXTREMES, [20.0, -20.0, 0.0, -0.0]])
    assert_matches_torch(op, [x], p, torch_activation(op, p), rtol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("shape", SLOPE_SHAPES)
def test_prelu_matches_torch(shape):
    """torch's weight is 1-D (one or one per channel = column): a 1×m row and a number are reshaped."""
    torch = pytest.importorskip("torch")
    x, a = signed_matrix(2, zeros=True), rng(4).uniform(-0.5, 0.5, shape)
    fn = lambda t, w: torch.nn.functional.prelu(t, w.reshape(-1))
    assert_matches_torch("prelu", [x, a], None, fn)


@pytest.mark.slow
@pytest.mark.parametrize("op, shape, axis", list(reduction_cases()))
def test_reductions_match_torch(op, shape, axis):
    torch = pytest.importorskip("torch")
    dims = {} if axis is None else {"dim": axis}
    fn = {"sum": lambda t: torch.sum(t, **dims), "mean": lambda t: torch.mean(t, **dims),
          "max": lambda t: torch.amax(t, **dims), "min": lambda t: torch.amin(t, **dims),
          "var": lambda t: torch.var(t, correction=0, **dims)}[op]
    assert_matches_torch(op, [signed_matrix(11, shape)], axis, fn, rtol=1e-11)       # no ties


@pytest.mark.slow
@pytest.mark.parametrize("key", [k for k in KEYS if not any(isinstance(s, slice) and (s.step or 1) < 0 for s in k)],
                         ids=key_text)
def test_index_matches_torch(key):
    assert_matches_torch("index", [signed_matrix(6)], key, lambda t: t[key])


@pytest.mark.slow
@pytest.mark.parametrize("affine", [(3,), (1, 3), ()])
@pytest.mark.parametrize("seed", range(3))
def test_batchnorm_matches_torch_training_mode(affine, seed):
    torch = pytest.importorskip("torch")
    row = lambda t: (t * torch.ones(3, dtype=torch.float64)).reshape(3)      # torch wants one per column
    fn = lambda x, g, b: torch.nn.functional.batch_norm(x, None, None, row(g), row(b), training=True, eps=1e-5)
    assert_matches_torch("batchnorm", batch(seed, affine=affine), None, fn, rtol=1e-10)
