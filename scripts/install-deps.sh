#!/usr/bin/env bash
# Install what ferry needs to build, test and run its demo on Debian 12.
# Only packages that are missing are installed; needs root (or sudo).
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libcurl4-openssl-dev libarchive-dev libjansson-dev libsodium-dev libzstd-dev libssl-dev
  libyaml-dev libpcre2-dev libcmocka-dev
  dpkg-dev groff-base  # cpack -G DEB (dpkg-shlibdeps); man page checks
  docker-registry apache2-utils openssl skopeo umoci minisign zstd python3 time ca-certificates faketime
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian service would listen on :5000 for the whole machine; tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  $sudo systemctl stop docker-registry || true
fi
