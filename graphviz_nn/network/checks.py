"""Reading a spec's tables: where a mistake is (the file, the table, the key), numbers, matrices and
known keys checked with one readable message each, and weights made from an init. Shared by the
parsers of every layer type (network/spec.py, network/recurrent_spec.py)."""
from __future__ import annotations

import difflib
import math
import reprlib
from dataclasses import dataclass

import numpy as np

from ..errors import BudgetError, UserError
from ..numfmt import shape_text

MAX_ENTRIES = 1_000_000          # numbers in one matrix (data, weights, a layer's values)
INITS = ("zeros", "constant", "uniform", "normal", "xavier", "he")
INIT_KEYS = {"constant": {"value": None}, "uniform": {"low": -1.0, "high": 1.0},
             "normal": {"mean": 0.0, "std": 1.0}}


# ---- where a mistake is -------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    """A table of the spec file, for messages that name the file, the table and the key."""
    file: str
    table: str

    def error(self, key: str | None, message: str, hint: str | None = None) -> UserError:
        where = f"{self.table}, key {key}" if key else self.table
        return UserError(f"{self.file}: {where}: {message}", hint=hint)


BRIEF = reprlib.Repr()
BRIEF.maxstring, BRIEF.maxother, BRIEF.maxlist, BRIEF.maxdict, BRIEF.maxlevel = 40, 40, 4, 4, 2


