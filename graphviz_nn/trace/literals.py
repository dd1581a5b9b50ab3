"""Numbers and matrices written as Python literals (`-2.5`, `[[1,2],[-1,2]]`) — in --at, --seed
and a program's data statements: parsed without recursion, never run."""
from __future__ import annotations

import ast

import numpy as np

from ..errors import UserError
from .expr import quiet_parser

MAX_ENTRIES = 100_000        # numbers in one value: ~1 s and ~100 MB to parse; a command line
                             # (128 KiB per argument on Linux) carries fewer anyway
MAX_TEXT = 20 * MAX_ENTRIES  # characters of one value
MAX_DIMENSIONS = 32          # brackets inside brackets (numpy's own limit on any version)



def parse_number_or_matrix(text: str, name: str) -> np.ndarray:
    """`name` says where the value came from in messages: `--at x`, `--seed`."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise UserError(f"{name}: the value is {len(text):,} characters long; the limit is {MAX_TEXT:,}")
    try:
        with quiet_parser():
            tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise UserError(f"{name}: {shorten(text)!r} is not a number or a matrix",
                        hint="write numbers like 1, -2.5, 1e-3 and matrices like [[1,2],[3,4]]") from None
    return literal_value(tree, name, text)


def literal_value(tree: ast.AST, name: str, text: str) -> np.ndarray:
    """The array a literal's ast writes out; `name` and `text` for the messages."""
    entries = literal_numbers(tree, name, text)
    try:
        value = np.array(entries, dtype=float)
    except ValueError:
        raise UserError(f"{name}: the rows of the matrix have different lengths") from None
    if value.size == 0:
        raise UserError(f"{name}: the matrix is empty", hint="give it at least one number")
    if value.size > MAX_ENTRIES:
        raise UserError(f"{name}: {value.size:,} numbers is more than the limit of {MAX_ENTRIES:,}")
    return value


def literal_numbers(tree: ast.AST, name: str, text: str):
    """Nested lists of numbers, walked without recursion (so deep brackets cannot crash us)."""
    count = 0

    def number(node):
        sign = 1.0
        while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            sign = -sign if isinstance(node.op, ast.USub) else sign
            node = node.operand
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            try:
                return sign * float(node.value)
            except OverflowError:
                pass
        raise UserError(f"{name}: {shorten(text)!r} is not a number or a matrix",
                        hint="write numbers like 1, -2.5, 1e-3 and matrices like [[1,2],[3,4]]")

    root: list = []
    stack = [(tree, root, 0)]
    while stack:
        node, into, depth = stack.pop()
        if isinstance(node, (ast.List, ast.Tuple)):
            if depth == MAX_DIMENSIONS:
                raise UserError(f"{name}: more than {MAX_DIMENSIONS} levels of brackets")
            inner: list = []
            into.append(inner)
            stack.extend((e, inner, depth + 1) for e in reversed(node.elts))
            continue
        into.append(number(node))
        count += 1
        if count > MAX_ENTRIES:
            raise UserError(f"{name}: more numbers than the limit of {MAX_ENTRIES:,}")
    return root[0]


def shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width] + "…"
