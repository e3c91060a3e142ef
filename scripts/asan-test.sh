#!/usr/bin/env bash
# Runs the native tests (test/native/, and test/fuzz/ when present) against the
# AddressSanitizer + UndefinedBehaviorSanitizer build of the addon (`npm run build:asan`, in
# build-asan/), loaded through TOKENFILTER_ADDON into an ordinary node with the ASan runtime
# preloaded. Fails if a test fails or if any process (test runner, its workers, children the
# tests spawn) wrote a sanitizer report. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

addon="$PWD/build-asan/Release/tokenfilter.node"
if [ ! -f "$addon" ]; then
  echo "asan-test: $addon not found; run \`npm run build:asan\` first" >&2
  exit 2
fi
# The ASan runtime the addon was linked against: it must be the first library in the process.
libasan=$(ldd "$addon" | awk '/libasan/ { print $3 }')
if [ -z "$libasan" ] || [ ! -f "$libasan" ]; then
  echo "asan-test: $addon is not linked against libasan (was it built with TF_SANITIZE=ON?)" >&2
  exit 2
fi

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
suites=(test/native)
[ -d test/fuzz ] && suites+=(test/fuzz)

set +e
# node keeps some allocations until exit by design: leak detection is off (scripts/leak-check.mjs
# watches growth instead). Tests ask for impossible allocations on purpose (out of memory must
# be an E_NATIVE error): allocator_may_return_null lets them fail as in a normal build. Reports
# go to files, so one in a child process is not lost.
TOKENFILTER_ADDON="$addon" \
  LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:allocator_may_return_null=1:log_path=$reports/asan" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan" \
  npx vitest run "${suites[@]}" "$@"
status=$?
set -e

# A report is an ASan error or a UBSan runtime error; the log may also hold warnings (such as
# an impossible allocation refused under allocator_may_return_null), which do not fail the run.
found=0
for f in "$reports"/*; do
  [ -e "$f" ] || continue
  if grep -qE 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$f"; then
    found=1
    echo "== sanitizer report: $f" >&2
    cat "$f" >&2
  fi
done
if [ "$found" -ne 0 ]; then
  echo "asan-test: sanitizer reports found (above)" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "asan-test: tests failed under the sanitizers (exit $status)" >&2
  exit "$status"
fi
echo "asan-test: ${suites[*]} passed with no sanitizer report"
