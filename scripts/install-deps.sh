#!/usr/bin/env bash
# Install the Debian 12 packages dolor needs to build and test. Idempotent; run as root.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --fuzz   also clang and its libFuzzer runtime (make fuzz)
#   scripts/install-deps.sh --tools  also the references used by tools/ and bench/ (PyTorch, R, pydicom, nibabel)
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      libdnnl-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev libnifti2-dev
      libopenjp2-7-dev libcharls-dev r-mathlib libcjson-dev)
for arg in "$@"; do
  case "$arg" in
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --tools) pkgs+=(python3-torch python3-numpy python3-scipy python3-pydicom python3-gdcm python3-nibabel python3-pil
                    r-base-core r-cran-proc r-cran-psych r-cran-car) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#pkgs[@]} packages present"
