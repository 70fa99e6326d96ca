#!/bin/sh
# mk/isa.sh - the one place that says which SIMD variant files there are,
# for which target architecture, and the compiler flags each is built
# with. The Makefile, tools/tsan.sh and fuzz/run.sh all ask it, so a flag
# changed here changes every build (they had drifted when each kept its
# own copy).
#
#   sh mk/isa.sh arch CC [FLAGS...]  target architecture of CC with FLAGS:
#                                    x86, aarch64 or other
#   sh mk/isa.sh variants ARCH       the variants built for ARCH
#   sh mk/isa.sh others ARCH         the variants NOT built for ARCH
#   sh mk/isa.sh flags VARIANT       the flags for src/*/*_VARIANT.c
#   sh mk/isa.sh file SRC ARCH       exit 1 if SRC is another ARCH's
#                                    variant file, else print its flags
#   sh mk/isa.sh san CC              extra flags for the variant files
#                                    in an ASan+UBSan build with CC
#
# The architecture comes from the compiler's predefined macros, not from
# `uname -m`: a cross compiler (CC=aarch64-linux-gnu-gcc) or -m32 builds
# for its target, not for this machine. Any other architecture builds no
# variant file: the portable C alone (src/kernels/cpu.c then offers "ref").
set -u

# variant  architecture  flags. NEON (Advanced SIMD) is part of every
# aarch64 CPU and of the base ABI, so it needs no flag.
table() {
    cat <<'TABLE'
avx2    x86      -mavx2 -mfma
avx512  x86      -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma
neon    aarch64
TABLE
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
arch)
    # shellcheck disable=SC2068
    macros=$("$@" -dM -E -x c /dev/null 2>/dev/null) || { echo other; exit 0; }
    case $macros in
    *"define __x86_64__ "* | *"define __i386__ "*) echo x86 ;;
    *"define __aarch64__ "*) echo aarch64 ;;
    *) echo other ;;
    esac
    ;;
variants) table | awk -v a="${1:-}" '$2 == a { printf "%s ", $1 }' ;;
others) table | awk -v a="${1:-}" '$2 != a { printf "%s ", $1 }' ;;
flags) table | awk -v v="${1:-}" '$1 == v { for (i = 3; i <= NF; i++) printf "%s ", $i }' ;;
file)
    src=$1 arch=$2
    for v in $(table | awk '{ print $1 }'); do
        case $src in
        *_"$v".c)
            table | awk -v v="$v" -v a="$arch" '$1 == v && $2 == a { for (i = 3; i <= NF; i++) printf "%s ", $i; found = 1 }
                END { exit !found }'
            exit $?
            ;;
        esac
    done
    exit 0
    ;;
san)
    # clang 14 took 56 s over gemm_avx512.c with ASan and UBSan (2 s
    # without): its unrolled micro-kernels hold thousands of loads, each
    # checked inline, and UBSan's pointer-overflow check on each address.
    # With ASan's checks made calls (as strict, a little slower to run)
    # and no pointer-overflow check (ASan still checks every access), 7 s.
    # gcc (17 s) accepts neither flag and gets none.
    if "$@" -fsanitize=address -fsanitize-address-outline-instrumentation -x c -c /dev/null \
        -o /dev/null >/dev/null 2>&1; then
        echo "-fsanitize-address-outline-instrumentation -fno-sanitize=pointer-overflow"
    fi
    ;;
*)
    echo "usage: sh mk/isa.sh arch CC [FLAGS] | variants ARCH | others ARCH | flags VARIANT | file SRC ARCH | san CC" >&2
    exit 2
    ;;
esac
