#!/bin/sh
# bench/run.sh - measures lamina against its peers on this machine, in one
# go, and writes one markdown table (with ratios) and a description of the
# machine to bench/RESULTS.md (also printed).
#
#   (a) GEMM GFLOP/s at the Fashion-MNIST training shapes and 1024^3:
#       lamina vs OpenBLAS vs the machine's nominal fp32 peak
#   (b) Fashion-MNIST epoch (784-256-128-10, relu, softmax+CE, SGD momentum
#       0.9, lr 0.05, batch 64): lamina, PyTorch (Debian and PyPI),
#       numpy+OpenBLAS, FANN; each trainer's fastest epoch (the mean in
#       the notes) and test accuracy; lamina's 2 threads against its 1
#   (c) the tutorial's 1500 iterations: lamina vs numpy vs PyTorch
#   (d) single-row inference latency of the Fashion net
#   (e) peak RSS of each trainer
#
# Sections (a), (b) and (c) run BENCH_ROUNDS times (default 2), every
# trainer once a round, and keep each one's best: on a shared machine a slow
# spell then hits every trainer's rounds alike instead of deciding a ratio.
#
# Environment: BUILD (lamina's build folder, default build), BENCH_EPOCHS
# (default 3), BENCH_ROUNDS (default 2), FANN_EPOCHS (default 1),
# FASHION_DIR, BENCH_SKIP_INSTALL=1.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
EPOCHS=${BENCH_EPOCHS:-3}
ROUNDS=${BENCH_ROUNDS:-2}
FANN_EPOCHS=${FANN_EPOCHS:-1}
DATA=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
case $BUILD in /*) OUT=$BUILD/bench ;; *) OUT=$PWD/$BUILD/bench ;; esac
RESULTS=bench/RESULTS.md
VENV=bench/.venv
SYSPY=/usr/bin/python3
mkdir -p "$OUT"
ROWS=$OUT/rows.md
: >"$ROWS"
NOTES=""
note() { NOTES="$NOTES
- $*"; echo "bench: $*" >&2; }
say() { echo "bench: $*" >&2; }

# ------------------------------------------------------------ installs
if [ "${BENCH_SKIP_INSTALL:-0}" != 1 ]; then
    missing=""
    for p in python3-torch python3-numpy python3-venv libfann-dev libopenblas-dev zlib1g-dev; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        say "installing Debian packages:$missing"
        { apt-get update -q && apt-get install -y -q $missing; } >"$OUT/apt.log" 2>&1 ||
            note "apt-get install of$missing failed (see $OUT/apt.log)"
    fi
    if ! "$VENV/bin/python" -c 'import torch, onnxruntime, numpy' >/dev/null 2>&1; then
        say "installing torch, onnxruntime, numpy from PyPI into $VENV (large download)"
        { $SYSPY -m venv "$VENV" &&
            "$VENV/bin/pip" install -q --upgrade --progress-bar off torch onnxruntime numpy onnx; } \
            >"$OUT/pip.log" 2>&1 || note "PyPI install failed (see $OUT/pip.log); PyPI rows are NA"
    fi
fi
HAVE_VENV=0
"$VENV/bin/python" -c 'import torch' >/dev/null 2>&1 && HAVE_VENV=1

# --------------------------------------------------------------- build
say "building lamina and the bench programs"
make -s BUILD="$BUILD" "$BUILD/liblamina.a" >"$OUT/make.log" 2>&1 || {
    cat "$OUT/make.log" >&2
    echo "bench: lamina does not build" >&2
    exit 1
}
CFLAGS_B="-std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -pthread"
${CC:-cc} $CFLAGS_B -o "$OUT/gemm_bench" bench/gemm_bench.c "$BUILD/liblamina.a" -lopenblas -lz -lm ||
    exit 1
${CC:-cc} $CFLAGS_B -o "$OUT/fashion_bench" bench/fashion_bench.c "$BUILD/liblamina.a" -lz -lm ||
    exit 1
${CC:-cc} $CFLAGS_B -o "$OUT/tutorial_bench" bench/tutorial_bench.c "$BUILD/liblamina.a" -lz -lm ||
    exit 1
${CC:-cc} -O2 -pthread -o "$OUT/fma_peak" bench/fma_peak.c 2>"$OUT/fma_peak_build.log" ||
    note "fma_peak did not build (see $OUT/fma_peak_build.log)"
HAVE_FANN=1
${CC:-cc} $CFLAGS_B -o "$OUT/fann_bench" bench/fann_bench.c -lfloatfann -lz -lm 2>"$OUT/fann_build.log" ||
    { HAVE_FANN=0; note "FANN bench did not build (see $OUT/fann_build.log)"; }

# ------------------------------------------------------------- helpers
# kv LINE KEY: the value of KEY=... in LINE, or NA
kv() { v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1); echo "${v:-NA}"; }
# ratio A B: A / B to two decimals, NA if either is NA
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b + 0 == 0) print "NA"; else printf "%.0f%%", 100 * a / b }'; }
# row SECTION MEASUREMENT LAMINA PEER PEER_VALUE RATIO NOTE
row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@" >>"$ROWS"; }
# run LOG CMD...: runs a command, its stderr to LOG, prints its last stdout line
run() { log=$1; shift; "$@" 2>"$OUT/$log.err" | tail -n 1; }
NOBLASENV="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
# faster KEY A B: of two result lines, the one with the smaller KEY (NA loses)
faster() {
    a=$(kv "$2" "$1")
    b=$(kv "$3" "$1")
    if [ "$a" = NA ]; then echo "$3"
    elif [ "$b" = NA ]; then echo "$2"
    elif awk -v a="$a" -v b="$b" 'BEGIN { exit !(b < a) }'; then echo "$3"
    else echo "$2"; fi
}

# ------------------------------------------------------- machine facts
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MHZ=$(sed -n 's/^cpu MHz[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
NCPU=$(nproc)
FLAGS=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f)$' | tr '\n' ' ')
PEAK1=$(awk -v m="$MHZ" 'BEGIN { printf "%.1f", 32 * m / 1000 }')
PEAK2=$(awk -v m="$MHZ" -v n="$NCPU" 'BEGIN { c = n < 2 ? n : 2; printf "%.1f", c * 32 * m / 1000 }')
# the measured FMA peak (bench/fma_peak.c) replaces the nominal one
PEAKHOW="nominal: cores x 32 FLOP/cycle (two 256-bit FMA pipes, or one 512-bit) x nominal clock; the cores boost above it, so measured rates can pass 100%"
FMAP=$("$OUT/fma_peak" 2>/dev/null | tr '\n' ' ')
if [ -n "$(kv "$FMAP" gflops)" ] && [ "$(kv "$FMAP" gflops)" != NA ]; then
    PEAK1=$(printf '%s\n' "$FMAP" | sed -n 's/.*threads=1 gflops=\([0-9.]*\).*/\1/p')
    PEAK2=$(printf '%s\n' "$FMAP" | sed -n 's/.*threads=2 gflops=\([0-9.]*\).*/\1/p')
    PEAK2=${PEAK2:-$PEAK1}
    PEAKHOW="measured in this run by bench/fma_peak.c ($(kv "$FMAP" isa), 12 independent FMA chains a thread, best of 5)"
