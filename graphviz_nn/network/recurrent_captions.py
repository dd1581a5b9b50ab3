"""Captions of recurrent layers unrolled in time: each step's gates, and backpropagation through time
as the copy rule — a weight used at every step adds what each step sends back:
`∂L/∂R1 = Σₜ h1_t−1ᵀ·dₜ = h1_0ᵀ·d₁ + h1_1ᵀ·d₂ + h1_2ᵀ·d₃ = 0 + 0.25 + 0 = 0.25`.
Numbers come from the Steps; `caption` returns None for what the network writers say already."""
from __future__ import annotations

import re

import numpy as np

from ..graph import CONST, PARAM, Graph
from ..numfmt import fmt_value
from ..ops import OPS
from ..ops.sequence import gru_gates, lstm_gates
from ..steps import BACKWARD, FORWARD, Step

SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
TIME = re.compile(r"^(.*?)(_|\[)(\d+)(\]?)$")
INITIAL = re.compile(r"^[hc]\d+(_rev)?_\d+(_\d+)?$")
# the gates whose share of a weight's gradient is written out (argument position -> the term)
WEIGHT_TERMS = {"recur": {2: "{0}ᵀ·{d}", 3: "{1}ᵀ·{d}", 4: "{d}"},
                "linear": {1: "{0}ᵀ·{d}", 2: "{d}"}, "matmul": {1: "{0}ᵀ·{d}"}}


def caption(graph: Graph, step: Step, out) -> str | None:
    """The caption of a recurrent layer's step, or None (not one of theirs). out(graph): what the
    gradients are of, L or the sum of the outputs (network/captions.py)."""
    if step.kind == "copy":
        return copy_caption(graph, step, out(graph))
    if step.kind != "gate":
        return None
    op = graph[step.gate]["op"]
    writer = WRITERS.get((step.phase, op))
    if writer and (op not in ("linear", "matmul") or graph[step.gate].get("group")):
        return writer(graph, step, out(graph))
    return None


def time_of(graph: Graph, n: str) -> int | None:
    group = graph[n].get("group")
    return int(group.split("=")[1]) if group and group.startswith("t =") else None


def is_initial_state(graph: Graph, n: str) -> bool:
    """h1_0, c1_0, h1_rev_4, h1_0_2 (neuron view): a recurrent layer's starting state, data."""
    return graph[n]["kind"] == CONST and bool(INITIAL.match(n))


def symbolic(name: str, t: int) -> str:
    """`x_2` at step 2 -> `x_t`; `h1_1` -> `h1_t−1`; `O1[3]` -> `O1[t]`."""
    found = TIME.match(name)
    if not found:
        return name
    head, open_, number, close = found.groups()
    shift = int(number) - t
    when = "t" if shift == 0 else f"t−{-shift}" if shift < 0 else f"t+{shift}"
    return f"{head}{open_}{when}{close}"


# ---- backpropagation through time: a weight used at every step --------------------------------------

def copy_caption(graph: Graph, step: Step, out: str) -> str | None:
    n = step.gate
    users = [v for _, v, _ in graph.out_edges(n)]
    if not any(graph[v].get("group") for v in users):
        return None
    if graph[n]["kind"] == PARAM:
        return weight_caption(graph, step, out)
    return state_caption(graph, step, out)


