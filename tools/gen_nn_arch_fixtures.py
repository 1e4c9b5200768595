#!/usr/bin/python3
"""Write the builder fixtures for tests/test_nn_ops.c (test_arch): each registry architecture of
tools/nn_twins.py against its PyTorch twin on the same deterministic weights (det_fill) and input.

Run by hand with Debian's torch (1.13): /usr/bin/python3 tools/gen_nn_arch_fixtures.py
(argument "unet3d": only unet3d.bin, the 3D U-Net; argument "yolov8": only the YOLOv8 fixtures, yolov8_{detect,segment,pose,decode}.bin; their format is
in gen_multi and gen_decode below)

Per file (format of tools/gen_nn_fixtures.py, b"DNF1" records):
  arch, config   registry name and config JSON (uint8 text; config exactly as dolor_net_config_json)
  names          state_dict names in order, without num_batches_tracked (uint8 text, one per line)
  xshape, y, dy  the input shape (input by formula: 1.5 sin(0.01 i) + 0.5 sin(1.37 i + 0.2)), the
                 training-mode output, a random output gradient
  ghead, gsq     per parameter: the first 32 gradient elements and the sum of squares (small files)
  dx_sample, dx_sq  every 97th element of d/dx and its sum of squares
  y_eval         inference-mode output after the training forward (running stats moved once)
  labels, losses5  class labels [N, H, W] (by formula: (i * 7 // 11) mod K, as float) and the 5
                 softmax cross-entropy losses of 5 torch.optim.AdamW steps (lr 1e-3, betas 0.9 /
                 0.999, eps 1e-8, weight decay 1e-2) from the det_fill weights, in training mode
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import Writer  # noqa: E402
from gen_nn_ops_fixtures import add_grads, det_fill, rnd  # noqa: E402
import nn_twins  # noqa: E402

CASES = [
    # ResNet-18 encoder + triplet attention, an odd input: every resize goes to a non-integer ratio
    ("resnet_unet_18ta.bin", "resnet_unet",
     dict(in_channels=3, num_classes=3, encoder_depth=18, width=8, triplet_attention=1, decoder_base=4,
          upsample="nearest"), (2, 3, 45, 45)),
    ("resnet_unet_50ta.bin", "resnet_unet",
     dict(in_channels=3, num_classes=2, encoder_depth=50, width=4, triplet_attention=1, decoder_base=2,
          upsample="bilinear"), (2, 3, 64, 64)),
    ("fastseg.bin", "fastseg", dict(in_channels=1, num_classes=4, width=8), (2, 1, 40, 44)),
]
# the 3D U-Net (two channels as Dixon water + fat, five classes as background + four muscles); its own
# seed, written after the others so adding it left their files unchanged
UNET3D_CASE = ("unet3d.bin", "unet",
               dict(in_channels=2, num_classes=5, base_channels=4, depth=2, upsample="transposed", spatial_dims=3),
               (2, 2, 16, 16, 16))


def config_json(cfg):
    # as the C to_json: '{"key": value, ...}' in declaration order, strings quoted
    return "{" + ", ".join('"%s": %s' % (k, json.dumps(v)) for k, v in cfg.items()) + "}"


def det_input(shape):
    i = torch.arange(int(np.prod(shape)), dtype=torch.float64)
    return (1.5 * torch.sin(0.01 * i) + 0.5 * torch.sin(1.37 * i + 0.2)).reshape(shape)


def gen(fname, arch, cfg, xshape):
    w = Writer(fname)
    m = nn_twins.build(arch, cfg).double()
    names = det_fill(m)
    w.add("arch", np.frombuffer(arch.encode(), dtype=np.uint8))
    w.add("config", np.frombuffer(config_json(cfg).encode(), dtype=np.uint8))
    w.add("names", np.frombuffer("\n".join(names).encode(), dtype=np.uint8))
    x = det_input(xshape).requires_grad_()
    m.train()
    y = m(x)
    dy = rnd(*y.shape)
    y.backward(dy)
    w.add("xshape", list(xshape))
    w.add("y", y)
    w.add("dy", dy)
    add_grads(w, m, x)
    m.eval()
    with torch.no_grad():
        w.add("y_eval", m(x))
    # 5 AdamW steps with softmax cross-entropy, from the same weights
    k = y.shape[1]
    n_lab = int(np.prod([xshape[0]] + list(xshape[2:])))
    labels = ((torch.arange(n_lab) * 7 // 11) % k).reshape([xshape[0]] + list(xshape[2:]))
    w.add("labels", labels.double())
    m = nn_twins.build(arch, cfg).double()
    det_fill(m)
    m.train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    xs = det_input(xshape)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(m(xs), labels)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    w.add("losses5", losses)
    w.close()


def gen_converted():
    """converted_resnet_unet.safetensors: a PyTorch-initialised resnet_unet twin saved with the names a
    user's file would have (torchvision ResNet keys without "encoder.", the triplet-attention module's
    first-release names, "module." from DataParallel), converted by tools/torch_weights.py; and
    converted_resnet_unet.bin: its inference output on the formula input, for tests/test_train.c."""
    import tempfile
    import torch_weights
    cfg = dict(in_channels=1, num_classes=3, encoder_depth=18, width=4, triplet_attention=1, decoder_base=2,
               upsample="nearest")
    torch.manual_seed(5)
    m = nn_twins.build("resnet_unet", cfg)
    with torch.no_grad():  # non-trivial running statistics
        for k, v in m.state_dict().items():
            if k.endswith("running_mean"):
                v.copy_(0.1 * torch.randn(v.shape))
            elif k.endswith("running_var"):
                v.copy_(0.5 + torch.rand(v.shape))
    user = {}
    for k, v in m.state_dict().items():
        k = k.replace("encoder.", "", 1) if k.startswith("encoder.") else k
        k = k.replace(".cw.conv.", ".ChannelGateH.spatial.").replace(".hc.conv.", ".ChannelGateW.spatial.")
        k = k.replace(".hw.conv.", ".SpatialGate.spatial.")
        user["module." + k] = v
    user["module.fc.weight"] = torch.zeros(10, 32)  # a classifier head the segmenter does not use
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "nn",
                       "converted_resnet_unet.safetensors")
    with tempfile.TemporaryDirectory() as d:
        pth = os.path.join(d, "user.pth")
        torch.save({"state_dict": user}, pth)
        torch_weights.main(["to-dolor", pth, out, "--arch", "resnet_unet", "--config", json.dumps(cfg),
                            "--classes", "nerve,vessel", "--labels", "1,2", "--size", "40"])
        back = os.path.join(d, "back.pth")
        torch_weights.main(["to-torch", out, back])
        sd = torch.load(back)
        ref = m.state_dict()
        assert all(torch.equal(sd[k], ref[k].float()) for k in ref if not k.endswith("num_batches_tracked"))
    w = Writer("converted_resnet_unet.bin")
    m.eval()
    x = det_input((1, 1, 40, 40)).float()
    with torch.no_grad():
        y = m.float()(x)
    w.add("xshape", [1, 1, 40, 40])
    w.add("y_eval", y)
    w.close()


# YOLOv8 (several outputs): tiny width (channels 8, 8, 16, 32, 64), depth 0.33 (C2f repeats 1 and 2).
# The AdamW learning rate of the 5 steps is per case: at lr 1e-3 these tiny nets (P5 of 2x2 or 2x3
# pixels, where SPPF's 5x5 pools see the whole map) are chaotic for some shapes: PyTorch's own float32
# leaves float64 by up to 1e-2 in 5 steps (segment at 1x3x64x64; 1.5e-7 at lr 1e-4). Detect and pose
# here: float32 within 4e-6 and 2e-6 of float64 at lr 1e-3.
Y8_TINY = dict(scale="custom", width=0.0625, depth=0.33, max_channels=1024)
Y8_CASES = [
    ("yolov8_detect.bin", "yolov8",
     dict(task="detect", **Y8_TINY, in_channels=1, num_classes=2, reg_max=16), (2, 1, 64, 96), 1e-3),
    ("yolov8_segment.bin", "yolov8",
     dict(task="segment", **Y8_TINY, in_channels=3, num_classes=3, reg_max=16, num_masks=32, proto_channels=256),
     (1, 3, 64, 64), 1e-4),
    ("yolov8_pose.bin", "yolov8",
     dict(task="pose", **Y8_TINY, in_channels=1, num_classes=1, reg_max=16, num_keypoints=9, keypoint_dims=3),
     (2, 1, 64, 64), 1e-3),
]


def multi_dy(k, shape):
    """the fixed weights of output k in the test loss (tests/test_nn_ops.c computes the same)"""
    i = torch.arange(int(np.prod(shape)), dtype=torch.float64)
    return torch.sin(0.37 * i + 0.91 * k + 0.05).reshape(shape)


def gen_multi(fname, arch, cfg, xshape, lr, eval_every=5):
    """A net with several outputs (YOLOv8). Records as gen() except: onames (output names, one per line);
    y<k> the training-mode outputs; no dy (by formula: multi_dy); the gradients are of
    L = sum_k sum(dy_k * y_k); y_eval<k> every eval_every-th element of the inference outputs (after
    the training forward); losses5 the 5 values of sum_k mean(dy_k * y_k) over 5 torch.optim.AdamW
    steps (lr: the record lr; betas 0.9 / 0.999, eps 1e-8, weight decay 1e-2) from the det_fill
    weights, in training mode."""
    w = Writer(fname)
    m = nn_twins.build(arch, cfg).double()
    names = det_fill(m)
    w.add("arch", np.frombuffer(arch.encode(), dtype=np.uint8))
    w.add("config", np.frombuffer(config_json(cfg).encode(), dtype=np.uint8))
    w.add("names", np.frombuffer("\n".join(names).encode(), dtype=np.uint8))
    w.add("onames", np.frombuffer("\n".join(nn_twins.YOLOv8.OUTPUTS[cfg["task"]]).encode(), dtype=np.uint8))
    x = det_input(xshape).requires_grad_()
    m.train()
    ys = m(x)
    dys = [multi_dy(k, y.shape) for k, y in enumerate(ys)]
    sum((y * dy).sum() for y, dy in zip(ys, dys)).backward()
    w.add("xshape", list(xshape))
    for k, y in enumerate(ys):
        w.add("y%d" % k, y)
    add_grads(w, m, x)
    m.eval()
    with torch.no_grad():
        for k, y in enumerate(m(x)):
            w.add("y_eval%d" % k, y.reshape(-1)[::eval_every])
    w.add("eval_every", [eval_every])
    m = nn_twins.build(arch, cfg).double()
    det_fill(m)
    m.train()
    opt = torch.optim.AdamW(m.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    w.add("lr", [lr])
    xs = det_input(xshape)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = sum((y * dy).sum() / y.numel() for y, dy in zip(m(xs), dys))
        losses.append(loss.item())
        loss.backward()
        opt.step()
    w.add("losses5", losses)
    w.close()


def decode_maps(shapes, amp, f, ph):
    """maps by formula (as tests/test_nn_ops.c): level l element i = amp sin(f i + ph l + 0.2), as float32"""
    out = []
    for l, sh in enumerate(shapes):
        i = torch.arange(int(np.prod(sh)), dtype=torch.float64)
        out.append((amp * torch.sin(f * i + ph * l + 0.2)).float().double().reshape(sh))
    return out


def gen_decode(fname="yolov8_decode.bin"):
    """The decoding of raw YOLOv8 maps (tools/nn_twins.py y8_decode_*) on maps by formula: N 2, an input
    of 64x96 (levels 8x12, 4x6, 2x3, strides 8, 16, 32); boxes with reg_max 16 and 3 classes (amplitude
    3: peaked bin distributions), keypoints 9 x 3."""
    w = Writer(fname)
    lv = [(8, 12), (4, 6), (2, 3)]
    bm = decode_maps([(2, 4 * 16 + 3) + s for s in lv], 3.0, 0.61, 0.7)
    boxes, scores = nn_twins.y8_decode_boxes(bm, [8, 16, 32], 16)
    km = decode_maps([(2, 27) + s for s in lv], 1.5, 0.43, 0.5)
    w.add("boxes", boxes)
    w.add("scores", scores)
    w.add("keypoints", nn_twins.y8_decode_keypoints(km, [8, 16, 32], 3))
    w.close()


def main(argv=None):
    """No argument: every fixture; "yolov8": only the YOLOv8 ones; "unet3d": only unet3d.bin."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["unet3d"]:
        torch.manual_seed(83)
        gen(*UNET3D_CASE)
        return
    if argv == ["yolov8"]:
        for c in Y8_CASES:
            gen_multi(*c)
        gen_decode()
        return
    torch.manual_seed(81)
    for c in CASES:
        gen(*c)
    gen_converted()
    for c in Y8_CASES:
        gen_multi(*c)
    gen_decode()
    torch.manual_seed(83)
    gen(*UNET3D_CASE)


if __name__ == "__main__":
    sys.exit(main())
