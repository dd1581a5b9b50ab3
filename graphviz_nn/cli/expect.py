"""--expect: a student's own numbers, `f=12, df/dx=10, ∂f/∂y=7`, parsed (never run) into answers."""
from __future__ import annotations

import re

import numpy as np

from ..errors import UserError, normal_name
from ..explain.answers import Answer
from .values import parse_number_or_matrix, split_top_level

GRADIENT = re.compile(r"^[∂d]\s*(?P<of>\w+)\s*/\s*[∂d]\s*(?P<wrt>\w+)$")
LITERAL = re.compile(r"\d*\.?\d+(?:[eE][-+]?\d+)?")


def parse_answers(text: str) -> list[Answer]:
    """`name=value` for a node's value, `df/dx=value` (or ∂f/∂x) for a gradient, comma-separated."""
    answers = []
    for part in split_top_level(text):
        name, sep, value = part.partition("=")
        name = normal_name(name.strip())      # as the formula's names are read (NFKC)
        if not sep or not name:
            raise UserError(f"--expect: expected name=value, got {part.strip()[:60]!r}",
                            hint="for example --expect \"f=12, df/dx=10, df/dy=7\"")
        given = parse_number_or_matrix(value, f"--expect {name}")
        gradient = GRADIENT.match(name)
        if gradient:
            answers.append(Answer(gradient["wrt"], "grad", given, tolerance(value, given), gradient["of"]))
        elif name.isidentifier():
            answers.append(Answer(name, "value", given, tolerance(value, given)))
        else:
            raise UserError(f"--expect: {name[:60]!r} is neither a node name nor a gradient like df/dx")
    return answers


def tolerance(text: str, given: np.ndarray) -> np.ndarray:
    """Half a unit in the last digit written, entry by entry: 0.20 is right for 0.1966."""
    halves = [0.5 * 10.0 ** last_digit(literal) for literal in LITERAL.findall(text)]
    if len(halves) != given.size:          # cannot happen for what parse_number_or_matrix accepts
        halves = [0.0] * given.size
    return np.reshape(halves, given.shape)


def last_digit(literal: str) -> int:
    """The power of ten of a literal's last written digit: 12 → 0, 0.20 → −2, 1.5e-3 → −4."""
    mantissa, _, exponent = literal.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return int(exponent or 0) - decimals
