"""Peer for bench/resnet.ts: torchvision ResNet-50 (random weights) training images/s.

Usage: /usr/bin/python3 resnet.py '{"size": 224, "batch": 8, "warmup": 2, "steps": 4}'
Prints one JSON line: images/s from the median step time, and the process's peak RSS.
"""
import json
import resource
import statistics
import sys
import time

import torch
import torchvision

torch.set_num_threads(2)


def main():
    spec = json.loads(sys.argv[1])
    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(spec["batch"], 3, spec["size"], spec["size"])
    labels = torch.randint(0, 1000, (spec["batch"],))

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(spec["warmup"]):
        step()
    times = []
    for _ in range(spec["steps"]):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "torch": torch.__version__,
        "images_per_sec": spec["batch"] / statistics.median(times),
        "step_seconds": times,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


main()
