"""Network specs: a TOML file read, checked and turned into plain dataclasses (no graphs here)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import TITLE_LIMIT, BudgetError, UserError, display_text
from ..numfmt import shape_text
from ..reading import read_text
from .cells import CELLS, RECURRENT, param_names
from .checks import (INITS, MAX_ENTRIES, Place, bias_vector, brief, check_keys, choice, count_text, fill,
                     init_options, matrix, need, nested, number, over_budget, two_d, whole)
from .conv_spec import (SPATIAL, as_batch, dense_input, input_shape, layer_p, neuron_layer_input,
                        parse_spatial, reads_images)
from .recurrent_spec import check_sequence, parse_recurrent, step_numbers
from .ops import ACTIVATIONS, LAYERS, LOSSES, REDUCED_LOSSES
from .optim import DEFAULT_FORM, RULES, forms_of

MAX_STEPS = 10_000
MAX_FILE_BYTES = 2_000_000       # tomllib reads ~0.7 MB/s: the file's size bounds the parsing time

LAYER_TYPES = ("linear", *ACTIVATIONS, *LAYERS, *RECURRENT, *SPATIAL)
LOSS_TYPES = tuple(LOSSES)
OPTIMIZERS = {name: rule.defaults for name, rule in RULES.items()}

TOP_KEYS = ("title", "seed", "input_shape", "data", "layer", "loss", "train")
DATA_KEYS = ("X", "y")
LINEAR_KEYS = ("type", "W", "b", "bias", "shape", "units", "init", "seed",
               "value", "low", "high", "mean", "std")
LOSS_KEYS = ("type", "reduction")
TRAIN_KEYS = ("lr", "steps", "order", "optimizer", "form",
              *dict.fromkeys(k for o in OPTIMIZERS.values() for k in o))


# ---- the validated spec ------------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    type: str                 # linear, an activation, one of LAYERS (prelu, batchnorm, dropout), of
                              # RECURRENT (rnn, lstm, gru: network/recurrent.py) or of SPATIAL (conv2d,
                              # maxpool, avgpool, flatten: network/conv_spec.py)
    position: int             # 1-based place among the spec's [[layer]] tables
    index: int                # k of Wk, Kk, bk, Hk, Ok, ak, Nk, Dk, Pk, Fk, …: how many linear,
                              # recurrent or conv2d layers came so far
    width: int                # columns of this layer's output: the numbers of one observation
    bias: bool = False
    options: tuple = ()       # (key, value) of its spec keys, given or default: slope, alpha, p, …
    masks: tuple = field(default=(), compare=False, repr=False)   # dropout: given masks, one per step
    seed: tuple = ()          # dropout without masks: the entropy of its random masks
    in_shape: tuple = ()      # one observation's shape before the layer: (d,), (C, H, W) for images
    shape: tuple = ()         # and after it: (width,), or (F, H', W') after conv2d, a pool, …

    @property
    def name(self) -> str:
        if self.type == "linear":
            return f"H{self.index}"
        rule = LAYERS.get(self.type) or SPATIAL.get(self.type)
        return f"{rule.letter if rule else 'O'}{self.index}"

    @property
    def op(self) -> str:
        if self.type == "conv2d" and self.bias:
            return "conv2d_bias"
        rule = LAYERS.get(self.type) or SPATIAL.get(self.type) or ACTIVATIONS[self.type]
        return rule.op

    def option(self, key: str, default=None):
        return dict(self.options).get(key, default)

    @property
    def p(self):
        """What the layer's op takes as its parameter: leaky_relu's slope, elu's α, dropout's p."""
        if self.type == "dropout":
            return self.option("p")
        if self.type in SPATIAL:
            return layer_p(self.type, dict(self.options))
        rule = ACTIVATIONS.get(self.type)
        return self.option(rule.p) if rule and rule.p else None

    @property
    def params(self) -> list[str]:
        """The names of the parameters this layer learns: Wk (bk); ak; gammak, betak."""
        if self.type == "linear":
            return [f"W{self.index}"] + ([f"b{self.index}"] if self.bias else [])
        if self.type in CELLS:
            return param_names(self.index, self.bias, self.option("bidirectional", False))
        if self.type == "conv2d":
            return [f"K{self.index}"] + ([f"b{self.index}"] if self.bias else [])
        return [f"{prefix}{self.index}" for prefix in LAYERS[self.type].params] if self.type in LAYERS else []

    @property
    def kernel_shape(self) -> tuple[int, int, int, int]:
        """A conv2d layer's Kk: F×C×kh×kw."""
        return (self.option("filters"), self.in_shape[0], *self.option("kernel"))

    @property
    def data(self) -> str | None:
        """The constant the layer takes besides its input: the dropout mask Mk."""
        rule = LAYERS.get(self.type)
        return f"{rule.data}{self.index}" if rule and rule.data else None

    def mask(self, step: int, rows: np.ndarray, n: int) -> np.ndarray:
        """Dropout: the rows (0-based, of n observations) of training step `step`'s keep-mask, an
        n×width matrix of 0 and 1: the given masks in turn, or a fresh Bernoulli(1 − p) draw,
        numpy's default_rng([*seed, step]).random((n, width)) ≥ p. One observation's row is drawn
        alone, the generator skipped ahead to it: a step of `order` costs one row, not n."""
        if self.masks:
            return self.masks[(step - 1) % len(self.masks)][rows]
        if len(rows) == n:
            draws = np.random.default_rng([*self.seed, step]).random((n, self.width))[rows]
        else:
            draws = np.stack([row_draws([*self.seed, step], int(r), self.width) for r in rows])
        return (draws >= self.p).astype(float)


