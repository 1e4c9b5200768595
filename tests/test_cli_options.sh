#!/usr/bin/env bash
# Every non-statistics subcommand (and sub-subcommand) through its option table (src/cli/opts.h):
#  - an option of another command is rejected: exit 2, stderr names the option;
#  - --help exits 0 and prints its own options, not another command's;
#  - a bad value and an out-of-range value of one typed option: exit 2, stderr names the option and the value;
#  - --config FILE.json goes through the same table (an unknown key is an error naming the file and the key).
# Nothing here needs real data: the inputs are tiny files written below.
set -u
. "$(dirname "$0")/lib.sh" cliopts
F=$SRC/tests/fixtures/ml/forest_cv.csv
printf 'study: {name: x, task: segmentation}\n' >"$T/s.yaml"
img=$T/none.png # never read: every case below fails in the option parser first

# run CODE "NEEDLE..." -- ARGS: dolor ARGS exits CODE and stderr holds every NEEDLE (separated by '|')
run() {
  local code=$1 needles=$2 err rc n
  shift 3
  "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
  rc=$?
  err=$(cat "$T/err")
  if [[ $rc -ne $code ]]; then bad "dolor $* exited $rc (expected $code): $err"; return; fi
  IFS='|' read -ra list <<<"$needles"
  for n in "${list[@]}"; do
    if [[ "$err" != *"$n"* ]]; then bad "dolor $* stderr lacks '$n': $err"; return; fi
  done
  ok
}

