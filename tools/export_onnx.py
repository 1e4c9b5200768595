#!/usr/bin/python3
"""Export dolor's U-Net to ONNX, for the ONNX Runtime column of the benchmark (bench/ort/).

The network is the PyTorch twin of dolor_unet_create() (tools/gen_nn_fixtures.py: class UNet,
same module and parameter names), in eval mode (BatchNorm uses its running statistics), with a
fixed input shape [1, in_channels, H, W] (default [1,1,256,256]), input "image" and output
"logits" [1, num_classes, H, W].

Without --checkpoint the weights are PyTorch's default initialisation after torch.manual_seed(0)
and the network is the benchmark's default: in_channels 1, num_classes 2, base 16, depth 4,
transposed up-convolutions (the same as bench/bench_torch_unet.py and bench/bench_nn.c).
With --checkpoint FILE.safetensors (a dolor checkpoint, written by `dolor train`) the network is
built from its __metadata__.config and the trained weights and BatchNorm statistics are loaded,
so the exported model is the trained one. The safetensors file is parsed by hand (8-byte
little-endian header length, JSON header, raw little-endian float32 data; optimizer.* tensors
are ignored).

--check runs the exported model in ONNX Runtime (node bench/ort/check.js, which needs
`npm install` in bench/ort, see bench/ort/README.md) and in PyTorch on the same random input
and prints the largest absolute difference of the logits and the fraction of pixels with the same
arg-max class; it exits 1 when the difference exceeds --tol * max(1, max |logit|).

Usage:
  /usr/bin/python3 tools/export_onnx.py [-o bench/ort/unet.onnx] [--checkpoint CKPT.safetensors]
      [--size 256] [--opset 13] [--bilinear] [--check] [--tol 1e-4]
Runs offline with Debian's python3-torch (1.13); the `onnx` Python package is not needed.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from gen_nn_fixtures import UNet  # noqa: E402


def read_safetensors(path):
    """Return (metadata dict, {name: float32 ndarray}) of a safetensors file (F32 tensors only)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: shorter than the 8-byte header length" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("%s: header length is %d but the file has %d bytes" % (path, n, len(raw)))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, t in header.items():
        if t.get("dtype") != "F32":
            raise ValueError("%s: tensor %s has dtype %s (expected F32)" % (path, name, t.get("dtype")))
        b, e = t["data_offsets"]
        shape = [int(d) for d in t["shape"]]
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= b <= e <= len(data)) or e - b != 4 * count:
            raise ValueError("%s: tensor %s has data_offsets [%d, %d] for shape %s (data is %d bytes)"
                             % (path, name, b, e, shape, len(data)))
        tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=b).reshape(shape).astype(np.float32)
    return meta, tensors


def model_from_checkpoint(path):
    meta, tensors = read_safetensors(path)
    if meta.get("architecture") != "unet":
        raise ValueError("%s: __metadata__.architecture is %r (expected \"unet\")" % (path, meta.get("architecture")))
    cfg = json.loads(meta["config"])
    up = cfg.get("upsample", "transposed")
    if up not in ("transposed", "bilinear"):
        raise ValueError("%s: __metadata__.config.upsample is %r" % (path, up))
    model = UNet(int(cfg["in_channels"]), int(cfg["num_classes"]), int(cfg["base_channels"]), int(cfg["depth"]),
                 bilinear=(up == "bilinear"))
    sd = model.state_dict()
    loaded = {}
    for name, ref in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        if name not in tensors:
            raise ValueError("%s: tensor %s is missing" % (path, name))
        a = tensors[name]
        if tuple(a.shape) != tuple(ref.shape):
            raise ValueError("%s: tensor %s has shape %s (expected %s)" % (path, name, list(a.shape), list(ref.shape)))
        loaded[name] = torch.from_numpy(a.copy())
    extra = [k for k in tensors if k not in sd and not k.startswith("optimizer.")]
    if extra:
        raise ValueError("%s: unexpected tensors %s" % (path, ", ".join(extra[:5])))
    model.load_state_dict(loaded, strict=False)
    return model, cfg, meta


def export(model, in_channels, size, out, opset):
    model.eval()
    x = torch.zeros(1, in_channels, size, size)
    d = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".onnx.tmp", dir=d)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=opset, input_names=["image"],
                              output_names=["logits"], do_constant_folding=True)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check(model, in_channels, size, onnx_path, tol):
    """Run ONNX Runtime (node) and PyTorch on the same input; return True when they agree."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, in_channels, size, size, generator=g)
    model.eval()
    with torch.no_grad():
        ref = model(x).numpy()
    with tempfile.TemporaryDirectory() as td:
        fin, fout = os.path.join(td, "in.bin"), os.path.join(td, "out.bin")
        x.numpy().astype("<f4").tofile(fin)
        cmd = ["node", os.path.join(ROOT, "bench", "ort", "check.js"), onnx_path, fin,
               ",".join(str(d) for d in x.shape), fout]
        subprocess.run(cmd, check=True)
        got = np.fromfile(fout, dtype="<f4")
    if got.size != ref.size:
        print("check: ONNX Runtime returned %d values, PyTorch %d" % (got.size, ref.size))
        return False
    got = got.reshape(ref.shape)
    diff = float(np.abs(got - ref).max())
    scale = float(np.abs(ref).max())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    limit = tol * max(1.0, scale)
    ok = diff <= limit
    print("check: input %s, max |ORT - PyTorch| = %.3g (max |logit| %.3g, limit %.3g), arg-max agreement %.6f: %s"
          % (list(x.shape), diff, scale, limit, agree, "OK" if ok else "FAIL"))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", default=os.path.join(ROOT, "bench", "ort", "unet.onnx"))
    ap.add_argument("--checkpoint", help="dolor checkpoint (.safetensors) whose config and weights to export")
    ap.add_argument("--size", type=int, default=256, help="input height = width (default 256)")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--bilinear", action="store_true", help="bilinear up-sampling (without --checkpoint)")
    ap.add_argument("--check", action="store_true", help="compare ONNX Runtime (node) with PyTorch")
    ap.add_argument("--tol", type=float, default=1e-4, help="--check limit relative to max(1, max |logit|)")
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.checkpoint:
        try:
            model, cfg, meta = model_from_checkpoint(a.checkpoint)
        except (OSError, ValueError, KeyError) as e:
            print("export_onnx: %s" % e, file=sys.stderr)
            return 2
        desc = "checkpoint %s (epoch %s)" % (a.checkpoint, meta.get("epoch", "?"))
    else:
        cfg = {"in_channels": 1, "num_classes": 2, "base_channels": 16, "depth": 4,
               "upsample": "bilinear" if a.bilinear else "transposed"}
        model = UNet(1, 2, 16, 4, bilinear=a.bilinear)
        desc = "random weights (torch.manual_seed(0))"
    model.eval()
    nparam = sum(p.numel() for p in model.parameters())
    export(model, cfg["in_channels"], a.size, a.output, a.opset)
    print("export_onnx: %s: U-Net %s, %d parameters, %s, input [1,%d,%d,%d], opset %d, %d bytes"
          % (a.output, json.dumps(cfg, separators=(",", ":")), nparam, desc, cfg["in_channels"], a.size, a.size,
             a.opset, os.path.getsize(a.output)))
    if a.check and not check(model, cfg["in_channels"], a.size, a.output, a.tol):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
