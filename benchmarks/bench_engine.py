"""Engine benchmark: the evaluator on a long sum of products, against micrograd, per value.

    python3 benchmarks/bench_engine.py            # 10,000 nodes: engine and pipeline vs micrograd, scaling
    python3 benchmarks/bench_engine.py --profile  # plus a cProfile of the engine on the 10,000 nodes

The expression is x0*y0 + x1*y1 + … over a pool of 100 inputs (so most nodes are gates, and every
input fans out to many gates: the copy rule runs too). The reference is a minimal micrograd-style
scalar Value class, written below (micrograd is not a dependency): the same sum, built by operator
overloading, then backpropagated.

Two comparisons, per value (a node, a micrograd Value):
  (a) the engine: forward + backward + write with Steps recorded, as a drawing run does
      (engine.run), against micrograd's build + backward. The target: at most 3×.
  (b) the whole pipeline: parse + trace + the engine, for information. Parsing the 47,000-character
      formula with Python's ast alone costs about as much as one micrograd run.
The two sides run in turns (ours, micrograd, ours, …), each after a gc.collect(), with garbage
collection on; medians are printed. CPU time (time.process_time) is printed beside wall time:
on a shared machine it is far steadier.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time
import timeit

from graphviz_nn import api, engine

POOL = 50               # x0..x49 and y0..y49
REPEATS = 11
TARGET = 3.0            # engine per value, as a multiple of micrograd's


def products_for(nodes: int) -> int:
    """A sum of n products over the pool has 2n − 1 gates and 2·POOL inputs."""
    return max(1, (nodes - 2 * POOL + 1) // 2)


def expression(products: int) -> tuple[str, dict]:
    source = " + ".join(f"x{i % POOL}*y{i % POOL}" for i in range(products))
    values = {f"x{i}": 0.5 + 0.01 * i for i in range(min(products, POOL))}
    values |= {f"y{i}": 1.5 - 0.01 * i for i in range(min(products, POOL))}
    return source, values


class Clock:
    """Wall and CPU seconds since the last tick."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def tick(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        spent = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return spent


def run_nngraph(source: str, values: dict) -> dict[str, tuple[float, float]]:
    """{phase: (wall, cpu)}; the engine's phases are those of engine.run."""
    clock = Clock()
    graph = api.build(source, values)
    times = {"parse/trace": clock.tick()}
    steps = []
    numbers = engine.forward(graph, steps=steps)
    times["forward"] = clock.tick()
    grads = engine.backward(graph, numbers, steps=steps)
    times["backward"] = clock.tick()
    engine.write(graph, numbers, grads)
    times["write"] = clock.tick()
    run_nngraph.nodes, run_nngraph.steps = len(graph.order), len(steps)
    return times


# ---- the reference: a minimal micrograd-style Value ---------------------------------------

class Value:
    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data, prev=()):
        self.data, self.grad, self._prev = data, 0.0, prev
        self._backward = lambda: None

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:                      # iterative topological sort: the sum is deep
            v, done = stack.pop()
            if done:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()
        return len(order)


def micrograd_sum(products: int, values: dict) -> tuple[Value, list[Value]]:
    xs = [Value(values[f"x{i}"]) for i in range(min(products, POOL))]
    ys = [Value(values[f"y{i}"]) for i in range(min(products, POOL))]
    total = xs[0] * ys[0]
    for i in range(1, products):
        total = total + xs[i % POOL] * ys[i % POOL]
    return total, xs


def run_micrograd(products: int, values: dict) -> dict[str, tuple[float, float]]:
    clock = Clock()
    total, _ = micrograd_sum(products, values)
    times = {"build": clock.tick()}
    run_micrograd.nodes = total.backward()
    times["backward"] = clock.tick()
    return times


def check_same_answer(products: int, values: dict) -> None:
    """Both engines must agree before their times mean anything."""
    source, _ = expression(products)
    trace = api.trace(source, **values)
    total, xs = micrograd_sum(products, values)
    total.backward()
    assert abs(float(trace.value) - total.data) < 1e-9 * abs(total.data)
    assert abs(float(trace.grad["x0"]) - xs[0].grad) < 1e-9 * abs(xs[0].grad)


# ---- measuring ------------------------------------------------------------------------------

def interleaved(repeats: int, products: int, source: str, values: dict) -> tuple[list, list]:
    """Rounds of (ours, micrograd), each side after a collection of the previous one's garbage."""
    ours, theirs = [], []
    for _ in range(repeats):
        gc.collect()
        ours.append(run_nngraph(source, values))
        gc.collect()
        theirs.append(run_micrograd(products, values))
    return ours, theirs


