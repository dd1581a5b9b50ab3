"""Network spec -> the layer-view Graph (a node per matrix) or the neuron-view Graph (a node per neuron).

Both views are first written as a Program: leaves and calls of registered ops, in order, which
the GraphBuilder turns into a Graph for the engine.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..graph import CONST, INPUT, PARAM, Graph
from ..trace.builder import GraphBuilder
from ..ops import OPS
from . import recurrent
from .cells import CELLS
from .conv_neurons import NEURON_VIEW_MAX_CELLS, spatial_edges, spatial_neurons
from .conv_spec import SPATIAL
from .ops import ACTIVATIONS, LAYERS, NeuronLoss, WeightedSum
from .program import (NEURON_VIEW_MAX_EDGES, NEURON_VIEW_MAX_ROWS, NEURON_VIEW_MAX_WIDTH, Call, Leaf,  # noqa: F401
                      Program)
from .spec import Layer, NetworkSpec

# ---- the layer view ------------------------------------------------------------------

def layer_program(spec: NetworkSpec, X: np.ndarray, y: np.ndarray | None, params: dict,
                  data: dict | None = None, detail: bool = False) -> Program:
    """X, then per layer Hk = X·Wk (+ bk) and Ok = f(Hk) (or Nk, Dk), then L = loss(ŷ, y).
    data: the pass's constants besides y, the dropout masks Mk (default: those of step 1).
    A recurrent layer is unrolled in time (network/recurrent.py); detail: its gates as nodes."""
    data = spec.data(1) if data is None else data
    program = Program([Leaf("X", INPUT, X)])
    program.leaves += [Leaf(name, PARAM, value) for name, value in params.items()]
    program.leaves += [Leaf(name, CONST, value, name) for name, value in data.items()]
    current = "X"
    for layer in spec.layers:
        if layer.type in CELLS:
            current = recurrent.layer_steps(program, layer, current, X, detail)
            continue
        program.calls.append(layer_call(layer, current))
        current = layer.name
    if spec.loss is not None:
        program.leaves.append(Leaf("y", CONST, y, "y"))
        op = OPS[spec.loss.type]
        program.calls.append(Call("L", spec.loss.type, (current, "y"), spec.loss.reduction,
                                  op.text([current, "y"], spec.loss.reduction)))
    return program


def layer_call(layer: Layer, current: str) -> Call:
    k = layer.index
    if layer.type == "linear":
        if layer.bias:
            return Call(layer.name, "linear", (current, f"W{k}", f"b{k}"), None, f"{current}·W{k} + b{k}")
        return Call(layer.name, "matmul", (current, f"W{k}"), None, f"{current}·W{k}")
    args = (current, *layer.params, *([layer.data] if layer.data else []))
    return Call(layer.name, layer.op, args, layer.p, layer_text(layer, args))


def layer_text(layer: Layer, args) -> str:
    """What a layer computes, as its node's text: σ(H1), prelu(H1, a1), H1 * M1 / (1 - 0.5)."""
    if layer.type in ACTIVATIONS:
        return f"{ACTIVATIONS[layer.type].text}({args[0]})"
    if layer.type == "dropout":
        return OPS["dropout"].text(list(args), layer.p)
    if layer.type in SPATIAL:
        return OPS[layer.op].text(list(args), layer.p)
    return f"{layer.type}({', '.join(args)})"


# ---- the neuron view ------------------------------------------------------------------

def neuron_program(spec: NetworkSpec, X: np.ndarray, y: np.ndarray | None, params: dict,
                   data: dict | None = None) -> Program:
    """Inputs x1…xd; per neuron Hk_j = Σ_i (previous_i · Wk[i,j]) + bk[j]·1 and Ok_j; then L.

    With one observation every node is a number; with several, each holds one number per observation.
    A recurrent network is unrolled in time, every layer step by step (network/recurrent.py).
    Images are laid out as flatten lays them out, x1 … x(C·H·W); conv2d, pools and flatten as
    network/conv_neurons.py draws them.
    """
    data = spec.data(1) if data is None else data
    if spec.recurrent:
        return recurrent.neuron_program(spec, X, y, params, data, neuron_layer, neuron_rule_layer)
    check_neuron_view(spec, len(X))
    column = (lambda a, j: a[0, j]) if len(X) == 1 else (lambda a, j: a[:, j])
    rows = X.reshape(len(X), -1)
    program = Program([Leaf(f"x{i + 1}", INPUT, column(rows, i)) for i in range(rows.shape[1])])
    current = [leaf.name for leaf in program.leaves]
    one = np.ones(len(X)) if len(X) > 1 else 1.0
    for layer in spec.layers:
        if layer.type in LAYERS:
            mask = data[layer.data] if layer.data else None
            current = neuron_rule_layer(program, layer, current, params,
                                        None if mask is None else [column(mask, j) for j in range(layer.width)])
        elif layer.type in SPATIAL:
            current = spatial_neurons(program, layer, current, params, one)
        else:
            current = neuron_layer(program, layer, current, params, one)
    if spec.loss is not None:
        targets = [f"y{j + 1}" for j in range(y.shape[1])]
        program.leaves += [Leaf(t, CONST, column(y, j), t) for j, t in enumerate(targets)]
        p = NeuronLoss(spec.loss.type, spec.loss.reduction, len(current))
        program.calls.append(Call("L", "neuron_loss", tuple(current + targets), p,
                                  OPS["neuron_loss"].text(current, p)))
    elif len(current) > 1:     # one output node for the graph: ones at every output, as in the layer view
        program.calls.append(Call("S", "total", tuple(current), None, OPS["total"].text(current, None)))
    return program


