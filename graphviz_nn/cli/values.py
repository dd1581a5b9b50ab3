"""Values given on the command line (`--at x=1,y=2`, `--at "X=[[1,2],[-1,2]]"`): parsed, never run."""
from __future__ import annotations

import keyword

import numpy as np

from ..errors import NAME_LIMIT, UserError, normal_name
from ..ops import FUNCTIONS
from ..trace.literals import parse_number_or_matrix, shorten


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