def row_draws(entropy: list, row: int, width: int) -> np.ndarray:
    """Row `row` of default_rng(entropy).random((n, width)), without drawing the rows before it
    (PCG64 makes one 64-bit number per float; advance skips them)."""
    bits = np.random.PCG64(entropy)
    bits.advance(row * width)
    return np.random.Generator(bits).random(width)


@dataclass(frozen=True)
class LossSpec:
    type: str
    reduction: str | None     # mean | sum for logloss and softmax_ce; None: fixed by the type


@dataclass(frozen=True)
class TrainSpec:
    lr: float
    steps: int
    order: tuple[int, ...] | None       # 1-based observations, one per step, cyclic
    optimizer: str
    options: dict = field(default_factory=dict)   # beta, beta1, beta2, eps
    form: str = DEFAULT_FORM                      # nesterov: "lookahead" for the textbook form


@dataclass
class NetworkSpec:
    path: str
    title: str
    X: np.ndarray                       # n×d, rows are observations; or images N×C×H×W
    y: np.ndarray | None                # n×m; class numbers already made one-hot
    layers: list[Layer]
    params: dict[str, np.ndarray]       # initial W1, b1, W2, … in layer order
    loss: LossSpec | None = None
    train: TrainSpec | None = None

    @property
    def output(self) -> str:
        return self.layers[-1].name

    @property
    def recurrent(self) -> bool:
        """One sequence: the rows of X are time steps (network/recurrent.py)."""
        return any(layer.type in CELLS for layer in self.layers)

    @property
    def spatial(self) -> bool:
        """Images: X is N×C×H×W, and conv2d, pools or flatten act on them (network/conv_spec.py)."""
        return self.X.ndim > 2 or any(layer.type in SPATIAL for layer in self.layers)

    @property
    def features(self) -> int:
        """Numbers in one observation of X: d, or C·H·W."""
        return int(np.prod(self.X.shape[1:]))

    def data(self, step: int) -> dict[str, np.ndarray]:
        """The constants of training step `step` (1-based) besides X and y, rows as in rows(step):
        each dropout layer's mask Mk (with `order`, the row of that step's observation)."""
        rows = self.rows(step)
        return {layer.data: layer.mask(step, rows, len(self.X)) for layer in self.layers if layer.data}

    def rows(self, step: int) -> np.ndarray:
        """0-based rows of X used in training step `step` (1-based): all, or one from `order`."""
        if self.train is None or self.train.order is None:
            return np.arange(len(self.X))
        order = self.train.order
        return np.array([order[(step - 1) % len(order)] - 1])


# ---- reading the file ----------------------------------------------------------------

def load_spec(path: str, max_steps: int = MAX_STEPS, max_bytes: int | None = None,
              max_numbers: int | None = None) -> NetworkSpec:
    return parse_spec(read_toml(path, max_bytes), path, max_steps, max_numbers)


