#!/bin/sh
# tools/valgrind.sh [TEST...] - runs test programs under valgrind memcheck
# (default: every program in $BUILD/tests/, BUILD defaulting to build) and
# prints one line per program in the harness format, "ok valgrind NAME
# (S s)" or "FAIL valgrind NAME: why", then "N passed, N failed". A
# program fails when valgrind finds an error or a definite/indirect leak
# (exit 99), when the test itself fails, or when it runs past
# VALGRIND_TIMEOUT seconds (default 600). Full logs go to
# $BUILD/valgrind/NAME.log.
# Environment: VALGRIND_FLAGS (more valgrind options), VALGRIND_JOBS
# (programs run at once; default the number of CPUs: valgrind runs a
# program's threads one at a time, so each takes one CPU).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
LIMIT=${VALGRIND_TIMEOUT:-600}

# One program: its line; non-zero when it fails.
run_one() {
    t=$1
    name=$(basename "$t")
    log="$BUILD/valgrind/$name.log"
    start=$(date +%s)
    # shellcheck disable=SC2086
    # LM_TEST_VALGRIND: a test may run fewer repeats of the same paths
    LM_TEST_VALGRIND=1 timeout "$LIMIT" valgrind --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        --track-origins=yes --num-callers=30 ${VALGRIND_FLAGS:-} "$t" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        echo "ok valgrind $name (${secs}s)"
        return 0
    fi
    case $rc in
    99) why="memory errors or leaks: $(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')" ;;
    124) why="timed out after ${LIMIT}s (needs a reduced mode under valgrind)" ;;
    *) why="exit $rc; failing cases: $(grep '^FAIL ' "$log" | head -3 | tr '\n' ';')" ;;
    esac
    echo "FAIL valgrind $name: $why (log $log)"
    return 1
}

# (this script calls itself through xargs -P for each program)
if [ "${1:-}" = --one ]; then
    run_one "$2"
    exit
fi

command -v valgrind >/dev/null 2>&1 || { echo "FAIL valgrind: valgrind is not installed"; exit 1; }
if [ $# -eq 0 ]; then
    set -- "$BUILD"/tests/test_*
    [ -e "$1" ] || { echo "FAIL valgrind: no test programs in $BUILD/tests (run make first)"; exit 1; }
fi
mkdir -p "$BUILD/valgrind" || exit 2
JOBS=${VALGRIND_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
[ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=1
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
for t in "$@"; do
    [ -x "$t" ] && printf '%s\n' "$t"
done | BUILD=$BUILD xargs -I{} -P "$JOBS" sh tools/valgrind.sh --one {} | tee "$out"
passed=$(grep -c '^ok valgrind ' "$out")
failed=$(grep -c '^FAIL valgrind ' "$out")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
