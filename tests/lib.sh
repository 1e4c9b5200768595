# Shared helpers for the shell tests, sourced as:  . "$(dirname "$0")/lib.sh" NAME
#   BIN      the dolor program under test ($DOLOR_BIN, default ./dolor)
#   SRC      the source tree ($DOLOR_SOURCE_DIR, default ..)
#   T        a new scratch folder /tmp/dolor_NAME_XXXXXX, removed on exit (a test that must also unmount
#            something sets its own EXIT trap, ending with rm -rf "$T")
#   ok, bad MESSAGE, skip MESSAGE      count a passed, failed or skipped check
#   expect_fail CODE NEEDLE -- CMD...  CMD must exit with CODE and print (stdout or stderr) a message holding NEEDLE
#   finish                             print "N passed, N failed[, N skipped]"; exit 0 only if nothing failed
# ctest reads the closing line; exit code 77 means the whole test was skipped.
BIN=${DOLOR_BIN:-./dolor}
SRC=${DOLOR_SOURCE_DIR:-..}
T=$(mktemp -d "/tmp/dolor_${1:-test}_XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
skipped=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*" >&2; }
expect_fail() {
  local code=$1 needle=$2 out rc
  shift 3
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $code ]]; then bad "'$*' exited $rc (expected $code): $out"; return; fi
  if [[ "$out" != *"$needle"* ]]; then bad "'$*' message lacks '$needle': $out"; return; fi
  ok
}
finish() {
  if ((skipped)); then echo "$pass passed, $fail failed, $skipped skipped"; else echo "$pass passed, $fail failed"; fi
  [[ $fail -eq 0 ]]
  exit
}
