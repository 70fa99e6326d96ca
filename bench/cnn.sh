#!/bin/sh
# bench/cnn.sh - issue 12's CNN epoch, lamina against PyTorch, in one run:
#   conv 32 3x3 same relu, maxpool 2, conv 64 3x3 same relu, maxpool 2,
#   dense 128 relu, dense 10 softmax; Adam 0.001, batch 64, Fashion-MNIST.
# lamina (the CLI) on 1 and 2 threads, PyTorch from PyPI (bench/.venv) and
# Debian's (/usr/bin/python3) on 1 and 2 threads (bench/peers/
# fashion_cnn_torch.py), every trainer once a round, each one's fastest
# round kept. Prints seconds an epoch, lamina's share of the measured FMA
# peak (../shared/tools/fma_peak.c, built here), peak RSS (getrusage /
# GNU time) and test accuracy, and writes bench/CNN.md.
#
#   sh bench/cnn.sh [--rows FILE]
#
# --rows FILE appends the rows in bench/run.sh's RESULTS.md table format.
# Environment: BUILD (default build), CNN_BATCHES (batches an epoch; 0,
# the default, is the full epoch of 938; e.g. 200 for a quick run on a busy
# machine: seconds are then scaled to a full epoch), CNN_ROUNDS (default
# 1), FASHION_DIR, CNN_VENV (PyPI torch's venv, default bench/.venv).
set -u
cd "$(dirname "$0")/.." || exit 1
ROWS_OUT=""
[ "${1:-}" = --rows ] && ROWS_OUT=$2
BUILD=${BUILD:-build}
BATCHES=${CNN_BATCHES:-0}
ROUNDS=${CNN_ROUNDS:-1}
DATA=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
VENV=${CNN_VENV:-bench/.venv}
SYSPY=/usr/bin/python3
case $BUILD in /*) OUT=$BUILD/bench ;; *) OUT=$PWD/$BUILD/bench ;; esac
mkdir -p "$OUT"
say() { echo "cnn: $*" >&2; }
SPEC=conv:32:3x3:same:relu,maxpool:2,conv:64:3x3:same:relu,maxpool:2,128:relu,10:softmax

make -s BUILD="$BUILD" "$BUILD/lamina" >"$OUT/cnn_make.log" 2>&1 || {
    cat "$OUT/cnn_make.log" >&2
    exit 1
}
. bench/placement.sh
placement_build "$OUT"
PEAK1=NA PEAK2=NA
if [ -f ../shared/tools/fma_peak.c ] &&
    ${CC:-cc} -O2 -pthread ../shared/tools/fma_peak.c -o "$OUT/fma_peak" 2>/dev/null; then
    P=$(taskset -c 0-1 "$OUT/fma_peak" 2>/dev/null || "$OUT/fma_peak")
    PEAK1=$(printf '%s\n' "$P" | sed -n 's/.*threads=1 gflops=//p')
    PEAK2=$(printf '%s\n' "$P" | sed -n 's/.*threads=2 gflops=//p')
fi

# The training images: all, or the first BATCHES*64 (IDX files cut here).
TRI=$DATA/train-images-idx3-ubyte.gz TRL=$DATA/train-labels-idx1-ubyte.gz
STEPS=938
if [ "$BATCHES" -gt 0 ] 2>/dev/null; then
    STEPS=$BATCHES
    TRI=$OUT/cnn-train-images TRL=$OUT/cnn-train-labels
    $SYSPY - "$DATA" "$BATCHES" "$TRI" "$TRL" <<'EOF' || exit 1
import gzip, struct, sys
d, n, oi, ol = sys.argv[1], int(sys.argv[2]) * 64, sys.argv[3], sys.argv[4]
for name, hdr, per, out in (("train-images-idx3-ubyte", 16, 784, oi),
                            ("train-labels-idx1-ubyte", 8, 1, ol)):
    b = gzip.open(f"{d}/{name}.gz").read()
    h = bytearray(b[:hdr]); h[4:8] = struct.pack(">I", n)
    open(out, "wb").write(bytes(h) + b[hdr:hdr + n * per])
EOF
fi

# lamina T: "sec_per_epoch=S test_acc=A rss_mb=M" from the CLI's own
# per-epoch time (training only) and GNU time's peak RSS.
lamina() {
    c0=$(placement_ns)
    m0=$(steal_mark)
    /usr/bin/time -f "rss_kb=%M" -o "$OUT/cnn_time.txt" "$BUILD/lamina" train --data "$TRI" \
        --labels "$TRL" --test "$DATA/t10k-images-idx3-ubyte.gz" \
        --test-labels "$DATA/t10k-labels-idx1-ubyte.gz" --layers "$SPEC" --optimizer adam \
        --lr 0.001 --batch 64 --epochs 1 --threads "$1" --out "$OUT/cnn.lmn" \
        >"$OUT/cnn_lamina.log" 2>&1 || { echo "sec_per_epoch=NA"; return; }
    s=$(sed -n 's/^trained 1 epochs (\([0-9.]*\)s per epoch.*/\1/p' "$OUT/cnn_lamina.log")
    a=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$OUT/cnn_lamina.log")
    m=$(sed -n 's/^rss_kb=//p' "$OUT/cnn_time.txt")
    echo "sec_per_epoch=${s:-NA} test_acc=${a:-NA} rss_mb=$(awk -v k="${m:-0}" 'BEGIN { printf "%.1f", k / 1024 }') c2c=$c0/$(placement_ns) steal=$(steal_pct "$m0")"
}
torch() { # PY T
    (cd bench/peers && "$1" fashion_cnn_torch.py --data "$DATA" --threads "$2" --batches "$BATCHES") \
        2>"$OUT/cnn_torch.err" | tail -n 1
}
kv() { v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1); echo "${v:-NA}"; }
# best OLD NEW: the line with the smaller sec_per_epoch (NA loses)
best() {
    a=$(kv "$1" sec_per_epoch) b=$(kv "$2" sec_per_epoch)
    if [ "$a" = NA ]; then echo "$2"
    elif [ "$b" = NA ]; then echo "$1"
    elif awk -v a="$a" -v b="$b" 'BEGIN { exit !(b < a) }'; then echo "$2"
    else echo "$1"; fi
}
# Seconds scaled to a full epoch of 938 batches
full() { awk -v s="$(kv "$1" sec_per_epoch)" -v n="$STEPS" 'BEGIN { if (s == "NA") print "NA"; else printf "%.2f", s * 938 / n }'; }
HAVE_VENV=0
"$VENV/bin/python" -c 'import torch' >/dev/null 2>&1 && HAVE_VENV=1
HAVE_DEB=0
$SYSPY -c 'import torch' >/dev/null 2>&1 && HAVE_DEB=1
TPV=NA TDV=NA
[ $HAVE_VENV = 1 ] && TPV=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
[ $HAVE_DEB = 1 ] && TDV=$($SYSPY -c 'import torch; print(torch.__version__)')

