#!/bin/sh
# tools/qemu-test.sh [TEST...] - cross-builds lamina for 64-bit ARM with
# Debian's gcc-aarch64-linux-gnu (zlib from zlib1g-dev:arm64) into
# build-arm/ and runs the test suite under qemu-user, so ARM cannot break
# unseen on an x86 machine. The makefile picks the NEON files from the
# compiler's target (mk/isa.sh). Prints the suite's ok/FAIL lines and its
# "N passed, N failed" summary; exits non-zero on a failure.
#
# TEST...: the tests to run, as names (test_kernels) or CLI scripts
# (tests/cli/test_cli.sh); default all of them. .ci/run names a subset
# that fits its time.
# Environment: CC (default aarch64-linux-gnu-gcc), BUILD (build-arm),
# QEMU (qemu-aarch64), QEMU_JOBS (test programs run at once; default the
# number of CPUs; the CLI scripts run one at a time, as tests/run.sh runs
# them).
#
# The programs run through qemu-aarch64 without -L: the arm64 libc and
# zlib come from Debian's multiarch packages (/lib/ld-linux-aarch64.so.1,
# /usr/lib/aarch64-linux-gnu), which the loader finds at their usual
# paths. (With -L /usr/aarch64-linux-gnu the tutorial hung under
# qemu 7.2.) There is no binfmt_misc in a container, so each program is
# renamed NAME.elf and NAME becomes a two-line script that execs qemu:
# tests/run.sh and the CLI tests run them unchanged.
set -u
cd "$(dirname "$0")/.." || exit 2
# (this script calls itself through xargs -P for each test program: its
# output into BUILD/qemu-logs/NAME.log, its status into NAME.rc)
if [ "${1:-}" = --one ]; then
    "$2" >"$3.log" 2>&1
    echo $? >"$3.rc"
    exit 0
fi
CC=${CC:-aarch64-linux-gnu-gcc}
BUILD=${BUILD:-build-arm}
QEMU=${QEMU:-qemu-aarch64}

command -v "$QEMU" >/dev/null || { echo "FAIL qemu-test: no $QEMU"; exit 1; }
arch=$(sh mk/isa.sh arch $CC)
[ "$arch" = aarch64 ] || { echo "FAIL qemu-test: $CC does not target aarch64 ($arch)"; exit 1; }

mkdir -p "$BUILD" || exit 2
tests=""
for t in tests/test_*.c; do tests="$tests $BUILD/tests/$(basename "$t" .c)"; done
# shellcheck disable=SC2086
if ! make -j2 BUILD="$BUILD" CC="$CC" all $tests >"$BUILD/cross-build.log" 2>&1; then
    tail -30 "$BUILD/cross-build.log"
    echo "FAIL qemu-test: cross build (log $BUILD/cross-build.log)"
    exit 1
fi

# NAME -> NAME.elf plus a launcher (again after a relink)
wrap() {
    f=$1
    [ -f "$f" ] || return 0
    if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        mv -f "$f" "$f.elf"
        printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$QEMU" "$(pwd)/$f.elf" >"$f"
        chmod +x "$f"
    fi
}
for f in "$BUILD/lamina" "$BUILD"/tests/test_* "$BUILD"/examples/*; do
    case $f in *.elf) continue ;; esac
    wrap "$f"
done

# the programs and CLI scripts to run
progs="" scripts=""
if [ $# -eq 0 ]; then
    progs=$(ls "$BUILD"/tests/test_* | grep -v '\.elf$')
    scripts=$(ls tests/cli/test_*.sh)
else
    for t in "$@"; do
        case $t in
        *.sh) scripts="$scripts $t" ;;
        *) progs="$progs $BUILD/tests/$t" ;;
        esac
    done
fi

# counted as tests/run.sh counts (which would run every CLI script)
passed=0 failed=0
log=$(mktemp) && trap 'rm -f "$log"' EXIT
JOBS=${QEMU_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
[ "$JOBS" -ge 1 ] 2>/dev/null || JOBS=1
logs="$BUILD/qemu-logs"
rm -rf "$logs" && mkdir -p "$logs" || exit 2
# shellcheck disable=SC2086
for p in $progs; do printf '%s %s\n' "$p" "$logs/$(basename "$p")"; done |
    xargs -n 2 -P "$JOBS" sh tools/qemu-test.sh --one
for p in $progs; do
    out="$logs/$(basename "$p")"
    cat "$out.log"
    rc=$(cat "$out.rc" 2>/dev/null)
    [ -n "$rc" ] || rc=1
    np=$(grep -c '^ok ' "$out.log"); nf=$(grep -c '^FAIL ' "$out.log")
    if [ $rc -ne 0 ] && [ "$nf" -eq 0 ]; then echo "FAIL $(basename "$p"): exited with status $rc"; nf=1; fi
    passed=$((passed + np)); failed=$((failed + nf))
done
for s in $scripts; do
    env LAMINA="$BUILD/lamina" BUILD="$BUILD" sh "$s" >"$log" 2>&1
    rc=$?
    cat "$log"
    np=$(grep -c '^ok ' "$log"); nf=$(grep -c '^FAIL ' "$log")
    if [ $rc -ne 0 ] && [ "$nf" -eq 0 ]; then echo "FAIL $s: exited with status $rc"; nf=1; fi
    passed=$((passed + np)); failed=$((failed + nf))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
