"""Peer for bench/demo.ts: the demo profile's own workloads in PyTorch on the same machine.

Every size comes from the spec, which bench/demo.ts reads from the demo profile (src/config.ts), so
the peer follows whatever the demo trains. The backbone is the project's bottleneck ResNet
(torchvision's Bottleneck blocks, v1.5, stem width `width`, stages width·2^i, ×4 out, 1 input
channel), built with torchvision's own ResNet._make_layer.

Modes (spec "mode"):
  bt     Barlow Twins training step with its augmentation, image pairs/s: per-image torchvision
         transforms on [1, S, S] tensors as main.py's Transform has them for a grey image
         (RandomResizedCrop 0.08-1 to the input size with the spec's interpolation, flip 0.5, ColorJitter brightness/contrast 0.4
         with p 0.8, GaussianBlur sigma 0.1-2 scaled by size/224 with p 1.0 / 0.1, solarisation
         p 0 / 0.2), then both views through backbone + projector, main.py's loss and LARS.
  det    Faster R-CNN + FPN training step, images/s: torchvision FasterRCNN on that backbone (frozen
         BatchNorm and stem + layer1 frozen, as the demo's normEval/frozenStages), FPN and box-head
         widths, proposal counts and RoI batch from the spec, SGD momentum 0.9 with weight decay and
         gradient-norm clipping.
  probe  the frozen backbone's eval-mode feature pass of the linear evaluation, images/s.
Usage: /usr/bin/python3 demo_torch.py '{"mode": "bt", ...}'. Prints one JSON line.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T
from torchvision.models.resnet import Bottleneck, ResNet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bt_main import LARS, bt_loss, lars_groups  # noqa: E402  main.py's loss and LARS, shared with the other peers


def backbone(blocks, width, norm_layer=None, zero_init_residual=False):
    net = ResNet(Bottleneck, [1, 1, 1, 1], norm_layer=norm_layer)
    norm = net._norm_layer
    net.inplanes = width
    net.conv1 = nn.Conv2d(1, width, 7, 2, 3, bias=False)
    net.bn1 = norm(width)
    net.layer1 = net._make_layer(Bottleneck, width, blocks[0])
    net.layer2 = net._make_layer(Bottleneck, width * 2, blocks[1], stride=2)
    net.layer3 = net._make_layer(Bottleneck, width * 4, blocks[2], stride=2)
    net.layer4 = net._make_layer(Bottleneck, width * 8, blocks[3], stride=2)
    net.fc = nn.Identity()
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
    if zero_init_residual:
        for m in net.modules():
            if isinstance(m, Bottleneck) and isinstance(m.bn3, nn.BatchNorm2d):
                nn.init.zeros_(m.bn3.weight)
    return net


CPU = []  # process CPU seconds of each timed call (both threads), a load-robust companion of the wall time


def timed(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        CPU.append(time.process_time() - c0)
    return statistics.median(times), times


def view_transform(size, blur_p, solarize_p, interpolation):
    # Ours: 'pil-bicubic' (main.py's Pillow bicubic, antialiased when shrinking) or tfjs's point-sampled
    # 'bilinear'; torchvision's tensor resize does the same work (antialias only for the Pillow filters).
    pil = interpolation.startswith('pil-')
    mode = T.InterpolationMode.BICUBIC if interpolation == 'pil-bicubic' else T.InterpolationMode.BILINEAR
    k = size / 224
    return T.Compose([
        T.RandomResizedCrop(size, scale=(0.08, 1.0), interpolation=mode, antialias=pil),
        T.RandomHorizontalFlip(0.5),
        T.RandomApply([T.ColorJitter(brightness=0.4, contrast=0.4)], p=0.8),
        # our radius is ceil(3 sigma_max) px: kernel 2r+1
        T.RandomApply([T.GaussianBlur(2 * max(1, int(-(-3 * 2.0 * k // 1))) + 1, sigma=(0.1 * k, 2.0 * k))], p=blur_p),
        T.RandomSolarize(0.5, p=solarize_p),
    ])


def bt(a):
    net = backbone(a['blocks'], a['width'], zero_init_residual=True)
    sizes = [a['width'] * 8 * 4] + list(a['projector'])
    layers = []
    for i in range(len(sizes) - 2):
        layers += [nn.Linear(sizes[i], sizes[i + 1], bias=False), nn.BatchNorm1d(sizes[i + 1]), nn.ReLU(True)]
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
    proj = nn.Sequential(*layers)
    opt = LARS(lars_groups(list(net.parameters()) + list(proj.parameters())), lr=0.01, weight_decay=1e-6)
    b, s, src = a['batch'], a['size'], a['imageSize']
    g = torch.Generator().manual_seed(1)
    bank = torch.rand(a['bank'], 1, src, src, generator=g)
    interp = a.get('interpolation', 'bilinear')
    t1, t2 = view_transform(s, 1.0, 0.0, interp), view_transform(s, 0.1, 0.2, interp)
    lam = a['lambda']

    def step():
        idx = torch.randint(0, bank.shape[0], (b,))
        imgs = [bank[i] for i in idx]
        y1 = torch.stack([t1(x) for x in imgs])
        y2 = torch.stack([t2(x) for x in imgs])
        loss = bt_loss(proj(net(y1)), proj(net(y2)), lam)
        opt.zero_grad()
        loss.backward()
        opt.step()

    net.train()
    proj.train()
    dt, times = timed(step, a.get('warmup', 1), a['steps'])
    return {'per_s': b / dt, 'seconds': times}


def det(a):
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops.misc import FrozenBatchNorm2d

    torch.set_flush_denormal(True)
    net = backbone(a['blocks'], a['width'], norm_layer=FrozenBatchNorm2d)
    for name, p in net.named_parameters():  # frozenStages: the stem and the first `frozen` stages
        if name.startswith(('conv1.', 'bn1.')) or any(name.startswith(f'layer{i + 1}.') for i in range(a['frozenStages'])):
            p.requires_grad_(False)
    w = a['width']
    body = BackboneWithFPN(net, {'layer1': '0', 'layer2': '1', 'layer3': '2', 'layer4': '3'},
                           [w * 4, w * 8, w * 16, w * 32], a['fpnChannels'])
    fc = a['boxFcWidth']
    model = FasterRCNN(
        body, num_classes=None, min_size=a['size'], max_size=a['size'],
        image_mean=[0.5], image_std=[0.25],
        rpn_pre_nms_top_n_train=a['rpnPreNmsTopNTrain'], rpn_post_nms_top_n_train=a['rpnPostNmsTopNTrain'],
        rpn_pre_nms_top_n_test=a['rpnPreNmsTopNTest'], rpn_post_nms_top_n_test=a['rpnPostNmsTopNTest'],
        rpn_batch_size_per_image=256, box_batch_size_per_image=a['boxBatchSizePerImage'],
        box_head=TwoMLPHead(a['fpnChannels'] * 7 * 7, fc), box_predictor=FastRCNNPredictor(fc, a['numClasses'] + 1))
    size, batch = a['size'], a['batch']
    g = torch.Generator().manual_seed(5)
    images = [torch.rand(1, size, size, generator=g) for _ in range(batch)]
    targets = [{'boxes': torch.tensor(bx, dtype=torch.float32), 'labels': torch.tensor(lb)} for bx, lb in zip(a['boxes'], a['labels'])]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.001, momentum=0.9, weight_decay=a['weightDecay'])

    def step():
        loss = sum(model(images, targets).values())
        opt.zero_grad()
        loss.backward()
        if a['clipNorm'] > 0:
            torch.nn.utils.clip_grad_norm_(params, a['clipNorm'])
        opt.step()

    model.train()
    dt, times = timed(step, a.get('warmup', 1), a['steps'])
    return {'per_s': batch / dt, 'seconds': times}


def probe(a):
    net = backbone(a['blocks'], a['width'])
    net.eval()
    g = torch.Generator().manual_seed(2)
    images = torch.rand(a['images'], 1, a['size'], a['size'], generator=g)
    bs = a['batch']

    def run():
        with torch.no_grad():
            out = [net(images[s:s + bs]).numpy() for s in range(0, images.shape[0], bs)]
        return out

    dt, times = timed(run, a.get('warmup', 1), a['steps'])
    return {'per_s': images.shape[0] / dt, 'seconds': times}


def main():
    a = json.loads(sys.argv[1])
    torch.set_num_threads(int(a.get('threads', 2)))
    torch.manual_seed(0)
    out = {'bt': bt, 'det': det, 'probe': probe}[a['mode']](a)
    out['torch'] = torch.__version__
    out['cpu_seconds'] = CPU
    print(json.dumps(out))


if __name__ == '__main__':
    main()
