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

--arch NAME [--config JSON] [--shape C,H,W | C,D,H,W] exports the PyTorch twin of any registry
architecture instead (twin_from_arch below: "unet" -> gen_nn_fixtures.UNet, "resnet" ->
gen_nn_ops_fixtures.ResNet, "resnet_unet" -> nn_twins.ResNetUNet, "fastseg" -> nn_twins.FastSeg,
each built from the registry's config keys), with random weights, batch 1, output "output";
bench/bench_table.py uses this for the ONNX Runtime rows. It exits 3 when the twin does not
exist yet (tools/nn_twins.py or its class missing).

Usage:
  /usr/bin/python3 tools/export_onnx.py [-o bench/ort/unet.onnx] [--checkpoint CKPT.safetensors]
      [--size 256] [--opset 13] [--bilinear] [--check] [--tol 1e-4]
  /usr/bin/python3 tools/export_onnx.py --arch resnet --config '{"depth": 18}' --shape 3,224,224 -o r18.onnx
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


class TwinMissing(Exception):
    """The PyTorch twin of a registry architecture does not exist (yet)."""


def twin_from_arch(arch, cfg):
    """The PyTorch twin of registry architecture `arch` with config dict `cfg` (the registry's JSON
    keys; missing keys take the registry's defaults, which the twins share). Raises TwinMissing
    when the twin is not written yet, ValueError for an unknown architecture."""
    cfg = dict(cfg or {})
    if arch == "unet":
        up = cfg.pop("upsample", "transposed")
        return UNet(int(cfg.pop("in_channels", 1)), int(cfg.pop("num_classes", 2)), int(cfg.pop("base_channels", 16)),
                    int(cfg.pop("depth", 4)), bilinear=(up == "bilinear"), **cfg)
    if arch == "resnet":
        from gen_nn_ops_fixtures import ResNet
        return ResNet(**{k: int(v) for k, v in cfg.items()})
    classes = {"resnet_unet": "ResNetUNet", "fastseg": "FastSeg", "yolov8": "YOLOv8"}
    if arch not in classes:
        raise ValueError("no PyTorch twin known for architecture %r" % arch)
    try:
        import nn_twins
    except ImportError as e:
        raise TwinMissing("tools/nn_twins.py cannot be imported (%s)" % e)
    cls = getattr(nn_twins, classes[arch], None)
    if cls is None:
        raise TwinMissing("tools/nn_twins.py has no class %s" % classes[arch])
    return cls(**cfg)


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


class _ResizeNearestExact:
    """Graph proxy for the symbolic below: its Resize nodes get nearest-exact's coordinates."""

    def __init__(self, g):
        self._g = g

    def op(self, name, *args, **kw):
        if name == "Resize":
            kw["coordinate_transformation_mode_s"] = "half_pixel"
            kw["nearest_mode_s"] = "round_prefer_ceil"
        return self._g.op(name, *args, **kw)

    def __getattr__(self, name):
        return getattr(self._g, name)


def _register_nearest_exact(opset):
    """torch 1.13 cannot export F.interpolate(mode="nearest-exact") (aten::_upsample_nearest_exactNd).
    nearest-exact takes source index floor((i + 0.5) * in / out), which is ONNX Resize with
    coordinate_transformation_mode half_pixel ((i + 0.5) * in / out - 0.5) rounded with
    nearest_mode round_prefer_ceil (round half up, floor(x + 0.5)); reuse torch's own nearest
    symbolic with those two attributes."""
    from torch.onnx import symbolic_helper as sh
    for nd in (1, 2, 3):
        base = sh._interpolate_helper("upsample_nearest%dd" % nd, nd + 2, "nearest")

        def fn(g, input, output_size, *args, _base=base):
            return _base(_ResizeNearestExact(g), input, output_size, *args)

        try:
            torch.onnx.register_custom_op_symbolic("aten::_upsample_nearest_exact%dd" % nd, fn, opset)
        except Exception:  # noqa: BLE001 - a torch that exports it itself, or other registration API
            pass


def export(model, in_channels, size, out, opset, shape=None, output_name="logits"):
    """Export in eval mode at input [1, in_channels, size, size], or [1] + shape when given."""
    model.eval()
    _register_nearest_exact(opset)
    x = torch.zeros(1, *shape) if shape else torch.zeros(1, in_channels, size, size)
    d = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".onnx.tmp", dir=d)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=opset, input_names=["image"],
                              output_names=[output_name], do_constant_folding=True)
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
    ap.add_argument("--arch", help="export the twin of this registry architecture (random weights)")
    ap.add_argument("--config", default="{}", help="--arch: the registry config as JSON")
    ap.add_argument("--shape", help="--arch: input shape without the batch, C,H,W or C,D,H,W")
    a = ap.parse_args()
    torch.manual_seed(0)
    if a.arch:
        return export_arch(a)
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


def export_arch(a):
    """--arch: export a registry architecture's twin at [1] + --shape."""
    try:
        cfg = json.loads(a.config)
        shape = [int(d) for d in a.shape.split(",")] if a.shape else None
        if not isinstance(cfg, dict) or not shape or len(shape) not in (3, 4) or min(shape) < 1:
            raise ValueError("--config must be a JSON object and --shape C,H,W or C,D,H,W (got %r)" % a.shape)
        model = twin_from_arch(a.arch, cfg)
    except TwinMissing as e:
        print("export_onnx: %s" % e, file=sys.stderr)
        return 3
    except (ValueError, TypeError) as e:
        print("export_onnx: %s" % e, file=sys.stderr)
        return 2
    model.eval()
    export(model, shape[0], 0, a.output, a.opset, shape=shape, output_name="output")
    print("export_onnx: %s: %s %s, %d parameters, random weights (torch.manual_seed(0)), input %s, opset %d, %d bytes"
          % (a.output, a.arch, json.dumps(cfg, separators=(",", ":")), sum(p.numel() for p in model.parameters()),
             [1] + shape, a.opset, os.path.getsize(a.output)))
    if a.check:
        g = torch.Generator().manual_seed(1)
        x = torch.randn(1, *shape, generator=g)
        with torch.no_grad():
            ref = model(x).numpy()
        with tempfile.TemporaryDirectory() as td:
            fin, fout = os.path.join(td, "in.bin"), os.path.join(td, "out.bin")
            x.numpy().astype("<f4").tofile(fin)
            subprocess.run(["node", os.path.join(ROOT, "bench", "ort", "check.js"), a.output, fin,
                            ",".join(str(d) for d in x.shape), fout], check=True)
            got = np.fromfile(fout, dtype="<f4")
        if got.size != ref.size:
            print("check: ONNX Runtime returned %d values, PyTorch %d" % (got.size, ref.size))
            return 1
        diff = float(np.abs(got.reshape(ref.shape) - ref).max())
        limit = a.tol * max(1.0, float(np.abs(ref).max()))
        print("check: max |ORT - PyTorch| = %.3g (limit %.3g): %s" % (diff, limit, "OK" if diff <= limit else "FAIL"))
        if diff > limit:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
