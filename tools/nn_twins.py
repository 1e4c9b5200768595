"""PyTorch twins of dolor's registry architectures that are not plain torchvision models (the
ResNet and triplet-attention twins are in gen_nn_ops_fixtures.py, the U-Net in gen_nn_fixtures.py).
Same structure, tensor names and state_dict order as src/nn/arch/*.c, so det_fill() weights and
dolor checkpoints move between the two. Used by tools/gen_nn_arch_fixtures.py and bench/."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_ops_fixtures import TripletAttention  # noqa: E402

BLOCKS = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}


class EncBlock(nn.Module):
    """torchvision BasicBlock / Bottleneck (v1.5), with the authors' triplet attention on the residual
    branch before the addition (registered before downsample, dolor's order)."""

    def __init__(self, cin, planes, stride, bottleneck, ta):
        super().__init__()
        exp = 4 if bottleneck else 1
        self.bottleneck = bottleneck
        if bottleneck:
            self.conv1, self.bn1 = nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3, self.bn3 = nn.Conv2d(planes, planes * exp, 1, bias=False), nn.BatchNorm2d(planes * exp)
        else:
            self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm2d(planes)
        self.triplet_attention = TripletAttention() if ta else None
        self.downsample = None
        if stride != 1 or cin != planes * exp:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes * exp, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes * exp))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        if self.bottleneck:
            y = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(y)))))
        else:
            y = self.bn2(self.conv2(y))
        if self.triplet_attention is not None:
            y = self.triplet_attention(y)
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNetEncoder(nn.Module):
    def __init__(self, depth, in_channels, width, ta):
        super().__init__()
        bott = depth >= 50
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for l, nb in enumerate(BLOCKS[depth]):
            blocks = []
            for b in range(nb):
                planes = width << l
                blocks.append(EncBlock(cin, planes, 2 if b == 0 and l > 0 else 1, bott, ta))
                cin = planes * (4 if bott else 1)
            setattr(self, "layer%d" % (l + 1), nn.Sequential(*blocks))

    def forward(self, x):
        s = F.relu(self.bn1(self.conv1(x)))
        f = [s]
        x = F.max_pool2d(s, 3, 2, 1)
        for l in range(4):
            x = getattr(self, "layer%d" % (l + 1))(x)
            f.append(x)
        return f


def conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class DecBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout)
        self.conv2 = conv_bn_relu(cout, cout)


def resize(x, ref, bilinear):
    if bilinear:
        return F.interpolate(x, size=tuple(ref.shape[2:]), mode="bilinear", align_corners=False)
    return F.interpolate(x, size=tuple(ref.shape[2:]), mode="nearest-exact")


class Decoder(nn.Module):
    def __init__(self, enc_ch, base):
        super().__init__()
        ch = [base << (4 - i) for i in range(5)]
        skips = [enc_ch[3], enc_ch[2], enc_ch[1], enc_ch[0], 0]
        cin = [enc_ch[4]] + ch[:4]
        self.blocks = nn.ModuleList([DecBlock(cin[i] + skips[i], ch[i]) for i in range(5)])


