#!/usr/bin/python3
"""Peer for test/models/fasterRcnn/detectorStep.parity.test.ts: one training step of torchvision's
FasterRCNN from our exported initial weights (see test/models/fasterRcnn/detectorStepSetup.ts).

    node build/test/models/fasterRcnn/detectorStepSetup.js --export /tmp/detector_step_in.safetensors
    /usr/bin/python3 test/peers/detector_step.py /tmp/detector_step_in.safetensors test/fixtures/reference/detector_step.json

Runs on Debian 12's python3 with torch 1.13.1 and torchvision 0.14.1, float32, CPU. Writes the four
losses and, per parameter, a digest of its update (the whole delta's sum and L2 norm and its value
at a few fixed positions), so that the fixture stays small.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection import roi_heads as tv_roi_heads
from torchvision.models.detection import rpn as tv_rpn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool
from torchvision.models.resnet import Bottleneck, ResNet
from torchvision.ops import MultiScaleRoIAlign


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32", k
        out[k] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f4").reshape(v["shape"]).copy()
    return out, meta


def l1_not_smooth(input, target, beta=1.0, reduction="mean", **kw):
    # torchvision's box losses are smooth-L1 with beta 1/9; beta 0 is exactly the L1 loss of
    # MMDetection's faster_rcnn_r50_fpn, which the implementation under test follows.
    return F.l1_loss(input, target, reduction=reduction)


def main(inp, out):
    torch.manual_seed(0)
    t, meta = read_safetensors(inp)
    s = json.loads(meta["settings"])
    targets = json.loads(meta["targets"])
    C = s["numClasses"]

    tv_rpn.F.smooth_l1_loss = l1_not_smooth
    tv_roi_heads.F.smooth_l1_loss = l1_not_smooth

    body = ResNet(Bottleneck, [1, 1, 1, 1], norm_layer=nn.BatchNorm2d)
    body.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    # As _resnet_fpn_extractor(body, trainable_layers=3), with our FPN width (it fixes 256).
    for name, p in body.named_parameters():
        if not name.startswith(("layer2", "layer3", "layer4")):
            p.requires_grad_(False)
    backbone = BackboneWithFPN(body, {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}, [256, 512, 1024, 2048], s["fpnChannels"], extra_blocks=LastLevelMaxPool())
    anchors = AnchorGenerator(sizes=((32,), (64,), (128,), (256,), (512,)), aspect_ratios=((0.5, 1.0, 2.0),) * 5)
    pooler = MultiScaleRoIAlign(featmap_names=["0", "1", "2", "3"], output_size=7, sampling_ratio=2)
    from torchvision.models.detection.faster_rcnn import TwoMLPHead, FastRCNNPredictor

    model = FasterRCNN(
        backbone, num_classes=None, min_size=s["size"], max_size=s["size"], image_mean=[0.0], image_std=[1.0],
        rpn_anchor_generator=anchors, box_roi_pool=pooler,
        box_head=TwoMLPHead(s["fpnChannels"] * 49, s["boxFcWidth"]), box_predictor=FastRCNNPredictor(s["boxFcWidth"], C + 1),
        rpn_pre_nms_top_n_train=s["preNms"], rpn_post_nms_top_n_train=s["postNms"],
        rpn_batch_size_per_image=s["sampleAll"], rpn_positive_fraction=0.5,
        box_batch_size_per_image=s["sampleAll"], box_positive_fraction=0.5,
    )
    # The images are used as they are: no resize (the transform's normalise is the identity here).
    model.transform.resize = lambda image, target=None: (image, target)

    # Our names and layouts -> torchvision's parameters.
    def conv(w):  # HWIO -> OIHW
        return torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))

    sd = {}
    for k, v in t.items():
        if k.startswith("backbone."):
            name = "backbone.body." + k[len("backbone."):]
            sd[name] = conv(v) if v.ndim == 4 else torch.from_numpy(v)
    for i in range(4):
        sd[f"backbone.fpn.inner_blocks.{i}.0.weight"] = conv(t[f"fpn.lateral.{i}.weight"])
        sd[f"backbone.fpn.inner_blocks.{i}.0.bias"] = torch.from_numpy(t[f"fpn.lateral.{i}.bias"])
        sd[f"backbone.fpn.layer_blocks.{i}.0.weight"] = conv(t[f"fpn.output.{i}.weight"])
        sd[f"backbone.fpn.layer_blocks.{i}.0.bias"] = torch.from_numpy(t[f"fpn.output.{i}.bias"])
    sd["rpn.head.conv.0.0.weight"] = conv(t["rpn.conv.weight"])
    sd["rpn.head.conv.0.0.bias"] = torch.from_numpy(t["rpn.conv.bias"])
    sd["rpn.head.cls_logits.weight"] = conv(t["rpn.cls.weight"])
    sd["rpn.head.cls_logits.bias"] = torch.from_numpy(t["rpn.cls.bias"])
    sd["rpn.head.bbox_pred.weight"] = conv(t["rpn.reg.weight"])
    sd["rpn.head.bbox_pred.bias"] = torch.from_numpy(t["rpn.reg.bias"])
    ch, fc = s["fpnChannels"], s["boxFcWidth"]
    # Our pooled RoIs flatten as (y, x, c) (NHWC), torchvision's as (c, y, x).
    w1 = t["roi.fc1.weight"].reshape(7, 7, ch, fc).transpose(3, 2, 0, 1).reshape(fc, ch * 49)
    sd["roi_heads.box_head.fc6.weight"] = torch.from_numpy(np.ascontiguousarray(w1))
    sd["roi_heads.box_head.fc6.bias"] = torch.from_numpy(t["roi.fc1.bias"])
    sd["roi_heads.box_head.fc7.weight"] = torch.from_numpy(np.ascontiguousarray(t["roi.fc2.weight"].T))
    sd["roi_heads.box_head.fc7.bias"] = torch.from_numpy(t["roi.fc2.bias"])
    # Background is our last class and torchvision's first; torchvision also regresses a (never used) background box.
    wc, bc = t["roi.cls.weight"], t["roi.cls.bias"]
    sd["roi_heads.box_predictor.cls_score.weight"] = torch.from_numpy(np.ascontiguousarray(np.concatenate([wc[:, C:], wc[:, :C]], 1).T))
    sd["roi_heads.box_predictor.cls_score.bias"] = torch.from_numpy(np.concatenate([bc[C:], bc[:C]]))
    wr, br = t["roi.reg.weight"], t["roi.reg.bias"]
    sd["roi_heads.box_predictor.bbox_pred.weight"] = torch.from_numpy(np.ascontiguousarray(np.concatenate([np.zeros((fc, 4), "f4"), wr], 1).T))
    sd["roi_heads.box_predictor.bbox_pred.bias"] = torch.from_numpy(np.concatenate([np.zeros(4, "f4"), br]))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    assert not missing and not unexpected, (missing, unexpected)

    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()  # norm_eval: running statistics, as MMDetection with norm_eval=True
    images = torch.from_numpy(t["input.images"]).permute(0, 3, 1, 2).contiguous()
    tg = [{"boxes": torch.tensor(x["boxes"], dtype=torch.float32), "labels": torch.tensor(x["labels"], dtype=torch.int64) + 1} for x in targets]
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=s["lr"], momentum=s["momentum"], weight_decay=s["weightDecay"])
    losses = model(list(images), tg)
    total = sum(losses.values())
    opt.zero_grad()
    total.backward()
    opt.step()

    # Our names for the digests (the inverse of the mapping above), in our layouts.
    inv = {}
    for k in t:
        if k.startswith("backbone."):
            inv[k] = "backbone.body." + k[len("backbone."):]
    for i in range(4):
        inv[f"fpn.lateral.{i}.weight"] = f"backbone.fpn.inner_blocks.{i}.0.weight"
        inv[f"fpn.lateral.{i}.bias"] = f"backbone.fpn.inner_blocks.{i}.0.bias"
        inv[f"fpn.output.{i}.weight"] = f"backbone.fpn.layer_blocks.{i}.0.weight"
        inv[f"fpn.output.{i}.bias"] = f"backbone.fpn.layer_blocks.{i}.0.bias"
    for a, b in [("conv", "conv.0.0"), ("cls", "cls_logits"), ("reg", "bbox_pred")]:
        inv[f"rpn.{a}.weight"] = f"rpn.head.{b}.weight"
        inv[f"rpn.{a}.bias"] = f"rpn.head.{b}.bias"
    named = dict(model.named_parameters())

    def ours(name, d):
        """A torchvision delta in our layout."""
        d = d.numpy()
        if name == "roi.fc1.weight":
            return d.reshape(fc, ch, 7, 7).transpose(2, 3, 1, 0).reshape(ch * 49, fc)
        if name == "roi.fc2.weight":
            return d.T
        if name == "roi.cls.weight":
            return np.concatenate([d[1:], d[:1]], 0).T
        if name == "roi.cls.bias":
            return np.concatenate([d[1:], d[:1]])
        if name == "roi.reg.weight":
            return d[4:].T
        if name == "roi.reg.bias":
            return d[4:]
        return d.transpose(2, 3, 1, 0) if d.ndim == 4 else d

    head = {"roi.fc1": "fc6", "roi.fc2": "fc7"}
    for a in ["fc1", "fc2"]:
        for p in ["weight", "bias"]:
            inv[f"roi.{a}.{p}"] = f"roi_heads.box_head.{head['roi.' + a]}.{p}"
    for a, b in [("cls", "cls_score"), ("reg", "bbox_pred")]:
        for p in ["weight", "bias"]:
            inv[f"roi.{a}.{p}"] = f"roi_heads.box_predictor.{b}.{p}"

    updates = {}
    for k in t:
        if k == "input.images" or k.endswith("running_mean") or k.endswith("running_var"):
            continue
        tn = inv[k]
        p = named[tn]
        d = ours(k, (p.detach() - before[tn]).double()).astype(np.float64)
        flat = d.reshape(-1)
        n = flat.size
        idx = sorted(set([0, n - 1] + [int(i * (n - 1) / 7) for i in range(8)] + [int(np.argmax(np.abs(flat)))]))
        updates[k] = {
            "trainable": bool(p.requires_grad), "shape": list(d.shape), "sum": float(flat.sum()), "l2": float(np.sqrt((flat ** 2).sum())),
            "at": {str(i): float(flat[i]) for i in idx},
        }
    res = {
        "source": f"torchvision {torchvision.__version__} models.detection.FasterRCNN (torch {torch.__version__}), one SGD step; test/peers/detector_step.py",
        "notes": [
            "Inputs: test/models/fasterRcnn/detectorStepSetup.ts (seeded weights, images, targets) exported with --export.",
            "Backbone: torchvision ResNet(Bottleneck, [1, 1, 1, 1]) with a 1-channel conv1, the freezing of _resnet_fpn_extractor(trainable_layers=3) in BackboneWithFPN (FPN width from the settings, LastLevelMaxPool P6): conv1, bn1, layer1 frozen; BatchNorm2d in eval mode with trainable affine (MMDetection norm_eval=True, requires_grad=True).",
            "Deterministic sampling: rpn_batch_size_per_image and box_batch_size_per_image exceed the number of anchors and RoIs, so every anchor and every RoI (proposals plus ground truth) not ignored is sampled; only the order is random, which changes float summation order only.",
            "Settings both share: torchvision anchors sizes 32-512 x ratios 0.5/1/2, Matcher low-quality matches without a minimum IoU (RPN 0.7/0.3, box head 0.5/0.5), MultiScaleRoIAlign(7, sampling_ratio=2, aligned=False), RPN pre/post NMS top-n from the settings, NMS 0.7; the transform does not resize and normalises with mean 0, std 1.",
            "torchvision's smooth_l1 box losses are replaced by the L1 loss (its beta = 0 limit), which MMDetection faster_rcnn_r50_fpn and our implementation use; normalisers are torchvision's (sampled anchors; sampled RoIs).",
            "SGD lr/momentum/weight_decay from the settings over every trainable parameter (PyTorch coupled weight decay); no gradient clipping.",
            "updates: per parameter (our names, our layouts HWIO / [in, out]; background class last) the sum and L2 norm of (after - before) and its value at fixed flat indices, float64 of float32 results.",
        ],
        "settings": s,
        "losses": {
            "rpnCls": float(losses["loss_objectness"]), "rpnBox": float(losses["loss_rpn_box_reg"]),
            "roiCls": float(losses["loss_classifier"]), "roiBox": float(losses["loss_box_reg"]),
        },
        "updates": updates,
    }
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print("losses", res["losses"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