# ---- an option that belongs to another command (or another sub-command) ----
# command line (read as words) | the foreign option
while IFS='|' read -r args opt; do
  [[ -z "$args" || "$args" == \#* ]] && continue
  # shellcheck disable=SC2086
  run 2 "$opt|not an option" -- $args
done <<EOF
train --data $T/d --classes a -o $T/o --folds 5|--folds
predict --model $T/m -o $T/o $img --epochs 3|--epochs
eval --pred $T --truth $T --epochs 3|--epochs
phantom -o $T/ph --folds 5|--folds
info --window auto $img|--window
stream --model $T/m $img --epochs 3|--epochs
convert --epochs 3 $img $T/x.nii|--epochs
features -o $T/f.csv --trees 10 $img|--trees
forest train $F --label label --epochs 3|--epochs
forest train $F --label label --predictions $T/p.csv|--predictions
forest train $F --label label --folds 5|--folds
forest predict $F --model $T/m -o $T/p.csv --folds 5|--folds
forest predict $F --model $T/m -o $T/p.csv --importance $T/i.csv|--importance
forest cv $F --label label --model $T/m|--model
forest cv $F --label label --repeats 3|--repeats
study run $T/s.yaml -o $T/st --epochs 3|--epochs
study check $T/s.yaml --out $T/st|--out
study schema --out $T/st|--out
detect train --images $T --masks $T --classes a -o $T/o --conf 0.5|--conf
detect predict --model $T/m -o $T/o $img --epochs 3|--epochs
detect eval --model $T/m --images $T --masks $T --classes a --mosaic 0.5|--mosaic
detect labels --masks $T --classes a -o $T/o --model $T/m|--model
ldh --masks $T --pose $T -o $T/l.csv --epochs 3|--epochs
EOF
# the message names the sub-command and where its options are listed
run 2 "dolor forest predict: error: --folds is not an option of dolor forest predict (see dolor forest predict --help)" \
  -- forest predict "$F" --model "$T/m" --folds 5
run 2 "--epochs is not an option of dolor eval (see dolor eval --help)" -- eval --pred "$T" --truth "$T" --epochs 3
# phantom: the options of the other --kind
run 2 "--slices|--kind multifidus3d" -- phantom -o "$T/ph" --slices 20
run 2 "--vessel-prob|--kind nerve" -- phantom --kind multifidus3d -o "$T/ph" --vessel-prob 0.5
run 2 "--spacing-mm|--kind axial-disc" -- phantom -o "$T/ph" --spacing-mm 0.5
run 2 "--slices|--kind multifidus3d" -- phantom --kind axial-disc -o "$T/ph" --slices 20
run 2 "--width and --height are not options of --kind axial-disc" -- phantom --kind axial-disc -o "$T/ph" --width 256
[[ ! -e "$T/ph" ]] && ok || bad "a rejected phantom command wrote $T/ph"

# ---- --help: exit 0, its own options (generated from its table), not another command's ----
# command line | an option it has | an option of another command that must not appear
while IFS='|' read -r args own other; do
  [[ -z "$args" ]] && continue
  # shellcheck disable=SC2086
  if ! "$BIN" $args --help >"$T/help" 2>"$T/err" </dev/null; then bad "dolor $args --help failed: $(cat "$T/err")"; continue; fi
  if ! grep -q -- "$own" "$T/help"; then bad "dolor $args --help lacks $own"; continue; fi
  if grep -q -- "$other" "$T/help"; then bad "dolor $args --help lists $other"; continue; fi
  ok
done <<EOF
train|--epochs|--allow-missing
predict|--overlay|--epochs
eval|--allow-missing|--epochs
phantom|--vessel-prob|--allow-missing
info|--show-phi|--window
convert|--window|--show-phi
features|--bin-width|--folds
forest|--fold-column|--epochs
forest train|--importance|--fold-column
forest predict|--model|--folds
forest cv|--folds|--importance
study|--out|--epochs
study run|--out|--epochs
study check|--config|--out
detect train|--close-mosaic|--max-det
detect predict|--max-det|--epochs
detect eval|--val-list|--mosaic
detect labels|--min-pixels|--epochs
ldh|--bulging-mm|--epochs
stream|--live|--epochs
EOF
# value names, defaults and ranges come from the table
"$BIN" phantom --help >"$T/help" 2>&1
grep -q -- "-n, --count N .*number of images (default 100; 1..1000000)" "$T/help" && ok || bad "phantom --help: count: $(grep -- --count "$T/help")"
grep -q -- "--config FILE.json" "$T/help" && ok || bad "phantom --help lacks --config"
"$BIN" eval --help >"$T/help" 2>&1
grep -q -- "--truth DIR" "$T/help" && ok || bad "eval --help: --truth DIR"
"$BIN" forest cv --help >"$T/help" 2>&1
grep -q -- "usage: dolor forest cv TABLE.csv" "$T/help" && ok || bad "forest cv --help: usage line"
grep -q -- "--folds K .*(default 5; 2..1000)" "$T/help" && ok || bad "forest cv --help: folds: $(grep -- --folds "$T/help")"

# ---- a bad value and an out-of-range value of one typed option per command ----
# command line | needles ('|' separated: the option and the value)
while IFS='#' read -r args needles; do
  [[ -z "$args" ]] && continue
  # shellcheck disable=SC2086
  run 2 "$needles" -- $args
done <<EOF
train --data $T/d --classes a -o $T/o --epochs abc#--epochs|'abc' is not an integer
train --data $T/d --classes a -o $T/o --epochs 0#--epochs|0 is outside 1..100000
predict --model $T/m -o $T/o $img --threads abc#--threads|'abc' is not an integer
predict --model $T/m -o $T/o $img --threads 0#--threads|0 is outside 1..1024
eval --pred $T --truth $T --labels 1,x#--labels|'x' is not an integer
eval --pred $T --truth $T --labels 0#--labels|0 is outside 1..
phantom -o $T/ph --count abc#--count|'abc' is not an integer
phantom -o $T/ph --count 0#--count|0 is outside 1..1000000
phantom -o $T/ph --vessel-prob 1.5#--vessel-prob|1.5 is outside 0..1
phantom -o $T/ph --seed -1#--seed|-1 is less than 0
info --all=yes $img#--all|takes no value
convert --window 0,abc $img $T/x.png#--window|'abc' is not a number
convert --window 5,1 $img $T/x.png#--window|HI (1) must be greater than LO (5)
features -o $T/f.csv --threads abc $img#--threads|'abc' is not an integer
features -o $T/f.csv --levels 1 $img#--levels|1 is outside 2..65536
forest train $F --label label --trees abc#--trees|'abc' is not an integer
forest train $F --label label --trees 0#--trees|0 is outside 1..100000
forest cv $F --label label --folds 1#--folds|1 is outside 2..1000
forest predict $F --model $T/m -o $T/p.csv --threads 2000#--threads|2000 is outside 1..1024
phantom --kind axial-disc -o $T/ph --spacing-mm 3#--spacing-mm|3 is outside 0.1..2
ldh --masks $T --pose $T -o $T/l.csv --focal-mm abc#--focal-mm|'abc' is not a number
ldh --masks $T --pose $T -o $T/l.csv --disc-label 0#--disc-label|0 is outside 1..65535
stream --model $T/m $img --repeat abc#--repeat|'abc' is not an integer
stream --model $T/m $img --queue 0#--queue|0 is outside 1..1024
EOF
[[ ! -e "$T/ph" ]] && ok || bad "a rejected phantom command wrote $T/ph"

# ---- --config FILE.json through the same table ----
printf '{"count": 2, "size": 64, "seed": 3, "quiet": true}\n' >"$T/ph.json"
"$BIN" phantom --config "$T/ph.json" -o "$T/phc" >/dev/null 2>"$T/err" && [[ -f "$T/phc/images/0001.png" && ! -e "$T/phc/images/0002.png" ]] \
  && ok || bad "phantom --config: $(cat "$T/err")"
printf '{"count": 0}\n' >"$T/bad.json"
run 2 "bad.json|--count|0 is outside 1..1000000" -- phantom --config "$T/bad.json" -o "$T/phx"
printf '{"epochs": 3}\n' >"$T/foreign.json"
run 2 "foreign.json|unknown key 'epochs'" -- eval --config "$T/foreign.json" --pred "$T" --truth "$T"
printf '{"folds": 3}\n' >"$T/folds.json"
run 2 "--folds is not an option of dolor forest predict" -- forest predict "$F" --config "$T/folds.json" --model "$T/m"
printf '{"all": true}\n' >"$T/info.json"
"$BIN" phantom -o "$T/ph1" -n 1 --size 64 -q >/dev/null 2>&1
"$BIN" info --config "$T/info.json" "$T/ph1/images/0000.png" >"$T/out" 2>"$T/err" && grep -q "size        64 x 64" "$T/out" \
  && ok || bad "info --config: $(cat "$T/err")"
run 2 "no-such.json" -- convert --config "$T/no-such.json" "$img" "$T/x.nii"
# study: -o from the config reaches the run (which then fails on the incomplete study, not on a missing -o)
printf '{"out": "%s/st"}\n' "$T" >"$T/study.json"
run 2 "dataset: missing" -- study run "$T/s.yaml" --config "$T/study.json"
run 2 "--out is not an option of dolor study check" -- study check "$T/s.yaml" --config "$T/study.json"
# ---- no prefix matching of long options, anywhere (issue 12: --class was taken as --classes) ----
run 2 "--class is not an option of dolor eval" -- eval --pred "$T" --truth "$T" --class nerve
run 2 "--class is not an option of dolor train" -- train --data "$T/d" --class a -o "$T/o"
# every long option of every command above, less its last letter (unless that is an option too): exit 2
nprefix=0
for args in train predict eval phantom info convert features "forest train" "forest predict" "forest cv" "study run"; do
  # shellcheck disable=SC2086
  opts=$("$BIN" $args --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
  ncmd=0
  for o in $opts; do
    ((ncmd >= 10)) && break # one parser serves every command: ten options each keep the test short
    [[ ${#o} -lt 5 || $o == --help || $o == --config ]] && continue
    cut=${o%?}
    grep -qx -- "$cut" <<<"$opts" && continue
    # shellcheck disable=SC2086
    "$BIN" $args "$cut" 1 >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    if [[ $rc -ne 2 ]] || ! grep -q -- "$cut" "$T/err"; then
      bad "dolor $args $cut 1 exited $rc (expected 2, unknown option): $(head -c 300 "$T/err")"
    fi
    nprefix=$((nprefix + 1))
    ncmd=$((ncmd + 1))
  done
done
((nprefix >= 60)) && ok || bad "only $nprefix option prefixes tried (the --help parsing broke?)"
finish
