"""Convolution, pooling and flatten (issue 13; SEEDS.md item 15, exercises 40–47): every value and
every input's VJP against a loop written from the definition and central finite differences here,
against PyTorch in the slow tests; shape() against forward; every refusal in both; the windows
the grid view draws; the formula front end end to end."""
from __future__ import annotations

import numpy as np
import pytest

import graphviz_nn as nn
from graphviz_nn.ops import ADD, FUNCTIONS, MATMUL, MAX, OPS, conv_windows, pool_windows
from graphviz_nn.ops import conv
from graphviz_nn.ops.conv import ROWS, Conv, Pool

# Exercise 40: the 5×5 image and the 3×3 kernel.
IMAGE = np.array([[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [3, 1, 2, 2, 3], [3, 1, 2, 2, 3]], dtype=float)
KERNEL = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], dtype=float)
EXERCISE_40 = ("X=[[3,3,2,1,0],[0,0,1,3,1],[3,1,2,2,3],[3,1,2,2,3],[3,1,2,2,3]]",      # as typed after --at
               "K=[[0,1,2],[2,2,0],[0,1,2]]")

# (X's shape, K's shape, stride, padding): every rank, strides 1–3, paddings 0–2, rectangular
# kernels and inputs, several channels and filters, batches.
CONV_CASES = [
    ((5, 5), (3, 3), 1, 0), ((5, 5), (3, 3), 2, 0), ((5, 5), (3, 3), 3, 0), ((5, 5), (3, 3), 1, 1),
    ((5, 5), (3, 3), 2, 2), ((6, 4), (2, 3), 1, 0), ((4, 7), (3, 1), 2, 1), ((3, 3), (3, 3), 1, 0),
    ((1, 1), (3, 3), 1, 1), ((7, 6), (1, 1), 3, 2), ((2, 5), (4, 2), 3, 1),
    ((3, 5, 4), (2, 3, 3, 2), 1, 0), ((2, 6, 6), (4, 2, 3, 3), 2, 1), ((1, 4, 5), (1, 1, 2, 2), 3, 2),
    ((3, 4, 4), (1, 3, 4, 4), 1, 0),
    ((2, 3, 5, 6), (4, 3, 3, 2), 1, 1), ((3, 2, 6, 5), (2, 2, 2, 3), 2, 0), ((1, 1, 5, 5), (1, 1, 3, 3), 3, 2),
    ((2, 1, 4, 3), (3, 1, 2, 2), 1, 2),
]
# (X's shape, size, stride): ranks 2 to 5, overlapping and gapped windows, partial windows dropped.
POOL_CASES = [
    ((4, 4), 2, 2), ((5, 5), 2, 2), ((3, 3), 2, 1), ((6, 7), 3, 2), ((5, 4), 1, 1), ((4, 6), 2, 3),
    ((3, 5), 3, 3), ((3, 4, 5), 2, 2), ((2, 6, 6), 3, 1), ((2, 3, 5, 6), 2, 2), ((2, 2, 7, 5), 3, 2),
    ((2, 1, 2, 4, 4), 2, 1),
]


def rng(seed=0):
    return np.random.default_rng(seed)


def distinct(shape, seed=0):
    """Entries in random order, at least 0.1 apart: no window holds a tie, so no kink is straddled."""
    values = rng(seed).permutation(int(np.prod(shape))) * 0.1 - 0.05 * np.prod(shape)
    return values.reshape(shape) + rng(seed + 1).uniform(-0.01, 0.01, shape)


def conv_p(stride, padding):
    return OPS["conv2d"].parameters(stride=stride, padding=padding)


def pool_p(size, stride):
    return OPS["maxpool"].parameters(size=size, stride=stride)


def vjp(op, xs, p, g):
    return OPS[op].vjp(g, OPS[op].forward(xs, p), xs, p)


def central_differences(op, xs, p, g, h=1e-6):
    """∂(Σ g·f)/∂ each entry of each input, by central differences."""
    grads = []
    for k, x in enumerate(xs):
        x = np.asarray(x, dtype=float)
        grad = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            ends = []
            for sign in (1, -1):
                moved = x.copy()
                moved[i] += sign * h
                ends.append(np.sum(g * OPS[op].forward([*xs[:k], moved, *xs[k + 1:]], p)))
            grad[i] = (ends[0] - ends[1]) / (2 * h)
        grads.append(grad)
    return grads