L1="" L2="" P1="" P2="" D1="" D2="" ROUNDLOG=""
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
r=1
while [ $r -le "$ROUNDS" ]; do
    say "round $r of $ROUNDS ($STEPS batches an epoch)"
    L1=$(best "$L1" "$(lamina 1)")
    x=$(lamina 2)
    L2=$(best "$L2" "$x")
    # each round's 2-thread epoch and the placement around it
    ROUNDLOG="$ROUNDLOG${ROUNDLOG:+, }$(full "$x") s ($(kv "$x" c2c) ns, steal $(kv "$x" steal)%)"
    if [ $HAVE_VENV = 1 ]; then
        P1=$(best "$P1" "$(torch "$VENV/bin/python" 1)")
        P2=$(best "$P2" "$(torch "$VENV/bin/python" 2)")
    fi
    if [ $HAVE_DEB = 1 ]; then
        D1=$(best "$D1" "$(torch $SYSPY 1)")
        D2=$(best "$D2" "$(torch $SYSPY 2)")
    fi
    r=$((r + 1))
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# FLOPs of a full epoch: 1.50 TFLOP counted as direct convolution (2 per
# multiply-add).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'; }
share() { awk -v s="$1" -v p="$2" 'BEGIN { if (s == "NA" || p == "NA" || p == "") print "NA"; else printf "%.0f%%", 100 * 1500 / s / p }'; }
minof() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA") print b; else if (b == "NA") print a; else print (a < b ? a : b) }'; }
l1=$(full "$L1") l2=$(full "$L2") p1=$(full "$P1") p2=$(full "$P2") d1=$(full "$D1") d2=$(full "$D2")
pbest=$(minof "$p1" "$p2") dbest=$(minof "$d1" "$d2")

TABLE=$(
    echo "| trainer | 1 thread (s) | 2 threads (s) | lamina's 2 threads vs its best | test acc (1 / 2 thr.) | peak RSS MB (1 / 2 thr.) |"
    echo "| --- | --- | --- | --- | --- | --- |"
    echo "| lamina | $l1 ($(share "$l1" "$PEAK1") of peak) | $l2 ($(share "$l2" "$PEAK2") of peak) | | $(kv "$L1" test_acc) / $(kv "$L2" test_acc) | $(kv "$L1" rss_mb) / $(kv "$L2" rss_mb) |"
    echo "| PyTorch $TPV (PyPI) | $p1 | $p2 | $(ratio "$pbest" "$l2")x | $(kv "$P1" test_acc) / $(kv "$P2" test_acc) | $(kv "$P1" rss_mb) / $(kv "$P2" rss_mb) |"
    echo "| PyTorch $TDV (Debian) | $d1 | $d2 | $(ratio "$dbest" "$l2")x | $(kv "$D1" test_acc) / $(kv "$D2" test_acc) | $(kv "$D1" rss_mb) / $(kv "$D2" rss_mb) |"
)
C2C=$(kv "$L2" c2c)
SUMMARY="lamina 1 -> 2 threads: $(ratio "$l1" "$l2")x (target 1.8x; the 2-thread epoch kept ran with the vCPUs $(placement_word "${C2C%%/*}")/$(placement_word "${C2C##*/}") before/after, $C2C ns, bench/c2c.c, the host stealing $(kv "$L2" steal)% of the CPU time); 2 threads vs PyPI PyTorch's best: $(ratio "$pbest" "$l2")x (target 2x); peak RSS PyPI PyTorch / lamina (2 threads): $(ratio "$(kv "$P2" rss_mb)" "$(kv "$L2" rss_mb)")x (target 4x)."
WHAT="$STEPS batches an epoch"
[ "$STEPS" != 938 ] && WHAT="$STEPS of the 938 batches (the first $((STEPS * 64)) images), seconds scaled to 938"

