"""The recurrent layer types a spec may name (rnn, lstm, gru): their gate blocks, their states and the
names of what they learn and compute. Plain data, imported by spec.py; network/recurrent.py builds them.

Names (docs/networks.md): the k-th layer, counted as linear layers count, learns `Wk` (input → hidden),
`Rk` (hidden → hidden) and `bk`, the ONNX names; a two-directional layer also `Wk_rev`, `Rk_rev`,
`bk_rev` (PyTorch's `_reverse`). Its output `Ok` stacks the hidden states. At step t (1-based) the
layer view has `ak_t` (the pre-activation), `ck_t` (LSTM), `hk_t`; the reverse direction `ak_rev_t`,
…; the initial states are `hk_0` (`hk_rev_{T+1}`), data like y."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    gates: tuple[str, ...]           # the gate blocks of W, R, b, in PyTorch's order
    activations: tuple[str, ...]     # each block's activation in a drawn cell
    states: tuple[str, ...]          # what a step carries to the next: h (and c)
    keys: tuple[str, ...] = ()       # spec keys of this type only


CELLS = {
    "rnn": Cell(("a",), ("tanh",), ("h",), ("activation",)),
    "lstm": Cell(("i", "f", "g", "o"), ("sigmoid", "sigmoid", "tanh", "sigmoid"), ("h", "c"), ("c0",)),
    "gru": Cell(("r", "z", "n"), ("sigmoid", "sigmoid", "tanh"), ("h",)),
}
RECURRENT = tuple(CELLS)
RNN_ACTIVATIONS = ("tanh", "relu")
REVERSE = "_rev"


def param_names(k: int, bias: bool, bidirectional: bool) -> list[str]:
    """Wk, Rk (bk), then Wk_rev, Rk_rev (bk_rev)."""
    names = []
    for suffix in ("", REVERSE) if bidirectional else ("",):
        names += [f"W{k}{suffix}", f"R{k}{suffix}"] + ([f"b{k}{suffix}"] if bias else [])
    return names


def step_name(letter: str, k: int, t: int, reverse: bool = False) -> str:
    """`h1_2`: h of layer 1 at step 2; `h1_rev_2` in the reverse direction."""
    return f"{letter}{k}{REVERSE if reverse else ''}_{t}"
