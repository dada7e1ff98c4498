"""Peer for bench/conv.ts: GFLOP/s of conv forward, input gradient, filter gradient, matmul.

Usage: /usr/bin/python3 conv.py '{"convs": [...], "matmuls": [...]}'  -> one JSON line.
"""
import json
import statistics
import sys
import time

import torch

torch.set_num_threads(2)


def time_it(fn, warmup=2, min_reps=3, min_seconds=0.5):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    spec = json.loads(sys.argv[1])
    out = {"torch": torch.__version__, "convs": [], "matmuls": []}
    with torch.no_grad():
        for c in spec["convs"]:
            x = torch.randn(c["n"], c["c"], c["h"], c["w"])
            w = torch.randn(c["k"], c["c"], c["f"], c["f"])
            y = torch.nn.functional.conv2d(x, w, stride=c["stride"], padding=c["pad"])
            dy = torch.randn_like(y)
            flop = 2.0 * y.numel() * c["c"] * c["f"] * c["f"]
            conv = lambda: torch.nn.functional.conv2d(x, w, stride=c["stride"], padding=c["pad"])
            args = (dy, x, w, None, [c["stride"]] * 2, [c["pad"]] * 2, [1, 1], False, [0, 0], 1)
            bwd_in = lambda: torch.ops.aten.convolution_backward(*args, [True, False, False])
            bwd_w = lambda: torch.ops.aten.convolution_backward(*args, [False, True, False])
            out["convs"].append({
                "forward": flop / time_it(conv) / 1e9,
                "input_grad": flop / time_it(bwd_in) / 1e9,
                "filter_grad": flop / time_it(bwd_w) / 1e9,
            })
        for n in spec["matmuls"]:
            a = torch.randn(n, n)
            b = torch.randn(n, n)
            out["matmuls"].append(2.0 * n ** 3 / time_it(lambda: a @ b) / 1e9)
    print(json.dumps(out))


main()
