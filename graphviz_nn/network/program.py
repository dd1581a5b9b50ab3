"""A Program: what a view of a network spec writes — leaves and calls of registered ops, in order —
before the GraphBuilder turns it into a Graph (network/build.py); and the neuron view's limits."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NEURON_VIEW_MAX_WIDTH = 12       # neurons per layer
NEURON_VIEW_MAX_EDGES = 200
NEURON_VIEW_MAX_ROWS = 8         # observations: each neuron's value is one number per observation

@dataclass(frozen=True)
class Leaf:
    name: str
    kind: str               # input | param | const
    value: np.ndarray
    label: str = ""         # constants only: what is drawn (y, 1)


@dataclass(frozen=True)
class Call:
    name: str
    op: str
    args: tuple[str, ...]
    p: object = None
    text: str = ""
    group: str | None = None    # drawn in a titled cluster: a recurrent layer's time step (t = 2)


@dataclass
class Program:
    leaves: list[Leaf] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.calls[-1].name
