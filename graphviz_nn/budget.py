"""Budgets: what an input will cost in memory and time, worked out from shapes alone and checked
before any number is computed (DESIGN.md, "Contracts"; docs/limits.md lists every limit).

Two budgets, one unit each, for formulas and network specs alike:
- memory, in numbers held at once (`--max-numbers`): a formula's values, every intermediate
  result included; a spec's values across the passes it keeps (the drawn ones keep every matrix);
- time, in arithmetic operations (`--max-work`): a multiply-add of a matrix product or of a
  convolution, or one elementwise operation, over the forward pass, the backward pass, the
  optimizer's update and the finite differences of `--check`, times the training steps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import BudgetError
from .graph import Graph
from .numfmt import shape_text
from .ops import MATMUL, OPS

DEFAULT_MAX_NUMBERS = 20_000_000      # ~25-35 bytes each (a value, its gradient, the edges' shares):
                                      # ~0.5-0.7 GB
DEFAULT_MAX_WORK = 10_000_000_000     # ~1-2 minutes of numpy (measured: ~1e8 operations/s on small
                                      # matrices, where numpy's per-call cost shows)
BACKWARD_FACTOR = 3                   # forward + backward: a gate's VJP costs about twice its forward
JSON_FACTOR = 20                      # --json writes each number 4-5 times (value and gradient, on its
                                      # node and its edges) as Python floats, then as indented text:
                                      # ~500 bytes and ~20 µs a number, measured

# Network specs: elementwise operations per number, beyond the matrix products, per pass.
ACTIVATION_COST = 8                   # forward, local derivative, VJP, diagnostics
OPTIMIZER_COST = {"sgd": 3, "momentum": 5, "nesterov": 7, "rmsprop": 9, "adam": 14}
PASS_OVERHEAD = 200_000               # building a pass's graph and walking it: ~1 ms in operations
BATCHNORM_COST = 16                   # batchnorm: mean, variance, x̂, ×γ + β forward; its VJP's three terms
GATE_OVERHEAD = 10_000                # a gate's Python cost in a pass (~100 µs: build, forward, backward)
                                      # in operations, however small its vectors: recurrent steps
DRAWN_PASS_COST = 40                  # a drawn pass also writes every value onto its graph, records
                                      # steps, captions and diagnostics: operations per number it holds


def size_of(shape) -> int:
    return math.prod(shape)


def result_shapes(graph: Graph) -> dict:
    """Every node's shape, the gates' worked out from their inputs' with the ops' shape rules, in
    one pass over the order: nothing is computed. None where a gate's inputs do not fit (the
    evaluator then says so, naming the gate) and for everything computed from it."""
    nodes, args = graph.node_attrs, graph.args
    shapes = {n: np.shape(nodes[n]["value"]) for n in graph.leaves()}
    for n in graph.gates():
        inputs = [shapes[u] for u in args[n]]
        if any(s is None for s in inputs):
            shapes[n] = None
            continue
        rule = OPS[nodes[n]["op"]].shape
        try:
            shapes[n] = tuple(rule(inputs, nodes[n]["p"]) if rule else np.broadcast_shapes(*inputs))
        except (ValueError, TypeError):
            shapes[n] = None
    return shapes


def gate_work(op: str, inputs: list, result: tuple, p=None) -> int:
    """Operations of one gate's forward rule: the op's own count (Op.work: a convolution's
    multiply-adds), else multiply-adds of a product, else one per number."""
    if OPS[op].work is not None:
        return int(OPS[op].work(inputs, p))
    if OPS[op].gate == MATMUL and len(inputs) >= 2:
        a, b = inputs[0], inputs[1]
        return size_of(a) * (b[-1] if len(b) == 2 else 1) + sum(size_of(s) for s in inputs[2:])
    return max(size_of(result), sum(size_of(s) for s in inputs))


def check_formula(graph: Graph, max_numbers: int = DEFAULT_MAX_NUMBERS,
                  max_work: int = DEFAULT_MAX_WORK, checks: int = 0, json: bool = False) -> None:
    """Refuse a traced formula whose values would hold more than max_numbers numbers (with --json,
    each counts JSON_FACTOR times) or whose passes would take more than max_work operations.
    `checks`: forward passes the gradient check adds (2 per checked entry)."""
    shapes = result_shapes(graph)
    nodes, args = graph.node_attrs, graph.args
    numbers, work, largest = 0, 0, None
    for n, shape in shapes.items():
        if shape is None:
            continue
        numbers += size_of(shape)
        if nodes[n]["kind"] == "op":
            work += gate_work(nodes[n]["op"], [shapes[u] for u in args[n]], shape, nodes[n]["p"])
            if largest is None or size_of(shape) > size_of(shapes[largest]):
                largest = n
    weight = JSON_FACTOR if json else 1
    if numbers * weight > max_numbers:
        where = ""
        source, span = None, None
        if largest is not None:
            node = nodes[largest]
            where = f"; the largest, {node['text']}, is {shape_text(shapes[largest])}"
            if graph.source and node.get("span"):
                source, span = graph.source, node["span"]
        json_note = f" (× {JSON_FACTOR} for --json)" if json else ""
        raise BudgetError(f"the values of this formula would hold {numbers * weight:,} numbers{json_note}"
                          f"{where}: more than the limit of {max_numbers:,}", "--max-numbers",
                          source=source, span=span)
    total = work * (BACKWARD_FACTOR + checks)
    if total > max_work:
        check_note = f", and {checks:,} more forward passes for --check" if checks else ""
        raise BudgetError(f"this formula would take about {total:,} operations (forward and backward"
                          f"{check_note}): more than the limit of {max_work:,}", "--max-work")


def check_forward_passes(graph: Graph, max_checked: int) -> int:
    """Forward passes `--check` adds: one per variable at the point, two per checked entry."""
    return sum(1 + 2 * min(size_of(np.shape(graph[n]["value"])), max_checked) for n in graph.variables())


# ---- network specs ------------------------------------------------------------------------------

def pass_rows(spec) -> int:
    return max(len(spec.rows(step)) for step in (1, 2))


@dataclass(frozen=True)
class LayerCost:
    """One layer's share of one training pass: numbers it holds besides its output (masks, a
    recurrent layer's gates and states) and operations forward and backward."""
    numbers: int
    work: int


