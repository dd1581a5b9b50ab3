"""A network run in words and JSON: the terminal's lines and the document of DESIGN.md (kind "network")."""
from __future__ import annotations

import numpy as np

from ..explain import report
from ..graph import Graph
from ..numfmt import fmt_value, shape_text, to_json
from ..ops import OPS
from .optim import Optimizer
from .spec import NetworkSpec
from .build import layer_call
from .cells import CELLS
from .ops import BATCHNORM_EPS

# The functions take a network.run.NetworkRun and its Pass records (duck-typed: run.py imports
# this module, so it is not imported back).

SUMMARY_LINES = 12         # losses listed for a long run's passes that are not drawn


def document(run) -> dict:
    doc = report.document(run.spec.path, "network", [pass_dict(run, p) for p in run.passes])
    doc.update(title=run.title, view=run.view, network=describe_network(run.spec))
    if run.optimizer:
        doc["training"] = {"optimizer": run.optimizer.name, "lr": run.optimizer.lr,
                           **run.optimizer.options, "update": run.optimizer.formula(),
                           "steps": len(run.passes), "order": list(run.spec.train.order or []) or None}
    return doc


def pass_dict(run, p) -> dict:
    """A drawn pass: DESIGN.md's pass plus the network's keys. Not drawn: the numbers only (and of a
    long run of a large network, only the loss: see run.ARRAY_BUDGET)."""
    extra = {"observations": p.rows}
    if run.optimizer:
        extra["training_step"] = p.number
    if p.loss is not None:
        extra["loss"] = to_json(p.loss)
    if p.gradients is not None:
        extra["gradients"] = as_json(p.gradients)
    if p.params_after is not None:
        extra["params_after"] = as_json(p.params_after)
    if p.data:
        extra["masks"] = as_json(p.data)
    if not p.drawn:
        return ({"output": to_json(p.output)} if p.output is not None else {}) | extra
    if run.view == "neurons":
        extra["weights"] = weights_json(p.graph)
    return report.graph_pass(p.graph, **extra)


def lines(run) -> list[str]:
    result = [run.title, network_line(run.spec)]
    if run.optimizer:
        result.append(training_line(run.spec, run.optimizer))
    listed = listed_passes([p for p in run.passes if not p.drawn])
    for p in run.passes:
        if p.drawn:
            result += [""] + pass_lines(run, p)
        elif p.number in listed:
            result.append(compact_line(p, run.spec.recurrent))
    if run.optimizer and len(run.passes) > 1:
        result += ["", f"after {len(run.passes)} steps:"] + param_lines(run.passes[-1].params_after)
    return result


# ---- JSON pieces ----------------------------------------------------------------------------

def as_json(arrays: dict) -> dict:
    return {name: to_json(value) for name, value in arrays.items()}


def weights_json(graph: Graph) -> list[dict]:
    """Neuron view: the weight on each edge, its gradient and (after an update) its new value."""
    rows = []
    for v in graph.gates():
        for u, _, k in graph.in_edges(v):
            attrs = graph.edge(u, v, k)
            if "weight_name" in attrs:
                name = attrs["weight_name"]
                rows.append({"source": u, "target": v, "arg": k, "param": name[:name.index("[")],
                             "name": name, "value": attrs["weight"], "grad": attrs.get("weight_grad"),
                             **({"after": attrs["weight_after"]} if "weight_after" in attrs else {})})
    return rows


def describe_network(spec: NetworkSpec) -> dict:
    return {"layers": [describe_layer(layer) for layer in spec.layers],
            "loss": None if spec.loss is None else {"type": spec.loss.type, "reduction": spec.loss.reduction},
            "output": spec.output}


def describe_layer(layer) -> dict:
    """A layer in the JSON: type, name, width; a linear layer's bias; the options of the others
    (slope, shared, p, seed), the parameters they learn and the mask they take."""
    described = {"type": layer.type, "name": layer.name, "width": layer.width}
    if layer.type == "linear":
        return described | {"bias": layer.bias}
    described |= dict(layer.options)
    if layer.type in CELLS:
        described["bias"] = layer.bias
    if layer.params:
        described["params"] = layer.params
    if layer.type == "batchnorm":
        described["eps"] = BATCHNORM_EPS
    if layer.data:
        described["data"] = layer.data
        if layer.masks:
            described["masks"] = len(layer.masks)
    return described