def neuron_layer(program: Program, layer: Layer, current: list[str], params: dict, one,
                 tag: str = "") -> list[str]:
    """tag: a time step's _t in the names of an unrolled network (H2_3_1: H2 at step 3, neuron 1)."""
    k, width = layer.index, layer.width
    names = [f"{layer.name}{tag}_{j + 1}" for j in range(width)]
    if layer.type == "linear":
        inputs = list(current)
        if layer.bias:
            program.leaves.append(Leaf(f"one{k}{tag}", CONST, np.asarray(one, dtype=float), "1"))
            inputs.append(f"one{k}{tag}")
        for j, name in enumerate(names):
            p = neuron_weights(params, k, j, len(current), layer.bias)
            program.calls.append(Call(name, "neuron", tuple(inputs), p, OPS["neuron"].text(inputs, p)))
    elif layer.type == "softmax":
        for j, name in enumerate(names):
            program.calls.append(Call(name, "softmax_at", tuple(current), j, f"softmax({layer_of(current)})[{j + 1}]"))
    else:
        for name, arg in zip(names, current):
            program.calls.append(Call(name, layer.op, (arg,), layer.p, f"{ACTIVATIONS[layer.type].text}({arg})"))
    return names


def neuron_rule_layer(program: Program, layer: Layer, current: list[str], params: dict,
                      mask_columns: list | None, tag: str = "") -> list[str]:
    """prelu, batchnorm, dropout: one gate per neuron over its input, its own entries of the
    layer's parameters as parameter nodes (a1_2; gamma1_2, beta1_2; a shared α is one node a1
    feeding every gate) and its column of the mask as a constant (M1_2). tag: as neuron_layer's;
    the parameter nodes are shared by the time steps, the mask's entries are the step's."""
    names = [f"{layer.name}{tag}_{j + 1}" for j in range(layer.width)]
    op = LAYERS[layer.type].neuron_op
    for j, (name, arg) in enumerate(zip(names, current)):
        args = [arg]
        for param in layer.params:
            shared = params[param].size == 1 and layer.width > 1
            if not (shared and j):          # at every step again: the builder keeps one node per name
                program.leaves.append(Leaf(param if shared else f"{param}_{j + 1}", PARAM,
                                           params[param].reshape(-1)[0 if shared else j]))
            args.append(param if shared else f"{param}_{j + 1}")
        if mask_columns is not None:
            node = f"{layer.data}{tag}_{j + 1}"
            program.leaves.append(Leaf(node, CONST, np.asarray(mask_columns[j], dtype=float), node))
            args.append(node)
        program.calls.append(Call(name, op, tuple(args), layer.p, OPS[op].text(args, layer.p)))
    return names


def layer_of(names: list[str]) -> str:
    return f"{names[0]}…{names[-1]}" if len(names) > 2 else ", ".join(names)


def neuron_weights(params: dict, k: int, j: int, fan_in: int, bias: bool) -> WeightedSum:
    W = params[f"W{k}"]
    weights = [float(W[i, j]) for i in range(fan_in)]
    names = [f"W{k}[{i + 1},{j + 1}]" for i in range(fan_in)]
    if bias:
        weights.append(float(params[f"b{k}"][j]))
        names.append(f"b{k}[{j + 1}]")
    return WeightedSum(tuple(weights), tuple(names))


