#!/bin/sh
# fuzz/run.sh [SECONDS] [TARGET...] - builds every fuzz target into
# build-fuzz/ (the library compiled from source with the fuzzer and
# sanitizer flags, independent of the main build), replays the regression
# inputs in tests/regress/<target>/, then fuzzes each target for SECONDS
# (default 60) on a working copy of its seed corpus.
# Exits non-zero on a crash, printing the path of the crashing input;
# copy it into tests/regress/<target>/ once the bug is fixed.
#
# Targets: model model_crc csv csv_cat idx onnx fann npy (library readers, also replayed by
# tests/test_regress.c) and spec opts (the CLI's parsers, replayed here).
# Environment: CC (default clang), FUZZ_FLAGS (extra libFuzzer flags),
# LIBSRC (the library's source folder, default src; a patched copy lets a
# fix be checked, or fuzzing go on past a known bug), FUZZ_JOBS (targets
# fuzzed at once, and objects compiled at once; default the number of
# CPUs: each target still gets SECONDS of one CPU, so two CPUs halve the
# wall time).
set -u
cd "$(dirname "$0")/.." || exit 2

CC=${CC:-clang}
OUT=build-fuzz
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
LIBSRC=${LIBSRC:-src}
CFLAGS="-std=c11 -g -O1 -pthread -Wall -Wextra -Wno-unused-parameter -Iinclude -I$LIBSRC -D_POSIX_C_SOURCE=200809L $SAN"
JOBS=${FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
[ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=1

die() { echo "fuzz/run.sh: $*" >&2; exit 2; }

max_len() {
    case $1 in
    model | model_crc | idx | onnx | fann | npy) echo 65536 ;;
    csv | csv_cat) echo 16384 ;;
    spec) echo 512 ;;
    opts) echo 1024 ;;
    *) echo 4096 ;;
    esac
}

extra_src() {
    case $1 in
    spec) echo "cli/spec.c cli/util.c cli/wrap.c" ;;
    opts) echo "cli/opts.c cli/util.c cli/wrap.c" ;;
    *) echo "" ;;
    esac
}

# One object, for the parallel build below: SRC OBJ ARCH. A variant file
# (one of FUZZ_VARIANTS) also gets FUZZ_VARIANT_SAN; the build below
# sets both once.
compile_one() {
    isa=$(sh mk/isa.sh file "$1" "$3") || return 0
    for v in ${FUZZ_VARIANTS:-}; do
        case $1 in *_"$v".c) isa="$isa ${FUZZ_VARIANT_SAN:-}" ;; esac
    done
    # shellcheck disable=SC2086
    $CC $CFLAGS $isa -fsanitize=fuzzer-no-link -c "$1" -o "$2" || {
        rm -f "$2"
        echo "fuzz/run.sh: cannot compile $1" >&2
        return 1
    }
}

# Fuzzes target $1 for $2 seconds on its working corpus; prints its
# ok/FAIL line, returns non-zero on a crash.
fuzz_one() {
    t=$1
    corpus="$OUT/corpus/$t"
    mkdir -p "$corpus" "$OUT/crashes/$t"
    [ -d "fuzz/corpus/$t" ] && cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
    log="$OUT/logs/$t.log"
    echo "fuzzing $t for ${2}s (log $log)"
    # shellcheck disable=SC2086
    "$OUT/fuzz_$t" -max_total_time="$2" -max_len="$(max_len "$t")" -rss_limit_mb=2048 \
        -timeout=20 -close_fd_mask=3 -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$t/" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "FAIL fuzz_$t: exit $rc; crashing input: ${art:-(none written, see $log)}"
        grep -E 'SUMMARY|ERROR: ' "$log" | head -3
        return 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -1)
    echo "ok fuzz_$t: ${runs:-?} runs, corpus $(find "$corpus" -type f | wc -l) files"
}

# (this script calls itself through xargs -P for the two above)
case ${1:-} in
--compile-one) shift; compile_one "$@"; exit ;;
--fuzz-one) shift; fuzz_one "$@"; exit ;;
esac

SECS=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-model model_crc csv csv_cat idx onnx fann npy spec opts}

# --- build the library with fuzzer instrumentation. Incremental: an
# object is rebuilt when its source or any header is newer, or when the
# compiler, flags or source folder changed (recorded in a stamp file).
mkdir -p "$OUT/obj" "$OUT/crashes" "$OUT/logs" || die "cannot create $OUT"
stamp="$OUT/obj/stamp"
conf="$CC $CFLAGS $LIBSRC $(cksum <mk/isa.sh)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$conf" ]; then
    rm -f "$OUT"/obj/*.o
    echo "$conf" >"$stamp"
fi
arch=$(sh mk/isa.sh arch $CC)
newest_h=$(ls -t include/*.h "$LIBSRC"/*.h "$LIBSRC"/*/*.h 2>/dev/null | head -1)
objs=""
todo=""
for src in "$LIBSRC"/*.c "$LIBSRC"/*/*.c; do
    [ -f "$src" ] || continue
    # the target's variant files only (mk/isa.sh)
    sh mk/isa.sh file "$src" "$arch" >/dev/null || continue
    obj="$OUT/obj/$(echo "${src#"$LIBSRC"/}" | tr / _ | sed 's/\.c$/.o/')"
    objs="$objs $obj"
    if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && { [ -z "$newest_h" ] || [ "$obj" -nt "$newest_h" ]; }; then
        continue
    fi
    todo="$todo $src $obj $arch"
done
if [ -n "$todo" ]; then
    FUZZ_VARIANTS=$(sh mk/isa.sh variants "$arch")
    FUZZ_VARIANT_SAN=$(sh mk/isa.sh san $CC)
    export FUZZ_VARIANTS FUZZ_VARIANT_SAN
    # shellcheck disable=SC2086
    printf '%s\n' $todo | xargs -n 3 -P "$JOBS" sh fuzz/run.sh --compile-one || die "cannot compile the library"
fi
rm -f "$OUT/liblamina-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$OUT/liblamina-fuzz.a" $objs || die "ar failed"

# --- build the targets
for t in $TARGETS; do
    [ -f "fuzz/fuzz_$t.c" ] || die "no target fuzz/fuzz_$t.c"
    # shellcheck disable=SC2086
    $CC $CFLAGS -fsanitize=fuzzer -o "$OUT/fuzz_$t" "fuzz/fuzz_$t.c" $(extra_src "$t") \
        "$OUT/liblamina-fuzz.a" -lz -lm || die "cannot build fuzz_$t"
done

status=0

# --- replay the regression inputs, one process each (each must run clean)
for t in $TARGETS; do
    dir=tests/regress/$t
    [ -d "$dir" ] || continue
    n=0
    bad=0
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        log="$OUT/logs/replay_${t}_$(basename "$f").log"
        if ! "$OUT/fuzz_$t" -rss_limit_mb=2048 "$f" >"$log" 2>&1; then
            echo "FAIL replay_$t: $f ($(grep -E "^fuzz_$t: |SUMMARY" "$log" | head -1); log $log)"
            bad=1
            status=1
        fi
    done
    [ $bad -eq 0 ] && [ $n -gt 0 ] && echo "ok replay_$t ($n inputs)"
done

[ "$SECS" -gt 0 ] 2>/dev/null || exit $status

# --- fuzz, JOBS targets at a time, each on its working corpus
# shellcheck disable=SC2086
printf '%s\n' $TARGETS | xargs -I{} -P "$JOBS" sh fuzz/run.sh --fuzz-one {} "$SECS" || status=1
exit $status
