"""Barlow Twins recipe search for the demo profile, in PyTorch (about 2x faster here than ours).

The demo's model (bottleneck ResNet, blocks [2,2,2,2], stem width 16, 1 channel -- the same graph as
src/models/resnet.ts), main.py's projector, loss and LARS (facebookresearch/barlowtwins), and main.py's
augmentations adapted to grey images as src/data/augment.ts does, on the NIH-format phantom images
exported by bench/experiments/exportNih.ts (node build/bench/experiments/exportNih.js demo .cache/bt-recipe).

Usage: /usr/bin/python3 bench/experiments/bt_recipe.py '{"steps": 200, "lr": 1.0, "lam": 0.0051, ...}'
Every key is optional (defaults below). Prints one JSON line per probe and a final summary line:
loss, mean C_ii and mean |C_ij| on a fixed probe batch (fresh views, batch statistics), and kNN
("No Finding" vs abnormal) AUC of pooled features (train -> test list).
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'peers'))
from bt_main import LARS, bt_loss, cross_corr  # noqa: E402  main.py's loss and LARS, shared with the peers

DEFAULTS = dict(data='.cache/bt-recipe', steps=200, batch=64, size=64, lr=0.2, lr_bias=0.0048, lam=0.0051,
                proj=[512, 512, 512], blocks=[2, 2, 2, 2], width=16, warmup=20, wd=1e-6, scale=[0.08, 1.0],
                jitter=0.4, blur=True, solarize=True, flip=True, same_views=False, probe_every=25, seed=0,
                threads=2, opt='lars', zero_init_residual=False, interp='bicubic')


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride, zero_init):
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        if zero_init:
            nn.init.zeros_(self.bn3.weight)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        o = F.relu(self.bn1(self.conv1(x)))
        o = F.relu(self.bn2(self.conv2(o)))
        o = self.bn3(self.conv3(o))
        return F.relu(o + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """src/models/resnet.ts's graph (torchvision v1.5 bottleneck ResNet with a narrower stem)."""

    def __init__(self, blocks, width, zero_init=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers = []
        cin = width
        for stage, n in enumerate(blocks):
            planes = width * 2 ** stage
            mods = []
            for b in range(n):
                stride = 2 if b == 0 and stage > 0 else 1
                mods.append(Bottleneck(cin, planes, stride, zero_init))
                cin = planes * 4
            layers.append(nn.Sequential(*mods))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.out = cin
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean((2, 3))


def projector(sizes):
    layers = []
    for i in range(len(sizes) - 2):
        layers += [nn.Linear(sizes[i], sizes[i + 1], bias=False), nn.BatchNorm1d(sizes[i + 1]), nn.ReLU(True)]
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
    return nn.Sequential(*layers)


def views(x, a, gen, blur_p, sol_p):
    """main.py's Transform on grey [N,1,H,W] tensors: RandomResizedCrop (bicubic), flip, brightness/contrast
    jitter (p 0.8, random order), Gaussian blur, solarisation; one random draw per image."""
    import torchvision.transforms.functional as TF
    from torchvision.transforms import RandomResizedCrop
    n = x.shape[0]
    out = torch.empty(n, 1, a['size'], a['size'])
    interp = TF.InterpolationMode.BICUBIC if a['interp'] == 'bicubic' else TF.InterpolationMode.BILINEAR
    r = torch.rand(n, 8, generator=gen)
    for i in range(n):
        img = x[i]
        top, left, h, w = RandomResizedCrop.get_params(img, a['scale'], [3 / 4, 4 / 3])
        v = TF.resized_crop(img, top, left, h, w, [a['size'], a['size']], interp).clamp(0, 1)
        if a['flip'] and r[i, 0] < 0.5:
            v = TF.hflip(v)
        if a['jitter'] > 0 and r[i, 1] < 0.8:
            b = 1 - a['jitter'] + 2 * a['jitter'] * r[i, 2].item()
            c = 1 - a['jitter'] + 2 * a['jitter'] * r[i, 3].item()
            if r[i, 4] < 0.5:
                v = TF.adjust_contrast(TF.adjust_brightness(v, b), c)
            else:
                v = TF.adjust_brightness(TF.adjust_contrast(v, c), b)
        if a['blur'] and r[i, 5] < blur_p:
            s = (0.1 + 1.9 * r[i, 6].item()) * a['size'] / 224
            k = 2 * max(1, math.ceil(3 * s)) + 1
            v = TF.gaussian_blur(v, [k, k], [s, s])
        if a['solarize'] and r[i, 7] < sol_p:
            v = torch.where(v >= 0.5, 1 - v, v)
        out[i] = v
    return out


def knn_auc(feat_tr, y_tr, feat_te, y_te, k=20):
    ftr = F.normalize(feat_tr, dim=1)
    fte = F.normalize(feat_te, dim=1)
    sim = fte @ ftr.T
    idx = sim.topk(k, dim=1).indices
    score = y_tr[idx].float().mean(1).numpy()
    y = y_te.numpy()
    pos, neg = score[y == 1], score[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float('nan')
    return float(((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()))


def main():
    a = dict(DEFAULTS)
    a.update(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
    torch.set_num_threads(a['threads'])
    torch.manual_seed(a['seed'])
    gen = torch.Generator().manual_seed(a['seed'])
    meta = json.load(open(f"{a['data']}/train.json"))
    tr = torch.from_numpy(np.fromfile(f"{a['data']}/train.f32", dtype=np.float32).reshape(-1, 1, meta['shape'][1], meta['shape'][2]))
    mte = json.load(open(f"{a['data']}/test.json"))
    te = torch.from_numpy(np.fromfile(f"{a['data']}/test.f32", dtype=np.float32).reshape(-1, 1, mte['shape'][1], mte['shape'][2]))
    y_tr = torch.tensor([0 if l == ['No Finding'] else 1 for l in meta['labels']])
    y_te = torch.tensor([0 if l == ['No Finding'] else 1 for l in mte['labels']])
    net = ResNet(a['blocks'], a['width'], a['zero_init_residual'])
    proj = projector([net.out] + a['proj'])
    params = list(net.parameters()) + list(proj.parameters())
    if a['opt'] == 'lars':
        opt = LARS([{'params': [p for p in params if p.ndim != 1]}, {'params': [p for p in params if p.ndim == 1]}], lr=0, weight_decay=a['wd'])
    else:
        opt = torch.optim.Adam(params, lr=a['lr'])
    bsz = a['batch']
    probe_idx = torch.arange(min(256, tr.shape[0]))
    pgen = torch.Generator().manual_seed(12345)
    probe_views = None

    def make_views(x, g):
        v1 = views(x, a, g, 1.0, 0.0)
        v2 = v1.clone() if a['same_views'] else views(x, a, g, 0.1, 0.2)
        return v1, v2

    def probe(step, loss):
        nonlocal probe_views
        if probe_views is None:
            probe_views = make_views(tr[probe_idx], pgen)
        net.train(); proj.train()
        with torch.no_grad():
            # batch statistics without moving the running ones (as correlationSummary)
            mods = [m for m in list(net.modules()) + list(proj.modules()) if isinstance(m, nn.modules.batchnorm._BatchNorm)]
            saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in mods]
            c = cross_corr(proj(net(probe_views[0])), proj(net(probe_views[1])))
            for m, (rm, rv, nb) in zip(mods, saved):
                m.running_mean.copy_(rm); m.running_var.copy_(rv); m.num_batches_tracked.copy_(nb)
            d = c.shape[0]
            diag = torch.diagonal(c).mean().item()
            off = (c.abs().sum() - torch.diagonal(c).abs().sum()).item() / (d * d - d)
            net.eval()
            ftr = torch.cat([net(F.interpolate(tr[i:i + 256], size=a['size'], mode='bilinear', align_corners=False, antialias=True)) for i in range(0, tr.shape[0], 256)])
            fte = torch.cat([net(F.interpolate(te[i:i + 256], size=a['size'], mode='bilinear', align_corners=False, antialias=True)) for i in range(0, te.shape[0], 256)])
            net.train()
        auc = knn_auc(ftr, y_tr, fte, y_te)
        row = dict(step=step, loss=loss, diag=round(diag, 4), off=round(off, 4), knn_auc=round(auc, 4), t=round(time.time() - t0, 1))
        print(json.dumps(row), flush=True)
        return row

    t0 = time.time()
    steps_per_epoch = tr.shape[0] // bsz
    rows = [probe(0, None)]
    losses = []
    for step in range(a['steps']):
        if step % steps_per_epoch == 0:
            perm = torch.randperm(tr.shape[0], generator=gen)
        k = step % steps_per_epoch
        x = tr[perm[k * bsz:(k + 1) * bsz]]
        v1, v2 = make_views(x, gen)
        if a['opt'] == 'lars':
            base = bsz / 256
            if step < a['warmup']:
                lr = base * step / a['warmup']
            else:
                q = 0.5 * (1 + math.cos(math.pi * (step - a['warmup']) / max(1, a['steps'] - a['warmup'])))
                lr = base * q + base * 0.001 * (1 - q)
            opt.param_groups[0]['lr'] = lr * a['lr']
            opt.param_groups[1]['lr'] = lr * a['lr_bias']
        loss = bt_loss(proj(net(v1)), proj(net(v2)), a['lam'])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if (step + 1) % a['probe_every'] == 0 or step + 1 == a['steps']:
            rows.append(probe(step + 1, round(float(np.mean(losses[-5:])), 2)))
    print(json.dumps(dict(summary=True, args=a, first_loss=losses[0], last_loss=float(np.mean(losses[-5:])),
                          fall=1 - float(np.mean(losses[-5:])) / losses[0], rows=rows, seconds=round(time.time() - t0, 1))), flush=True)


if __name__ == '__main__':
    main()
