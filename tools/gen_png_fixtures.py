#!/usr/bin/python3
"""Regenerate tests/fixtures/png/ for tests/test_io_png.c (run by hand, never by CI).

1. Tiny synthetic PNGs written by a minimal encoder here (zlib + struct, independent of
   libpng) for every colour type and bit depth, one Adam7-interlaced file and one with
   pHYs; expected.txt lists every sample value as the encoder wrote it.  Each file is
   also decoded with PIL as a cross-check of the encoder where PIL supports the mode.
2. Corrupt variants: truncated, CRC error, bad signature, empty, absurd IHDR size.
3. real.txt: for a handful of real files in $DOLOR_DATA (usgra-nerve PNG, kvasir-seg
   JPEG), size, components, sum of samples, sum of squares and the samples of a few
   pixels, as decoded by PIL (an independent reader).

Usage: /usr/bin/python3 tools/gen_png_fixtures.py   (from the repository root)
"""
import os
import random
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "png")
DATA = os.environ.get("DOLOR_DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"))

CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, bits):
    """samples: flat list of ints for one row (all channels)."""
    if bits == 8:
        return bytes(samples)
    if bits == 16:
        return b"".join(struct.pack(">H", v) for v in samples)
    out = bytearray()
    per = 8 // bits
    for i in range(0, len(samples), per):
        b = 0
        grp = samples[i:i + per]
        for j, v in enumerate(grp):
            b |= v << (8 - bits * (j + 1))
        out.append(b)
    return bytes(out)


