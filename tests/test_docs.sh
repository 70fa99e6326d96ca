#!/bin/sh
# test_docs.sh - the API's words match the API: every lm_ name and LM_
# constant that lamina.h's comments or docs/API.md mention is declared in
# lamina.h (no comment may name a function that does not exist), and
# every public prototype says whether it is thread-safe ("Thread:") and,
# when it hands back a pointer or a new object, who owns it. And the
# examples run: README's C fragment compiles and trains, and the iris
# command examples of README.md and docs/CLI.md succeed as written.
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

# The examples run as written. README's "The library in 15 lines" is a
# fragment: declared X, Y and yhat around it, it must compile without a
# warning, train the tutorial and write tutorial.lmn.
BUILD=${BUILD:-build}
awk '/^## The library in 15 lines/ { f = 1 } f && /^```c/ { g = 1; next } g && /^```/ { exit } g' \
    README.md >"$tmp/snippet.c"
{
    echo '#include <stdio.h>'
    sed -n 1p "$tmp/snippet.c"
    echo 'static const float X[12] = {0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1}, Y[4] = {0, 1, 1, 0};'
    echo 'int main(void) {'
    echo 'float yhat[4];'
    sed 1d "$tmp/snippet.c"
    printf '%s\n' 'printf("%.2f %.2f %.2f %.2f\n", yhat[0], yhat[1], yhat[2], yhat[3]); return 0; }'
} >"$tmp/readme.c"
if [ ! -s "$tmp/snippet.c" ]; then
    echo "FAIL docs_readme_c: no C block under README's \"The library in 15 lines\""
elif [ ! -f "$BUILD/liblamina.so" ]; then
    echo "skip docs_readme_c: $BUILD/liblamina.so is not built"
# shellcheck disable=SC2086
elif ! ${CC:-cc} ${TEST_LDFLAGS:-} -std=c11 -Wall -Wextra -Werror -Iinclude -o "$tmp/readme" \
        "$tmp/readme.c" -L"$BUILD" -llamina 2>"$tmp/err"; then
    echo "FAIL docs_readme_c: README's C example does not compile: $(head -3 "$tmp/err" | tr '\n' ' ')"
else
    got=$(libdir=$(cd "$BUILD" && pwd) && cd "$tmp" && LD_LIBRARY_PATH=$libdir ./readme 2>&1)
    # The tutorial's targets are 0 1 1 0; 1500 iterations get within 0.1.
    if echo "$got" | awk '{ exit !($1 < 0.1 && $2 > 0.9 && $3 > 0.9 && $4 < 0.1) }' && [ -s "$tmp/tutorial.lmn" ]; then
        echo "ok docs_readme_c"
    else echo "FAIL docs_readme_c: README's C example printed '$got' (or wrote no tutorial.lmn)"; fi
fi

# The iris command examples of README.md and docs/CLI.md, run as written
# (lamina and build/lamina are the built CLI) on scikit-learn's iris.
if [ ! -x "$BUILD/lamina" ]; then
    echo "skip docs_cli_examples: $BUILD/lamina is not built"
else
    ex=$tmp/ex; mkdir "$ex"
    cp tests/cli/fixtures/iris_train.csv "$ex/iris.csv"
    cp tests/cli/fixtures/iris_test.csv "$ex/iris-test.csv"
    cut -d, -f1-4 tests/cli/fixtures/iris_test.csv >"$ex/new.csv"
    cp "$ex/new.csv" "$ex/new-flowers.csv"
    bin=$(cd "$BUILD" && pwd)/lamina
    (cd "$ex" && "$bin" train --data iris.csv --layers 4 --epochs 1 --out m.lmn --quiet &&
        "$bin" export m.lmn --format onnx --out model.onnx && rm m.lmn) >/dev/null 2>&1
    block() { # file heading: the first sh block after the heading's line
        awk -v h="$2" 'index($0, h) == 1 { f = 1 } f && /^```sh/ { g = 1; next } g && /^```/ { exit } g' "$1"
    }
    for doc in "README.md:## Train on your data" "docs/CLI.md:# The \`lamina\` command"; do
        f=${doc%%:*}; name=docs_cli_examples_$(basename "$f" .md | tr 'A-Z.' 'a-z_')
        block "$f" "${doc#*:}" | grep -v '^make$' | sed 's#build/lamina#lamina#g' >"$tmp/cmds"
        if [ "$(grep -c '^lamina ' "$tmp/cmds")" -lt 3 ]; then
            echo "FAIL $name: found no lamina commands in $f"; continue
        fi
        # set -e: each command must succeed (the status of one in an if
        # list would be ignored, so the subshell is run first).
        (set -e; cd "$ex"; lamina() { "$bin" "$@"; }; . "$tmp/cmds") >"$tmp/out" 2>&1
        if [ $? -eq 0 ]; then
            echo "ok $name"
        else
            echo "FAIL $name: a command of $f's example failed: $(grep 'lamina:' "$tmp/out" | head -2 | tr '\n' ' ')"
        fi
    done
    # README's Titanic-style example, on a made-up file with the real
    # columns: quoted names holding commas, text columns, empty cells, a
    # rarer class.
    awk 'BEGIN {
        srand(11); split("S C Q", emb, " ")
        print "PassengerId,Survived,Pclass,Name,Sex,Age,SibSp,Parch,Ticket,Fare,Cabin,Embarked"
        for (i = 1; i <= 300; i++) {
            sex = rand() < 0.35 ? "female" : "male"; cls = 1 + int(rand() * 3)
            age = rand() < 0.2 ? "" : int(1 + rand() * 70); e = rand() < 0.02 ? "" : emb[1 + int(rand() * 3)]
            surv = (sex == "female" ? 0.75 : 0.2) + (cls == 1 ? 0.15 : 0) > rand() ? 1 : 0
            printf "%d,%d,%d,\"Doe, Mr. No %d\",%s,%s,%d,%d,A/5 %d,%.2f,%s,%s\n", i, surv, cls, i, sex,
                age, int(rand() * 3), int(rand() * 2), 1000 + i, 5 + rand() * 80 / cls, rand() < 0.7 ? "" : "C" i, e
        } }' >"$ex/titanic.csv"
    awk 'index($0, "Titanic-style") { f = 1 } f && /^```sh/ { g = 1; next } g && /^```/ { exit } g' README.md |
        sed 's#build/lamina#lamina#g' >"$tmp/cmds"
    if ! grep -q '^lamina train' "$tmp/cmds"; then
        echo "FAIL docs_readme_titanic: no titanic.csv example in README.md"
    elif (set -e; cd "$ex"; lamina() { "$bin" "$@"; }; . "$tmp/cmds" && "$bin" eval titanic.lmn --data titanic.csv) \
        >"$tmp/out" 2>&1 && grep -q '^accuracy: ' "$tmp/out"; then
        echo "ok docs_readme_titanic"
    else
        echo "FAIL docs_readme_titanic: $(grep 'lamina:' "$tmp/out" | head -2 | tr '\n' ' ')"
    fi
fi
