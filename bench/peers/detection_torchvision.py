"""Peer timing for bench/detection.ts: torchvision fasterrcnn_resnet50_fpn, random weights, CPU.

Usage: /usr/bin/python3 bench/peers/detection_torchvision.py '{"size": 224, "batch": 2, "warmup": 1, "steps": 2}'
Prints one JSON line: training and inference images/s (from the median step time) and the torch
version. The settings that decide how much work a step does are set to MMDetection's
faster_rcnn_r50_fpn values, which is what our side runs (see the header of bench/detection.ts):
  - the transform is pinned to the input size (min_size = max_size = size), so no real resize;
  - RPN: 2000 proposals per level before NMS and 1000 after it in training (torchvision's default
    keeps 2000 after NMS), 1000 / 1000 at test; 256 anchors sampled per image;
  - box head: 512 RoIs sampled per image, 2 x 1024 FC;
  - backbone: torchvision's FrozenBatchNorm2d and trainable_backbone_layers=3 (stem and layer1
    frozen), its defaults;
  - subnormal floats flushed to zero (spec "flush_denormal", default true), as our native kernels
    and TensorFlow's do: the gradients of a randomly initialised detector are full of them, and
    x86 arithmetic on them is ~100x slower, which would time the subnormal penalty, not the model.
"""
import json
import statistics
import sys
import time

import torch
import torchvision

torch.set_num_threads(2)


def main():
    spec = json.loads(sys.argv[1])
    size, batch = spec["size"], spec["batch"]
    torch.set_flush_denormal(bool(spec.get("flush_denormal", True)))
    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=15, min_size=size, max_size=size,
        trainable_backbone_layers=3,
        rpn_pre_nms_top_n_train=2000, rpn_post_nms_top_n_train=1000,
        rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_test=1000,
        rpn_batch_size_per_image=256, box_batch_size_per_image=512)
    g = torch.Generator().manual_seed(5)
    images = [torch.rand(3, size, size, generator=g) for _ in range(batch)]
    s = size / 4
    targets = [{"boxes": torch.tensor([[s, s, 2 * s, 2.5 * s]]), "labels": torch.tensor([1])} for _ in range(batch)]
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.001, momentum=0.9, weight_decay=1e-4)

    def train_step():
        loss = sum(model(images, targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer():
        with torch.no_grad():
            model(images)

    def ips(fn):
        for _ in range(spec["warmup"]):
            fn()
        times = []
        for _ in range(spec["steps"]):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return batch / statistics.median(times), times

    model.train()
    train_ips, train_times = ips(train_step)
    model.eval()
    infer_ips, infer_times = ips(infer)
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                      "train_ips": train_ips, "infer_ips": infer_ips,
                      "train_seconds": train_times, "infer_seconds": infer_times}))


main()
