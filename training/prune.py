#!/usr/bin/python3
"""Writes a channel-pruned variant of a trained SpatialPizzaNet bundle.

Structured pruning by the batch-norm scale criterion (network slimming): each
convolution keeps the output channels whose BatchNorm |gamma| is largest
(--keep of them, default 3/4). The last convolution of both encoders keeps
the same channel indices, chosen by |gamma_visual| + |gamma_spatial|, since
the gated fusion adds the two encoders channel by channel; the classifier
keeps the matching input columns. The slimmed network is then fine-tuned on
the training tensors (train.py's augmentation, AdamW, one-cycle schedule),
keeping the epoch with the best validation accuracy, and exported as train.py
does, with "parent" naming the fp32 bundle and its graph's sha256.
"""
import argparse
import copy
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402
from quantize import parent_record  # noqa: E402

CONVS = (0, 3, 7, 11)  # indices of the convolutions in train.encoder(); BN follows each


def slim_encoder(enc, keep_last_idx, ratio):
    layers = list(enc)
    in_idx = torch.arange(layers[0].in_channels)
    for n, ci in enumerate(CONVS):
        conv, bn = layers[ci], layers[ci + 1]
        if n == len(CONVS) - 1:
            out_idx = keep_last_idx
        else:
            k = max(1, int(round(conv.out_channels * ratio)))
            out_idx = torch.argsort(bn.weight.detach().abs(), descending=True)[:k].sort().values
        c = nn.Conv2d(len(in_idx), len(out_idx), conv.kernel_size, stride=conv.stride,
                      padding=conv.padding, bias=False)
        c.weight.data = conv.weight.data[out_idx][:, in_idx].clone()
        b = nn.BatchNorm2d(len(out_idx))
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(b, name).data = getattr(bn, name).data[out_idx].clone()
        layers[ci], layers[ci + 1] = c, b
        in_idx = out_idx
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fp32 SpatialPizzaNet bundle")
    p.add_argument("--train", required=True, help="tensor prefix of the training set")
    p.add_argument("--val", required=True, help="tensor prefix of the validation set")
    p.add_argument("--out", required=True, help="output bundle directory")
    p.add_argument("--keep", type=float, default=0.75, help="fraction of channels kept")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seed", type=int, default=20261125)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    with open(os.path.join(args.model, "manifest.json")) as f:
        parent = json.load(f)
    model = train.SpatialPizzaNet()
    model.load_state_dict(torch.load(os.path.join(args.model, "model.pt")))
    width = model.classifier[1].in_features
    k = max(1, int(round(width * args.keep)))
    score = model.visual_encoder[12].weight.detach().abs() + model.spatial_encoder[12].weight.detach().abs()
    last = torch.argsort(score, descending=True)[:k].sort().values
    model.visual_encoder = slim_encoder(model.visual_encoder, last, args.keep)
    model.spatial_encoder = slim_encoder(model.spatial_encoder, last, args.keep)
    head = nn.Linear(k, model.classifier[1].out_features)
    head.weight.data = model.classifier[1].weight.data[:, last].clone()
    head.bias.data = model.classifier[1].bias.data.clone()
    model.classifier[1] = head
    params = sum(t.numel() for t in model.parameters())

    tv, ts, tl, tmeta = train.load(args.train, True)
    vv, vs, vl, _ = train.load(args.val, True)
    acc0 = train.evaluate(model, vv, vs, vl)
    print(f"pruned to {args.keep:.2f} of the channels: {params} parameters, "
          f"val accuracy before fine-tuning {acc0:.4f}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * ((len(tl) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    gen = torch.Generator().manual_seed(args.seed)
    best, best_state, started = acc0, copy.deepcopy(model.state_dict()), time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(tl), generator=gen)
        for i in range(0, len(tl), args.batch):
            idx = order[i:i + args.batch]
            v, s = train.augment(tv[idx], ts[idx], gen)
            loss = loss_fn(model(v, s), tl[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = train.evaluate(model, vv, vs, vl)
        if acc >= best:
            best, best_state = acc, copy.deepcopy(model.state_dict())
        print(f"epoch {epoch + 1}/{args.epochs} val_acc {acc:.4f} ({time.time() - started:.0f}s)", flush=True)
    model.load_state_dict(best_state)
    model.eval()

    os.makedirs(os.path.join(args.out, "reference"), exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
    example = (vv[:8].contiguous(), vs[:8].contiguous())
    names = ["visual", "spatial"]
    train.export(model, example, names, args.out, vl[:8])
    manifest = copy.deepcopy(parent)
    manifest["name"] = parent["name"] + "-pruned"
    manifest["metrics"] = {}
    manifest["files"] = {"onnx": "model.onnx", "state_dict": "model.pt", "reference": "reference/"}
    manifest["parent"] = parent_record(parent, args.model)
    manifest["pruning"] = {
        "script": "training/prune.py", "criterion": "BatchNorm |gamma| per output channel",
        "kept_fraction": args.keep, "parameters": params,
        "fine_tune": {"epochs": args.epochs, "lr": args.lr, "batch": args.batch, "seed": args.seed,
                      "train_data_digest": tmeta["data_digest"], "seconds": round(time.time() - started, 1)},
        "val_accuracy_before_fine_tune": round(acc0, 4), "best_val_accuracy_torch": round(best, 4),
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {args.out} (best val accuracy {best:.4f})")


if __name__ == "__main__":
    sys.exit(main())
