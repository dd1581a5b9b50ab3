"""Recurrent layers in specs (rnn, lstm, gru) unrolled in time — one group (a cluster, `t = 1`, `t = 2`, …) per step, the parameters outside with
an edge into every step, so backpropagation through time is the copy rule.

One sequence per spec: the rows of X are the time steps. The layer's output Ok stacks the hidden
states (T × units; T × 2·units with two directions), so what follows acts at every step. The layer
view draws one node per vector (x_t, a_t, h_t, …); with `detail` (--expand) the gates i, f, g, o
(LSTM) and r, z, n (GRU) as nodes. The neuron view draws one node per neuron and step, and unrolls
every layer of the network in time. Names: network/cells.py; the spec: network/recurrent_spec.py."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from ..errors import UserError
from ..graph import CONST, INPUT
from ..numfmt import shape_text
from ..ops import OPS, sequence  # noqa: F401  (sequence registers the recurrent gates)
from ..ops.sequence import Gate, gru_gates, lstm_gates
from .cells import CELLS, REVERSE, step_name
from .ops import LAYERS, NeuronLoss, WeightedSum
from .program import NEURON_VIEW_MAX_EDGES, NEURON_VIEW_MAX_ROWS, NEURON_VIEW_MAX_WIDTH, Call, Leaf, Program
from .spec import Layer, NetworkSpec


def group_of(t: int) -> str:
    return f"t = {t}"


# ---- the layer view --------------------------------------------------------------------------------

def layer_steps(program: Program, layer: Layer, current: str, X: np.ndarray, detail: bool) -> str:
    """The layer's calls, step by step in groups; the output Ok = stack(h_1 … h_T); returns Ok."""
    T = len(X)
    inputs = step_inputs(program, layer, current, X)
    states = {}
    for reverse in directions(layer):
        h, c = initial_leaves(program, layer, reverse, T)
        states[reverse] = []
        for t in times(T, reverse):
            h, c = cell_calls(program, layer, t, reverse, inputs[t], h, c, detail)
            states[reverse].append(h)
    rows = states[False] + (sorted_by_time(states[True]) if True in states else [])
    program.calls.append(Call(layer.name, "stack", tuple(rows), len(states),
                              OPS["stack"].text(list(rows), len(states))))
    return layer.name


def directions(layer: Layer) -> tuple[bool, ...]:
    return (False, True) if layer.option("bidirectional") else (False,)


def times(T: int, reverse: bool):
    return range(T, 0, -1) if reverse else range(1, T + 1)


def sorted_by_time(names: list[str]) -> list[str]:
    return names[::-1]


def step_inputs(program: Program, layer: Layer, current: str, X: np.ndarray) -> dict[int, str]:
    """x_t: the rows of X as inputs of their own (the first layer), or rows of the matrix before."""
    T = len(X)
    if current == "X":
        program.leaves += [Leaf(f"x_{t}", INPUT, X[t - 1]) for t in range(1, T + 1)]
        return {t: f"x_{t}" for t in range(1, T + 1)}
    names = {}
    for t in range(1, T + 1):
        names[t] = f"{current}[{t}]"
        program.calls.append(Call(names[t], "row", (current,), t - 1, OPS["row"].text([current], t - 1),
                                  group_of(t)))
    return names


def initial_leaves(program: Program, layer: Layer, reverse: bool, T: int) -> tuple[str, str | None]:
    """h_0 (c_0) of a direction: data, like y (the reverse direction starts after the last step)."""
    k, row = layer.index, int(reverse)
    t = T + 1 if reverse else 0
    h = step_name("h", k, t, reverse)
    program.leaves.append(Leaf(h, CONST, np.array(layer.option("h0")[row]), h))
    if layer.type != "lstm":
        return h, None
    c = step_name("c", k, t, reverse)
    program.leaves.append(Leaf(c, CONST, np.array(layer.option("c0")[row]), c))
    return h, c


