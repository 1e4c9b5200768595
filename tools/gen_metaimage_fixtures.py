#!/usr/bin/python3
"""Write the MetaImage test fixtures in tests/fixtures/metaimage/ (run by hand, never by CI).

Usage:  /usr/bin/python3 tools/gen_metaimage_fixtures.py [DATA_DIR]

Needs python3-numpy (Debian); zlib from the standard library. The files are
written byte by byte here, independently of dolor's writer, following the
MetaIO conventions as ITK writes them (TransformMatrix column-wise: the first
NDims numbers are the direction of index axis 0). expected.txt holds, per
file, what a correct reader must return:

  file <name>
  size <nx ny [nz [nt]]>
  ncomp <c>
  dtype <dolor dtype name>
  spacing <NDims numbers>
  origin <3 numbers, LPS mm>
  direction <9 numbers, row-major 3x3, columns = axis directions>
  point <i j k x y z>       physical position of voxel (i, j, k), computed
                            here as origin + sum_a index_a * spacing_a * axis_a
  sum <sum of all element values>
  voxel <i j k t c value>
  end

and, for the real files in DATA_DIR/us3d-phantom, the sizes, spacing and
origin in their headers and the voxel sum of their zlib data decompressed
with Python's zlib.
"""
import os
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "metaimage")

MET = {"uint8": "MET_UCHAR", "int8": "MET_CHAR", "uint16": "MET_USHORT", "int16": "MET_SHORT",
       "uint32": "MET_UINT", "int32": "MET_INT", "uint64": "MET_ULONG_LONG", "int64": "MET_LONG_LONG",
       "float32": "MET_FLOAT", "float64": "MET_DOUBLE"}


def fmt(v):
    return " ".join("%.17g" % float(x) for x in v)


def write_mha(name, arr, spacing, origin, axes, ncomp=1, msb=False, compress=False, csize=True, mhd=None,
              header_size=None, etype=None, extra=""):
    """arr: numpy array shaped (t, z, y, x, c) or fewer leading dims: C order = MetaIO order."""
    nd = len(spacing)
    dims = list(arr.shape[::-1][1:] if ncomp > 1 else arr.shape[::-1])
    dt = arr.dtype.newbyteorder(">" if msb else "<")
    raw = arr.astype(dt).tobytes()
    payload = zlib.compress(raw) if compress else raw
    lines = ["ObjectType = Image", "NDims = %d" % nd, "BinaryData = True",
             "BinaryDataByteOrderMSB = %s" % ("True" if msb else "False"),
             "CompressedData = %s" % ("True" if compress else "False")]
    if compress and csize:
        lines.append("CompressedDataSize = %d" % len(payload))
    tm = []
    for a in range(nd):  # column-wise: axis a's direction
        tm += list(axes[a])
    lines.append("TransformMatrix = " + fmt(tm))
    lines.append("Offset = " + fmt(origin))
    lines.append("CenterOfRotation = " + " ".join(["0"] * nd))
    lines.append("AnatomicalOrientation = RAI")
    lines.append("ElementSpacing = " + fmt(spacing))
    lines.append("DimSize = " + " ".join(str(d) for d in dims))
    if ncomp > 1:
        lines.append("ElementNumberOfChannels = %d" % ncomp)
    if header_size is not None:
        lines.append("HeaderSize = %d" % header_size)
    lines.append("ElementType = %s" % (etype or MET[arr.dtype.name]))
    if extra:
        lines.append(extra)
    if mhd:
        lines.append("ElementDataFile = %s" % mhd)
        with open(os.path.join(OUT, name), "w") as f:
            f.write("\n".join(lines) + "\n")
        pre = b"\x00" * 37 if header_size == -1 else b""
        with open(os.path.join(OUT, mhd), "wb") as f:
            f.write(pre + payload)
    else:
        lines.append("ElementDataFile = LOCAL")
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(("\n".join(lines) + "\n").encode() + payload)