def dense_cost(layer, rows: int) -> LayerCost:
    """A matrix product forward and back, and the bias's sum."""
    in_width = size_of(layer.in_shape)
    return LayerCost(0, BACKWARD_FACTOR * rows * in_width * layer.width + (2 * rows * layer.width if layer.bias else 0))


def elementwise_cost(layer, rows: int) -> LayerCost:
    return LayerCost(0, ACTIVATION_COST * rows * layer.width)


def conv_cost(layer, rows: int) -> LayerCost:
    """The op's multiply-adds (Op.work: output cells × C·kh·kw), three times for the two VJPs."""
    work = OPS["conv2d"].work([(rows, *layer.in_shape), layer.kernel_shape], layer.p)
    return LayerCost(0, BACKWARD_FACTOR * work + (2 * rows * layer.width if layer.bias else 0))


def pool_cost(layer, rows: int) -> LayerCost:
    """Every window's cells, forward and back (max pool finds each window's maximum again)."""
    return LayerCost(0, (BACKWARD_FACTOR + 1) * OPS[layer.type].work([(rows, *layer.in_shape)], layer.p))


def copy_cost(layer, rows: int) -> LayerCost:
    return LayerCost(0, 2 * rows * layer.width)


def dropout_cost(layer, rows: int) -> LayerCost:
    """Its mask (rows·width numbers, drawn each step) besides the elementwise product."""
    return LayerCost(rows * layer.width, (ACTIVATION_COST + 1) * rows * layer.width)


