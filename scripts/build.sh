#!/usr/bin/env bash
# Configures (once) and builds mafat into build/ with CMake + Ninja against
# Debian's LLVM/MLIR 22. Incremental: re-running only rebuilds what changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MAFAT_BUILD_DIR:-$root/build}"
llvm=/usr/lib/llvm-22
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$llvm/bin/clang" \
    -DCMAKE_CXX_COMPILER="$llvm/bin/clang++" \
    -DMLIR_DIR="$llvm/lib/cmake/mlir" \
    -DPython3_EXECUTABLE=/usr/bin/python3
fi
ninja -C "$build" "$@"
