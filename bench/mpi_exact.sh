#!/bin/sh
# bench/mpi_exact.sh - what bit-identical results across process counts
# would cost (issue 16's 5% bar): bench/mpi_exact.c's order-independent
# step (fixed K-row chunks, int64 fixed-point sums) against today's float
# step, the MLP at batch 64, on 1, 2 and 3 processes of 1 thread.
# Writes bench/MPI_EXACT.md (a hand-written "## Notes" section there
# stays); with --append FILE also adds a short section to FILE.
# Needs mpicc and mpirun; skipped without them.
set -u
cd "$(dirname "$0")/.." || exit 2
APPEND=
[ "${1:-}" = "--append" ] && APPEND=${2:-}
B=${BUILD:-build}
STEPS=${BENCH_EXACT_STEPS:-300}
ROUNDS=${BENCH_EXACT_ROUNDS:-5}
OUTMD=bench/MPI_EXACT.md
. bench/mpi_lib.sh
mpi_setup mpi_exact.sh
make -j2 BUILD="$B" "$B/liblamina.a" >/dev/null 2>&1 ||
    { echo "bench/mpi_exact.sh: make failed"; exit 1; }
TMP=$(mktemp -d) && trap 'rm -rf "$TMP"' EXIT
# -march=native: the fixed-point conversion gets its vector instructions
mpicc -std=c11 -O3 -march=native -Iinclude -o "$TMP/ex" bench/mpi_exact.c "$B/liblamina.a" -lz -lm -pthread ||
    { echo "bench/mpi_exact.sh: mpicc failed"; exit 1; }
{
    echo "# Bit-identical across process counts: the cost (bench/mpi_exact.sh)"
    echo
    echo "$(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores,"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start. MLP 784-256-128-10, batch 64, SGD,"
    echo "1 thread a process, synthetic inputs; per step, the fastest of $ROUNDS interleaved rounds of $STEPS steps."
    echo "float: today's step; exact: K-row chunks summed in int64 fixed point (bench/mpi_exact.c);"
    echo "convert: the exact step's share in the fixed-point conversions; the hashes are of the final"
    echo "parameters (the exact ones must agree across process counts)."
    echo
    echo "| processes | K | float ms | exact ms | cost | convert ms | float hash | exact hash |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    for k in 8 32; do
        for n in 1 2 3; do
            [ "$k" -eq 32 ] && [ "$n" -eq 3 ] && continue # 2 chunks: at most 2 processes
            $MPIRUN -np "$n" "$TMP/ex" "$STEPS" "$ROUNDS" "$k" | sed 's/[A-Za-z_]*=//g' |
                awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $5, $6, $7, $8, $9, $10 }'
        done
    done
    echo
    echo "Repeat: \`BENCH_EXACT_ROUNDS=$ROUNDS BENCH_EXACT_STEPS=$STEPS sh bench/mpi_exact.sh\`."
} >"$TMP/md"
cat "$TMP/md"
mpi_write "$TMP/md" "$OUTMD" "$APPEND" \
    "## Bit-identical MPI reduction, its cost (bench/mpi_exact.sh, bench/MPI_EXACT.md)" '^| processes' '^$'