fi
say "CPU: $CPU; fp32 FMA peak $PEAK1 GFLOP/s on 1 thread, $PEAK2 on 2 ($PEAKHOW)"
# where the host has put the two vCPUs now: every 2-thread and 2-process
# figure depends on it (bench/c2c.c); cnn.sh, threads.sh and mpi.sh also
# measure it next to their runs
. bench/placement.sh
placement_build "$OUT"
C2C0=$(placement_ns)
note "placement at the start: a cache line's round trip between the two CPUs $C2C0 ns ($(placement_word "$C2C0"); near is at most 150 ns: the vCPUs share a cache; bench/c2c.c)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
BLASENV="OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset}"

# ------------------------------------------------------------ (a) GEMM
say "(a) GEMM"
# ROUNDS runs; each GFLOP/s the best of its rounds (the microseconds
# per step the smallest)
r=0
: >"$OUT/gemm_all.txt"
while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    $NOBLASENV "$OUT/gemm_bench" 0.2 >"$OUT/gemm_$r.txt" 2>"$OUT/gemm.err"
    tail -n +2 "$OUT/gemm_$r.txt" >>"$OUT/gemm_all.txt"
done
{
    head -n 1 "$OUT/gemm_1.txt"
    awk '{
        split($1, s, "="); name = s[2]
        if (!(name in seen)) { seen[name] = 1; order[++n] = name }
        for (i = 2; i <= NF; i++) {
            split($i, kv, "="); k = kv[1]; v = kv[2] + 0
            key = name SUBSEP k
            if (!(key in best) || (k ~ /^us/ ? v < best[key] : v > best[key])) best[key] = v
            if (!((name, i) in keys)) { keys[name, i] = k; nk[name] = i }
        }
    }
    END {
        for (j = 1; j <= n; j++) {
            name = order[j]; line = "shape=" name
            for (i = 2; i <= nk[name]; i++) { k = keys[name, i]; line = line " " k "=" best[name, k] }
            print line
        }
    }' "$OUT/gemm_all.txt"
} >"$OUT/gemm.txt"
GEMM_HEAD=$(head -n 1 "$OUT/gemm.txt")
VARIANT=$(kv "$GEMM_HEAD" variant)
say "lamina's CPU tune: $(kv "$GEMM_HEAD" tune) (cpuid $(kv "$GEMM_HEAD" cpu); LAMINA_CPU_TUNE=zen4|spr|generic pins one)"
VARIANT="$VARIANT, CPU tune $(kv "$GEMM_HEAD" tune) (cpuid $(kv "$GEMM_HEAD" cpu))"
OBCORE=$(kv "$GEMM_HEAD" openblas_core)
tail -n +2 "$OUT/gemm.txt" | while read -r line; do
    shape=$(kv "$line" shape)
    for t in 1 2; do
        l=$(kv "$line" lam$t)
        b=$(kv "$line" blas$t)
        pk=$PEAK1
        [ "$t" = 2 ] && pk=$PEAK2
        row "(a) GEMM GFLOP/s" "$shape, $t thread(s)" "$l" "OpenBLAS $OBCORE" "$b" \
            "$(ratio "$l" "$b")" "peak $pk: lamina $(pct "$l" "$pk"), OpenBLAS $(pct "$b" "$pk")"
    done
