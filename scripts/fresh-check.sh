#!/usr/bin/env bash
# Prove that README's two commands work on a machine that has never seen dolor.
#
#   scripts/fresh-check.sh [COMMIT]      (as root; default COMMIT is HEAD)
#
# 1. builds a minimal Debian 12 root with mmdebstrap (variant minbase: the Essential packages and apt, plus make,
#    which a user needs to type the commands at all), with the package sources and Acquire options taken from this
#    host's own apt configuration;
# 2. puts a clean clone of COMMIT at /work/main in it and a copy of ../shared at /work/shared, mounted read-only;
# 3. runs README's two commands there, `make demo` then `make test`, as root in a chroot inside a private mount
#    namespace, and prints each one's wall time and exit code.
# Nothing is cached between runs: every package is downloaded and installed again, which is the point.
# Environment: FRESH_KEEP=1 keeps the root afterwards; FRESH_DIR=parent folder for it (default /var/tmp);
# FRESH_TIMEOUT=seconds allowed per command (default 1500).
# Exit code: 0 when both commands exit 0; 1 otherwise (the log's tail is printed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
commit=${1:-HEAD}
shared=${DOLOR_SHARED:-$here/../shared}
per_cmd_timeout=${FRESH_TIMEOUT:-1500}

if [[ $(id -u) -ne 0 ]]; then
  echo "fresh-check: needs root (mmdebstrap, chroot and mounts): sudo $0 $*" >&2
  exit 1
fi
if [[ ! -d $shared ]]; then
  echo "fresh-check: $shared not found (set DOLOR_SHARED)" >&2
  exit 1
fi
bash "$here/scripts/install-deps.sh" --auto --fresh
rev=$(git -C "$here" rev-parse --verify "$commit^{commit}")

work=$(mktemp -d "${FRESH_DIR:-/var/tmp}/dolor-fresh.XXXXXX")
cleanup() {
  if [[ ${FRESH_KEEP:-0} == 1 ]]; then
    echo "fresh-check: root kept in $work/root"
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
root=$work/root
log=$work/log.txt

# The host's package sources: every enabled one-line .list and deb822 .sources file, as apt itself reads them.
srcs=$work/sources
: > "$srcs"
list=$(apt-config dump --format '%v%n' Dir::Etc::sourcelist 2>/dev/null | head -n 1)
parts=$(apt-config dump --format '%v%n' Dir::Etc::sourceparts 2>/dev/null | head -n 1)
etc=/$(apt-config dump --format '%v%n' Dir::Etc 2>/dev/null | head -n 1)
[[ $list == /* ]] || list=$etc/${list:-sources.list}
[[ $parts == /* ]] || parts=$etc/${parts:-sources.list.d}
oneline=0 deb822=0
if [[ -f $list ]] && grep -qE '^[[:space:]]*deb[[:space:]]' "$list"; then
  grep -E '^[[:space:]]*deb[[:space:]]' "$list" >> "$srcs"; oneline=1
fi
for f in "$parts"/*.list; do
  [[ -f $f ]] && grep -E '^[[:space:]]*deb[[:space:]]' "$f" >> "$srcs" && oneline=1 || true
done
d822=()
for f in "$parts"/*.sources; do [[ -f $f ]] && d822+=("$f"); done
mirrors=()
if ((oneline)); then mirrors+=("$srcs"); fi
mirrors+=("${d822[@]}")
if ((${#mirrors[@]} == 0)); then
  echo "fresh-check: this host has no apt sources (looked in $list and $parts)" >&2
  exit 1
fi
# Acquire options that decide whether those sources work here (proxies, validity checks of snapshot archives).
aptopt=$work/apt.conf
apt-config dump | grep -E '^Acquire::(https?|ftp)::Proxy|^Acquire::(Check-Valid-Until|Check-Date|Retries|ForceIPv4)' \
  > "$aptopt" || true

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
t0=$(date +%s)
echo "fresh-check: commit $rev; Debian 12 minbase root in $root"
if ! mmdebstrap --variant=minbase --include=make --aptopt="$aptopt" bookworm "$root" "${mirrors[@]}" >"$log" 2>&1; then
  tail -n 30 "$log"
  echo "fresh-check: mmdebstrap failed (log above)" >&2
  exit 1
fi
t1=$(date +%s)
echo "fresh-check: root built in $(fmt $((t1 - t0))) ($(du -sh --one-file-system "$root" | cut -f1))"

mkdir -p "$root/work"
git clone -q --no-hardlinks "$here" "$root/work/main"
git -C "$root/work/main" checkout -q --detach "$rev"
cp -a "$shared/." "$root/work/shared"
chmod -R a-w "$root/work/shared"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# One command inside the root: its own namespace with /proc, /sys, /dev, and /work/shared read-only.
run_in_root() {
  unshare --mount --fork bash -c '
    set -e
    r=$1; shift
    mount --make-rprivate /
    mount -t proc proc "$r/proc"
    mount --rbind /sys "$r/sys"
    mount --rbind /dev "$r/dev"
    mount --bind "$r/work/shared" "$r/work/shared"
    mount -o remount,bind,ro "$r/work/shared"
    exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DOLOR_REQUIRE_DATA=1 "$@"
  ' fresh "$root" "$@"
}

status=0
summary=()
for cmd in "make demo" "make test"; do
  echo "fresh-check: [$cmd] in /work/main ..."
  s=$(date +%s)
  set +e
  run_in_root timeout "$per_cmd_timeout" bash -c "cd /work/main && $cmd" >>"$log" 2>&1
  rc=$?
  set -e
  e=$(date +%s)
  summary+=("$(printf '%-10s exit %3d  wall %s' "$cmd" "$rc" "$(fmt $((e - s)))")")
  echo "fresh-check: [$cmd] exit $rc, wall $(fmt $((e - s)))"
  if ((rc != 0)); then
    status=1
    tail -n 40 "$log"
    break
  fi
done
grep -E '^install-deps:|tests passed|Mean foreground Dice|mean foreground' "$log" | sed 's/^/  | /' || true
echo "fresh-check: summary (commit ${rev:0:12}, total $(fmt $(($(date +%s) - t0))), root build $(fmt $((t1 - t0))))"
for l in "${summary[@]}"; do echo "  $l"; done
if ((status)); then echo "fresh-check: FAILED"; else echo "fresh-check: both commands passed on a fresh Debian 12 root"; fi
exit $status
