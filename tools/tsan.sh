#!/bin/sh
# tools/tsan.sh - builds the library and tests/test_tsan.c with
# ThreadSanitizer into build-tsan/ (independent of the main build) and
# runs it. Prints the test's ok/FAIL lines; exits non-zero on a failed
# case or any ThreadSanitizer report (exitcode 66).
# Environment: CC (default cc), TSAN_EXTRA (more tests/test_*.c to run).
set -u
cd "$(dirname "$0")/.." || exit 2
CC=${CC:-cc}
OUT=build-tsan
CFLAGS="-std=c11 -g -O1 -pthread -fsanitize=thread -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L"
mkdir -p "$OUT/obj" || exit 2
rm -f "$OUT"/obj/*.o
arch=$(sh mk/isa.sh arch $CC)
objs=""
for src in src/*.c src/*/*.c; do
    [ -f "$src" ] || continue
    obj="$OUT/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
    # the target's variant files only, with their flags (mk/isa.sh)
    isa=$(sh mk/isa.sh file "$src" "$arch") || continue
    # shellcheck disable=SC2086
    $CC $CFLAGS $isa -c "$src" -o "$obj" || { echo "FAIL tsan: cannot compile $src"; exit 1; }
    objs="$objs $obj"
done
rm -f "$OUT/liblamina.a"
# shellcheck disable=SC2086
ar rcs "$OUT/liblamina.a" $objs || exit 2

status=0
for t in tests/test_tsan.c ${TSAN_EXTRA:-}; do
    name=$(basename "$t" .c)
    # shellcheck disable=SC2086
    $CC $CFLAGS -o "$OUT/$name" "$t" "$OUT/liblamina.a" -lz -lm || { echo "FAIL $name: cannot build"; status=1; continue; }
    log="$OUT/$name.log"
    TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
        "./$OUT/$name" >"$log" 2>&1
    rc=$?
    grep -E '^(ok|FAIL) ' "$log"
    if grep -q 'WARNING: ThreadSanitizer' "$log"; then
        echo "FAIL $name: ThreadSanitizer report (full text in $log):"
        grep -A12 'WARNING: ThreadSanitizer' "$log" | head -40
        status=1
    elif [ $rc -ne 0 ]; then
        echo "FAIL $name: exited with status $rc (see $log)"
        status=1
    fi
done
[ $status -eq 0 ] && echo "tsan: clean"
exit $status
