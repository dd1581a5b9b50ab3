"""Network captions in the exercises' backprop recipe: `d = d·W3ᵀ * O2*(1−O2)`, `∂L/∂W2 = O1ᵀ·d`;
in the neuron view, each weight's gradient `∂L/∂W2[1,1] = O1_1·d`. Numbers come from the Steps;
the graph gives names and structure. `WRITERS` chooses the writer by view."""
from __future__ import annotations

from functools import partial

import numpy as np

from ..explain.captions import expression_caption, operand
from ..graph import CONST, Graph
from ..numfmt import fmt_number, fmt_value
from ..ops import OPS
from ..steps import BACKWARD, FORWARD, Step
from .ops import ACTIVATIONS, BATCHNORM_EPS, LOSSES, loss_rule
from .recurrent_captions import caption as recurrent_caption, is_initial_state
from .conv_captions import CONV_WRITERS, NEURON_CONV_WRITERS, tie_legend, tie_totals

LINEAR_OPS = ("linear", "matmul")


def writer(view: str, optimizer=None):
    """The caption writer of a view (layers | neurons), with the optimizer for update steps."""
    return partial(WRITERS[view], optimizer=optimizer)


def layer_caption(graph: Graph, step: Step, optimizer=None) -> str:
    if step.kind == "update":
        return update_caption(step.update, optimizer)
    unrolled = recurrent_caption(graph, step, out)        # a recurrent layer's steps, BPTT
    if unrolled:
        return unrolled
    if step.kind == "inputs":
        return inputs_caption(graph, step)
    if step.kind == "seed":
        return seed_caption(graph, step)
    if step.kind == "gate":
        special = LAYER_WRITERS.get((step.phase, graph[step.gate]["op"]))
        if special:
            return special(graph, step)
        return forward_caption(graph, step) if step.phase == FORWARD else backward_caption(graph, step)
    return expression_caption(graph, step)


def neuron_caption(graph: Graph, step: Step, optimizer=None) -> str:
    """Weighted sums and the loss with weights and weight gradients; activations holding one
    number per observation in the recipe's words; the rest as for formulas."""
    if step.kind == "update":
        return update_caption(step.update, optimizer)
    unrolled = recurrent_caption(graph, step, out)
    if unrolled:
        return unrolled
    if step.kind != "gate":
        return expression_caption(graph, step)
    op = graph[step.gate]["op"]
    special = NEURON_WRITERS.get((step.phase, op)) or LAYER_WRITERS.get((step.phase, op))
    if special:
        return special(graph, step)
    if op in ACTIVATIONS and not graph.is_scalar():
        return forward_caption(graph, step) if step.phase == FORWARD else activation_caption(graph, step)
    return expression_caption(graph, step)


def inputs_caption(graph: Graph, step: Step) -> str:
    named = {n: f"{graph.label(n)} = {fmt_value(v)}" for n, v in zip(step.nodes, step.inputs)}
    data = [named[n] for n in step.nodes if graph[n]["kind"] != CONST]
    constants = [f"{data_role(graph, n)} {named[n]}" for n in step.nodes if graph[n]["kind"] == CONST]
    return "forward · inputs: " + ", ".join(data + constants)


def data_role(graph: Graph, n: str) -> str:
    if is_mask(graph, n):
        return "dropout mask"
    return "initial state" if is_initial_state(graph, n) else "target"


def is_mask(graph: Graph, n: str) -> bool:
    return any(graph[v]["op"] == "dropout" for v, _ in graph.users[n])


def forward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    node = graph[n]
    if node["op"] in LOSSES:
        rule = loss_rule(node["op"], node["p"])
        yhat = graph.args[n][0]
        return (f"forward · L = {rule.formula.format(yhat='ŷ', y='y')} ({rule.name}, ŷ = {yhat}) = "
                f"{node['text']} = {fmt_value(step.output)}")
    return f"forward · {n} = {node['text']} = {fmt_value(step.output)}"


def seed_caption(graph: Graph, step: Step) -> str:
    out = graph.output
    if graph[out]["op"] in LOSSES:
        return "backward · start at the loss: ∂L/∂L = 1"
    return (f"backward · no loss: start from ones at the output {out} (the gradient of the sum of "
            f"its entries): d = {fmt_value(step.output)}")