def describe(fp, name, arr, spacing, origin, axes, ncomp=1, voxels=()):
    nd = len(spacing)
    dims = list(arr.shape[::-1][1:] if ncomp > 1 else arr.shape[::-1])
    fp.write("file %s\nsize %s\nncomp %d\ndtype %s\n" % (name, " ".join(map(str, dims)), ncomp, arr.dtype.name))
    fp.write("spacing %s\n" % fmt(spacing))
    o3 = list(origin[:3]) + [0.0] * (3 - min(3, nd))
    fp.write("origin %s\n" % fmt(o3))
    d = np.eye(3)
    for a in range(min(nd, 3)):
        for r in range(min(nd, 3)):
            d[r, a] = axes[a][r]
    fp.write("direction %s\n" % fmt(d.ravel()))
    for ijk in ([1, 0, 0], [0, 1, 0], [0, 0, 1], [2, 1, 1]):
        if nd == 2:
            ijk = ijk[:2] + [0]
        p = np.array(o3, dtype=float)
        for a in range(min(nd, 3)):
            p += ijk[a] * spacing[a] * d[:, a]
        fp.write("point %s %s\n" % (" ".join(map(str, ijk)), fmt(p)))
    fp.write("sum %.17g\n" % float(np.sum(arr.astype(np.float64))))
    for v in voxels:  # (i, j, k, t, c)
        i, j, k, t, c = v
        idx = (t, k, j, i)[4 - nd:]
        val = arr[idx + ((c,) if ncomp > 1 else ())]
        fp.write("voxel %d %d %d %d %d %.17g\n" % (i, j, k, t, c, float(val)))
    fp.write("end\n")


