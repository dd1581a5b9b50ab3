"""Network specs run: forward, backward and update passes per training step, as a NetworkRun.

`run_spec(path)` is the one entry point: it reads the spec, trains (or runs one forward/backward
pass when there is no [train]) and returns the passes with their graphs, steps and numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import budget, engine
from ..errors import UserError
from ..explain import report
from ..explain.captions import Captions
from ..explain.diagnostics import Diagnostic, diagnostics, non_finite_kind
from ..graph import Graph
from ..steps import UPDATE, Step
from . import recurrent
from . import report as network_report
from .build import (annotate_weights, build_graph, check_neuron_view, entry_index, layer_program,
                    neuron_gradients, neuron_program, neuron_values, param_nodes, weight_edges)
from .captions import WRITERS, writer
from .optim import Optimizer, Update
from .selection import DEFAULT_DRAW, drawn_steps
from .spec import MAX_STEPS, NetworkSpec, load_spec

VIEWS = tuple(WRITERS)
ARRAY_BUDGET = 5_000_000   # numbers kept for the passes not drawn; above it they keep the loss only


@dataclass
class Pass:
    """One training step (or the single pass of an untrained network)."""
    number: int                          # 1-based training step; 0: no training
    rows: list[int]                      # 1-based observations in this pass
    output: np.ndarray | None            # ŷ (None: dropped, see ARRAY_BUDGET)
    loss: float | None
    gradients: dict[str, np.ndarray] | None    # X and every parameter
    grad_norms: dict[str, float]         # ‖∂L/∂Hk‖, ‖∂L/∂Ok‖: the accumulated gradient d per layer
    params_after: dict[str, np.ndarray] | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)   # the pass's dropout masks Mk
    sequence: dict = field(default_factory=dict)   # recurrent layers: ‖∂L/∂h_t‖ and gates over t (plots)
    graph: Graph | None = None           # kept for drawn passes only
    steps: list[Step] = field(default_factory=list)
    captions: Captions | None = None

    @property
    def drawn(self) -> bool:
        return self.graph is not None


@dataclass
class NetworkRun:
    spec: NetworkSpec
    view: str
    passes: list[Pass]
    optimizer: Optimizer | None = None

    @property
    def title(self) -> str:
        return self.spec.title

    def to_dict(self) -> dict:
        """The JSON document (DESIGN.md, kind "network"): one pass per training step."""
        return network_report.document(self)

    def to_json(self) -> str:
        return report.dumps(self.to_dict())

    def report_lines(self) -> list[str]:
        """What the terminal shows: the network, each drawn pass's table, losses, parameters."""
        return network_report.lines(self)

    def diagnostics(self) -> list[Diagnostic]:
        """Warnings (nan, dead ReLU, vanishing gradients, …) of the drawn passes, and nan or inf in
        any pass's loss or updated parameters (an update can make them after the last picture)."""
        found = []
        for p in self.passes:
            prefix = f"step {p.number}: " if self.optimizer else ""
            if p.drawn:
                found += [replace(d, message=prefix + d.message) for d in diagnostics(p.graph)]
            numbers = {"L": p.loss, **(p.params_after or {})}
            for name, value in numbers.items():
                bad = non_finite_kind(value)
                if bad and not (p.drawn and name == "L"):
                    found.append(Diagnostic(name, bad, f"{prefix}{name} is {bad} after the update"
                                            if name != "L" else f"{prefix}the loss is {bad}"))
        return found


