"""Network captions in the exercises' backprop recipe: `d = d·W3ᵀ * O2*(1−O2)`, `∂L/∂W2 = O1ᵀ·d`;
in the neuron view, each weight's gradient `∂L/∂W2[1,1] = O1_1·d`."""
from __future__ import annotations

from functools import partial

import numpy as np

from .engine import FORWARD, Step
from .graph import CONST, Graph
from .numfmt import fmt_number, fmt_value
from .ops import OPS, loss_rule

LINEAR_OPS = ("linear", "matmul")
LOSS_OPS = ("half_sse", "sse", "mse", "half_mse", "logloss", "softmax_ce")
ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "step", "identity")


def recaption(graph: Graph, steps: list[Step]) -> list[Step]:
    """Layer view: the engine's steps with recipe captions (written when first read, like the engine's)."""
    return [Step(s.phase, s.kind, s.nodes, s.edges, partial(caption, graph, s), s.gate)
            if writer_for(s) else s for s in steps]


def recaption_neurons(graph: Graph, steps: list[Step]) -> list[Step]:
    """Neuron view: weighted sums and the loss get captions with weights and weight gradients."""
    writers = {("forward", "neuron"): neuron_forward_caption, ("backward", "neuron"): neuron_backward_caption,
               ("forward", "neuron_loss"): neuron_loss_forward_caption,
               ("backward", "neuron_loss"): neuron_loss_backward_caption}
    if not graph.is_scalar():     # one number per observation: the engine's captions show shapes only
        for op in ELEMENTWISE:
            writers[("forward", op)], writers[("backward", op)] = forward_caption, activation_caption
    result = []
    for s in steps:
        writer = writers.get((s.phase, graph[s.gate]["op"])) if s.kind == "gate" else None
        result.append(Step(s.phase, s.kind, s.nodes, s.edges, partial(writer, graph, s.gate), s.gate)
                      if writer else s)
    return result


def writer_for(step: Step):
    return (step.phase, step.kind) in (("forward", "inputs"), ("forward", "gate"),
                                      ("backward", "seed"), ("backward", "gate"))


def caption(graph: Graph, step: Step) -> str:
    if step.phase == FORWARD:
        return inputs_caption(graph, step.nodes) if step.kind == "inputs" else forward_caption(graph, step.gate)
    if step.kind == "seed":
        return seed_caption(graph)
    return backward_caption(graph, step.gate)


def named(graph: Graph, n: str) -> str:
    return f"{graph.label(n)} = {fmt_value(graph[n]['value'])}"


def inputs_caption(graph: Graph, leaves) -> str:
    data = [named(graph, n) for n in leaves if graph[n]["kind"] != CONST]
    targets = [f"target {named(graph, n)}" for n in leaves if graph[n]["kind"] == CONST]
    return "forward · inputs: " + ", ".join(data + targets)


def forward_caption(graph: Graph, n: str) -> str:
    node = graph[n]
    if node["op"] in LOSS_OPS:
        rule = loss_rule(node["op"], node["p"])
        yhat = graph.args[n][0]
        return (f"forward · L = {rule.formula.format(yhat='ŷ', y='y')} ({rule.name}, ŷ = {yhat}) = "
                f"{node['text']} = {fmt_value(node['value'])}")
    return f"forward · {n} = {node['text']} = {fmt_value(node['value'])}"


def seed_caption(graph: Graph) -> str:
    out = graph.output
    if graph[out]["op"] in LOSS_OPS:
        return "backward · start at the loss: ∂L/∂L = 1"
    return (f"backward · no loss: start from ones at the output {out} (the gradient of the sum of "
            f"its entries): d = {fmt_value(graph[out]['grad'])}")


def backward_caption(graph: Graph, n: str) -> str:
    op = graph[n]["op"]
    if op in LOSS_OPS:
        return loss_caption(graph, n)
    if op in LINEAR_OPS:
        return linear_caption(graph, n)
    return activation_caption(graph, n)


def loss_caption(graph: Graph, n: str) -> str:
    yhat = graph.args[n][0]
    rule = loss_rule(graph[n]["op"], graph[n]["p"])
    derivative = rule.derivative.format(yhat=yhat, y=graph.args[n][1])
    return (f"backward · d = ∂L/∂ŷ = {derivative} = {fmt_value(graph[yhat]['grad'])} "
            f"(y is data: no gradient flows into it)")


def grad_of(graph: Graph, n: str) -> str:
    return fmt_value(graph[n]["grad"])


def linear_caption(graph: Graph, n: str) -> str:
    args = graph.args[n]
    source, W = args[0], args[1]
    parts = [f"∂{out(graph)}/∂{W} = {source}ᵀ·d = {grad_of(graph, W)}"]
    if len(args) == 3:
        parts.append(f"∂{out(graph)}/∂{args[2]} = Σrows d = {grad_of(graph, args[2])}")
    return (f"backward · {', '.join(parts)}; "
            f"∂{out(graph)}/∂{source} = d·{W}ᵀ = {grad_of(graph, source)}")


def out(graph: Graph) -> str:
    """What the gradients are of: L, or without a loss the sum of the outputs."""
    o = graph.output
    if graph[o]["op"] in LOSS_OPS + ("neuron_loss",):
        return "L"
    return graph.label(o) if graph[o]["op"] == "total" or np.ndim(graph[o]["value"]) == 0 else f"Σ{o}"