def total(run: dict, phases) -> tuple[float, float]:
    return sum(run[p][0] for p in phases), sum(run[p][1] for p in phases)


def medians(runs: list[dict], phases) -> tuple[float, float]:
    """Median wall and median CPU seconds of the phases' sum over the runs."""
    sums = [total(run, phases) for run in runs]
    return statistics.median(s[0] for s in sums), statistics.median(s[1] for s in sums)


ENGINE = ("forward", "backward", "write")
PIPELINE = ("parse/trace",) + ENGINE
MICROGRAD = ("build", "backward")


def ms(seconds: float) -> str:
    return f"{1000 * seconds:7.1f} ms"


def comparison(label: str, ours: list, phases, theirs: list, nodes: int, ref_nodes: int) -> tuple[float, float]:
    """One line: per value, ours and micrograd's, wall and CPU, and their ratios (medians)."""
    wall, cpu = medians(ours, phases)
    ref_wall, ref_cpu = medians(theirs, MICROGRAD)
    ratio_wall = (wall / nodes) / (ref_wall / ref_nodes)
    ratio_cpu = (cpu / nodes) / (ref_cpu / ref_nodes)
    rounds = sorted((total(a, phases)[1] / nodes) / (total(b, MICROGRAD)[1] / ref_nodes)
                    for a, b in zip(ours, theirs))
    print(f"  {label:<26} {1e6 * wall / nodes:5.1f} µs/value wall, {1e6 * cpu / nodes:5.1f} cpu"
          f"   → {ratio_wall:4.2f}× micrograd wall, {ratio_cpu:4.2f}× cpu"
          f"  (cpu ratio of each round: {rounds[0]:.2f}–{rounds[-1]:.2f})")
    return ratio_wall, ratio_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the engine")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    options = parser.parse_args()

    products = products_for(options.nodes)
    source, values = expression(products)
    check_same_answer(products, values)
    loop = min(timeit.repeat("sum(range(1000))", number=1000, repeat=5))
    print(f"this machine: sum(range(1000)) takes {loop * 1000:.1f} µs (the speed of pure Python here)")

    ours, theirs = interleaved(options.repeats, products, source, values)
    nodes, ref_nodes = run_nngraph.nodes, run_micrograd.nodes
    print(f"{nodes:,} nodes ({products:,} products over {2 * POOL} inputs, {len(source):,} characters, "
          f"{run_nngraph.steps:,} steps); medians of {options.repeats} interleaved rounds, wall / cpu:")
    for phase in PIPELINE:
        wall, cpu = medians(ours, (phase,))
        print(f"  nngraph   {phase:<12}{ms(wall)} / {ms(cpu)}")
    for phase in MICROGRAD:
        wall, cpu = medians(theirs, (phase,))
        print(f"  micrograd {phase:<12}{ms(wall)} / {ms(cpu)}   ({ref_nodes:,} values)")
    print("per value:")
    ref_wall, ref_cpu = medians(theirs, MICROGRAD)
    print(f"  {'micrograd build + backward':<26} {1e6 * ref_wall / ref_nodes:5.1f} µs/value wall, "
          f"{1e6 * ref_cpu / ref_nodes:5.1f} cpu")
    _, engine_cpu = comparison("(a) engine: fwd+bwd+write", ours, ENGINE, theirs, nodes, ref_nodes)
    comparison("(b) parse+trace+engine", ours, PIPELINE, theirs, nodes, ref_nodes)
    verdict = "met" if engine_cpu <= TARGET else "NOT met"
    print(f"  target: engine ≤ {TARGET:g}× micrograd per value (cpu): {verdict}")

    if not options.no_scaling:
        print("scaling, cpu medians of 3 rounds (engine = forward + backward + write):")
        for size in (2_500, 5_000, 10_000, 20_000):
            k = products_for(size)
            src, vals = expression(k)
            runs, refs = interleaved(3, k, src, vals)
            n, ref_n = run_nngraph.nodes, run_micrograd.nodes
            _, engine_cpu = medians(runs, ENGINE)
            _, pipeline_cpu = medians(runs, PIPELINE)
            _, ref_cpu = medians(refs, MICROGRAD)
            print(f"  {n:>7,} nodes  engine {ms(engine_cpu)} {1e6 * engine_cpu / n:5.1f} µs/node "
                  f"({(engine_cpu / n) / (ref_cpu / ref_n):.2f}× micrograd)   "
                  f"pipeline {ms(pipeline_cpu)} {1e6 * pipeline_cpu / n:5.1f} µs/node")

    if options.profile:
        graph = api.build(source, values)
        profile = cProfile.Profile()
        profile.runcall(engine.run, graph)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
