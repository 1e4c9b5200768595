#!/usr/bin/env bash
# dolor features: columns, preset size, masks, crop, normalisation and bad input (exit 2, message naming the fault).
set -u
. "$(dirname "$0")/lib.sh" feat
# mha NAME NX NY NZ EXPR: a uint8 MetaImage whose voxel (x,y,z) is EXPR (bash arithmetic, may use x y z)
mha() {
  local f=$1 nx=$2 ny=$3 nz=$4 expr=$5
  printf 'ObjectType = Image\nNDims = 3\nDimSize = %d %d %d\nElementSpacing = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n' \
    "$nx" "$ny" "$nz" >"$f"
  local z y x v hex one
  hex=""
  for ((z = 0; z < nz; z++)); do for ((y = 0; y < ny; y++)); do
    for ((x = 0; x < nx; x++)); do v=$(( (expr) & 255 )); printf -v one '\\x%02x' $v; hex+=$one; done
  done; done
  printf "$hex" >>"$f"
}
mha "$T/a.mha" 12 10 6 '(x * 37 + y * 11 + z * 53 + x * y) % 251'
mha "$T/b.mha" 12 10 6 '(x * 7 + y * 13 + z * 3 + x * z * 5) % 199'
mha "$T/m.mha" 12 10 6 '(x > 2 && x < 10 && y > 1 && y < 9) ? 1 : 0'
mha "$T/empty.mha" 12 10 6 '0'
mha "$T/small.mha" 5 4 3 'x + y'

# csv_columns FILE: fields in the header line, quoted fields (which hold commas) counted once; no python3 here:
# the tests run on a bare Debian root too (scripts/fresh-check.sh)
csv_columns() { head -1 "$1" | sed 's/"[^"]*"/q/g' | tr -cd , | wc -c | awk '{ print $1 + 1 }'; }

# default set: 22 first order + 4 Nakagami + (13 + 1) x 6 GLCM, plus the image column
"$BIN" features "$T/a.mha" "$T/b.mha" -o "$T/f.csv" -t 2 2>/dev/null || bad "features failed"
hdr=$(head -1 "$T/f.csv")
n=$(csv_columns "$T/f.csv")
[[ $n -eq $((1 + 22 + 4 + 14 * 6)) ]] && ok || bad "default set: $n columns"
[[ "$hdr" == *'"glcm_L32_d1_dir(1,-1,1)_correlation"'* && "$hdr" == *glcm_L32_d1_mean_ASM* ]] && ok || bad "names: $hdr"
[[ $(wc -l <"$T/f.csv") -eq 3 ]] && ok || bad "rows"
# parallel over images gives the same numbers as one thread
"$BIN" features "$T/a.mha" "$T/b.mha" -o "$T/f1.csv" -t 1 2>/dev/null
cmp -s "$T/f.csv" "$T/f1.csv" && ok || bad "1 and 2 threads differ"
# IBSI's other GLCM features are opt-in: 20 more per (levels, distance, direction or mean), same six before them
"$BIN" features --glcm-ibsi "$T/a.mha" -o "$T/fi.csv" 2>/dev/null || bad "--glcm-ibsi failed"
n=$(csv_columns "$T/fi.csv")
[[ $n -eq $((1 + 22 + 4 + 14 * 26)) ]] && ok || bad "--glcm-ibsi: $n columns"
hdr=$(head -1 "$T/fi.csv")
[[ "$hdr" == *'"glcm_L32_d1_dir(1,-1,1)_information_correlation_2"'* && "$hdr" == *glcm_L32_d1_mean_joint_entropy* ]] && ok || bad "IBSI names: $hdr"
# the study preset: 7020 columns
"$BIN" features --preset study7020 --distances 1,2,3,4,5 "$T/a.mha" -o "$T/s.csv" 2>/dev/null || bad "preset failed"
n=$(csv_columns "$T/s.csv")
[[ $n -eq $((1 + 9 * 5 * 13 * 6)) ]] && ok || bad "study7020 with 5 distances: $n columns"
# config file, mask, crop to mask (same features as without the crop)
printf '{"levels": [8, 16], "distances": [1], "firstorder": false, "nakagami": false}\n' >"$T/c.json"
"$BIN" features --config "$T/c.json" --mask "$T/m.mha" "$T/a.mha" -o "$T/m1.csv" 2>/dev/null || bad "mask failed"
"$BIN" features --config "$T/c.json" --mask "$T/m.mha" --crop-to-mask "$T/a.mha" -o "$T/m2.csv" 2>/dev/null || bad "crop-to-mask failed"
cmp -s "$T/m1.csv" "$T/m2.csv" && ok || bad "crop-to-mask changed the features"
n=$(csv_columns "$T/m1.csv")
[[ $n -eq $((1 + 2 * 14 * 6)) ]] && ok || bad "config: $n columns"
# normalisation against two boxes (gain invariance is checked in test_radiomics.c)
"$BIN" features --config "$T/c.json" --bright 8,6,4,12,10,6 --dark 0,0,0,4,4,2 "$T/a.mha" -o "$T/n.csv" 2>/dev/null || bad "normalisation failed"