def encode(arr, color_type, bits, palette=None, interlace=False, phys=None):
    """arr: numpy [h, w, c] of ints."""
    h, w, c = arr.shape
    raw = bytearray()
    if not interlace:
        for y in range(h):
            raw += b"\x00" + pack_row([int(v) for v in arr[y].reshape(-1)], bits)
    else:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            xs = list(range(x0, w, dx))
            ys = list(range(y0, h, dy))
            if not xs or not ys:
                continue
            for y in ys:
                raw += b"\x00" + pack_row([int(v) for x in xs for v in arr[y, x]], bits)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(palette))
    if phys is not None:
        png += chunk(b"pHYs", struct.pack(">IIB", phys[0], phys[1], phys[2]))
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    png += chunk(b"IEND", b"")
    return png


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20261123)
    w, h = 7, 5  # odd width exercises low-bit-depth packing
    cases = []
    for name, ct, bits in [("grey8", 0, 8), ("grey16", 0, 16), ("grey1", 0, 1), ("grey2", 0, 2), ("grey4", 0, 4),
                           ("greyalpha8", 4, 8), ("greyalpha16", 4, 16), ("rgb8", 2, 8), ("rgb16", 2, 16),
                           ("rgba8", 6, 8), ("rgba16", 6, 16), ("pal8", 3, 8), ("pal2", 3, 2), ("pal4", 3, 4)]:
        c = CHANNELS[ct]
        maxv = (1 << bits) - 1
        if ct == 3:
            maxv = min(maxv, 5)  # indices below the palette length
        arr = np.array([[[rng.randint(0, maxv) for _ in range(c)] for _ in range(w)] for _ in range(h)])
        arr[0, 0, :] = maxv  # extremes present
        arr[0, 1, :] = 0
        if bits == 16:
            arr[1, 0, 0] = 0x1234  # byte order check: 4660, swapped would be 13330
        pal = None
        if ct == 3:
            pal = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0, 0, 255, 255]
        cases.append((name, arr, ct, bits, pal, False, None))
    # interlaced 8-bit grey (Adam7), 11x9 so that every pass is non-empty
    arr = np.array([[[rng.randint(0, 255)] for _ in range(11)] for _ in range(9)])
    cases.append(("interlaced", arr, 0, 8, None, True, None))
    # interlaced 16-bit RGB
    arr = np.array([[[rng.randint(0, 65535) for _ in range(3)] for _ in range(10)] for _ in range(6)])
    cases.append(("interlaced_rgb16", arr, 2, 16, None, True, None))
    # pHYs: 2500 px/m -> 0.4 mm, 5000 px/m -> 0.2 mm
    arr = np.array([[[rng.randint(0, 255)] for _ in range(4)] for _ in range(3)])
    cases.append(("phys", arr, 0, 8, None, False, (2500, 5000, 1)))
    # pHYs with unit 0 (aspect ratio only): spacing stays 1 mm
    cases.append(("phys_nounit", arr, 0, 8, None, False, (2500, 5000, 0)))

    lines = ["# name width height ncomp bits spacing_x spacing_y samples (row-major, components interleaved)"]
    for name, arr, ct, bits, pal, inter, phys in cases:
        data = encode(arr, ct, bits, pal, inter, phys)
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(data)
        hh, ww, c = arr.shape
        sx = sy = 1.0
        if phys is not None and phys[2] == 1:
            sx, sy = 1000.0 / phys[0], 1000.0 / phys[1]
        vals = " ".join(str(int(v)) for v in arr.reshape(-1))
        lines.append(f"{name} {ww} {hh} {c} {bits} {sx:.6f} {sy:.6f} {vals}")
        # cross-check the encoder with PIL where PIL keeps the raw values
        im = Image.open(os.path.join(OUT, name + ".png"))
        if name in ("grey8", "rgb8", "rgba8", "greyalpha8", "interlaced", "phys"):
            got = np.array(im).reshape(hh, ww, c)
            assert (got == arr).all(), name
        if ct == 3:
            got = np.array(im)  # PIL mode P gives indices
            assert (got == arr[:, :, 0]).all(), name
        if name == "grey16":
            got = np.array(im).reshape(hh, ww, 1)
            assert (got == arr).all(), name
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # corrupt variants, from rgb8.png
    good = open(os.path.join(OUT, "rgb8.png"), "rb").read()
    idat = good.index(b"IDAT")
    open(os.path.join(OUT, "bad_truncated.png"), "wb").write(good[: idat + 20])
    bad = bytearray(good)
    idat_len = struct.unpack(">I", good[idat - 4:idat])[0]
    bad[idat + 4 + idat_len] ^= 0xFF  # the IDAT CRC itself: data intact, CRC mismatch
    open(os.path.join(OUT, "bad_crc.png"), "wb").write(bytes(bad))
    bad = bytearray(good)
    bad[1] = ord("X")
    open(os.path.join(OUT, "bad_signature.png"), "wb").write(bytes(bad))
    open(os.path.join(OUT, "bad_empty.png"), "wb").write(b"")
    open(os.path.join(OUT, "bad_header_only.png"), "wb").write(good[:8])
    # valid chunk structure, absurd size: 0x7fffff00 x 1
    huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0x7FFFFF00, 1, 8, 0, 0, 0, 0))
    huge += chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    open(os.path.join(OUT, "bad_huge.png"), "wb").write(huge)
    # within the extent limit but 32 GB of samples (65536 x 65536 RGBA16): refused before allocating
    big = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 65536, 65536, 16, 6, 0, 0, 0))
    big += chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    open(os.path.join(OUT, "big_unsupported.png"), "wb").write(big)
    # bad zlib stream inside IDAT with a correct CRC
    ihdr_end = good.index(b"IDAT") - 4
    garbage = b"\x78\x9c" + bytes(rng.randint(0, 255) for _ in range(40))
    open(os.path.join(OUT, "bad_zlib.png"), "wb").write(good[:ihdr_end] + chunk(b"IDAT", garbage) + chunk(b"IEND", b""))
    # truncated JPEG: a tiny JPEG from PIL cut in half; and a complete one for the memory decoder
    im = Image.fromarray(np.array([[[(x * 16 + y * 4) % 256, (x * 8) % 256, (y * 32) % 256] for x in range(16)]
                                   for y in range(16)], dtype=np.uint8))
    im.save(os.path.join(OUT, "tiny.jpg"), quality=95)
    jb = open(os.path.join(OUT, "tiny.jpg"), "rb").read()
    open(os.path.join(OUT, "bad_truncated.jpg"), "wb").write(jb[: len(jb) * 2 // 3])
    tj = np.array(Image.open(os.path.join(OUT, "tiny.jpg")).convert("RGB")).astype(np.int64)
    grey = Image.fromarray(np.array([[(x * 16 + y * 3) % 256 for x in range(16)] for y in range(8)], dtype=np.uint8))
    grey.save(os.path.join(OUT, "tiny_grey.jpg"), quality=90)
    tg = np.array(Image.open(os.path.join(OUT, "tiny_grey.jpg"))).astype(np.int64)
    im.resize((24, 20)).save(os.path.join(OUT, "tiny_progressive.jpg"), quality=90, progressive=True)
    tp = np.array(Image.open(os.path.join(OUT, "tiny_progressive.jpg")).convert("RGB")).astype(np.int64)
    Image.new("CMYK", (8, 8), (10, 20, 30, 40)).save(os.path.join(OUT, "cmyk.jpg"))

    # real files, decoded by PIL
    real = ["# relpath width height ncomp sum sumsq then x,y:samples for a few pixels (decoded by PIL)"]
    real.append(f"FIXTURE:tiny.jpg 16 16 3 {tj.sum()} {(tj * tj).sum()} " +
                " ".join(f"{x},{y}:" + ",".join(str(v) for v in tj[y, x]) for x, y in [(0, 0), (5, 7), (15, 15)]))
    real.append(f"FIXTURE:tiny_grey.jpg 16 8 1 {tg.sum()} {(tg * tg).sum()} " +
                " ".join(f"{x},{y}:{tg[y, x]}" for x, y in [(0, 0), (9, 3), (15, 7)]))
    real.append(f"FIXTURE:tiny_progressive.jpg 24 20 3 {tp.sum()} {(tp * tp).sum()} " +
                " ".join(f"{x},{y}:" + ",".join(str(v) for v in tp[y, x]) for x, y in [(0, 0), (11, 9), (23, 19)]))
    files = ["usgra-nerve/images/0000.png", "usgra-nerve/masks/0000.png", "usgra-nerve/images/0001.png",
             "usgra-nerve/masks/0001.png"]
    # one 761x632 image and its mask
    for fn in sorted(os.listdir(os.path.join(DATA, "usgra-nerve", "images"))):
        if Image.open(os.path.join(DATA, "usgra-nerve", "images", fn)).size == (761, 632):
            files += ["usgra-nerve/images/" + fn, "usgra-nerve/masks/" + fn]
            break
    kv = sorted(os.listdir(os.path.join(DATA, "kvasir-seg", "images")))[:2]
    files += ["kvasir-seg/images/" + kv[0], "kvasir-seg/masks/" + kv[0], "kvasir-seg/images/" + kv[1]]
    for rel in files:
        im = Image.open(os.path.join(DATA, rel))
        a = np.array(im).astype(np.int64)  # mode P -> indices, L -> grey, RGB -> RGB
        if a.ndim == 2:
            a = a[:, :, None]
        hh, ww, c = a.shape
        pts = [(0, 0), (ww // 2, hh // 2), (ww - 1, hh - 1), (ww // 3, hh // 4), (ww // 5, 2 * hh // 3)]
        if im.mode == "P":  # a pixel with the largest label value
            ys, xs = np.nonzero(a[:, :, 0] == a.max())
            pts.append((int(xs[len(xs) // 2]), int(ys[len(ys) // 2])))
        real.append(f"{rel} {ww} {hh} {c} {a.sum()} {(a * a).sum()} " +
                    " ".join(f"{x},{y}:" + ",".join(str(v) for v in a[y, x]) for x, y in pts))
    with open(os.path.join(OUT, "real.txt"), "w") as f:
        f.write("\n".join(real) + "\n")


if __name__ == "__main__":
    main()