class ResNetUNet(nn.Module):
    """Twin of "resnet_unet" (src/nn/arch/resnet_unet.c): smp Unet names on a torchvision ResNet."""

    def __init__(self, in_channels=3, num_classes=2, encoder_depth=50, width=64, triplet_attention=0,
                 decoder_base=16, upsample="nearest"):
        super().__init__()
        self.encoder = ResNetEncoder(encoder_depth, in_channels, width, triplet_attention)
        e = 4 if encoder_depth >= 50 else 1
        enc_ch = [width, width * e, 2 * width * e, 4 * width * e, 8 * width * e]
        self.decoder = Decoder(enc_ch, decoder_base)
        self.segmentation_head = nn.Sequential(nn.Conv2d(decoder_base, num_classes, 3, padding=1))
        self.bilinear = upsample == "bilinear"

    def forward(self, x):
        f = self.encoder(x)
        y = f[4]
        for i, blk in enumerate(self.decoder.blocks):
            skip = f[3 - i] if i < 4 else None
            y = resize(y, skip if skip is not None else x, self.bilinear)
            if skip is not None:
                y = torch.cat([y, skip], dim=1)
            y = blk.conv2(blk.conv1(y))
        return self.segmentation_head(y)


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride=1, dil=1, groups=1):
        super().__init__(nn.Conv2d(cin, cout, k, stride=stride, padding=dil * (k // 2), dilation=dil, groups=groups,
                                   bias=False), nn.BatchNorm2d(cout))


class DS(nn.Module):
    def __init__(self, cin, cout, stride=1, dil=1):
        super().__init__()
        self.dw = ConvBN(cin, cin, 3, stride, dil, cin)
        self.pw = ConvBN(cin, cout, 1)

    def forward(self, x):
        return F.relu(self.pw(F.relu(self.dw(x))))


class UpAdd(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.proj = ConvBN(cin, cout, 1)
        self.add_module("0", DS(cout, cout))

    def forward(self, x, skip):
        y = F.interpolate(self.proj(x), size=tuple(skip.shape[2:]), mode="bilinear", align_corners=False)
        return getattr(self, "0")(y + skip)


class FastSeg(nn.Module):
    """Twin of "fastseg" (src/nn/arch/fastseg.c)."""

    def __init__(self, in_channels=1, num_classes=4, width=32):
        super().__init__()
        w = width
        self.stem = ConvBN(in_channels, w, 3, 2)
        self.enc1 = nn.Sequential(DS(w, 2 * w, 2), DS(2 * w, 2 * w))
        self.enc2 = nn.Sequential(DS(2 * w, 4 * w, 2), DS(4 * w, 4 * w))
        self.enc3 = nn.Sequential(DS(4 * w, 8 * w, 2), DS(8 * w, 8 * w, 1, 2), DS(8 * w, 8 * w, 1, 4))
        self.gate = nn.Conv2d(8 * w, 8 * w, 1)
        self.dec2 = UpAdd(8 * w, 4 * w)
        self.dec1 = UpAdd(4 * w, 2 * w)
        self.dec0 = UpAdd(2 * w, w)
        self.head = nn.Conv2d(w, num_classes, 1)

    def forward(self, x):
        f1 = F.relu(self.stem(x))
        f2 = self.enc1(f1)
        f3 = self.enc2(f2)
        e = self.enc3(f3)
        e = e * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(e, 1)))
        y = self.dec0(self.dec1(self.dec2(e, f3), f2), f1)
        return F.interpolate(self.head(y), size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)


def unet(in_channels=1, num_classes=2, base_channels=16, depth=4, upsample="transposed", spatial_dims=2):
    """The registry's "unet" config to class UNet of tools/gen_nn_fixtures.py (2D or 3D)."""
    from gen_nn_fixtures import UNet
    return UNet(in_channels, num_classes, base_channels, depth, upsample == "bilinear", spatial_dims)


def build(arch, cfg):
    return {"resnet_unet": ResNetUNet, "fastseg": FastSeg, "yolov8": YOLOv8, "unet": unet}[arch](**cfg)


# ---- YOLOv8 (src/nn/arch/yolov8.c), written from Ultralytics' yolov8*.yaml and its Conv, Bottleneck,
# C2f, SPPF, Proto, Detect, Segment and Pose definitions (plain torch: no ultralytics import). The
# state_dict names are Ultralytics'; the order is the forward order (a C2f's m.<i> before its cv2;
# Ultralytics registers cv2 first), and Ultralytics' fixed DFL convolution "model.22.dfl.conv.weight"
# (0..reg_max-1, never trained) is a non-persistent buffer here (dfl_bins), used only by decoding.

Y8_SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768), "l": (1.00, 1.00, 512),
             "x": (1.00, 1.25, 512)}  # depth, width, max_channels


class Y8Conv(nn.Module):
    """Ultralytics' Conv: conv (no bias, padding k // 2) -> BatchNorm (eps 1e-3, momentum 0.03) -> SiLU."""

    def __init__(self, cin, cout, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.03)

    def forward(self, x):
        return F.silu(self.bn(self.conv(x)))


