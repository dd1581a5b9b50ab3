"""Figures of a network run (matplotlib, imported only here): loss per step, ‖d‖ per layer, activations;
for recurrent layers ‖∂L/∂h_t‖ over the time steps and the gates of LSTM and GRU layers over t."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..ops import OPS
from .cells import CELLS
from .ops import ACTIVATIONS

FORMATS = ("png", "svg")
ACTIVATION_RANGE = (-5.0, 5.0)


def write_plots(run, folder) -> list[Path]:
    """Write every figure of `run` (a run.NetworkRun) as PNG and SVG into folder; returns the files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"gradient_norms": gradient_norm_figure(run), "activations": activation_figure(run)}
    if run.spec.recurrent:
        figures["state_gradients"] = state_gradient_figure(run)
        figures["gates"] = gate_figure(run)
    if run.spec.loss is not None:
        figures["loss"] = loss_figure(run)
    written = []
    for name, figure in figures.items():
        if figure is None:
            continue
        for fmt in FORMATS:
            path = folder / f"{name}.{fmt}"
            figure.savefig(path, format=fmt, bbox_inches="tight")
            written.append(path)
    return written


def new_figure(title: str, per_step: bool = True):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    quiet_matplotlib()
    figure = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(figure)          # the Agg backend, without touching pyplot's global state
    axes = figure.add_subplot()
    # the title comes from the spec: plain text, never mathtext ($x$) or TeX, whatever it holds
    axes.set_title(title, fontsize="medium", parse_math=False, usetex=False)
    axes.grid(True, alpha=0.3)
    if per_step:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("training step")
    return figure, axes


def quiet_matplotlib() -> None:
    """matplotlib logs missing glyphs and fonts on stderr: the user's stderr holds our lines only."""
    import logging
    logging.getLogger("matplotlib").setLevel(logging.ERROR)


def steps_of(run) -> np.ndarray:
    return np.array([max(p.number, 1) for p in run.passes])


def loss_figure(run):
    figure, axes = new_figure(f"{run.title}\nloss per step")
    losses = np.array([p.loss for p in run.passes], dtype=float)
    axes.plot(steps_of(run), losses, marker="o" if len(losses) <= 50 else None)
    axes.set_ylabel(f"L ({run.spec.loss.type}, before the step's update)")
    return figure


def gradient_norm_figure(run):
    """‖d‖ at every layer's output, per step: how the accumulated gradient shrinks or grows going back."""
    figure, axes = new_figure(f"{run.title}\nnorm of the accumulated gradient d at each layer")
    names = [layer.name for layer in run.spec.layers]
    norms = {n: np.array([p.grad_norms[n] for p in run.passes]) for n in names}
    log = wants_log_scale(np.concatenate(list(norms.values())))
    marker = "o" if len(run.passes) <= 50 else None
    for name in names:
        zero = " (0 at some steps: not drawn)" if log and np.any(norms[name] == 0) else ""
        axes.plot(steps_of(run), norms[name], marker=marker, label=f"‖∂L/∂{name}‖{zero}")
    if log:
        axes.set_yscale("log")
    axes.legend(fontsize="small")
    return figure


def wants_log_scale(values: np.ndarray) -> bool:
    """Log scale when the positive norms span more than two decades (vanishing gradients show)."""
    positive = values[values > 0]
    return positive.size > 0 and positive.max() > 100 * positive.min()


def activation_figure(run):
    """Each activation the network uses, with its derivative (from the op registry's VJP)."""
    used = list(dict.fromkeys(kind for layer in run.spec.layers for kind in activations_of(layer, run.spec.params)))
    if not used:
        return None
    figure, axes = new_figure("activations f (solid) and their derivatives f′ (dashed)", per_step=False)
    z = np.linspace(*ACTIVATION_RANGE, 401)
    for (kind, p), color in zip(used, colors()):
        f, df = activation_curve(kind, p, z)
        axes.plot(z, f, color=color, label=label_of(kind, p))
        axes.plot(z, df, color=color, linestyle="--", label=f"{label_of(kind, p)}′")
    axes.set_xlabel("z")
    axes.legend(fontsize="small")
    return figure


