"""PyTorch peer of the Barlow Twins training-parity test (test/train/btParity.test.ts).

Reads the case our exporter wrote (node build/bench/peers/btParityExport.js DIR: initial weights in our
layouts and ten fixed view pairs), builds the same network in PyTorch (the bottleneck ResNet of
src/models/resnet.ts, which is torchvision's v1.5 graph with a narrower stem, and main.py's projector),
and runs 50 steps of facebookresearch/barlowtwins main.py's training step: its loss (BatchNorm1d without
affine on each view's embeddings, c = bn(z1).T @ bn(z2) / B, on-diagonal (c_ii - 1)^2 + lambd * off-diagonal
c_ij^2), its LARS (two parameter groups by ndim, weight decay and trust ratio for ndim != 1 only,
momentum 0.9, eta 0.001) and its adjust_learning_rate (linear warm-up, cosine to 0.001 x base,
base = batch / 256; main.py hard-codes a 10-epoch warm-up, the case sets its own). float32, no AMP
(main.py's GradScaler/autocast are for GPUs). Everything in train mode, as main.py.

Writes test/fixtures/bt_training_parity.json (or the path given as the second argument).
Usage: /usr/bin/python3 bench/peers/bt_parity.py DIR [OUT]
"""
import json
import math
import platform
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from bt_main import LARS, bt_loss, lars_groups  # main.py's loss and LARS, shared with the other peers


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        o = F.relu(self.bn1(self.conv1(x)))
        o = F.relu(self.bn2(self.conv2(o)))
        o = self.bn3(self.conv3(o))
        return F.relu(o + (x if self.downsample is None else self.downsample(x)))


class BarlowTwins(nn.Module):
    def __init__(self, blocks, width, projector, lambd):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for stage, n in enumerate(blocks):
            planes = width * 2 ** stage
            mods = []
            for b in range(n):
                mods.append(Bottleneck(cin, planes, 2 if b == 0 and stage > 0 else 1))
                cin = planes * 4
            setattr(self, f'layer{stage + 1}', nn.Sequential(*mods))
        sizes = [cin] + list(projector)
        layers = []
        for i in range(len(sizes) - 2):
            layers += [nn.Linear(sizes[i], sizes[i + 1], bias=False), nn.BatchNorm1d(sizes[i + 1]), nn.ReLU(True)]
        layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
        self.projector = nn.Sequential(*layers)
        self.lambd = lambd

    def backbone(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean((2, 3))

    def forward(self, y1, y2):
        # main.py BarlowTwins.forward (all_reduce is the identity on one process)
        return bt_loss(self.projector(self.backbone(y1)), self.projector(self.backbone(y2)), self.lambd)


def adjust_learning_rate(s, step):
    max_steps = s['epochs'] * s['loaderLen']
    warmup_steps = s['warmupEpochs'] * s['loaderLen']
    base_lr = s['batch'] / 256
    if step < warmup_steps:
        lr = base_lr * step / warmup_steps
    else:
        step -= warmup_steps
        max_steps -= warmup_steps
        q = 0.5 * (1 + math.cos(math.pi * step / max_steps))
        end_lr = base_lr * 0.001
        lr = base_lr * q + end_lr * (1 - q)
    return lr * s['lrWeights'], lr * s['lrBiases']


def to_torch(name, a):
    # ours: conv HWIO, linear [in, out]; torch: OIHW, [out, in]
    if a.ndim == 4:
        return a.transpose(3, 2, 0, 1)
    if a.ndim == 2:
        return a.T
    return a


def moments(a):
    a = a.astype(np.float64)
    return [float(a.sum()), float((a * a).sum())]


def main():
    d = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else 'test/fixtures/bt_training_parity.json'
    meta = json.load(open(f'{d}/case.json'))
    s = meta['settings']
    flat = np.fromfile(f'{d}/case.f32', dtype=np.float32)
    arrays = {t['name']: flat[t['offset']:t['offset'] + int(np.prod(t['shape']))].reshape(t['shape']) for t in meta['tensors']}
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = BarlowTwins(s['blocks'], s['width'], s['projector'], s['lambda'])
    sd = model.state_dict()
    loaded = 0
    for name, a in arrays.items():
        if name.startswith('view'):
            continue
        t = torch.from_numpy(np.ascontiguousarray(to_torch(name, a)))
        assert sd[name].shape == t.shape, (name, sd[name].shape, t.shape)
        sd[name].copy_(t)
        loaded += 1
    missing = [k for k in sd if k not in arrays and not k.endswith('num_batches_tracked')]
    assert not missing, missing
    opt = LARS(lars_groups(model.parameters()), lr=0, weight_decay=s['weightDecay'])
    views = [(torch.from_numpy(arrays[f'view1.{k}']).permute(0, 3, 1, 2).contiguous(),
              torch.from_numpy(arrays[f'view2.{k}']).permute(0, 3, 1, 2).contiguous()) for k in range(s['pairs'])]
    init = {'params': moments(np.concatenate([a.ravel() for n, a in arrays.items() if not n.startswith('view')])),
            'views': moments(np.concatenate([a.ravel() for n, a in arrays.items() if n.startswith('view')]))}
    model.train()
    losses, lrs = [], []
    for step in range(s['steps']):
        lw, lb = adjust_learning_rate(s, step)
        opt.param_groups[0]['lr'] = lw
        opt.param_groups[1]['lr'] = lb
        y1, y2 = views[step % s['pairs']]
        opt.zero_grad()
        loss = model.forward(y1, y2)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
        lrs.append([lw, lb])
    final = {}
    for name, t in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            continue
        final[name] = float(t.double().norm().item())
    fixture = {
        'source': ('bench/peers/bt_parity.py: facebookresearch/barlowtwins main.py (BarlowTwins.forward loss, LARS, '
                   'adjust_learning_rate) in PyTorch %s on %s, python %s, from the case written by '
                   'node build/bench/peers/btParityExport.js (backend %s); regenerate with: npm run build && '
                   'node build/bench/peers/btParityExport.js /tmp/btp && /usr/bin/python3 bench/peers/bt_parity.py /tmp/btp'
                   % (torch.__version__, platform.platform(), platform.python_version(), meta['backend'])),
        'notes': ('float32 on CPU, train mode throughout, no AMP; the loss at each of the 50 steps is the value before that '
                  "step's update; final_norms are the L2 norms (float64) of every parameter and running statistic "
                  'after the 50th update, by our parameter names. init_moments fingerprint the inputs: [sum, sum of '
                  'squares] of all initial variables and of all views, as exported.'),
        'settings': s,
        'init_moments': init,
        'losses': losses,
        'lrs': lrs,
        'final_norms': final,
    }
    with open(out, 'w') as f:
        json.dump(fixture, f, indent=1)
    print(f'loaded {loaded} tensors; loss {losses[0]:.4f} -> {losses[-1]:.4f}; wrote {out}')


if __name__ == '__main__':
    main()