def read_toml(path: str, max_bytes: int | None = None) -> dict:
    """The spec file's TOML: a regular file (not a FIFO or a device, which could block or never
    end), of at most max_bytes bytes, checked before it is parsed; a UTF-8 BOM is allowed."""
    text = read_text(path, MAX_FILE_BYTES if max_bytes is None else max_bytes, "the network spec", too_large)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise UserError(f"{path}: not valid TOML: arrays or tables nested too deeply",
                        hint="a matrix needs two levels of brackets") from None
    except (ValueError, OverflowError, MemoryError) as exc:     # e.g. an integer of 5,000 digits
        raise UserError(f"{path}: not valid TOML: {exc}") from None


def too_large(path: str, limit: int) -> BudgetError:
    return BudgetError(f"{path}: the file is larger than {limit:,} bytes, the limit for a spec file",
                       "--max-spec-bytes", advice="; parsing takes about 1.5 s a megabyte")


def parse_spec(doc: dict, path: str = "<spec>", max_steps: int = MAX_STEPS,
               max_numbers: int | None = None) -> NetworkSpec:
    """The checked spec. max_numbers: refuse, while the weights are made, a network whose one pass
    would hold more numbers than this (budget.py checks the whole run once the spec is read)."""
    file = str(path)
    top = Place(file, "the top level")
    check_keys(doc, TOP_KEYS, top)
    title = doc.get("title", Path(path).stem)
    if not isinstance(title, str):
        raise top.error("title", "must be a string")
    title = display_text(title, TITLE_LIMIT)     # drawn above pictures and plots: one readable line
    seed = whole(doc.get("seed", 0), top, "seed", 0)
    if "data" not in doc and "input_shape" in doc:
        raise SummaryOnly(doc, file)
    X, raw_y = parse_data(table_of(doc, "data", top, required=True), Place(file, "[data]"))
    X = as_batch(X, reads_images(doc.get("layer")), Place(file, "[data]"))
    check_input_shape(doc, X, top)
    layers, params = parse_layers(doc, X, seed, file, max_numbers)
    loss = parse_loss(doc.get("loss"), layers, Place(file, "[loss]"), top)
    y = targets(raw_y, loss, X, layers[-1], Place(file, "[data]"))
    train = parse_train(doc.get("train"), len(X), max_steps, Place(file, "[train]"), top)
    if train is not None and loss is None:
        raise top.error("train", "training needs a [loss] to minimise", hint="add [loss] with type = …")
    check_batches(layers, len(X), train, file)
    if any(layer.type in CELLS for layer in layers):
        check_sequence(layers, train, file)
    return NetworkSpec(path, title, X, y, layers, params, loss, train)


class SummaryOnly(UserError):
    """A spec without [data] but with input_shape: its layers' sizes only, for --summary
    (network/summary.py); the command prints the summary, anything else says to add [data]."""
    def __init__(self, doc: dict, file: str):
        super().__init__(f"{file}: no [data], only input_shape: the network can be summarised (--summary) but "
                         f"not run", hint="add [data] with X (and y) to run its passes")
        self.doc = doc


def check_batches(layers: list[Layer], n: int, train: TrainSpec | None, file: str) -> None:
    """Batchnorm needs a batch: over one observation every column has variance 0, and Nk would be
    βk whatever came in (PyTorch's training mode refuses it too)."""
    for layer in layers:
        if layer.type != "batchnorm":
            continue
        if n == 1:
            why = "[data] X has one observation"
        elif train is not None and train.order is not None:
            why = "[train] order gives one observation per step"
        else:
            continue
        raise Place(file, f"[[layer]] {layer.position} (batchnorm)").error(
            "type", f"{layer.name} normalises each column over the batch, but {why}: a batch of one has "
                    f"variance 0 (PyTorch refuses it too)",
            hint="train on the whole batch (no order) of at least 2 observations")


def check_input_shape(doc: dict, X: np.ndarray, top: Place) -> None:
    """input_shape (for --summary) beside [data]: it must be X's, one observation's shape."""
    if "input_shape" not in doc:
        return
    shape = input_shape(doc, top)
    if shape != X.shape[1:]:
        raise top.error("input_shape", f"says {shape_text(shape)} but [data] X holds {shape_text(X.shape[1:])} "
                                       f"per observation ({shape_text(X.shape)} in all)",
                        hint="leave input_shape out where [data] gives X")


