#!/usr/bin/env python3
"""Write the synthetic seed corpora of the fuzz targets added for issue 7 into fuzz/corpus/<target>/.

Every seed is made here from nothing (no sample data is copied):
  png             PNG files written by the encoder below (grey 1/4/8/16-bit, grey+alpha, RGB, RGBA, palette with
                  tRNS, Adam7-interlaced, Sub/Up/Average/Paeth filters, pHYs)
  jpeg            baseline JPEG streams made by gdcmconv --jpeg from the synthetic fuzz/corpus/dicom files
  dicom_pixel     compressed frames in the layout of fuzz/fuzz_dicom_pixel.c: RLE, JPEG, JPEG-LS (lossless and
                  near-lossless) by gdcmconv, JPEG 2000 by opj_compress; the compressed DICOM files themselves
                  also go to fuzz/corpus/dicom/ as seeds for fuzz_dicom
  safetensors     best/last checkpoints of two tiny U-Nets trained for one epoch on a 64x64 phantom
                  (dolor phantom + dolor train; $DOLOR_BIN, default build/dolor)
  train_config    JSON training configs (README's options, every key, list and flag forms)
  csv             CSV tables as dolor stats reads them (quotes, CRLF, BOM, NA, blank lines)
Needs gdcmconv (libgdcm-tools) and opj_compress (libopenjp2-tools). Not run by CI; run from the repository root:
    python3 tools/fuzz_corpus.py
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- PNG
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp, ftype):
    """rows: list of bytes (packed samples); returns the filtered scanlines, filter type cycling if ftype < 0."""
    outb = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for y, r in enumerate(rows):
        t = (y % 5) if ftype < 0 else ftype
        f = bytearray(len(r))
        for i in range(len(r)):
            a = r[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][t]
            f[i] = (r[i] - pred) & 255
        outb += bytes([t]) + f
        prev = r
    return bytes(outb)


def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    per = 8 // depth
    b = bytearray()
    for i in range(0, len(samples), per):
        v = 0
        for k in range(per):
            s = samples[i + k] if i + k < len(samples) else 0
            v = (v << depth) | s
        b.append(v)
    return bytes(b)


def png(w, h, ctype, depth, pix, interlace=False, ftype=-1, extra=b""):
    """pix(x, y) -> tuple of samples."""
    nch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = max(1, nch * depth // 8)

    def rows_of(xs, ys):
        return [pack_row([s for x in xs for s in pix(x, y)], depth) for y in ys]

    if not interlace:
        raw = filter_rows(rows_of(range(w), range(h)), bpp, ftype)
    else:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                               (0, 1, 1, 2)]:
            xs, ys = range(x0, w, dx), range(y0, h, dy)
            if len(xs) and len(ys):
                raw += filter_rows(rows_of(xs, ys), bpp, ftype)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9)) +
            chunk(b"IEND", b""))


def make_png():
    g = lambda x, y: ((x * 16 + y * 5) & 255,)
    phys = chunk(b"pHYs", struct.pack(">IIB", 5000, 4000, 1))  # 0.2 x 0.25 mm
    out("png", "grey8_phys.png", png(16, 12, 0, 8, g, extra=phys))
    out("png", "grey16.png", png(9, 7, 0, 16, lambda x, y: ((x * 7000 + y * 300) & 0xFFFF,)))
    out("png", "grey1.png", png(13, 5, 0, 1, lambda x, y: ((x + y) & 1,)))
    out("png", "grey4_interlaced.png", png(11, 9, 0, 4, lambda x, y: ((x * y) & 15,), interlace=True))
    out("png", "ga8.png", png(6, 6, 4, 8, lambda x, y: (x * 40, y * 40)))
    out("png", "rgb8_interlaced.png", png(10, 10, 2, 8, lambda x, y: (x * 25, y * 25, (x ^ y) * 16), interlace=True))
    out("png", "rgba16.png", png(4, 3, 6, 16, lambda x, y: (x * 9000, y * 9000, 1234, 65535)))
    plte = chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])) + chunk(b"tRNS", b"\x00")
    out("png", "palette_labels.png", png(12, 8, 3, 8, lambda x, y: ((x // 4 + y // 4) % 4,), extra=plte))
    out("png", "palette4.png", png(7, 3, 3, 4, lambda x, y: ((x + y) % 4,), extra=plte, ftype=0))


# ---------------------------------------------------------------- DICOM helpers
def dicom_elements(data):
    """Top-level elements of an explicit-VR little-endian DICOM file (as gdcmconv writes compressed files):
    dict tag -> value bytes, with the pixel data as the list of fragments (item 0: offset table)."""
    pos, el = 132, {}
    while pos + 8 <= len(data):
        g, e = struct.unpack_from("<HH", data, pos)
        vr = data[pos + 4:pos + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            (ln,) = struct.unpack_from("<I", data, pos + 8)
            pos += 12
        else:
            (ln,) = struct.unpack_from("<H", data, pos + 6)
            pos += 8
        tag = (g << 16) | e
        if tag == 0x7FE00010 and ln == 0xFFFFFFFF:
            frags = []
            while pos + 8 <= len(data):
                ig, ie, il = struct.unpack_from("<HHI", data, pos)
                pos += 8
                if ie == 0xE0DD:
                    break
                frags.append(data[pos:pos + il])
                pos += il
            el[tag] = frags
            continue
        if ln == 0xFFFFFFFF:  # a sequence of undefined length: skip to its delimiter (no nesting in our seeds)
            end = data.index(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00", pos)
            el[tag] = data[pos:end]
            pos = end + 8
            continue
        el[tag] = data[pos:pos + ln]
        pos += ln
    return el


def us(el, tag):
    return struct.unpack("<H", el[tag][:2])[0]


TSX = ["1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
       "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90",
       "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"]
BITS = [(8, 8, 0), (16, 16, 0), (16, 12, 0), (16, 16, 1), (16, 12, 1), (8, 8, 1), (32, 32, 0), (1, 1, 0),
        (16, 10, 0), (8, 6, 0), (32, 24, 1), (16, 8, 0)]
PHOT = ["MONOCHROME2", "MONOCHROME1", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "PALETTE COLOR"]


def pixel_seed(ts, cols, rows, alloc, stored, sign, phot, planar, frames):
    """The 5 parameter bytes of fuzz_dicom_pixel.c followed by the concatenated frames (the target splits the data
    evenly, so shorter frames are padded with zero bytes to the longest)."""
    b3 = BITS.index((alloc, stored, sign)) | (PHOT.index(phot) << 4) | (planar << 7)
    longest = max(len(f) for f in frames)
    frames = [f + bytes(longest - len(f)) for f in frames]
    return bytes([TSX.index(ts), cols - 1, rows - 1, b3, (len(frames) - 1) | 8]) + b"".join(frames)


def make_dicom_seeds(tmp):
    src = os.path.join(CORPUS, "dicom")
    n = 0
    for base in sorted(os.listdir(src)):
        if not base.endswith(".dcm") or "_gdcm_" in base:
            continue
        for flag, tag in [("--rle", "rle"), ("--jpeg", "jpeg"), ("--jpegls", "jls"),
                          ("--jpegls --lossy -e 2", "jlsnear"), ("--jpeg --lossy -q 80", "jpeglossy")]:
            dst = os.path.join(tmp, "%s_%s.dcm" % (base[:-4], tag))
            r = subprocess.run(["gdcmconv"] + flag.split() + [os.path.join(src, base), dst], capture_output=True)
            if r.returncode != 0 or not os.path.exists(dst):
                continue
            data = open(dst, "rb").read()
            el = dicom_elements(data)
            ts = el[0x00020010].rstrip(b"\0 ").decode()
            frags = el.get(0x7FE00010)
            if ts not in TSX or not isinstance(frags, list) or len(frags) < 2:
                continue
            phot = el[0x00280004].rstrip(b"\0 ").decode()
            alloc, stored, sign = us(el, 0x00280100), us(el, 0x00280101), us(el, 0x00280103)
            if (alloc, stored, sign) not in BITS or phot not in PHOT:
                continue
            planar = us(el, 0x00280006) if 0x00280006 in el else 0
            name = "%s_%s" % (base[:-4], tag)
            out("dicom_pixel", name + ".bin", pixel_seed(ts, us(el, 0x00280011), us(el, 0x00280010), alloc, stored,
                                                         sign, phot, planar, frags[1:]))
            out("dicom", "%s_gdcm_%s.dcm" % (base[:-4], tag), data)
            if tag in ("jpeg", "jpeglossy") and alloc == 8:
                out("jpeg", name + ".jpg", frags[1])
            n += 1
    return n


def make_j2k(tmp):
    for name, w, h, ch, depth, lossy in [("grey8", 16, 12, 1, 8, False), ("grey16", 9, 7, 1, 16, False),
                                         ("rgb8", 10, 8, 3, 8, True)]:
        maxv = (1 << depth) - 1
        pix = bytearray()
        for y in range(h):
            for x in range(w):
                for c in range(ch):
                    v = (x * 37 + y * 11 + c * 50) * (1 if depth == 8 else 200) % (maxv + 1)
                    pix += struct.pack(">H", v) if depth == 16 else bytes([v])
        ext = "pgm" if ch == 1 else "ppm"
        src = os.path.join(tmp, name + "." + ext)
        with open(src, "wb") as f:
            f.write(b"P%d\n%d %d\n%d\n" % (5 if ch == 1 else 6, w, h, maxv) + bytes(pix))
        dst = os.path.join(tmp, name + ".j2k")
        args = ["opj_compress", "-i", src, "-o", dst, "-n", "2"] + (["-r", "8"] if lossy else [])
        subprocess.run(args, check=True, capture_output=True)
        cs = open(dst, "rb").read()
        ts = "1.2.840.10008.1.2.4.91" if lossy else "1.2.840.10008.1.2.4.90"
        out("dicom_pixel", "j2k_%s.bin" % name, pixel_seed(ts, w, h, depth if depth == 8 else 16, depth, 0,
                                                          "MONOCHROME2" if ch == 1 else "RGB", 0, [cs]))


# ---------------------------------------------------------------- safetensors
def make_safetensors(tmp):
    dolor = os.environ.get("DOLOR_BIN", os.path.join(ROOT, "build", "dolor"))
    ph = os.path.join(tmp, "phantom")
    subprocess.run([dolor, "phantom", "-o", ph, "-n", "4", "--size", "64"], check=True, capture_output=True)
    for up in ("transposed", "bilinear"):
        run = os.path.join(tmp, "run_" + up)
        subprocess.run([dolor, "train", "--data", ph, "--classes", "nerve,vessel", "-o", run, "--size", "16",
                        "--base", "1", "--depth", "1", "--epochs", "1", "--batch", "2", "--upsample", up, "-q",
                        "--no-final-eval"], check=True, capture_output=True)
        for f in ("best", "last"):
            out("safetensors", "%s_%s.safetensors" % (up, f), open(os.path.join(run, f + ".safetensors"), "rb").read())


# ---------------------------------------------------------------- JSON configs, CSV
def make_text():
    cfgs = {
        "readme.json": {"data": "../shared/data/usgra-nerve", "classes": ["nerve", "vessel"], "labels": [1, 2],
                        "out": "runs/usgra-nerve", "epochs": 150, "batch": 8, "lr": 2e-3, "seed": 42},
        "all_keys.json": {"images": "img", "masks": "msk", "classes": "a,b,c", "labels": "1,2,3", "size": 64,
                          "epochs": 3, "batch": 2, "lr": 0.001, "wd": 0.0001, "schedule": "poly", "warmup": 0,
                          "base": 8, "depth": 3, "upsample": "bilinear", "val-fraction": 0.25, "val-list": "v.txt",
                          "seed": 7, "augment": False, "rotate": 10, "hflip": True, "brightness": 0.1,
                          "contrast": 0.2, "gamma": 0.2, "ce-weight": 1, "dice-weight": 0.5, "time-limit": 1.5,
                          "resume": "r/last.safetensors", "threads": 2, "final-eval": False, "quiet": True},
        "stored.json": {"epochs": 50, "batch": 8, "lr": 0.001, "wd": 0.0001, "schedule": "cosine", "warmup": 1,
                        "augment": True, "rotate": 15, "hflip": True, "brightness": 0.1, "contrast": 0.2,
                        "gamma": 0.2, "ce-weight": 1, "dice-weight": 1, "seed": 42, "val-fraction": 0.2},
    }
    for name, c in cfgs.items():
        out("train_config", name, json.dumps(c, indent=1).encode())
    out("train_config", "bad_type.json", b'{"epochs": "forty", "classes": [1, {"x": 2}]}')
    out("train_config", "syntax.json", b'{"epochs": 40,\n "lr": 1e-3,\n "augment": tru}')
    out("train_config", "unicode.json", '{"classes": ["n\u00e9rve", "v\\u00e9ssel"], "out": "r\\u0000x"}'.encode())
    csvs = {
        "simple.csv": "id,age,sex,vas\n1,54,F,6.5\n2,61,M,NA\n3,47,F,3\n",
        "quoted.csv": 'name,note,score\r\n"Smith, J","said ""ok""",1e3\r\n"","",\r\n\r\nx,"multi\nline",-0.5\r\n',
        "bom.csv": "\ufeffgroup,value\na,1\nb,2\na,\n\nb,inf\n",
        "ragged.csv": "a,b\n1,2,3\n",
        "numeric.csv": "x,y,g\n" + "".join("%d,%.3f,%s\n" % (i, i * 0.37 - 2, "abc"[i % 3]) for i in range(30)),
    }
    for name, t in csvs.items():
        out("csv", name, t.encode())


def main():
    with tempfile.TemporaryDirectory() as tmp:
        make_png()
        n = make_dicom_seeds(tmp)
        make_j2k(tmp)
        make_safetensors(tmp)
        make_text()
    for t in ("png", "jpeg", "dicom_pixel", "safetensors", "train_config", "csv", "dicom"):
        d = os.path.join(CORPUS, t)
        files = os.listdir(d)
        print("%-13s %3d files, %6d bytes" % (t, len(files), sum(os.path.getsize(os.path.join(d, f)) for f in files)))
    print("(%d compressed DICOM files made by gdcmconv)" % n)


if __name__ == "__main__":
    sys.exit(main())
