#!/usr/bin/python3
"""Writes the int8 variant of a trained SpatialPizzaNet bundle.

Static post-training quantization, done as a rewrite of the fp32 ONNX graph
into ONNX's QOperator form, the form OpenCV 4.6's ONNX importer turns into its
int8 layers (ConvolutionInt8, PoolingInt8):

  input -> QuantizeLinear -> QLinearConv (+ReLU) -> ... -> MaxPool (int8)
        -> ... -> QLinearConv (+ReLU) -> DequantizeLinear -> fp32 tail

Every convolution of both encoders runs in int8: weights symmetric per output
channel, activations asymmetric per tensor with ranges calibrated on training
renders (never the held-out evaluation render). Each ReLU is folded into its
convolution: the output range starts at 0, so the int8 saturation clips. The
tail (global average pool, gated fusion, classifier; ~1% of the work) stays
fp32. Calibration runs the fp32 weights of model.pt through the PyTorch model
of train.py and records the range of every convolution's input and output.

The output bundle has the parent's manifest with the int8 graph, a
"quantization" section and "parent" naming the fp32 bundle and its graph's
sha256, plus reference inputs and the int8 graph's own outputs for parity.
Deterministic for the same inputs. Run through training/reproduce.sh.
"""
import argparse
import copy
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parent_record(parent, bundle):
    """A variant's manifest "parent": the fp32 bundle it was made from and the
    sha256 of its graph (`spatial model register --parent` checks it)."""
    return {"name": parent["name"], "version": parent["version"],
            "bundle": os.path.basename(os.path.normpath(bundle)),
            "onnx_sha256": sha256(os.path.join(bundle, parent["files"]["onnx"]))}


def calibrate(bundle, prefix, samples, percentile):
    """Range of every ReLU output and of both inputs, as {onnx tensor: (lo, hi)}.

    ONNX export names a ReLU's output '/<module path with dots as />/Relu_output_0'
    where the module path is e.g. 'visual_encoder/visual_encoder.2'; the module's
    name in the PyTorch model is its last component, prefixed by the encoder."""
    import torch
    from train import SpatialPizzaNet
    torch.set_num_threads(max(1, (os.cpu_count() or 1)))
    model = SpatialPizzaNet()
    model.load_state_dict(torch.load(os.path.join(bundle, "model.pt")))
    model.eval()
    visual = np.load(prefix + "_visual.npy", mmap_mode="r")
    spatial = np.load(prefix + "_spatial.npy", mmap_mode="r")
    # Evenly spaced samples over the whole set: every class is in it.
    idx = np.linspace(0, len(visual) - 1, num=min(samples, len(visual))).astype(int)
    v = torch.from_numpy(np.ascontiguousarray(visual[idx]))
    s = torch.from_numpy(np.ascontiguousarray(spatial[idx]))
    acts = {}

    def hook(name):
        def fn(_module, _inp, out):
            acts.setdefault(name, []).append(out.detach().numpy().ravel().copy())
        return fn

    for enc in ("visual_encoder", "spatial_encoder"):
        for i, m in enumerate(getattr(model, enc)):
            if isinstance(m, torch.nn.ReLU):
                m.register_forward_hook(hook(f"/{enc}/{enc}.{i}/Relu_output_0"))
    with torch.no_grad():
        for i in range(0, len(v), 256):
            model(v[i:i + 256], s[i:i + 256])
    ranges = {"visual": (float(v.min()), float(v.max())),
              "spatial": (float(s.min()), float(s.max()))}
    for name, chunks in acts.items():
        a = np.concatenate(chunks)
        ranges[name] = (0.0, float(np.percentile(a, percentile)))
    return ranges, len(idx)