def backward_caption(graph: Graph, step: Step) -> str:
    op = graph[step.gate]["op"]
    if op in LOSSES:
        return loss_caption(graph, step)
    if op in LINEAR_OPS:
        return linear_caption(graph, step)
    return activation_caption(graph, step)


def loss_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    yhat, y = graph.args[n]
    rule = loss_rule(graph[n]["op"], graph[n]["p"])
    return (f"backward · d = ∂L/∂ŷ = {rule.derivative.format(yhat=yhat, y=y)} = "
            f"{fmt_value(step.grads[0])} (y is data: no gradient flows into it)")


def linear_caption(graph: Graph, step: Step) -> str:
    args = graph.args[step.gate]
    source, W = args[0], args[1]
    parts = [f"∂{out(graph)}/∂{W} = {source}ᵀ·d = {fmt_value(step.grads[1])}"]
    if len(args) == 3:
        parts.append(f"∂{out(graph)}/∂{args[2]} = Σrows d = {fmt_value(step.grads[2])}")
    return (f"backward · {', '.join(parts)}; "
            f"∂{out(graph)}/∂{source} = d·{W}ᵀ = {fmt_value(step.grads[0])}")


def out(graph: Graph) -> str:
    """What the gradients are of: L, or without a loss the sum of the outputs."""
    o = graph.output
    if graph[o]["op"] in (*LOSSES, "neuron_loss"):
        return "L"
    return graph.label(o) if graph[o]["op"] == "total" or np.ndim(graph[o]["value"]) == 0 else f"Σ{o}"


def upstream(graph: Graph, n: str) -> str:
    """How the d arriving at activation n was made: d·Wᵀ from the next linear layer, or d itself."""
    users = graph.users[n]
    if len(users) == 1 and graph[users[0][0]]["op"] in LINEAR_OPS:
        return f"d·{graph.args[users[0][0]][1]}ᵀ"
    return "d"


def activation_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    node, source = graph[n], graph.args[n][0]
    d, result = upstream(graph, n), fmt_value(step.grads[0])
    op = node["op"]
    if op == "step":
        return (f"backward · step passes no gradient: its derivative is 0 (undefined at 0), "
                f"so d = {d} * 0 = {result}: nothing before {n} learns from here")
    if op == "softmax":
        rule = f"{n} * (d − Σⱼ d*{n})" if d == "d" else f"{n} * (u − Σⱼ u*{n}) with u = {d}"
        return f"backward · softmax: d = {rule} = {result} (∂{out(graph)}/∂{source}){cross_entropy_note(graph, n)}"
    derivative = OPS[op].local_text([source], n, node["p"])[0]
    return f"backward · d = {d} * {derivative} = {result} (∂{out(graph)}/∂{source})"


def cross_entropy_note(graph: Graph, n: str) -> str:
    """Softmax followed by cross-entropy: the two gates together give the famous ŷ − y."""
    for v, _ in graph.users[n]:
        if graph[v]["op"] == "softmax_ce":
            return " — with softmax_ce that is " + ("(ŷ − y)/n" if graph[v]["p"] == "mean" else "ŷ − y")
    return ""


def update_caption(update, optimizer) -> str:
    """`update · W2 ← W2 − η·∂L/∂W2 (η = 1): ∂L/∂W2 = [[0.06]]; W2: [[0]] → [[-0.06]]`, with the
    optimizer's state (v, s, m) where it has one."""
    name = update.name
    shown = "".join(f", {slot} = {fmt_value(value)}" for slot, value in update.state.items())
    at = "" if update.at is None else f" at the look-ahead {name}̃ = {fmt_value(update.at)}"
    return (f"update · {optimizer.formula(name)} ({optimizer.constants()}): ∂L/∂{name}{at} = "
            f"{fmt_value(update.grad)}{shown}; {name}: {fmt_value(update.old)} → {fmt_value(update.new)}")


# ---- the neuron view ------------------------------------------------------------------------