def run_spec(path: str, view: str = "layers", max_steps: int = MAX_STEPS,
             draw: str = DEFAULT_DRAW, *, max_numbers: int = budget.DEFAULT_MAX_NUMBERS,
             max_work: int = budget.DEFAULT_MAX_WORK, max_bytes: int | None = None,
             json: bool = False, expand: bool = False) -> NetworkRun:
    """Read a network spec (TOML) and run it: the CLI's one call for `nngraph spec.toml`. Its cost
    in memory and time is checked from the shapes and the step count before any pass runs.
    expand (--expand): recurrent cells drawn gate by gate in the layer view."""
    spec = load_spec(path, max_steps, max_bytes, max_numbers)
    if expand and not spec.recurrent:
        raise UserError("--expand draws recurrent cells (rnn, lstm, gru) gate by gate; it applies to formulas, "
                        "not to network specs without a recurrent layer",
                        hint="a spec's layers are drawn one node per matrix (--view layers) or per neuron "
                             "(--view neurons)")
    count = spec.train.steps if spec.train else 1
    drawn = drawn_steps(draw, count)
    undrawn = (count - len(drawn)) * numbers_per_pass(spec)     # as run_network keeps them
    budget.check_network(spec, max_numbers, max_work, len(drawn),
                         undrawn if numbers_per_pass(spec) * count <= ARRAY_BUDGET else 0, json)
    with np.errstate(all="ignore"):     # overflow is reported on warning: lines, not as numpy's warnings
        return run_network(spec, view, drawn, expand)


def run_network(spec: NetworkSpec, view: str = "layers", draw: str | frozenset = DEFAULT_DRAW,
                detail: bool = False) -> NetworkRun:
    """Every training pass (or the one pass); the steps in `draw` (a --draw text or a set of
    step numbers) keep their graph, steps and captions, the others only their numbers.
    detail: a recurrent layer's gates as nodes in the layer view (--expand)."""
    if view not in VIEWS:
        raise UserError(f"unknown view {view!r}", hint="use --view layers or --view neurons")
    if view == "neurons":
        check_neuron_view(spec, max(len(spec.rows(step)) for step in (1, 2)))
    params = {name: value.copy() for name, value in spec.params.items()}
    optimizer = make_optimizer(spec)
    count = spec.train.steps if spec.train else 1
    chosen = drawn_steps(draw, count) if isinstance(draw, str) else draw
    keep_arrays = numbers_per_pass(spec) * count <= ARRAY_BUDGET
    passes = []
    for number in range(1, count + 1):
        drawn = number in chosen
        point = optimizer.points(params) if optimizer else params
        p = one_pass(spec, view, point, number if optimizer else 0, drawn, detail)
        if optimizer:
            updates = optimizer.step(params, p.gradients)
            params = {u.name: u.new for u in updates}
            p.params_after = params
            if drawn:
                p.steps += update_steps(p.graph, view, updates)
        if drawn:
            p.captions = Captions(p.graph, p.steps, writer(view, optimizer))
        if not (drawn or keep_arrays):
            p.output = p.gradients = p.params_after = None
            p.data = {}
        if not drawn and number not in (1, count):
            p.sequence = {}           # the plots show the states over time of the first and last steps
        passes.append(p)
    return NetworkRun(spec, view, passes, optimizer)


def numbers_per_pass(spec: NetworkSpec) -> int:
    """What one pass keeps: ŷ, ∂L/∂X, each parameter's gradient and new value, its masks."""
    params = sum(value.size for value in spec.params.values())
    rows = budget.pass_rows(spec)
    masks = sum(layer.width for layer in spec.layers if layer.data)
    return rows * (spec.features + spec.layers[-1].width + masks) + 2 * params


def make_optimizer(spec: NetworkSpec) -> Optimizer | None:
    if spec.train is None:
        return None
    return Optimizer(spec.train.optimizer, spec.train.lr, dict(spec.train.options), form=spec.train.form)


def one_pass(spec: NetworkSpec, view: str, params: dict, number: int, drawn: bool,
             detail: bool = False) -> Pass:
    rows = spec.rows(max(number, 1))
    X = spec.X[rows]
    y = spec.y[rows] if spec.y is not None else None
    data = spec.data(max(number, 1))
    if not drawn:
        p = fast_pass(spec, X, y, params, data, number, rows)
    elif view == "neurons":
        p = neuron_pass(spec, X, y, params, data, number, rows)
    else:
        p = layer_pass(spec, X, y, params, data, number, rows, detail)
    p.data = data
    return p


