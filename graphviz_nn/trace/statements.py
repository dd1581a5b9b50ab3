"""The statement view of a program: one node per named value. Each statement's gates fold into
one composite gate, `ifo1 = sigmoid(W*x1 + V*h0 + U*c0 + b)`, whose forward rule and VJP run the
statement's own small graph; its inputs are the inputs and earlier targets it reads. The passes,
captions and pictures then work a statement at a time: the chain rule between named values, as
a teacher writes an LSTM on a slide."""
from __future__ import annotations

from dataclasses import dataclass

from .. import engine
from ..graph import CONST, INPUT, OP, Graph, is_data
from ..ops import COMPOSITE, register


@dataclass(frozen=True, eq=False)
class Statement:
    """One statement's gates as a graph of their own, whose source is the statement's right-hand
    side as the program wrote it (the builder's text of its top gate: earlier statements by their
    names); `inputs` are its leaves the outer graph feeds, in argument order."""
    graph: Graph
    inputs: tuple[str, ...]

    @property
    def formula(self) -> str:
        return self.graph.source


def statement_forward(xs, p: Statement):
    return engine.forward(p.graph, dict(zip(p.inputs, xs)))[p.graph.output]


def statement_vjp(g, out, xs, p: Statement):
    values = engine.forward(p.graph, dict(zip(p.inputs, xs)))
    grads = engine.backward(p.graph, values, g)
    return tuple(grads.nodes[n] for n in p.inputs)


register(name="statement", gate=COMPOSITE, arity=None, verb="the chain rule through",
         forward=statement_forward, vjp=statement_vjp, symbol=lambda p: "=",
         text=lambda a, p: p.formula,
         local_text=lambda a, o, p: [f"∂{o}/∂{x}" for x in a])


def statement_graph(graph: Graph) -> Graph:
    """The graph with one composite gate per named value (a program's targets, and the output)."""
    kept = [n for n in graph.order if shown(graph, n)]
    attrs, args = {}, {}
    for n in kept:
        if graph[n]["kind"] == OP:
            inputs, statement = statement_of(graph, n)
            attrs[n] = {**graph[n], "op": "statement", "p": statement, "named": True}
            args[n] = list(inputs)
        else:
            attrs[n], args[n] = dict(graph[n]), []
    generation = {}
    for n in kept:
        attrs[n]["generation"] = generation[n] = 1 + max((generation[u] for u in args[n]), default=-1)
    order = sorted(kept, key=lambda n: generation[n])          # stable: the graph's order within
    return Graph(graph.output, order, attrs, args, graph.source, "statements")


def shown(graph: Graph, n: str) -> bool:
    """Named values: inputs, parameters, data; a program's targets; the output."""
    node = graph[n]
    if node["kind"] == OP:
        return bool(node.get("named")) or n == graph.output
    return node["kind"] != CONST or is_data(graph, n)


def statement_of(graph: Graph, top: str) -> tuple[list[str], Statement]:
    """The gates computing `top` back to the named values it reads (its inputs, in the order the
    formula reads them, left to right)."""
    body, inputs, todo = set(), [], [top]
    while todo:                                      # depth first, the first argument first
        n = todo.pop()
        if n in body or n in inputs:
            continue
        if n != top and shown(graph, n):
            inputs.append(n)
        else:
            body.add(n)
            todo.extend(reversed(graph.args[n]))
    order = [n for n in graph.order if n in body or n in inputs]
    attrs = {n: ({**graph[n], "kind": INPUT} if n in inputs else dict(graph[n])) for n in order}
    args = {n: [] if n in inputs else list(graph.args[n]) for n in order}
    sub = Graph(top, [n for n in order if n in inputs] + [n for n in order if n not in inputs],
                attrs, args, graph[top]["text"], "statement")
    return inputs, Statement(sub, tuple(inputs))
