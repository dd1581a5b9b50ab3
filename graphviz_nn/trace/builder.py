"""The GraphBuilder every front end uses: records of gates, literal folding, naming, then the Graph."""
from __future__ import annotations

import string
from dataclasses import dataclass
from itertools import count, product

import numpy as np

from ..errors import UserError
from ..graph import CONST, INPUT, OP, Graph
from ..numfmt import fmt_value
from ..ops import OPS

DEFAULT_MAX_NODES = 200_000
TEXT_LIMIT = 120     # characters of source text a node keeps: a long sum's prefixes would cost n² memory

# A binary op with one literal side becomes a unary gate carrying the literal (DESIGN.md).
# (op, literal on the left?) -> unary op, and how the literal becomes its parameter.
LITERAL_GATES = {
    ("add", False): ("shift", 1), ("add", True): ("shift", 1),
    ("sub", False): ("shift", -1), ("sub", True): ("rsub", 1),
    ("mul", False): ("scale", 1), ("mul", True): ("scale", 1),
    ("div", False): ("divc", 1), ("div", True): ("rdiv", 1),
    ("pow", False): ("powc", 1), ("pow", True): ("rpow", 1),
}


@dataclass(frozen=True)
class Literal:
    """A constant the user wrote; folded into gate parameters unless constants are drawn."""
    value: np.ndarray
    text: str


@dataclass(slots=True)
class Record:
    """A node as a front end creates it, before names are given."""
    kind: str
    op: str | None = None
    args: tuple = ()
    p: float | None = None
    name: str | None = None
    text: str = ""
    span: tuple[int, int] | None = None
    value: np.ndarray | None = None
    generation: int = 0
    group: int | None = None         # index into GraphBuilder.groups: the statement group it is in


