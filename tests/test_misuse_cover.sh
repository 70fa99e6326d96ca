#!/bin/sh
# test_misuse_cover.sh - tests/test_misuse.c calls every public function
# (each pointer argument NULL in turn, or a value out of range where a
# function takes no pointer). A function added to lamina.h later is named
# here until that test exercises it, so its NULL handling cannot be
# forgotten. Prints "ok NAME" / "FAIL NAME: why" (tests/run.sh counts them).
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# Declared: the name before "(" on every prototype line starting with
# LM_API (the rule tests/test_abi.sh reads them by).
sed -n 's/^[[:space:]]*LM_API[^(]*[^A-Za-z0-9_(]\([A-Za-z_][A-Za-z0-9_]*\) *(.*/\1/p' \
    include/lamina.h | sort -u >"$tmp/declared"
lines=$(grep -c '^[[:space:]]*LM_API' include/lamina.h)

# Called: identifiers followed by "(" in test_misuse.c with its comments
# removed, so a name only mentioned in a comment does not count.
awk '
{
    out = ""
    while (length($0) > 0) {
        if (inc) {
            i = index($0, "*/")
            if (i == 0) { $0 = ""; break }
            $0 = substr($0, i + 2); inc = 0
        } else {
            i = index($0, "/*"); j = index($0, "//")
            if (j > 0 && (i == 0 || j < i)) { out = out substr($0, 1, j - 1); $0 = ""; break }
            if (i == 0) { out = out $0; $0 = ""; break }
            out = out substr($0, 1, i - 1); $0 = substr($0, i + 2); inc = 1
        }
    }
    print out
}' tests/test_misuse.c | grep -o '[A-Za-z_][A-Za-z0-9_]* *(' | sed 's/ *($//' | sort -u >"$tmp/called"

if [ "$lines" -lt 50 ] || [ "$(wc -l <"$tmp/declared")" -ne "$lines" ]; then
    echo "FAIL misuse_covers_api: read $(wc -l <"$tmp/declared") function names from $lines LM_API lines of lamina.h"
else
    missing=$(comm -23 "$tmp/declared" "$tmp/called" | tr '\n' ' ')
    if [ -n "$missing" ]; then
        echo "FAIL misuse_covers_api: tests/test_misuse.c does not call: $missing"
    else
        echo "ok misuse_covers_api ($lines functions)"
    fi
fi
