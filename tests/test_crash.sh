#!/usr/bin/env bash
# Crash safety by fault injection: SIGKILL at seeded random moments and a full disk.
#
# 1. dolor train on a tiny phantom set, killed with SIGKILL at $KILLS random microsecond offsets spread over the
#    whole length of an uninterrupted run (measured first). The epochs are tiny (16x16 input, 12 images), so the
#    log and checkpoint writes are a large part of the run and many kills land while a temporary file exists
#    (counted: a hidden temporary file seen right after the kill). After every kill: each visible *.safetensors
#    loads (dolor predict --model on it), log.csv parses (header, one complete row per epoch from 1, every line
#    ending in a newline, at least as many rows as last.safetensors has epochs), the only files left besides
#    outputs are hidden ".<name>.tmp<pid>_<n><ext>" files, and outputs written whole (split.csv, val_eval/,
#    val_pred/) equal the uninterrupted run's. Then the same command plus --resume last.safetensors (fresh when
#    there is none yet) runs again, and is killed again, until a run ends: its last.safetensors and
#    best.safetensors tensor bytes and its log.csv (without the seconds column) must equal the uninterrupted
#    run's, and no temporary file may remain. Every chain of kills ends with this full comparison (all kills are
#    resumed; the number of chains compared is printed).
# 2. dolor predict and dolor eval rewriting an output folder (alternately from an old and a new model), killed
#    at random moments: every output file must equal the old or the new complete version, byte for byte.
# 3. A full disk (a small tmpfs, root only; SKIP otherwise): train, predict and eval into it must fail with exit
#    code 1, a message naming the file, and no temporary or partial file left.
# DOLOR_ASAN=1 (make asan) scales the kill counts down; DOLOR_CRASH_KILLS overrides the train kill count.
set -u
BIN=${DOLOR_BIN:-./dolor}
for tool in timeout md5sum od xargs mountpoint; do
  command -v $tool > /dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
export OMP_NUM_THREADS=1
T=$(mktemp -d /tmp/dolor_crash_XXXXXX)
MNT=$T/full
cleanup() {
  if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT
pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
now_us() { echo $(($(date +%s%N) / 1000)); }
t_begin=$(now_us)

KILLS=${DOLOR_CRASH_KILLS:-100}
PKILLS=50
if [[ "${DOLOR_ASAN:-0}" == 1 ]]; then
  KILLS=${DOLOR_CRASH_KILLS:-20}
  PKILLS=10
fi
RANDOM=7919 # seeded: the same offsets (as fractions of the measured run length) every time
rand_us() { echo $(((RANDOM << 15 | RANDOM) % $1)); }
secs() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }

"$BIN" phantom -o "$T/ph" -n 12 --size 64 --seed 3 >/dev/null 2>&1 || { echo "phantom failed"; exit 1; }
TRAIN=("$BIN" train --data "$T/ph" --classes nerve,vessel --labels 1,2 --size 16 --base 32 --depth 1 --epochs 12
       --batch 4 --lr 3e-3 --seed 5 --threads 1 --quiet)

