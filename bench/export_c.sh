#!/bin/sh
# bench/export_c.sh - single-row latency of the C code `lamina export
# --format c` writes, against lamina's own lm_net_predict on one row (one
# thread) and ONNX Runtime (one thread, a model built from the exported
# weights by bench/export_c_onnx.py), for the Fashion-MNIST MLP
# 784-256-128-10 and the README's CNN. The nets are trained for one epoch
# on 6000 images (latency does not depend on accuracy, but relu sparsity
# does, so the weights are real ones). The exported code is built twice:
# -O2 (portable, what an embedded build resembles) and -O3 -march=native.
# Each peer runs ROUNDS times interleaved; each keeps its best median.
# Writes bench/EXPORT_C.md (also printed).
#
#   sh bench/export_c.sh            (after make; about 2 minutes)
# Environment: BUILD (default build), FASHION_DIR, EXPORT_C_ROUNDS (3),
# BENCH_PY (a Python with onnx and onnxruntime; default bench/.venv's,
# else /work/main/bench/.venv's).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
DATA=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
ROUNDS=${EXPORT_C_ROUNDS:-3}
CC=${CC:-cc}
PY=${BENCH_PY:-bench/.venv/bin/python}
[ -x "$PY" ] || PY=/work/main/bench/.venv/bin/python
L=$BUILD/lamina
OUT_MD=bench/EXPORT_C.md
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
say() { echo "export_c: $*" >&2; }

[ -x "$L" ] && [ -f "$BUILD/liblamina.a" ] || { say "build lamina first (make)"; exit 1; }
[ -f "$DATA/train-images-idx3-ubyte.gz" ] || { say "no Fashion-MNIST in $DATA"; exit 1; }

be32() {
    printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"
    printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}
slice() {
    { printf '\000\000\010\003'; be32 "$3"; be32 28; be32 28
      gzip -dc "$1" | tail -c +17 | head -c $(($3 * 784)); } >"$4-images.idx"
    { printf '\000\000\010\001'; be32 "$3"
      gzip -dc "$2" | tail -c +9 | head -c "$3"; } >"$4-labels.idx"
}
slice "$DATA/train-images-idx3-ubyte.gz" "$DATA/train-labels-idx1-ubyte.gz" 6000 "$tmp/tr"
slice "$DATA/t10k-images-idx3-ubyte.gz" "$DATA/t10k-labels-idx1-ubyte.gz" 1000 "$tmp/te"

MLP=256:relu,128:relu,10:softmax
CNN=conv:32:3x3:same:relu,maxpool:2,conv:64:3x3:same:relu,maxpool:2,128:relu,dropout:0.5,10:softmax
for n in mlp cnn; do
    spec=$MLP; [ $n = cnn ] && spec=$CNN
    say "training $n for one epoch on 6000 images"
    "$L" train --data "$tmp/tr-images.idx" --labels "$tmp/tr-labels.idx" --layers "$spec" \
        --optimizer adam --lr 0.001 --batch 64 --epochs 1 --quiet --out "$tmp/$n.lmn" >/dev/null || exit 1
    "$L" export "$tmp/$n.lmn" --format c --out "$tmp/$n.c" >/dev/null || exit 1
    up=$(echo $n | tr a-z A-Z)
    for o in O2 O3; do
        flags=-O2; [ $o = O3 ] && flags="-O3 -march=native"
        $CC $flags -std=c99 -I"$tmp" -include "$tmp/$n.h" -DPREDICT=${n}_predict -DN_IN=${up}_N_IN \
            -DN_OUT=${up}_N_OUT bench/export_c_run.c "$tmp/$n.c" -o "$tmp/run_${n}_$o" -lm || exit 1
    done
done
$CC -O2 -std=c11 -Iinclude bench/export_c_lamina.c "$BUILD/liblamina.a" -o "$tmp/run_lamina" \
    -lz -lm -pthread || exit 1
HAVE_ORT=1
"$PY" -c 'import onnx, onnxruntime' 2>/dev/null || { HAVE_ORT=0; say "no onnxruntime in $PY: ORT rows NA"; }

kv() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1" | head -n 1; }
# best A B: the smaller number (NA-aware)
best() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "" || a + 0 < b + 0) print a; else print b }'; }
for n in mlp cnn; do
    eval "c2_$n= c3_$n= lm_$n= ort_$n="
    for r in $(seq "$ROUNDS"); do
        say "$n round $r"
        "$tmp/run_${n}_O2" "$tmp/te-images.idx" >"$tmp/o2" || exit 1
        "$tmp/run_${n}_O3" "$tmp/te-images.idx" >"$tmp/o3" || exit 1
        "$tmp/run_lamina" "$tmp/$n.lmn" "$tmp/te-images.idx" >"$tmp/lm" || exit 1
        eval "c2_$n=\$(best \"\$c2_$n\" $(kv "$tmp/o2" latency_us))"
        eval "c3_$n=\$(best \"\$c3_$n\" $(kv "$tmp/o3" latency_us))"
        eval "lm_$n=\$(best \"\$lm_$n\" $(kv "$tmp/lm" latency_us))"
        if [ $HAVE_ORT = 1 ]; then
            "$PY" bench/export_c_onnx.py "$tmp/$n.c" "$tmp/te-images.idx" "$(kv "$tmp/o2" out0)" >"$tmp/ort" ||
                { HAVE_ORT=0; say "export_c_onnx.py failed"; }
            ORTV=$(kv "$tmp/ort" ort)
            eval "ort_$n=\$(best \"\$ort_$n\" $(kv "$tmp/ort" latency_us))"
        fi
    done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "NA"; else printf "%.2f", a / b }'; }
{
    echo "## Exported C code: single-row latency (bench/export_c.sh)"
    echo
    echo "Made by \`sh bench/export_c.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg); $($CC --version | head -n 1); ONNX Runtime ${ORTV:-NA}."
    echo "Median microseconds of one-row calls (2000 calls over 1000 test images), best of $ROUNDS interleaved rounds; every peer on one thread, normalisation and softmax included."
    echo "Ratio = peer / exported C at -O2 (above 1: the exported code is faster)."
    echo
    echo "| net | exported C -O2 | exported C -O3 -march=native | lamina lm_net_predict | ONNX Runtime (Python call) | lamina / C -O2 | ORT / C -O2 | lamina / C -O3 native |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    for n in mlp cnn; do
        eval "a=\$c2_$n b=\$c3_$n c=\$lm_$n d=\$ort_$n"
        name="MLP 784-256-128-10"; [ $n = cnn ] && name="CNN conv32-pool-conv64-pool-128-10"
        echo "| $name | $a | $b | $c | ${d:-NA} | $(ratio "$c" "$a") | $(ratio "$d" "$a") | $(ratio "$c" "$b") |"
    done
    echo
    echo "What the numbers measure: the exported code is plain C99 loops for small targets (no packing buffers, no threads, no SIMD intrinsics: only what the compiler vectorises), reading its weights straight from const arrays; lamina's lm_net_predict runs its packed GEMM kernels (AVX-512 here) and, for conv layers, im2col; ONNX Runtime its MLAS kernels. So the -O3 -march=native column is the fair one against them, and the -O2 column is closer to what a microcontroller build sees."
    echo
    echo "The ONNX model is built from the exported file's own weights and checked against the C code's outputs (row 0, within 1e-4) before timing; its time includes the Python \`sess.run\` call (about as bench/peers/fashion_torch.py measures it)."
} >"$OUT_MD"
cat "$OUT_MD"
