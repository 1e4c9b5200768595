#!/usr/bin/python3
"""Load a dolor checkpoint into the PyTorch twin of dolor's U-Net and segment images with it, to check
that (1) the safetensors file is readable from Python with the state_dict names PyTorch uses and
(2) PyTorch and `dolor predict` produce the same label maps from the same weights.

Usage: /usr/bin/python3 tools/check_checkpoint_torch.py CKPT PRED_DIR IMAGE [IMAGE ...]
  CKPT      best.safetensors from `dolor train`
  PRED_DIR  the folder `dolor predict --model CKPT IMAGE... -o PRED_DIR` wrote
Prints, per image, the share of pixels where PyTorch's and dolor's labels agree, and exits 1 if any
image agrees on fewer than 99.9% of its pixels (ties and float rounding at class borders allow a few).
Reads safetensors by hand (8-byte header length, JSON header, raw float32), so only python3-torch,
python3-numpy and python3-pil (Debian) are needed.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import UNet  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").copy()).reshape(t["shape"])
    return tensors, meta


def preprocess(img, h, w):
    """dolor_preprocess_image: BT.601 grey, bilinear resize (align_corners=False), z-score (population SD)."""
    a = np.asarray(img).astype(np.float64)
    if a.ndim == 3:
        a = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114 if a.shape[2] >= 3 else a[..., 0]
    x = torch.from_numpy(a.astype(np.float32))[None, None]
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    m, s = x.mean(), x.std(unbiased=False)
    return (x - m) / (s if s > 1e-6 else 1.0)


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    ckpt, pred_dir, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    tensors, meta = load_safetensors(ckpt)
    cfg = json.loads(meta["config"])
    pre = json.loads(meta["preprocessing"])
    values = json.loads(meta["label_values"])
    net = UNet(cfg["in_channels"], cfg["num_classes"], cfg["base_channels"], cfg["depth"],
               cfg["upsample"] == "bilinear")
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        print("state_dict mismatch: missing", missing, "unexpected", unexpected)
        return 1
    net.eval()
    worst = 1.0
    for path in images:
        img = Image.open(path)
        W, H = img.size
        with torch.no_grad():
            logits = net(preprocess(img, pre["height"], pre["width"]))
            logits = F.interpolate(logits, size=(H, W), mode="bilinear", align_corners=False)
        cls = logits[0].argmax(0).numpy()
        torch_labels = np.asarray(values)[cls]
        stem = os.path.splitext(os.path.basename(path))[0]
        dolor_labels = np.asarray(Image.open(os.path.join(pred_dir, stem + ".png")))
        agree = float((torch_labels == dolor_labels).mean())
        worst = min(worst, agree)
        print("%s  agreement %.5f  (torch foreground %d px, dolor %d px)" %
              (stem, agree, int((torch_labels > 0).sum()), int((dolor_labels > 0).sum())))
    print("worst agreement %.5f over %d images" % (worst, len(images)))
    return 0 if worst >= 0.999 else 1


if __name__ == "__main__":
    sys.exit(main())
