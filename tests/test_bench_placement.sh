#!/bin/sh
# test_bench_placement.sh - the placement probe the scaling benchmarks
# print next to every 2-thread and 2-process figure (bench/c2c.c,
# bench/placement.sh). A probe that printed nothing, or a word that did
# not follow its number, would label a far run near. Checks:
#   bench_c2c_builds     bench/c2c.c builds with -Wall -Wextra -Werror;
#   bench_c2c_output     it prints c2c_ns=N c2c_median_ns=M placement=W,
#                        0 < N <= M, W = near exactly when N <= 150
#                        (skip on one CPU, where it prints NA, exit 1);
#   bench_c2c_short      a run of 100 round trips a run still answers;
#   bench_placement_word placement.sh's word for 54, 150, 151, 385, NA;
#   bench_placement_ns   placement_ns prints a number (or NA on one CPU);
#   bench_steal_pct      steal_mark / steal_pct on made-up /proc/stat
#                        lines: 10.0 for 100 of 1000 jiffies stolen, 0.0
#                        where the line has no steal column, NA for a
#                        missing file, a bad mark or no time passed;
#   bench_steal_live     on this machine's /proc/stat: a number in [0, 100].
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: why".
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
res() { if [ "$1" -eq 0 ]; then echo "ok $2"; else echo "FAIL $2: $3"; fi; }

${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$tmp/c2c" bench/c2c.c 2>"$tmp/err"
res $? bench_c2c_builds "$(head -n 3 "$tmp/err")"

# fields LINE: "N M W" from a c2c line
fields() {
    printf '%s\n' "$1" | sed -n 's/^c2c_ns=\([0-9.]*\) c2c_median_ns=\([0-9.]*\) placement=\([a-z]*\)$/\1 \2 \3/p'
}
if [ "$(nproc)" -lt 2 ]; then
    echo "skip bench_c2c_output: one CPU"
    echo "skip bench_c2c_short: one CPU"
else
    out=$("$tmp/c2c" 200); rc=$?
    f=$(fields "$out")
    { [ "$rc" -eq 0 ] && [ -n "$f" ] && echo "$f" | awk '{ exit !($1 > 0 && $1 <= $2 && (($1 <= 150) == ($3 == "near")) && ($3 == "near" || $3 == "far")) }'; }
    res $? bench_c2c_output "rc $rc: '$out'"
    out=$("$tmp/c2c" 100); rc=$?
    { [ "$rc" -eq 0 ] && [ -n "$(fields "$out")" ]; }; res $? bench_c2c_short "rc $rc: '$out'"
fi

. bench/placement.sh
w="$(placement_word 54.1) $(placement_word 150) $(placement_word 151) $(placement_word 385.0) $(placement_word NA)"
[ "$w" = "near near far far NA" ]; res $? bench_placement_word "got '$w'"
placement_build "$tmp"
ns=$(placement_ns)
if [ "$(nproc)" -lt 2 ]; then
    [ "$ns" = NA ]; res $? bench_placement_ns "one CPU, got '$ns'"
else
    echo "$ns" | grep -Eq '^[0-9]+(\.[0-9]+)?$'; res $? bench_placement_ns "got '$ns'"
fi

# steal_mark / steal_pct on made-up lines (fields: user nice system idle
# iowait irq softirq steal guest guest_nice)
PLACEMENT_STAT=$tmp/stat
printf 'cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\n' >"$PLACEMENT_STAT"
m=$(steal_mark)
printf 'cpu  200 0 200 1500 0 0 0 100 0 0\n' >"$PLACEMENT_STAT"
a=$(steal_pct "$m")
b=$(steal_pct "$(steal_mark)")
printf 'cpu 10 0 10 80\n' >"$PLACEMENT_STAT"
m=$(steal_mark)
printf 'cpu 20 0 20 160\n' >"$PLACEMENT_STAT"
c=$(steal_pct "$m")
d=$(steal_pct "garbage")
PLACEMENT_STAT=$tmp/none
e=$(steal_mark)
got="$m|$a|$b|$c|$d|$e"
[ "$got" = "0 100|10.0|NA|0.0|NA|NA" ]; res $? bench_steal_pct "got '$got'"
unset PLACEMENT_STAT
m=$(steal_mark)
sleep 0.5
v=$(steal_pct "$m")
{ [ -r /proc/stat ] && echo "$v" | awk '{ exit !($1 ~ /^[0-9]+(\.[0-9])?$/ && $1 >= 0 && $1 <= 100) }'; } ||
    { [ ! -r /proc/stat ] && [ "$v" = NA ]; }
res $? bench_steal_live "got '$v' (mark '$m')"
