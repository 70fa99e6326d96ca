#!/bin/sh
# tools/valgrind.sh [TEST...] - runs test programs under valgrind memcheck
# (default: every program in $BUILD/tests/, BUILD defaulting to build) and
# prints one line per program in the harness format, "ok valgrind NAME
# (S s)" or "FAIL valgrind NAME: why", then "N passed, N failed". A
# program fails when valgrind finds an error or a definite/indirect leak
# (exit 99), when the test itself fails, or when it runs past
# VALGRIND_TIMEOUT seconds (default 600). Full logs go to
# $BUILD/valgrind/NAME.log.
# Environment: VALGRIND_FLAGS (more valgrind options).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
LIMIT=${VALGRIND_TIMEOUT:-600}
command -v valgrind >/dev/null 2>&1 || { echo "FAIL valgrind: valgrind is not installed"; exit 1; }
if [ $# -eq 0 ]; then
    set -- "$BUILD"/tests/test_*
    [ -e "$1" ] || { echo "FAIL valgrind: no test programs in $BUILD/tests (run make first)"; exit 1; }
fi
mkdir -p "$BUILD/valgrind" || exit 2
passed=0
failed=0
for t in "$@"; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    log="$BUILD/valgrind/$name.log"
    start=$(date +%s)
    # shellcheck disable=SC2086
    timeout "$LIMIT" valgrind --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        --track-origins=yes --num-callers=30 ${VALGRIND_FLAGS:-} "$t" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        echo "ok valgrind $name (${secs}s)"
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    case $rc in
    99) why="memory errors or leaks: $(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')" ;;
    124) why="timed out after ${LIMIT}s (needs a reduced mode under valgrind)" ;;
    *) why="exit $rc; failing cases: $(grep '^FAIL ' "$log" | head -3 | tr '\n' ';')" ;;
    esac
    echo "FAIL valgrind $name: $why (log $log)"
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