def params_of(layer: Layer, reverse: bool) -> tuple[str, str, str | None]:
    suffix = REVERSE if reverse else ""
    k = layer.index
    return f"W{k}{suffix}", f"R{k}{suffix}", (f"b{k}{suffix}" if layer.bias else None)


def cell_calls(program, layer, t, reverse, x, h, c, detail) -> tuple[str, str | None]:
    """One step of one direction: returns its h_t (and c_t)."""
    k, group = layer.index, group_of(t)
    W, R, b = params_of(layer, reverse)
    name = lambda letter: step_name(letter, k, t, reverse)

    def call(letter, op, args, p=None, text=None):
        node = name(letter)
        program.calls.append(Call(node, op, tuple(args), p, text or OPS[op].text(list(args), p), group))
        return node

    units = layer.option("units")
    if layer.type == "gru":
        ax = call("ax", "linear" if b else "matmul", (x, W, b) if b else (x, W),
                  text=f"{x}·{W} + {b}" if b else f"{x}·{W}")
        ah = call("ah", "matmul", (h, R), text=f"{h}·{R}")
        if not detail:
            return call("h", "gru_hidden", (ax, ah, h)), None
        r = call("r", "gate", (ax, ah), Gate("r", "sigmoid", 0, 3))
        z = call("z", "gate", (ax, ah), Gate("z", "sigmoid", 1, 3))
        n = call("n", "gru_candidate", (ax, ah, r), units)
        return call("h", "gru_mix", (z, n, h)), None
    a = call("a", "recur", (x, h, W, R, b) if b else (x, h, W, R))
    if layer.type == "rnn":
        activation = layer.option("activation")
        return call("h", activation, (a,), text=f"{activation}({a})"), None
    if not detail:
        c = call("c", "lstm_cell", (a, c))
        return call("h", "lstm_hidden", (a, c)), c
    gates = {letter: call(letter, "gate", (a,), Gate(letter, activation, i, 4))
             for i, (letter, activation) in enumerate(zip(CELLS["lstm"].gates, CELLS["lstm"].activations))}
    c = call("c", "lstm_c", (gates["f"], c, gates["i"], gates["g"]))
    return call("h", "lstm_h", (gates["o"], c)), c


# ---- the neuron view: every layer unrolled in time ------------------------------------------------------

def neuron_program(spec: NetworkSpec, X: np.ndarray, y: np.ndarray | None, params: dict, data: dict,
                   neuron_layer, neuron_rule_layer) -> Program:
    """Per step t, inputs x_t_1 … x_t_d, then each layer's neurons of that step (a recurrent layer's
    chained to the step before); the loss takes every step's outputs. neuron_layer and
    neuron_rule_layer (network/build.py) write the other layers' neurons, their names tagged _t."""
    check_neuron_view(spec, len(X))
    T = len(X)
    program = Program()
    steps = {}
    for t in range(1, T + 1):
        names = [f"x_{t}_{i + 1}" for i in range(X.shape[1])]
        program.leaves += [Leaf(name, INPUT, float(X[t - 1, i])) for i, name in enumerate(names)]
        steps[t] = names
    for layer in spec.layers:
        if layer.type in CELLS:
            steps = recurrent_neurons(program, layer, steps, params)
            continue
        for t in range(1, T + 1):
            start = len(program.calls)
            tag = f"_{t}"
            if layer.type in LAYERS:
                mask = data.get(layer.data) if layer.data else None
                columns = None if mask is None else [float(mask[t - 1, j]) for j in range(layer.width)]
                steps[t] = neuron_rule_layer(program, layer, steps[t], params, columns, tag)
            else:
                steps[t] = neuron_layer(program, layer, steps[t], params, 1.0, tag)
            program.calls[start:] = [replace(call, group=group_of(t)) for call in program.calls[start:]]
    outputs = [name for t in range(1, T + 1) for name in steps[t]]
    if spec.loss is not None:
        m = len(steps[1])
        targets = [f"y_{t}_{j + 1}" for t in range(1, T + 1) for j in range(m)]
        program.leaves += [Leaf(name, CONST, float(y[t - 1, j]), name)
                           for name, (t, j) in zip(targets, [(t, j) for t in range(1, T + 1) for j in range(m)])]
        p = NeuronLoss(spec.loss.type, spec.loss.reduction, len(outputs))
        program.calls.append(Call("L", "neuron_loss", tuple(outputs + targets), p,
                                  OPS["neuron_loss"].text(outputs, p)))
    else:
        program.calls.append(Call("S", "total", tuple(outputs), None, OPS["total"].text(outputs, None)))
    return program