def table_of(doc: dict, key: str, place: Place, required=False) -> dict | None:
    if key not in doc:
        if required:
            raise place.error(key, f"missing table [{key}]")
        return None
    if not isinstance(doc[key], dict):
        raise place.error(key, f"[{key}] must be a table")
    return doc[key]


def parse_data(data: dict, place: Place) -> tuple[np.ndarray, np.ndarray | None]:
    check_keys(data, DATA_KEYS, place)
    X = nested(need(data, "X", place, "the inputs, one row per observation (or images)"), place, "X")
    y = matrix(data["y"], place, "y") if "y" in data else None
    return X, y


# ---- layers and their parameters ------------------------------------------------------

def parse_layers(doc: dict, X: np.ndarray, seed: int, file: str, max_numbers: int | None = None):
    tables = doc.get("layer")
    top = Place(file, "the top level")
    if tables is None:
        raise top.error("layer", "missing: the network needs at least one [[layer]]")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise top.error("layer", "must be an array of tables: write [[layer]] once per layer")
    if not tables:
        raise top.error("layer", "the network needs at least one [[layer]]")
    n, shape, current = X.shape[0], X.shape[1:], "X"
    width = int(np.prod(shape))
    layers, params, index = [], {}, 0
    since_linear: set[str] = set()      # outputs since the last linear layer: Ok, Nk, Dk once each
    held = X.size           # numbers one pass holds so far: X, the weights, each layer's values
    for position, table in enumerate(tables, start=1):
        kind = table.get("type")
        place = Place(file, f"[[layer]] {position}" + (f" ({kind})" if isinstance(kind, str) else ""))
        kind = choice(need(table, "type", place, f"one of {', '.join(LAYER_TYPES)}"),
                      LAYER_TYPES, place, "type", "layer type")
        if kind in SPATIAL:
            index += SPATIAL[kind].counts
            fields, new = parse_spatial(table, kind, index, shape, current, seed, place,
                                        (held, max_numbers))
            fields["width"] = int(np.prod(fields["shape"]))
            layer = Layer(kind, position, index, in_shape=shape, **fields)
            if SPATIAL[kind].counts:
                since_linear = set()
            elif layer.name in since_linear:
                raise repeated(layer, layers[-1], current, place)
            else:
                since_linear.add(layer.name)
        elif kind == "linear":
            dense_input(shape, kind, current, place)
            index += 1
            layer, W, b = parse_linear(table, position, index, (n, width), current, seed, place,
                                       (held, max_numbers))
            new = {f"W{index}": W} | ({} if b is None else {f"b{index}": b})
            since_linear = set()
        elif kind in CELLS:
            dense_input(shape, kind, current, place)
            index += 1
            layer, new = parse_recurrent(table, kind, index, (n, width), current, seed, place, (held, max_numbers))
            layer = Layer(kind, position, index, **layer)
            since_linear = {layer.name}      # its activation is its own: none may follow it
            held += step_numbers(layer, n)
        else:
            if kind in LAYERS or kind == "softmax":
                neuron_layer_input(shape, kind, current, place)
            layer, new = parse_layer(table, kind, position, index, (n, width), seed, place)
            if layer.name in since_linear:
                owner = next(l for l in reversed(layers) if l.name == layer.name)
                raise repeated(layer, owner if owner.type in CELLS else layers[-1], current, place)
            since_linear.add(layer.name)
        params.update(new)
        held += sum(value.size for value in new.values()) + (n * layer.width if layer.data else 0)
        if n * layer.width > MAX_ENTRIES:
            raise place.error(None, f"{layer.name} would be {n}×{layer.width}: more than the limit of "
                                    f"{MAX_ENTRIES:,} numbers")
        held += n * layer.width
        if max_numbers is not None and held > max_numbers:
            raise over_budget(place, held, max_numbers)
        layer = replace(layer, in_shape=shape, shape=layer.shape or
                        (shape if kind in ACTIVATIONS and len(shape) > 1 else (layer.width,)))
        layers.append(layer)
        shape, width, current = layer.shape, layer.width, layer.name
    return layers, params