def rotz(deg):
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1.0]])


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data")
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    fp = open(os.path.join(OUT, "expected.txt"), "w")
    fp.write("# written by tools/gen_metaimage_fixtures.py\n")
    # an oblique 3D volume: axis directions are the COLUMNS of R
    R = rotz(30) @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0.0]])
    axes3 = [R[:, 0], R[:, 1], R[:, 2]]
    sp3, or3 = [0.5, 0.75, 2.0], [-10.5, 20.25, 3.125]
    vox = [(0, 0, 0, 0, 0), (4, 3, 2, 0, 0), (1, 2, 1, 0, 0)]
    for dt in MET:
        info = np.iinfo(dt) if dt[0] in "ui" else None
        if info is not None:
            lo, hi = max(info.min, -(2 ** 40)), min(info.max, 2 ** 40)
            arr = rng.integers(lo, hi, size=(3, 4, 5), endpoint=True).astype(dt)
            arr.flat[0] = info.min
            arr.flat[1] = info.max if info.max < 2 ** 53 else 2 ** 53
        else:
            arr = (rng.standard_normal((3, 4, 5)) * 1000).astype(dt)
        name = "t_%s.mha" % dt
        write_mha(name, arr, sp3, or3, axes3)
        describe(fp, name, arr, sp3, or3, axes3, voxels=vox)
    arr = rng.integers(-3000, 3000, size=(3, 4, 5)).astype(np.int16)
    write_mha("msb_int16.mha", arr, sp3, or3, axes3, msb=True)
    describe(fp, "msb_int16.mha", arr, sp3, or3, axes3, voxels=vox)
    write_mha("zlib_float32.mha", arr.astype(np.float32) / 7, sp3, or3, axes3, compress=True)
    describe(fp, "zlib_float32.mha", arr.astype(np.float32) / 7, sp3, or3, axes3, voxels=vox)
    write_mha("zlib_nosize.mha", arr, sp3, or3, axes3, compress=True, csize=False)
    describe(fp, "zlib_nosize.mha", arr, sp3, or3, axes3, voxels=vox)
    write_mha("pair.mhd", arr, sp3, or3, axes3, mhd="pair.raw")
    describe(fp, "pair.mhd", arr, sp3, or3, axes3, voxels=vox)
    write_mha("pairz.mhd", arr, sp3, or3, axes3, mhd="pairz.zraw", compress=True)
    describe(fp, "pairz.mhd", arr, sp3, or3, axes3, voxels=vox)
    write_mha("tail.mhd", arr, sp3, or3, axes3, mhd="tail.raw", header_size=-1)
    describe(fp, "tail.mhd", arr, sp3, or3, axes3, voxels=vox)
    # 2D with a rotation in the plane
    R2 = np.array([[0.6, -0.8], [0.8, 0.6]])
    arr2 = rng.integers(0, 255, size=(6, 7)).astype(np.uint8)
    axes2 = [R2[:, 0], R2[:, 1]]
    write_mha("slice2d.mha", arr2, [0.3, 0.4], [5.0, -6.0], axes2)
    describe(fp, "slice2d.mha", arr2, [0.3, 0.4], [5.0, -6.0], axes2, voxels=[(6, 5, 0, 0, 0), (1, 2, 0, 0, 0)])
    # 4D (frames)
    arr4 = rng.integers(0, 1000, size=(2, 3, 4, 5)).astype(np.uint16)
    axes4 = [list(axes3[0]) + [0], list(axes3[1]) + [0], list(axes3[2]) + [0], [0, 0, 0, 1]]
    write_mha("vol4d.mha", arr4, sp3 + [40.0], or3 + [0.0], axes4)
    describe(fp, "vol4d.mha", arr4, sp3 + [40.0], or3 + [0.0], axes4, voxels=[(4, 3, 2, 1, 0), (0, 1, 2, 1, 0)])
    # RGB channels
    arr3c = rng.integers(0, 255, size=(4, 5, 3)).astype(np.uint8)
    write_mha("rgb2d.mha", arr3c, [1.0, 1.0], [0.0, 0.0], [[1, 0], [0, 1]], ncomp=3, compress=True)
    describe(fp, "rgb2d.mha", arr3c, [1.0, 1.0], [0.0, 0.0], [[1, 0], [0, 1]], ncomp=3,
             voxels=[(4, 3, 0, 0, 2), (1, 2, 0, 0, 1)])
    # PLUS-like sequence with per-frame fields and Kinds
    seq = rng.integers(0, 255, size=(3, 4, 6)).astype(np.uint8)
    extra = "\n".join("Seq_Frame%04d_ProbeToTrackerTransform = 1 0 0 %d 0 1 0 0 0 0 1 0 0 0 0 1\n"
                      "Seq_Frame%04d_Timestamp = %.3f\nSeq_Frame%04d_ImageStatus = OK" % (f, f, f, f * 0.1, f)
                      for f in range(3))
    write_mha("plus_seq.igs.mha", seq, [1.0, 1.0, 1.0], [0, 0, 0], [[1, 0, 0], [0, 1, 0], [0, 0, 1]], compress=True,
              extra="Kinds = domain domain list\nUltrasoundImageOrientation = MF\n" + extra)
    describe(fp, "plus_seq.igs.mha", seq, [1.0, 1.0, 1.0], [0, 0, 0], [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
             voxels=[(5, 3, 2, 0, 0)])
    # truncated and corrupt data (error tests)
    write_mha("truncated.mha", arr, sp3, or3, axes3)
    b = open(os.path.join(OUT, "truncated.mha"), "rb").read()
    open(os.path.join(OUT, "truncated.mha"), "wb").write(b[:-10])
    write_mha("corrupt_zlib.mha", arr, sp3, or3, axes3, compress=True)
    b = bytearray(open(os.path.join(OUT, "corrupt_zlib.mha"), "rb").read())
    b[-20:-12] = b"\xff" * 8
    open(os.path.join(OUT, "corrupt_zlib.mha"), "wb").write(bytes(b))
    fp.close()

    with open(os.path.join(OUT, "us3d_expected.txt"), "w") as f:
        f.write("# header values and Python-zlib voxel sums of DATA/us3d-phantom (gen_metaimage_fixtures.py)\n")
        for fn in ("SpinePhantomFreehandReconstructed.mha", "BoneUltrasound_L14.igs.mha"):
            raw = open(os.path.join(data, "us3d-phantom", fn), "rb").read()
            i = raw.index(b"ElementDataFile = LOCAL")
            j = raw.index(b"\n", i) + 1
            hdr = dict(l.split(" = ", 1) for l in raw[:i].decode().splitlines() if " = " in l)
            vox = zlib.decompress(raw[j:])
            f.write("file us3d-phantom/%s\n" % fn)
            f.write("size %s\n" % hdr["DimSize"].strip())
            f.write("spacing %s\n" % hdr["ElementSpacing"].strip())
            f.write("origin %s\n" % hdr["Offset"].strip())
            f.write("sum %d\n" % sum(vox))
            f.write("end\n")


if __name__ == "__main__":
    main()
