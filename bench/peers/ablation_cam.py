"""Peer of bench/cam.ts: the batched Ablation-CAM loop in plain PyTorch.

pytorch-grad-cam (jacobgil/pytorch-grad-cam, AblationCAM) is not installable here, so this is the
same loop written out: cache the target layer's activations, repeat them batch_size times, zero one
channel per row, run the rest of the model, read the target score of each row. Same stand-in for
ResNet-50 above layer3 as ours (3x3 conv 1024->2048 stride 2, ReLU, global average pool, linear
2048->1000), random weights (only the speed is compared), NCHW, float32, torch threads 2.

Usage: python3 ablation_cam.py <dir>; reads <dir>/input.json, writes <dir>/output.json.
"""
import json
import sys
import time

import torch


def main(d):
    inp = json.load(open(d + '/input.json'))
    torch.set_num_threads(inp['threads'])
    torch.manual_seed(inp['seed'])
    k, h, w, batch = inp['channels'], inp['height'], inp['width'], inp['batch_size']
    head = torch.nn.Sequential(
        torch.nn.Conv2d(k, inp['out_channels'], 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(inp['out_channels'], inp['classes']),
    ).eval()
    acts = torch.relu(torch.randn(1, k, h, w))
    target = 0

    def ablate(n):
        """Ablation scores of channels 0..n-1 (plus the unablated pass), as AblationCAM runs them."""
        with torch.no_grad():
            y = head(acts)[0, target].item()
            scores = []
            for start in range(0, n, batch):
                rows = min(batch, n - start)
                b = acts.repeat(rows, 1, 1, 1)
                for i in range(rows):
                    b[i, start + i] = 0
                scores.extend(head(b)[:, target].tolist())
            return [(y - s) / y for s in scores]

    ablate(min(batch, k))  # warm-up
    t0 = time.perf_counter()
    ablate(batch)
    per_channel = (time.perf_counter() - t0) / batch
    n = max(batch, min(k, int(inp['seconds'] / per_channel) // batch * batch))
    t0 = time.perf_counter()
    ablate(n)
    seconds = time.perf_counter() - t0
    json.dump({'channels': n, 'seconds': seconds, 'torch': torch.__version__}, open(d + '/output.json', 'w'))


if __name__ == '__main__':
    main(sys.argv[1])
