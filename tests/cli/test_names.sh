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
finish
