#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole suite: lit tests of
# every pass, the tools' diagnostics, GoogleTest unit tests, the Python
# tests and the end-to-end numeric tests (x86-64 and aarch64 under qemu).
# Ends with "N passed, N failed" and exits non-zero on any failure.
#
# Opt-in hardening tiers (docs/Hardening.md), not part of the default run:
#   scripts/test.sh --sanitize [address,undefined|thread]
#       builds into build-sanitize/ with -DMAFAT_SANITIZE (default
#       address,undefined; needs libclang-rt-22-dev, installed here) and runs
#       the fast lit suite (everything but the e2e and importer model runs)
#       under it; any sanitizer report fails its test.
#   scripts/test.sh --valgrind
#       builds build/ as usual and runs the generated code of every e2e model
#       once under valgrind, unfused and at the smallest budget
#       (test/tools/valgrind_models.py, --mcpu=haswell: valgrind does not
#       decode AVX-512); any valgrind report fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tier=default
sanitizers=address,undefined
case "${1:-}" in
  --sanitize) tier=sanitize; [ -n "${2:-}" ] && sanitizers="$2" ;;
  --valgrind) tier=valgrind ;;
  "") ;;
  *) echo "usage: $0 [--sanitize [address,undefined|thread] | --valgrind]" >&2; exit 2 ;;
esac

"$root/scripts/install-deps.sh"
install_tier_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "test.sh: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# lit's summary lines look like "  Passed: 30 (100.00%)".
summarize() {
  local log="$1" status="$2"
  count() {
    sed -nE "s/^ *$1 *: *([0-9]+).*/\1/p" "$log" | tail -1 | grep . || echo 0
  }
  passed=$(( $(count Passed) + $(count 'Expectedly Failed') ))
  failed=$(( $(count Failed) + $(count 'Unexpectedly Passed') + $(count Unresolved) + $(count 'Timed Out') ))
  skipped=$(count Unsupported)
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  echo "$passed passed, $failed failed, $skipped skipped"
}

lit=(/usr/bin/python3 /usr/lib/llvm-22/bin/lit)
case "$tier" in
default)
  build="${MAFAT_BUILD_DIR:-$root/build}"
  "$root/scripts/build.sh"
  log="$build/test-results.log"
  set +e
  "${lit[@]}" -sv --time-tests "$build/test" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  ;;
sanitize)
  install_tier_pkgs libclang-rt-22-dev
  build="$root/build-sanitize"
  llvm=/usr/lib/llvm-22
  if [ ! -f "$build/build.ninja" ] || ! grep -q "^MAFAT_SANITIZE:STRING=$sanitizers\$" "$build/CMakeCache.txt"; then
    cmake -G Ninja -S "$root" -B "$build" \
      -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER="$llvm/bin/clang" \
      -DCMAKE_CXX_COMPILER="$llvm/bin/clang++" \
      -DMLIR_DIR="$llvm/lib/cmake/mlir" \
      -DPython3_EXECUTABLE=/usr/bin/python3 \
      -DMAFAT_SANITIZE="$sanitizers"
  fi
  ninja -C "$build"
  log="$build/test-results.log"
  # A report aborts the tool (SIGABRT, not exit status 1), so it fails even
  # a test that runs it under `not`. lit passes these variables through.
  # allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs in our
  # instrumented copy of its inline code but not in Debian's uninstrumented
  # libMLIR, which allocates from the same slabs (false use-after-poison).
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allow_user_poisoning=0:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="abort_on_error=1:halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
  export TSAN_OPTIONS="abort_on_error=1:halt_on_error=1:${TSAN_OPTIONS:-}"
  export ASAN_SYMBOLIZER_PATH="$llvm/bin/llvm-symbolizer"
  # The fast suite: every directory but the numeric model runs (e2e,
  # importers), whose time is spent in generated code and Python, which the
  # sanitizers do not instrument.
  suite=()
  for d in Analysis Dialect Pipelines Transforms tools unittests; do
    [ -d "$root/test/$d" ] && suite+=("$build/test/$d")
  done
  set +e
  "${lit[@]}" -sv --time-tests "${suite[@]}" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  # A report inside a test that expected a failure would not fail it.
  if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer" "$log"; then
    echo "test.sh: sanitizer reports in $log"
    status=1
  fi
  ;;
valgrind)
  install_tier_pkgs valgrind
  build="${MAFAT_BUILD_DIR:-$root/build}"
  "$root/scripts/build.sh"
  log="$build/valgrind-results.log"
  rm -rf "$build/valgrind"
  set +e
  /usr/bin/python3 "$root/test/tools/valgrind_models.py" --bin "$build/bin" \
    --workdir "$build/valgrind" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  passed=$(grep -c '^PASS:' "$log" || true)
  failed=$(grep -c '^FAIL:' "$log" || true)
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  echo "$passed passed, $failed failed"
  exit "$status"
  ;;
esac
summarize "$log" "$status"
exit "$status"
