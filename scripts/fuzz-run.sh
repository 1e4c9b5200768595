#!/usr/bin/env bash
# Run libFuzzer targets, two at a time, and print one line per target.
#   scripts/fuzz-run.sh [-b BUILD] [-t SECONDS] [-o OUTDIR] [-j PARALLEL] [TARGET...]
# BUILD (default build-fuzz) holds the fuzz_<target> programs (make fuzz). Each target starts from a scratch copy
# of its committed seeds fuzz/corpus/<target>/ in OUTDIR/corpus/<target>/ (default OUTDIR: a new folder under /tmp),
# plus, read-only, the folders named in $DOLOR_FUZZ_SEEDS_<target> (colon-separated, e.g. real sample files that
# stay where they are); $DOLOR_FUZZ_ARGS_<target> adds libFuzzer options (e.g. -max_len=200000). Logs: OUTDIR/<target>.log; crashing inputs: OUTDIR/artifacts/<target>/.
# Targets: all fuzz/fuzz_*.c by default. Exit status 1 if any target crashed (or found a leak, OOM or timeout),
# 2 on usage errors.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=build-fuzz secs=60 out="" par=2
while getopts "b:t:o:j:" opt; do
  case $opt in
    b) build=$OPTARG ;; t) secs=$OPTARG ;; o) out=$OPTARG ;; j) par=$OPTARG ;;
    *) echo "usage: $0 [-b BUILD] [-t SECONDS] [-o OUTDIR] [-j PARALLEL] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ $build = /* ]] || build=$src/$build
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$src"/fuzz/fuzz_*.c; do t=$(basename "$f" .c); targets+=("${t#fuzz_}"); done
fi
[[ -n $out ]] || out=$(mktemp -d /tmp/dolor-fuzz.XXXXXX)
mkdir -p "$out"
for t in "${targets[@]}"; do
  if [[ ! -x $build/fuzz_$t ]]; then
    echo "fuzz-run: $build/fuzz_$t is missing (build it with: make fuzz)" >&2
    exit 2
  fi
done

run_one() {
  local t=$1 corpus=$out/corpus/$1 art=$out/artifacts/$1/ seeds=() args=() extra
  mkdir -p "$corpus" "$art"
  [[ -d $src/fuzz/corpus/$t ]] && cp -n "$src/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null
  extra=DOLOR_FUZZ_SEEDS_$t
  if [[ -n ${!extra:-} ]]; then
    IFS=: read -r -a seeds <<<"${!extra}"
  fi
  extra=DOLOR_FUZZ_ARGS_$t
  [[ -n ${!extra:-} ]] && read -r -a args <<<"${!extra}"
  # libFuzzer stops at the first crash: start it again (the corpus grows in place) until the time is used up, so
  # a run finds every crash it can in its time; at most 20 restarts.
  local start=$SECONDS left rc worst=0 n=0
  : >"$out/$t.log"
  while left=$((secs - (SECONDS - start))); ((left > 0 && n < 21)); do
    # -rss_limit_mb: the largest legitimate decode of a fuzz-sized input stays far below it
    nice -n 19 "$build/fuzz_$t" "$corpus" "${seeds[@]}" "${args[@]}" -max_total_time="$left" -timeout=25 \
      -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$art" >>"$out/$t.log" 2>&1
    rc=$?
    ((rc != 0)) && worst=$rc
    ((rc == 0)) && break
    ((rc == 126 || rc == 127)) && sleep 5 # the program was being rebuilt: try again a little later
    n=$((n + 1))
  done
  echo "$worst" >"$out/$t.rc"
  echo $((SECONDS - start)) >"$out/$t.secs"
}

# at most $par targets at once
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if ((running >= par)); then
    wait -n
    running=$((running - 1))
  fi
done
wait

fail=0
printf '%-16s %8s %12s %8s %8s %8s  %s\n' target seconds execs cov ft corpus result
for t in "${targets[@]}"; do
  log=$out/$t.log rc=$(cat "$out/$t.rc" 2>/dev/null || echo 99)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $NF} END {if (NR) print s}')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  # crash-, leak-, oom-, timeout- inputs (slow-unit- files are only a note)
  nart=$(find "$out/artifacts/$t" -type f ! -name 'slow-unit-*' | wc -l)
  if [[ $rc = 0 && $nart = 0 ]]; then
    res=ok
  else
    res="FAILED (exit $rc, $nart artifact(s) in $out/artifacts/$t; log $log)"
    fail=1
  fi
  printf '%-16s %8s %12s %8s %8s %8s  %s\n' "$t" "$(cat "$out/$t.secs" 2>/dev/null)" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$res"
done
exit $fail
