"""Network benchmark: a 4-layer MLP, 64 units, 256 observations: forward + backward + 100 training steps.

    python3 benchmarks/bench_network.py             # the figures
    python3 benchmarks/bench_network.py --profile   # plus a cProfile of the training run

Phases timed (best of several runs):
  spec          the TOML text parsed and validated, weights initialised
  drawn pass    one layer-view pass as the renderer gets it: Graph, forward, backward, captions written
  train         100 SGD steps the way `nngraph spec.toml` runs them (the first drawn, the others fast)
  train, all drawn   the same 100 steps with every pass kept as a Graph with its steps
  numpy floor   the same 100 steps hand-written in numpy, for the ratio
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

from graphviz_nn.network.run import run_network
from graphviz_nn.network.spec import parse_spec

ROWS, FEATURES, UNITS, STEPS = 256, 16, 64, 100
REPEATS = 5
TARGET_SECONDS = 1.0          # forward + backward + 100 training steps: well under this

SPEC = f"""
title = "bench: 4 layers, {UNITS} units, {ROWS} observations"
seed = 1
[data]
X = {np.round(np.random.default_rng(0).normal(size=(ROWS, FEATURES)), 3).tolist()}
y = {np.round(np.random.default_rng(1).normal(size=ROWS), 3).tolist()}
[[layer]]
type = "linear"
units = {UNITS}
init = "he"
bias = true
[[layer]]
type = "relu"
[[layer]]
type = "linear"
units = {UNITS}
init = "he"
bias = true
[[layer]]
type = "tanh"
[[layer]]
type = "linear"
units = {UNITS}
init = "xavier"
bias = true
[[layer]]
type = "sigmoid"
[[layer]]
type = "linear"
units = 1
init = "xavier"
[loss]
type = "mse"
[train]
lr = 0.01
steps = {STEPS}
"""


def parse():
    return parse_spec(tomllib.loads(SPEC), "bench.toml")


def timed(fn) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def drawn_pass(spec):
    spec.train = None                      # one forward + backward pass, no update
    run = run_network(spec)
    list(run.passes[0].captions)           # captions are lazy: write them, as a renderer would
    return run


def numpy_floor(spec):
    """The same training by hand: the least any implementation could cost."""
    params = {k: v.copy() for k, v in spec.params.items()}
    X, y = spec.X, spec.y
    for _ in range(STEPS):
        h1 = X @ params["W1"] + params["b1"]; o1 = np.maximum(h1, 0)
        h2 = o1 @ params["W2"] + params["b2"]; o2 = np.tanh(h2)
        h3 = o2 @ params["W3"] + params["b3"]; o3 = 1 / (1 + np.exp(-h3))
        h4 = o3 @ params["W4"]
        d4 = 2 * (h4 - y) / h4.size
        g = {"W4": o3.T @ d4}
        d3 = d4 @ params["W4"].T * o3 * (1 - o3)
        g["W3"], g["b3"] = o2.T @ d3, d3.sum(0)
        d2 = d3 @ params["W3"].T * (1 - o2 ** 2)
        g["W2"], g["b2"] = o1.T @ d2, d2.sum(0)
        d1 = d2 @ params["W2"].T * (h1 > 0)
        g["W1"], g["b1"] = X.T @ d1, d1.sum(0)
        params = {k: params[k] - 0.01 * g[k] for k in params}
    return params


def blas_threads() -> str:
    """Matrices this small gain nothing from BLAS threads; on a busy 2-core machine they cost ~3×.
    Compare with OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_network.py."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if name in os.environ:
            return f"{os.environ[name]} ({name})"
    return f"library default ({os.cpu_count()} cores)"


CLASSIFIER = Path(__file__).resolve().parent.parent / "examples" / "nets" / "classifier_adam.toml"
CLASSIFIER_TARGET = (15.0, 10_000_000)      # seconds, bytes written (issue: was 93 s and 84 MB)


def classifier_run(repeats: int = 3) -> None:
    """`nngraph examples/nets/classifier_adam.toml` as a user runs it (200 Adam steps, default
    outputs), end to end in a child process: wall and CPU seconds, and the bytes it writes."""
    walls, cpus, sizes = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            before = os.times()
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "graphviz_nn", str(CLASSIFIER), "-o", f"{tmp}/out"],
                           check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
            after = os.times()
            cpus.append(after.children_user + after.children_system - before.children_user - before.children_system)
            sizes.append(sum(f.stat().st_size for f in Path(tmp, "out").rglob("*") if f.is_file()))
    wall, cpu, size = (float(np.median(v)) for v in (walls, cpus, sizes))
    ok = wall <= CLASSIFIER_TARGET[0] and size <= CLASSIFIER_TARGET[1]
    print(f"classifier_adam.toml, default outputs (median of {repeats}): {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"{size / 1e6:.1f} MB written; target ≤ {CLASSIFIER_TARGET[0]:g} s and ≤ "
          f"{CLASSIFIER_TARGET[1] / 1e6:g} MB: {'ok' if ok else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    spec = parse()
    check = run_network(parse(), draw="1,last").passes[-1].params_after
    floor_params = numpy_floor(parse())
    agree = all(np.allclose(check[k], floor_params[k], rtol=1e-10, atol=1e-12) for k in check)

    times = {
        "spec (parse + validate + init)": timed(parse),
        "one drawn pass (graph + forward + backward + captions)": timed(lambda: drawn_pass(parse())),
        f"forward + backward + {STEPS} training steps (1 drawn)": timed(lambda: run_network(spec, draw="1,last")),
        f"the same, all {STEPS} passes drawn": timed(lambda: run_network(spec, draw="all")),
        f"numpy by hand, {STEPS} steps (floor)": timed(lambda: numpy_floor(spec)),
    }
    print(f"network: {FEATURES} → {UNITS} → {UNITS} → {UNITS} → 1, {ROWS} observations, "
          f"{STEPS} SGD steps, best of {REPEATS}; BLAS threads: {blas_threads()}")
    for name, seconds in times.items():
        print(f"  {name:<58} {seconds * 1000:8.1f} ms")
    train = times[f"forward + backward + {STEPS} training steps (1 drawn)"]
    floor = times[f"numpy by hand, {STEPS} steps (floor)"]
    print(f"  training / numpy floor: {train / floor:.2f}×")
    print(f"  target: training under {TARGET_SECONDS:g} s: {'ok' if train < TARGET_SECONDS else 'MISSED'}; "
          f"parameters equal to the hand-written numpy: {'yes' if agree else 'NO'}")
    classifier_run()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run_network, spec, draw="1,last")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