def upstream(graph: Graph, n: str) -> str:
    """How the d arriving at activation n was made: d·Wᵀ from the next linear layer, or d itself."""
    users = graph.users[n]
    if len(users) == 1 and graph[users[0][0]]["op"] in LINEAR_OPS:
        return f"d·{graph.args[users[0][0]][1]}ᵀ"
    return "d"


def activation_caption(graph: Graph, n: str) -> str:
    node, source = graph[n], graph.args[n][0]
    d, result = upstream(graph, n), grad_of(graph, source)
    op = node["op"]
    if op == "step":
        return (f"backward · step passes no gradient: its derivative is 0 (undefined at 0), "
                f"so d = {d} * 0 = {result}: nothing before {n} learns from here")
    if op == "softmax":
        rule = f"{n} * (d − Σⱼ d*{n})" if d == "d" else f"{n} * (u − Σⱼ u*{n}) with u = {d}"
        return f"backward · softmax: d = {rule} = {result} (∂{out(graph)}/∂{source}){cross_entropy_note(graph, n)}"
    return f"backward · d = {d} * {derivative_text(op, n, source, node['p'])} = {result} (∂{out(graph)}/∂{source})"


def cross_entropy_note(graph: Graph, n: str) -> str:
    """Softmax followed by cross-entropy: the two gates together give the famous ŷ − y."""
    for v, _ in graph.users[n]:
        if graph[v]["op"] == "softmax_ce":
            return " — with softmax_ce that is " + ("(ŷ − y)/n" if graph[v]["p"] == "mean" else "ŷ − y")
    return ""


def derivative_text(op: str, o: str, h: str, p) -> str:
    """f′ written with the layer's names: σ′ = O*(1−O), relu′ = [H > 0], …"""
    return {"sigmoid": f"{o}*(1−{o})", "tanh": f"(1−{o}²)", "relu": f"[{h} > 0]",
            "identity": "1",
            "leaky_relu": f"([{h} > 0] + {fmt_number(p) if p is not None else ''}·[{h} ≤ 0])",
            }.get(op) or OPS[op].local_text([h], o, p)[0]


def update_caption(name: str, formula: str, old, grad, new, state: dict, constants: str) -> str:
    """`update · W2 ← W2 − η·∂L/∂W2 (η = 1): ∂L/∂W2 = [[0.06]]; W2: [[0]] → [[-0.06]]`, with the
    optimizer's state (v, s, m) where it has one."""
    shown = "".join(f", {slot} = {fmt_value(value)}" for slot, value in state.items())
    return (f"update · {formula} ({constants}): ∂L/∂{name} = {fmt_value(grad)}{shown}; "
            f"{name}: {fmt_value(old)} → {fmt_value(new)}")


# ---- the neuron view ------------------------------------------------------------------------

def product(a, b) -> str:
    """`0.5·0.25` for numbers; for one value per observation, the arrays."""
    return f"{operand_text(a)}·{operand_text(b)}"


def operand_text(value) -> str:
    text = fmt_value(value)
    return f"({text})" if np.ndim(value) == 0 and text.startswith("-") else text


def neuron_forward_caption(graph: Graph, n: str) -> str:
    node = graph[n]
    args, weights = graph.args[n], node["p"].weights
    numbers = " + ".join(product(graph[u]["value"], w) for u, w in zip(args, weights))
    return f"forward · {n} = {node['text']} = {numbers} = {fmt_value(node['value'])}"


def neuron_backward_caption(graph: Graph, n: str) -> str:
    """Each weight's gradient (signal × d, summed over observations) and what each input gets back."""
    node = graph[n]
    d, args, p = node["grad"], graph.args[n], node["p"]
    summed = "Σ " if np.ndim(d) else ""
    weights = [f"∂{out(graph)}/∂{name} = {summed}{u}·d = {fmt_number(np.sum(graph[u]['value'] * d))}"
               for u, name in zip(args, p.names)]
    back = [f"∂{out(graph)}/∂{u} {'+=' if len(graph.users[u]) > 1 else '='} d·{name} = {product(d, w)} = "
            f"{fmt_value(graph.edge(u, n, k)['grad'])}"
            for k, (u, name, w) in enumerate(zip(args, p.names, p.weights)) if graph[u]["kind"] != CONST]
    return f"backward · {n}, d = {fmt_value(d)}: " + ", ".join(weights) + "; " + ", ".join(back)


def neuron_loss_forward_caption(graph: Graph, n: str) -> str:
    node, m = graph[n], graph[n]["p"].outputs
    rule = loss_rule(node["p"].name, node["p"].reduction)
    args = graph.args[n]
    pairs = ", ".join(f"{a}↔{t}" for a, t in zip(args[:m], args[m:]))
    return (f"forward · L = {rule.formula.format(yhat='ŷ', y='y')} ({rule.name}; ŷ↔y: {pairs}) = "
            f"{fmt_value(node['value'])}")


def neuron_loss_backward_caption(graph: Graph, n: str) -> str:
    node, m = graph[n], graph[n]["p"].outputs
    rule = loss_rule(node["p"].name, node["p"].reduction)
    args = graph.args[n]
    parts = [f"∂L/∂{a} = {rule.derivative.format(yhat=a, y=t)} = {fmt_value(graph[a]['grad'])}"
             for a, t in zip(args[:m], args[m:])]
    return "backward · d = ∂L/∂ŷ: " + ", ".join(parts) + " (y is data: no gradient flows into it)"