def product(a, b) -> str:
    """`0.5·0.25` for numbers; for one value per observation, the arrays."""
    return f"{operand_text(a)}·{operand_text(b)}"


def operand_text(value) -> str:
    return operand(value) if np.ndim(value) == 0 else fmt_value(value)


def neuron_forward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    node = graph[n]
    numbers = " + ".join(product(x, w) for x, w in zip(step.inputs, node["p"].weights))
    return f"forward · {n} = {node['text']} = {numbers} = {fmt_value(step.output)}{tie_legend(graph, n)}"


def neuron_backward_caption(graph: Graph, step: Step) -> str:
    """Each weight's gradient (signal × d, summed over observations) and what each input gets back."""
    n, d = step.gate, step.output
    args, p = graph.args[n], graph[n]["p"]
    summed = "Σ " if np.ndim(d) else ""
    shared = "+=" if graph[n].get("group") else "="      # unrolled in time: each step adds its share
    ties = [("tie" in graph.edge(*e)) for e in graph.in_edges(n)]      # a conv's: each position adds
    weights = [f"∂{out(graph)}/∂{name} {'+=' if tie else shared} {summed}{u}·d = {fmt_number(np.sum(x * d))}"
               for u, x, name, tie in zip(args, step.inputs, p.names, ties)]
    back = [f"∂{out(graph)}/∂{u} {'+=' if len(graph.users[u]) > 1 else '='} d·{name} = {product(d, w)} = "
            f"{fmt_value(grad)}"
            for u, name, w, grad in zip(args, p.names, p.weights, step.grads) if graph[u]["kind"] != CONST]
    return f"backward · {n}, d = {fmt_value(d)}: " + ", ".join(weights) + "; " + ", ".join(back) + \
        tie_totals(graph, n, out)


def neuron_loss_forward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    node, m = graph[n], graph[n]["p"].outputs
    rule = loss_rule(node["p"].name, node["p"].reduction)
    args = graph.args[n]
    pairs = ", ".join(f"{a}↔{t}" for a, t in zip(args[:m], args[m:]))
    return (f"forward · L = {rule.formula.format(yhat='ŷ', y='y')} ({rule.name}; ŷ↔y: {pairs}) = "
            f"{fmt_value(step.output)}")


def neuron_loss_backward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    node, m = graph[n], graph[n]["p"].outputs
    rule = loss_rule(node["p"].name, node["p"].reduction)
    args = graph.args[n]
    parts = [f"∂L/∂{a} = {rule.derivative.format(yhat=a, y=t)} = {fmt_value(grad)}"
             for a, t, grad in zip(args[:m], args[m:], step.grads)]
    return "backward · d = ∂L/∂ŷ: " + ", ".join(parts) + " (y is data: no gradient flows into it)"


# ---- prelu, batchnorm and dropout: in both views, in the same words ---------------------------

def summed(grad, x) -> str:
    """How a per-neuron parameter's gradient sums d over what it touched: over the rows (one entry
    per column), over everything (one entry for the layer), over the observations of one neuron."""
    if np.shape(grad) == np.shape(x):
        return ""
    return "Σrows " if np.ndim(x) == 2 and np.size(grad) > 1 else "Σ "


def prelu_forward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    x, a = graph.args[n]
    shared = "one α for the layer" if np.size(step.inputs[1]) == 1 and np.ndim(step.inputs[0]) == 2 else \
        ("one α per neuron" if np.ndim(step.inputs[0]) == 2 else "this neuron's α")
    return (f"forward · {n} = prelu({x}, {a}): {x} where {x} > 0, {a}·{x} where {x} ≤ 0 ({shared}, "
            f"{a} = {fmt_value(step.inputs[1])}) = {fmt_value(step.output)}")


def prelu_backward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    x, a = graph.args[n]
    d, (dx, da) = upstream(graph, n), step.grads
    return (f"backward · ∂{out(graph)}/∂{a} = {summed(da, step.inputs[0])}{d} * {x}·[{x} ≤ 0] = "
            f"{fmt_value(da)} (α learns from the negative inputs only); "
            f"d = {d} * ([{x} > 0] + {a}·[{x} ≤ 0]) = {fmt_value(dx)} (∂{out(graph)}/∂{x})")


