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


def build(arch, cfg):
    return {"resnet_unet": ResNetUNet, "fastseg": FastSeg}[arch](**cfg)
