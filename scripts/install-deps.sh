#!/usr/bin/env bash
# Install the Debian 12 packages dolor needs to build and test. Idempotent: when nothing is missing it only asks dpkg.
#   scripts/install-deps.sh          build + test dependencies (run as root)
#   scripts/install-deps.sh --auto   the same, as `make test` / `make demo` call it: as root directly, otherwise
#                                    through sudo when it is there, otherwise stop with the one command to run
#   scripts/install-deps.sh --fuzz   also clang and its libFuzzer runtime (make fuzz, make fuzz-smoke)
#   scripts/install-deps.sh --tools  also the references used by tools/ and bench/ (PyTorch, R, pydicom, nibabel)
#   scripts/install-deps.sh --fresh  also mmdebstrap (scripts/fresh-check.sh)
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      libdnnl-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev libnifti2-dev
      libopenjp2-7-dev libcharls-dev libdcmtk-dev r-mathlib libcjson-dev libyaml-dev
      libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libmicrohttpd-dev
      chromium libopenmpi-dev openmpi-bin libprotobuf-c-dev protobuf-c-compiler libonnx-dev)
auto=0
args=()
for arg in "$@"; do
  case "$arg" in
    --auto) auto=1 ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev); args+=("$arg") ;;
    --tools) pkgs+=(python3-torch python3-numpy python3-scipy python3-pydicom python3-gdcm dcmtk python3-nibabel python3-pil
                    r-base-core r-cran-proc r-cran-psych r-cran-car libgdcm-tools libopenjp2-tools python3-skimage python3-sklearn
                    python3-onnx); args+=("$arg") ;;
    --fresh) pkgs+=(mmdebstrap); args+=("$arg") ;;
    *) echo "install-deps: unknown option $arg (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
if ! command -v dpkg-query >/dev/null; then
  echo "install-deps: this script is for Debian 12 (no dpkg-query here); install the packages named in $0 by hand" >&2
  exit 1
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  ((auto)) || echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  self="scripts/install-deps.sh${args[*]:+ ${args[*]}}"
  if ((auto)) && command -v sudo >/dev/null; then
    echo "install-deps: installing ${missing[*]} through sudo"
    exec sudo bash "$0" "${args[@]}"
  fi
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run this once as root, then again the command you typed:  sudo $self" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: all ${#pkgs[@]} packages present"