def activations_of(layer, params: dict) -> list[tuple]:
    """(type, p) of each activation a layer applies: its own, or a recurrent cell's."""
    if layer.type in CELLS:
        if layer.type == "rnn":
            return [(layer.option("activation"), None)]
        return [("sigmoid", None), ("tanh", None)]
    if layer.type in ACTIVATIONS or layer.type == "prelu":
        return [activation_of(layer, params)]
    return []


def activation_of(layer, params: dict) -> tuple:
    """(type, p) of an activation layer; a prelu's p is its first neuron's α at the start."""
    if layer.type == "prelu":
        return layer.type, float(params[layer.params[0]].reshape(-1)[0])
    return layer.type, layer.p


def activation_curve(kind: str, p, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(z) and f′(z); softmax as the first of two outputs of (z, 0); prelu with α = p."""
    if kind == "prelu":
        f = OPS["prelu"].forward([z, p], None)
        return f, OPS["prelu"].vjp(np.ones_like(z), f, [z, np.float64(p)], None)[0]
    if kind == "softmax":
        scores = np.stack([z, np.zeros_like(z)], axis=-1)
        s = OPS["softmax"].forward([scores], None)
        return s[:, 0], s[:, 0] * (1 - s[:, 0])
    op = OPS[kind]
    f = op.forward([z], p)
    return f, op.vjp(np.ones_like(z), f, [z], p)[0]


def label_of(kind: str, p) -> str:
    if kind == "softmax":
        return "softmax(z, 0)₁"
    if kind == "prelu":
        return f"prelu (α = {p:g} at the start)"
    return f"leaky_relu (slope {p:g})" if kind == "leaky_relu" else kind


def colors():
    return itertools.cycle(f"C{i}" for i in range(10))


# ---- recurrent layers: over the time steps --------------------------------------------------------

def sequence_passes(run) -> list:
    """The passes whose states over time were kept: the first and, when training, the last."""
    kept = [p for p in run.passes if p.sequence]
    return kept[:1] + kept[-1:] if len(kept) > 1 else kept


def styles_note(run, passes) -> str:
    """What the line styles mean: the first pass solid, the last dashed."""
    if len(passes) < 2:
        return ""
    return f" (solid: step {passes[0].number}, dashed: step {passes[1].number})"


def state_gradient_figure(run):
    """‖∂L/∂h_t‖ over t: how far back through time the gradient reaches (vanishing or exploding)."""
    passes = sequence_passes(run)
    figure, axes = new_figure(f"{run.title}\n‖∂L/∂h_t‖ over the time steps{styles_note(run, passes)}",
                              per_step=False)
    norms = [np.asarray(record["norms"]) for p in passes for record in p.sequence.values()]
    log = wants_log_scale(np.concatenate(norms)) if norms else False
    for p, style in zip(passes, ("-", "--")):
        for (name, record), color in zip(p.sequence.items(), colors()):
            t = np.arange(1, len(record["norms"]) + 1)
            zero = " (0 at some steps: not drawn)" if log and min(record["norms"]) == 0 else ""
            axes.plot(t, record["norms"], style, color=color, marker="o",
                      label=f"‖∂L/∂{record['state']}‖{zero}" if p is passes[0] else None)
    if log:
        axes.set_yscale("log")
    time_axis(axes, len(run.spec.X))
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
    return figure


GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g", "o": "output gate o",
              "r": "reset gate r", "z": "update gate z", "n": "candidate n"}


def gate_figure(run):
    """The gates of each LSTM or GRU layer over t (the mean over the units when there are several)."""
    passes = sequence_passes(run)
    if not passes or not any(record["gates"] for record in passes[0].sequence.values()):
        return None
    figure, axes = new_figure(f"{run.title}\ngate activations over the time steps{styles_note(run, passes)}",
                              per_step=False)
    for p, style in zip(passes, ("-", "--")):
        lines = [(name, letter, values) for name, record in p.sequence.items()
                 for letter, values in record["gates"].items()]
        for (name, letter, values), color in zip(lines, colors()):
            mean = ", mean over its units" if values.shape[1] > 1 else ""
            axes.plot(np.arange(1, len(values) + 1), values.mean(axis=1), style, color=color, marker="o",
                      label=f"{GATE_NAMES[letter]} of {name}{mean}" if p is passes[0] else None)
    time_axis(axes, len(run.spec.X))
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
    return figure


def time_axis(axes, steps: int) -> None:
    from matplotlib.ticker import MaxNLocator
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("time step t")
    axes.set_xlim(0.5, steps + 0.5)