def batchnorm_forward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    x, gamma, beta = graph.args[n]
    values = np.asarray(step.inputs[0])
    rows = f"each column over its {len(values)} rows" if values.ndim == 2 else \
        f"over the {len(values)} observations"
    mean, var = np.mean(values, axis=0), np.var(values, axis=0)
    return (f"forward · {n} = {gamma}·x̂ + {beta} with x̂ = ({x} − μ)/√(σ² + ε), {rows}: μ = {fmt_value(mean)}, "
            f"σ² = {fmt_value(var)} (biased: divided by {len(values)}), ε = {fmt_number(BATCHNORM_EPS)}; "
            f"x̂ = {fmt_value((values - mean) / np.sqrt(var + BATCHNORM_EPS))} → {n} = {fmt_value(step.output)}")


def batchnorm_backward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    x, gamma, beta = graph.args[n]
    d, (dx, dgamma, dbeta) = upstream(graph, n), step.grads
    over = "Σrows " if np.ndim(step.inputs[0]) == 2 else "Σ "
    named = "" if d == "d" else f" with d = {d}"
    return (f"backward · ∂{out(graph)}/∂{gamma} = {over}d * x̂ = {fmt_value(dgamma)}, ∂{out(graph)}/∂{beta} = "
            f"{over}d = {fmt_value(dbeta)}; d = {gamma}/√(σ² + ε) * (d − mean(d) − x̂ * mean(d * x̂)){named} = "
            f"{fmt_value(dx)} (∂{out(graph)}/∂{x}: μ and σ² depend on every observation, so each gets a share)")


def dropout_forward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    x, mask = graph.args[n]
    p = graph[n]["p"]
    if np.ndim(step.inputs[1]) == 0:          # one neuron, one observation
        kept = f"keeps it, ×{fmt_number(1 / (1 - p))}" if step.inputs[1] else "drops it"
        return (f"forward · {n} = {x} * {mask}/(1 − p), p = {fmt_number(p)}: {mask} = "
                f"{fmt_number(step.inputs[1])} {kept} = {fmt_value(step.output)}")
    return (f"forward · {n} = {x} * {mask}/(1 − p), p = {fmt_number(p)}: the mask {mask} = "
            f"{fmt_value(step.inputs[1])} keeps (1) or drops (0) each entry, a kept one ×{fmt_number(1 / (1 - p))} "
            f"= {fmt_value(step.output)}")


def dropout_backward_caption(graph: Graph, step: Step) -> str:
    n = step.gate
    x, mask = graph.args[n]
    p = graph[n]["p"]
    return (f"backward · d = {upstream(graph, n)} * {mask}/(1 − {fmt_number(p)}) = {fmt_value(step.grads[0])} "
            f"(∂{out(graph)}/∂{x}): a dropped entry passes nothing back; {mask} is data: no gradient flows into it")


LAYER_WRITERS = {(FORWARD, "prelu"): prelu_forward_caption, (BACKWARD, "prelu"): prelu_backward_caption,
                 (FORWARD, "batchnorm"): batchnorm_forward_caption,
                 (BACKWARD, "batchnorm"): batchnorm_backward_caption,
                 (FORWARD, "batchnorm_neuron"): batchnorm_forward_caption,
                 (BACKWARD, "batchnorm_neuron"): batchnorm_backward_caption,
                 (FORWARD, "dropout"): dropout_forward_caption, (BACKWARD, "dropout"): dropout_backward_caption,
                 **{key: partial(write, out=out) for key, write in CONV_WRITERS.items()}}
NEURON_WRITERS = {(FORWARD, "neuron"): neuron_forward_caption, (BACKWARD, "neuron"): neuron_backward_caption,
                  (FORWARD, "neuron_loss"): neuron_loss_forward_caption,
                  (BACKWARD, "neuron_loss"): neuron_loss_backward_caption,
                  **{key: partial(write, out=out) for key, write in NEURON_CONV_WRITERS.items()}}
WRITERS = {"layers": layer_caption, "neurons": neuron_caption}