def assert_vjp_matches_differences(op, xs, p, seed=1):
    g = rng(seed).normal(size=np.shape(OPS[op].forward(xs, p)))
    for k, (analytic, numeric) in enumerate(zip(vjp(op, xs, p, g), central_differences(op, xs, p, g))):
        assert np.shape(analytic) == np.shape(xs[k])
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7, err_msg=f"{op} input {k}, p={p}")


def naive_conv(x, k, stride, padding):
    """The definition, one output entry at a time:
    Y[f, h, w] = Σ_{c,i,j} Xpadded[c, s·h+i, s·w+j]·K[f, c, i, j]."""
    x4, k4 = (x[None, None], k[None, None]) if x.ndim == 2 else (x[None] if x.ndim == 3 else x, k)
    xp = np.pad(x4, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = k4.shape[-2:]
    rows, cols = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    y = np.zeros((x4.shape[0], k4.shape[0], rows, cols))
    for n, f, r, c in np.ndindex(y.shape):
        y[n, f, r, c] = np.sum(xp[n, :, r * stride:r * stride + kh, c * stride:c * stride + kw] * k4[f])
    return y[0, 0] if x.ndim == 2 else y[0] if x.ndim == 3 else y


def naive_pool(x, size, stride, reduce):
    rows, cols = (x.shape[-2] - size) // stride + 1, (x.shape[-1] - size) // stride + 1
    y = np.zeros(x.shape[:-2] + (rows, cols))
    for cell in np.ndindex(y.shape):
        r, c = cell[-2:]
        y[cell] = reduce(x[cell[:-2]][r * stride:r * stride + size, c * stride:c * stride + size])
    return y


# ---- the registry ------------------------------------------------------------------------------

def test_the_four_are_formula_functions_with_their_gate_kinds():
    assert {"conv2d", "maxpool", "avgpool", "flatten"} <= set(FUNCTIONS)
    assert OPS["conv2d"].gate == MATMUL and OPS["maxpool"].gate == MAX and OPS["flatten"].gate == MAX
    assert OPS["avgpool"].gate == ADD        # a sum: its result is cleaned of float noise as sums are
    assert OPS["conv2d"].arity == 2 and OPS["maxpool"].arity == OPS["flatten"].arity == 1
    assert OPS["maxpool"].verb == "max pool routes" and OPS["avgpool"].verb == "avg pool distributes 1/k²"


def test_parameters_are_keywords_with_the_defaults_of_pytorch():
    assert OPS["conv2d"].parameters() == Conv(1, 0)
    assert OPS["conv2d"].parameters(stride=2, padding=1) == Conv(2, 1)
    assert OPS["maxpool"].parameters() == Pool(2, 2) and OPS["avgpool"].parameters(size=3) == Pool(3, 3)
    assert OPS["maxpool"].parameters(size=3, stride=1) == Pool(3, 1)
    assert OPS["flatten"].parameters is None
    for op in ("conv2d", "maxpool"):
        with pytest.raises(TypeError):
            OPS[op].parameters(2)              # keywords only
    assert nn.maxpool.__doc__.startswith("maxpool(x, size=2, stride=size)")


def test_texts_omit_the_defaults():
    conv, pool = OPS["conv2d"], OPS["maxpool"]
    assert conv.text(["X", "K"], Conv(1, 0)) == "conv2d(X, K)"
    assert conv.text(["X", "K"], Conv(2, 0)) == "conv2d(X, K, stride=2)"
    assert conv.text(["X", "K"], Conv(1, 1)) == "conv2d(X, K, padding=1)"
    assert conv.text(["X", "K"], Conv(3, 2)) == "conv2d(X, K, stride=3, padding=2)"
    assert pool.text(["a"], Pool(2, 2)) == "maxpool(a)" and pool.text(["a"], Pool(3, 3)) == "maxpool(a, size=3)"
    assert pool.text(["a"], Pool(2, 1)) == "maxpool(a, stride=1)"
    assert OPS["avgpool"].text(["a"], Pool(3, 1)) == "avgpool(a, size=3, stride=1)"
    assert OPS["flatten"].text(["H"], None) == "flatten(H)"
    assert conv.symbol(Conv(1, 0)) == "conv" and conv.symbol(Conv(2, 1)) == "conv stride=2 padding=1"
    assert pool.symbol(Pool(2, 2)) == "maxpool 2×2" and OPS["avgpool"].symbol(Pool(2, 2)) == "avgpool 2×2"
    assert OPS["avgpool"].symbol(Pool(3, 1)) == "avgpool 3×3 stride=1"
    assert OPS["flatten"].symbol(None) == "flatten"


def test_local_texts_name_the_flipped_kernel_and_the_cross_correlation():
    assert OPS["conv2d"].local_text(["X", "K"], "Y", Conv(1, 0)) == ["full(d ⋆ flip(K))", "X ⋆ d"]
    assert OPS["conv2d"].local_text(["X", "K"], "Y", Conv(2, 1)) == ["crop(full(d↑2 ⋆ flip(K)), 1)",
                                                                     "pad(X, 1) ⋆ d↑2"]
    assert OPS["avgpool"].local_text(["a"], "b", Pool(3, 3)) == ["1/9"]
    assert len(OPS["maxpool"].local_text(["a"], "b", Pool(2, 2))) == 1
    assert OPS["flatten"].local_text(["a"], "b", None) == ["d reshaped back"]


# ---- conv2d ------------------------------------------------------------------------------------

@pytest.mark.parametrize("x, k, stride, padding", CONV_CASES, ids=str)
def test_conv2d_is_the_cross_correlation_of_its_definition(x, k, stride, padding):
    X, K = rng(1).normal(size=x), rng(2).normal(size=k)
    np.testing.assert_allclose(OPS["conv2d"].forward([X, K], conv_p(stride, padding)),
                               naive_conv(X, K, stride, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x, k, stride, padding", CONV_CASES, ids=str)
def test_conv2d_vjps_match_finite_differences(x, k, stride, padding):
    assert_vjp_matches_differences("conv2d", [rng(3).normal(size=x), rng(4).normal(size=k)], conv_p(stride, padding))


@pytest.mark.parametrize("unrolled", [1, 40, 300])
@pytest.mark.parametrize("x, k, stride, padding", CONV_CASES[::2] + [((5, 2, 4, 3), (2, 2, 2, 2), 1, 0)], ids=str)
def test_conv2d_in_small_blocks_gives_the_same_numbers(x, k, stride, padding, unrolled, monkeypatch):
    """Large inputs are unrolled a block of images and rows at a time: blocks of any size agree."""
    X, K = rng(17).normal(size=x), rng(18).normal(size=k)
    p = conv_p(stride, padding)
    g = rng(19).normal(size=OPS["conv2d"].shape([x, k], p))
    whole = OPS["conv2d"].forward([X, K], p), *vjp("conv2d", [X, K], p, g)
    monkeypatch.setattr(conv, "UNROLLED", unrolled)
    for mine, expected in zip((OPS["conv2d"].forward([X, K], p), *vjp("conv2d", [X, K], p, g)), whole):
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-12)


def test_the_kernel_is_not_flipped():
    """A kernel with a single 1 picks the input cell at the same offset: cross-correlation."""
    k = np.zeros((3, 3))
    k[0, 2] = 1.0
    np.testing.assert_array_equal(OPS["conv2d"].forward([IMAGE, k], None), IMAGE[0:3, 2:5])


def test_the_shared_kernels_gradient_adds_over_every_position():
    """d = 1 everywhere: ∂/∂K[i, j] is the sum of the input cells that kernel cell met."""
    p = conv_p(1, 0)
    dx, dk = vjp("conv2d", [IMAGE, KERNEL], p, np.ones((3, 3)))
    expected = [[IMAGE[i:i + 3, j:j + 3].sum() for j in range(3)] for i in range(3)]
    np.testing.assert_array_equal(dk, expected)
    counts = naive_conv(np.ones((3, 3)), np.ones((3, 3)), 1, 2)     # how many windows hold each cell
    np.testing.assert_array_equal(vjp("conv2d", [IMAGE, np.ones((3, 3))], p, np.ones((3, 3)))[0], counts)


def test_the_cells_a_stride_skips_get_no_gradient():
    dx, _ = vjp("conv2d", [IMAGE, KERNEL], conv_p(3, 0), np.ones((1, 1)))
    assert np.all(dx[3:, :] == 0) and np.all(dx[:, 3:] == 0) and np.array_equal(dx[:3, :3], KERNEL)


# ---- pooling -----------------------------------------------------------------------------------

@pytest.mark.parametrize("op, reduce", [("maxpool", np.max), ("avgpool", np.mean)])
@pytest.mark.parametrize("shape, size, stride", POOL_CASES, ids=str)
def test_pools_are_their_definition(op, reduce, shape, size, stride):
    x = distinct(shape, 5)
    np.testing.assert_allclose(OPS[op].forward([x], pool_p(size, stride)), naive_pool(x, size, stride, reduce),
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("op", ["maxpool", "avgpool"])
@pytest.mark.parametrize("shape, size, stride", POOL_CASES, ids=str)
def test_pool_vjps_match_finite_differences(op, shape, size, stride):
    assert_vjp_matches_differences(op, [distinct(shape, 6)], pool_p(size, stride))


def test_maxpool_routes_a_tie_to_the_first_maximum_row_major_and_says_it_is_a_kink():
    x = np.array([[1.0, 5.0, 2.0, 2.0], [5.0, 0.0, 2.0, 2.0], [0.0, 0.0, 3.0, 1.0], [4.0, 4.0, 0.0, 9.0]])
    out = OPS["maxpool"].forward([x], None)
    np.testing.assert_array_equal(out, [[5, 2], [4, 9]])
    (dx,) = vjp("maxpool", [x], None, np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(dx, [[0, 1, 2, 0], [0, 0, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]])
    assert OPS["maxpool"].kink(out, [x], None)
    assert "first maximum" in OPS["maxpool"].convention and "row-major" in OPS["maxpool"].convention
    y = distinct((4, 4))
    assert not OPS["maxpool"].kink(OPS["maxpool"].forward([y], None), [y], None)


def test_overlapping_windows_add_their_gradients():
    """stride 1: the middle cell is the max of all four 2×2 windows of a 3×3 input."""
    x = np.array([[0.0, 1.0, 0.0], [1.0, 9.0, 1.0], [0.0, 1.0, 0.0]])
    (dx,) = vjp("maxpool", [x], pool_p(2, 1), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert dx[1, 1] == 10 and dx.sum() == 10
    (da,) = vjp("avgpool", [x], pool_p(2, 1), np.ones((2, 2)))
    np.testing.assert_array_equal(da, [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


def test_a_nan_in_a_window_is_its_max():
    x = np.array([[1.0, np.nan], [3.0, 2.0]])
    assert np.isnan(OPS["maxpool"].forward([x], None)[0, 0])
    np.testing.assert_array_equal(vjp("maxpool", [x], None, np.ones((1, 1)))[0], [[0, 1], [0, 0]])


# ---- flatten -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (2, 3), (3, 1), (2, 3, 4), (2, 2, 3, 2)])
def test_flatten_gives_a_row_in_row_major_order_and_the_gradient_back_in_shape(shape):
    x = rng(7).normal(size=shape)
    out = OPS["flatten"].forward([x], None)
    assert out.shape == (1, x.size) and np.array_equal(out[0], x.ravel(order="C"))
    assert not np.shares_memory(out, x)
    assert_vjp_matches_differences("flatten", [x], None)


@pytest.mark.parametrize("shape", [(2, 3), (3, 2, 4), (2, 2, 3, 2)])
def test_flatten_by_rows_keeps_the_first_axis(shape):
    x = rng(8).normal(size=shape)
    out = OPS["flatten"].forward([x], ROWS)
    np.testing.assert_array_equal(out, x.reshape(shape[0], -1))
    assert OPS["flatten"].shape([shape], ROWS) == out.shape
    assert_vjp_matches_differences("flatten", [x], ROWS)


# ---- exercise 40 -------------------------------------------------------------------------------

EXERCISE_40_STEPS = [("valid", conv_p(1, 0)), ("stride 2", conv_p(2, 0)), ("stride 3", conv_p(3, 0)),
                     ("padding 1", conv_p(1, 1))]


@pytest.mark.parametrize("name, p", EXERCISE_40_STEPS, ids=[n for n, _ in EXERCISE_40_STEPS])
def test_exercise_40_convolutions(name, p):
    out = OPS["conv2d"].forward([IMAGE, KERNEL], p)
    np.testing.assert_array_equal(out, naive_conv(IMAGE, KERNEL, *p))
    assert out.shape == {"valid": (3, 3), "stride 2": (2, 2), "stride 3": (1, 1), "padding 1": (5, 5)}[name]


def test_exercise_40_pooling_drops_the_partial_windows():
    """The valid 3×3 map, pooled 2×2: one window, the last row and column dropped."""
    feature = OPS["conv2d"].forward([IMAGE, KERNEL], None)
    assert OPS["maxpool"].forward([feature], None).tolist() == [[feature[:2, :2].max()]]
    assert OPS["avgpool"].forward([feature], None).tolist() == [[feature[:2, :2].mean()]]


# ---- PyTorch, the oracle -----------------------------------------------------------------------

def torch_gradients(fn, xs, g):
    """fn's value and each input's gradient by torch.autograd, in float64, seeded with g."""
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*tensors)
    out.backward(torch.tensor(np.asarray(g, dtype=float), dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def assert_matches_torch(op, xs, p, fn, seed=3):
    g = rng(seed).normal(size=np.shape(OPS[op].forward(xs, p)))
    value, grads = torch_gradients(fn, xs, g)
    np.testing.assert_allclose(OPS[op].forward(xs, p), value, rtol=1e-12, atol=1e-12, err_msg=op)
    for k, (mine, theirs) in enumerate(zip(vjp(op, xs, p, g), grads)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12, err_msg=f"{op} input {k}")


def torch_conv(stride, padding, rank):
    F = pytest.importorskip("torch.nn.functional")
    if rank == 2:
        return lambda x, k: F.conv2d(x[None, None], k[None, None], stride=stride, padding=padding)[0, 0]
    return lambda x, k: F.conv2d(x, k, stride=stride, padding=padding)


def torch_pool(op, size, stride, shape):
    F = pytest.importorskip("torch.nn.functional")
    pool = F.max_pool2d if op == "maxpool" else F.avg_pool2d
    spatial = tuple((n - size) // stride + 1 for n in shape[-2:])
    return lambda x: pool(x.reshape((-1, 1) + shape[-2:]), size, stride).reshape(shape[:-2] + spatial)


@pytest.mark.slow
@pytest.mark.parametrize("x, k, stride, padding", CONV_CASES, ids=str)
def test_conv2d_matches_torch(x, k, stride, padding):
    xs = [rng(9).normal(size=x), rng(10).normal(size=k)]
    assert_matches_torch("conv2d", xs, conv_p(stride, padding), torch_conv(stride, padding, len(x)))


@pytest.mark.slow
@pytest.mark.parametrize("op", ["maxpool", "avgpool"])
@pytest.mark.parametrize("shape, size, stride", POOL_CASES, ids=str)
def test_pools_match_torch(op, shape, size, stride):
    assert_matches_torch(op, [distinct(shape, 11)], pool_p(size, stride), torch_pool(op, size, stride, shape))


@pytest.mark.slow
def test_maxpool_ties_go_where_torch_sends_them():
    x = np.array([[[1.0, 5.0, 2.0, 2.0], [5.0, 0.0, 2.0, 2.0], [0.0, 0.0, 3.0, 1.0], [4.0, 4.0, 0.0, 9.0]]])
    assert_matches_torch("maxpool", [x], pool_p(2, 2), torch_pool("maxpool", 2, 2, x.shape))


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 2, 3, 2)])
def test_flatten_matches_torch(shape):
    torch = pytest.importorskip("torch")
    x = rng(12).normal(size=shape)
    assert_matches_torch("flatten", [x], None, lambda t: torch.flatten(t).reshape(1, -1))
    if len(shape) > 1:
        assert_matches_torch("flatten", [x], ROWS, lambda t: torch.flatten(t, 1))


@pytest.mark.slow
@pytest.mark.parametrize("name, p", EXERCISE_40_STEPS, ids=[n for n, _ in EXERCISE_40_STEPS])
def test_exercise_40_against_torch(name, p):
    assert_matches_torch("conv2d", [IMAGE, KERNEL], p, torch_conv(p.stride, p.padding, 2))


@pytest.mark.slow
@pytest.mark.parametrize("op", ["maxpool", "avgpool"])
def test_exercise_40_pooling_against_torch(op):
    feature = OPS["conv2d"].forward([IMAGE, KERNEL], None)
    assert_matches_torch(op, [feature], pool_p(2, 2), torch_pool(op, 2, 2, feature.shape))


# ---- the windows the grid view draws -----------------------------------------------------------

@pytest.mark.parametrize("x, k, stride, padding", CONV_CASES, ids=str)
def test_conv_windows_sum_to_the_forward_value(x, k, stride, padding):
    X, K = rng(13).normal(size=x), rng(14).normal(size=k)
    p = conv_p(stride, padding)
    out = OPS["conv2d"].forward([X, K], p)
    windows = conv_windows(x, k, p)
    assert [w.cell for w in windows] == list(np.ndindex(out.shape))          # row-major, every cell
    for cell, reads in windows:
        assert len(reads) <= k[-1] * k[-2] * (x[-3] if len(x) > 2 else 1)
        assert np.isclose(sum(X[xc] * K[kc] for xc, kc in reads), out[cell], rtol=1e-12, atol=1e-12)


def test_conv_windows_leave_the_padding_out():
    windows = conv_windows((5, 5), (3, 3), conv_p(1, 1))
    corner = windows[0]
    assert corner.cell == (0, 0)
    assert corner.reads == (((0, 0), (1, 1)), ((0, 1), (1, 2)), ((1, 0), (2, 1)), ((1, 1), (2, 2)))
    assert len(windows[6].reads) == 9                          # (1, 1): all inside


@pytest.mark.parametrize("shape, size, stride", POOL_CASES, ids=str)
def test_pool_windows_give_the_pools_values(shape, size, stride):
    x = distinct(shape, 15)
    p = pool_p(size, stride)
    windows = pool_windows(shape, p)
    out_max, out_avg = OPS["maxpool"].forward([x], p), OPS["avgpool"].forward([x], p)
    assert [w.cell for w in windows] == list(np.ndindex(out_max.shape))
    for cell, reads in windows:
        assert len(reads) == size * size and list(reads) == sorted(reads)      # row-major
        assert max(x[r] for r in reads) == out_max[cell]
        assert np.isclose(sum(x[r] for r in reads) / len(reads), out_avg[cell], rtol=1e-12)


def test_a_ties_gradient_goes_to_the_first_cell_of_its_window():
    x = np.array([[2.0, 2.0], [2.0, 1.0]])
    (window,) = pool_windows(x.shape, None)
    (dx,) = vjp("maxpool", [x], None, np.ones((1, 1)))
    assert dx[window.reads[0]] == 1 and dx.sum() == 1


# ---- shapes before any number, and the refusals ------------------------------------------------

def shape_cases():
    for x, k, stride, padding in CONV_CASES:
        yield "conv2d", [x, k], conv_p(stride, padding)
    for shape, size, stride in POOL_CASES:
        yield "maxpool", [shape], pool_p(size, stride)
        yield "avgpool", [shape], pool_p(size, stride)
    for shape in [(5,), (2, 3), (2, 3, 4)]:
        yield "flatten", [shape], None
    yield "flatten", [(3, 2, 2)], ROWS
    yield "conv2d", [(0, 2, 5, 5), (3, 2, 3, 3)], None         # an empty batch: an empty result
    yield "maxpool", [(0, 4, 4)], None


@pytest.mark.parametrize("op, shapes, p", list(shape_cases()), ids=str)
def test_shape_is_the_shape_forward_gives(op, shapes, p):
    xs = [rng(16).normal(size=s) for s in shapes]
    assert OPS[op].shape(shapes, p) == np.shape(OPS[op].forward(xs, p))


def test_shape_with_no_parameter_is_the_defaults():
    assert OPS["conv2d"].shape([(5, 5), (3, 3)], None) == (3, 3)
    assert OPS["maxpool"].shape([(5, 5)], None) == (2, 2)


REFUSALS = [
    ("conv2d", [(5, 5), (3, 3)], Conv(0, 0), "a stride of 0 would never move the kernel: the stride is at least 1"),
    ("conv2d", [(5, 5), (3, 3)], Conv(-1, 0), "a stride of -1 would move the kernel backwards"),
    ("conv2d", [(5, 5), (3, 3)], Conv(1, -1), "a padding of -1 is negative"),
    ("conv2d", [(2, 2), (3, 3)], Conv(1, 0), "a 3×3 kernel does not fit a 2×2 input with padding 0"),
    ("conv2d", [(4, 2), (3, 5)], Conv(1, 1), "a 3×5 kernel does not fit a 4×2 input with padding 1"),
    ("conv2d", [(3, 5, 5), (4, 2, 3, 3)], Conv(1, 0), "K has 2 channels, X has 3"),
    ("conv2d", [(2, 1, 5, 5), (4, 3, 3, 3)], Conv(1, 0), "K has 3 channels, X has 1"),
    ("conv2d", [(5,), (3, 3)], Conv(1, 0), "X is a vector of 5"),
    ("conv2d", [(), (3, 3)], Conv(1, 0), "X is a number"),
    ("conv2d", [(1, 1, 1, 5, 5), (3, 3)], Conv(1, 0), "X is a 1×1×1×5×5 array"),
    ("conv2d", [(3, 5, 5), (3, 3)], Conv(1, 0), r"with a C×H×W X, K is F×C×kh×kw .*; K is a 3×3 matrix"),
    ("conv2d", [(5, 5), (1, 1, 3, 3)], Conv(1, 0), "with an H×W X, K is a kh×kw kernel; K is a 1×1×3×3 array"),
    ("conv2d", [(5, 5), (0, 3)], Conv(1, 0), "a 0×3 kernel has no entries"),
    ("conv2d", [(2, 2, 5, 5), (0, 2, 3, 3)], Conv(1, 0), "a 0×2×3×3 kernel has no entries"),
    ("conv2d", [(2, 0, 5, 5), (3, 0, 3, 3)], Conv(1, 0), "a 3×0×3×3 kernel has no entries"),
    ("maxpool", [(5, 5)], Pool(2, 0), "a stride of 0 would never move the window: the stride is at least 1"),
    ("avgpool", [(5, 5)], Pool(0, 1), "a pool window of size 0 has no entries"),
    ("maxpool", [(2, 5)], Pool(3, 3), "a 3×3 window does not fit a 2×5 input"),
    ("avgpool", [(4, 1, 1)], Pool(2, 2), "a 2×2 window does not fit a 1×1 input"),
    ("maxpool", [(5,)], Pool(2, 2), "X is a vector of 5"),
    ("avgpool", [()], Pool(2, 2), "X is a number"),
    ("flatten", [()], None, "X is a number"),
    ("flatten", [(5,)], ROWS, "X is a vector of 5"),
]


@pytest.mark.parametrize("op, shapes, p, message", REFUSALS, ids=str)
def test_every_bad_case_is_refused_by_shape_and_by_forward_alike(op, shapes, p, message):
    with pytest.raises(ValueError, match=message):
        OPS[op].shape(shapes, p)
    with pytest.raises(ValueError, match=message):
        OPS[op].forward([np.ones(s) if s else 1.0 for s in shapes], p)


@pytest.mark.parametrize("op, keywords, message", [
    ("conv2d", {"stride": 0}, "a stride of 0 would never move the kernel"),
    ("conv2d", {"padding": -2}, "a padding of -2 is negative"),
    ("conv2d", {"stride": 1.5}, "the stride is a whole number"),
    ("maxpool", {"size": 0}, "size 0 has no entries"),
    ("avgpool", {"stride": 0}, "a stride of 0 would never move the window")])
def test_bad_parameters_are_refused_where_they_are_given(op, keywords, message):
    with pytest.raises(ValueError, match=message):
        OPS[op].parameters(**keywords)


def test_the_windows_refuse_what_the_ops_refuse():
    with pytest.raises(ValueError, match="K has 2 channels, X has 3"):
        conv_windows((3, 5, 5), (1, 2, 3, 3))
    with pytest.raises(ValueError, match="does not fit"):
        pool_windows((1, 5), None)


# ---- the work of a convolution (budget.py) ------------------------------------------------------

def test_the_work_of_a_convolution_is_its_multiply_adds():
    assert OPS["conv2d"].work([(2, 3, 8, 8), (4, 3, 3, 3)], Conv(1, 0)) == 2 * 4 * 6 * 6 * 27
    assert OPS["conv2d"].work([(5, 5), (3, 3)], Conv(2, 1)) == 3 * 3 * 9
    assert OPS["maxpool"].work([(4, 6, 6)], Pool(3, 1)) == 4 * 4 * 4 * 9


# ---- the formula front end, end to end ---------------------------------------------------------

def test_exercise_40_on_the_command_line_with_check(nngraph):
    status, out, err = nngraph("sum(maxpool(conv2d(X, K), size=2))", "--at", EXERCISE_40[0],
                               "--at", EXERCISE_40[1], "--check", "--no-render")
    assert status == 0, err
    feature = naive_conv(IMAGE, KERNEL, 1, 0)
    assert f"= {feature[:2, :2].max():g}" in out
    assert "MISMATCH" not in out and out.count(" ok") >= 2


def test_a_tie_in_a_pool_window_is_checked_as_a_kink(nngraph):
    status, out, err = nngraph("sum(maxpool(X))", "--at", "X=[[1,1],[0,0]]", "--check", "--no-render")
    assert status == 0 and "ok at a kink" in out and "kink of maxpool" in out


def test_a_stride_of_0_is_one_error_line_naming_the_stride(nngraph):
    status, out, err = nngraph("conv2d(X, K, stride=0)", "--at", EXERCISE_40[0], "--at", EXERCISE_40[1],
                               "--no-render")
    assert status == 2
    lines = err.splitlines()
    assert lines[0] == "error: conv2d: a stride of 0 would never move the kernel: the stride is at least 1"
    assert lines[1:] == ["  conv2d(X, K, stride=0)", "  ^^^^^^^^^^^^^^^^^^^^^^"]


def test_a_kernel_too_large_is_one_error_line_with_its_numbers(nngraph):
    status, out, err = nngraph("conv2d(X, K)", "--at", "X=[[1,2],[3,4]]", "--at", EXERCISE_40[1], "--no-render")
    assert status == 2 and "a 3×3 kernel does not fit a 2×2 input with padding 0" in err.splitlines()[0]


def test_a_keyword_the_function_does_not_take_is_refused(nngraph):
    status, out, err = nngraph("conv2d(X, K, size=2)", "--at", EXERCISE_40[0], "--at", EXERCISE_40[1],
                               "--no-render")
    assert status == 2 and "size" in err.splitlines()[0]


def test_the_python_api_records_the_keywords():
    X, K = nn.var("X", IMAGE.tolist()), nn.var("K", KERNEL.tolist())
    t = nn.trace(nn.sum(nn.avgpool(nn.conv2d(X, K, stride=2), size=2)))
    graph = t.graph
    ops = {graph[n]["op"]: graph[n]["p"] for n in graph.gates()}
    assert ops["conv2d"] == Conv(2, 0) and ops["avgpool"] == Pool(2, 2)
    assert float(t.value) == pytest.approx(naive_conv(IMAGE, KERNEL, 2, 0).mean())
    np.testing.assert_allclose(t.grad["K"], vjp("conv2d", [IMAGE, KERNEL], Conv(2, 0), np.full((2, 2), 0.25))[1])
