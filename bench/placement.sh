# bench/placement.sh - sourced by the scaling benchmarks (cnn.sh,
# threads.sh, mpi.sh): how far apart the first two CPUs are right now
# (bench/c2c.c: a cache line's round trip between them). A 2-thread or
# 2-process figure measured with the vCPUs far apart (over 150 ns) says
# more about the host than about lamina; see c2c.c.
#
#   placement_build OUTDIR   builds OUTDIR/c2c (quietly; PLACEMENT_C2C)
#   placement_ns             prints the round trip in ns now, or NA
#   placement_word NS        near, far or NA
#   steal_mark               the host's steal and all CPU time so far, in
#                            jiffies ("STEAL TOTAL", from /proc/stat or
#                            PLACEMENT_STAT), or NA
#   steal_pct MARK           the share of CPU time the host took for other
#                            guests since MARK, in % ("3.2"), or NA
#
# Steal is the other half of the story: while the host runs other guests
# on our vCPUs' cores, a 2-thread or 2-process run waits for whichever
# vCPU was stopped, and two independent processes no longer get 2x. A
# figure taken with more than a few % steal says little about lamina.

placement_build() {
    PLACEMENT_C2C=$1/c2c
    ${CC:-cc} -std=c11 -O2 -pthread -o "$PLACEMENT_C2C" bench/c2c.c 2>/dev/null || PLACEMENT_C2C=""
}

placement_ns() {
    if [ -n "${PLACEMENT_C2C:-}" ] && [ "$(nproc)" -ge 2 ]; then
        v=$("$PLACEMENT_C2C" 2>/dev/null | sed -n 's/^c2c_ns=\([0-9.]*\).*/\1/p')
        echo "${v:-NA}"
    else
        echo NA
    fi
}

placement_word() {
    awk -v n="$1" 'BEGIN { if (n == "NA" || n == "") print "NA"; else if (n + 0 <= 150) print "near"; else print "far" }'
}

steal_mark() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9 && i <= NF; i++) t += $i
                       print (NF >= 9 ? $9 : 0), t; found = 1; exit }
         END { if (!found) print "NA" }' "${PLACEMENT_STAT:-/proc/stat}" 2>/dev/null || echo NA
}

steal_pct() {
    awk -v a="$1" -v b="$(steal_mark)" 'BEGIN {
        if (split(a, x, " ") < 2 || split(b, y, " ") < 2 || y[2] <= x[2]) print "NA"
        else printf "%.1f\n", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}
