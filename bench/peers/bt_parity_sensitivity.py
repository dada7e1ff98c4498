"""How sensitive is the Barlow Twins parity case itself? (test/train/btParity.test.ts, bench/peers/bt_parity.py)

Our 50-step loss trajectory agrees with PyTorch's to float32 rounding for 11 steps and then separates (1e-4 at
step 11, a few % by step 20). This asks whether PyTorch separates from *itself* the same way when nothing but
float32 rounding differs: it runs the case (node build/bench/peers/btParityExport.js DIR) three times in PyTorch,
(a) as exported, (b) with every initial weight perturbed by one float32 rounding step (x * (1 + 2^-24 * N(0, 1))),
(c) in float64, and prints per step the relative loss differences b-a and c-a. If b and c separate from a as
ours does, the drift is the case's sensitivity (discontinuities of ReLU and max-pool amplified by the learning
rate), not a difference in the computation.
Usage: /usr/bin/python3 bench/peers/bt_parity_sensitivity.py DIR
"""
import json
import sys

import numpy as np
import torch

sys.path.insert(0, 'bench/peers')
from bt_parity import LARS, BarlowTwins, adjust_learning_rate, to_torch  # noqa: E402


def run(d, dtype, perturb):
    meta = json.load(open(f'{d}/case.json'))
    s = meta['settings']
    flat = np.fromfile(f'{d}/case.f32', dtype=np.float32)
    arrays = {t['name']: flat[t['offset']:t['offset'] + int(np.prod(t['shape']))].reshape(t['shape']) for t in meta['tensors']}
    torch.manual_seed(0)
    model = BarlowTwins(s['blocks'], s['width'], s['projector'], s['lambda'])
    sd = model.state_dict()
    g = np.random.default_rng(1)
    for name, a in arrays.items():
        if name.startswith('view'):
            continue
        a = to_torch(name, a)
        if perturb:
            a = (a * (1 + 2.0 ** -24 * g.standard_normal(a.shape))).astype(np.float32)
        sd[name].copy_(torch.from_numpy(np.ascontiguousarray(a)))
    model = model.to(dtype)
    params = list(model.parameters())
    opt = LARS([{'params': [p for p in params if p.ndim != 1]}, {'params': [p for p in params if p.ndim == 1]}], lr=0,
               weight_decay=s['weightDecay'])
    views = [(torch.from_numpy(arrays[f'view1.{k}']).permute(0, 3, 1, 2).contiguous().to(dtype),
              torch.from_numpy(arrays[f'view2.{k}']).permute(0, 3, 1, 2).contiguous().to(dtype)) for k in range(s['pairs'])]
    model.train()
    losses = []
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
    return np.array(losses)


def main():
    d = sys.argv[1]
    torch.set_num_threads(1)
    a = run(d, torch.float32, False)
    b = run(d, torch.float32, True)
    c = run(d, torch.float64, False)
    rel = lambda x: np.abs(x - a) / np.abs(a)  # noqa: E731
    print(json.dumps({'steps': list(range(len(a))), 'perturbed_vs_a': [float(f'{v:.2e}') for v in rel(b)],
                      'float64_vs_a': [float(f'{v:.2e}') for v in rel(c)]}))
    for name, x in (('perturbed', b), ('float64', c)):
        r = rel(x)
        print(f'{name}: max rel diff steps 0-10 {r[:11].max():.1e}; step 11 {r[11]:.1e}; steps 12-19 max {r[12:20].max():.1e}; '
              f'10-step means after: ' + ', '.join(f'{abs(x[w:w+10].mean() - a[w:w+10].mean()) / a[w:w+10].mean():.1e}' for w in range(10, 50, 10)))


if __name__ == '__main__':
    main()
