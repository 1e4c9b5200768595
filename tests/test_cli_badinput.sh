#!/usr/bin/env bash
# Bad-input matrix for the dolor CLI (issue 7, item 6).
#
# One table: every row is  id | make | code | needle | command.
#   make     a mk_* function below that builds the bad input under $I (built once, reused)
#   code     the exit code dolor must give: 2 bad input, 1 runtime failure (I/O)
#   needle   text the message must contain: the file or option at fault
#   command  the dolor command line (eval'ed; $BIN, $I input folder, $O output folder)
# DOLOR_BADINPUT_SHOW=1 prints each case's exit code and first error line.
# For every row the test also checks that nothing under $O (which holds earlier, good
# outputs that the failing commands point at) was created, removed or modified: names,
# sizes, inodes, mtimes and ctimes before and after each row, checksums of every file
# before and after the whole table. A crash or a sanitizer report fails the row.
# Bad inputs are generated here: phantom images from `dolor phantom`, NIfTI files from
# `dolor convert` patched with dd, PNG headers re-sized with a recomputed CRC, the committed
# tiny JPEG fixture cut or re-sized, safetensors and CSV files written with printf, and a
# small DICOM file of $DOLOR_DATA (those rows are skipped without the data).
set -u
BIN=${DOLOR_BIN:-./dolor}
SRC=${DOLOR_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
DATA=${DOLOR_DATA:-$SRC/../shared/data}
T=$(mktemp -d /tmp/dolor_badinput_XXXXXX)
trap 'umount "$T/out/ro" 2>/dev/null; rm -rf "$T"' EXIT
I=$T/in
O=$T/out
mkdir -p "$I" "$O"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# ---------------------------------------------------------------- helpers
# patch FILE OFFSET HEX...: overwrite bytes in place (hex pairs, e.g. 00 00 c0 7f)
patch() {
  local f=$1 off=$2 esc=""
  shift 2
  for b in "$@"; do esc+="\\x$b"; done
  printf "$esc" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
NAN32="00 00 c0 7f"
INF32="00 00 80 7f"
VOX=352 # vox_offset of the NIfTI-1 files dolor writes (checked below)

# pngdims SRC WIDTH HEIGHT (8 hex digits each) > OUT: SRC with another size in its IHDR chunk, with
# a valid CRC (gzip's trailer holds the same CRC-32 as PNG chunks, little-endian)
pngdims() {
  local h=$2$3 f
  f=$(mktemp "$T/ihdr.XXXXXX")
  printf "IHDR\\x${h:0:2}\\x${h:2:2}\\x${h:4:2}\\x${h:6:2}\\x${h:8:2}\\x${h:10:2}\\x${h:12:2}\\x${h:14:2}" >"$f"
  tail -c +25 "$1" | head -c 5 >>"$f" # bit depth, colour type, compression, filter, interlace
  local crc
  crc=$(gzip -c <"$f" | tail -c8 | head -c4 | od -An -tx1 | tr -d ' \n')
  { head -c 12 "$1"; cat "$f"; printf "\\x${crc:6:2}\\x${crc:4:2}\\x${crc:2:2}\\x${crc:0:2}"; tail -c +34 "$1"; }
  rm -f "$f"
}
# a copy of the phantom set with case 0003 renamed bad7 (so messages can be matched)
mkds() {
  local d=$I/$1
  rm -rf "$d"
  cp -r "$I/ph" "$d"
  mv "$d/images/0003.png" "$d/images/bad7.png"
  mv "$d/masks/0003.png" "$d/masks/bad7.png"
}
# eval folders: pred/ and truth/ both copies of the phantom masks, case 0003 named bad7
mkev() {
  local d=$I/$1
  rm -rf "$d"
  mkdir -p "$d"
  cp -r "$I/ph/masks" "$d/pred"
  cp -r "$I/ph/masks" "$d/truth"
  mv "$d/pred/0003.png" "$d/pred/bad7.png"
  mv "$d/truth/0003.png" "$d/truth/bad7.png"
}

# ---------------------------------------------------------------- base inputs (good)
"$BIN" phantom -o "$I/ph" -n 8 --size 64 --seed 3 >/dev/null 2>&1 || { echo "phantom failed"; exit 1; }
"$BIN" phantom -o "$I/other" -n 1 --size 96 --seed 9 >/dev/null 2>&1 || { echo "phantom --size 96 failed"; exit 1; }
"$BIN" convert "$I/ph/images/0000.png" "$I/f.nii" --dtype float32 -q || { echo "convert to float NIfTI failed"; exit 1; }
"$BIN" convert "$I/ph/masks/0000.png" "$I/m.nii" -q || { echo "convert mask to NIfTI failed"; exit 1; }
"$BIN" convert "$I/ph/masks/0000.png" "$I/mf.nii" --dtype float32 -q || { echo "convert mask to float failed"; exit 1; }
# the patches below assume dolor's NIfTI-1 layout: 348-byte header, data at byte 352, 64x64
[[ $(od -An -tu2 -j42 -N4 "$I/f.nii" | tr -s ' ') == " 64 64" && $(od -An -tf4 -j108 -N4 "$I/f.nii" | tr -d ' ') == 352 ]] &&
  ok || bad "unexpected NIfTI layout from dolor convert"
[[ $(od -An -tu2 -j70 -N2 "$I/m.nii" | tr -d ' ') == 2 ]] && ok || bad "mask NIfTI is not uint8"
pngdims "$I/ph/images/0000.png" 00000040 00000040 | cmp -s - "$I/ph/images/0000.png" && ok ||
  bad "pngdims does not rebuild a 64x64 PNG byte for byte (IHDR CRC)"
TA="--classes nerve,vessel --labels 1,2 --size 32 --base 4 --depth 2 --epochs 1 --batch 4 --quiet --no-final-eval"
# shellcheck disable=SC2086
"$BIN" train --data "$I/ph" $TA -o "$I/run" >"$T/train.log" 2>&1 || { echo "train failed: $(tail -3 "$T/train.log")"; exit 1; }
M=$I/run/best.safetensors
printf 'id,arm,y,a,b,r1,r2,truth,score\n' >"$I/good.csv"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
  printf '%d,%s,%d.5,%d,%d,%d,%d,%d,%d.25\n' $i $([[ $((i % 2)) == 0 ]] && echo A || echo B) $((i * 3 % 7)) $i $((i + i % 3)) \
    $((i % 3 + 1)) $(((i + i / 4) % 3 + 1)) $((i % 2)) $((i * 5 % 11)) >>"$I/good.csv"
done
# a cell of the good table replaced: csvcell NAME VALUE (row 5, column y)
csvcell() { awk -F, -v OFS=, -v v="$2" -v c="$3" 'NR == 6 { $c = v } { print }' "$I/good.csv" >"$I/$1"; }

# ---------------------------------------------------------------- earlier good outputs under $O
: >"$O/afile"                                   # a regular file: any path below it is not a folder
mkdir -p "$O/adir.nii" "$O/adir.csv"           # folders where an output file would go
cp -r "$I/run" "$O/run"                         # a finished training run
"$BIN" predict --model "$M" "$I/ph/images/0000.png" "$I/ph/images/0001.png" -o "$O/pred" >/dev/null 2>&1 ||
  bad "predict of good images failed"
"$BIN" eval --pred "$I/ph/masks" --truth "$I/ph/masks" -o "$O/ev" -q >/dev/null 2>&1 || bad "eval of good folders failed"
"$BIN" convert "$I/ph/images/0000.png" "$O/existing.nii" -q || bad "convert of a good image failed"
"$BIN" convert "$I/ph/images/0000.png" "$O/slices/" -q || bad "convert to slices failed"
"$BIN" stats table "$I/good.csv" --group arm --vars y:c,a:c --format csv --out "$O/table.csv" >/dev/null 2>&1 ||
  bad "stats table of a good table failed"
"$BIN" stats roc "$I/good.csv" --truth truth --score score --curve "$O/curve.csv" >/dev/null 2>&1 ||
  bad "stats roc of a good table failed"
for f in run/best.safetensors run/split.csv pred/0000.png pred/labels.txt ev/summary.csv existing.nii \
  slices/slice_0000.png table.csv curve.csv; do
  [[ -s "$O/$f" ]] && ok || bad "setup did not write $O/$f"
done

# ---------------------------------------------------------------- makers of bad inputs
mk_none() { :; }
# a read-only file system holding an earlier prediction (root ignores permission bits, not a ro mount);
# 77 = skip the rows that need it where mounting is not allowed
mk_ro() {
  mkdir -p "$O/ro" && mount -t tmpfs -o size=4m dolor_ro "$O/ro" 2>/dev/null || { rmdir "$O/ro"; return 77; }
  cp -r "$O/pred" "$O/ro/pred" && mount -o remount,ro "$O/ro" || return 77
}
mk_trunc_png() { head -c 300 "$I/ph/images/0000.png" >"$I/trunc.png"; }
mk_zero_png() { : >"$I/zero.png"; }
mk_big_png() { pngdims "$I/ph/images/0000.png" 00004e20 00004e20 >"$I/big.png"; }       # 20000 x 20000
mk_huge_png() { pngdims "$I/ph/images/0000.png" 7fffffff 00000040 >"$I/huge.png"; }      # 2^31-1 wide
# JPEG: the committed 787-byte fixture, cut off or with a 60000 x 60000 SOF0 header
mk_trunc_jpg() { head -c 700 "$SRC/tests/fixtures/png/tiny.jpg" >"$I/trunc.jpg"; }
mk_big_jpg() {
  local f=$SRC/tests/fixtures/png/tiny.jpg off
  off=$(LC_ALL=C grep -obUaP '\xff\xc0' "$f" | head -1 | cut -d: -f1)
  [[ -n "$off" ]] || return 1
  cp "$f" "$I/big.jpg" && patch "$I/big.jpg" $((off + 5)) ea 60 ea 60
}
# DICOM: a small MR file of the shared data (77: skip where the data is absent), cut off, emptied, or
# with Rows and Columns (0028,0010/0011, explicit VR little endian) set to 20000
DCM=$DATA/formats/dicom/pydicom/MR_small.dcm
mk_trunc_dcm() { [[ -r "$DCM" ]] || return 77; head -c 5000 "$DCM" >"$I/trunc.dcm"; }
mk_zero_dcm() { : >"$I/zero.dcm"; }
mk_big_dcm() {
  [[ -r "$DCM" ]] || return 77
  cp "$DCM" "$I/big.dcm" || return 1
  local el off
  for el in '\x10' '\x11'; do
    off=$(LC_ALL=C grep -obUaP "\x28\x00$el\x00US\x02\x00" "$I/big.dcm" | head -1 | cut -d: -f1)
    [[ -n "$off" ]] || return 1
    patch "$I/big.dcm" $((off + 8)) 20 4e
  done
}
mk_trunc_nii() { head -c 2000 "$I/f.nii" >"$I/trunc.nii"; }
mk_zero_nii() { : >"$I/zero.nii"; }
mk_trunc_hdr() { head -c 200 "$I/f.nii" >"$I/shorthdr.nii"; }
mk_big_nii() { cp "$I/f.nii" "$I/big.nii" && patch "$I/big.nii" 42 30 75 30 75; }   # 30000 x 30000
mk_huge_nii() {                                                                    # 7 dims of 32767
  cp "$I/f.nii" "$I/huge.nii" && patch "$I/huge.nii" 40 07 00 ff 7f ff 7f ff 7f ff 7f ff 7f ff 7f ff 7f
}
mk_negdim_nii() { cp "$I/f.nii" "$I/negdim.nii" && patch "$I/negdim.nii" 42 00 80; } # dim[1] = -32768
mk_3d_nii() { # 64 x 64 x 2: a volume where 2D images are expected
  { cat "$I/f.nii"; tail -c +$((VOX + 1)) "$I/f.nii"; } >"$I/vol3d.nii" && patch "$I/vol3d.nii" 40 03 00 && patch "$I/vol3d.nii" 46 02 00
}
mk_nan_nii() { cp "$I/f.nii" "$I/nan.nii" && patch "$I/nan.nii" $((VOX + 4 * (64 * 20 + 30))) $NAN32; }
mk_inf_nii() { cp "$I/f.nii" "$I/inf.nii" && patch "$I/inf.nii" $((VOX + 4 * (64 * 40 + 5))) $INF32; }
mk_nanpix_nii() { cp "$I/f.nii" "$I/nanpix.nii" && patch "$I/nanpix.nii" 80 $NAN32; }   # pixdim[1]
mk_trunc_mha() {
  "$BIN" convert "$I/ph/images/0000.png" "$I/full.mha" --no-compress -q && head -c 1500 "$I/full.mha" >"$I/trunc.mha"
}
mk_big_mha() {
  printf 'ObjectType = Image\nNDims = 2\nDimSize = 2000000000 2000000000\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n' \
    >"$I/big.mha"
  head -c 64 /dev/zero >>"$I/big.mha"
}
mk_trunc_ckpt() { head -c 2000 "$M" >"$I/trunc.safetensors"; }
mk_zero_ckpt() { : >"$I/zero.safetensors"; }
mk_bighdr_ckpt() { printf '\xff\xff\xff\xff\xff\xff\x00\x00{"a":1}' >"$I/bighdr.safetensors"; }
mk_badjson_ckpt() { printf '\x10\x00\x00\x00\x00\x00\x00\x00{"a": [1, 2, 3 }' >"$I/badjson.safetensors"; } # 16-byte header
mk_dup_pred_in() { mkdir -p "$I/dup" && cp "$I/ph/images/0000.png" "$I/dup/a.png" && cp "$I/f.nii" "$I/dup/a.nii"; }
mk_late_bad() { # a folder whose last image (by name) is truncated
  mkdir -p "$I/late" && cp "$I/ph/images/0000.png" "$I/ph/images/0001.png" "$I/late/" &&
    head -c 300 "$I/ph/images/0002.png" >"$I/late/zz_last.png"
}
mk_late_nan() { mkdir -p "$I/latenan" && cp "$I/ph/images/0000.png" "$I/latenan/" && mk_nan_nii && cp "$I/nan.nii" "$I/latenan/zz_nan.nii"; }
# datasets for train
mk_ds_trunc_img() { mkds ds_trunc_img && head -c 300 "$I/ph/images/0003.png" >"$I/ds_trunc_img/images/bad7.png"; }
mk_ds_trunc_mask() { mkds ds_trunc_mask && head -c 100 "$I/ph/masks/0003.png" >"$I/ds_trunc_mask/masks/bad7.png"; }
mk_ds_zero_img() { mkds ds_zero_img && : >"$I/ds_zero_img/images/bad7.png"; }
mk_ds_zero_mask() { mkds ds_zero_mask && : >"$I/ds_zero_mask/masks/bad7.png"; }
mk_ds_big_png() { mkds ds_big_png && mk_big_png && cp "$I/big.png" "$I/ds_big_png/images/bad7.png"; }
mk_ds_big_jpg() { mkds ds_big_jpg && mk_big_jpg && rm "$I/ds_big_jpg/images/bad7.png" && cp "$I/big.jpg" "$I/ds_big_jpg/images/bad7.jpg"; }
mk_ds_big_img() { mkds ds_big_img && mk_big_nii && rm "$I/ds_big_img/images/bad7.png" && cp "$I/big.nii" "$I/ds_big_img/images/bad7.nii"; }
mk_ds_3d_img() { mkds ds_3d_img && mk_3d_nii && rm "$I/ds_3d_img/images/bad7.png" && cp "$I/vol3d.nii" "$I/ds_3d_img/images/bad7.nii"; }
mk_ds_nan_img() { mkds ds_nan_img && mk_nan_nii && rm "$I/ds_nan_img/images/bad7.png" && cp "$I/nan.nii" "$I/ds_nan_img/images/bad7.nii"; }
mk_ds_inf_img() { mkds ds_inf_img && mk_inf_nii && rm "$I/ds_inf_img/images/bad7.png" && cp "$I/inf.nii" "$I/ds_inf_img/images/bad7.nii"; }
mk_ds_nanpix_img() {
  mkds ds_nanpix_img && mk_nanpix_nii && rm "$I/ds_nanpix_img/images/bad7.png" && cp "$I/nanpix.nii" "$I/ds_nanpix_img/images/bad7.nii"
}
mk_ds_nan_mask() {
  mkds ds_nan_mask && rm "$I/ds_nan_mask/masks/bad7.png" && cp "$I/mf.nii" "$I/ds_nan_mask/masks/bad7.nii" &&
    patch "$I/ds_nan_mask/masks/bad7.nii" $((VOX + 4 * 100)) $NAN32
}
mk_ds_size() { mkds ds_size && cp "$I/other/masks/0000.png" "$I/ds_size/masks/bad7.png"; }
mk_ds_label() { # one pixel of value 7 in the mask of case bad7
  mkds ds_label && rm "$I/ds_label/masks/bad7.png" && cp "$I/m.nii" "$I/ds_label/masks/bad7.nii" &&
    patch "$I/ds_label/masks/bad7.nii" $((VOX + 64 * 10 + 10)) 07
}
mk_ds_dup_img() { mkds ds_dup_img && cp "$I/f.nii" "$I/ds_dup_img/images/bad7.nii"; }
mk_ds_dup_mask() { mkds ds_dup_mask && cp "$I/m.nii" "$I/ds_dup_mask/masks/bad7.nii"; }
mk_cfg_trunc() { printf '{"epochs": 1, "lr": ' >"$I/trunc.json"; }
mk_cfg_zero() { : >"$I/zero.json"; }
mk_cfg_inf() { printf '{"lr": 1e999}' >"$I/inf.json"; }
mk_cfg_nan() { printf '{"lr": NaN}' >"$I/nan.json"; }
mk_vallist() { printf '0000\nnosuchcase\n' >"$I/val.txt"; }
mk_labeldesc_zero() { : >"$I/labels.txt"; }
# eval folders
mk_ev_trunc() { mkev ev_trunc && head -c 100 "$I/ph/masks/0003.png" >"$I/ev_trunc/pred/bad7.png"; }
mk_ev_zero() { mkev ev_zero && : >"$I/ev_zero/truth/bad7.png"; }
mk_ev_size() { mkev ev_size && cp "$I/other/masks/0000.png" "$I/ev_size/pred/bad7.png"; }
mk_ev_big_png() { mkev ev_big_png && pngdims "$I/ph/masks/0003.png" 00004e20 00004e20 >"$I/ev_big_png/truth/bad7.png"; }
mk_ev_big() { mkev ev_big && mk_big_nii && rm "$I/ev_big/pred/bad7.png" && cp "$I/big.nii" "$I/ev_big/pred/bad7.nii"; }
mk_ev_nan() {
  mkev ev_nan && rm "$I/ev_nan/pred/bad7.png" && cp "$I/mf.nii" "$I/ev_nan/pred/bad7.nii" &&
    patch "$I/ev_nan/pred/bad7.nii" $((VOX + 4 * 300)) $NAN32
}
mk_ev_inf() {
  mkev ev_inf && rm "$I/ev_inf/truth/bad7.png" && cp "$I/mf.nii" "$I/ev_inf/truth/bad7.nii" &&
    patch "$I/ev_inf/truth/bad7.nii" $((VOX + 4 * 300)) $INF32
}
mk_ev_frac() { # a float label map with the value 1.5
  mkev ev_frac && rm "$I/ev_frac/pred/bad7.png" && cp "$I/mf.nii" "$I/ev_frac/pred/bad7.nii" &&
    patch "$I/ev_frac/pred/bad7.nii" $((VOX + 4 * 300)) 00 00 c0 3f
}
mk_ev_dup() { mkev ev_dup && cp "$I/m.nii" "$I/ev_dup/pred/bad7.nii"; }
mk_ev_missing() { mkev ev_missing && rm "$I/ev_missing/pred/bad7.png"; }
# CSV tables
mk_csv_nan() { csvcell nan.csv NaN 3; }
mk_csv_inf() { csvcell inf.csv Inf 3; }
mk_csv_ninf() { csvcell ninf.csv -inf 4; }
mk_csv_overflow() { csvcell overflow.csv 1e999 3; }
mk_csv_text() { csvcell text.csv 12.5kg 3; }
mk_csv_nan_rater() { csvcell nanrater.csv nan 6; }
mk_csv_inf_score() { csvcell infscore.csv inf 9; }
mk_csv_nan_truth() { csvcell nantruth.csv NaN 8; }
mk_csv_zero() { : >"$I/zero.csv"; }
mk_csv_quote() { head -4 "$I/good.csv" >"$I/quote.csv" && printf '5,"A,2.5,1,1,1,1,0,1\n' >>"$I/quote.csv"; }
mk_csv_ragged() { head -4 "$I/good.csv" >"$I/ragged.csv" && printf '5,A,2.5,1,1,1,1,0,1,99\n' >>"$I/ragged.csv"; }

# ---------------------------------------------------------------- the table
# id | make | code | needle | command
CASES=$(cat <<'EOF'
tr_trunc_img    | mk_ds_trunc_img   | 2 | images/bad7.png     | train --data $I/ds_trunc_img $TA -o $O/tr_new
tr_trunc_mask   | mk_ds_trunc_mask  | 2 | masks/bad7.png      | train --data $I/ds_trunc_mask $TA -o $O/tr_new
tr_zero_img     | mk_ds_zero_img    | 2 | images/bad7.png     | train --data $I/ds_zero_img $TA -o $O/tr_new
tr_zero_mask    | mk_ds_zero_mask   | 2 | masks/bad7.png      | train --data $I/ds_zero_mask $TA -o $O/run
tr_big_png      | mk_ds_big_png     | 2 | images/bad7.png     | train --data $I/ds_big_png $TA -o $O/run
tr_big_jpg      | mk_ds_big_jpg     | 2 | images/bad7.jpg     | train --data $I/ds_big_jpg $TA -o $O/tr_new
tr_big_dims     | mk_ds_big_img     | 2 | images/bad7.nii     | train --data $I/ds_big_img $TA -o $O/tr_new
tr_3d_image     | mk_ds_3d_img      | 2 | images/bad7.nii     | train --data $I/ds_3d_img $TA -o $O/tr_new
tr_nan_voxel    | mk_ds_nan_img     | 2 | images/bad7.nii     | train --data $I/ds_nan_img $TA -o $O/tr_new
tr_inf_voxel    | mk_ds_inf_img     | 2 | images/bad7.nii     | train --data $I/ds_inf_img $TA -o $O/run
tr_nan_pixdim   | mk_ds_nanpix_img  | 2 | images/bad7.nii     | train --data $I/ds_nanpix_img $TA -o $O/tr_new
tr_nan_mask     | mk_ds_nan_mask    | 2 | masks/bad7.nii      | train --data $I/ds_nan_mask $TA -o $O/tr_new
tr_mask_size    | mk_ds_size        | 2 | masks/bad7.png      | train --data $I/ds_size $TA -o $O/run
tr_label_value  | mk_ds_label       | 2 | masks/bad7.nii      | train --data $I/ds_label $TA -o $O/tr_new
tr_label_list   | mk_none           | 2 | masks/0000.png: label value 2 | train --data $I/ph --classes nerve --labels 1 --size 32 --depth 2 --epochs 1 -o $O/tr_new
tr_dup_images   | mk_ds_dup_img     | 2 | images/bad7.nii     | train --data $I/ds_dup_img $TA -o $O/tr_new
tr_dup_masks    | mk_ds_dup_mask    | 2 | masks/bad7.nii      | train --data $I/ds_dup_mask $TA -o $O/run
tr_out_notdir   | mk_none           | 1 | afile               | train --data $I/ph $TA -o $O/afile/run
tr_out_readonly | mk_ro             | 1 | ro/run              | train --data $I/ph $TA -o $O/ro/run
tr_unknown_opt  | mk_none           | 2 | --epoch             | train --data $I/ph --classes nerve,vessel -o $O/tr_new --epoch 3
tr_epochs_text  | mk_none           | 2 | --epochs            | train --data $I/ph --classes nerve,vessel -o $O/tr_new --epochs abc
tr_batch_frac   | mk_none           | 2 | --batch             | train --data $I/ph --classes nerve,vessel -o $O/tr_new --batch 1.5
tr_lr_text      | mk_none           | 2 | --lr                | train --data $I/ph --classes nerve,vessel -o $O/tr_new --lr fast
tr_lr_nan       | mk_none           | 2 | --lr                | train --data $I/ph --classes nerve,vessel -o $O/run --lr nan
tr_wd_inf       | mk_none           | 2 | --wd                | train --data $I/ph --classes nerve,vessel -o $O/tr_new --wd inf
tr_labels_text  | mk_none           | 2 | --labels            | train --data $I/ph --classes nerve,vessel --labels 1,x -o $O/tr_new
tr_size_text    | mk_none           | 2 | --size              | train --data $I/ph --classes nerve,vessel --size 6x4 -o $O/tr_new
tr_arch_unknown | mk_none           | 2 | 'foo' is not in the registry | train --data $I/ph --classes nerve,vessel -o $O/tr_new --arch foo
tr_arch_classif | mk_none           | 2 | does not segment    | train --data $I/ph --classes nerve,vessel -o $O/tr_new --arch resnet
tr_arch_unet_op | mk_none           | 2 | unet options        | train --data $I/ph --classes nerve,vessel -o $O/tr_new --arch resnet --base 8
tr_arch_opt_key | mk_none           | 2 | unknown key "bogus" | train --data $I/ph --classes nerve,vessel -o $O/tr_new --arch-opt bogus=3
tr_arch_opt_kv  | mk_none           | 2 | not KEY=VALUE       | train --data $I/ph --classes nerve,vessel -o $O/tr_new --arch-opt depth
tr_arch_opt_cls | mk_none           | 2 | come from the data  | train --data $I/ph --classes nerve,vessel -o $O/tr_new --arch-opt num_classes=4
tr_arch_resume  | mk_none           | 2 | --arch resnet differs | train --data $I/ph -o $O/run --resume $O/run/last.safetensors --epochs 2 --arch resnet
tr_aopt_resume  | mk_none           | 2 | base_channels=8 differs | train --data $I/ph -o $O/run --resume $O/run/last.safetensors --epochs 2 --arch-opt base_channels=8
tr_init_arch    | mk_none           | 2 | gives the model     | train --data $I/ph -o $O/tr_new --init $O/run/best.safetensors --arch unet
tr_init_classes | mk_none           | 2 | --classes gives 1   | train --data $I/ph -o $O/tr_new --init $O/run/best.safetensors --classes nerve
tr_init_trunc   | mk_trunc_ckpt     | 2 | trunc.safetensors   | train --data $I/ph -o $O/tr_new --init $I/trunc.safetensors
tr_cfg_trunc    | mk_cfg_trunc      | 2 | trunc.json          | train --data $I/ph -o $O/tr_new --config $I/trunc.json
tr_cfg_zero     | mk_cfg_zero       | 2 | zero.json           | train --data $I/ph -o $O/tr_new --config $I/zero.json
tr_cfg_inf      | mk_cfg_inf        | 2 | inf.json: --lr      | train --data $I/ph --classes nerve -o $O/tr_new --config $I/inf.json
tr_cfg_nan      | mk_cfg_nan        | 2 | nan.json            | train --data $I/ph --classes nerve -o $O/tr_new --config $I/nan.json
tr_val_list     | mk_vallist        | 2 | val.txt             | train --data $I/ph $TA --val-list $I/val.txt -o $O/tr_new
tr_label_desc   | mk_labeldesc_zero | 2 | labels.txt          | train --data $I/ph --label-desc $I/labels.txt -o $O/tr_new
tr_resume_trunc | mk_trunc_ckpt     | 2 | trunc.safetensors   | train --data $I/ph -o $O/run --resume $I/trunc.safetensors --epochs 2
tr_resume_zero  | mk_zero_ckpt      | 2 | zero.safetensors    | train --data $I/ph -o $O/run --resume $I/zero.safetensors --epochs 2
pr_trunc_img    | mk_trunc_png      | 2 | trunc.png           | predict --model $M $I/trunc.png -o $O/pr_new
pr_zero_img     | mk_zero_png       | 2 | zero.png            | predict --model $M $I/zero.png -o $O/pred
pr_trunc_nii    | mk_trunc_nii      | 2 | trunc.nii           | predict --model $M $I/trunc.nii -o $O/pr_new
pr_big_png      | mk_big_png        | 2 | big.png             | predict --model $M $I/big.png -o $O/pred
pr_huge_png     | mk_huge_png       | 2 | huge.png            | predict --model $M $I/huge.png -o $O/pr_new
pr_trunc_jpg    | mk_trunc_jpg      | 2 | trunc.jpg           | predict --model $M $I/trunc.jpg -o $O/pred
pr_big_jpg      | mk_big_jpg        | 2 | big.jpg             | predict --model $M $I/big.jpg -o $O/pr_new
pr_trunc_dcm    | mk_trunc_dcm      | 2 | trunc.dcm           | predict --model $M $I/trunc.dcm -o $O/pred
pr_big_dims     | mk_big_nii        | 2 | big.nii             | predict --model $M $I/big.nii -o $O/pr_new
pr_huge_dims    | mk_huge_nii       | 2 | huge.nii            | predict --model $M $I/huge.nii -o $O/pred
pr_3d_image     | mk_3d_nii         | 2 | vol3d.nii           | predict --model $M $I/ph/images/0000.png $I/vol3d.nii -o $O/pred
pr_nan_voxel    | mk_nan_nii        | 2 | nan.nii             | predict --model $M $I/nan.nii -o $O/pr_new
pr_inf_voxel    | mk_inf_nii        | 2 | inf.nii             | predict --model $M $I/inf.nii -o $O/pred
pr_late_trunc   | mk_late_bad       | 2 | zz_last.png         | predict --model $M $I/late -o $O/pred
pr_late_nan     | mk_late_nan       | 2 | zz_nan.nii          | predict --model $M $I/latenan -o $O/pred --overlay
pr_dup_stems    | mk_dup_pred_in    | 2 | a.png               | predict --model $M $I/dup -o $O/pr_new
pr_trunc_model  | mk_trunc_ckpt     | 2 | trunc.safetensors   | predict --model $I/trunc.safetensors $I/ph/images/0000.png -o $O/pred
pr_zero_model   | mk_zero_ckpt      | 2 | zero.safetensors    | predict --model $I/zero.safetensors $I/ph/images/0000.png -o $O/pr_new
pr_bighdr_model | mk_bighdr_ckpt    | 2 | bighdr.safetensors  | predict --model $I/bighdr.safetensors $I/ph/images/0000.png -o $O/pr_new
pr_json_model   | mk_badjson_ckpt   | 2 | badjson.safetensors | predict --model $I/badjson.safetensors $I/ph/images/0000.png -o $O/pr_new
pr_png_model    | mk_none           | 2 | 0001.png            | predict --model $I/ph/images/0001.png $I/ph/images/0000.png -o $O/pr_new
pr_missing_img  | mk_none           | 2 | nothere.png         | predict --model $M $I/nothere.png -o $O/pr_new
pr_out_notdir   | mk_none           | 1 | afile               | predict --model $M $I/ph/images/0000.png -o $O/afile/pred
pr_out_readonly | mk_ro             | 1 | ro/pred             | predict --model $M $I/ph/images/0002.png -o $O/ro/pred
pr_unknown_opt  | mk_none           | 2 | --overlays          | predict --model $M $I/ph/images/0000.png -o $O/pred --overlays
pr_threads_text | mk_none           | 2 | --threads           | predict --model $M $I/ph/images/0000.png -o $O/pred --threads two
ev_trunc_pred   | mk_ev_trunc       | 2 | pred/bad7.png       | eval --pred $I/ev_trunc/pred --truth $I/ev_trunc/truth -o $O/ev
ev_zero_truth   | mk_ev_zero        | 2 | truth/bad7.png      | eval --pred $I/ev_zero/pred --truth $I/ev_zero/truth -o $O/ev_new
ev_size         | mk_ev_size        | 2 | pred/bad7.png       | eval --pred $I/ev_size/pred --truth $I/ev_size/truth -o $O/ev
ev_big_png      | mk_ev_big_png     | 2 | truth/bad7.png      | eval --pred $I/ev_big_png/pred --truth $I/ev_big_png/truth -o $O/ev
ev_big_dims     | mk_ev_big         | 2 | pred/bad7.nii       | eval --pred $I/ev_big/pred --truth $I/ev_big/truth -o $O/ev_new
ev_nan_label    | mk_ev_nan         | 2 | pred/bad7.nii       | eval --pred $I/ev_nan/pred --truth $I/ev_nan/truth -o $O/ev
ev_inf_label    | mk_ev_inf         | 2 | truth/bad7.nii      | eval --pred $I/ev_inf/pred --truth $I/ev_inf/truth --labels 1,2 -o $O/ev_new
ev_frac_label   | mk_ev_frac        | 2 | pred/bad7.nii       | eval --pred $I/ev_frac/pred --truth $I/ev_frac/truth -o $O/ev
ev_dup_stems    | mk_ev_dup         | 2 | pred/bad7.nii       | eval --pred $I/ev_dup/pred --truth $I/ev_dup/truth -o $O/ev_new
ev_missing_pred | mk_ev_missing     | 2 | truth/bad7.png      | eval --pred $I/ev_missing/pred --truth $I/ev_missing/truth -o $O/ev
ev_out_notdir   | mk_none           | 1 | afile               | eval --pred $I/ph/masks --truth $I/ph/masks -o $O/afile/ev -q
ev_out_readonly | mk_ro             | 1 | ro/ev               | eval --pred $I/ph/masks --truth $I/ph/masks -o $O/ro/ev -q
ev_unknown_opt  | mk_none           | 2 | --lables            | eval --pred $I/ph/masks --truth $I/ph/masks -o $O/ev --lables 1
ev_labels_text  | mk_none           | 2 | --labels            | eval --pred $I/ph/masks --truth $I/ph/masks -o $O/ev --labels 1,two
ev_labels_zero  | mk_none           | 2 | --labels            | eval --pred $I/ph/masks --truth $I/ph/masks -o $O/ev_new --labels 0,1
cv_trunc_png    | mk_trunc_png      | 2 | trunc.png           | convert $I/trunc.png $O/existing.nii
cv_zero_png     | mk_zero_png       | 2 | zero.png            | convert $I/zero.png $O/cv_new.nii
cv_trunc_nii    | mk_trunc_nii      | 2 | trunc.nii           | convert $I/trunc.nii $O/existing.nii
cv_short_header | mk_trunc_hdr      | 2 | shorthdr.nii        | convert $I/shorthdr.nii $O/cv_new.mha
cv_zero_nii     | mk_zero_nii       | 2 | zero.nii            | convert $I/zero.nii $O/slices/
cv_big_png      | mk_big_png        | 2 | big.png             | convert $I/big.png $O/existing.nii
cv_huge_png     | mk_huge_png       | 2 | huge.png            | convert $I/huge.png $O/cv_new.png
cv_trunc_jpg    | mk_trunc_jpg      | 2 | trunc.jpg           | convert $I/trunc.jpg $O/existing.nii
cv_big_jpg      | mk_big_jpg        | 2 | big.jpg             | convert $I/big.jpg $O/cv_new.png
cv_trunc_dcm    | mk_trunc_dcm      | 2 | trunc.dcm           | convert $I/trunc.dcm $O/existing.nii
cv_zero_dcm     | mk_zero_dcm       | 2 | zero.dcm            | convert $I/zero.dcm $O/cv_new.nii
cv_big_dcm      | mk_big_dcm        | 2 | big.dcm             | convert $I/big.dcm $O/slices/
cv_big_dims     | mk_big_nii        | 2 | big.nii             | convert $I/big.nii $O/cv_new.nii
cv_huge_dims    | mk_huge_nii       | 2 | huge.nii            | convert $I/huge.nii $O/existing.nii
cv_neg_dim      | mk_negdim_nii     | 2 | negdim.nii          | convert $I/negdim.nii $O/cv_new.nii
cv_nan_pixdim   | mk_nanpix_nii     | 2 | nanpix.nii          | convert $I/nanpix.nii $O/existing.nii
cv_trunc_mha    | mk_trunc_mha      | 2 | trunc.mha           | convert $I/trunc.mha $O/existing.nii
cv_big_mha      | mk_big_mha        | 2 | big.mha             | convert $I/big.mha $O/cv_new.nii
cv_out_notdir   | mk_none           | 1 | afile               | convert $I/ph/images/0000.png $O/afile/x.nii
cv_out_isdir    | mk_none           | 1 | adir.nii            | convert $I/ph/images/0000.png $O/adir.nii
cv_slices_notdir| mk_none           | 1 | afile               | convert $I/ph/images/0000.png $O/afile/slices/
cv_out_readonly | mk_ro             | 1 | ro/x.nii            | convert $I/ph/images/0000.png $O/ro/x.nii
cv_slices_ro    | mk_ro             | 1 | ro/pred             | convert $I/ph/images/0000.png $O/ro/pred/ --prefix 0000 -q
cv_unknown_opt  | mk_none           | 2 | --windows           | convert --windows auto $I/ph/images/0000.png $O/existing.nii
cv_window_text  | mk_none           | 2 | --window            | convert --window 0,abc $I/ph/images/0000.png $O/cv_new.png
cv_window_nan   | mk_none           | 2 | --window            | convert --window nan,1 $I/ph/images/0000.png $O/cv_new.png
cv_dtype_text   | mk_none           | 2 | --dtype             | convert --dtype float $I/ph/images/0000.png $O/existing.nii
cv_missing_in   | mk_none           | 2 | nothere.nii         | convert $I/nothere.nii $O/cv_new.nii
in_trunc_png    | mk_trunc_png      | 2 | trunc.png           | info $I/trunc.png
in_zero_png     | mk_zero_png       | 2 | zero.png            | info $I/zero.png
in_trunc_nii    | mk_trunc_nii      | 2 | trunc.nii           | info $I/trunc.nii
in_zero_nii     | mk_zero_nii       | 2 | zero.nii            | info $I/zero.nii
in_big_png      | mk_big_png        | 2 | big.png             | info $I/big.png
in_big_jpg      | mk_big_jpg        | 2 | big.jpg             | info $I/big.jpg
in_trunc_dcm    | mk_trunc_dcm      | 2 | trunc.dcm           | info $I/trunc.dcm
in_zero_dcm     | mk_zero_dcm       | 2 | zero.dcm            | info $I/zero.dcm
in_big_dcm      | mk_big_dcm        | 2 | big.dcm             | info $I/big.dcm
in_big_dims     | mk_big_nii        | 2 | big.nii             | info $I/big.nii
in_huge_dims    | mk_huge_nii       | 2 | huge.nii            | info $I/huge.nii
in_nan_pixdim   | mk_nanpix_nii     | 2 | nanpix.nii          | info $I/nanpix.nii
in_big_mha      | mk_big_mha        | 2 | big.mha             | info $I/big.mha
in_second_bad   | mk_trunc_nii      | 2 | trunc.nii           | info $I/f.nii $I/trunc.nii
in_unknown_opt  | mk_none           | 2 | --alll              | info --alll $I/f.nii
in_missing      | mk_none           | 2 | nothere.nii         | info $I/nothere.nii
st_nan_cell     | mk_csv_nan        | 2 | nan.csv             | stats ttest $I/nan.csv --col y --by arm
st_inf_cell     | mk_csv_inf        | 2 | inf.csv             | stats describe $I/inf.csv --col y
st_ninf_cell    | mk_csv_ninf       | 2 | ninf.csv            | stats cor $I/ninf.csv --col a --vs b
st_overflow     | mk_csv_overflow   | 2 | overflow.csv        | stats mannwhitney $I/overflow.csv --col y --by arm
st_text_cell    | mk_csv_text       | 2 | text.csv            | stats shapiro $I/text.csv --col y
st_nan_table    | mk_csv_nan        | 2 | nan.csv             | stats table $I/nan.csv --group arm --vars y:c,a:c --format csv --out $O/table.csv
st_nan_kappa    | mk_csv_nan_rater  | 2 | nanrater.csv        | stats kappa $I/nanrater.csv --r1 r1 --r2 r2
st_nan_icc      | mk_csv_nan_rater  | 2 | nanrater.csv        | stats icc $I/nanrater.csv --cols r1,r2
st_inf_roc      | mk_csv_inf_score  | 2 | infscore.csv        | stats roc $I/infscore.csv --truth truth --score score --curve $O/curve.csv
st_nan_truth    | mk_csv_nan_truth  | 2 | nantruth.csv        | stats roc $I/nantruth.csv --truth truth --score score --curve $O/roc_new.csv
st_zero_csv     | mk_csv_zero       | 2 | zero.csv            | stats ttest $I/zero.csv --col y --by arm
st_quote        | mk_csv_quote      | 2 | quote.csv           | stats describe $I/quote.csv --col y
st_ragged       | mk_csv_ragged     | 2 | ragged.csv          | stats table $I/ragged.csv --group arm --vars y:c --out $O/table.csv
st_no_column    | mk_none           | 2 | 'weight'            | stats ttest $I/good.csv --col weight --by arm
st_unknown_opt  | mk_none           | 2 | --colum             | stats ttest $I/good.csv --colum y --by arm
st_conf_text    | mk_none           | 2 | --conf              | stats ttest $I/good.csv --col y --by arm --conf high
st_mu_nan       | mk_none           | 2 | --mu                | stats ttest $I/good.csv --col y --mu nan
st_table_notdir | mk_none           | 1 | afile               | stats table $I/good.csv --group arm --vars y:c --format csv --out $O/afile/t.csv
st_curve_isdir  | mk_none           | 1 | adir.csv            | stats roc $I/good.csv --truth truth --score score --curve $O/adir.csv
st_out_readonly | mk_ro             | 1 | ro/t.csv            | stats table $I/good.csv --group arm --vars y:c --format csv --out $O/ro/t.csv
st_missing_csv  | mk_none           | 2 | nothere.csv         | stats describe $I/nothere.csv --col y
EOF
)

# ---------------------------------------------------------------- the runner
# Every name under $O with, for files, type, size, inode, mtime and ctime (any write, rename over or
# truncation changes one of them); folder mtimes are left out: a temporary file created and removed
# again changes its folder's mtime and nothing else. Checksums of every file are compared too, once
# around the whole table (checksumming per case would double the test's time).
snapshot() { (cd "$O" && find . \( -type d -printf '%p d\n' \) -o -printf '%p %y %s %i %T@ %C@\n' | LC_ALL=C sort); }
checksums() { (cd "$O" && find . -type f -exec md5sum {} + | LC_ALL=C sort); }
declare -A made
ncases=0
nskip=0
t_start=$SECONDS
sums_before=$(checksums)
trim() { local v=${1#"${1%%[![:space:]]*}"}; printf -v "$2" '%s' "${v%"${v##*[![:space:]]}"}"; }
while IFS='|' read -r id make code needle cmd; do
  trim "$id" id; trim "$make" make; trim "$code" code; trim "$needle" needle; trim "$cmd" cmd
  [[ -z "$id" || "$id" == \#* ]] && continue
  if [[ -z "${made[$make]:-}" ]]; then
    $make
    made[$make]=$?
    [[ ${made[$make]} == 0 || ${made[$make]} == 77 ]] || bad "$id: $make failed"
  fi
  if [[ ${made[$make]} == 77 ]]; then
    echo "skip $id: $make cannot make its input here (a read-only mount needs root; DICOM needs $DCM)"
    nskip=$((nskip + 1))
    continue
  fi
  ncases=$((ncases + 1))
  before=$(snapshot)
  out=$(eval "\"\$BIN\" $cmd" 2>&1 </dev/null)
  rc=$?
  after=$(snapshot)
  [[ -n "${DOLOR_BADINPUT_SHOW:-}" ]] && printf '%-16s rc=%d  %s\n' "$id" $rc "$(echo "$out" | grep -m1 -i 'error\|unrecognized\|invalid' | sed "s|$T/||g")"
  [[ $rc -eq $code ]] && ok || bad "$id: exit code $rc (expected $code): dolor $cmd: $(echo "$out" | tail -3)"
  [[ "$out" == *"$needle"* ]] && ok || bad "$id: message does not name '$needle': $(echo "$out" | tail -3)"
  if [[ "$before" == "$after" ]]; then ok; else
    bad "$id: outputs changed under $O: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -5 | tr '\n' ' ')"
  fi
  # a sanitizer report or a crash is never an acceptable answer to bad input
  if [[ $rc -ge 128 || "$out" == *"Sanitizer"* || "$out" == *"runtime error:"* ]]; then
    bad "$id: crashed or sanitizer report: $(echo "$out" | grep -m3 -E 'Sanitizer|runtime error' )"
  else ok; fi
done <<<"$CASES"
# the files that were there before the table were only ever read: same contents at the end
sums_after=$(checksums)
sums_before_kept=$(echo "$sums_before" | grep -v ' \./ro/') # the ro mount appeared during the table
[[ "$(echo "$sums_after" | grep -v ' \./ro/')" == "$sums_before_kept" ]] && ok ||
  bad "file contents under $O changed: $(diff <(echo "$sums_before") <(echo "$sums_after") | head -5 | tr '\n' ' ')"
[[ $ncases -ge 40 ]] && ok || bad "only $ncases cases"
echo "$ncases bad-input cases ($nskip skipped) in $((SECONDS - t_start)) s"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
