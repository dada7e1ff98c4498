"""Can Barlow Twins be invariant to these views and still tell images apart? A network-free check.

For a batch of phantom training images (exported by bench/experiments/exportNih.ts), two views each
(bt_recipe.py's main.py-style augmentation at the given strength), both reduced to 8x8 thumbnails and
standardised per pixel over the batch: how often is the twin of view 1 the nearest view 2 (top-1
retrieval; chance = 1/N), and how large is the between-image variance against the within-pair variance.
Also, over all exported training images: the share of pixel variance the mean image explains, and the
spread (sd) of the per-image mean brightness and of the per-image contrast (pixel sd).
Usage: /usr/bin/python3 bench/experiments/bt_views.py '{"scale": [0.08, 1], "jitter": 0.4}'
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, 'bench/experiments')
from bt_recipe import DEFAULTS, views  # noqa: E402


def main():
    a = dict(DEFAULTS)
    a.update(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
    torch.set_num_threads(1)
    meta = json.load(open(f"{a['data']}/train.json"))
    everything = np.fromfile(f"{a['data']}/train.f32", dtype=np.float32).reshape(-1, 1, meta['shape'][1], meta['shape'][2])
    flat = everything.reshape(len(everything), -1).astype(np.float64)
    mean_image_share = 1 - ((flat - flat.mean(0)) ** 2).mean() / ((flat - flat.mean()) ** 2).mean()
    x = torch.from_numpy(everything)[:256]
    g = torch.Generator().manual_seed(0)
    v1 = views(x, a, g, 1.0, 0.0)
    v2 = views(x, a, g, 0.1, 0.2)
    t1 = F.adaptive_avg_pool2d(v1, 8).flatten(1)
    t2 = F.adaptive_avg_pool2d(v2, 8).flatten(1)
    m, s = torch.cat([t1, t2]).mean(0), torch.cat([t1, t2]).std(0) + 1e-6
    t1, t2 = (t1 - m) / s, (t2 - m) / s
    d = torch.cdist(t1, t2)
    top1 = (d.argmin(1) == torch.arange(len(x))).float().mean().item()
    pair = ((t1 - t2) ** 2).sum(1).mean().item() / 2
    between = (((t1 + t2) / 2 - ((t1 + t2) / 2).mean(0)) ** 2).sum(1).mean().item()
    print(json.dumps(dict(scale=a['scale'], jitter=a['jitter'], size=a['size'], twin_top1=round(top1, 3), chance=round(1 / len(x), 4),
                          within_pair_var=round(pair, 2), between_image_var=round(between, 2),
                          mean_image_share=round(float(mean_image_share), 3), image_mean_sd=round(float(flat.mean(1).std()), 4),
                          image_contrast_sd=round(float(flat.std(1).std()), 4))))


if __name__ == '__main__':
    main()
