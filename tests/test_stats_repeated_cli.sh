#!/usr/bin/env bash
# dolor stats friedman / rmanova on the committed R fixture (tests/fixtures/stats/repeated.txt, from
# tools/gen_repeated_fixture.R): every data set as a wide CSV, the statistics and p-values to 1e-6 relative.
. "$(dirname "$0")/lib.sh" stats_repeated_cli
FX=$SRC/tests/fixtures/stats/repeated.txt
rel() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= 1e-6 * m || a == b) }'; }
nsets=$(grep -c '^set ' "$FX")
for s in $(seq 1 "$nsets"); do
  awk -v want="$s" '/^set /{i++; if (i==want) {k=$3; f=1; hdr=""; for(j=1;j<=k;j++) hdr=hdr (j>1?",":"") "r" j; print hdr; next}}
                    f && /^[a-z]/{exit} f{gsub(/ /, ","); print}' "$FX" > "$T/s$s.csv"
  k=$(head -1 "$T/s$s.csv" | tr ',' '\n' | wc -l)
  cols=$(head -1 "$T/s$s.csv")
  read -r fst fdf fp <<<"$(awk -v want="$s" '/^set /{i++} i==want && /^friedman/{print $2, $3, $4; exit}' "$FX")"
  read -r aF adf adf2 ap <<<"$(awk -v want="$s" '/^set /{i++} i==want && /^rmanova/{print $2, $3, $4, $5; exit}' "$FX")"
  out=$("$BIN" stats friedman "$T/s$s.csv" --cols "$cols" --format csv 2>&1 | tail -1)
  st=$(cut -d, -f2 <<<"$out"); p=$(cut -d, -f4 <<<"$out")
  hdr=$("$BIN" stats friedman "$T/s$s.csv" --cols "$cols" --format csv 2>&1 | head -1)
  [[ "$hdr" == method,statistic,df,* ]] || bad "friedman csv header: $hdr"
  rel "$st" "$fst" && rel "$p" "$fp" && ok || bad "set $s friedman: $out (R: $fst $fp)"
  out=$("$BIN" stats rmanova "$T/s$s.csv" --cols "$cols" --format csv 2>&1 | tail -1)
  IFS=, read -r _ F df df2 p _ <<<"$out"
  rel "$F" "$aF" && rel "$p" "$ap" && [[ "$df" == "$adf" && "$df2" == "$adf2" ]] && ok || bad "set $s rmanova: $out (R: $aF $adf $adf2 $ap)"
done
expect_fail 2 "--cols" -- "$BIN" stats friedman "$T/s1.csv"
expect_fail 2 "need at least 2 conditions" -- "$BIN" stats rmanova "$T/s1.csv" --cols r1
expect_fail 2 "nosuch" -- "$BIN" stats friedman "$T/s1.csv" --cols r1,nosuch
finish
