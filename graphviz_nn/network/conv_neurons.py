"""The neuron view of convolutional layers (exercise 43): a conv2d layer as a dense layer with the
missing connections gone and its weights tied, a pool as one neuron per window, flatten merged away.

Images are laid out as flatten lays them out: the input pixels are x1 … x(C·H·W), row-major
(channel, row, column), and a layer's cells Hk_1 … Hk_(F·H'·W') likewise, so each neuron is the
entry of the layer view's matrix at the same place. A conv neuron (the op `neuron`, as a dense
one) has one edge per input cell its window reads, carrying the kernel entry it multiplies
(`K1[1,1,2,2]`, 1-based as `W1[1,2]`), and the filter's bias as the weight of a constant 1; the
padding's zeros are not neurons (they add nothing). A max pool neuron is `max` over its window
(routes d to the first maximum, as maxpool), an average pool neuron `window_mean` (gives each
cell d/size²). Cells no window reads are not drawn: their gradient is 0.
"""
from __future__ import annotations

import numpy as np

from ..graph import CONST
from ..ops import OPS, conv_windows, pool_windows
from .ops import WeightedSum
from .program import Call, Leaf, Program
from .spec import Layer

NEURON_VIEW_MAX_CELLS = 25       # cells of a feature map layer (all its maps): a 5×5 image


def cell_number(shape: tuple, index: tuple) -> int:
    """Where a cell of a C×H×W map is in flatten's row: 0-based, row-major."""
    return int(np.ravel_multi_index(tuple(int(i) for i in index), shape))


def entry_name(param: str, index: tuple) -> str:
    """`K1[1,1,2,2]`: a parameter entry, 1-based as the neuron view names W1[1,2]."""
    return f"{param}[{','.join(str(int(i) + 1) for i in index)}]"


def conv_neurons(program: Program, layer: Layer, current: list[str], params: dict, one) -> list[str]:
    """One neuron per output cell, in flatten's order: Σ over its window of cell · kernel entry
    (+ the filter's bias · 1)."""
    k = layer.index
    K = params[f"K{k}"]
    names = [f"{layer.name}_{j + 1}" for j in range(layer.width)]
    if layer.bias:
        program.leaves.append(Leaf(f"one{k}", CONST, np.asarray(one, dtype=float), "1"))
    for window in conv_windows(layer.in_shape, K.shape, layer.p):
        inputs = [current[cell_number(layer.in_shape, x)] for x, _ in window.reads]
        weights = [float(K[kernel]) for _, kernel in window.reads]
        labels = [entry_name(f"K{k}", kernel) for _, kernel in window.reads]
        if layer.bias:
            f = window.cell[0]
            inputs.append(f"one{k}")
            weights.append(float(params[f"b{k}"][f]))
            labels.append(entry_name(f"b{k}", (f,)))
        p = WeightedSum(tuple(weights), tuple(labels))
        name = names[cell_number(layer.shape, window.cell)]
        program.calls.append(Call(name, "neuron", tuple(inputs), p, OPS["neuron"].text(inputs, p)))
    return names


POOL_NEURONS = {"maxpool": "max", "avgpool": "window_mean"}


def pool_neurons(program: Program, layer: Layer, current: list[str], params: dict, one) -> list[str]:
    """One neuron per window: the max (routes) or the mean (distributes) of its cells."""
    op = POOL_NEURONS[layer.type]
    names = [f"{layer.name}_{j + 1}" for j in range(layer.width)]
    for window in pool_windows(layer.in_shape, layer.p):
        inputs = [current[cell_number(layer.in_shape, cell)] for cell in window.reads]
        name = names[cell_number(layer.shape, window.cell)]
        program.calls.append(Call(name, op, tuple(inputs), None, OPS[op].text(inputs, None)))
    return names


def flatten_neurons(program: Program, layer: Layer, current: list[str], params: dict, one) -> list[str]:
    """Flatten moves no number: its row is the maps' cells in the order they already have."""
    return current


SPATIAL_NEURONS = {"conv2d": conv_neurons, "maxpool": pool_neurons, "avgpool": pool_neurons,
                   "flatten": flatten_neurons}


def spatial_neurons(program: Program, layer: Layer, current: list[str], params: dict, one) -> list[str]:
    return SPATIAL_NEURONS[layer.type](program, layer, current, params, one)


def spatial_edges(layer: Layer, kernel_shape: tuple | None) -> int:
    """The edges a conv2d, pool or flatten layer draws in the neuron view."""
    if layer.type == "conv2d":
        reads = sum(len(w.reads) for w in conv_windows(layer.in_shape, kernel_shape, layer.p))
        return reads + (layer.width if layer.bias else 0)
    if layer.type == "flatten":
        return 0
    return sum(len(w.reads) for w in pool_windows(layer.in_shape, layer.p))
