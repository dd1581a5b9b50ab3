"""Numbers formatted for people: no float noise, a chosen precision, optional exact fractions."""
from __future__ import annotations

import contextlib
import math

import numpy as np

PRECISION = 4           # significant digits
FRACTIONS = False       # show 0.03125 as 1/32
SMALL_ARRAY = 16        # arrays with more entries than this are summarised


@contextlib.contextmanager
def number_style(precision: int | None = None, fractions: bool | None = None):
    """Temporarily change how every number in captions, tables and pictures is written."""
    global PRECISION, FRACTIONS
    saved = PRECISION, FRACTIONS
    PRECISION = saved[0] if precision is None else precision
    FRACTIONS = saved[1] if fractions is None else fractions
    try:
        yield
    finally:
        PRECISION, FRACTIONS = saved


def fmt_number(x) -> str:
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    if FRACTIONS:
        from fractions import Fraction      # imported only when fractions are asked for
        exact = Fraction(x).limit_denominator(1024)
        if exact.denominator > 1 and abs(float(exact) - x) <= 1e-12 * max(1.0, abs(x)):
            return f"{exact.numerator}/{exact.denominator}"
    text = f"{x:.{PRECISION}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def shape_text(shape) -> str:
    return "×".join(str(n) for n in shape) or "scalar"


def fmt_value(value) -> str:
    """A scalar as a number, a small array as nested brackets, a large one as a summary."""
    a = np.asarray(value)
    if a.ndim == 0:
        return fmt_number(a)
    if a.size > SMALL_ARRAY:
        return summary(a)
    if a.ndim == 1:
        return "[" + ", ".join(fmt_number(v) for v in a) + "]"
    return "[" + ", ".join(fmt_value(row) for row in a) + "]"


def summary(a: np.ndarray) -> str:
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return f"{shape_text(a.shape)}, no finite entries"
    return (f"{shape_text(a.shape)}, ‖·‖={fmt_number(np.linalg.norm(finite))}, "
            f"min {fmt_number(finite.min())}, max {fmt_number(finite.max())}")


def to_json(value):
    """A value as JSON: floats or nested lists; nan and ±inf as the strings "nan", "inf", "-inf"."""
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        x = float(a)
        return x if math.isfinite(x) else fmt_number(x)
    return [to_json(v) for v in a]
