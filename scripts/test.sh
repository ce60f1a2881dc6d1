#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole suite: lit tests of
# every pass, the tools' diagnostics, GoogleTest unit tests, the Python
# tests and the end-to-end numeric tests (x86-64 and aarch64 under qemu).
# Ends with "N passed, N failed" and exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MAFAT_BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

log="$build/test-results.log"
set +e
/usr/bin/python3 /usr/lib/llvm-22/bin/lit -sv --time-tests "$build/test" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# lit's summary lines look like "  Passed: 30 (100.00%)".
count() {
  sed -nE "s/^ *$1 *: *([0-9]+).*/\1/p" "$log" | tail -1 | grep . || echo 0
}
passed=$(( $(count Passed) + $(count 'Expectedly Failed') ))
failed=$(( $(count Failed) + $(count 'Unexpectedly Passed') + $(count Unresolved) + $(count 'Timed Out') ))
skipped=$(count Unsupported)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