def batchnorm_cost(layer, rows: int) -> LayerCost:
    """x̂ kept for the backward pass; means, variances and the three-term VJP over every entry."""
    return LayerCost(rows * layer.width, BATCHNORM_COST * rows * layer.width)


def recurrent_cost(layer, rows: int) -> LayerCost:
    """rows time steps, each its products, its gates' elementwise work and each gate's overhead
    in the graph (recurrent_spec.step_costs); the pre-activations and states it keeps."""
    from .network.recurrent_spec import step_costs, step_numbers
    products, entries, gates = step_costs(layer, size_of(layer.in_shape))
    per_step = BACKWARD_FACTOR * products + ACTIVATION_COST * entries + gates * GATE_OVERHEAD
    return LayerCost(step_numbers(layer, rows), rows * per_step)


# What each layer type costs; the activations (and prelu) are elementwise.
LAYER_COSTS = {"linear": dense_cost, "conv2d": conv_cost, "maxpool": pool_cost, "avgpool": pool_cost,
               "flatten": copy_cost, "dropout": dropout_cost, "batchnorm": batchnorm_cost,
               "rnn": recurrent_cost, "lstm": recurrent_cost, "gru": recurrent_cost}


def layer_cost(layer, rows: int) -> LayerCost:
    return LAYER_COSTS.get(layer.type, elementwise_cost)(layer, rows)


def network_numbers(spec, rows: int) -> int:
    """Numbers in one pass's values: X, the parameters, each layer's output and what it keeps
    besides (masks, gates), y and the loss."""
    numbers = rows * spec.features + sum(v.size for v in spec.params.values())
    numbers += sum(rows * layer.width + layer_cost(layer, rows).numbers for layer in spec.layers)
    if spec.loss is not None:
        numbers += rows * spec.layers[-1].width + 1
    return numbers


def network_work(spec, rows: int) -> int:
    """Operations of one training pass: each layer forward and back, the loss, the update."""
    work = sum(layer_cost(layer, rows).work for layer in spec.layers)
    if spec.loss is not None:
        work += ACTIVATION_COST * rows * spec.layers[-1].width
    if spec.train is not None:
        work += OPTIMIZER_COST.get(spec.train.optimizer, 14) * sum(v.size for v in spec.params.values())
    return work


def check_network(spec, max_numbers: int = DEFAULT_MAX_NUMBERS, max_work: int = DEFAULT_MAX_WORK,
                  drawn: int = 4, undrawn_numbers: int = 0, json: bool = False) -> None:
    """Refuse a spec whose kept passes would hold more than max_numbers numbers, or whose training
    would take more than max_work operations: from the shapes and the step count alone.
    undrawn_numbers: what the passes that are not drawn keep, all together (network/run.py)."""
    steps = spec.train.steps if spec.train else 1
    rows = pass_rows(spec)
    per_pass = network_numbers(spec, rows)
    kept = drawn * per_pass + undrawn_numbers
    weight = JSON_FACTOR if json else 1
    if kept * weight > max_numbers:
        json_note = f" (× {JSON_FACTOR} for --json)" if json else ""
        which = f"the {drawn:,} drawn passes, kept whole," if drawn > 1 else "the pass"
        raise BudgetError(f"{spec.path}: {which} would hold {kept * weight:,} numbers{json_note}, "
                          f"{per_pass:,} per pass: more than the limit of {max_numbers:,}", "--max-numbers",
                          advice=", draw fewer steps (--draw), or train fewer" if drawn > 1 else "")
    per_step = network_work(spec, rows)
    work = steps * (per_step + PASS_OVERHEAD) + drawn * DRAWN_PASS_COST * per_pass
    if work > max_work:
        what = f"{steps:,} training steps" if spec.train else "the pass"
        raise BudgetError(f"{spec.path}: {what} would take about {work:,} operations ({per_step:,} per "
                          f"step): more than the limit of {max_work:,}", "--max-work",
                          advice=", or train fewer steps" if spec.train else "")
