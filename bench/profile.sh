#!/bin/sh
# bench/profile.sh - where the Fashion-MNIST MLP epoch spends its CPU time:
# samples `perf record` takes of bench/fashion_bench (784-256-128-10, SGD
# momentum, batch 64), summed by function into GEMMs, elementwise
# (activations, their gradients, bias sums), loss, optimizer, gather (the
# batch's rows), finiteness checks, synchronisation (the pool's waits and
# the scheduler) and data loading (reading and scaling the files, left
# out of the shares of training).
#
#   bench/profile.sh [THREADS] [EPOCHS] [FASHION_BENCH]
#
# Defaults: 1 thread, 3 epochs, $BUILD/bench/fashion_bench (bench/run.sh
# builds it). Needs perf (Debian: linux-perf) and perf_event_paranoid <= 2.
# On 2 threads the shares are of both threads' CPU time, so a spinning
# worker counts as synchronisation. Prints a markdown table.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
THREADS=${1:-1}
EPOCHS=${2:-3}
PROG=${3:-$BUILD/bench/fashion_bench}
DATA=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
command -v perf >/dev/null 2>&1 || { echo "profile.sh: no perf (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$PROG" ] || { echo "profile.sh: no program $PROG" >&2; exit 1; }
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
LINE=$(perf record -q -F 10000 -o "$TMP/perf.data" "$PROG" "$DATA" "$THREADS" "$EPOCHS" 2>/dev/null | tail -n 1)
perf report -i "$TMP/perf.data" --no-children --sort sym --stdio 2>/dev/null |
    awk -v line="$LINE" -v threads="$THREADS" '
    /^#/ || !/%/ { next }
    {
        pct = $1; sub(/%/, "", pct); sym = $NF
        if (sym ~ /^kern_|^pack_|^gemm_|^nonzero_steps|^small_m|^reduce_task|^tiny_|^lm_gemm|^block_ref/) c = "GEMMs"
        else if (sym ~ /^act_|^exp_avx|^colsum|^lm_act|^tanh|^sigmoid|^relu|^softmax|^dense_|^lm__vec|^axpy|^scale/) c = "elementwise"
        else if (sym ~ /loss|^sum_exp|log/) c = "loss"
        else if (sym ~ /^update_|optim|^step_|^lm_opt|^sgd|^adam/) c = "optimizer"
        else if (sym ~ /gather/) c = "gather"
        else if (sym ~ /finite/) c = "finiteness check"
        else if (sym ~ /^worker_main|^lm_pool_run|^take_tasks|^wait_|^run_task|^publish|pthread|futex|sched|switch|schedule|^_raw_spin|^__lll|syscall|^do_syscall|entry_SYSCALL|^__x64_sys|^__GI___pthread|^__futex|^pick_next|^try_to_wake/) c = "synchronisation"
        else if (sym ~ /^0x|crc32|inflate|^norm_u8|^idx_|^lm_data|^lm_idx|gz|^read|^copy_|_copy_to_iter|page|^clear_page|^filemap|^memcpy|^__memmove/) c = "data loading"
        else c = "other"
        share[c] += pct; total += pct
        if (c == "other" && pct >= 0.3) others = others " " sym
    }
    END {
        train = total - share["data loading"]
        printf "perf record -F 10000 of fashion_bench, %s thread(s): %s\n\n", threads, line
        print "| part | share of all samples | share of training |"
        print "|---|---|---|"
        n = split("GEMMs;elementwise;loss;optimizer;gather;finiteness check;synchronisation;other", order, ";")
        for (i = 1; i <= n; i++)
            printf "| %s | %.1f%% | %.1f%% |\n", order[i], share[order[i]], (train > 0 ? 100 * share[order[i]] / train : 0)
        printf "| data loading, memory setup (not training) | %.1f%% | - |\n", share["data loading"]
        if (others != "") printf "\nother (>= 0.3%% each):%s\n", others
    }'
