"""Model summaries (--summary): one row per [[layer]] — its name, type, output shape (one
observation's, without the batch), parameter count with its formula, receptive field — and the
total, in the torchinfo / Keras manner, worked out from shapes alone.

A spec with [data] is read whole (every check of a run), its input shape taken from X; a spec
without [data] gives `input_shape` and its layers only their sizes (`units`, `filters`, `kernel`,
… — no weights, no init), read here with the same checks. One SummaryRule per layer type: its
output shape, its parameters and how it widens the receptive field (docs/networks.md)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import TITLE_LIMIT, display_text
from ..numfmt import shape_text
from .cells import CELLS, REVERSE
from .checks import Place, check_keys, choice, matrix, need, number, two_d, whole
from .conv_spec import SPATIAL, dense_input, input_shape, neuron_layer_input, spatial_fields
from .ops import ACTIVATIONS, LAYERS
from .recurrent_spec import KEYS as RECURRENT_KEYS, flag, given_weights
from .spec import LAYER_TYPES, LINEAR_KEYS, Layer, declared_shape, parse_spec, read_toml


@dataclass(frozen=True)
class Field:
    """The receptive field of one cell so far: its size in input pixels (rows, columns) and the
    jump, input pixels between neighbouring cells; `whole` after a dense layer (each output reads
    every input pixel)."""
    size: tuple[int, int]
    jump: tuple[int, int]
    whole: bool = False


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    output_shape: tuple
    params: int
    formula: str                      # how params is made: (5·5·1 + 1)·6 = 156
    receptive_field: tuple | None     # (rows, columns) in input pixels; None: not an image network


@dataclass
class Summary:
    title: str
    path: str
    input_shape: tuple
    rows: list[Row]
    data: bool                        # the spec has [data] (else it is for its summary only)

    @property
    def total(self) -> int:
        return sum(row.params for row in self.rows)


# ---- one rule per layer type ------------------------------------------------------------------

def dense_params(layer: Layer, in_shape) -> tuple[int, str]:
    fan_in, units = in_shape[-1], layer.width
    if layer.bias:
        return (fan_in + 1) * units, f"({fan_in} + 1)·{units}"
    return fan_in * units, f"{fan_in}·{units}"


def conv_params(layer: Layer, in_shape) -> tuple[int, str]:
    (kh, kw), filters, channels = layer.option("kernel"), layer.option("filters"), in_shape[0]
    if layer.bias:
        return (kh * kw * channels + 1) * filters, f"({kh}·{kw}·{channels} + 1)·{filters}"
    return kh * kw * channels * filters, f"{kh}·{kw}·{channels}·{filters}"


def recurrent_params(layer: Layer, in_shape) -> tuple[int, str]:
    """gates·units·(in + units + 1) per direction: W (in × gates·units), R (units × gates·units)
    and one bias per gate (PyTorch's bias_ih + bias_hh merged)."""
    gates, units = len(CELLS[layer.type].gates), layer.option("units")
    directions = 2 if layer.option("bidirectional") else 1
    count = directions * gates * units * (in_shape[-1] + units + layer.bias)
    factors = [str(f) for f in (directions, gates) if f > 1] + [str(units)]
    inner = f"{in_shape[-1]} + {units}" + (" + 1" if layer.bias else "")
    return count, f"{'·'.join(factors)}·({inner})"


def prelu_params(layer: Layer, in_shape) -> tuple[int, str]:
    return (1, "1 shared α") if layer.option("shared") else (layer.width, f"{layer.width} α, one per neuron")


def batchnorm_params(layer: Layer, in_shape) -> tuple[int, str]:
    return 2 * layer.width, f"2·{layer.width} (γ and β)"


def no_params(layer: Layer, in_shape) -> tuple[int, str]:
    return 0, ""


def same_shape(layer: Layer, in_shape) -> tuple:
    return in_shape


def dense_shape(layer: Layer, in_shape) -> tuple:
    return (*in_shape[:-1], layer.width)


def spatial_shape(layer: Layer, in_shape) -> tuple:
    return layer.shape if len(in_shape) == 3 else in_shape     # flatten on rows: rows stay


def window_field(kernel: Callable, stride: Callable):
    """A window of kernel(layer) pixels moved by stride(layer): r += (k − 1)·jump; jump ·= stride."""
    def widen(layer: Layer, field: Field | None) -> Field | None:
        if field is None or field.whole:
            return field
        k, s = kernel(layer), stride(layer)
        return Field(tuple(r + (kk - 1) * j for r, kk, j in zip(field.size, k, field.jump)),
                     tuple(j * ss for j, ss in zip(field.jump, s)))
    return widen


def whole_field(layer: Layer, field: Field | None) -> Field | None:
    return None if field is None else Field(field.size, field.jump, whole=True)


def kept_field(layer: Layer, field: Field | None) -> Field | None:
    return field


@dataclass(frozen=True)
class SummaryRule:
    params: Callable          # (layer, its input's shape) -> (count, formula)
    shape: Callable           # (layer, its input's shape) -> its output's shape
    field: Callable           # (layer, the receptive field before it) -> after it


CONV_FIELD = window_field(lambda l: l.option("kernel"), lambda l: (l.option("stride"),) * 2)
POOL_FIELD = window_field(lambda l: (l.option("size"),) * 2, lambda l: (l.option("stride"),) * 2)
ELEMENTWISE = SummaryRule(no_params, same_shape, kept_field)
RULES = {
    "linear": SummaryRule(dense_params, dense_shape, whole_field),
    "conv2d": SummaryRule(conv_params, spatial_shape, CONV_FIELD),
    "maxpool": SummaryRule(no_params, spatial_shape, POOL_FIELD),
    "avgpool": SummaryRule(no_params, spatial_shape, POOL_FIELD),
    "flatten": SummaryRule(no_params, spatial_shape, kept_field),
    "prelu": SummaryRule(prelu_params, same_shape, kept_field),
    "batchnorm": SummaryRule(batchnorm_params, same_shape, kept_field),
    "dropout": ELEMENTWISE,
    **{kind: SummaryRule(recurrent_params, dense_shape, whole_field) for kind in CELLS},
    **{kind: ELEMENTWISE for kind in ACTIVATIONS},
}


def summary_rows(layers: list[Layer], shape: tuple) -> list[Row]:
    """Each layer's row, its input's shape and the receptive field carried from the one before.
    shape: one observation of X (C×H×W; d; T×d for a sequence)."""
    field = Field((1, 1), (1, 1)) if len(shape) == 3 else None
    rows = []
    for layer in layers:
        rule = RULES[layer.type]
        count, formula = rule.params(layer, shape)
        shape, field = tuple(rule.shape(layer, shape)), rule.field(layer, field)
        rows.append(Row(layer.name, layer.type, shape, count, f"{formula} = {count:,}" if formula else "",
                        field_of(field)))
    return rows


def field_of(field: Field | None) -> tuple | None:
    if field is None:
        return None
    return ("whole",) if field.whole else field.size


# ---- reading the spec ----------------------------------------------------------------------------

def load_summary(path: str, max_bytes: int | None = None, max_steps: int | None = None) -> Summary:
    """The summary of a spec file: of its layers as a run reads them (with [data]), or of their
    sizes alone from input_shape (without)."""
    doc = read_toml(path, max_bytes)
    return summarise(doc, path, max_steps)


def summarise(doc: dict, path: str, max_steps: int | None = None) -> Summary:
    if "data" in doc:                       # read as a run reads it, every check included
        spec = parse_spec(doc, path, **({"max_steps": max_steps} if max_steps else {}))
        shape = spec.X.shape if spec.recurrent and spec.X.ndim == 2 else spec.X.shape[1:]   # T×d: a sequence
        rows = summary_rows(spec.layers, tuple(shape))
        return Summary(spec.title, path, tuple(shape), rows, True)
    top = Place(str(path), "the top level")
    if "input_shape" not in doc:
        raise top.error("data", "missing table [data]",
                        hint="give [data] X (and y) to run the network, or input_shape = [C, H, W] "
                             "([features], [T, features]) for its --summary")
    check_keys(doc, ("title", "seed", "input_shape", "layer", "loss", "train"), top)
    shape = input_shape(doc, top)
    title = doc.get("title", Path(path).stem)
    if not isinstance(title, str):
        raise top.error("title", "must be a string")
    title = display_text(title, TITLE_LIMIT)
    layers = sized_layers(doc, shape, str(path))
    return Summary(title, path, shape, summary_rows(layers, shape), False)


def sized_layers(doc: dict, shape: tuple, file: str) -> list[Layer]:
    """The layers from their sizes alone, numbered as a run numbers them (spec.py)."""
    tables = doc.get("layer")
    top = Place(file, "the top level")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise top.error("layer", "must be an array of tables: write [[layer]] once per layer")
    layers, index, current = [], 0, "X"
    for position, table in enumerate(tables, start=1):
        kind = table.get("type")
        place = Place(file, f"[[layer]] {position}" + (f" ({kind})" if isinstance(kind, str) else ""))
        kind = choice(need(table, "type", place, f"one of {', '.join(LAYER_TYPES)}"),
                      LAYER_TYPES, place, "type", "layer type")
        counts = kind == "linear" or kind in CELLS or (kind in SPATIAL and SPATIAL[kind].counts)
        index += counts
        layer = sized_layer(table, kind, position, index, shape, current, place)
        layers.append(layer)
        shape, current = RULES[kind].shape(layer, shape), layer.name
    return layers


def sized_layer(table, kind, position, k, shape, current, place) -> Layer:
    """One layer's sizes: what its row needs, checked as a run checks them."""
    image = len(shape) == 3
    if kind in SPATIAL:
        fields, _ = spatial_fields(table, kind, k, shape, current, place)
        return Layer(kind, position, k, math.prod(fields["shape"]), in_shape=shape, **fields)
    if kind == "linear" or kind in CELLS:
        dense_input(shape, kind, current, place)
    elif (kind in LAYERS or kind == "softmax") and image:
        neuron_layer_input(shape, kind, current, place)
    if kind == "linear":
        units, bias = linear_sizes(table, k, shape[-1], current, place)
        return Layer(kind, position, k, units, bias=bias, in_shape=shape)
    if kind in CELLS:
        return recurrent_layer(table, kind, position, k, shape, current, place)
    width = math.prod(shape) if image else shape[-1]
    if kind in ACTIVATIONS:
        check_keys(table, ("type", *dict(ACTIVATIONS[kind].options)), place)
        return Layer(kind, position, k, width, in_shape=shape)
    check_keys(table, ("type", *dict(LAYERS[kind].options)), place)
    if kind == "dropout":
        number(table.get("p", 0.5), place, "p", 0.0, 1.0, closed_high=False)
    shared = flag(table, "shared", place) if kind == "prelu" else False
    return Layer(kind, position, k, width, options=(("shared", shared),), in_shape=shape)


def linear_sizes(table, k, fan_in, current, place) -> tuple[int, bool]:
    """units (from W, shape or units) and whether there is a bias; no weights are made."""
    check_keys(table, LINEAR_KEYS, place)
    if "W" in table:
        W = two_d(table["W"], place, "W", hint="a column of weights is [[0.5], [1]]")
        rows, units = W.shape
    elif "shape" in table:
        rows, units = declared_shape(table, k, fan_in, current, 1, place)
    else:
        rows, units = fan_in, whole(need(table, "units", place, f"the width of W{k}: units = …"), place, "units", 1)
    if rows != fan_in:
        raise place.error("W" if "W" in table else "shape", f"W{k} has {rows} rows but its input has {fan_in} "
                                                            f"features: W{k} needs {fan_in} rows")
    if "b" in table:
        matrix(table["b"], place, "b")
    return units, "b" in table or table.get("bias", False) is not False


def recurrent_layer(table, kind, position, k, shape, current, place) -> Layer:
    check_keys(table, RECURRENT_KEYS + CELLS[kind].keys, place)
    gates = len(CELLS[kind].gates)
    if "W" in table:                # W and R checked together, as a run checks them
        directions = ("", REVERSE) if flag(table, "bidirectional", place) else ("",)
        weights = given_weights(table, kind, k, directions, shape[-1], current, 1, gates, place)
        units = weights[f"W{k}"].shape[1] // gates
    else:
        units = whole(need(table, "units", place, f"the number of units of layer {k}: units = …"),
                      place, "units", 1)
    bidirectional = flag(table, "bidirectional", place)
    bias = "b" in table or table.get("bias", True) is not False
    options = (("units", units), ("bidirectional", bidirectional))
    return Layer(kind, position, k, units * (2 if bidirectional else 1), bias=bias, options=options,
                 in_shape=shape)


# ---- out: lines and JSON -------------------------------------------------------------------------

HEADERS = ("layer", "type", "output shape", "parameters", "receptive field")


def field_text(field: tuple | None, shape: tuple) -> str:
    if field is None:
        return "–"
    if field == ("whole",):
        return f"{shape_text(shape[-2:])} (all)"
    return shape_text(field)


def lines(summary: Summary) -> list[str]:
    """The table: a row per layer, the total; numbers as torchinfo prints them."""
    image = len(summary.input_shape) == 3
    columns = len(HEADERS) if image else len(HEADERS) - 1       # a receptive field is of images
    cells = [HEADERS[:columns]] + [(row.name, row.type, shape_text(row.output_shape), row.formula or "0",
                                    field_text(row.receptive_field, summary.input_shape))[:columns]
                                   for row in summary.rows]
    widths = [max(len(c[i]) for c in cells) for i in range(columns)]
    table = ["  ".join(c.ljust(w) for c, w in zip(cells_row, widths)).rstrip() for cells_row in cells]
    rule = "─" * max(len(line) for line in table)
    what = "sequence" if len(summary.input_shape) == 2 and any(r.type in CELLS for r in summary.rows) else \
        "image" if image else "observation"
    result = [summary.title, f"input: {shape_text(summary.input_shape)} (one {what}, without the batch)",
              rule, table[0], rule, *table[1:], rule, f"total parameters: {summary.total:,}"]
    if image:
        result.append("receptive field: the input pixels one cell of the layer's output sees (after a dense "
                      "layer: all of them)")
    if not summary.data:
        result.append("no [data]: the spec gives input_shape only, so this summary is all it runs; "
                      "add [data] to run the passes")
    return result


def document(summary: Summary) -> dict:
    """--summary --json: {"kind": "summary", "layers": [...], "total_params"}."""
    layers = [{"name": row.name, "type": row.type, "output_shape": list(row.output_shape), "params": row.params,
               "formula": row.formula or None,
               "receptive_field": json_field(row.receptive_field, summary.input_shape)} for row in summary.rows]
    return {"source": summary.path, "kind": "summary", "title": summary.title,
            "input_shape": list(summary.input_shape), "layers": layers, "total_params": summary.total}


def json_field(field: tuple | None, shape: tuple) -> list | None:
    if field is None:
        return None
    return list(shape[-2:]) if field == ("whole",) else list(field)