def weight_caption(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    edges = graph.out_edges(n)
    terms, general = [], None
    for (_, v, arg) in edges:
        t = time_of(graph, v)
        template = WEIGHT_TERMS.get(graph[v]["op"], {}).get(arg)
        if template is None or t is None:
            return generic_copy(graph, step, out)
        args = graph.args[v]
        terms.append(template.format(*args, d=f"d{str(t).translate(SUBSCRIPT)}"))
        general = general or template.format(*[symbolic(a, t) for a in args], d="dₜ")
    first = graph.out_edges(n)[0][1]
    d_is = f"dₜ = ∂{out}/∂{symbolic(first, time_of(graph, first))}"
    values = " + ".join(fmt_value(g) for g in step.grads)
    return (f"BPTT · {n} is the same at every step, so its gradient adds what each step sends back "
            f"(the copy rule): ∂{out}/∂{n} = Σₜ {general} = {' + '.join(terms)} = {values} = "
            f"{fmt_value(step.output)}, with {d_is}")


def state_caption(graph: Graph, step: Step, out: str) -> str:
    """h1_2 used by its step's output and by the next step: the two gradients add up."""
    n = step.gate
    t = time_of(graph, n)
    parts = []
    for (_, v, arg), grad in zip(graph.out_edges(n), step.grads):
        rule = share_rule(graph, v, arg)
        later = time_of(graph, v)
        when = " (back through time)" if later is not None and t is not None and later != t else ""
        parts.append(f"{v}: {rule}{when}")
    values = " + ".join(fmt_value(g) for g in step.grads)
    return (f"copy adds · {n} feeds {len(parts)} gates, each sends back its share (d: that gate's "
            f"gradient) — {'; '.join(parts)}: ∂{out}/∂{n} = {values} = {fmt_value(step.output)}")


def share_rule(graph: Graph, v: str, arg: int) -> str:
    """What gate v sends back to its input `arg`, in terms of its own gradient d."""
    node = graph[v]
    if node["op"] == "neuron":
        return f"d·{node['p'].names[arg]}"
    local = OPS[node["op"]].local_text(list(graph.args[v]), v, node["p"])
    rule = local[arg] if arg < len(local) else "d"
    if node["op"] in ("recur", "matmul", "linear", "stack") or "d" in rule.split("⊙")[0]:
        return rule
    return times_d(rule)


def times_d(rule: str) -> str:
    """`d⊙z`, `d⊙(1 − z)`: the upstream gradient times a local derivative, bracketed where needed."""
    return f"d⊙({rule})" if " + " in rule or " − " in rule.split("⊙")[0] else f"d⊙{rule}"


def generic_copy(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    shares = ", ".join(f"{v}: {fmt_value(g)}" for (_, v, _), g in zip(graph.out_edges(n), step.grads))
    return (f"copy adds · {n} is used at every step: ∂{out}/∂{n} adds the steps' shares ({shares}) = "
            f"{fmt_value(step.output)}")


# ---- a step's gates ----------------------------------------------------------------------------------

def recur_forward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    args = graph.args[n]
    t = time_of(graph, n)
    carried = f"; {args[1]} carries the state in" + ("" if is_initial_state(graph, args[1]) else
                                                    f" from step {time_of(graph, args[1])}")
    return (f"forward · step {t}: {n} = {graph[n]['text']} = {fmt_value(step.output)} (the same "
            f"{args[2]}, {args[3]} at every step{carried})")


def recur_backward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    args, grads = graph.args[n], step.grads
    x, h, W, R = args[:4]
    shares = [f"∂{out}/∂{W} += {x}ᵀ·d = {fmt_value(grads[2])}", f"∂{out}/∂{R} += {h}ᵀ·d = {fmt_value(grads[3])}"]
    if len(args) == 5:
        shares.append(f"∂{out}/∂{args[4]} += d = {fmt_value(grads[4])}")
    back = f"{h} is data: no gradient" if graph[h]["kind"] == CONST else \
        f"back through time ∂{out}/∂{h} gets d·{R}ᵀ = {fmt_value(grads[1])}"
    into = f"∂{out}/∂{x} = d·{W}ᵀ = {fmt_value(grads[0])}"
    return (f"backward · step {time_of(graph, n)}, d = ∂{out}/∂{n} = {fmt_value(step.output)}: this step's "
            f"shares {', '.join(shares)}; {back}; {into}")


def linear_step_backward(graph: Graph, step: Step, out: str) -> str:
    """A GRU step's ax = x·W + b or ah = h·R: the step's share of W (b) or R."""
    n = step.gate
    args, grads = graph.args[n], step.grads
    source, weight = args[0], args[1]
    shares = [f"∂{out}/∂{weight} += {source}ᵀ·d = {fmt_value(grads[1])}"]
    if len(args) == 3:
        shares.append(f"∂{out}/∂{args[2]} += d = {fmt_value(grads[2])}")
    back = f"{source} is data: no gradient" if graph[source]["kind"] == CONST else \
        f"∂{out}/∂{source} gets d·{weight}ᵀ = {fmt_value(grads[0])}"
    return (f"backward · step {time_of(graph, n)}, d = ∂{out}/∂{n} = {fmt_value(step.output)}: this step's "
            f"share {', '.join(shares)}; {back}")


def stack_forward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    args = graph.args[n]
    two = " (the forward direction's states, then the reverse direction's, side by side)" \
        if graph[n]["p"] == 2 else ""
    return (f"forward · {n} stacks the states {args[0]} … {args[-1]} as its rows{two}, one row per time step: "
            f"{n} = {fmt_value(step.output)}")


def stack_backward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    return (f"backward · {n} stacks the states: each step's state gets its row of d = ∂{out}/∂{n} = "
            f"{fmt_value(step.output)}")


def row_backward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    source = graph.args[n][0]
    return (f"backward · {n} is row {graph[n]['p'] + 1} of {source}: ∂{out}/∂{source} gets d = "
            f"{fmt_value(step.output)} in that row, 0 elsewhere")


def lstm_cell_forward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    a, c = graph.args[n]
    i, f, g, _ = lstm_gates(np.asarray(step.inputs[0]))
    return (f"forward · {n} = f⊙{c} + i⊙g with i = σ({a}[i]) = {fmt_value(i)}, f = σ({a}[f]) = "
            f"{fmt_value(f)}, g = tanh({a}[g]) = {fmt_value(g)}: {n} = {fmt_value(step.output)}")


def lstm_cell_backward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    a, c = graph.args[n]
    back = f"{c} is data: no gradient" if graph[c]["kind"] == CONST else \
        f"∂{out}/∂{c} = d⊙f = {fmt_value(step.grads[1])} (the cell path: d is only multiplied by f)"
    return (f"backward · d = ∂{out}/∂{n} = {fmt_value(step.output)}: {back}; ∂{out}/∂{a} = "
            f"[d⊙g⊙i(1−i) | d⊙{c}⊙f(1−f) | d⊙i⊙(1−g²) | 0] = {fmt_value(step.grads[0])} (blocks i, f, g, o)")


def lstm_hidden_forward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    a, c = graph.args[n]
    o = lstm_gates(np.asarray(step.inputs[0]))[3]
    return f"forward · {n} = o⊙tanh({c}) with o = σ({a}[o]) = {fmt_value(o)}: {n} = {fmt_value(step.output)}"


def lstm_hidden_backward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    a, c = graph.args[n]
    return (f"backward · d = ∂{out}/∂{n} = {fmt_value(step.output)}: ∂{out}/∂{c} = d⊙o⊙(1 − tanh²({c})) = "
            f"{fmt_value(step.grads[1])}; ∂{out}/∂{a} = [0 | 0 | 0 | d⊙tanh({c})⊙o(1−o)] = "
            f"{fmt_value(step.grads[0])} (blocks i, f, g, o)")


def gru_hidden_forward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    ax, ah, h = graph.args[n]
    r, z, cand = gru_gates(np.asarray(step.inputs[0]), np.asarray(step.inputs[1]))
    return (f"forward · {n} = (1 − z)⊙n + z⊙{h} with r = σ({ax}[r] + {ah}[r]) = {fmt_value(r)}, "
            f"z = σ({ax}[z] + {ah}[z]) = {fmt_value(z)}, n = tanh({ax}[n] + r⊙{ah}[n]) = {fmt_value(cand)}: "
            f"{n} = {fmt_value(step.output)}")


def gru_hidden_backward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    ax, ah, h = graph.args[n]
    back = f"{h} is data: no gradient" if graph[h]["kind"] == CONST else \
        f"∂{out}/∂{h} gets d⊙z = {fmt_value(step.grads[2])} directly (and more through {ah})"
    return (f"backward · d = ∂{out}/∂{n} = {fmt_value(step.output)}: {back}; ∂{out}/∂{ax} = "
            f"{fmt_value(step.grads[0])}, ∂{out}/∂{ah} = {fmt_value(step.grads[1])} (blocks r, z, n; "
            f"{ah}'s n block times r)")


def gate_forward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    p = graph[n]["p"]
    role = {"i": "input gate: how much of g enters the cell", "f": "forget gate: how much of the cell is kept",
            "o": "output gate: how much of the cell is shown", "g": "the candidate written into the cell",
            "r": "reset gate: how much of the state the candidate sees",
            "z": "update gate: how much of the old state is kept"}.get(p.letter, "")
    return f"forward · {n} = {graph[n]['text']} = {fmt_value(step.output)} ({role})"


def gate_backward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    p = graph[n]["p"]
    local = OPS["gate"].local_text(graph.args[n], n, p)[0]
    shares = ", ".join(f"∂{out}/∂{a} = {fmt_value(g)}" for a, g in zip(graph.args[n], step.grads))
    return (f"backward · d = ∂{out}/∂{n} = {fmt_value(step.output)}, times {local}, goes to block {p.letter} "
            f"(0 in the other blocks): {shares}")


def local_backward(graph: Graph, step: Step, out: str) -> str:
    """lstm_c, lstm_h, gru_mix, gru_candidate: each input gets d times its local derivative."""
    n = step.gate
    node, args = graph[n], graph.args[n]
    local = OPS[node["op"]].local_text(list(args), n, node["p"])
    parts = [f"∂{out}/∂{a} = {times_d(rule)} = {fmt_value(g)}" if graph[a]["kind"] != CONST else f"{a} is data"
             for a, rule, g in zip(args, local, step.grads)]
    note = " — along the cell path d is only multiplied by f" if node["op"] == "lstm_c" else ""
    return f"backward · {OPS[node['op']].verb}, d = ∂{out}/∂{n} = {fmt_value(step.output)}: {'; '.join(parts)}{note}"


def local_forward(graph: Graph, step: Step, out: str) -> str:
    n = step.gate
    return f"forward · {OPS[graph[n]['op']].verb}: {n} = {graph[n]['text']} = {fmt_value(step.output)}"


WRITERS = {
    (FORWARD, "recur"): recur_forward, (BACKWARD, "recur"): recur_backward,
    (BACKWARD, "linear"): linear_step_backward, (BACKWARD, "matmul"): linear_step_backward,
    (FORWARD, "stack"): stack_forward, (BACKWARD, "stack"): stack_backward,
    (BACKWARD, "row"): row_backward,
    (FORWARD, "lstm_cell"): lstm_cell_forward, (BACKWARD, "lstm_cell"): lstm_cell_backward,
    (FORWARD, "lstm_hidden"): lstm_hidden_forward, (BACKWARD, "lstm_hidden"): lstm_hidden_backward,
    (FORWARD, "gru_hidden"): gru_hidden_forward, (BACKWARD, "gru_hidden"): gru_hidden_backward,
    (FORWARD, "gate"): gate_forward, (BACKWARD, "gate"): gate_backward,
    **{(phase, op): writer for op in ("lstm_c", "lstm_h", "gru_mix", "gru_candidate")
       for phase, writer in ((FORWARD, local_forward), (BACKWARD, local_backward))},
}