def qparams(lo, hi):
    """int8 asymmetric scale and zero point covering [lo, hi] (and 0)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 or 1.0
    zp = int(round(-128 - lo / scale))
    return float(scale), int(np.clip(zp, -128, 127))


def quantize_graph(model, ranges):
    g = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    new_nodes, new_init = [], []
    qname = {}  # fp32 tensor -> (int8 tensor, scale name, zero point name, scale)

    def qbase(tensor):
        return tensor.strip("/").replace("/", "_")

    def const(name, arr):
        new_init.append(numpy_helper.from_array(arr, name))
        return name

    def qinfo(tensor, s=None, z=None):
        """Scale and zero point constants of the int8 form of `tensor`. OpenCV
        finds them by name: the int8 tensor is '<base>_quantized', its scale
        '<base>_scale' and its zero point '<base>_zero_point'."""
        if s is None:
            s, z = qparams(*ranges[tensor])
        base = qbase(tensor)
        return (const(base + "_scale", np.array(s, np.float32)),
                const(base + "_zero_point", np.array(z, np.int8)), s)

    def quantized_input(tensor):
        """int8 version of a conv input, inserting a QuantizeLinear for graph inputs."""
        if tensor in qname:
            return qname[tensor]
        if tensor not in ranges:
            raise ValueError(f"no calibration range for {tensor}")
        sc, zp, s = qinfo(tensor)
        out = qbase(tensor) + "_quantized"
        new_nodes.append(helper.make_node("QuantizeLinear", [tensor, sc, zp], [out],
                                          name=tensor + "_quantize"))
        qname[tensor] = (out, sc, zp, s)
        return qname[tensor]

    folded = set()  # names of the fp32 nodes replaced by int8 ones
    for n in g.node:
        if n.name in folded:
            continue
        if n.op_type == "Conv":
            x, w_name, b_name = n.input
            relu = consumers[n.output[0]]
            if len(relu) != 1 or relu[0].op_type != "Relu":
                raise ValueError(f"{n.name}: Conv not followed by a single Relu")
            y = relu[0].output[0]
            folded.add(relu[0].name)
            xq, xs, xz, x_scale = quantized_input(x)
            w = init[w_name].astype(np.float64)
            wmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
            w_scale = np.where(wmax > 0, wmax / 127.0, 1.0)
            wq = np.clip(np.round(w / w_scale[:, None, None, None]), -127, 127).astype(np.int8)
            bq = np.round(init[b_name] / (x_scale * w_scale)).astype(np.int32)
            ys, yz, y_scale = qinfo(y)
            base = n.output[0].strip("/").replace("/", "_")
            inputs = [xq, xs, xz,
                      const(base + "_w", wq), const(base + "_wscale", w_scale.astype(np.float32)),
                      const(base + "_wzp", np.zeros(w.shape[0], np.int8)),
                      ys, yz, const(base + "_bias", bq)]
            new_nodes.append(helper.make_node("QLinearConv", inputs, [qbase(y) + "_quantized"],
                                              name=base + "_qconv",
                                              **{a.name: helper.get_attribute_value(a)
                                                 for a in n.attribute}))
            qname[y] = (qbase(y) + "_quantized", ys, yz, y_scale)
            # A MaxPool keeps the scale; chain through it in int8.
            out = y
            while True:
                nxt = consumers.get(out, [])
                if len(nxt) == 1 and nxt[0].op_type == "MaxPool":
                    mp = nxt[0]
                    folded.add(mp.name)
                    q_out = qbase(mp.output[0]) + "_quantized"
                    new_nodes.append(helper.make_node(
                        "MaxPool", [qname[out][0]], [q_out], name=mp.name + "_int8",
                        **{a.name: helper.get_attribute_value(a) for a in mp.attribute}))
                    in_scale = qname[out][3]
                    zp = int(numpy_helper.to_array(
                        next(t for t in new_init if t.name == qname[out][2])))
                    qname[mp.output[0]] = (q_out,) + qinfo(mp.output[0], in_scale, zp)
                    out = mp.output[0]
                    continue
                break
            # Anything else reading it gets fp32 back.
            if any(c.op_type != "Conv" for c in consumers.get(out, [])):
                q, sc, zp, _ = qname[out]
                new_nodes.append(helper.make_node("DequantizeLinear", [q, sc, zp], [out],
                                                  name=out + "_dequantize"))
        else:
            new_nodes.append(n)
    out_model = copy.deepcopy(model)
    og = out_model.graph
    del og.node[:]
    og.node.extend(new_nodes)
    keep = [t for t in og.initializer
            if any(t.name in nd.input for nd in new_nodes)]
    del og.initializer[:]
    og.initializer.extend(keep + new_init)
    del og.value_info[:]
    return out_model


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="fp32 SpatialPizzaNet bundle (model.onnx, model.pt)")
    p.add_argument("--calibration", required=True, help="tensor prefix of training renders")
    p.add_argument("--out", required=True, help="output bundle directory")
    p.add_argument("--samples", type=int, default=1024, help="calibration images")
    p.add_argument("--percentile", type=float, default=99.99,
                   help="activation range: this percentile of calibration values")
    args = p.parse_args()

    with open(os.path.join(args.model, "manifest.json")) as f:
        parent = json.load(f)
    if parent.get("model_type") != "spatial-mllm":
        sys.exit(f"quantize: {args.model} is not a SpatialPizzaNet bundle")
    onnx_path = os.path.join(args.model, parent["files"]["onnx"])
    with open(args.calibration + "_meta.json") as f:
        calibration_meta = json.load(f)
    ranges, n = calibrate(args.model, args.calibration, args.samples, args.percentile)
    qmodel = quantize_graph(onnx.load(onnx_path), ranges)
    qmodel.producer_name = "spatial-deploy training/quantize.py"
    onnx.checker.check_model(qmodel)
    os.makedirs(os.path.join(args.out, "reference"), exist_ok=True)
    out_onnx = os.path.join(args.out, "model.onnx")
    onnx.save(qmodel, out_onnx)

    manifest = copy.deepcopy(parent)
    manifest["name"] = parent["name"] + "-int8"
    manifest["metrics"] = {}
    manifest["files"] = {"onnx": "model.onnx", "reference": "reference/"}
    manifest["parent"] = parent_record(parent, args.model)
    manifest["quantization"] = {
        "script": "training/quantize.py", "method": "static post-training, ONNX QOperator",
        "weights": "int8 symmetric per output channel",
        "activations": "int8 asymmetric per tensor, ReLU folded into the convolution",
        "quantized_ops": "Conv, MaxPool (both encoders)",
        "fp32_ops": "GlobalAveragePool, gated fusion, Gemm",
        "calibration_source": args.calibration, "calibration_samples": n,
        "calibration_data_digest": calibration_meta["data_digest"],
        "calibration_percentile": args.percentile,
    }
    # Reference: the parent's inputs and this graph's outputs under OpenCV DNN.
    import cv2
    net = cv2.dnn.readNetFromONNX(out_onnx)
    ref = os.path.join(args.model, "reference")
    names = [i["name"] for i in parent["inputs"]]
    for name in names + ["labels"]:
        np.save(os.path.join(args.out, "reference", name + ".npy"),
                np.load(os.path.join(ref, name + ".npy")))
    for name in names:
        net.setInput(np.load(os.path.join(ref, name + ".npy")), name)
    np.save(os.path.join(args.out, "reference", "logits.npy"), net.forward("logits"))
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {args.out} ({n} calibration images, int8 graph {os.path.getsize(out_onnx)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
