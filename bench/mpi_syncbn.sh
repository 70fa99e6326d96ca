#!/bin/sh
# bench/mpi_syncbn.sh - what synchronised batch norm costs a data-parallel
# step: the Fashion-MNIST MLP with two batch norm layers
# (784-256-bn-128-bn-10, batch 64) for one epoch on 2 processes of 1
# thread, with bench/mpi_prof.c's PMPI shim timing every MPI_Allreduce by
# size, a barrier before each so that the wait for the slower process
# comes apart from the reduction. Batch norm's calls are the MPI_DOUBLE
# ones (C + 1, C and 2C + 1 values: 257, 256, 513, 129, 128, 257); the
# gradient's is the MPI_FLOAT one. Keeps the round with the fastest epoch
# of ROUNDS (BENCH_SYNCBN_ROUNDS, default 3). Writes bench/MPI_SYNCBN.md
# (a hand-written "## Notes" section there stays); with --append FILE
# also adds a short section to FILE.
set -u
cd "$(dirname "$0")/.." || exit 2
APPEND=
[ "${1:-}" = "--append" ] && APPEND=${2:-}
D=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
B=${BUILD_MPI:-build-mpi}
ROUNDS=${BENCH_SYNCBN_ROUNDS:-3}
OUTMD=bench/MPI_SYNCBN.md
. bench/mpi_lib.sh
mpi_setup mpi_syncbn.sh
if [ ! -f "$D/train-images-idx3-ubyte.gz" ]; then echo "bench/mpi_syncbn.sh: skipped (no $D)"; exit 0; fi
make -j2 MPI=1 BUILD="$B" all >/dev/null 2>&1 || { echo "bench/mpi_syncbn.sh: make MPI=1 failed"; exit 1; }
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT
mpicc -shared -fPIC -O2 -o "$TMP/prof.so" bench/mpi_prof.c || { echo "bench/mpi_syncbn.sh: mpicc failed"; exit 1; }
NET="--layers 256:relu,bn,128:relu,bn,10:softmax --init he --optimizer momentum --lr 0.05 --batch 64"
best='' line=''
r=0
while [ $r -lt "$ROUNDS" ]; do
    r=$((r + 1))
    # shellcheck disable=SC2086
    $MPIRUN -np 2 -x LD_PRELOAD="$TMP/prof.so" -x MPI_PROF_BARRIER=1 "$B/lamina" train \
        --data "$D/train-images-idx3-ubyte.gz" --labels "$D/train-labels-idx1-ubyte.gz" $NET \
        --epochs 1 --threads 1 --json --quiet >"$TMP/out" 2>&1 || { echo "bench/mpi_syncbn.sh: the run failed"; exit 1; }
    ep=$(sed -n 's/.*"seconds_per_epoch": *\([0-9.]*\).*/\1/p' "$TMP/out")
    # "mpi_prof: double x 257: 1876 calls, 0.0251 s (13.37 us a call), waiting 0.0428 s"
    cur=$(awk -v ep="$ep" '/^mpi_prof: double x/ && $4 != "4:" { bs += $7; bw += $14; bc += $5 }
        /^mpi_prof: float x/ && $5 > 100 && $4 + 0 > 10000 { gs = $7; gw = $14; gc = $5 }
        END { printf "%s %.4f %.4f %d %.4f %.4f %d", ep, bs, bw, bc, gs, gw, gc }' "$TMP/out")
    echo "round $r: epoch, bn s, bn wait, bn calls, grad s, grad wait, steps: $cur" >&2
    if [ -z "$best" ] || awk -v a="$ep" -v b="$best" 'BEGIN { exit !(a + 0 < b + 0) }'; then best=$ep; line=$cur; fi
done
{
    echo "# Synchronised batch norm: its allreduces' share of a step (bench/mpi_syncbn.sh)"
    echo
    echo "$(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores,"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(mpirun --version | head -n 1)."
    echo "Fashion-MNIST MLP 784-256-bn-128-bn-10, batch 64, one epoch, 2 processes of 1 thread, shared memory;"
    echo "process 0's time in MPI_Allreduce by kind (bench/mpi_prof.c, a barrier before each call: the wait"
    echo "for the slower process apart); the round with the fastest epoch of $ROUNDS."
    echo
    echo "| epoch | batch norm allreduces | their time | share | a call | their wait | gradient allreduce | share |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    echo "$line" | awk '{ printf "| %.3f s | %d | %.4f s | %.1f%% | %.1f us | %.4f s | %.4f s | %.1f%% |\n",
        $1, $4, $2, 100 * $2 / $1, $4 ? 1e6 * $2 / $4 : 0, $3, $5, 100 * $5 / $1 }'
    echo
    echo "Repeat: \`BENCH_SYNCBN_ROUNDS=$ROUNDS sh bench/mpi_syncbn.sh\`."
} >"$TMP/md"
cat "$TMP/md"
mpi_write "$TMP/md" "$OUTMD" "$APPEND" \
    "## Synchronised batch norm over MPI, its cost (bench/mpi_syncbn.sh, bench/MPI_SYNCBN.md)" '^| epoch' '^$'