def neuron_view_edges(spec: NetworkSpec) -> int:
    edges, width = 0, spec.features
    for layer in spec.layers:
        if layer.type in SPATIAL:
            edges += spatial_edges(layer, np.shape(spec.params.get(f"K{layer.index}")))
        elif layer.type == "linear":
            edges += (width + layer.bias) * layer.width
        elif layer.type in LAYERS:      # its input, its parameter entries and its mask column
            edges += width * (1 + len(layer.params) + (layer.data is not None))
        else:
            edges += width * width if layer.type == "softmax" else width
        width = layer.width
    return edges + (2 * width if spec.loss else width if width > 1 else 0)


def check_neuron_view(spec: NetworkSpec, rows: int) -> None:
    hint = "use --view layers, which draws one node per matrix"
    if spec.recurrent and spec.spatial:
        raise UserError("the neuron view unrolls recurrent layers or draws conv layers as neurons, not "
                        "both in one spec", hint=hint + " (or --view grid: the maps as number grids)")
    if spec.recurrent:
        return recurrent.check_neuron_view(spec, len(spec.X))
    if spec.spatial:
        hint += " (or --view grid: the maps as number grids)"
    for name, width, limit in neuron_view_widths(spec):
        if width > limit:
            cells = "cells" if limit == NEURON_VIEW_MAX_CELLS else "neurons"
            raise UserError(f"{name} has {width} {cells}: the neuron view draws at most {limit} per layer "
                            f"legibly", hint=hint)
    edges = neuron_view_edges(spec)      # after the widths: a huge conv is not counted edge by edge
    if edges > NEURON_VIEW_MAX_EDGES:
        raise UserError(f"the neuron view would draw {edges} edges; it stays legible up to "
                        f"{NEURON_VIEW_MAX_EDGES}", hint=hint)
    if rows > NEURON_VIEW_MAX_ROWS:
        raise UserError(f"each neuron would hold {rows} numbers (one per observation); the neuron "
                        f"view shows at most {NEURON_VIEW_MAX_ROWS}",
                        hint=hint + ", or train with order = [...] to use one observation per step")


def neuron_view_widths(spec: NetworkSpec) -> list[tuple[str, int, int]]:
    """Each layer's neurons and how many the view draws: images and feature maps (a pixel or cell
    per neuron, up to a 5×5 image) more than rows of neurons."""
    maps = lambda shape: len(shape) == 3
    first = (("X", spec.features, NEURON_VIEW_MAX_CELLS if spec.X.ndim == 4 else NEURON_VIEW_MAX_WIDTH),)
    return [*first, *((layer.name, layer.width, NEURON_VIEW_MAX_CELLS if maps(layer.in_shape) or maps(layer.shape)
                       else NEURON_VIEW_MAX_WIDTH) for layer in spec.layers)]


# ---- Program -> Graph --------------------------------------------------

def build_graph(program: Program, source: str) -> Graph:
    builder = GraphBuilder()
    ids = {}
    for leaf in program.leaves:
        if leaf.kind == CONST:
            ids[leaf.name] = constant(builder, leaf)
        else:
            ids[leaf.name] = builder.variable(leaf.name, leaf.value, leaf.kind)
    for call in program.calls:
        builder.start_group(call.group)
        ids[call.name] = builder.apply(call.op, [ids[a] for a in call.args], call.p, text=call.text)
        builder.records[ids[call.name]].name = call.name     # Hk, Ok, L instead of a, b, c
    return builder.finish(ids[program.output], source, "network")


def constant(builder: GraphBuilder, leaf: Leaf) -> int:
    rid = builder.const_node(builder.literal(leaf.value, leaf.label))
    builder.records[rid].name = leaf.name
    return rid


# ---- reading the neuron view back as matrices -----------------------------------------------

def annotate_weights(graph: Graph) -> None:
    """Neuron-view edges into a neuron carry its weight: `weight`, `weight_name`, and after the
    backward pass `weight_grad` = Σ over observations of signal × the neuron's gradient; an edge
    whose weight is tied (tie_weights) its `tie`."""
    for n in graph.gates():
        node = graph[n]
        if node["op"] != "neuron":
            continue
        for (u, v, k), w, name in zip(graph.in_edges(n), node["p"].weights, node["p"].names):
            attrs = graph.edge(u, v, k)
            attrs["weight"], attrs["weight_name"] = w, name
            if node["grad"] is not None:
                attrs["weight_grad"] = float(np.sum(graph[u]["value"] * node["grad"]))
    tie_weights(graph)


