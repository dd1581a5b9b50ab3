"""Recurrent layers in a spec (rnn, lstm, gru): their keys checked and their weights made. One
sequence per spec: the rows of X are the time steps, and nothing may mix them (no `order`, no
batchnorm). network/recurrent.py unrolls the layers in time; cells.py names what they hold."""
from __future__ import annotations

import numpy as np

from ..numfmt import shape_text
from .cells import CELLS, REVERSE, RNN_ACTIVATIONS, param_names
from .checks import (INITS, MAX_ENTRIES, Place, bias_vector, brief, check_keys, choice, count_text, fill,
                     init_options, matrix, need, over_budget, two_d, whole)

KEYS = ("type", "units", "W", "R", "b", "bias", "bidirectional", "h0", "W_rev", "R_rev", "b_rev",
        "init", "seed", "value", "low", "high", "mean", "std")


def parse_recurrent(table, kind, k, in_shape, current, seed, place, budget=(0, None)) -> tuple[dict, dict]:
    """An rnn, lstm or gru layer, the k-th counted as linear layers count: its Layer's fields
    (width, bias, options) and its parameters Wk, Rk (bk) (and Wk_rev, Rk_rev, bk_rev)."""
    cell = CELLS[kind]
    check_keys(table, KEYS + cell.keys, place)
    n, width = in_shape
    gates = len(cell.gates)
    bidirectional = flag(table, "bidirectional", place)
    if not bidirectional:
        for key in ("W_rev", "R_rev", "b_rev"):
            if key in table:
                raise place.error(key, "applies to a two-directional layer", hint="add bidirectional = true")
    options = [("units", None)]
    if kind == "rnn":
        options.append(("activation", choice(table.get("activation", "tanh"), RNN_ACTIVATIONS, place,
                                             "activation", "activation of an rnn")))
    directions = ("", REVERSE) if bidirectional else ("",)
    if "W" in table or "R" in table:
        units, weights = given_weights(table, kind, k, directions, width, current, n, gates, place)
    else:
        units, weights = initial_weights(table, kind, k, directions, width, n, gates, seed, place, budget)
    for suffix in directions:
        bias = parse_bias(table, suffix, k, units, gates, kind, place)
        if bias is not None:
            weights[f"b{k}{suffix}"] = bias
    has_bias = f"b{k}" in weights
    options[0] = ("units", units)
    options.append(("bidirectional", bidirectional))
    options.append(("h0", initial_state(table, "h0", units, len(directions), place)))
    if kind == "lstm":
        options.append(("c0", initial_state(table, "c0", units, len(directions), place)))
    fields = {"width": units * len(directions), "bias": has_bias, "options": tuple(options)}
    return fields, {name: weights[name] for name in param_names(k, has_bias, bidirectional)}


def flag(table, key, place) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise place.error(key, f"must be true or false, got {brief(value)}")
    return value


def blocks_text(kind: str) -> str:
    cell = CELLS[kind]
    if len(cell.gates) == 1:
        return "units columns"
    return f"{len(cell.gates)}·units columns, the gate blocks {', '.join(cell.gates)} side by side"


def given_weights(table, kind, k, directions, width, current, n, gates, place):
    """W and R as written: W is in × gates·units, R is units × gates·units (each direction)."""
    for key in ("init", "value", "low", "high", "mean", "std"):
        if key in table:
            raise place.error(key, "give W and R, or units with init, not both")
    units, weights = None, {}
    for suffix in directions:
        for letter in ("W", "R"):
            key = letter + suffix
            hint = f"W{k} is {width}×({blocks_text(kind)}); R{k} is units×({blocks_text(kind)})"
            if key not in table:
                raise place.error(key, f"missing key: give {letter}{k}{suffix} too (W and R go together), "
                                       f"or units with init", hint=hint)
            weights[f"{letter}{k}{suffix}"] = two_d(table[key], place, key, hint)
        W, R = weights[f"W{k}{suffix}"], weights[f"R{k}{suffix}"]
        if W.shape[0] != width:
            raise place.error("W" + suffix, f"W{k}{suffix} is {shape_text(W.shape)} but its input {current} "
                                            f"is {n}×{width}: W{k}{suffix} needs {width} rows")
        if W.shape[1] % gates:
            raise place.error("W" + suffix, f"W{k}{suffix} has {W.shape[1]} columns, but a {kind} layer's W "
                                            f"has {blocks_text(kind)}")
        found = W.shape[1] // gates
        if units is not None and found != units:
            raise place.error("W" + suffix, f"W{k}{suffix} is for {found} units but W{k} for {units}")
        units = found
        if "units" in table and table["units"] != units:
            raise place.error("units", f"says {brief(table['units'])} but W{k}{suffix} ({shape_text(W.shape)}) is "
                                       f"for {units} unit{'s' if units > 1 else ''} ({blocks_text(kind)})")
        if R.shape != (units, gates * units):
            raise place.error("R" + suffix, f"R{k}{suffix} is {shape_text(R.shape)} but with {units} unit"
                                            f"{'s' if units > 1 else ''} (from W{k}{suffix}) it must be "
                                            f"{units}×{gates * units}",
                              hint=f"R maps the state ({units} unit{'s' if units > 1 else ''}) to "
                                   f"{blocks_text(kind)}")
    return units, weights


