"""Engine benchmark: trace, forward and backward of a long sum of products, against micrograd.

    python3 benchmarks/bench_engine.py            # the 10,000-node run, the comparison, the scaling
    python3 benchmarks/bench_engine.py --profile  # plus a cProfile of the 10,000-node run

The expression is x0*y0 + x1*y1 + … over a pool of 100 inputs (so most nodes are gates, and every
input fans out to many gates: the copy rule runs too). The reference is a minimal micrograd-style
scalar Value class, written below (micrograd is not a dependency): the same sum, built by operator
overloading, then backpropagated. Times are the best of several runs; garbage collection stays on.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
import timeit

from graphviz_nn import api, engine

POOL = 50               # x0..x49 and y0..y49
REPEATS = 5
TARGET_SECONDS = 0.5    # for the 10,000-node trace + forward + backward


def products_for(nodes: int) -> int:
    """A sum of n products over the pool has 2n − 1 gates and 2·POOL inputs."""
    return max(1, (nodes - 2 * POOL + 1) // 2)


def expression(products: int) -> tuple[str, dict]:
    source = " + ".join(f"x{i % POOL}*y{i % POOL}" for i in range(products))
    values = {f"x{i}": 0.5 + 0.01 * i for i in range(min(products, POOL))}
    values |= {f"y{i}": 1.5 - 0.01 * i for i in range(min(products, POOL))}
    return source, values


def best_of(repeats: int, run) -> dict[str, float]:
    """Each run returns {phase: seconds}; keep the fastest run (by its total)."""
    best = None
    for _ in range(repeats):
        gc.collect()
        times = run()
        times["total"] = sum(times.values())
        if best is None or times["total"] < best["total"]:
            best = times
    return best


def run_nngraph(source: str, values: dict) -> dict[str, float]:
    t0 = time.perf_counter()
    graph = api.build(source, values)
    t1 = time.perf_counter()
    steps = []
    values = engine.forward(graph, steps=steps)
    t2 = time.perf_counter()
    engine.write(graph, values, engine.backward(graph, values, steps=steps))
    t3 = time.perf_counter()
    run_nngraph.nodes = len(graph.order)
    return {"parse/trace": t1 - t0, "forward": t2 - t1, "backward": t3 - t2}


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


def run_micrograd(products: int, values: dict) -> dict[str, float]:
    t0 = time.perf_counter()
    xs = [Value(values[f"x{i}"]) for i in range(min(products, POOL))]
    ys = [Value(values[f"y{i}"]) for i in range(min(products, POOL))]
    total = xs[0] * ys[0]
    for i in range(1, products):
        total = total + xs[i % POOL] * ys[i % POOL]
    t1 = time.perf_counter()
    run_micrograd.nodes = total.backward()
    t2 = time.perf_counter()
    return {"forward": t1 - t0, "backward": t2 - t1}


def check_same_answer(products: int, values: dict) -> None:
    """Both engines must agree before their times mean anything."""
    source, _ = expression(products)
    trace = api.trace(source, **values)
    xs = [Value(values[f"x{i}"]) for i in range(min(products, POOL))]
    ys = [Value(values[f"y{i}"]) for i in range(min(products, POOL))]
    total = xs[0] * ys[0]
    for i in range(1, products):
        total = total + xs[i % POOL] * ys[i % POOL]
    total.backward()
    assert abs(float(trace.value) - total.data) < 1e-9 * abs(total.data)
    assert abs(float(trace.grad["x0"]) - xs[0].grad) < 1e-9 * abs(xs[0].grad)


def ms(seconds: float) -> str:
    return f"{1000 * seconds:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    options = parser.parse_args()

    products = products_for(options.nodes)
    source, values = expression(products)
    check_same_answer(products, values)
    loop = min(timeit.repeat("sum(range(1000))", number=1000, repeat=5))
    print(f"this machine: sum(range(1000)) takes {loop * 1000:.1f} µs (the speed of pure Python here)")

    ours = best_of(REPEATS, lambda: run_nngraph(source, values))
    nodes = run_nngraph.nodes
    print(f"nngraph, {nodes:,} nodes ({products:,} products over {2 * POOL} inputs, "
          f"{len(source):,} characters), best of {REPEATS}:")
    for phase, seconds in ours.items():
        print(f"  {phase:<12}{ms(seconds)}")
    verdict = "under" if ours["total"] < TARGET_SECONDS else "OVER"
    print(f"  target: total {verdict} {TARGET_SECONDS} s")

    reference = best_of(REPEATS, lambda: run_micrograd(products, values))
    ref_nodes = run_micrograd.nodes
    ours_per = ours["total"] / nodes
    ref_per = reference["total"] / ref_nodes
    print(f"micrograd-style Value (inline), {ref_nodes:,} values:")
    for phase, seconds in reference.items():
        print(f"  {phase:<12}{ms(seconds)}")
    print(f"per value: nngraph {1e6 * ours_per:.1f} µs, micrograd {1e6 * ref_per:.2f} µs, "
          f"ratio {ours_per / ref_per:.1f}×  (nngraph also keeps attribute dicts per node and edge, "
          f"source spans, 0-d numpy arrays and a Step per gate; graph.nx is made on first use)")

    print("scaling (parse/trace + forward + backward):")
    previous = None
    for size in (2_500, 5_000, 10_000, 20_000):
        k = products_for(size)
        src, vals = expression(k)
        times = best_of(3, lambda: run_nngraph(src, vals))
        n = run_nngraph.nodes
        per = times["total"] / n
        growth = "" if previous is None else f"   ×{times['total'] / previous:.2f} time for ×{n / prev_n:.2f} nodes"
        print(f"  {n:>7,} nodes {ms(times['total'])}  {1e6 * per:6.1f} µs/node{growth}")
        previous, prev_n = times["total"], n

    if options.profile:
        profile = cProfile.Profile()
        profile.runcall(run_nngraph, source, values)
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
