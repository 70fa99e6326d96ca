#!/bin/sh
# test_layering.sh - src/kernels/ knows matrices and vectors, never nets
# (docs/DESIGN: net.c -> layers/, plans -> kernels/, never back). Checks:
#   layering_includes  every #include "..." in src/kernels/ names a file
#                      of src/kernels/ or lamina.h: no internal.h, no
#                      layers/, so no include cycle with src/*.c;
#   layering_names     no file of src/kernels/ names the net's internals
#                      (lm_net, lm__layer, lm_ws, lm__small_plan, ...),
#                      not even in a comment;
#   layering_calls     no object of src/kernels/ uses a symbol defined by
#                      the library's other objects (nm): the kernels
#                      call no function of net.c, act.c or the plans, so
#                      the call graph between them has no cycle either.
#   layering_gemm_pool the kernels' own call cycle gemm.o <-> pool.o is gone
#                      (the pool takes per-thread hooks); fails if it comes
#                      back (LM_LAYERING_KERNEL_CYCLES=0 only prints it).
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: why".
BUILD=${BUILD:-build}
KERNEL_CYCLES=${LM_LAYERING_KERNEL_CYCLES:-1}
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------ includes
bad=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' src/kernels/*.c src/kernels/*.h |
    while IFS= read -r line; do
        file=${line%%:*}
        inc=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
        [ "$inc" = lamina.h ] && continue
        case $inc in */*) ;; *) [ -f "src/kernels/$inc" ] && continue ;; esac
        printf '%s includes "%s"; ' "$file" "$inc"
    done)
if [ -n "$bad" ]; then echo "FAIL layering_includes: $bad"
else echo "ok layering_includes"; fi

# --------------------------------------------------------------- names
names='lm_net|lm__net[a-z_]*|lm__layer[a-z_]*|lm_ws|lm__ws[a-z_]*|lm__kind[a-z_]*|lm__small_plan|lm__small_(net|use|forward|backward|enable|floats)|lm__act_(forward|backward)|lm__err'
hits=$(grep -nwE "$names" src/kernels/*.c src/kernels/*.h | head -5 | tr '\n' ' ')
if [ -n "$hits" ]; then echo "FAIL layering_names: $hits"
else echo "ok layering_names"; fi

# --------------------------------------------------------------- calls
kobj=$(ls "$BUILD"/obj/src/kernels/*.o 2>/dev/null)
oobj=$(find "$BUILD/obj/src" -name '*.o' ! -path '*/obj/src/kernels/*' 2>/dev/null | sort)
if ! command -v nm >/dev/null 2>&1; then
    echo "skip layering_calls: nm (binutils) is not installed"
    exit 0
elif [ -z "$kobj" ] || [ -z "$oobj" ]; then
    echo "skip layering_calls: no objects under $BUILD/obj/src (build the library first)"
    exit 0
fi
# shellcheck disable=SC2086
nm -g --defined-only $oobj | awk 'NF >= 3 { print $3 }' | sort -u >"$tmp/outside"
bad=""
for o in $kobj; do
    nm -u "$o" | awk '{ print $NF }' | sort -u >"$tmp/undef"
    up=$(comm -12 "$tmp/undef" "$tmp/outside" | tr '\n' ' ')
    [ -n "$up" ] && bad="$bad$(basename "$o") uses $up; "
done
if [ -n "$bad" ]; then echo "FAIL layering_calls: $bad"
else echo "ok layering_calls ($(echo "$kobj" | wc -w) kernel objects use nothing of the $(echo "$oobj" | wc -w) others)"; fi

# ------------------------------------------------ the kernels' own cycles
# Edges a -> b where a.o uses a symbol b.o defines; a cycle of two is
# a -> b and b -> a.
for o in $kobj; do
    nm -g --defined-only "$o" | awk 'NF >= 3 { print $3 }' | sort -u >"$tmp/def.$(basename "$o" .o)"
    nm -u "$o" | awk '{ print $NF }' | sort -u >"$tmp/use.$(basename "$o" .o)"
done
cycles=""
for o in $kobj; do
    a=$(basename "$o" .o)
    for p in $kobj; do
        b=$(basename "$p" .o)
        [ "$a" \< "$b" ] || continue
        ab=$(comm -12 "$tmp/use.$a" "$tmp/def.$b" | tr '\n' ' ')
        ba=$(comm -12 "$tmp/use.$b" "$tmp/def.$a" | tr '\n' ' ')
        [ -n "$ab" ] && [ -n "$ba" ] && cycles="$cycles$a.o <-> $b.o ($a uses ${ab}; $b uses ${ba}); "
    done
done
# The cycle issue 12 names, gemm.o <-> pool.o, is one check; the rest (cpu.o's variant table and
# the families it picks between) are printed for the record.
case $cycles in
*"gemm.o <-> pool.o"*)
    gp=$(printf '%s' "$cycles" | sed 's/.*\(gemm\.o <-> pool\.o ([^)]*)\).*/\1/')
    if [ "$KERNEL_CYCLES" = 1 ]; then echo "FAIL layering_gemm_pool: $gp"
    else echo "# layering_gemm_pool (information only: LM_LAYERING_KERNEL_CYCLES=0): $gp"; fi ;;
*) echo "ok layering_gemm_pool" ;;
esac
[ -n "$cycles" ] && echo "# kernel objects using each other: $cycles"
exit 0
