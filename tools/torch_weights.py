#!/usr/bin/python3
"""Move weights between PyTorch and dolor.

  to-dolor  a PyTorch state_dict (.pth / .pt from torch.save, or a dolor-style .safetensors) ->
            a dolor checkpoint (.safetensors with the names, layouts and __metadata__ dolor expects;
            `dolor predict --model` reads it, `dolor train --init` starts from it)
  to-torch  a dolor checkpoint -> a PyTorch state_dict (.pth) that loads into the twin with
            load_state_dict(strict=True) (optimizer state dropped)

Examples (Debian's python3-torch; run with /usr/bin/python3):
  # an ImageNet ResNet-50 you already have (torchvision layout) as the encoder of the sciatic-nerve
  # segmenter; the decoder keeps PyTorch's initialisation (--partial lists what was not in the file)
  tools/torch_weights.py to-dolor resnet50-0676ba61.pth enc50.safetensors --arch resnet_unet \\
      --config '{"in_channels": 3, "num_classes": 6, "encoder_depth": 50, "triplet_attention": 1}' \\
      --classes femur,adductor_magnus,semitendinosus,sciatic_nerve,femoral_artery --size 473 --partial
  # a MedicalNet 3D ResNet-18 (resnet_18_23dataset.pth: {'state_dict': {'module.conv1.weight', ...}})
  tools/torch_weights.py to-dolor resnet_18_23dataset.pth med3d18.safetensors --arch resnet \\
      --config '{"depth": 18, "in_channels": 1, "num_classes": 1, "spatial_dims": 3}' --task classification \\
      --classes fatty --size 64x128x128 --partial
  # back to PyTorch
  tools/torch_weights.py to-torch runs/usgra/best.safetensors usgra.pth
  # a PyTorch-initialised twin (no file needed): what the tests use
  tools/torch_weights.py to-dolor --random 7 out.safetensors --arch fastseg --config '{"num_classes": 4}' ...

Names: "module." (DataParallel, MedicalNet) is stripped; for "resnet_unet" a torchvision/MedicalNet ResNet's
conv1/bn1/layer* go under "encoder." and its fc is dropped; for "yolov8" an Ultralytics state_dict
(torch.save(YOLO("yolov8n.pt").model.state_dict(), ...), where ultralytics is installed) has dolor's
names already, its fixed model.22.dfl.conv.weight is reported unused, and to-torch --ultralytics adds
it back; the triplet-attention module's first
release names (ChannelGateH / ChannelGateW / SpatialGate with .spatial) become its later ones
(cw / hc / hw with .conv), which dolor uses. Every tensor of the twin must be found with its shape
(else the script stops and lists them), unless --partial keeps the twin's PyTorch initialisation
for the missing ones. Needs only python3-torch and python3-numpy (safetensors is read and written
by hand).
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def twin(arch, cfg):
    if arch == "unet":
        from gen_nn_fixtures import UNet
        c = dict(cfg)
        return UNet(c.get("in_channels", 1), c.get("num_classes", 2), c.get("base_channels", 16), c.get("depth", 4),
                    c.get("upsample", "transposed") == "bilinear")
    if arch == "resnet":
        from gen_nn_ops_fixtures import ResNet
        return ResNet(**cfg)
    import nn_twins
    return nn_twins.build(arch, cfg)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise SystemExit("%s: tensor %s has dtype %s (dolor files are F32)" % (path, name, t["dtype"]))
        b, e = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").copy()).reshape(t["shape"])
    return out, meta


def write_safetensors(path, tensors, meta):
    header, off, blobs = {}, 0, []
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_any(path):
    if path.endswith(".safetensors"):
        return read_safetensors(path)[0]
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        obj = obj.state_dict()
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


OLD_TA = [(r"\.ChannelGateH\.spatial\.", ".cw.conv."), (r"\.ChannelGateW\.spatial\.", ".hc.conv."),
          (r"\.SpatialGate\.spatial\.", ".hw.conv.")]


def rename(arch, sd):
    out, dropped = {}, []
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        k = k[7:] if k.startswith("module.") else k
        for pat, rep in OLD_TA:
            k = re.sub(pat, rep, k)
        if arch == "resnet_unet" and re.match(r"(conv1|bn1|layer[1-4])\.", k):
            k = "encoder." + k
        if arch == "resnet_unet" and (k.startswith("fc.") or k.startswith("conv_seg.")):
            dropped.append(k)
            continue
        out[k] = v
    return out, dropped


def to_dolor(a):
    cfg = json.loads(a.config) if a.config else {}
    m = twin(a.arch, cfg)
    if a.random is not None:
        torch.manual_seed(a.random)
        m = twin(a.arch, cfg)
        src = {k: v for k, v in m.state_dict().items()}
    else:
        src = load_any(a.input)
    src, dropped = rename(a.arch, src)
    want = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing, bad_shape, out = [], [], {}
    for k, v in want.items():
        if (k in src and k.endswith("conv1.weight") and src[k].dim() == v.dim() and src[k].shape[1] == 3 and
                v.shape[1] == 1 and tuple(src[k].shape[2:]) == tuple(v.shape[2:]) and src[k].shape[0] == v.shape[0]):
            # an RGB stem (ImageNet) for grey input: the sum over the colour channels, as timm's adapt_input_conv
            src[k] = src[k].sum(dim=1, keepdim=True)
            print("%s: 3 input channels summed into 1 (grey input)" % k)
        if k in src and tuple(src[k].shape) == tuple(v.shape):
            out[k] = src[k].float()
        elif k in src:
            bad_shape.append("%s: file %s, %s %s" % (k, tuple(src[k].shape), a.arch, tuple(v.shape)))
        else:
            missing.append(k)
            out[k] = v.float()
    extra = sorted(set(src) - set(want)) + dropped
    if bad_shape:
        raise SystemExit("shapes differ (wrong --config?):\n  " + "\n  ".join(bad_shape[:20]))
    if missing and not a.partial:
        raise SystemExit("%d tensors of %s are not in %s (first: %s); --partial keeps PyTorch's initialisation "
                         "for them" % (len(missing), a.arch, a.input, ", ".join(missing[:5])))
    classes = ["background"] + a.classes.split(",") if a.task == "segmentation" else a.classes.split(",")
    if a.task == "classification" and len(classes) == 1:
        classes = ["negative"] + classes
    labels = [int(x) for x in a.labels.split(",")] if a.labels else list(range(len(classes)))
    if a.task == "segmentation" and a.labels:
        labels = [0] + labels
    size = [int(x) for x in a.size.lower().split("x")]
    if len(size) == 1:
        size = size * 2
    full_cfg = json.loads(a.config) if a.config else {}
    pre = {"height": size[-2], "width": size[-1], "grey": "bt601",
           "resize": "trilinear" if len(size) == 3 else "bilinear", "normalize": "zscore"}
    if len(size) == 3:
        pre = {"depth": size[0], **pre}
    meta = {"format": "pt", "dolor_version": "converted by tools/torch_weights.py", "architecture": a.arch,
            "config": json.dumps(full_cfg), "class_names": json.dumps(classes), "label_values": json.dumps(labels),
            "preprocessing": json.dumps(pre), "epoch": "0", "val_dice": "nan", "optimizer_step": "0",
            "seed": "0", "train": "{}", "task": a.task}
    write_safetensors(a.output, out, meta)
    print("%s: %d tensors (%d kept from PyTorch's initialisation, %d in the file not used%s)" %
          (a.output, len(out), len(missing), len(extra), (": " + ", ".join(extra[:6])) if extra else ""))
    return m, out


def to_torch(a):
    t, meta = read_safetensors(a.input)
    sd = {k: v for k, v in t.items() if not k.startswith("optimizer.")}
    arch, cfg = meta.get("architecture", "unet"), json.loads(meta.get("config", "{}"))
    m = twin(arch, cfg)
    m.load_state_dict(sd, strict=False)
    missing = [k for k in m.state_dict() if k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit("%s: the %s twin has tensors the file lacks: %s" % (a.input, arch, ", ".join(missing[:5])))
    out = m.state_dict()
    if a.ultralytics:
        if arch != "yolov8":
            raise SystemExit("--ultralytics is for --arch yolov8 checkpoints (this one is %s)" % arch)
        # Ultralytics' DFL: a fixed 1x1 convolution holding 0..reg_max-1 (dolor keeps it as a constant of decoding)
        r = cfg.get("reg_max", 16)
        out["model.22.dfl.conv.weight"] = torch.arange(r, dtype=torch.float32).view(1, r, 1, 1)
    torch.save(out, a.output)
    print("%s: %s %s, %d tensors; loads with load_state_dict(strict=True) into %s" %
          (a.output, arch, json.dumps(cfg), len(sd), "an Ultralytics model of that config" if a.ultralytics else "the twin"))
    return m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("to-dolor")
    d.add_argument("input", nargs="?")
    d.add_argument("output")
    d.add_argument("--random", type=int, help="no input: a PyTorch-initialised twin with this seed")
    d.add_argument("--arch", required=True)
    d.add_argument("--config", default="{}", help="the registry config as JSON (dolor train --help lists keys)")
    d.add_argument("--classes", required=True, help="class names (segmentation: foreground classes)")
    d.add_argument("--labels", help="mask value of each foreground class (default 1..n)")
    d.add_argument("--size", required=True, help="network input size: S, HxW or DxHxW")
    d.add_argument("--task", default="segmentation", choices=["segmentation", "classification"])
    d.add_argument("--partial", action="store_true", help="keep PyTorch's initialisation for tensors not in the file")
    t = sub.add_parser("to-torch")
    t.add_argument("input")
    t.add_argument("output")
    t.add_argument("--ultralytics", action="store_true",
                   help="yolov8: add Ultralytics' fixed DFL weight (model.22.dfl.conv.weight), so the file loads "
                        "strictly into its DetectionModel / SegmentationModel / PoseModel")
    a = ap.parse_args(argv)
    if a.cmd == "to-dolor":
        if (a.input is None) == (a.random is None):
            ap.error("give an input file or --random SEED")
        to_dolor(a)
    else:
        to_torch(a)


if __name__ == "__main__":
    sys.exit(main())