done

# ----------------------------------------------------- (b) Fashion-MNIST
say "(b) Fashion-MNIST, $EPOCHS epochs each, $ROUNDS rounds"
L1="" L2="" TD1="" TD2="" TP1="" TP2="" NP1="" NP2="" FN=""
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    L1=$(faster best_epoch "$L1" "$(run lamina1 "$OUT/fashion_bench" "$DATA" 1 "$EPOCHS")")
    L2=$(faster best_epoch "$L2" "$(run lamina2 "$OUT/fashion_bench" "$DATA" 2 "$EPOCHS")")
    TD1=$(faster best_epoch "$TD1" "$(cd bench/peers && run torchdeb1 $SYSPY fashion_torch.py --data "$DATA" --threads 1 --epochs "$EPOCHS")")
    TD2=$(faster best_epoch "$TD2" "$(cd bench/peers && run torchdeb2 $SYSPY fashion_torch.py --data "$DATA" --threads 2 --epochs "$EPOCHS")")
    if [ "$HAVE_VENV" = 1 ]; then
        TP1=$(faster best_epoch "$TP1" "$(cd bench/peers && run torchpypi1 ../.venv/bin/python fashion_torch.py --data "$DATA" --threads 1 --epochs "$EPOCHS" --onnx "$OUT/fashion.onnx")")
        TP2=$(faster best_epoch "$TP2" "$(cd bench/peers && run torchpypi2 ../.venv/bin/python fashion_torch.py --data "$DATA" --threads 2 --epochs "$EPOCHS")")
    fi
    NP1=$(faster best_epoch "$NP1" "$(cd bench/peers && run numpy1 $NOBLASENV OPENBLAS_NUM_THREADS=1 $SYSPY fashion_numpy.py --data "$DATA" --epochs "$EPOCHS")")
    NP2=$(faster best_epoch "$NP2" "$(cd bench/peers && run numpy2 $NOBLASENV OPENBLAS_NUM_THREADS=2 $SYSPY fashion_numpy.py --data "$DATA" --epochs "$EPOCHS")")
done
# FANN takes 15 s an epoch: one round
[ "$HAVE_FANN" = 1 ] && FN=$(run fann "$OUT/fann_bench" "$DATA" "$FANN_EPOCHS")