def brief(value) -> str:
    """A value from the spec as a message shows it: bounded however large the value is (a row of
    500,000 numbers, an integer of 4,000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 40:
        return f"{'a negative' if value < 0 else 'a'} whole number of {len(str(abs(value))):,} digits"
    return BRIEF.repr(value)


def count_text(n: int) -> str:
    return f"{n:,}" if n < 10 ** 40 else brief(n)


def check_keys(table: dict, known, place: Place) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            guess = f"did you mean {close[0]}? " if close else ""
            raise place.error(key, "unknown key", hint=f"{guess}known keys: {', '.join(known)}")


def need(table: dict, key: str, place: Place, what: str):
    if key not in table:
        raise place.error(key, f"missing key: {what}")
    return table[key]


def choice(value, options, place: Place, key: str, what: str) -> str:
    if value not in options:
        close = difflib.get_close_matches(brief(value), options, n=1)
        guess = f"did you mean {close[0]}? " if close else ""
        raise place.error(key, f"unknown {what} {brief(value)}", hint=f"{guess}known: {', '.join(options)}")
    return value


def number(value, place: Place, key: str, low=-math.inf, high=math.inf, closed_high=True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not finite(value):
        raise place.error(key, f"must be a finite number, got {brief(value)}")
    if not (low <= value and (value <= high if closed_high else value < high)):
        bracket = "]" if closed_high else ")"
        raise place.error(key, f"must lie in [{low:g}, {high:g}{bracket}, got {brief(value)}")
    return float(value)


def finite(value) -> bool:
    """A float that is not nan or ±inf, or a whole number a float can hold (TOML integers have any size)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def whole(value, place: Place, key: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise place.error(key, f"must be a whole number ≥ {low}, got {brief(value)}")
    if high is not None and value > high:
        raise place.error(key, f"{count_text(value)} is more than the limit of {high:,}",
                          hint="raise the limit with --max-steps N if you really need this")
    return value


def matrix(value, place: Place, key: str) -> np.ndarray:
    """A number, a list of numbers or a list of equal rows: 0-, 1- or 2-dimensional."""
    if isinstance(value, list):
        if not value:
            raise place.error(key, "is empty")
        rows = [v for v in value if isinstance(v, list)]
        if rows and len(rows) != len(value):
            raise place.error(key, "mixes numbers and rows", hint="a matrix is a list of rows: [[1, 2], [3, 4]]")
        if rows:
            for i, row in enumerate(rows):
                if len(row) != len(rows[0]):
                    raise place.error(key, f"ragged matrix: row 1 has {len(rows[0])} entries "
                                           f"but row {i + 1} has {len(row)}")
                for v in row:
                    entry(v, place, key)
        else:
            for v in value:
                entry(v, place, key)
    else:
        entry(value, place, key)
    array = np.array(value, dtype=float)
    if array.size > MAX_ENTRIES:
        raise place.error(key, f"{array.size:,} numbers is more than the limit of {MAX_ENTRIES:,}")
    return array


def entry(v, place: Place, key: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise place.error(key, f"entries must be numbers, got {brief(v)}")
    if not finite(v):
        raise place.error(key, f"entries must be finite numbers, got {brief(v)}")


def nested(value, place: Place, key: str, depth: int = 4) -> np.ndarray:
    """A number, a list, a matrix or an array of up to `depth` axes written as nested lists of equal
    length (images: C×H×W, N×C×H×W; kernels F×C×kh×kw)."""
    if not (isinstance(value, list) and value and all(isinstance(v, list) for v in value)
            and all(v and isinstance(v[0], list) for v in value)):
        return matrix(value, place, key)
    axes = rectangular(value, place, key, depth)
    flat = value
    for _ in range(len(axes) - 1):
        flat = [v for row in flat for v in row]
    for v in flat:
        entry(v, place, key)
    array = np.array(value, dtype=float)
    if array.size > MAX_ENTRIES:
        raise place.error(key, f"{array.size:,} numbers is more than the limit of {MAX_ENTRIES:,}")
    return array


def rectangular(value, place: Place, key: str, depth: int) -> tuple[int, ...]:
    """The shape of nested lists, each level's lists of one length (checked level by level, so a
    ragged array is named, not turned into objects)."""
    shape, level = [], [value]
    while level and all(isinstance(v, list) for v in level):
        sizes = {len(v) for v in level}
        if len(sizes) > 1 or 0 in sizes:
            raise place.error(key, f"ragged array: at depth {len(shape) + 1} the lists have "
                                   f"{', '.join(map(str, sorted(sizes)))} entries",
                              hint="an array's lists at one depth all have one length")
        shape.append(sizes.pop())
        if len(shape) > depth:
            raise place.error(key, f"has more than {depth} axes")
        inner = [v for row in level for v in row]
        if any(isinstance(v, list) for v in inner) and not all(isinstance(v, list) for v in inner):
            raise place.error(key, "mixes numbers and lists at one depth")
        level = inner
        if len(level) > MAX_ENTRIES:
            raise place.error(key, f"more than the limit of {MAX_ENTRIES:,} numbers")
    return tuple(shape)


def two_d(value, place: Place, key: str, hint: str) -> np.ndarray:
    array = matrix(value, place, key)
    if array.ndim != 2:
        raise place.error(key, f"must be a matrix (a list of rows), got {shape_text(array.shape)}", hint=hint)
    return array


def over_budget(place: Place, held: int, limit: int) -> BudgetError:
    """Refused while the weights are made, before they are: one pass alone is over the budget."""
    return BudgetError(f"{place.file}: one pass of this network would hold at least {held:,} numbers (X, "
                       f"the weights, each layer's values, up to {place.table}): more than the limit of "
                       f"{limit:,}", "--max-numbers")


# ---- weights made from an init ------------------------------------------------------------

def init_options(table, init, place) -> dict:
    known = INIT_KEYS.get(init, {})
    for key in ("value", "low", "high", "mean", "std"):
        if key in table and key not in known:
            owner = next(name for name, keys in INIT_KEYS.items() if key in keys)
            raise place.error(key, f"applies to init = {owner}, but init is {init}")
    options = {key: number(table[key], place, key) if key in table else default
               for key, default in known.items()}
    if init == "constant" and options["value"] is None:
        raise place.error("value", "missing key: init = constant needs value = …")
    if init == "uniform" and options["low"] >= options["high"]:
        raise place.error("high", "must be larger than low")
    if init == "normal" and options["std"] < 0:
        raise place.error("std", "must not be negative")
    return options


def fill(init: str, shape, rng, options, fans: tuple[int, int] | None = None) -> np.ndarray:
    """A weight array of `shape` filled by init; fans: (fan_in, fan_out) where shape is not
    (in, out) — a kernel F×C×kh×kw has C·kh·kw and F·kh·kw (PyTorch's)."""
    fan_in, fan_out = fans or shape
    if init == "zeros":
        return np.zeros(shape)
    if init == "constant":
        return np.full(shape, options["value"])
    if init == "uniform":
        return rng.uniform(options["low"], options["high"], shape)
    if init == "normal":
        return rng.normal(options["mean"], options["std"], shape)
    if init == "xavier":     # Glorot uniform
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)    # he


def bias_vector(table: dict, key: str, size: int, place: Place, mismatch, default=False) -> np.ndarray | None:
    """A layer's bias: `key = [...]` with size entries (mismatch(shape) says why not), or
    bias = true (zeros) / a number / false (none); `default` where the table gives neither."""
    if key in table:
        if "bias" in table:
            raise place.error("bias", f"give {key}, or bias = true/false/number, not both")
        b = matrix(table[key], place, key)
        if b.shape not in ((size,), (1, size)) and not (b.ndim == 0 and size == 1):
            raise place.error(key, mismatch(b.shape))
        return b.reshape(size)
    bias = table.get("bias", default)
    if bias is False:
        return None
    if bias is True:
        return np.zeros(size)
    return np.full(size, number(bias, place, "bias"))