# temporary names dolor_outfile_open makes: hidden, ".<name>.tmp<pid>_<n><ext>"
TMP_RE='^\.[^/]+\.tmp[0-9]+_[0-9]+(\.[A-Za-z0-9.]+)?$'
# (bash globs, not find: this runs after every kill and process starts are most of the test's time)
shopt -s nullglob
list_tmp() { local f; for f in "$1"/.[!.]* "$1"/*/.[!.]*; do [[ -f "$f" ]] && printf '%s\n' "$f"; done; }
list_out() { local f; for f in "$1"/* "$1"/*/*; do [[ -f "$f" ]] && printf '%s\n' "$f"; done; }
# lines of $2 that are not in $1
new_lines() { local l; while IFS= read -r l; do [[ -n "$l" && $'\n'"$1"$'\n' != *$'\n'"$l"$'\n'* ]] && echo "$l"; done <<< "$2"; }
md5_rel() { local f; (cd "$1" && for f in * */*; do [[ -f "$f" ]] && printf '%s\0' "$f"; done | xargs -0 -r md5sum); }
st_hlen() { od -An -tu8 -N8 "$1" | tr -d ' '; }
# same tensor bytes (the data section after the JSON header)
same_tensors() {
  local a=$1 b=$2 ha hb
  ha=$(st_hlen "$a") && hb=$(st_hlen "$b") || return 1
  cmp -s -i $((8 + ha)):$((8 + hb)) "$a" "$b"
}
st_epoch() { head -c $((8 + $(st_hlen "$1"))) "$1" | grep -ao '"epoch":"[0-9]*"' | grep -o '[0-9]*'; }
log_without_seconds() { awk -F, 'BEGIN { OFS = "," } { NF = NF - 1; print }' "$1"; }

# ---- the uninterrupted reference run ----
t0=$(now_us)
"${TRAIN[@]}" -o "$T/ref" > "$T/ref.log" 2>&1 || { cat "$T/ref.log"; echo "reference train failed"; exit 1; }
D_US=$(($(now_us) - t0))
for f in best.safetensors last.safetensors log.csv split.csv val_list.txt val_eval/summary.csv; do
  [[ -s "$T/ref/$f" ]] && ok || bad "reference run did not write $f"
done
[[ $(st_epoch "$T/ref/last.safetensors") == 12 ]] && ok || bad "reference last.safetensors is not at epoch 12"
[[ -z "$(list_tmp "$T/ref")" ]] && ok || bad "reference run left temporary files: $(list_tmp "$T/ref")"
echo "reference train run: $((D_US / 1000)) ms; killing at random offsets in 0..$((D_US * 11 / 10000)) ms"

# ---- checks on a folder a killed train left ----
declare -A loaded # checksum -> 1 for checkpoints already seen to load
corrupt=0
check_train_dir() {
  local dir=$1 f rel sum ep rows
  while IFS= read -r f; do
    [[ $(basename "$f") =~ $TMP_RE ]] || { bad "$f: unexpected hidden file"; corrupt=$((corrupt + 1)); }
  done < <(list_tmp "$dir")
  while IFS= read -r f; do
    rel=${f#"$dir"/}
    case $rel in
    best.safetensors | last.safetensors)
      sum=$(md5sum < "$f")
      if [[ -z "${loaded[$sum]:-}" ]]; then
        if "$BIN" predict --model "$f" "$T/ph/images/0000.png" -o "$T/chk" --threads 1 > "$T/chk.log" 2>&1; then
          loaded[$sum]=1
        else
          bad "$f does not load after a kill: $(tail -1 "$T/chk.log")"
          corrupt=$((corrupt + 1))
        fi
      fi ;;
    log.csv)
      if ! awk -F, 'NR == 1 { if ($1 != "epoch") exit 1; nf = NF; next }
                    { if (NF != nf || $1 != NR - 1) exit 1 }' "$f" || [[ -n "$(tail -c 1 "$f")" ]]; then
        bad "$f is not a complete log after a kill: $(tail -2 "$f" | tr '\n' '|')"
        corrupt=$((corrupt + 1))
      elif [[ -f "$dir/last.safetensors" ]]; then
        ep=$(st_epoch "$dir/last.safetensors")
        rows=$(($(wc -l < "$f") - 1))
        ((rows >= ep)) || { bad "$f has $rows rows but last.safetensors is at epoch $ep"; corrupt=$((corrupt + 1)); }
      fi ;;
    split.csv | val_list.txt | val_eval/*.csv | val_pred/*.png)
      cmp -s "$f" "$T/ref/$rel" || { bad "$f differs from the uninterrupted run's"; corrupt=$((corrupt + 1)); } ;;
    *) bad "$f: unexpected file in the output folder"; corrupt=$((corrupt + 1)) ;;
    esac
  done < <(list_out "$dir")
}

# compare a finished run with the reference
check_finished() {
  local dir=$1
  for f in last.safetensors best.safetensors; do
    if same_tensors "$dir/$f" "$T/ref/$f"; then ok; else
      bad "$dir/$f: tensors differ from the uninterrupted run (epoch $(st_epoch "$dir/$f"))"
      corrupt=$((corrupt + 1))
    fi
  done
  if cmp -s <(log_without_seconds "$dir/log.csv") <(log_without_seconds "$T/ref/log.csv"); then ok; else
    bad "$dir/log.csv differs from the uninterrupted run's (seconds column aside)"
  fi
}

# ---- 1. train: kill, check, resume, ... ----
t_train=$(now_us)
kills=0 hits=0 attempts=0 chains=0
declare -A hit_kind
chain_dir="$T/chain0"
while ((kills < KILLS && attempts < 3 * KILLS)); do
  attempts=$((attempts + 1))
  cmd=("${TRAIN[@]}" -o "$chain_dir")
  [[ -f "$chain_dir/last.safetensors" ]] && cmd+=(--resume "$chain_dir/last.safetensors")
  before=$(list_tmp "$chain_dir")
  off=$(rand_us $((D_US * 11 / 10)))
  { timeout --foreground -s KILL "$(secs "$off")" "${cmd[@]}" > "$T/attempt.log" 2>&1; } 2>/dev/null # no "Killed" line
  rc=$?
  finished=0
  if ((rc == 124 || rc == 137)); then # timeout --foreground: 124 once it has killed the run
    kills=$((kills + 1))
    new=$(new_lines "$before" "$(list_tmp "$chain_dir")")
    if [[ -n "$new" ]]; then
      hits=$((hits + 1))
      k=$(echo "$new" | head -1)
      case $k in
      */val_pred/*) k=val_pred ;;
      *) k=$(basename "$k" | sed -E 's/^\.([^.]+)\..*/\1/') ;;
      esac
      hit_kind[$k]=$((${hit_kind[$k]:-0} + 1))
    fi
    check_train_dir "$chain_dir"
  elif ((rc == 0)); then
    finished=1
    [[ -z "$(list_tmp "$chain_dir")" ]] && ok || bad "a finished run left temporary files: $(list_tmp "$chain_dir")"
  elif ((rc == 2)) && grep -q "already completed 12 epochs" "$T/attempt.log"; then
    finished=1 # killed after the last checkpoint, during the final evaluation
    [[ -z "$(list_tmp "$chain_dir")" ]] && ok || bad "temporary files left after a completed run: $(list_tmp "$chain_dir")"
  else
    bad "train attempt exited $rc: $(tail -2 "$T/attempt.log" | tr '\n' '|')"
    finished=1
  fi
  if ((finished)); then
    check_finished "$chain_dir"
    rm -rf "$chain_dir" # keeps /tmp use to a few MB
    chains=$((chains + 1))
    chain_dir="$T/chain$chains"
  fi
done
# the last chain: resume without a kill to the end
if [[ -d "$chain_dir" ]]; then
  cmd=("${TRAIN[@]}" -o "$chain_dir")
  [[ -f "$chain_dir/last.safetensors" ]] && cmd+=(--resume "$chain_dir/last.safetensors")
  "${cmd[@]}" > "$T/attempt.log" 2>&1
  rc=$?
  if ((rc == 0)) || { ((rc == 2)) && grep -q "already completed 12 epochs" "$T/attempt.log"; }; then ok; else
    bad "final resume failed: $(tail -2 "$T/attempt.log")"
  fi
  check_finished "$chain_dir"
  [[ -z "$(list_tmp "$chain_dir")" ]] && ok || bad "a finished run left temporary files: $(list_tmp "$chain_dir")"
  chains=$((chains + 1))
fi
((kills == KILLS)) && ok || bad "only $kills of $KILLS train runs were killed in $attempts attempts"
kinds=""
for k in "${!hit_kind[@]}"; do kinds+=" $k:${hit_kind[$k]}"; done
echo "train: $(( ($(now_us) - t_train) / 1000000 )) s, $kills kills in $attempts runs, $hits while a temporary file existed (${kinds# }), $chains chains" \
     "resumed to the end and compared bit for bit, $corrupt corrupt or differing outputs"

# ---- 2. predict and eval: each output is the old or the new version, never half ----
"${TRAIN[@]}" --epochs 1 --no-final-eval -o "$T/old" > "$T/old.log" 2>&1 || bad "old-model train failed"
MODELS=("$T/old/last.safetensors" "$T/ref/best.safetensors")
for m in 0 1; do
  "$BIN" predict --model "${MODELS[$m]}" "$T/ph/images" -o "$T/P$m" --overlay --threads 1 > /dev/null 2>&1 ||
    bad "predict with model $m failed"
  "$BIN" eval --pred "$T/P$m" --truth "$T/ph/masks" --classes nerve,vessel --labels 1,2 -o "$T/E$m" -q ||
    bad "eval of predictions $m failed"
done
ndiff=0
for f in "$T/P0"/*.png; do cmp -s "$f" "$T/P1/${f##*/}" || ndiff=$((ndiff + 1)); done
((ndiff > 0)) && ok || bad "old and new models predict the same label maps (the test would prove nothing)"
cmp -s "$T/E0/per_case.csv" "$T/E1/per_case.csv" && bad "old and new eval tables are the same" || ok

# kill_outputs NAME KILLS REF0 REF1 -- command with @M@ replaced by 0/1 (alternating), output folder $T/work_NAME
kill_outputs() {
  local name=$1 n=$2 r0=$3 r1=$4
  shift 5
  local out="$T/work_$name" i m rc k=0 h=0 bads=0 f rel t0 d sum
  declare -A known # relative path -> " sum_old sum_new "
  while read -r sum rel; do known[$rel]+=" $sum "; done < <(md5_rel "$r0")
  while read -r sum rel; do known[$rel]+=" $sum "; done < <(md5_rel "$r1")
  cp -r "$r0" "$out"
  t0=$(now_us)
  "${@//@M@/1}" > /dev/null 2>&1 || bad "$name: uninterrupted run failed"
  d=$(($(now_us) - t0))
  for ((i = 0; k < n && i < 3 * n; i++)); do
    m=$((i % 2))
    before=$(list_tmp "$out")
    { timeout --foreground -s KILL "$(secs "$(rand_us $((d * 11 / 10)))")" "${@//@M@/$m}" > /dev/null 2>&1; } 2>/dev/null
    rc=$?
    ((rc == 124 || rc == 137)) && k=$((k + 1))
    ((rc == 0 || rc == 124 || rc == 137)) || bad "$name exited $rc"
    [[ -n "$(new_lines "$before" "$(list_tmp "$out")")" ]] && h=$((h + 1))
    while IFS= read -r f; do
      [[ $(basename "$f") =~ $TMP_RE ]] || { bad "$f: unexpected hidden file"; bads=$((bads + 1)); }
    done < <(list_tmp "$out")
    # one md5sum over the folder (not a cmp per file: process starts dominate the time)
    while read -r sum rel; do
      if [[ "${known[$rel]:-}" != *" $sum "* ]]; then
        bad "$name: $rel is neither the old nor the new version after a kill"
        bads=$((bads + 1))
      fi
    done < <(md5_rel "$out")
  done
  ((k == n)) && ok || bad "$name: only $k of $n runs were killed"
  # a last run to the end: exactly the new outputs, no temporary file left
  "${@//@M@/1}" > /dev/null 2>&1 || bad "$name: final run failed"
  if diff -r "$out" "$r1" > /dev/null; then ok; else bad "$name: outputs differ from a clean run after the kills"; fi
  [[ -z "$(list_tmp "$out")" ]] && ok || bad "$name: temporary files left after a clean run: $(list_tmp "$out")"
  ((bads == 0)) && ok
  corrupt=$((corrupt + bads))
  echo "$name: $(( ($(now_us) - t0) / 1000000 )) s, $k kills ($((d / 1000)) ms run), $h while a temporary file existed, $bads half-written outputs"
}
ln -s "${MODELS[0]}" "$T/M0.safetensors"
ln -s "${MODELS[1]}" "$T/M1.safetensors"
kill_outputs predict "$PKILLS" "$T/P0" "$T/P1" -- \
  "$BIN" predict --model "$T/M@M@.safetensors" "$T/ph/images" -o "$T/work_predict" --overlay --threads 1
kill_outputs eval "$PKILLS" "$T/E0" "$T/E1" -- \
  "$BIN" eval --pred "$T/P@M@" --truth "$T/ph/masks" --classes nerve,vessel --labels 1,2 -o "$T/work_eval" -q

# ---- 3. a full disk ----
full_disk() { # SIZE NAME -- command; the command writes under $MNT/NAME
  local size=$1 name=$2 out rc f rel
  shift 3
  mkdir -p "$MNT"
  if ! mount -t tmpfs -o size="$size" tmpfs "$MNT" 2>/dev/null; then
    echo "SKIP: full disk ($name): cannot mount a tmpfs (needs root)"
    skip=$((skip + 1))
    return
  fi
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  [[ $rc -eq 1 ]] && ok || bad "$name into a full disk exited $rc (expected 1): $out"
  [[ "$out" == *"$MNT/$name/"* ]] && ok || bad "$name on a full disk: message names no output file: $out"
  [[ -z "$(list_tmp "$MNT")" ]] && ok || bad "$name on a full disk left temporary files: $(list_tmp "$MNT")"
  REPLY=$out
}
check_full_copies() { # DIR REFDIR: every file left equals the reference's
  local f rel
  while IFS= read -r f; do
    rel=${f#"$1"/}
    cmp -s "$f" "$2/$rel" || { bad "$f: partial or different file left on a full disk"; corrupt=$((corrupt + 1)); }
  done < <(list_out "$1")
}
full_disk 16k train -- "${TRAIN[@]}" -o "$MNT/train"
if mountpoint -q "$MNT"; then
  [[ "$REPLY" == *"No space left on device"* ]] && ok || bad "train on a full disk: message lacks the reason: $REPLY"
  check_train_dir "$MNT/train"
  echo "full disk, train: $REPLY"
  umount "$MNT"
fi
full_disk 16k predict -- "$BIN" predict --model "${MODELS[1]}" "$T/ph/images" -o "$MNT/predict" --overlay --threads 1
if mountpoint -q "$MNT"; then
  check_full_copies "$MNT/predict" "$T/P1"
  echo "full disk, predict: $REPLY"
  umount "$MNT"
fi
full_disk 4k eval -- "$BIN" eval --pred "$T/P1" --truth "$T/ph/masks" --classes nerve,vessel --labels 1,2 \
  -o "$MNT/eval" -q
if mountpoint -q "$MNT"; then
  [[ "$REPLY" == *"No space left on device"* ]] && ok || bad "eval on a full disk: message lacks the reason: $REPLY"
  check_full_copies "$MNT/eval" "$T/E1"
  echo "full disk, eval: $REPLY"
  umount "$MNT"
fi

echo "corrupt or half-written outputs: $corrupt; wall time $((($(now_us) - t_begin) / 1000000)) s"
echo "$pass passed, $fail failed${skip:+, $skip skipped}"
[[ $fail -eq 0 ]]
