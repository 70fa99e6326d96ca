#!/bin/sh
# Runs each test program given, the shell tests tests/test_*.sh (the
# library's ABI, install) and, when the CLI is built, those in tests/cli/;
# counts "ok", "FAIL" and "skip" lines and ends with the summary line
# "N passed, N failed, N skipped". A skip is a case that could check
# nothing here (a SIMD variant this CPU lacks) and says why; it is neither
# a pass nor a failure. A program that crashes or exits non-zero without
# reporting a failure counts as one failure. LM_RUN_GIVEN_ONLY=1 runs only
# the programs given (tests/test_skip.sh checks this script that way).
BUILD=${BUILD:-build}
passed=0; failed=0; skipped=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
run_one() {
    name=$1; shift
    "$@" >"$log" 2>&1; rc=$?
    cat "$log"
    p=$(grep -c '^ok ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^skip ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}
for t in "$@"; do run_one "$t" "$t"; done
if [ "${LM_RUN_GIVEN_ONLY:-0}" != 1 ]; then
    for s in tests/test_*.sh; do
        [ -f "$s" ] || continue
        run_one "$s" env BUILD="$BUILD" sh "$s"
    done
    if [ -x "$BUILD/lamina" ] && [ -d tests/cli ]; then
        for s in tests/cli/test_*.sh; do
            [ -f "$s" ] || continue
            run_one "$s" env LAMINA="$BUILD/lamina" BUILD="$BUILD" sh "$s"
        done
    fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