# regions of a label map, per slice: a row per (slice, region) holding it
mha "$T/lab.mha" 12 10 6 '(z < 4) ? ((x < 6) ? 1 : 2) : ((x < 6) ? 1 : 0)'
"$BIN" features --config "$T/c.json" --mask "$T/lab.mha" --regions 1,2 --per-slice "$T/a.mha" -o "$T/r.csv" 2>/dev/null || bad "regions failed"
[[ $(wc -l <"$T/r.csv") -eq $((1 + 6 + 4)) ]] && ok || bad "regions x slices: $(wc -l <"$T/r.csv") lines"
head -1 "$T/r.csv" | grep -q '^image,slice,region,' && ok || bad "regions header"
awk -F, 'NR > 1 { k[$2 "," $3]++ } END { exit !(k["3,2"] == 1 && k["4,2"] == 0 && k["5,1"] == 1) }' "$T/r.csv" && ok || bad "region rows"
expect_fail 2 "region 3: the mask is empty" -- "$BIN" features --mask "$T/lab.mha" --regions 3 "$T/a.mha" -o "$T/x.csv"

# resampling to 2 mm: a 12x10x6 volume at 1 mm becomes 6x5x3, so distance 3 along z no longer fits
"$BIN" features --config "$T/c.json" --spacing 2,2,2 "$T/a.mha" -o "$T/sp.csv" 2>/dev/null || bad "spacing failed"
expect_fail 2 "6x5x3 (x,y,z) is smaller than the GLCM offset" -- "$BIN" features --spacing 2,2,2 --distances 3 "$T/a.mha" -o "$T/x.csv"
expect_fail 2 "--spacing: '2' must be SX,SY" -- "$BIN" features --spacing 2 "$T/a.mha" -o "$T/x.csv"

# bad input: exit 2, the message names the fault, no output written
expect_fail 2 "the mask is empty" -- "$BIN" features --mask "$T/empty.mha" "$T/a.mha" -o "$T/x.csv"
expect_fail 2 "smaller than the GLCM offset" -- "$BIN" features --distances 5 "$T/small.mha" -o "$T/x.csv"
expect_fail 2 "distance 5, direction" -- "$BIN" features --distances 5 "$T/small.mha" -o "$T/x.csv"
expect_fail 2 "--levels: 1 is outside 2..65536" -- "$BIN" features --levels 1 "$T/a.mha" -o "$T/x.csv"
expect_fail 2 "--levels: 70000 is outside 2..65536" -- "$BIN" features --levels 70000 "$T/a.mha" -o "$T/x.csv"
expect_fail 2 "mask is 12x10x6 but the image is 5x4x3" -- "$BIN" features --mask "$T/m.mha" "$T/small.mha" -o "$T/x.csv"
expect_fail 2 "--crop: box" -- "$BIN" features --crop 0,0,0,20,4,3 "$T/small.mha" -o "$T/x.csv"
expect_fail 2 "not brighter" -- "$BIN" features --bright 0,0,0,1,1,1 --dark 0,0,0,1,1,1 "$T/a.mha" -o "$T/x.csv"
expect_fail 2 "both a bright" -- "$BIN" features --bright 0,0,0,1,1,1 "$T/a.mha" -o "$T/x.csv"
expect_fail 2 "unknown key 'levls'" -- bash -c "printf '{\"levls\": [8]}' >'$T/bad.json'; '$BIN' features --config '$T/bad.json' '$T/a.mha' -o '$T/x.csv'"
[[ ! -e "$T/x.csv" ]] && ok || bad "output written on error"

finish