class GraphBuilder:
    """Collects records from a front end; `finish` names them and makes the Graph."""

    def __init__(self, keep_constants=False, expand=False, max_nodes=DEFAULT_MAX_NODES):
        self.keep_constants, self.expand, self.max_nodes = keep_constants, expand, max_nodes
        self.records: list[Record] = []
        self.by_name: dict[str, int] = {}        # inputs and constants, by name
        self.targets: dict[str, int] = {}        # gates a program named, by name
        self.groups: list[str] = []              # titles of statement groups (clusters)
        self.group: int | None = None            # the group of the gates being added

    def variable(self, name: str, value, kind: str = INPUT) -> int:
        if name not in self.by_name:
            self.by_name[name] = self.add(Record(kind, name=name, text=name,
                                                 value=np.asarray(value, dtype=float)))
        return self.by_name[name]

    def literal(self, value, text: str | None = None) -> Literal:
        value = np.asarray(value, dtype=float)
        return Literal(value, text or fmt_value(value))

    def apply(self, op: str, args: list, p=None, text: str | None = None, span=None):
        """Add gate `op` over args (record ids or Literals); returns a record id or a Literal."""
        # plain loops, positional Record fields: this runs once per gate (10,000s of times), and on
        # two-element lists a comprehension or keyword arguments cost more than the work itself
        literals = 0
        for a in args:
            literals += isinstance(a, Literal)
        if literals == len(args):
            with np.errstate(all="ignore"):
                value = OPS[op].forward([a.value for a in args], p)
            return self.literal(value, text)
        if literals:
            op, args, p = self.fold_literal(op, args, p)
            args = [self.const_node(a) if isinstance(a, Literal) else a for a in args]
        if self.expand and OPS[op].expansion:
            emit = lambda name, inner, q=None: self.apply(name, inner, q, span=span)
            return OPS[op].expansion(emit, args, p)
        text = text or OPS[op].text([self.arg_text(a, op, k, p) for k, a in enumerate(args)], p)
        if len(text) > TEXT_LIMIT:
            text = clip_text(text)
        generation = 0
        for a in args:
            generation = max(generation, self.records[a].generation)
        #                   kind op  args         p  name  text  span  value  generation
        return self.add(Record(OP, op, tuple(args), p, None, text, span, None, generation + 1, self.group))

    def name(self, record_id: int, name: str) -> None:
        """A program's target names the top gate of its statement."""
        self.records[record_id].name = name
        self.targets[name] = record_id

    def start_group(self, title: str | None) -> None:
        """The gates added from now on belong to a group titled `title` (None: to none)."""
        if title is None:
            self.group = None
            return
        if title not in self.groups:
            self.groups.append(title)
        self.group = self.groups.index(title)

    def fold_literal(self, op, args, p):
        if self.keep_constants or len(args) != 2 or p is not None:
            return op, args, p
        left = isinstance(args[0], Literal)
        right = isinstance(args[1], Literal)
        if left == right or (op, left) not in LITERAL_GATES:
            return op, args, p
        literal, other = (args[0], args[1]) if left else (args[1], args[0])
        if literal.value.ndim:
            return op, args, p
        gate, sign = LITERAL_GATES[op, left]
        return gate, [other], sign * float(literal.value)

    def const_node(self, literal: Literal) -> int:
        return self.add(Record(CONST, text=literal.text, value=literal.value))

    def arg_text(self, record_id: int, parent: str = "add", position: int = 0, parent_p=None) -> str:
        """An argument's text inside its gate's text, bracketed where precedence needs it."""
        record = self.records[record_id]
        if record.kind == OP and record.name is not None:       # a program's h1: by its name
            return record.name
        inner = precedence(record.op, record.p) if record.kind == OP else ATOM
        outer = precedence(parent, parent_p)
        if outer == ATOM:          # a function's arguments need no brackets
            return record.text
        if inner < outer or (inner == outer and position == 1 and parent in ("sub", "div", "pow")) \
                or (inner == outer and position == 0 and parent in ("pow", "powc")):
            return f"({record.text})"
        return record.text

    def add(self, record: Record) -> int:
        if len(self.records) >= self.max_nodes:
            raise UserError(f"the graph has more than {self.max_nodes:,} nodes",
                            hint="raise the limit with --max-nodes if you really need this")
        self.records.append(record)
        return len(self.records) - 1

    def finish(self, result, source: str = "", kind: str = "expression") -> Graph:
        if isinstance(result, Literal):
            result = self.const_node(result)
        records = self.records
        order = sorted(self.ancestors(result), key=lambda i: (records[i].generation, i))
        names = self.name_nodes(order)
        groups = self.leaf_groups(order)
        node_attrs = {names[i]: self.attributes(records[i], names[i], groups.get(i, records[i].group))
                      for i in order}
        args = {names[i]: [names[a] for a in records[i].args] for i in order}
        return Graph(names[result], list(node_attrs), node_attrs, args,
                     source or records[result].text, kind)

    def attributes(self, r: Record, name: str, group: int | None) -> dict:
        """A node's attributes in the graph (DESIGN.md, "The graph")."""
        return {"kind": r.kind, "op": r.op, "p": r.p, "label": self.display(r, name), "text": r.text,
                "span": r.span, "value": r.value, "grad": None,
                "shape": None if r.value is None else r.value.shape, "generation": r.generation,
                "group": None if group is None else self.groups[group],
                "named": r.kind == OP and r.name is not None}

    def leaf_groups(self, order: list[int]) -> dict[int, int | None]:
        """An input or constant is in the group of the gates using it when they are all in one
        group; used by several groups (a shared weight) it is drawn outside them all."""
        if not self.groups:
            return {}
        users: dict[int, set] = {}
        for i in order:
            for a in self.records[i].args:
                users.setdefault(a, set()).add(self.records[i].group)
        return {i: next(iter(users[i])) if len(users.get(i, ())) == 1 else None
                for i in order if self.records[i].kind != OP}

    def ancestors(self, result: int) -> set[int]:
        keep, stack = {result}, [result]
        while stack:
            for a in self.records[stack.pop()].args:
                if a not in keep:
                    keep.add(a)
                    stack.append(a)
        return keep

    def name_nodes(self, order: list[int]) -> dict[int, str]:
        """Inputs keep their names; gates get a, b, c, … skipping taken names; constants k1, k2, …"""
        taken = set(self.by_name) | set(self.targets)
        letters = (n for n in letter_names() if n not in taken)
        constants = (f"k{i}" for i in count(1) if f"k{i}" not in taken)
        names = {}
        for i in order:
            r = self.records[i]
            names[i] = r.name or next(letters if r.kind == OP else constants)
        return names

    @staticmethod
    def display(record: Record, name: str) -> str:
        return record.text if record.kind == CONST else name


def excerpt(source: str, start: int, end: int, limit: int = TEXT_LIMIT) -> str:
    """source[start:end], its middle cut out (…) when longer than limit; O(limit), not O(end − start)."""
    if end - start <= limit:
        return source[start:end]
    half = (limit - 1) // 2
    return f"{source[start:start + half]}…{source[end - half:end]}"


def clip_text(text: str, limit: int = TEXT_LIMIT) -> str:
    return excerpt(text, 0, len(text), limit)


def letter_names():
    """a, b, …, z, aa, ab, …: names for intermediate nodes, as the exercises write them."""
    for width in count(1):
        for letters in product(string.ascii_lowercase, repeat=width):
            yield "".join(letters)


ATOM = 9
PRECEDENCE = {"add": 1, "sub": 1, "shift": 1, "rsub": 1, "mul": 2, "div": 2, "matmul": 2,
              "scale": 3, "divc": 2, "rdiv": 2, "pow": 4, "powc": 4, "rpow": 4, "index": 5}


def precedence(op: str, p) -> int:
    """How tightly an op's text binds, as in Python: a negation `-x` tighter than `x * 3`."""
    if op == "scale" and p != -1:
        return PRECEDENCE["mul"]
    return PRECEDENCE.get(op, ATOM)