def layer_pass(spec, X, y, params, data, number, rows, detail=False) -> Pass:
    graph = build_graph(layer_program(spec, X, y, params, data, detail), spec.title)
    steps = engine.run(graph)
    grad_of = lambda n: graph[n]["grad"]
    gradients = recurrent.layer_gradients(spec, grad_of, params) if spec.recurrent else \
        {n: graph[n]["grad"] for n in graph.variables()}
    p = Pass(number, one_based(rows), graph[spec.output]["value"], loss_of(graph, spec), gradients,
             {layer.name: norm(graph[layer.name]["grad"]) for layer in spec.layers},
             graph=graph, steps=steps)
    if spec.recurrent:
        p.sequence = recurrent.sequence_record(spec, lambda n: graph[n]["value"], grad_of, "layers")
    return p


def neuron_pass(spec, X, y, params, data, number, rows) -> Pass:
    graph = build_graph(neuron_program(spec, X, y, params, data), spec.title)
    steps = engine.run(graph)
    annotate_weights(graph)
    if spec.recurrent:
        values = lambda layer, what="value": recurrent.neuron_values(graph, layer, len(X), what)
    else:
        values = lambda layer, what="value": neuron_values(graph, layer, what)
    norms = {layer.name: norm(values(layer, "grad")) for layer in spec.layers}
    p = Pass(number, one_based(rows), values(spec.layers[-1]), loss_of(graph, spec),
             neuron_gradients(graph, spec, params), norms, graph=graph, steps=steps)
    if spec.recurrent:
        p.sequence = recurrent.sequence_record(spec, lambda n: graph[n]["value"], lambda n: graph[n]["grad"],
                                               "neurons")
    return p


def fast_pass(spec, X, y, params, data, number, rows) -> Pass:
    """The same numbers through the same evaluator, without steps or captions: for the passes of
    long runs nobody draws. The numbers stay in the evaluator's dicts, not on the graph."""
    graph = build_graph(layer_program(spec, X, y, params, data), spec.title)
    values = engine.forward(graph)
    grads = engine.backward(graph, values).nodes
    loss = float(values["L"]) if spec.loss else None
    gradients = recurrent.layer_gradients(spec, grads.__getitem__, params) if spec.recurrent else \
        {n: np.asarray(grads[n]) for n in ["X", *params]}
    p = Pass(number, one_based(rows), np.asarray(values[spec.output]), loss, gradients,
             {layer.name: norm(grads[layer.name]) for layer in spec.layers})
    if spec.recurrent:
        p.sequence = recurrent.sequence_record(spec, values.__getitem__, grads.__getitem__, "layers")
    return p


def norm(a: np.ndarray) -> float:
    return float(np.linalg.norm(a))


def loss_of(graph: Graph, spec: NetworkSpec) -> float | None:
    return float(graph["L"]["value"]) if spec.loss else None


def one_based(rows: np.ndarray) -> list[int]:
    return (rows + 1).tolist()


# ---- update steps ----------------------------------------------------------------------

def update_steps(graph: Graph, view: str, updates: list[Update]) -> list[Step]:
    """One update step per parameter. Layer view: the node gets `value_after`; neuron view: each
    edge carrying one of its entries gets `weight_after`."""
    steps = []
    for u in updates:
        nodes = param_nodes(graph, u.name, u.new.size) if view == "neurons" else []
        if nodes:           # a per-neuron parameter (a1_2, gamma1_2, …): each node gets its entry
            for n, new in zip(nodes, u.new.reshape(-1)):
                graph[n]["value_after"] = new
            steps.append(Step(UPDATE, "update", None, tuple(nodes), (), update=u))
        elif view == "neurons":
            edges = tuple(weight_edges(graph, u.name))
            for edge in edges:
                attrs = graph.edge(*edge)
                attrs["weight_after"] = float(u.new[entry_index(attrs["weight_name"])])
            steps.append(Step(UPDATE, "update", None, (), edges, update=u))
        else:
            graph[u.name]["value_after"] = u.new
            steps.append(Step(UPDATE, "update", u.name, (u.name,), (), update=u))
    return steps