def initial_weights(table, kind, k, directions, width, n, gates, seed, place, budget):
    """W and R filled by init, from units: as a linear layer's W (network/spec.py's fill)."""
    if "units" not in table:
        raise place.error("W", f"missing key: give W{k} and R{k}, or units = … with init")
    units = whole(table["units"], place, "units", 1)
    shapes = [(width, gates * units), (units, gates * units)]
    for rows, cols in shapes:
        if rows * cols > MAX_ENTRIES:
            raise place.error("units", f"a weight matrix would hold {count_text(rows * cols)} numbers: more "
                                       f"than the limit of {MAX_ENTRIES:,}")
    held, limit = budget
    total = held + len(directions) * (sum(r * c for r, c in shapes) + n * (gates + 2) * units)
    if limit is not None and total > limit:
        raise over_budget(place, total, limit)
    init = choice(need(table, "init", place, f"how to fill W{k} and R{k}: {', '.join(INITS)}"),
                  INITS, place, "init", "init")
    options = init_options(table, init, place)
    rng = np.random.default_rng(whole(table["seed"], place, "seed", 0) if "seed" in table else [seed, k])
    weights = {}
    for suffix in directions:
        weights[f"W{k}{suffix}"] = fill(init, shapes[0], rng, options)
        weights[f"R{k}{suffix}"] = fill(init, shapes[1], rng, options)
    return units, weights


def parse_bias(table, suffix, k, units, gates, kind, place) -> np.ndarray | None:
    """bk: given with b (gates·units entries), or bias = true (zeros, the default, as PyTorch's),
    a number, or false (no bias)."""
    key, size = "b" + suffix, gates * units
    if suffix and key not in table and "b" in table:
        raise place.error("b", f"missing key: give b_rev too, for the reverse direction's b{k}{REVERSE}")
    return bias_vector(table, key, size, place, lambda shape: f"b{k}{suffix} is {shape_text(shape)} but needs "
                       f"{size} entr{'y' if size == 1 else 'ies'} ({blocks_text(kind).replace('columns', 'entries')})",
                       default=True)


def initial_state(table, key, units, directions, place) -> tuple:
    """h0 (c0): zeros by default; a number, a list of units numbers (a 1×units row), or (two
    directions) two rows: forward, reverse."""
    array = matrix(table.get(key, 0.0), place, key)
    if array.ndim == 0:
        array = np.full((directions, units), float(array))
    elif array.shape == (units,):
        array = np.tile(array, (directions, 1))
    elif array.shape == (directions, units):
        pass
    else:
        rows = " (or two rows of them: forward, reverse)" if directions == 2 else ""
        raise place.error(key, f"{key} is {shape_text(array.shape)} but needs {units} entr"
                               f"{'ies' if units > 1 else 'y'}, one per unit{rows}",
                          hint="a number gives every unit that value")
    return tuple(tuple(float(v) for v in row) for row in array)


def check_sequence(layers: list, train, file: str) -> None:
    """One sequence per spec: every training step takes all its time steps, and nothing mixes them."""
    if train is not None and train.order is not None:
        raise Place(file, "[train]").error(
            "order", "a recurrent network reads one sequence, whose rows are time steps: a training step "
                     "takes the whole sequence, order would pick one time step",
            hint="remove order (every step trains on the whole sequence)")
    for layer in layers:
        if layer.type == "batchnorm":
            raise Place(file, f"[[layer]] {layer.position} (batchnorm)").error(
                "type", "batchnorm normalises each column over the rows, but with a recurrent layer the rows "
                        "are the time steps of one sequence: it would mix the steps",
                hint="leave batchnorm out of a recurrent network")


def step_numbers(layer, n: int) -> int:
    """Numbers one pass holds for the layer's steps besides its output: a_t (gates·units), c_t."""
    cell = CELLS[layer.type]
    directions = 2 if layer.option("bidirectional") else 1
    return n * directions * layer.option("units") * (len(cell.gates) + len(cell.states))




def step_costs(layer, in_width: int) -> tuple[int, int, int]:
    """What one time step of the layer costs, for budget.py: multiply-adds of x_t·W and h·R (both
    directions), entries computed elementwise (pre-activations, gates, states), and gates in the
    graph — each gate costs its Python overhead (~100 µs a pass: build, forward, backward) however
    small its vectors, and a layer holds 2 (rnn) or 3 (lstm, gru) gates per step and direction."""
    directions = 2 if layer.option("bidirectional") else 1
    units, gates = layer.option("units"), len(CELLS[layer.type].gates)
    products = directions * (in_width + units) * gates * units
    entries = directions * units * (gates + 2 * len(CELLS[layer.type].states))
    per_step = {"rnn": 2, "lstm": 3, "gru": 3}[layer.type] + 1        # + the row or input, the stack's share
    return products, entries, directions * per_step
