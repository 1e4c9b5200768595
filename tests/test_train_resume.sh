#!/usr/bin/env bash
# dolor train --resume as README promises it: "the same command plus --resume OUT/last.safetensors".
# The model's options (--classes, --labels, --label-desc, --size, --base, --depth, --upsample) are stored in the
# checkpoint: repeating them with the stored value is accepted, a different value is refused with exit code 2 and
# a message giving both values and the checkpoint. The resumed run continues and ends with the same weights as an
# uninterrupted run of the same length.
set -u
. "$(dirname "$0")/lib.sh" resume
export OMP_NUM_THREADS=1
st_hlen() { od -An -tu8 -N8 "$1" | tr -d ' '; }
same_tensors() { cmp -s -i $((8 + $(st_hlen "$1"))):$((8 + $(st_hlen "$2"))) "$1" "$2"; }

"$BIN" phantom -o "$T/ph" -n 10 --size 64 --seed 4 >/dev/null 2>&1 || bad "phantom failed"
# the README's command shape: data, classes, labels, output, epochs, batch, lr, seed (+ a small model)
REST=(--epochs 3 --batch 4 --lr 2e-3 --seed 42 --size 32 --base 8 --depth 2 --threads 1 --quiet --no-final-eval)
CMD=("$BIN" train --data "$T/ph" --classes nerve,vessel --labels 1,2 -o "$T/run" "${REST[@]}")
CK="$T/run/last.safetensors"

# an interrupted run: --time-limit stops it after its first epoch
if "${CMD[@]}" --time-limit 0.000001 > "$T/first.log" 2>&1; then ok; else bad "first run failed: $(tail -2 "$T/first.log")"; fi
grep -q "time limit" "$T/first.log" && ok || bad "the first run did not stop at the time limit"
[[ $(grep -c '^[0-9]' "$T/run/log.csv") -eq 1 ]] && ok || bad "the first run's log.csv does not have 1 row"
mkdir -p "$T/at1"
cp "$CK" "$T/at1/last.safetensors"
A1="$T/at1/last.safetensors"

# refused: each model option with another value; exit 2, both values and the checkpoint in the message
expect_fail 2 "--size 64 differs from 32 stored in $A1" -- "${CMD[@]}" --resume "$A1" --size 64
expect_fail 2 "--labels 1,3 differs from 1,2 stored in $A1" -- "${CMD[@]}" --labels 1,3 --resume "$A1"
expect_fail 2 "--classes nerve,artery differs from nerve,vessel stored in $A1" -- \
  "${CMD[@]}" --classes nerve,artery --resume "$A1"
expect_fail 2 "--classes nerve differs from nerve,vessel stored in $A1" -- "${CMD[@]}" --classes nerve --labels 1 --resume "$A1"
expect_fail 2 "--base 16 differs from 8 stored in $A1" -- "${CMD[@]}" --resume "$A1" --base 16
expect_fail 2 "--depth 3 differs from 2 stored in $A1" -- "${CMD[@]}" --resume "$A1" --depth 3
expect_fail 2 "--upsample bilinear differs from transposed stored in $A1" -- "${CMD[@]}" --resume "$A1" --upsample bilinear
printf '{"upsample": "bilinear"}\n' > "$T/bilinear.json" # a config file is checked too
expect_fail 2 "--upsample bilinear differs from transposed stored in $A1" -- "${CMD[@]}" --resume "$A1" --config "$T/bilinear.json"
printf '0 0 0 0 0 0 0 "Clear Label"\n1 255 0 0 1 1 1 "nerve"\n2 0 255 0 1 1 1 "artery"\n' > "$T/other.txt"
expect_fail 2 "--label-desc (classes) nerve,artery differs from nerve,vessel stored in $A1" -- \
  "$BIN" train --data "$T/ph" --label-desc "$T/other.txt" -o "$T/run" "${REST[@]}" --resume "$A1"
cmp -s "$CK" "$A1" && [[ $(grep -c '^[0-9]' "$T/run/log.csv") -eq 1 ]] && ok || bad "a refused resume wrote outputs"

# accepted: the stored values repeated (checked against a checkpoint at its last epoch: the run gets past the
# option checks and stops at "already completed", which only comes after them)
expect_fail 2 "already completed 1 epochs" -- "${CMD[@]}" --epochs 1 --resume "$A1"
expect_fail 2 "already completed 1 epochs" -- "${CMD[@]}" --epochs 1 --resume "$A1" --upsample transposed
printf '0 0 0 0 0 0 0 "Clear Label"\n1 255 0 0 1 1 1 "nerve"\n2 0 255 0 1 1 1 "vessel"\n' > "$T/same.txt"
expect_fail 2 "already completed 1 epochs" -- "${CMD[@]}" --epochs 1 --label-desc "$T/same.txt" --resume "$A1"
printf '{"size": 32, "depth": 2, "base": 8, "classes": ["nerve", "vessel"], "labels": [1, 2]}\n' > "$T/same.json"
expect_fail 2 "already completed 1 epochs" -- "${CMD[@]}" --epochs 1 --config "$T/same.json" --resume "$A1"

# log.csv is rewritten whole and renamed, so dolor leaves no torn line; one made by hand (a copy cut short) is
# skipped by the resume with a message, and the resumed log is whole again
mkdir -p "$T/torn"
cp "$A1" "$T/torn/last.safetensors"
{ head -2 "$T/run/log.csv"; printf '2,1.98'; } > "$T/torn/log.csv"
if "$BIN" train --data "$T/ph" -o "$T/torn" --epochs 2 --threads 1 --quiet --no-final-eval \
     --resume "$T/torn/last.safetensors" > "$T/torn.log" 2>&1; then ok; else bad "resume over a torn log failed"; fi
grep -q "log.csv: line 3 is incomplete (no newline); skipped" "$T/torn.log" && ok ||
  bad "the torn log line was not reported: $(grep log.csv "$T/torn.log")"
awk -F, 'NR > 1 && $1 != NR - 1 { exit 1 } END { exit NR != 3 }' "$T/torn/log.csv" && [[ -z "$(tail -c 1 "$T/torn/log.csv")" ]] &&
  ok || bad "the log resumed over a torn line is not whole: $(cat "$T/torn/log.csv")"

# the same command plus --resume continues to the end
if "${CMD[@]}" --resume "$CK" > "$T/resume.log" 2>&1; then ok; else bad "resume refused: $(tail -2 "$T/resume.log")"; fi
grep -q "resuming from $CK after epoch 1" "$T/resume.log" && ok || bad "resume did not continue after epoch 1"
[[ $(grep -c '^[0-9]' "$T/run/log.csv") -eq 3 ]] && ok || bad "the resumed log.csv does not have 3 rows"
# ... and ends where an uninterrupted run ends, bit for bit
if "$BIN" train --data "$T/ph" --classes nerve,vessel --labels 1,2 -o "$T/straight" "${REST[@]}" > "$T/straight.log" 2>&1
then ok; else bad "uninterrupted run failed: $(tail -2 "$T/straight.log")"; fi
for f in last.safetensors best.safetensors; do
  same_tensors "$T/run/$f" "$T/straight/$f" && ok || bad "$f: resumed and uninterrupted runs differ"
done
# a finished run: the same command again says so (exit 2) instead of training further
expect_fail 2 "already completed 3 epochs" -- "${CMD[@]}" --resume "$CK"

finish
