#!/bin/sh
# test_names.sh - lamina train takes every optimizer, initialiser and
# schedule the library names (its choices come from lm_*_name, not from a
# table of its own), and records them in the model as spelled.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
B=$FIX/blobs.csv
train() { "$L" train --data "$B" --layers 4:relu --epochs 1 --quiet --out "$TMP/m.lmn" "$@" >"$TMP/out" 2>&1; }
meta() { "$L" info "$TMP/m.lmn" | sed -n "s/^  $1  *//p"; }

for o in sgd momentum nesterov adam adamw rprop; do
    train --optimizer "$o"; rc=$?
    got=$(meta optimizer); mom=$(meta momentum)
    case $o in momentum | nesterov) want_mom=0.9 ;; *) want_mom= ;; esac
    { [ "$rc" -eq 0 ] && [ "$got" = "$o" ] && [ "$mom" = "$want_mom" ]; }
    res $? "names_optimizer_$o" "rc $rc, recorded optimizer '$got' momentum '$mom': $(head -2 "$TMP/out")"
done
for s in constant cosine step; do
    train --lr-schedule "$s"; rc=$?
    got=$(meta lr-schedule)
    { [ "$rc" -eq 0 ] && [ "$got" = "$s" ]; }; res $? "names_schedule_$s" "rc $rc, recorded '$got'"
done
for i in uniform01 xavier he; do
    train --init "$i"; rc=$?
    [ "$rc" -eq 0 ]; res $? "names_init_$i" "rc $rc: $(head -2 "$TMP/out")"
done
# An unknown name is a usage error that lists the library's names.
train --init glorot; rc=$?
{ [ "$rc" -eq 2 ] && grep -q uniform01 "$TMP/out" && grep -q xavier "$TMP/out"; }
res $? names_init_unknown "rc $rc: $(head -2 "$TMP/out")"
# info's class list reads one way: a name holding a space, a quote, a
# backslash or a newline (quoted CSV fields) is shown quoted, C-escaped
printf 'x,y\n1,big cat\n2,dog\n3,"q""uote"\n4,back\\slash\n5,"a\nb"\n' >"$TMP/sp.csv"
"$L" train --data "$TMP/sp.csv" --layers 4 --epochs 1 --quiet --out "$TMP/sp.lmn" >/dev/null 2>"$TMP/err"
"$L" info "$TMP/sp.lmn" >"$TMP/info" 2>&1
grep -qxF 'classes:    "a\nb" "back\\slash" "big cat" dog "q\"uote"' "$TMP/info"
res $? names_info_classes_quoted "$(grep -A1 '^classes' "$TMP/info") $(cat "$TMP/err")"
grep -q '^training: *resumable state after 1 epoch (1 step);' "$TMP/info"
res $? names_info_one_epoch_singular "$(grep '^training' "$TMP/info")"
# train's data summary keeps one line a name: a header or class name
# holding a newline is shown quoted and escaped; others as they are
printf 'x,"col\nname",y\n1,2,"two\nlines"\n2,3,b\n3,4,"two\nlines"\n' >"$TMP/nl2.csv"
"$L" train --data "$TMP/nl2.csv" --layers 4 --epochs 1 >"$TMP/out" 2>&1
{ grep -qF '(header: x, "col\nname")' "$TMP/out" && grep -qF '2 classes: b (1), "two\nlines" (2)' "$TMP/out"; }
res $? names_train_summary_escaped "$(head -n 3 "$TMP/out")"
# Header names holding commas (a spreadsheet's "Income, USD") are kept in
# the model's features in double quotes, so eval and predict still take
# the columns by name: a file with its columns in another order is read
# right, not by position. --ignore and --categorical lists take such a
# name in quotes too.
# cm.csv, and cm_r.csv: the same rows with the columns in another order
awk -v r="$TMP/cm_r.csv" 'BEGIN { s = 7
    h[1] = "\"id, internal\""; h[2] = "\"height, cm\""; h[3] = "\"\"\"q\"\"\""; h[4] = "kind"
    h[5] = "\"y, target\""
    print h[1] "," h[2] "," h[3] "," h[4] "," h[5]; print h[5] "," h[4] "," h[3] "," h[1] "," h[2] >r
    for (i = 0; i < 120; i++) {
        s = (s * 16807) % 2147483647; a = s / 2147483647
        s = (s * 16807) % 2147483647; b = s / 2147483647
        k = i % 3 == 0 ? "\"x,y\"" : "z"
        y = sprintf("%.4f", 2 * a - b + (k == "z"))
        printf "%d,%.4f,%.4f,%s,%s\n", 1000 + i, a, b, k, y
        printf "%s,%s,%.4f,%d,%.4f\n", y, k, b, 1000 + i, a >r
    } }' >"$TMP/cm.csv"
