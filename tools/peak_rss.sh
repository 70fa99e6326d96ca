#!/bin/sh
# tools/peak_rss.sh [--max MIB] COMMAND [ARGS...] - runs a command and
# prints its peak resident memory ("peak_rss_mib N" on stderr, after the
# command's own output). With --max, exits 1 if the peak exceeds MIB,
# else with the command's status. Uses GNU time (/usr/bin/time).
# Example: how much memory does loading a model take, relative to its size?
#   tools/peak_rss.sh --max 64 build/lamina info big.lmn
set -u
max=""
if [ "${1:-}" = "--max" ]; then
    max=$2
    shift 2
fi
[ $# -gt 0 ] || { echo "usage: tools/peak_rss.sh [--max MIB] COMMAND [ARGS...]" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "peak_rss.sh: needs GNU time (/usr/bin/time)" >&2; exit 2; }
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
/usr/bin/time -f '%M' -o "$out" "$@"
rc=$?
kb=$(tail -1 "$out")
mib=$(( (kb + 1023) / 1024 ))
echo "peak_rss_mib $mib" >&2
if [ -n "$max" ] && [ "$mib" -gt "$max" ]; then
    echo "peak_rss.sh: peak $mib MiB is over the limit of $max MiB" >&2
    exit 1
fi
exit $rc
