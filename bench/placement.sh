# bench/placement.sh - sourced by the scaling benchmarks (cnn.sh,
# threads.sh, mpi.sh): how far apart the first two CPUs are right now
# (bench/c2c.c: a cache line's round trip between them). A 2-thread or
# 2-process figure measured with the vCPUs far apart (over 150 ns) says
# more about the host than about lamina; see c2c.c.
#
#   placement_build OUTDIR   builds OUTDIR/c2c (quietly; PLACEMENT_C2C)
#   placement_ns             prints the round trip in ns now, or NA
#   placement_word NS        near, far or NA

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
