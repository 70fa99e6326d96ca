#!/bin/sh
# test_docs.sh - the API's words match the API: every lm_ name and LM_
# constant that lamina.h's comments or docs/API.md mention is declared in
# lamina.h (no comment may name a function that does not exist), and
# every public prototype says whether it is thread-safe ("Thread:") and,
# when it hands back a pointer or a new object, who owns it.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
H=include/lamina.h

# The header without its comments (/* */ over lines, and //), macros kept.
awk '{
    line = $0; out = ""
    while (line != "") {
        if (inc) {
            i = index(line, "*/")
            if (!i) break
            line = substr(line, i + 2); inc = 0; continue
        }
        i = index(line, "/*"); j = index(line, "//")
        if (j && (!i || j < i)) { out = out substr(line, 1, j - 1); break }
        if (!i) { out = out line; break }
        out = out substr(line, 1, i - 1); line = substr(line, i + 2); inc = 1
    }
    print out
}' "$H" >"$tmp/code"
if ! grep -q 'lm_net_new' "$tmp/code" || grep -q 'Thread:' "$tmp/code"; then
    echo "FAIL docs_names: could not strip the comments of $H"
    exit 1
fi
ids() { grep -oE '\b(lm_[a-z0-9][a-z0-9_]*|LM_[A-Z0-9_]+)\b' "$@" | sort -u; }
ids "$tmp/code" >"$tmp/declared"
for f in "$H" docs/API.md; do
    if [ ! -f "$f" ]; then echo "FAIL docs_names: $f is missing"; continue; fi
    ids "$f" >"$tmp/mentioned"
    missing=$(comm -23 "$tmp/mentioned" "$tmp/declared" | tr '\n' ' ')
    if [ -n "$missing" ]; then echo "FAIL docs_names_$(basename "$f" | tr . _): names no declaration in $H: $missing"
    else echo "ok docs_names_$(basename "$f" | tr . _) ($(wc -l <"$tmp/mentioned") names)"; fi
done

# Each LM_API prototype's paragraph (the comment and prototypes around it,
# up to blank lines) says "Thread:"; one that returns a pointer or fills
# a **out says who owns it.
awk '
    function check(   i, name, own) {
        for (i = 1; i <= np; i++) {
            name = protos[i]
            sub(/ *\(.*/, "", name); sub(/.*[ *]/, "", name)
            if (para !~ /Thread:/) { print "FAIL docs_thread: " name " says nothing about threads"; bad++ }
            own = protos[i] ~ /^LM_API[^(]*\*[ ]*[a-z_0-9]+ *\(/ || protos[i] ~ /\*\*/
            if (own && tolower(para) !~ /(own|static storage|caller.s)/) {
                print "FAIL docs_owner: " name " returns a pointer without saying who owns it"; bad++
            }
        }
        np = 0; para = ""
    }
    /^[ \t]*$/ { check(); next }
    { para = para "\n" $0 }
    /^LM_API/ { protos[++np] = $0; n++ }
    END { check(); if (!bad) print "ok docs_thread_owner (" n " prototypes)" }
' "$H"