{
    echo "# CNN epoch (issue 12)"
    echo
    echo "Made by \`sh bench/cnn.sh\` (also run by \`make bench\`) on $(date -u '+%Y-%m-%d %H:%M UTC'); CNN_BATCHES=$BATCHES, CNN_ROUNDS=$ROUNDS."
    echo
    echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores; measured FMA peak (../shared/tools/fma_peak.c, this run): $PEAK1 GFLOP/s on 1 thread, $PEAK2 on 2."
    echo "- Load average before / after: $LOAD0 / $LOAD1. The machine is shared: each trainer's fastest of $ROUNDS round(s), the trainers interleaved."
    echo "- Net: conv 32 3x3 same relu, maxpool 2, conv 64 3x3 same relu, maxpool 2, dense 128 relu, dense 10 softmax (no dropout); Adam 0.001, batch 64, Fashion-MNIST; $WHAT. One epoch = 1.50 TFLOP counted as direct convolution; \"of peak\" is that over the time and the measured peak (lamina's Winograd convolutions do 2.25x fewer multiplies in its second conv, so this share can exceed what its GEMMs achieve)."
    echo "- Seconds: training only (lamina: the CLI's epoch time; PyTorch: the timed loop). Accuracy: the 10000 test images after the epoch. RSS: peak resident set (GNU time for lamina, getrusage in the PyTorch script)."
    echo
    echo "$TABLE"
    echo
    echo "$SUMMARY"
    echo
    echo "Every round's lamina 2-thread epoch (a cache line's round trip between the two CPUs before/after it; near is at most 150 ns; and the share of CPU time the host stole during it): $ROUNDLOG."
    echo
    echo "Repeat: \`CNN_BATCHES=$BATCHES CNN_ROUNDS=$ROUNDS sh bench/cnn.sh\`. The single commands (D=$DATA):"
    echo
    echo "    build/lamina train --data \$D/train-images-idx3-ubyte.gz --labels \$D/train-labels-idx1-ubyte.gz \\"
    echo "        --layers $SPEC \\"
    echo "        --optimizer adam --lr 0.001 --batch 64 --epochs 1 --threads T --out c.lmn"
    echo "    cd bench/peers && PY fashion_cnn_torch.py --data \$D --threads T   # PY: /usr/bin/python3 or bench/.venv/bin/python"
    echo
    echo "LAMINA_CONV=im2col (or winograd) forces the convolution algorithm (src/kernels/winograd.c says when each runs)."
    # measurements made by hand (A/B of the algorithms): kept across runs
    [ -f bench/CNN-notes.md ] && { echo; cat bench/CNN-notes.md; }
} >bench/CNN.md
cat bench/CNN.md

if [ -n "$ROWS_OUT" ]; then
    {
        printf '| (f) CNN epoch (s) | %s | %s | %s | %s | %s | %s |\n' \
            "issue 12 CNN, 2 threads vs peer's best of 1 and 2; $STEPS batches" "$l2" \
            "PyTorch $TPV (PyPI)" "$pbest" "$(ratio "$pbest" "$l2")" \
            "lamina 1 thread $l1 s; share of FMA peak $(share "$l2" "$PEAK2"); bench/CNN.md"
        printf '| (f) CNN epoch (s) | %s | %s | %s | %s | %s | %s |\n' \
            "issue 12 CNN, 2 threads vs peer's best" "$l2" "PyTorch $TDV (Debian)" "$dbest" \
            "$(ratio "$dbest" "$l2")" "test acc lamina $(kv "$L2" test_acc), PyPI $(kv "$P2" test_acc)"
        printf '| (f) CNN epoch (s) | %s | %s | %s | %s | %s | %s |\n' \
            "lamina 2 threads against 1" "$l2" "lamina, 1 thread" "$l1" "$(ratio "$l1" "$l2")" "target 1.8"
        printf '| (f) CNN peak RSS (MB) | %s | %s | %s | %s | %s | %s |\n' \
            "CNN trainer, 2 threads" "$(kv "$L2" rss_mb)" "PyTorch $TPV (PyPI)" "$(kv "$P2" rss_mb)" \
            "$(ratio "$(kv "$P2" rss_mb)" "$(kv "$L2" rss_mb)")" "ratio = peer / lamina; target 4"
    } >>"$ROWS_OUT"
fi
