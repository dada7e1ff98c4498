"""Peer for bench/pretrain.ts: Barlow Twins training steps/s in PyTorch on the same machine.

torchvision resnet50 (1-channel conv1, fc removed, zero_init_residual), the projector of
facebookresearch/barlowtwins main.py at a reduced 2048-2048-2048 (the same as our side), its loss and
its LARS. Views are random tensors made in advance on both sides: augmentation is not timed.
Usage: /usr/bin/python3 pretrain_torch.py '{"size": 64, "batch": 32, "steps": 3, "warmup": 2, "threads": 2}'
Prints one JSON line: {"torch": version, "images_per_s": ..., "seconds_per_step": ...}.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torchvision

from bt_main import LARS, bt_loss, lars_groups  # main.py's loss and LARS, shared with the other peers


def main():
    a = json.loads(sys.argv[1])
    torch.set_num_threads(int(a.get('threads', 2)))
    torch.manual_seed(0)
    net = torchvision.models.resnet50(zero_init_residual=True)
    net.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    net.fc = nn.Identity()
    sizes = [2048] + list(a.get('projector', [2048, 2048, 2048]))
    layers = []
    for i in range(len(sizes) - 2):
        layers += [nn.Linear(sizes[i], sizes[i + 1], bias=False), nn.BatchNorm1d(sizes[i + 1]), nn.ReLU(True)]
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
    proj = nn.Sequential(*layers)
    opt = LARS(lars_groups(list(net.parameters()) + list(proj.parameters())), lr=0.01, weight_decay=1e-6)
    b, s = a['batch'], a['size']
    y1, y2 = torch.rand(b, 1, s, s), torch.rand(b, 1, s, s)

    def step():
        loss = bt_loss(proj(net(y1)), proj(net(y2)), 0.0051)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(a.get('warmup', 1)):
        step()
    t0 = time.perf_counter()
    for _ in range(a['steps']):
        step()
    dt = (time.perf_counter() - t0) / a['steps']
    print(json.dumps({'torch': torch.__version__, 'images_per_s': b / dt, 'seconds_per_step': dt}))


if __name__ == '__main__':
    main()
