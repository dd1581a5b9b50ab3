"""The Graph: the IR every front end produces and the engine, explainer and renderer read —
a networkx MultiDiGraph (edge key = argument position) with typed accessors."""
from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .numfmt import fmt_number

INPUT, PARAM, CONST, OP = "input", "param", "const", "op"


@dataclass(eq=False)      # a graph equals only itself (its attributes hold arrays)
class Graph:
    """The IR: nodes and edges with their attribute dicts, plus derived indexes; the same dicts
    seen as a networkx MultiDiGraph (edge key = argument position) in `nx`."""
    output: str
    order: list[str]                       # forward order: by generation, then left to right
    node_attrs: dict[str, dict] = field(repr=False)     # node -> its attributes (DESIGN.md)
    args: dict[str, list[str]] = field(repr=False)      # node -> its inputs, by position
    source: str = ""
    kind: str = "expression"
    users: dict[str, list[tuple[str, int]]] = field(init=False, repr=False)   # node -> (gate, arg)

    def __post_init__(self):
        # each node's in- and out-edges as tuples, made once: the passes and their steps share them
        self.ins = {v: tuple([(u, v, k) for k, u in enumerate(self.args[v])]) for v in self.order}
        outs = {n: [] for n in self.order}
        for edges in self.ins.values():
            for edge in edges:
                outs[edge[0]].append(edge)
        self.outs = {n: tuple(edges) for n, edges in outs.items()}
        self.users = {n: [(v, k) for _, v, k in edges] for n, edges in outs.items()}
        # an edge's attributes: the value it carries and its gradient, known once the passes ran
        self.edge_attrs = {edge: {"value": None, "grad": None}
                           for edges in self.ins.values() for edge in edges}
        # every forward pass starts from the leaves (finite differences run hundreds)
        self._leaves = tuple([n for n in self.order if self.node_attrs[n]["kind"] != OP])

    @cached_property
    def nx(self) -> "networkx.MultiDiGraph":
        """The graph for networkx, made on first use (the passes and the renderer use the indexes);
        it holds the very attribute dicts graph[n] and graph.edge(u, v, k) return."""
        with paused_cycle_collector():
            return multidigraph(self.node_attrs, self.edge_attrs)

    def __getitem__(self, n: str) -> dict:
        try:
            return self.node_attrs[n]
        except KeyError:                    # a node added to .nx after the Graph was made
            return self.nx.nodes[n]

    def edge(self, source: str, target: str, arg: int) -> dict:
        try:
            return self.edge_attrs[source, target, arg]
        except KeyError:
            return self.nx.edges[source, target, arg]

    def label(self, n: str) -> str:
        return self[n]["label"]

    def leaves(self) -> list[str]:
        return list(self._leaves)

    def variables(self) -> list[str]:
        """The inputs and parameters: the nodes a user asks gradients for."""
        return [n for n in self.order if self.node_attrs[n]["kind"] in (INPUT, PARAM)]

    def gates(self) -> list[str]:
        return [n for n in self.order if self.node_attrs[n]["kind"] == OP]

    def in_edges(self, n: str) -> tuple[tuple[str, str, int], ...]:
        return self.ins[n]

    def out_edges(self, n: str) -> tuple[tuple[str, str, int], ...]:
        return self.outs[n]

    def is_scalar(self) -> bool:
        return all(np.ndim(self[n]["value"]) == 0 for n in self.order)


def is_data(graph: Graph, n: str) -> bool:
    """A constant with a name (a target, a mask: `--const y`), as opposed to a number written in
    the formula: drawn and listed with its name and value, never with a gradient."""
    return graph[n]["kind"] == CONST and graph.label(n).isidentifier()


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def derivative(graph: Graph, x: str) -> str:
    """∂f/∂x, named for what the backward pass differentiated: the output itself (seed 1), one
    entry of it (a one-hot seed: ∂b₁/∂x), the sum of its entries (ones), or seed·∂b/∂x."""
    out, seed = graph.label(graph.output), graph[graph.output]["grad"]
    if seed is None or np.ndim(seed) == 0:
        return f"∂{out}/∂{x}" if seed is None or seed == 1 else f"{fmt_number(seed)}·∂{out}/∂{x}"
    if np.all(seed == 1):
        return f"∂Σ{out}/∂{x}"
    if np.count_nonzero(seed) == 1 and np.sum(seed) == 1:
        index = [i + 1 for i in np.unravel_index(int(np.argmax(seed)), np.shape(seed))]
        entry = str(index[0]).translate(SUBSCRIPTS) if len(index) == 1 else f"[{','.join(map(str, index))}]"
        return f"∂{out}{entry}/∂{x}"
    return f"seed·∂{out}/∂{x}"


def has_gradient(graph: Graph, n: str) -> bool:
    """Whether a node's gradient is shown: not for data, nor for a gate of data alone
    (engine.data_gates), whose gradient the passes leave None."""
    return graph[n]["kind"] != CONST and graph[n]["grad"] is not None


def multidigraph(node_attrs: dict[str, dict], edge_attrs: dict[tuple[str, str, int], dict]) -> "networkx.MultiDiGraph":
    """The networkx graph over these very attribute dicts, in their order.

    Filled through networkx's dict-of-dicts (G._node, G._succ, G._pred; "Subclasses" in its Graph
    docs): add_node and add_edge would copy every attribute dict, so the graph would not see what
    the passes write, and cost 4× as much (tests/test_core.py checks this against add_edge)."""
    import networkx    # imported when first used: the passes and the renderer never need it
    g = networkx.MultiDiGraph()
    nodes, succ, pred = g._node, g._succ, g._pred
    for n, attrs in node_attrs.items():
        nodes[n], succ[n], pred[n] = attrs, {}, {}
    for (u, v, k), attrs in edge_attrs.items():
        keys = succ[u].get(v)
        if keys is None:                  # successor and predecessor share one key dict, as in networkx
            keys = succ[u][v] = pred[v][u] = {}
        keys[k] = attrs
    return g


@contextlib.contextmanager
def paused_cycle_collector():
    """Building and running a graph makes many small objects and no reference cycles; the cycle
    collector would walk the whole growing graph again and again for nothing (15 % of the time
    at 10,000 nodes, 40 % of a forward pass). Paused for the duration, then restored as it was;
    what survives is frozen (gc.freeze), so the first collection afterwards does not scan it all
    again to free nothing (objects without cycles are still freed by reference counting)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


