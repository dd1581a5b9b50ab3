"""Programs: several statements `name = expression`, separated by `;` or newlines, each target
naming the top gate of its statement; `## title` lines group statements (a cluster each);
`const(y, M)` marks data no gradient is computed for. A bare expression is a one-statement program.
Parsed with `ast` against a whitelist, never run."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..errors import BudgetError, UserError
from ..reading import read_text
from ..graph import CONST, INPUT, Graph
from .builder import GraphBuilder, Literal
from .expr import ExpressionTracer, parse_expression, printable
from .literals import literal_value

GROUP_LINE = re.compile(r"^[ \t]*##(.*)$", re.MULTILINE)
TITLE_LIMIT = 60          # characters of a group's title (a cluster's label)
SHAPE = "a program is statements `name = expression`, one per line or separated by ;"


@dataclass(frozen=True)
class Statement:
    target: ast.Name | None       # None: a bare expression (the last statement only)
    value: ast.expr
    group: str | None             # the title of the `##` group it is in


def read_program(path: str, max_length: int) -> str:
    """A .nn file's text; its length in characters is bounded like a formula's (--max-length)."""
    def too_large(path, limit):
        return BudgetError(f"{path}: the file is larger than {limit:,} characters", "--max-length")
    text = read_text(path, max_length * 4, "the program", too_large)      # UTF-8: ≤ 4 bytes a character
    if len(text) > max_length:
        raise too_large(path, max_length)
    return text


def trace_source(source: str, values: dict, builder: GraphBuilder, constants=(),
                 max_length: int | None = None) -> Graph:
    """An expression or a program, traced into a Graph; `constants`: names given as data."""
    source = source.strip()
    tree = parse_expression(source, max_length, mode="exec") if max_length else \
        parse_expression(source, mode="exec")
    tracer = ProgramTracer(source, values, builder, set(constants))
    return tracer.run(tree)


class ProgramTracer(ExpressionTracer):
    """Traces the statements in order; each target is bound to its statement's top gate."""

    def __init__(self, source: str, values: dict, builder: GraphBuilder, constants: set):
        super().__init__(source, values, builder)
        self.constants = constants
        self.lines: dict[str, int] = {}          # target -> the line assigning it

    def run(self, tree: ast.Module) -> Graph:
        statements = self.statements(tree)
        self.lines = {s.target.id: s.target.lineno for s in statements if s.target}
        self.check_values(statements)
        result, group = None, None
        for statement in statements:
            if statement.group != group:
                group = statement.group
                self.builder.start_group(group)
            result = self.bind(statement)
        self.check_unused(statements, result)
        one_expression = len(statements) == 1 and statements[0].target is None
        return self.builder.finish(result, self.source, "expression" if one_expression else "program")

    # ---- reading the statements ----------------------------------------------------------

    def statements(self, tree: ast.Module) -> list[Statement]:
        if not tree.body:
            raise UserError("the input holds no statement", hint=SHAPE)
        groups = self.group_starts()
        found = []
        for node in tree.body:
            if self.is_const_call(node):
                self.mark_constants(node.value)
                continue
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target = node.targets[0]
            elif isinstance(node, ast.Expr):
                target = None
            else:
                raise self.refuse(node, statement_kind(node), hint=SHAPE)
            found.append(Statement(target, node.value, group_of(groups, node.lineno)))
        if not found:
            raise UserError("the program computes nothing: it only marks constants", hint=SHAPE)
        for s in found[:-1]:
            if s.target is None:
                raise UserError("only the last statement may be a bare expression (it is the output)",
                                self.source, self.span(s.value), hint="name it: `h = …`")
        self.check_targets([s.target for s in found if s.target])
        return found

    def group_starts(self) -> list[tuple[int, str | None]]:
        """(line, title) of each `## title` line; `##` alone ends the group before it."""
        starts = []
        for match in GROUP_LINE.finditer(self.source):
            line = self.source.count("\n", 0, match.start()) + 1
            title = printable(match.group(1).strip())[:TITLE_LIMIT]
            starts.append((line, title or None))
        return starts

    @staticmethod
    def is_const_call(node: ast.stmt) -> bool:
        return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "const"

    def mark_constants(self, call: ast.Call) -> None:
        if call.keywords or not call.args:
            raise UserError("const(…) takes the names of inputs", self.source, self.span(call),
                            hint="write const(y1, y2): no gradient is computed for them")
        for arg in call.args:
            if not isinstance(arg, ast.Name):
                raise self.refuse(arg, "const of anything but a name", hint="write const(y1, y2)")
            self.constants.add(arg.id)

    def check_targets(self, targets: list[ast.Name]) -> None:
        seen = {}
        for target in targets:
            name = target.id
            self.check_name(target)
            if name in seen:
                raise UserError(f"{name} is assigned twice (first on line {seen[name]})", self.source,
                                self.span(target), hint="a name is assigned once: call the new value something else")
            seen[name] = target.lineno

    def check_values(self, statements: list[Statement]) -> None:
        """--at may give a program's data statements (`w = 0.5`) other values, not its results."""
        for s in statements:
            if s.target is None:
                continue
            name = s.target.id
            if name in self.values and data_value(s.value) is None:
                raise UserError(f"{name} is computed by the program, so --at cannot give it a value",
                                self.source, self.span(s.target), hint=f"leave {name} out of --at")
            if name in self.constants and data_value(s.value) is None:
                raise UserError(f"{name} is computed, so it cannot be a constant", self.source,
                                self.span(s.target), hint="only inputs (data, targets, masks) can be constants")

    # ---- tracing ------------------------------------------------------------------------

    def bind(self, statement: Statement):
        """Trace one statement and give its target the result: a gate, or data for a number."""
        target = statement.target
        data = data_value(statement.value)
        if target is not None and data is not None:
            value = self.values.get(target.id)
            if value is None:
                value = self.data(statement.value, target.id)
            return self.input(target.id, value)
        result = self.trace(statement.value)
        if target is None:
            return result
        if isinstance(result, Literal):       # `k = 2*3`: a number, so data like `w = 0.5`
            return self.input(target.id, self.values.get(target.id, result.value))
        record = self.builder.records[result]
        if record.name is not None:
            raise UserError(f"{target.id} = {record.name} only gives {record.name} a second name",
                            self.source, self.span(statement.value),
                            hint=f"use {record.name} itself where you use {target.id}")
        self.builder.name(result, target.id)
        self.assigned[target.id] = result
        return result

    def data(self, node: ast.expr, name: str):
        return literal_value(node, name, printable(self.source[slice(*self.span(node))]))

    def input(self, name: str, value) -> int:
        kind = CONST if name in self.constants else INPUT
        record = self.builder.variable(name, value, kind)
        self.assigned[name] = record
        return record

    def missing(self, node: ast.Name) -> UserError:
        line = self.lines.get(node.id)
        if line is None:
            return super().missing(node)
        return UserError(f"{node.id} is used before it is assigned (on line {line})" if line != node.lineno
                         else f"{node.id} is used before it is assigned", self.source, self.span(node),
                         hint=f"assign {node.id} first, or give it with --at {node.id}=…")

    def check_unused(self, statements: list[Statement], result) -> None:
        """Every statement feeds the output, and every value given is used."""
        needed = self.builder.ancestors(result) if not isinstance(result, Literal) else set()
        for s in statements[:-1]:
            if s.target is not None and self.assigned.get(s.target.id) not in needed:
                raise UserError(f"{s.target.id} is computed but the output does not use it", self.source,
                                self.span(s.target), hint="use it, or leave the statement out")
        unused = sorted(set(self.values) - set(self.builder.by_name))
        if unused:
            kind = "program" if len(statements) > 1 or statements[0].target else "expression"
            raise UserError(f"{', '.join(unused)} given a value but not used in the {kind}", self.source,
                            (0, len(self.source.split("\n", 1)[0])))
        unmarked = sorted(self.constants - set(self.builder.by_name))
        if unmarked:
            raise UserError(f"{', '.join(unmarked)} marked constant but not an input of the program",
                            hint="const names inputs the formula uses: data, targets, masks")


def data_value(node: ast.expr):
    """A statement's value when it is a number or a matrix written out (`w = 0.5`,
    `X = [[1, 2], [3, 4]]`): the statement gives an input its value."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return node
    root = node
    while isinstance(root, ast.UnaryOp) and isinstance(root.op, (ast.USub, ast.UAdd)):
        root = root.operand
    return node if isinstance(root, ast.Constant) and type(root.value) in (int, float) else None


def group_of(starts: list[tuple[int, str | None]], line: int) -> str | None:
    title = None
    for start, name in starts:
        if start > line:
            break
        title = name
    return title


def statement_kind(node: ast.stmt) -> str:
    names = {ast.AugAssign: "updating a name (+=): a name is assigned once",
             ast.AnnAssign: "an annotated assignment", ast.Assign: "assigning to several names or to a part",
             ast.Import: "import", ast.ImportFrom: "import", ast.FunctionDef: "def",
             ast.For: "a loop", ast.While: "a loop", ast.If: "if"}
    return names.get(type(node), f"a {type(node).__name__} statement")