def repeated(layer: Layer, previous: Layer, current: str, place: Place) -> UserError:
    """A second activation (or batchnorm, or dropout) after one linear layer: its name is taken."""
    hint = "put a linear layer between them"
    if previous.type in CELLS and previous.name == layer.name:
        return place.error("type", f"{layer.name} is the {previous.type} layer's output, already through "
                                   f"its activation: a {layer.type} cannot follow it", hint=hint)
    if previous.name == layer.name and layer.name.startswith("O"):
        return place.error("type", f"two activations in a row: {current} is already an activation's output",
                           hint=hint)
    return place.error("type", f"{layer.name} is taken: a linear layer takes at most one {layer.type} "
                               f"after it (its output is {layer.name}, named after H{layer.index})", hint=hint)


def parse_layer(table, kind, position, index, shape, seed, place) -> tuple[Layer, dict]:
    """An activation, prelu, batchnorm or dropout layer, and the parameters it learns."""
    n, width = shape
    if kind in ACTIVATIONS:
        defaults = dict(ACTIVATIONS[kind].options)
        check_keys(table, ("type", *defaults), place)
        options = tuple((key, number(table.get(key, default), place, key)) for key, default in defaults.items())
        return Layer(kind, position, index, width, options=options), {}
    check_keys(table, ("type", *dict(LAYERS[kind].options)), place)
    if kind == "prelu":
        return parse_prelu(table, position, index, width, place)
    if kind == "batchnorm":
        gamma = per_neuron(table.get("gamma", 1.0), width, place, "gamma", f"gamma{index}")
        beta = per_neuron(table.get("beta", 0.0), width, place, "beta", f"beta{index}")
        return Layer(kind, position, index, width), {f"gamma{index}": gamma, f"beta{index}": beta}
    return parse_dropout(table, position, index, shape, seed, place), {}


def parse_prelu(table, position, index, width, place) -> tuple[Layer, dict]:
    """ak: one α per neuron (PyTorch's nn.PReLU(num_parameters=m)), or one shared by the layer."""
    shared = table.get("shared", False)
    if not isinstance(shared, bool):
        raise place.error("shared", f"must be true or false, got {brief(shared)}")
    alpha = per_neuron(table.get("alpha", 0.25), 1 if shared else width, place, "alpha", f"a{index}")
    return Layer("prelu", position, index, width, options=(("shared", shared),)), {f"a{index}": alpha}


def per_neuron(value, count: int, place: Place, key: str, name: str) -> np.ndarray:
    """A parameter with one entry per neuron (count of them), given as one number or a list."""
    array = matrix(value, place, key)
    if array.ndim == 0:
        return np.full(count, float(array))
    if array.shape != (count,):
        each = "one, shared by the layer's neurons" if count == 1 else f"{count} entries, one per neuron"
        raise place.error(key, f"{name} needs {each}, got {shape_text(array.shape)}",
                          hint=f"a number gives every entry of {name} that value")
    return array


def parse_dropout(table, position, index, shape, seed, place) -> Layer:
    """p, and either seed (random masks) or mask (one n×m mask of 0/1, or a list of them)."""
    p = number(table.get("p", 0.5), place, "p", 0.0, 1.0, closed_high=False)
    if "mask" in table and "seed" in table:
        raise place.error("seed", "give seed (a random mask each step) or mask (your own masks), not both")
    options = (("p", p),)
    if "mask" in table:
        return Layer("dropout", position, index, shape[1], options=options,
                     masks=parse_masks(table["mask"], shape, index, place))
    own = whole(table["seed"], place, "seed", 0) if "seed" in table else None
    return Layer("dropout", position, index, shape[1], options=options + (("seed", own),),
                 seed=(own,) if own is not None else (seed, position))


def parse_masks(value, shape: tuple[int, int], index: int, place: Place) -> tuple[np.ndarray, ...]:
    hint = "a mask has one row per observation and one column per neuron: 1 keeps an entry, 0 drops it"
    several = isinstance(value, list) and value and all(
        isinstance(m, list) and m and all(isinstance(row, list) for row in m) for m in value)
    masks = [two_d(m, place, "mask", hint) for m in (value if several else [value])]
    for i, mask in enumerate(masks, start=1):
        which = f"mask {i} of {len(masks)}" if several else "the mask"
        if mask.shape != shape:
            raise place.error("mask", f"{which} is {shape_text(mask.shape)} but D{index} is "
                                      f"{shape[0]}×{shape[1]}", hint=hint)
        if not np.all((mask == 0) | (mask == 1)):
            raise place.error("mask", f"{which} must hold only 0 (drop) and 1 (keep)", hint=hint)
    return tuple(masks)