"$L" train --data "$TMP/cm.csv" --ignore 'id, internal' --categorical kind --layers 8 --epochs 20 \
    --seed 1 --out "$TMP/cm.lmn" >"$TMP/out" 2>&1; rc=$?
feat=$("$L" info "$TMP/cm.lmn" | sed -n 's/^  features  *//p')
{ [ "$rc" -eq 0 ] && [ "$feat" = '"height, cm","""q""",kind' ] && ! grep -q "by position" "$TMP/out"; }
res $? names_comma_features_recorded "rc $rc, features '$feat': $(head -3 "$TMP/out")"
"$L" eval "$TMP/cm.lmn" --data "$TMP/cm.csv" >"$TMP/e1" 2>&1; r1=$?
"$L" eval "$TMP/cm.lmn" --data "$TMP/cm_r.csv" >"$TMP/e2" 2>&1; r2=$?
{ [ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && grep -q '^RMSE' "$TMP/e1" &&
    [ "$(grep -v ' on ' "$TMP/e1")" = "$(grep -v ' on ' "$TMP/e2")" ]; }
res $? names_comma_eval_by_name "rc $r1/$r2: $(cat "$TMP/e1") // $(cat "$TMP/e2")"
"$L" predict "$TMP/cm.lmn" --data "$TMP/cm.csv" --id "id, internal" >"$TMP/p1" 2>&1; r1=$?
"$L" predict "$TMP/cm.lmn" --data "$TMP/cm_r.csv" --id "id, internal" >"$TMP/p2" 2>&1; r2=$?
{ [ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && cmp -s "$TMP/p1" "$TMP/p2" && [ "$(wc -l <"$TMP/p1")" -ge 120 ] &&
    grep -q '^1000,' "$TMP/p1"; }
res $? names_comma_predict_id_by_name "rc $r1/$r2: $(head -3 "$TMP/p1") // $(head -3 "$TMP/p2")"
# --id in quotes, as the lists take a name holding a comma, is that
# column: taken out of the model's --ignore, its text kept, its name shown.
awk 'BEGIN { print "\"Name, full\",a,b,y"; s = 5
    for (i = 0; i < 40; i++) {
        s = (s * 16807) % 2147483647; a = s / 2147483647
        s = (s * 16807) % 2147483647; b = s / 2147483647
        printf "\"Doe, J%d\",%.4f,%.4f,%s\n", i, a, b, (a > b ? "p" : "n")
    } }' >"$TMP/nm.csv"
"$L" train --data "$TMP/nm.csv" --ignore '"Name, full"' --layers 4 --epochs 1 --out "$TMP/nm.lmn" \
    >/dev/null 2>&1
"$L" predict "$TMP/nm.lmn" --data "$TMP/nm.csv" --id 'Name, full' --proba >"$TMP/p1" 2>&1; r1=$?
"$L" predict "$TMP/nm.lmn" --data "$TMP/nm.csv" --id '"Name, full"' --proba >"$TMP/p2" 2>&1; r2=$?
{ [ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && cmp -s "$TMP/p1" "$TMP/p2" &&
    [ "$(head -1 "$TMP/p1")" = '"Name, full",class,n,p' ] && sed -n 2p "$TMP/p1" | grep -q '^"Doe, J0",'; }
res $? names_comma_predict_id_quoted "rc $r1/$r2: $(head -2 "$TMP/p1") // $(head -2 "$TMP/p2")"
# --ignore and --categorical lists with a quoted name among others
"$L" train --data "$TMP/cm.csv" --ignore '"id, internal","""q"""' --categorical '"kind"' \
    --layers 4 --epochs 1 --out "$TMP/cm2.lmn" >"$TMP/out" 2>&1; rc=$?
feat=$("$L" info "$TMP/cm2.lmn" 2>&1 | sed -n 's/^  features  *//p')
{ [ "$rc" -eq 0 ] && [ "$feat" = '"height, cm",kind' ]; }
res $? names_comma_ignore_list_quoted "rc $rc, features '$feat': $(head -3 "$TMP/out")"
"$L" train --data "$TMP/cm.csv" --ignore '"id, internal","no, such"' --layers 4 --epochs 1 \
    --out "$TMP/cm3.lmn" >"$TMP/out" 2>&1; rc=$?
{ [ "$rc" -ne 0 ] && grep -q "no column named 'no, such'" "$TMP/out" && [ ! -e "$TMP/cm3.lmn" ]; }
res $? names_comma_unknown_named "rc $rc: $(head -3 "$TMP/out")"
# A model trained before 1.5 wrote its lists with a quote a plain
# character: its features '"q",b' for a header name "q" (quotes and all)
# are read as they were, not as a quoted q, in eval and predict.
# (set_meta, built here against the build's library, makes such a model;
# where it cannot be built and run, a cross build run under qemu, the case
# is skipped: it runs natively in every suite that builds for this CPU)
SM=$TMP/set_meta
if ${CC:-cc} ${TEST_LDFLAGS:-} -std=c11 -Iinclude -o "$SM" tests/cli/set_meta.c \
    "${BUILD:-build}/liblamina.a" -lz -lm -pthread 2>"$TMP/cc" && "$SM" 2>/dev/null; [ $? -eq 2 ]; then
awk -v r="$TMP/dq_r.csv" 'BEGIN { s = 3; print "\"\"\"q\"\"\",b,y"; print "b,y,\"\"\"q\"\"\"" >r
    for (i = 0; i < 60; i++) {
        s = (s * 16807) % 2147483647; a = s / 2147483647
        s = (s * 16807) % 2147483647; b = s / 2147483647
        printf "%.4f,%.4f,%.4f\n", a, b, 2 * a - b; printf "%.4f,%.4f,%.4f\n", b, 2 * a - b, a >r
    } }' >"$TMP/dq.csv"
"$L" train --data "$TMP/dq.csv" --layers 4 --epochs 5 --seed 1 --out "$TMP/dq.lmn" >/dev/null 2>&1
cp "$TMP/dq.lmn" "$TMP/dq14.lmn"
"$SM" "$TMP/dq14.lmn" lamina_version 1.4.0 features '"q",b' target_name '"q"' 2>"$TMP/out"
"$L" eval "$TMP/dq.lmn" --data "$TMP/dq_r.csv" --target y >"$TMP/e1" 2>&1; r1=$?
"$L" eval "$TMP/dq14.lmn" --data "$TMP/dq_r.csv" --target y >"$TMP/e2" 2>&1; r2=$?
"$L" predict "$TMP/dq14.lmn" --data "$TMP/dq_r.csv" >"$TMP/p2" 2>&1; r3=$?
"$L" predict "$TMP/dq.lmn" --data "$TMP/dq_r.csv" >"$TMP/p1" 2>&1
{ [ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && [ "$r3" -eq 0 ] && grep -q '^RMSE' "$TMP/e1" &&
    [ "$(grep -v ' on ' "$TMP/e1")" = "$(grep -v ' on ' "$TMP/e2")" ] && cmp -s "$TMP/p1" "$TMP/p2"; }
res $? names_quote_features_before_1_5 "rc $r1/$r2/$r3: $(cat "$TMP/out" "$TMP/e2" | head -3) // $(head -2 "$TMP/p2")"
else
    echo "skip names_quote_features_before_1_5: cannot build set_meta against ${BUILD:-build}/liblamina.a here"
fi
# pandas' to_csv writes its index as a first column with no name: train
# shows the name as missing and says the column holds the row numbers
printf ',a,y\n0,1.5,p\n1,2.5,q\n2,0.5,p\n3,3.5,q\n' >"$TMP/pdi.csv"
COLUMNS=500 "$L" train --data "$TMP/pdi.csv" --layers 4 --epochs 1 >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '(header: (input 1, no name), a)' "$TMP/err" &&
    grep -q '^note: input 1 has no name in the header and holds 0\.\.3, the row numbers' "$TMP/err" &&
    grep -q -- '--ignore 0 leaves it out' "$TMP/err"; }
res $? names_empty_header_index_note "rc $rc: $(cat "$TMP/err")"
printf ',a,y\n5,1.5,p\n1,2.5,q\n' >"$TMP/pde.csv"
"$L" train --data "$TMP/pde.csv" --layers 4 --epochs 1 >/dev/null 2>"$TMP/err"
{ grep -qx 'note: input 1 has no name in the header' "$TMP/err" && ! grep -q -- --ignore "$TMP/err"; }
res $? names_empty_header_note "$(cat "$TMP/err")"
# info shows an empty name in features as "" (which the list reads back as
# that name), not as nothing before a comma; --json keeps the list exact
printf 'a,,"b,c",y\n0,1,3,p\n1,2,1,q\n2,0,2,p\n' >"$TMP/pdn.csv"
"$L" train --data "$TMP/pdn.csv" --layers 4 --epochs 1 --quiet --out "$TMP/pdn.lmn" >/dev/null 2>"$TMP/err"
"$L" info "$TMP/pdn.lmn" >"$TMP/info" 2>&1
"$L" info "$TMP/pdn.lmn" --json >"$TMP/json" 2>&1
{ grep -qxF '  features         a,"","b,c"' "$TMP/info" &&
    grep -qF '"features": "a,,\"b,c\""' "$TMP/json"; }
res $? names_info_features_empty_name "$(grep features "$TMP/info") // $(grep -o '"features": [^}]*' "$TMP/json") $(cat "$TMP/err")"
finish
