#!/bin/sh
# bench/threads.sh - lamina's threads on a quiet and on a busy machine: the
# Fashion-MNIST MLP epoch (bench/fashion_bench.c: 784-256-128-10, SGD
# momentum, batch 64) on 1 and 2 threads, first quiet, then with a
# competing busy process pinned to one core (a host's slow spell made on
# purpose), and the ratios: 1 -> 2 threads quiet (target >= 1.8x) and 2
# threads against 1 under the neighbour (target: at most 5% slower).
#
#   bench/threads.sh [FASHION_BENCH...]
#
# With several fashion_bench programs (say, an old build and a new one)
# their runs are interleaved and each gets its own rows, so that a slow
# spell of a shared machine hits them alike. Each figure is the best of
# THREADS_ROUNDS rounds (default 3) of THREADS_EPOCHS epochs (default 1).
# Default program: $BUILD/bench/fashion_bench (bench/run.sh builds it).
# Prints a markdown table; bench/THREADS.md holds measured ones. The last
# two columns are the placement the kept quiet 2-thread epoch ran in (a
# cache line's round trip between the CPUs just before it, bench/c2c.c)
# and the share of CPU time the host stole during it (bench/placement.sh).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
DATA=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
ROUNDS=${THREADS_ROUNDS:-3}
EPOCHS=${THREADS_EPOCHS:-1}
[ $# -gt 0 ] || set -- "$BUILD/bench/fashion_bench"
for b in "$@"; do
    [ -x "$b" ] || { echo "threads.sh: no program $b (run bench/run.sh or build it)" >&2; exit 1; }
done
. bench/placement.sh
NCPU=$(nproc)
BUSYCPU=$((NCPU - 1))
TMP=$(mktemp -d) || exit 1
BUSY=""
stop_busy() { [ -n "$BUSY" ] && kill "$BUSY" 2>/dev/null; wait 2>/dev/null; BUSY=""; }
trap 'stop_busy; rm -rf "$TMP"' EXIT
placement_build "$TMP"
trap 'exit 130' INT
trap 'exit 143' TERM

# epoch PROGRAM THREADS: the best epoch's seconds of one run, or NA
epoch() {
    v=$("$1" "$DATA" "$2" "$EPOCHS" 2>/dev/null | tr ' ' '\n' | sed -n 's/^best_epoch=//p')
    echo "${v:-NA}"
}
# keep FILE VALUE: FILE holds the smallest value seen
keep() {
    old=$(cat "$1" 2>/dev/null || echo NA)
    awk -v a="$old" -v b="$2" 'BEGIN { if (a == "NA" || (b != "NA" && b + 0 < a + 0)) print b; else print a }' >"$1.new"
    mv "$1.new" "$1"
}

r=0
while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    for mode in quiet busy; do
        if [ "$mode" = busy ]; then
            taskset -c "$BUSYCPU" sh -c 'while :; do :; done' &
            BUSY=$!
            sleep 0.2
        fi
        i=0
        for b in "$@"; do
            i=$((i + 1))
            keep "$TMP/$i.$mode.1" "$(epoch "$b" 1)"
            # the quiet 2-thread epoch with the placement it ran in (c2c.c)
            c=NA
            [ "$mode" = quiet ] && c=$(placement_ns)
            m0=$(steal_mark)
            v=$(epoch "$b" 2)
            st=$(steal_pct "$m0")
            old=$(cat "$TMP/$i.$mode.2" 2>/dev/null || echo NA)
            keep "$TMP/$i.$mode.2" "$v"
            [ "$(cat "$TMP/$i.$mode.2")" != "$old" ] && echo "$c $st" >"$TMP/$i.$mode.2.c2c"
        done
        stop_busy
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'; }
echo "MLP epoch (s), best of $ROUNDS round(s) of $EPOCHS epoch(s), $NCPU CPUs, busy neighbour on CPU $BUSYCPU:"
echo
echo "| program | quiet 1 thr | quiet 2 thr | 1->2 speedup | busy 1 thr | busy 2 thr | busy 2 thr / 1 thr | c2c before quiet 2 thr | steal during it |"
echo "|---|---|---|---|---|---|---|---|---|"
i=0
for b in "$@"; do
    i=$((i + 1))
    q1=$(cat "$TMP/$i.quiet.1") q2=$(cat "$TMP/$i.quiet.2")
    b1=$(cat "$TMP/$i.busy.1") b2=$(cat "$TMP/$i.busy.2")
    cs=$(cat "$TMP/$i.quiet.2.c2c" 2>/dev/null || echo "NA NA")
    c=${cs%% *} st=${cs##* }
    echo "| $b | $q1 | $q2 | $(ratio "$q1" "$q2")x | $b1 | $b2 | $(ratio "$b2" "$b1") | $c ns ($(placement_word "$c")) | $st% |"
done
