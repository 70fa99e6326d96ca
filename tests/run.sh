#!/bin/sh
# Runs each test program given (and the shell tests in tests/cli/ when the
# CLI is built), counts "ok"/"FAIL" lines, and ends with the summary line
# "N passed, N failed". A program that crashes or exits non-zero without
# reporting a failure counts as one failure.
BUILD=${BUILD:-build}
passed=0; failed=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
run_one() {
    name=$1; shift
    "$@" >"$log" 2>&1; rc=$?
    cat "$log"
    p=$(grep -c '^ok ' "$log"); f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
}
for t in "$@"; do run_one "$t" "$t"; done
if [ -x "$BUILD/lamina" ] && [ -d tests/cli ]; then
    for s in tests/cli/test_*.sh; do
        [ -f "$s" ] || continue
        run_one "$s" env LAMINA="$BUILD/lamina" BUILD="$BUILD" sh "$s"
    done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
