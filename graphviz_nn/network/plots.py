"""Figures of a network run (matplotlib, imported only here): loss per step, ‖d‖ per layer, activations."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ..ops import OPS
from .ops import ACTIVATIONS

FORMATS = ("png", "svg")
ACTIVATION_RANGE = (-5.0, 5.0)


def write_plots(run, folder) -> list[Path]:
    """Write every figure of `run` (a run.NetworkRun) as PNG and SVG into folder; returns the files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"gradient_norms": gradient_norm_figure(run), "activations": activation_figure(run)}
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
    used = list(dict.fromkeys(activation_of(layer, run.spec.params) for layer in run.spec.layers
                              if layer.type in ACTIVATIONS or layer.type == "prelu"))
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