def tie_weights(graph: Graph) -> None:
    """A weight carried by several edges of one layer is tied (a conv layer's kernel entries and
    biases, used at every position): each of its edges gets `tie`, the entry's number among the
    tied ones, row-major by parameter (K1, b1, K2, …), which the picture colours it by. A recurrent
    network's weights, one edge per time step, are drawn as they are."""
    edges: dict[str, list] = {}
    for n in graph.gates():
        if graph[n]["op"] == "neuron" and not graph[n].get("group"):
            for edge in graph.in_edges(n):
                edges.setdefault(graph.edge(*edge)["weight_name"], []).append(edge)
    tied = sorted((name for name, carried in edges.items() if len(carried) > 1), key=tie_order)
    for number, name in enumerate(tied):
        for edge in edges[name]:
            graph.edge(*edge)["tie"] = number


def tie_order(weight_name: str) -> tuple:
    """K1[…] entries row-major, then b1[…], then K2[…], …"""
    param = weight_name[:weight_name.index("[")]
    letters = param.rstrip("0123456789")
    return int(param[len(letters):]), letters != "K", entry_index(weight_name)



def weight_edges(graph: Graph, param: str) -> list[tuple[str, str, int]]:
    """The neuron-view edges carrying the entries of one parameter matrix (W1, b2, …)."""
    prefix = f"{param}["
    return [(u, v, k) for v in graph.gates() for u, _, k in graph.in_edges(v)
            if graph.edge(u, v, k).get("weight_name", "").startswith(prefix)]


def param_nodes(graph: Graph, param: str, size: int) -> list[str]:
    """The neuron-view nodes holding a per-neuron parameter's entries: a1_1, a1_2, … (a shared α:
    a1 itself); none for a weight matrix, whose entries ride on edges."""
    nodes = [f"{param}_{j + 1}" for j in range(size)]
    if all(n in graph.node_attrs for n in nodes):
        return nodes
    return [param] if param in graph.node_attrs else []


def entry_index(weight_name: str) -> tuple[int, ...]:
    """`W1[2,3]` -> (1, 2): 0-based."""
    inside = weight_name[weight_name.index("[") + 1:-1]
    return tuple(int(i) - 1 for i in inside.split(","))


def neuron_gradients(graph: Graph, spec: NetworkSpec, params: dict) -> dict[str, np.ndarray]:
    """∂L/∂X and ∂L/∂(every parameter) as matrices, read off the neuron view. A weight on several
    edges (a recurrent layer's, at every step) adds up their gradients: the copy rule."""
    if spec.recurrent:                  # unrolled: x_t_i, one input per step and feature
        grads = {"X": recurrent.input_gradient(spec, lambda n: graph[n]["grad"])}
    else:
        names = [f"x{i + 1}" for i in range(spec.features)]
        grads = {"X": gathered(graph, names, "grad").reshape(-1, *spec.X.shape[1:])}
    for name, value in params.items():
        grads[name] = np.zeros_like(value)
        nodes = param_nodes(graph, name, value.size)
        if nodes:
            grads[name] = np.array([float(graph[n]["grad"]) for n in nodes]).reshape(value.shape)
            continue
        for edge in weight_edges(graph, name):
            attrs = graph.edge(*edge)
            grads[name][entry_index(attrs["weight_name"])] += attrs["weight_grad"]
    return grads


def neuron_values(graph: Graph, layer: Layer, what: str = "value") -> np.ndarray:
    """A layer's values (or gradients), n×width, gathered from its neurons, as the layer view has
    them (feature maps flattened row-major: the view's order)."""
    return gathered(graph, layer_neurons(graph, layer), what)


def layer_neurons(graph: Graph, layer: Layer) -> list[str]:
    """A layer's neurons: Hk_1 …; flatten draws none, its row is the neurons before it (the
    last-made of the layer outputs numbered k before it, or the inputs)."""
    if layer.type != "flatten":
        return [f"{layer.name}_{j + 1}" for j in range(layer.width)]
    made = [[f"{letter}{layer.index}_{j + 1}" for j in range(layer.width)] for letter in "HOP"]
    made = [names for names in made if any(n in graph.node_attrs for n in names)]
    if not made:
        return [f"x{j + 1}" for j in range(layer.width)]
    return max(made, key=lambda names: max(graph[n]["generation"] for n in names if n in graph.node_attrs))


def gathered(graph: Graph, names: list[str], what: str) -> np.ndarray:
    """Neurons' values (or gradients) side by side, n×len(names). A neuron nothing reads (a cell
    of no window) is not drawn: its gradient is 0."""
    present = [np.atleast_1d(graph[n][what]) for n in names if n in graph.node_attrs]
    unread = np.zeros_like(present[0]) if what == "grad" else np.full_like(present[0], np.nan)
    return np.stack([np.atleast_1d(graph[n][what]) if n in graph.node_attrs else unread for n in names], axis=-1)