def recurrent_neurons(program, layer, steps: dict, params: dict) -> dict:
    """A recurrent layer, one node per neuron and step: its weighted sums carry W, R, b on their edges."""
    T = len(steps)
    outputs = {t: [] for t in steps}
    units = layer.option("units")
    for reverse in directions(layer):
        row = int(reverse)
        start = T + 1 if reverse else 0
        h = [neuron_name("h", layer.index, start, reverse, j) for j in range(units)]
        program.leaves += [Leaf(n, CONST, layer.option("h0")[row][j], n) for j, n in enumerate(h)]
        c = None
        if layer.type == "lstm":
            c = [neuron_name("c", layer.index, start, reverse, j) for j in range(units)]
            program.leaves += [Leaf(n, CONST, layer.option("c0")[row][j], n) for j, n in enumerate(c)]
        for t in times(T, reverse):
            h, c = neuron_step(program, layer, params, t, reverse, steps[t], h, c)
            outputs[t] = outputs[t] + h          # forward units, then the reverse direction's
    return outputs


def neuron_name(letter: str, k: int, t: int, reverse: bool, j: int) -> str:
    """`h1_2_1`: h of layer 1 at step 2, its neuron 1."""
    return f"{step_name(letter, k, t, reverse)}_{j + 1}"


def neuron_step(program, layer, params, t, reverse, x, h, c):
    """One step of one direction, neuron by neuron: returns the step's h (and c) neuron names."""
    k, group = layer.index, group_of(t)
    W, R, b = params_of(layer, reverse)
    units, cell = layer.option("units"), CELLS[layer.type]
    one = None
    if b:
        one = f"one{k}{REVERSE if reverse else ''}_{t}"
        program.leaves.append(Leaf(one, CONST, 1.0, "1"))

    def call(name, op, args, p=None, text=None):
        program.calls.append(Call(name, op, tuple(args), p, text or OPS[op].text(list(args), p), group))
        return name

    def weighted(name, column, sources):
        """Σ over the sources (x: W, h: R, the bias' 1: b) of signal × the weight in `column`."""
        inputs, weights, labels = [], [], []
        for kind in sources:
            if kind == "x":
                rows = [(n, params[W][i, column], f"{W}[{i + 1},{column + 1}]") for i, n in enumerate(x)]
            elif kind == "h":
                rows = [(n, params[R][i, column], f"{R}[{i + 1},{column + 1}]") for i, n in enumerate(h)]
            else:
                rows = [(one, params[b][column], f"{b}[{column + 1}]")] if b else []
            for n, w, label in rows:
                inputs.append(n)
                weights.append(float(w))
                labels.append(label)
        p = WeightedSum(tuple(weights), tuple(labels))
        return call(name, "neuron", inputs, p, OPS["neuron"].text(inputs, p))

    name = lambda letter, j: neuron_name(letter, k, t, reverse, j)
    new_h, new_c = [], []
    for j in range(units):
        if layer.type == "rnn":
            a = weighted(name("a", j), j, ("x", "h", "b"))
            activation = layer.option("activation")
            new_h.append(call(name("h", j), activation, (a,), text=f"{activation}({a})"))
            continue
        gate = {}
        for index, (letter, activation) in enumerate(zip(cell.gates, cell.activations)):
            column = index * units + j
            if layer.type == "gru" and letter == "n":
                nx = weighted(name("anx", j), column, ("x", "b"))
                nh = weighted(name("anh", j), column, ("h",))
                gate["n"] = call(name("n", j), "gru_candidate", (nx, nh, gate["r"]))
                continue
            pre = weighted(name("a" + letter, j), column, ("x", "h", "b"))
            gate[letter] = call(name(letter, j), activation, (pre,),
                                text=f"{'σ' if activation == 'sigmoid' else 'tanh'}({pre})")
        if layer.type == "lstm":
            new_c.append(call(name("c", j), "lstm_c", (gate["f"], c[j], gate["i"], gate["g"])))
            new_h.append(call(name("h", j), "lstm_h", (gate["o"], new_c[-1])))
        else:
            new_h.append(call(name("h", j), "gru_mix", (gate["z"], gate["n"], h[j])))
    return new_h, (new_c or None)


