#!/usr/bin/python3
"""Trains the shipped pizza classifiers on tensors written by the C++ tool.

The preprocessing exists once, in C++ (`spatial data tensors`); this script only
reads its .npy output. It trains one of two models, exports ONNX (opset 13)
for OpenCV's DNN module, keeps the PyTorch weights (state_dict and TorchScript;
for a comparison with PyTorch serving, a benchmark that does not exist yet),
and writes manifest.json plus reference inputs and outputs for the C++ parity
test.

  SpatialPizzaNet  visual encoder (RGB) + spatial encoder (depth + normals),
                   fused by the gated connector of the original project
  MicroPizzaNet    the original baseline, ~580 parameters, 48x48 RGB

Deterministic for a seed on the same machine. Run through training/reproduce.sh.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch
from torch import nn

CLASSES = ["basic", "burnt", "combined", "mixed", "progression", "segment"]
MEAN = [0.47935871, 0.39572979, 0.32422196]
STD = [0.23475593, 0.25177728, 0.26392367]


def conv_bn(cin, cout, stride=1, groups=1, k=3):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class MicroPizzaNet(nn.Module):
    """The original baseline: 48x48 RGB, about 580 parameters."""

    def __init__(self, num_classes=6):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(3, 8, stride=2), nn.MaxPool2d(2),
            *conv_bn(8, 8, groups=8),           # depthwise 3x3
            *conv_bn(8, 16, k=1), nn.MaxPool2d(2),  # pointwise 1x1
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(16, num_classes))

    def forward(self, image):
        return self.classifier(self.features(image))


def encoder(cin, width=64):
    return nn.Sequential(
        *conv_bn(cin, 16, stride=2),
        *conv_bn(16, 32), nn.MaxPool2d(2),
        *conv_bn(32, width), nn.MaxPool2d(2),
        *conv_bn(width, width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


class SpatialPizzaNet(nn.Module):
    """Dual encoder: RGB and the 4-channel spatial map, gated fusion, linear head."""

    def __init__(self, num_classes=6, width=64):
        super().__init__()
        self.visual_encoder = encoder(3, width)
        self.spatial_encoder = encoder(4, width)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(width, num_classes))

    def forward(self, visual, spatial):
        v = self.visual_encoder(visual)
        s = self.spatial_encoder(spatial)
        a = torch.sigmoid(v + s)
        fused = a * v + (1 - a) * s + 0.1 * (v + s)
        return self.classifier(fused)


def load(prefix, spatial):
    visual = torch.from_numpy(np.load(prefix + "_visual.npy"))
    labels = torch.from_numpy(np.load(prefix + "_labels.npy"))
    sp = torch.from_numpy(np.load(prefix + "_spatial.npy")) if spatial else None
    with open(prefix + "_meta.json") as f:
        meta = json.load(f)
    return visual, sp, labels, meta


def augment(visual, spatial, gen):
    """Random flips. A flip mirrors the depth, so the normal component along the
    flipped axis changes sign (channel 1 = nx, 2 = ny)."""
    n = visual.shape[0]
    h = torch.rand(n, generator=gen) < 0.5
    v = torch.rand(n, generator=gen) < 0.5
    visual = visual.clone()
    visual[h] = visual[h].flip(3)
    visual[v] = visual[v].flip(2)
    if spatial is not None:
        spatial = spatial.clone()
        spatial[h] = spatial[h].flip(3)
        spatial[h, 1] = -spatial[h, 1]
        spatial[v] = spatial[v].flip(2)
        spatial[v, 2] = -spatial[v, 2]
    return visual, spatial


def evaluate(model, visual, spatial, labels, batch=512):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            args = (visual[i:i + batch],) + ((spatial[i:i + batch],) if spatial is not None else ())
            correct += (model(*args).argmax(1) == labels[i:i + batch]).sum().item()
    return correct / len(labels)


def export(model, example, names, out, labels):
    """OUT/model.onnx (opset 13, any batch size) and OUT/reference/: the example
    inputs, the logits the model computes for them, and their labels."""
    torch.onnx.export(model, example, os.path.join(out, "model.onnx"), opset_version=13,
                      input_names=names, output_names=["logits"],
                      dynamic_axes={**{n: {0: "N"} for n in names}, "logits": {0: "N"}})
    with torch.no_grad():
        logits = model(*example)
    for name, t in zip(names, example):
        np.save(os.path.join(out, "reference", name + ".npy"), t.numpy())
    np.save(os.path.join(out, "reference", "logits.npy"), logits.numpy())
    np.save(os.path.join(out, "reference", "labels.npy"), labels.numpy())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["spatial", "standard"], required=True)
    p.add_argument("--train", required=True, help="tensor prefix of the training set")
    p.add_argument("--val", required=True, help="tensor prefix of the validation set")
    p.add_argument("--out", required=True, help="output bundle directory")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=20261125)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    spatial = args.model == "spatial"
    epochs = args.epochs or (24 if spatial else 30)
    lr = args.lr or (3e-3 if spatial else 1e-2)

    tv, ts, tl, tmeta = load(args.train, spatial)
    vv, vs, vl, _ = load(args.val, spatial)
    model = SpatialPizzaNet() if spatial else MicroPizzaNet()
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {params} parameters, {len(tl)} train / {len(vl)} val samples, "
          f"{epochs} epochs", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(tl) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    gen = torch.Generator().manual_seed(args.seed)
    best, best_state, started = -1.0, None, time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(tl), generator=gen)
        total = 0.0
        for i in range(0, len(tl), args.batch):
            idx = order[i:i + args.batch]
            v, s = augment(tv[idx], ts[idx] if spatial else None, gen)
            out = model(v, s) if spatial else model(v)
            loss = loss_fn(out, tl[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        acc = evaluate(model, vv, vs, vl)
        if acc >= best:
            best, best_state = acc, {k: t.clone() for k, t in model.state_dict().items()}
        print(f"epoch {epoch + 1}/{epochs} loss {total / len(tl):.4f} val_acc {acc:.4f} "
              f"({time.time() - started:.0f}s)", flush=True)
    model.load_state_dict(best_state)
    model.eval()

    os.makedirs(os.path.join(args.out, "reference"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
    size = vv.shape[-1]
    example_v = vv[:8].contiguous()
    example_s = vs[:8].contiguous() if spatial else None
    example = (example_v, example_s) if spatial else (example_v,)
    torch.jit.trace(model, example).save(os.path.join(args.out, "model.torchscript.pt"))
    names = ["visual", "spatial"] if spatial else ["image"]
    export(model, example, names, args.out, vl[:8])

    inputs = [{"name": names[0], "kind": "visual", "shape": [3, size, size]}]
    if spatial:
        inputs.append({"name": "spatial", "kind": "spatial", "shape": [4] + list(vs.shape[-2:])})
    manifest = {
        "name": "spatial-pizza" if spatial else "standard-pizza",
        "version": "1",
        "model_type": "spatial-mllm" if spatial else "standard-cnn",
        "architecture": "dual-encoder" if spatial else "visual-encoder",
        "classes": CLASSES,
        "inputs": inputs,
        "output": "logits",
        "preprocessing": {
            "color": "RGB", "resize": "area", "scale": "1/255",
            "normalization": {"mean": MEAN, "std": STD},
            "visual_size": size,
            "spatial_size": int(vs.shape[-1]) if spatial else 0,
            "spatial_method": "edge-depth-normals-v1" if spatial else None,
        },
        "metrics": {},
        "training": {
            "script": "training/train.py",
            "model_class": "SpatialPizzaNet" if spatial else "MicroPizzaNet",
            "parameters": params, "epochs": epochs, "batch": args.batch, "lr": lr,
            "optimizer": "AdamW(weight_decay=1e-4) + OneCycleLR", "label_smoothing": 0.05,
            "augmentation": "horizontal and vertical flips (normals sign-corrected)",
            "seed": args.seed, "train_samples": len(tl), "val_samples": len(vl),
            "train_data_digest": tmeta["data_digest"], "train_source": tmeta["source"],
            "best_val_accuracy_torch": round(best, 4),
            "torch_version": torch.__version__, "python": platform.python_version(),
            "seconds": round(time.time() - started, 1),
        },
        "files": {"onnx": "model.onnx", "state_dict": "model.pt",
                  "torchscript": "model.torchscript.pt", "reference": "reference/"},
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out} (best val accuracy {best:.4f})")


if __name__ == "__main__":
    sys.exit(main())