def parse_linear(table, position, k, in_shape, current, seed, place, budget=(0, None)):
    check_keys(table, LINEAR_KEYS, place)
    n, width = in_shape
    if "W" in table:
        for key in ("shape", "units", "init"):
            if key in table:
                raise place.error(key, "give W, or its shape with init, not both")
        W = two_d(table["W"], place, "W", hint="a column of weights is [[0.5], [1]]")
        if W.shape[0] != width:
            raise place.error("W", f"W{k} is {shape_text(W.shape)} but its input {current} is "
                                   f"{n}×{width}: W{k} needs {width} rows")
    else:
        W = initial_weights(table, k, width, current, n, seed, place, budget)
    b = parse_bias(table, k, W, seed, place)
    return Layer("linear", position, k, W.shape[1], bias=b is not None), W, b


def declared_shape(table, k, width, current, n, place) -> tuple[int, int]:
    if "shape" in table:
        shape = table["shape"]
        if not (isinstance(shape, list) and len(shape) == 2):
            raise place.error("shape", f"must be [rows, columns] of W{k}, got {brief(shape)}")
        rows, cols = (whole(v, place, "shape", 1) for v in shape)
        if "units" in table and table["units"] != cols:
            raise place.error("units", f"says {brief(table['units'])} but shape says {cols} columns")
        if rows != width:
            raise place.error("shape", f"W{k} is {rows}×{cols} but its input {current} is "
                                       f"{n}×{width}: W{k} needs {width} rows")
        return rows, cols
    if "units" in table:
        return width, whole(table["units"], place, "units", 1)
    raise place.error("W", f"missing key: give W{k}, or shape = [{width}, units] (or units = …) with init")


def initial_weights(table, k, width, current, n, seed, place, budget=(0, None)) -> np.ndarray:
    """Wk filled by its init. budget: (numbers one pass holds so far, the limit), checked first."""
    shape = declared_shape(table, k, width, current, n, place)
    if shape[0] * shape[1] > MAX_ENTRIES:
        raise place.error("shape", f"W{k} would hold {count_text(shape[0] * shape[1])} numbers: more "
                                   f"than the limit of {MAX_ENTRIES:,}")
    held, limit = budget
    if limit is not None and held + shape[0] * shape[1] + n * shape[1] > limit:
        raise over_budget(place, held + shape[0] * shape[1] + n * shape[1], limit)
    init = choice(need(table, "init", place, f"how to fill W{k}: {', '.join(INITS)}"),
                  INITS, place, "init", "init")
    options = init_options(table, init, place)
    rng = np.random.default_rng(whole(table["seed"], place, "seed", 0) if "seed" in table else [seed, k])
    return fill(init, shape, rng, options)


def parse_bias(table, k, W, seed, place) -> np.ndarray | None:
    units = W.shape[1]
    return bias_vector(table, "b", units, place, lambda shape: f"b{k} is {shape_text(shape)} but W{k} is "
                       f"{shape_text(W.shape)}: b{k} needs {units} entr{'y' if units == 1 else 'ies'}, one per neuron")


# ---- loss and targets ---------------------------------------------------------------

def parse_loss(table, layers, place: Place, top: Place) -> LossSpec | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise top.error("loss", "[loss] must be a table")
    check_keys(table, LOSS_KEYS, place)
    kind = choice(need(table, "type", place, f"one of {', '.join(LOSS_TYPES)}"), LOSS_TYPES,
                  place, "type", "loss")
    reduction = None
    if kind in REDUCED_LOSSES:
        reduction = choice(table.get("reduction", "mean"), ("mean", "sum"), place, "reduction", "reduction")
    elif "reduction" in table:
        raise place.error("reduction", f"applies to logloss and softmax_ce; {kind} fixes its own",
                          hint="squared errors: half_sse ½Σ, sse Σ, mse (1/n)Σ, half_mse 1/(2n)Σ")
    last = layers[-1]
    wanted = {"softmax_ce": ("softmax",), "logloss": ("sigmoid", "softmax")}.get(kind)
    if wanted and last.type not in wanted:
        raise place.error("type", f"{kind} takes probabilities, but the last layer "
                                  f"({last.name}) is {last.type}",
                          hint=f"end the network with a {' or '.join(wanted)} layer")
    return LossSpec(kind, reduction)


