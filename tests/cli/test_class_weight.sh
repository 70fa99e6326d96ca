#!/bin/sh
# test_class_weight.sh - lamina train --class-weight: balanced and
# NAME=W raise a rare class's recall on an imbalanced set (same seed,
# same data), the weights go into the metadata, --resume uses them again
# (bit-identical to a run never interrupted), bad specs are usage errors.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA

# imb N_MAJOR N_MINOR SEED: two overlapping 2-d classes, "minor" the rare
# one, centred 0.9 apart; a Park-Miller generator, exact in any awk.
imb() {
    awk -v nmaj="$1" -v nmin="$2" -v s="$3" '
    function u() { s = (s * 16807) % 2147483647; return s / 2147483647 }
    function g() { return u() + u() + u() - 1.5 }
    BEGIN {
        print "x1,x2,y"
        for (i = 0; i < nmaj + nmin; i++) {
            c = (i % 20 == 7 && int(i / 20) < nmin) ? "minor" : "major"
            m = c == "minor" ? 0.9 : 0
            printf "%.4f,%.4f,%s\n", g() + m, g() + m, c
        }
    }'
}
imb 380 20 12345 >"$TMP/train.csv"
imb 380 20 999 >"$TMP/test.csv"
D=$TMP/train.csv

# recall MODEL: the fraction of test.csv's "minor" rows predicted minor
recall() {
    "$L" predict "$1" --data "$TMP/test.csv" >"$TMP/pred.txt" 2>/dev/null || { echo -1; return; }
    tail -n +2 "$TMP/test.csv" | cut -d, -f3 | paste -d, - "$TMP/pred.txt" |
        awk -F, '$1 == "minor" { n++; if ($2 == "minor") k++ } END { print n ? k / n : -1 }'
}

# Measured (seeds 1-4): recall 0 unweighted, 0.95-1 with balanced and with
# minor=19; the thresholds leave a wide margin.
"$L" train --data "$D" --layers 8:relu --epochs 30 --seed 3 --quiet --out "$TMP/plain.lmn" >/dev/null 2>&1
r0=$(recall "$TMP/plain.lmn")
"$L" train --data "$D" --layers 8:relu --epochs 30 --seed 3 --quiet --out "$TMP/bal.lmn" \
    --class-weight balanced >/dev/null 2>"$TMP/err"; rc=$?
r1=$(recall "$TMP/bal.lmn")
{ [ "$rc" -eq 0 ] && ge 0.2 "$r0" && ge "$r1" 0.8; }
res $? class_weight_balanced_recall "rc $rc ($(head -n 1 "$TMP/err")): minority recall $r0 unweighted, $r1 balanced"
"$L" train --data "$D" --layers 8:relu --epochs 30 --seed 3 --quiet --out "$TMP/named.lmn" \
    --class-weight minor=19 >/dev/null 2>"$TMP/err"; rc=$?
r2=$(recall "$TMP/named.lmn")
{ [ "$rc" -eq 0 ] && ge "$r2" 0.8; }; res $? class_weight_named_recall "rc $rc ($(head -n 1 "$TMP/err")): recall $r2"
# one sigmoid output (two classes): its two weights
"$L" train --data "$D" --layers 8:relu,1:sigmoid --epochs 30 --seed 3 --quiet --out "$TMP/bin.lmn" \
    --class-weight balanced >/dev/null 2>"$TMP/err"; rc=$?
r3=$(recall "$TMP/bin.lmn")
{ [ "$rc" -eq 0 ] && ge "$r3" 0.8; }; res $? class_weight_binary_output "rc $rc ($(head -n 1 "$TMP/err")): recall $r3"

# metadata: the spec and the weights it gave (400 / (2 x 380), 400 / (2 x 20))
"$L" info "$TMP/bal.lmn" >"$TMP/info" 2>&1
{ grep -q 'class-weight  *balanced' "$TMP/info" && grep -q 'class-weights  *0.5263158,10$' "$TMP/info"; }
res $? class_weight_metadata "$(grep class-weight "$TMP/info" | tr '\n' ' ')"
"$L" info "$TMP/named.lmn" >"$TMP/info" 2>&1
grep -q 'class-weights  *1,19$' "$TMP/info"; res $? class_weight_metadata_named "$(grep class-weight "$TMP/info" | tr '\n' ' ')"
"$L" info "$TMP/plain.lmn" >"$TMP/info" 2>&1
! grep -q 'class-weight' "$TMP/info"; res $? class_weight_none_no_metadata "$(grep class-weight "$TMP/info")"