def neuron_view_edges(spec: NetworkSpec) -> int:
    """Edges the neuron view draws: per step, each layer's; then the loss."""
    T, width, per_step = len(spec.X), spec.X.shape[1], 0
    for layer in spec.layers:
        if layer.type in CELLS:
            units, bias = layer.option("units"), int(layer.bias)
            gates = len(CELLS[layer.type].gates)
            per_unit = gates * (width + units + bias) + {"rnn": 1, "lstm": 4 + 4 + 2, "gru": 2 + 3 + 3}[layer.type]
            per_step += per_unit * units * len(directions(layer))
        elif layer.type == "linear":
            per_step += (width + layer.bias) * layer.width
        elif layer.type in LAYERS:
            per_step += width * (1 + len(layer.params) + (layer.data is not None))
        else:
            per_step += width * width if layer.type == "softmax" else width
        width = layer.width
    return T * per_step + T * width * (2 if spec.loss else 1)


def check_neuron_view(spec: NetworkSpec, rows: int) -> None:
    hint = "use --view layers, which draws one node per vector"
    widths = [("X", spec.X.shape[1])] + [(layer.name, layer.width) for layer in spec.layers]
    for name, width in widths:
        if width > NEURON_VIEW_MAX_WIDTH:
            raise UserError(f"{name} has {width} neurons: the neuron view draws at most "
                            f"{NEURON_VIEW_MAX_WIDTH} per layer legibly", hint=hint)
    if rows > NEURON_VIEW_MAX_ROWS:
        raise UserError(f"the sequence has {rows} time steps; the neuron view unrolls at most "
                        f"{NEURON_VIEW_MAX_ROWS}", hint=hint)
    edges = neuron_view_edges(spec)
    if edges > NEURON_VIEW_MAX_EDGES:
        raise UserError(f"the neuron view would draw {edges} edges; it stays legible up to "
                        f"{NEURON_VIEW_MAX_EDGES}", hint=hint)


# ---- reading a pass back: X's gradient, the layers' values, the states over time ------------------------

def first_reads_x(spec: NetworkSpec) -> bool:
    return spec.layers[0].type in CELLS


def input_gradient(spec: NetworkSpec, grad_of) -> np.ndarray:
    """∂L/∂X (T × d) from the inputs x_t (layer view) or x_t_i (neuron view)."""
    T, d = spec.X.shape
    try:
        return np.stack([np.asarray(grad_of(f"x_{t}"), dtype=float) for t in range(1, T + 1)])
    except KeyError:
        return np.array([[float(grad_of(f"x_{t}_{i + 1}")) for i in range(d)] for t in range(1, T + 1)])


def layer_gradients(spec: NetworkSpec, grad_of, params) -> dict:
    """X and every parameter, as the JSON's gradients."""
    grads = {"X": input_gradient(spec, grad_of) if first_reads_x(spec) else np.asarray(grad_of("X"))}
    return grads | {name: np.asarray(grad_of(name)) for name in params}


def step_names(layer: Layer, T: int, t: int) -> list[str]:
    """The neuron-view nodes of a layer's output at step t (the rows of Ok, Hk, …)."""
    if layer.type in CELLS:
        units = layer.option("units")
        return [neuron_name("h", layer.index, t, reverse, j) for reverse in directions(layer) for j in range(units)]
    return [f"{layer.name}_{t}_{j + 1}" for j in range(layer.width)]