# ---- terminal lines ------------------------------------------------------------------------------

def network_line(spec: NetworkSpec) -> str:
    parts, current = [f"X {shape_text(spec.X.shape)}"], "X"
    for layer in spec.layers:
        if layer.type in CELLS:
            from .recurrent import describe
            parts.append(describe(layer, current, len(spec.X), spec.params))
            current = layer.name
            continue
        call = layer_call(layer, current)
        width = f" ({shape_text(spec.params[f'W{layer.index}'].shape)})" if layer.type == "linear" else \
            layer_note(layer)
        parts.append(f"{layer.name} = {call.text}{width}")
        current = layer.name
    line = "network: " + " → ".join(parts)
    if spec.loss:
        line += f"; loss L = {OPS[spec.loss.type].text([current, 'y'], spec.loss.reduction)} ({spec.loss.type})"
    else:
        line += "; no loss: the backward pass starts from ones at the output"
    return line


def layer_note(layer) -> str:
    """What a layer's formula does not say: dropout's rate and masks, batchnorm's ε, a shared α."""
    if layer.type == "dropout":
        masks = f"{len(layer.masks)} given mask{'s' if len(layer.masks) > 1 else ''}" if layer.masks else \
            (f"random masks, seed {layer.option('seed')}" if layer.option("seed") is not None
             else "random masks from the spec's seed")
        return f" (p = {layer.p:g}, {masks})"
    if layer.type == "batchnorm":
        return f" (batch statistics, ε = {BATCHNORM_EPS:g})"
    if layer.type == "prelu" and layer.option("shared"):
        return " (one α shared by the layer)"
    if layer.type == "conv2d":
        return f" (K{layer.index} {shape_text(layer.kernel_shape)}: {shape_text(layer.in_shape)} → {shape_text(layer.shape)})"
    if layer.type in ("maxpool", "avgpool", "flatten"):
        return f" ({shape_text(layer.in_shape)} → {shape_text(layer.shape)})"
    return ""


def training_line(spec: NetworkSpec, optimizer: Optimizer) -> str:
    train = spec.train
    batch = (f"one observation per step, order {list(train.order)}" if train.order
             else f"the whole sequence ({len(spec.X)} time steps)" if spec.recurrent
             else f"full batch ({len(spec.X)} observations)")
    steps = f"{train.steps} step" + ("" if train.steps == 1 else "s")
    return (f"training: {optimizer.name}, {optimizer.constants()}, {steps}, {batch}; "
            f"update {optimizer.formula()}")


def pass_lines(run, p) -> list[str]:
    head = f"step {p.number} of {len(run.passes)}" if run.optimizer else "forward and backward pass"
    rows = f"time steps 1–{len(p.rows)}" if run.spec.recurrent else \
        f"observation{'s' if len(p.rows) > 1 else ''} {', '.join(map(str, p.rows))}"
    lines = [f"── {head} · {rows} ──"]
    lines += report.node_table(p.graph)
    if p.loss is not None:
        lines.append(f"L = {fmt_value(p.loss)}")
    out = "L" if p.loss is not None else f"Σ{run.spec.output}"
    lines += [f"∂{out}/∂{name} = {fmt_value(g)}" for name, g in p.gradients.items()]
    if p.params_after is not None:
        lines += [f"after the update ({run.optimizer.formula()}):"] + param_lines(p.params_after)
    return lines


def param_lines(params: dict) -> list[str]:
    return [f"  {name} = {fmt_value(value)}" for name, value in params.items()]


def compact_line(p, recurrent: bool = False) -> str:
    loss = f"L = {fmt_value(p.loss)}" if p.loss is not None else f"ŷ = {fmt_value(p.output)}"
    rows = f"time steps 1–{len(p.rows)}" if recurrent else f"observations {', '.join(map(str, p.rows))}"
    return f"step {p.number} · {rows} · {loss}"


def listed_passes(undrawn: list) -> set[int]:
    """The undrawn passes the terminal lists: all of a few, or SUMMARY_LINES spread over many."""
    if len(undrawn) <= SUMMARY_LINES:
        return {p.number for p in undrawn}
    picks = np.linspace(0, len(undrawn) - 1, SUMMARY_LINES).round().astype(int)
    return {undrawn[i].number for i in picks}