class Y8Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1 = Y8Conv(c, c, 3)
        self.cv2 = Y8Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class Y8C2f(nn.Module):
    def __init__(self, cin, cout, n, shortcut):
        super().__init__()
        self.c = cout // 2
        self.cv1 = Y8Conv(cin, 2 * self.c, 1)
        self.m = nn.ModuleList(Y8Bottleneck(self.c, shortcut) for _ in range(n))
        self.cv2 = Y8Conv((2 + n) * self.c, cout, 1)

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Y8SPPF(nn.Module):
    def __init__(self, cin, cout, k=5):
        super().__init__()
        self.cv1 = Y8Conv(cin, cin // 2, 1)
        self.cv2 = Y8Conv(cin // 2 * 4, cout, 1)
        self.k = k

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(F.max_pool2d(y[-1], self.k, 1, self.k // 2))
        return self.cv2(torch.cat(y, 1))


class Y8Proto(nn.Module):
    def __init__(self, cin, npr, nm):
        super().__init__()
        self.cv1 = Y8Conv(cin, npr, 3)
        self.upsample = nn.ConvTranspose2d(npr, npr, 2, 2, 0, bias=True)
        self.cv2 = Y8Conv(npr, npr, 3)
        self.cv3 = Y8Conv(npr, nm, 1)

    def forward(self, x):
        return self.cv3(self.cv2(self.upsample(self.cv1(x))))


def y8_branch(cin, cm, cout):
    return nn.Sequential(Y8Conv(cin, cm, 3), Y8Conv(cm, cm, 3), nn.Conv2d(cm, cout, 1))


class Y8Head(nn.Module):
    """Detect (v8: two 3x3 Convs per branch in box and class), plus Segment's proto and cv4 (mask
    coefficients) or Pose's cv4 (keypoints). forward: the raw training-mode maps per stride."""

    def __init__(self, task, nc, ch, reg_max, nm, npr, nk):
        super().__init__()
        self.task = task
        c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(y8_branch(x, c2, 4 * reg_max) for x in ch)
        self.cv3 = nn.ModuleList(y8_branch(x, c3, nc) for x in ch)
        self.register_buffer("dfl_bins", torch.arange(reg_max, dtype=torch.float32), persistent=False)
        if task == "segment":
            self.proto = Y8Proto(ch[0], npr, nm)
            self.cv4 = nn.ModuleList(y8_branch(x, max(ch[0] // 4, nm), nm) for x in ch)
        elif task == "pose":
            self.cv4 = nn.ModuleList(y8_branch(x, max(ch[0] // 4, nk), nk) for x in ch)

    def forward(self, f):
        out = [torch.cat([self.cv2[i](f[i]), self.cv3[i](f[i])], 1) for i in range(3)]
        if self.task != "detect":
            out += [self.cv4[i](f[i]) for i in range(3)]
        if self.task == "segment":
            out.append(self.proto(f[0]))
        return out


class YOLOv8(nn.Module):
    """Twin of "yolov8" (src/nn/arch/yolov8.c): model.0 .. model.22 as Ultralytics' yolov8*.yaml."""

    OUTPUTS = {"detect": ["box_cls_p3", "box_cls_p4", "box_cls_p5"],
               "segment": ["box_cls_p3", "box_cls_p4", "box_cls_p5", "mask_coef_p3", "mask_coef_p4", "mask_coef_p5",
                           "proto"],
               "pose": ["box_cls_p3", "box_cls_p4", "box_cls_p5", "keypoints_p3", "keypoints_p4", "keypoints_p5"]}

    def __init__(self, task="detect", scale="n", width=None, depth=None, max_channels=None, in_channels=3,
                 num_classes=None, reg_max=16, num_masks=32, proto_channels=256, num_keypoints=17, keypoint_dims=3):
        super().__init__()
        import math
        d0, w0, m0 = Y8_SCALES.get(scale, (None, None, None))
        self.depth = depth if depth is not None else d0
        self.width = width if width is not None else w0
        self.max_channels = max_channels if max_channels is not None else m0
        nc = num_classes if num_classes is not None else (1 if task == "pose" else 80)
        self.task = task

        def C(c):
            return int(math.ceil(min(c, self.max_channels) * self.width / 8) * 8)

        def r(n):
            return max(round(n * self.depth), 1)

        c64, c128, c256, c512, c1024 = C(64), C(128), C(256), C(512), C(1024)
        m = [Y8Conv(in_channels, c64, 3, 2), Y8Conv(c64, c128, 3, 2), Y8C2f(c128, c128, r(3), True),
             Y8Conv(c128, c256, 3, 2), Y8C2f(c256, c256, r(6), True), Y8Conv(c256, c512, 3, 2),
             Y8C2f(c512, c512, r(6), True), Y8Conv(c512, c1024, 3, 2), Y8C2f(c1024, c1024, r(3), True),
             Y8SPPF(c1024, c1024, 5),
             nn.Upsample(scale_factor=2, mode="nearest"), nn.Identity(), Y8C2f(c1024 + c512, c512, r(3), False),
             nn.Upsample(scale_factor=2, mode="nearest"), nn.Identity(), Y8C2f(c512 + c256, c256, r(3), False),
             Y8Conv(c256, c256, 3, 2), nn.Identity(), Y8C2f(c256 + c512, c512, r(3), False),
             Y8Conv(c512, c512, 3, 2), nn.Identity(), Y8C2f(c512 + c1024, c1024, r(3), False),
             Y8Head(task, nc, (c256, c512, c1024), reg_max, num_masks, C(proto_channels),
                    num_keypoints * keypoint_dims)]
        self.model = nn.ModuleList(m)

    def forward(self, x):
        m = self.model
        y = [None] * 23
        for i in range(10):
            x = m[i](x)
            y[i] = x
        x = m[12](torch.cat([m[10](y[9]), y[6]], 1))
        y[12] = x
        p3 = m[15](torch.cat([m[13](x), y[4]], 1))
        p4 = m[18](torch.cat([m[16](p3), y[12]], 1))
        p5 = m[21](torch.cat([m[19](p4), y[9]], 1))
        return m[22]([p3, p4, p5])


def y8_gflops(model, h=640, w=640):
    """2 x the multiply-adds of every (transposed) convolution at one h x w image, Ultralytics' convention."""
    macs = [0]

    def hook(mod, inp, out):
        k = mod.weight[0].numel() if isinstance(mod, nn.Conv2d) else mod.weight.shape[1] * mod.weight[0, 0].numel()
        n = out.numel() // out.shape[0] if isinstance(mod, nn.Conv2d) else inp[0].numel() // inp[0].shape[0]
        macs[0] += n * k

    hs = [mod.register_forward_hook(hook) for mod in model.modules() if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d))]
    p = next(model.parameters())
    with torch.no_grad():
        model.eval()(torch.zeros(1, model.model[0].conv.in_channels, h, w, dtype=p.dtype))
    for hd in hs:
        hd.remove()
    return 2 * macs[0] / 1e9


# ---- YOLOv8 decoding (src/nn/arch/yolov8_decode.c), from Ultralytics' DFL, make_anchors, dist2bbox
# (xyxy) and Pose.kpts_decode definitions.

def y8_anchors(maps, strides):
    """anchor points [2, A] (x, y at cell centres, grid units) and strides [1, A], level by level"""
    pts, st = [], []
    for m, s in zip(maps, strides):
        h, w = m.shape[2:]
        sy, sx = torch.meshgrid(torch.arange(h, dtype=m.dtype) + 0.5, torch.arange(w, dtype=m.dtype) + 0.5,
                                indexing="ij")
        pts.append(torch.stack([sx, sy], -1).view(-1, 2))
        st.append(torch.full((h * w, 1), float(s), dtype=m.dtype))
    return torch.cat(pts).T, torch.cat(st).T


def y8_decode_boxes(maps, strides, reg_max):
    """box_cls maps -> boxes [N, A, 4] (x1, y1, x2, y2 in pixels), scores [N, A, nc] (sigmoid)"""
    n = maps[0].shape[0]
    x = torch.cat([m.reshape(n, m.shape[1], -1) for m in maps], 2)
    box, cls = x[:, :4 * reg_max], x[:, 4 * reg_max:]
    a = box.shape[2]
    p = box.reshape(n, 4, reg_max, a).softmax(2)
    dist = (p * torch.arange(reg_max, dtype=x.dtype).view(1, 1, reg_max, 1)).sum(2)  # the DFL conv (0..reg_max-1)
    anc, st = y8_anchors(maps, strides)
    lt, rb = dist.chunk(2, 1)
    return (torch.cat([anc - lt, anc + rb], 1) * st).transpose(1, 2), cls.sigmoid().transpose(1, 2)


def y8_decode_keypoints(maps, strides, dims):
    """keypoint maps -> [N, A, K dims]: x, y in pixels, visibility sigmoid"""
    n = maps[0].shape[0]
    k = torch.cat([m.reshape(n, m.shape[1], -1) for m in maps], 2).clone()
    anc, st = y8_anchors(maps, strides)
    if dims == 3:
        k[:, 2::3] = k[:, 2::3].sigmoid()
    k[:, 0::dims] = (k[:, 0::dims] * 2.0 + (anc[0] - 0.5)) * st
    k[:, 1::dims] = (k[:, 1::dims] * 2.0 + (anc[1] - 0.5)) * st
    return k.transpose(1, 2)
