"""Peer timing for bench/detection.ts: torchvision fasterrcnn_resnet50_fpn, random weights, CPU.

Usage: /usr/bin/python3 bench/peers/detection_torchvision.py SIZE [SIZE ...]
Prints one JSON object: {"<size>": {"train_ips": float, "infer_ips": float}, "torch": version}.
The model's transform is pinned to the input size (min_size = max_size = SIZE) so no resize happens.
"""
import json
import sys
import time

import torch
import torchvision

torch.set_num_threads(2)
torch.manual_seed(0)


def bench(size, batch=1, steps=2):
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=15, min_size=size, max_size=size)
    images = [torch.rand(3, size, size) for _ in range(batch)]
    s = size / 4
    targets = [{"boxes": torch.tensor([[s, s, 2 * s, 2.5 * s]]), "labels": torch.tensor([1])} for _ in range(batch)]
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=1e-4)
    model.train()

    def train_step():
        loss = sum(model(images, targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()

    train_step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step()
    train_ips = batch * steps / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        model(images)
        t0 = time.perf_counter()
        for _ in range(steps):
            model(images)
        infer_ips = batch * steps / (time.perf_counter() - t0)
    return {"train_ips": train_ips, "infer_ips": infer_ips}


if __name__ == "__main__":
    out = {str(s): bench(int(s)) for s in sys.argv[1:]}
    out["torch"] = torch.__version__
    print(json.dumps(out))