TDV=$(kv "$TD1" torch)
TPV=$(kv "$TP1" torch)
NPV=$(kv "$NP1" numpy)
fashion_row() { # THREADS LAMINA_LINE PEER_NAME PEER_LINE
    ls=$(kv "$2" best_epoch)
    ps=$(kv "$4" best_epoch)
    row "(b) Fashion epoch (s)" "$1 thread(s); test acc lamina $(kv "$2" test_acc), peer $(kv "$4" test_acc)" \
        "$ls" "$3" "$ps" "$(ratio "$ps" "$ls")" \
        "fastest epoch; mean of all: lamina $(kv "$2" sec_per_epoch), peer $(kv "$4" sec_per_epoch)"
}
fashion_row 1 "$L1" "PyTorch $TDV (Debian)" "$TD1"
fashion_row 2 "$L2" "PyTorch $TDV (Debian)" "$TD2"
fashion_row 1 "$L1" "PyTorch $TPV (PyPI)" "$TP1"
fashion_row 2 "$L2" "PyTorch $TPV (PyPI)" "$TP2"
fashion_row 1 "$L1" "numpy $NPV + OpenBLAS" "$NP1"
fashion_row 2 "$L2" "numpy $NPV + OpenBLAS" "$NP2"
fashion_row 1 "$L1" "FANN 2.2 incremental, $FANN_EPOCHS epoch(s)" "$FN"
# lamina against itself: what a second thread buys
l1=$(kv "$L1" best_epoch)
l2=$(kv "$L2" best_epoch)
row "(b) Fashion epoch (s)" "lamina 2 threads against 1 (fastest epochs)" "$l2" "lamina, 1 thread" "$l1" \
    "$(ratio "$l1" "$l2")" "means: $(kv "$L2" sec_per_epoch) and $(kv "$L1" sec_per_epoch)"
# the epoch's dense FLOP: 60000 x 2 x (forward 784x256 + 256x128 + 128x10,
# weight gradients the same, input gradients of the last two layers)
EPOCH_GF=60.43
for t in 1 2; do
    lt=$l1 pk=$PEAK1
    [ "$t" = 2 ] && lt=$l2 pk=$PEAK2
    gf=$(awk -v s="$lt" 'BEGIN { if (s == "NA" || s + 0 == 0) print "NA"; else printf "%.1f", 60.43 / s }')
    row "(b) Fashion epoch GFLOP/s" "lamina, $t thread(s), $EPOCH_GF GFLOP an epoch" "$gf" \
        "fp32 FMA peak, $t thread(s)" "$pk" "$(pct "$gf" "$pk")" "share of the measured peak"
done

note "MLP epoch quiet and with a busy neighbour (bench/threads.sh: program, quiet 1 / 2 threads, speedup, busy 1 / 2, busy 2/1, placement of the quiet 2-thread epoch): $(BUILD="$BUILD" bench/threads.sh "$OUT/fashion_bench" | tail -n 1)"

# ----------------------------------------------------------- (c) tutorial
say "(c) tutorial"
LT="" PN="" PTT=""
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    LT=$(faster ms "$LT" "$(run tutorial "$OUT/tutorial_bench")")
    p=$(run tutorial_peers $SYSPY bench/peers/tutorial_peers.py)
    PN=$(faster numpy_ms "$PN" "$p")
    PTT=$(faster torch_ms "$PTT" "$p")
done
lt=$(kv "$LT" ms)
row "(c) tutorial 1500 it. (ms)" "3-4-1 sigmoid, SSE, lr 1, batch 4; final loss lamina $(kv "$LT" final_loss)" \
    "$lt" "tutorial numpy (float64)" "$(kv "$PN" numpy_ms)" "$(ratio "$(kv "$PN" numpy_ms)" "$lt")" \
    "numpy final loss $(kv "$PN" numpy_loss)"
row "(c) tutorial 1500 it. (ms)" "same" "$lt" "PyTorch $TDV (Debian), 1 thread" "$(kv "$PTT" torch_ms)" \
    "$(ratio "$(kv "$PTT" torch_ms)" "$lt")" "torch final loss $(kv "$PTT" torch_loss)"

# ----------------------------------------------------------- (d) latency
ll=$(kv "$L1" latency_us)
row "(d) 1-row inference (us)" "Fashion net, median" "$ll" "PyTorch $TDV (Debian), 1 thread" \
    "$(kv "$TD1" latency_us)" "$(ratio "$(kv "$TD1" latency_us)" "$ll")" "ratio = peer / lamina"
row "(d) 1-row inference (us)" "Fashion net, median" "$ll" "PyTorch $TPV (PyPI), 1 thread" \
    "$(kv "$TP1" latency_us)" "$(ratio "$(kv "$TP1" latency_us)" "$ll")" ""
row "(d) 1-row inference (us)" "Fashion net, median" "$ll" "ONNX Runtime $(kv "$TP1" ort), 1 thread" \
    "$(kv "$TP1" onnx_latency_us)" "$(ratio "$(kv "$TP1" onnx_latency_us)" "$ll")" \
    "model exported from the PyPI torch"