# --resume takes the spec from the metadata and computes the weights again
# from the same data: the same bits as a run never interrupted
"$L" train --data "$D" --layers 8:relu --epochs 6 --seed 3 --class-weight balanced --out "$TMP/full.lmn" --quiet >/dev/null 2>&1
"$L" train --data "$D" --layers 8:relu --epochs 3 --seed 3 --class-weight balanced --out "$TMP/half.lmn" --quiet >/dev/null 2>&1
"$L" train --resume "$TMP/half.lmn" --epochs 6 --out "$TMP/res.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
h1=$("$L" info --json "$TMP/full.lmn" | jget params_hash)
h2=$("$L" info --json "$TMP/res.lmn" | jget params_hash)
{ [ "$rc" -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ] && "$L" info "$TMP/res.lmn" | grep -q 'class-weight  *balanced'; }
res $? class_weight_resume_bit_identical "rc $rc ($(head -n 1 "$TMP/err")), $h1 vs $h2"
# and not by accident: without the weights the resumed run ends elsewhere
"$L" train --data "$D" --layers 8:relu --epochs 6 --seed 3 --out "$TMP/unw.lmn" --quiet >/dev/null 2>&1
h3=$("$L" info --json "$TMP/unw.lmn" | jget params_hash)
[ "$h3" != "$h1" ]; res $? class_weight_changes_training "weighted and unweighted runs end alike ($h1)"

# bad specs: usage errors (exit 2) that say what is wrong
bad() { # NAME WANT SPEC [more args]
    name=$1 want=$2; shift 2
    "$L" train --data "$D" --layers 4 --epochs 1 --quiet --class-weight "$@" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q -- "$want" "$TMP/err"; }; res $? "class_weight_bad_$name" "rc $rc: $(cat "$TMP/err")"
}
bad unknown_class "no class 'rare'" rare=3
bad not_pair "'minor' is not NAME=W" minor
bad not_number "the weight 'x' is not a number" minor=x
bad negative "the weight '-1' is not a number >= 0" minor=-1
bad nan "the weight 'nan'" minor=nan
bad twice "class 'minor' is given twice" minor=2,minor=3
bad all_zero "at least one must weigh more" minor=0,major=0
bad empty "non-empty value" ""
bad mse "needs --loss ce or bce, not mse" balanced --loss mse
"$L" train --data "$FIX/regress.csv" --layers 4 --epochs 1 --quiet --class-weight balanced >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "needs class targets" "$TMP/err"; }; res $? class_weight_bad_regression "rc $rc: $(cat "$TMP/err")"
# balanced with a class absent from the rows trained on
{ head -n 1 "$D"; tail -n +2 "$D" | head -n 40; printf '0,0,ghost\n'; } >"$TMP/ghost.csv"
# (--val 0.5 --seed 2 puts the lone 'ghost' row in the validation part)
"$L" train --data "$TMP/ghost.csv" --layers 4 --epochs 1 --quiet --val 0.5 --seed 2 --class-weight balanced >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q "class 'ghost' has no rows in the training part (after --val)" "$TMP/err"; }
res $? class_weight_balanced_empty_class "rc $rc: $(cat "$TMP/err")"
# a class name holding a comma (a quoted CSV field): a piece with no '='
# joins the next, so "a,b=2" weighs the class "a,b"
printf 'x,y\n1,"a,b"\n2,c\n3,"a,b"\n4,c\n' >"$TMP/comma.csv"
"$L" train --data "$TMP/comma.csv" --layers 4 --epochs 1 --quiet --class-weight 'a,b=2.5' \
    --out "$TMP/comma.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && "$L" info "$TMP/comma.lmn" | grep -q 'class-weights  *2.5,1$'; }
res $? class_weight_name_with_comma "rc $rc: $(cat "$TMP/err") $("$L" info "$TMP/comma.lmn" 2>&1 | grep class-weight)"
"$L" train --data "$TMP/comma.csv" --layers 4 --epochs 1 --quiet --class-weight 'c=3,a,b=0.5' \
    --out "$TMP/comma.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && "$L" info "$TMP/comma.lmn" | grep -q 'class-weights  *0.5,3$'; }
res $? class_weight_name_with_comma_second "rc $rc: $(cat "$TMP/err")"
# --json names each class's weight
"$L" train --data "$TMP/comma.csv" --layers 4 --epochs 1 --quiet --json --class-weight 'a,b=2.5' >"$TMP/out" 2>"$TMP/err"
grep -qF '"class_weights": {"a,b": 2.5, "c": 1}' "$TMP/out"; res $? class_weight_json "$(tail -n 1 "$TMP/out") $(cat "$TMP/err")"
"$L" train --data "$TMP/comma.csv" --layers 4 --epochs 1 --quiet --json >"$TMP/out" 2>&1
! grep -q 'class_weights' "$TMP/out"; res $? class_weight_json_none "$(tail -n 1 "$TMP/out")"
bad trailing_piece "'major' is not NAME=W" minor=2,major
# the help says it
"$L" train --help 2>&1 | grep -q -- '--class-weight SPEC'; res $? class_weight_help "no --class-weight in train --help"
finish