def targets(y, loss: LossSpec | None, X, last: Layer, place: Place) -> np.ndarray | None:
    if loss is None:
        return None
    if y is None:
        raise place.error("y", f"missing key: the {loss.type} loss needs targets, one row per observation")
    n, m = len(X), last.width
    if len(last.shape) > 1:
        raise place.error("y", f"the loss compares rows, but the network's output {last.name} holds feature maps, "
                               f"{shape_text(last.shape)} per observation",
                          hint='end the network with [[layer]] type = "flatten" (and a linear layer)')
    if loss.type == "softmax_ce" and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and m > 1)):
        return one_hot(y.reshape(-1), n, m, place)
    if y.ndim == 1 and m == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape != (n, m):
        raise place.error("y", f"y is {shape_text(y.shape)} but the network's output {last.name} is "
                               f"{n}×{m}", hint="one row of targets per observation")
    if loss.type == "logloss" and np.any((y < 0) | (y > 1)):
        raise place.error("y", "logloss targets must lie in [0, 1]")
    if loss.type == "softmax_ce" and (np.any(y < 0) or not np.allclose(y.sum(axis=1), 1.0)):
        raise place.error("y", "softmax_ce targets must be one-hot rows (or probabilities summing to 1), "
                               "or class numbers 1…m")
    return y


def one_hot(classes: np.ndarray, n: int, m: int, place: Place) -> np.ndarray:
    if len(classes) != n:
        raise place.error("y", f"{len(classes)} class numbers for {n} observations")
    if np.any(classes != np.round(classes)) or np.any(classes < 1) or np.any(classes > m):
        raise place.error("y", f"class numbers must be whole numbers from 1 to {m} (the softmax has "
                               f"{m} outputs), got {classes.tolist()}",
                          hint="classes are numbered from 1, like observations and neurons")
    y = np.zeros((n, m))
    y[np.arange(n), classes.astype(int) - 1] = 1.0
    return y


# ---- training ------------------------------------------------------------------------

def parse_train(table, n: int, max_steps: int, place: Place, top: Place) -> TrainSpec | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise top.error("train", "[train] must be a table")
    check_keys(table, TRAIN_KEYS, place)
    lr = number(need(table, "lr", place, "the learning rate η"), place, "lr", 0.0)
    steps = whole(table.get("steps", 1), place, "steps", 1, max_steps)
    optimizer = choice(table.get("optimizer", "sgd"), tuple(OPTIMIZERS), place, "optimizer", "optimizer")
    form = choice(table.get("form", DEFAULT_FORM), forms_of(optimizer), place, "form", f"form of {optimizer}")
    return TrainSpec(lr, steps, parse_order(table, n, place), optimizer,
                     optimizer_options(table, optimizer, place), form)


def parse_order(table, n: int, place: Place) -> tuple[int, ...] | None:
    if "order" not in table:
        return None
    order = table["order"]
    if not isinstance(order, list) or not order:
        raise place.error("order", "must be a list of observation numbers, e.g. [2, 1]")
    for v in order:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= n:
            raise place.error("order", f"observations are numbered 1 to {n}, got {brief(v)}")
    return tuple(order)


def optimizer_options(table, optimizer: str, place: Place) -> dict:
    defaults = OPTIMIZERS[optimizer]
    for key in ("beta", "beta1", "beta2", "eps"):
        if key in table and key not in defaults:
            owners = ", ".join(name for name, keys in OPTIMIZERS.items() if key in keys)
            raise place.error(key, f"is a parameter of {owners}, but optimizer is {optimizer}",
                              hint=f"{optimizer} takes: {', '.join(defaults) or 'lr only'}")
    options = {}
    for key, default in defaults.items():
        value = table.get(key, default)
        if key == "eps":       # ε = 0 as in the exercises (and PyTorch); 0/0 is then numeric trouble
            options[key] = number(value, place, key, 0.0)
        else:
            options[key] = number(value, place, key, 0.0, 1.0, closed_high=False)
    return options
