#!/bin/sh
# test_isa.sh - the build picks its SIMD files and their flags by the
# compiler's target architecture (mk/isa.sh): x86 compiles *_avx2.c and
# *_avx512.c with their flags, aarch64 (a cross compiler too) *_neon.c
# and no x86 flag, any other architecture neither; and the flags live in
# mk/isa.sh alone, not copied into the Makefile, tools/tsan.sh or
# fuzz/run.sh (those copies had drifted). Reads `make -n` (nothing is
# built). Run by tests/run.sh; prints "ok NAME" or "FAIL NAME: why".
cd "$(dirname "$0")/../.." || exit 1
failed=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }
plan() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -n -B BUILD=/nonexistent/isa-check CC="$1" /nonexistent/isa-check/liblamina.a 2>&1; }
has() { printf '%s\n' "$1" | grep -q -e "$2"; }
# the variant files a plan compiles, and whether it passes an x86 flag
files() { printf '%s\n' "$1" | grep -o 'src/kernels/[a-z0-9]*_[a-z0-9]*\.c' | grep -v _ref | tr '\n' ' '
    has "$1" '-mavx' && printf '(with -mavx flags)'; }

# --- the native compiler
arch=$(sh mk/isa.sh arch cc)
p=$(plan cc)
case $arch in
x86)
    if has "$p" '-mavx2 -mfma .*-c src/kernels/gemm_avx2\.c' && has "$p" '-mavx512f .*-c src/kernels/vec_avx512\.c' &&
        ! has "$p" '_neon\.c'; then ok isa_native_x86; else fail isa_native_x86 "builds $(files "$p")"; fi ;;
aarch64)
    if has "$p" 'src/kernels/gemm_neon\.c' && ! has "$p" '_avx' && ! has "$p" '-mavx'; then ok isa_native_aarch64
    else fail isa_native_aarch64 "builds $(files "$p")"; fi ;;
*)
    if ! has "$p" '_avx' && ! has "$p" '_neon'; then ok isa_native_other; else fail isa_native_other "variant files built"; fi ;;
esac

# --- a cross compiler for aarch64 (Debian's gcc-aarch64-linux-gnu)
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    p=$(plan aarch64-linux-gnu-gcc)
    if [ "$(sh mk/isa.sh arch aarch64-linux-gnu-gcc)" = aarch64 ] && has "$p" '-c src/kernels/gemm_neon\.c' &&
        has "$p" '-c src/kernels/vec_neon\.c' && ! has "$p" '_avx' && ! has "$p" '-mavx'; then
        ok isa_cross_aarch64
    else
        fail isa_cross_aarch64 "builds $(files "$p")"
    fi
else
    echo "# isa_cross_aarch64: no aarch64-linux-gnu-gcc here, not checked"
fi

# --- an unknown target: no variant file, each consumer told to skip them
if [ "$(sh mk/isa.sh arch false)" = other ] && [ -z "$(sh mk/isa.sh variants other)" ] &&
    ! sh mk/isa.sh file src/kernels/gemm_avx2.c other >/dev/null &&
    ! sh mk/isa.sh file src/kernels/vec_neon.c x86 >/dev/null &&
    [ "$(sh mk/isa.sh file src/kernels/gemm.c other)" = "" ] &&
    [ "$(sh mk/isa.sh file src/kernels/gemm_avx2.c x86)" = "$(sh mk/isa.sh flags avx2)" ]; then
    ok isa_other_portable
else
    fail isa_other_portable "mk/isa.sh picks variant files for an unknown target"
fi

# --- one place for the flags
copies=$(grep -l -e '-mavx' -e '-march' Makefile tools/tsan.sh fuzz/run.sh 2>/dev/null | tr '\n' ' ')
if [ -z "$copies" ]; then ok isa_flags_one_place; else fail isa_flags_one_place "ISA flags copied in: $copies"; fi

exit $failed
