"""Peer for bench/pretrain.ts: Barlow Twins training steps/s in PyTorch on the same machine.

torchvision resnet50 (1-channel conv1, fc removed, zero_init_residual), the projector of
facebookresearch/barlowtwins main.py at a reduced 2048-2048-2048 (the same as our side), its loss and
its LARS. Views are random tensors made in advance on both sides: augmentation is not timed.
Usage: /usr/bin/python3 pretrain_torch.py '{"size": 64, "batch": 32, "steps": 3, "threads": 2}'
Prints one JSON line: {"torch": version, "images_per_s": ..., "seconds_per_step": ...}.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torchvision


class LARS(torch.optim.Optimizer):
    # main.py's LARS (weight decay and trust ratio for ndim > 1 only).
    def __init__(self, params, lr, weight_decay=1e-6, momentum=0.9, eta=0.001):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g['params']:
                if p.grad is None:
                    continue
                dp = p.grad
                if p.ndim != 1:
                    dp = dp.add(p, alpha=g['weight_decay'])
                    pn, un = torch.norm(p), torch.norm(dp)
                    one = torch.ones_like(pn)
                    q = torch.where(pn > 0., torch.where(un > 0, (g['eta'] * pn / un), one), one)
                    dp = dp.mul(q)
                st = self.state[p]
                if 'mu' not in st:
                    st['mu'] = torch.zeros_like(p)
                mu = st['mu']
                mu.mul_(g['momentum']).add_(dp)
                p.add_(mu, alpha=-g['lr'])


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
    bn = nn.BatchNorm1d(sizes[-1], affine=False)
    params = list(net.parameters()) + list(proj.parameters())
    opt = LARS([{'params': [p for p in params if p.ndim != 1]}, {'params': [p for p in params if p.ndim == 1]}], lr=0.01)
    b, s = a['batch'], a['size']
    y1, y2 = torch.rand(b, 1, s, s), torch.rand(b, 1, s, s)

    def step():
        z1, z2 = proj(net(y1)), proj(net(y2))
        c = bn(z1).T @ bn(z2) / b
        on = torch.diagonal(c).add_(-1).pow_(2).sum()
        off = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
        loss = on + 0.0051 * off
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(a['steps']):
        step()
    dt = (time.perf_counter() - t0) / a['steps']
    print(json.dumps({'torch': torch.__version__, 'images_per_s': b / dt, 'seconds_per_step': dt}))


if __name__ == '__main__':
    main()
