#!/usr/bin/env bash
# Installs every system package mafat needs on Debian 12 (bookworm). Idempotent:
# it only calls apt-get when something is missing.
set -euo pipefail

PKGS=(
  # Toolchain: LLVM/MLIR 22 (bookworm-security), CMake + Ninja, GoogleTest.
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22 lld-22
  cmake ninja-build g++ libgtest-dev libzstd-dev zlib1g-dev libedit-dev libcurl4-openssl-dev libxml2-dev
  # aarch64 cross target: link with clang + lld against Debian's arm64 libc, run under qemu.
  qemu-user libc6-dev-arm64-cross libgcc-12-dev-arm64-cross gcc-aarch64-linux-gnu
  # Python side: importers, references, benches.
  python3 python3-numpy python3-onnx python3-torch python3-torchvision python3-matplotlib
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
