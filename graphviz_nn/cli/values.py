"""Values given on the command line (`--at x=1,y=2`, `--at "X=[[1,2],[-1,2]]"`): parsed, never run."""
from __future__ import annotations

import ast
import keyword

import numpy as np

from ..errors import NAME_LIMIT, UserError, normal_name
from ..ops import FUNCTIONS
from ..trace.expr import quiet_parser

MAX_ENTRIES = 100_000        # numbers in one value: ~1 s and ~100 MB to parse; a command line
                             # (128 KiB per argument on Linux) carries fewer anyway
MAX_TEXT = 20 * MAX_ENTRIES  # characters of one value
MAX_DIMENSIONS = 32          # brackets inside brackets (numpy's own limit on any version)


def split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[(" 
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def parse_assignments(text: str) -> dict[str, np.ndarray]:
    values = {}
    for part in split_top_level(text):
        name, sep, value = part.partition("=")
        name = normal_name(name.strip())     # as Python's parser reads the formula's names (NFKC)
        if not sep:
            raise UserError(f"--at expects name=value, got {part.strip()!r}",
                            hint='for example --at x=1,y=2 or --at "X=[[1,2],[-1,2]]"')
        check_name(name)
        if name in values:
            raise UserError(f"--at: {name} is given twice", hint="give each name one value")
        values[name] = parse_number_or_matrix(value, f"--at {name}")
    return values


def check_name(name: str) -> None:
    if len(name) > NAME_LIMIT:
        raise UserError(f"--at: a name of {len(name):,} characters; names are at most {NAME_LIMIT}",
                        hint="a node is drawn with its name: use a shorter one")
    if keyword.iskeyword(name):
        raise UserError(f"--at: {name} is a Python keyword, so a formula cannot use it as a name",
                        hint=f"call it something else, as {name}_ or {name[0]}1")
    if not name.isidentifier() or name.startswith("__"):
        raise UserError(f"--at: {shorten(name)!r} is not a variable name",
                        hint="names are letters, digits and _, not starting with a digit or __")
    if name in FUNCTIONS:
        raise UserError(f"--at: {name} is a function name and cannot be a variable")


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