# -------------------------------------------------------------- (e) RSS
rss_row() { # NAME LAMINA_LINE PEER_LINE
    l=$(kv "$2" rss_mb)
    p=$(kv "$3" rss_mb)
    row "(e) peak RSS (MB)" "Fashion trainer, 1 thread" "$l" "$1" "$p" "$(ratio "$p" "$l")" \
        "getrusage ru_maxrss; ratio = peer / lamina"
}
rss_row "PyTorch $TDV (Debian)" "$L1" "$TD1"
rss_row "PyTorch $TPV (PyPI)" "$L1" "$TP1"
rss_row "numpy $NPV + OpenBLAS" "$L1" "$NP1"
rss_row "FANN 2.2" "$L1" "$FN"

BUILD="$BUILD" CNN_VENV="$VENV" sh bench/cnn.sh --rows "$ROWS" >"$OUT/cnn.log" 2>&1 || note "the CNN bench failed (see $OUT/cnn.log)" # (f), bench/CNN.md
# ------------------------------------------------------------- results
BUILD="$BUILD" sh bench/export_c.sh >&2 || note "bench/export_c.sh (exported C latency) failed; bench/EXPORT_C.md is from an earlier run"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "# lamina benchmark results"
    echo
    echo "Made by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    echo "## Machine"
    echo
    echo "- CPU: $CPU, $NCPU cores, nominal clock $MHZ MHz (/proc/cpuinfo); flags: $FLAGS"
    echo "- fp32 FMA peak: $PEAK1 GFLOP/s on 1 thread, $PEAK2 on 2, $PEAKHOW. Shares of peak below divide by it."
    echo "- Load average before / after: $LOAD0 / $LOAD1 (other work on the machine makes timings noisy, 2-thread ones most)"
    echo "- $(${CC:-cc} --version | head -n 1); lamina GEMM variant: $VARIANT"
    echo "- OpenBLAS $(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || echo '?'), core $OBCORE; environment: $BLASENV. The OpenBLAS peers (GEMM bench, numpy) run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; lamina and PyTorch run with the environment as it is."
    echo "- PyTorch Debian $TDV, PyTorch PyPI $TPV, ONNX Runtime $(kv "$TP1" ort), numpy $NPV, FANN $(dpkg-query -W -f '${Version}' libfann-dev 2>/dev/null || echo '?')"
    echo "- Threads: lamina lm_net_set_threads(1|2); PyTorch torch.set_num_threads(1|2); numpy OPENBLAS_NUM_THREADS=1|2; GEMM bench openblas_set_num_threads and a lamina pool of 1|2; FANN single-threaded. OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}."
    echo "- Sections (a), (b) and (c): $ROUNDS rounds, every library once a round (FANN once), each one's best round kept."
    echo "- Fashion-MNIST: $EPOCHS epoch(s) each (FANN $FANN_EPOCHS), He init, pixels / 255; seconds per epoch exclude loading and are each trainer's fastest epoch (the least disturbed on a shared machine; the notes give the mean of all); accuracy on the 10000 test images after the last epoch. FANN 2.2 has no relu or softmax: symmetric sigmoid hidden units, sigmoid outputs, MSE, incremental training (its RPROP/quickprop are full-batch)."
    [ -n "$NOTES" ] && { echo "- Notes:$NOTES"; }
    echo
    echo "## Results"
    echo
    echo "Ratio: how many times better lamina is (GFLOP/s lamina / peer; for times and memory peer / lamina). Above 1 means lamina wins."
    echo
    echo "| section | measurement | lamina | peer | peer value | ratio | notes |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    cat "$ROWS"
    # what was (not) measured on ARM: written by hand, kept across runs
    [ -f bench/ARM.md ] && { echo; cat bench/ARM.md; }
    # profile, threads, CPU tunes, exported C: by hand, kept across runs
    [ -f bench/NOTES.md ] && { echo; sed -n '5,$p' bench/NOTES.md; }
} >"$RESULTS"
cat "$RESULTS"
BUILD="$BUILD" sh bench/python.sh >"$OUT/python.md" && { echo; echo "## Python package (bench/python.sh)"; echo; cat "$OUT/python.md"; } | tee -a "$RESULTS"
# 2 processes against 1 (MPI data parallelism): bench/MPI.md and a section here
sh bench/mpi.sh --append "$RESULTS"
# what bit-identical results across process counts would cost: bench/MPI_EXACT.md and a section here
BUILD="$BUILD" sh bench/mpi_exact.sh --append "$RESULTS"
# what synchronised batch norm costs a 2-process step: bench/MPI_SYNCBN.md and a section here
sh bench/mpi_syncbn.sh --append "$RESULTS"