def neuron_values(graph, layer: Layer, T: int, what: str = "value") -> np.ndarray:
    """A layer's values (or gradients), T × width, gathered from its neurons step by step. A recurrent
    layer's gradient is that of its output Ok, as the layer view has it: what the layers after it send
    back to h_t, without what the next step sends (the state's own copy rule)."""
    if what == "grad" and layer.type in CELLS:
        return np.array([[output_share(graph, layer, n) for n in step_names(layer, T, t)] for t in range(1, T + 1)])
    return np.array([[float(graph[n][what]) for n in step_names(layer, T, t)] for t in range(1, T + 1)])


def output_share(graph, layer: Layer, n: str) -> float:
    """Σ of the gradients h_t_j's out-edges carry from outside its layer."""
    inside = re.compile(rf"^[a-z]+{layer.index}({REVERSE})?_\d+_\d+$")
    return float(sum(graph.edge(u, v, k)["grad"] for u, v, k in graph.out_edges(n) if not inside.match(v)))


def state_names(layer: Layer, T: int, reverse: bool, letter: str = "h") -> list[str]:
    return [step_name(letter, layer.index, t, reverse) for t in range(1, T + 1)]


def sequence_record(spec: NetworkSpec, value_of, grad_of, view: str) -> dict:
    """For the plots: per recurrent layer and direction ‖∂L/∂h_t‖ over t, and the gate activations
    of LSTM and GRU layers over t (T × units each), read from a pass's values and gradients."""
    T = len(spec.X)
    record = {}
    for layer in spec.layers:
        if layer.type not in CELLS:
            continue
        units = layer.option("units")
        for reverse in directions(layer):
            key = layer.name + (REVERSE if reverse else "")
            if view == "neurons":
                norms = [float(np.linalg.norm([grad_of(neuron_name("h", layer.index, t, reverse, j))
                                               for j in range(units)])) for t in range(1, T + 1)]
            else:
                norms = [float(np.linalg.norm(grad_of(n))) for n in state_names(layer, T, reverse)]
            record[key] = {"state": step_name("h", layer.index, "t", reverse), "norms": norms,
                           "gates": gate_values(layer, T, reverse, value_of, view)}
    return record


def gate_values(layer: Layer, T: int, reverse: bool, value_of, view: str) -> dict:
    """LSTM: i, f, g, o; GRU: r, z, n — each T × units."""
    if layer.type == "rnn":
        return {}
    letters, units = CELLS[layer.type].gates, layer.option("units")
    if view == "neurons":
        return {letter: np.array([[float(value_of(neuron_name(letter, layer.index, t, reverse, j)))
                                   for j in range(units)] for t in range(1, T + 1)]) for letter in letters}
    rows = []
    for t in range(1, T + 1):
        name = lambda letter: step_name(letter, layer.index, t, reverse)
        if layer.type == "lstm":
            rows.append(lstm_gates(np.asarray(value_of(name("a")))))
        else:
            rows.append(gru_gates(np.asarray(value_of(name("ax"))), np.asarray(value_of(name("ah")))))
    return {letter: np.array([row[i] for row in rows]) for i, letter in enumerate(letters)}


def describe(layer: Layer, current: str, T: int, params: dict) -> str:
    """The terminal's line for the layer: O1 = rnn(X; W1 1×1, R1 1×1) (relu, 1 unit, 3 steps)."""
    params = ", ".join(f"{name} {shape_text(params[name].shape)}" for name in layer.params)
    units = layer.option("units")
    notes = [layer.option("activation")] if layer.type == "rnn" else []
    notes += [f"{units} unit{'s' if units > 1 else ''}", f"{T} step{'s' if T > 1 else ''}"]
    if layer.option("bidirectional"):
        notes.append("two directions side by side")
    return f"{layer.name} = {layer.type}({current}; {params}) ({', '.join(notes)})"
