#!/bin/sh
# bench/mpi_model.sh - the step-time model of docs/SCALING.md: data-parallel
# step time T(N) = C/N + ring allreduce 2(N-1)/N * S/BW + 2(N-1) * LAT, for
# a 1-process step of C ms and a flat gradient of S bytes, on a link of BW
# GB/s and LAT us a message. Prints the speed-up C/T(N) for N = 1..64.
#   sh bench/mpi_model.sh C_MS S_BYTES BW_GBS LAT_US
awk -v c="$1" -v s="$2" -v bw="$3" -v lat="$4" 'BEGIN {
    printf "N    step ms   allreduce ms   speed-up\n"
    for (n = 1; n <= 64; n *= 2) {
        a = n > 1 ? 2 * (n - 1) / n * s / (bw * 1e9) * 1e3 + 2 * (n - 1) * lat * 1e-3 : 0
        t = c / n + a
        printf "%-4d %8.3f  %12.3f  %9.2f\n", n, t, a, c / t
    }
}'
