#!/bin/sh
# test_rprop.sh - lamina train --optimizer rprop: it learns iris, trains
# on all the rows at once unless --batch is given, records its settings
# in the metadata, --resume uses them (bit-identical to a run never
# interrupted), and bad settings are usage errors.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
D=$FIX/iris_train.csv
T=$FIX/iris_test.csv

# Measured (seeds 1-8, 30 epochs, 16:tanh): test accuracy 0.97-1 (Adam
# on the same full batches: 0.5-0.76); 0.9 leaves a margin.
for s in 1 2; do
    "$L" train --data "$D" --test "$T" --layers 16:tanh --optimizer rprop --epochs 30 --seed $s \
        --quiet --json --out "$TMP/iris$s.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
    a=$(jget test_accuracy <"$TMP/out")
    { [ "$rc" -eq 0 ] && ge "$a" 0.9; }; res $? rprop_iris_seed$s "rc $rc ($(head -n 1 "$TMP/err")): test accuracy $a"
done

# the metadata: the optimizer, its settings, and the batch (all 112 rows)
"$L" info "$TMP/iris1.lmn" >"$TMP/info" 2>&1
{ grep -q 'optimizer  *rprop$' "$TMP/info" && grep -q 'lr  *0.01$' "$TMP/info" &&
  grep -q 'rprop-etas  *0.5,1.2$' "$TMP/info" && grep -q 'rprop-steps  *1e-06,50$' "$TMP/info" &&
  grep -q 'batch  *112$' "$TMP/info"; }
res $? rprop_metadata "$(grep -E 'optimizer|lr|rprop|batch' "$TMP/info" | tr '\n' ' ')"
"$L" train --data "$D" --layers 4:tanh --optimizer rprop --epochs 1 --batch 16 --quiet \
    --out "$TMP/b16.lmn" >/dev/null 2>&1
"$L" info "$TMP/b16.lmn" 2>&1 | grep -q 'batch  *16$'; res $? rprop_batch_given "$("$L" info "$TMP/b16.lmn" 2>&1 | grep batch)"

# --resume takes the settings from the metadata: the same bits as a run
# never interrupted
set -- --data "$D" --layers 8:tanh --optimizer rprop --rprop-etas 0.4,1.3 --rprop-steps 1e-4,0.5 --seed 3 --quiet
"$L" train "$@" --epochs 8 --out "$TMP/full.lmn" >/dev/null 2>&1
"$L" train "$@" --epochs 4 --out "$TMP/half.lmn" >/dev/null 2>&1
"$L" train --resume "$TMP/half.lmn" --epochs 8 --out "$TMP/res.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
h1=$("$L" info --json "$TMP/full.lmn" | jget params_hash)
h2=$("$L" info --json "$TMP/res.lmn" | jget params_hash)
{ [ "$rc" -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ] && "$L" info "$TMP/res.lmn" | grep -q 'rprop-etas  *0.4,1.3$'; }
res $? rprop_resume_bit_identical "rc $rc ($(head -n 1 "$TMP/err")), $h1 vs $h2"
# resumed with another optimizer: refused for the checkpoint's optimizer
# state, not for --rprop-etas, which the user never gave (the resume had
# filled it in from the metadata)
"$L" train --resume "$TMP/half.lmn" --optimizer adam --epochs 8 --out "$TMP/adam.lmn" --quiet \
    >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "its optimizer state (rprop) does not match this run's optimizer (adam)" "$TMP/err" &&
  ! grep -q 'rprop-etas' "$TMP/err"; }
res $? rprop_resume_other_optimizer "rc $rc: $(cat "$TMP/err")"
# and not by accident: with the default etas the run ends elsewhere
"$L" train --data "$D" --layers 8:tanh --optimizer rprop --seed 3 --quiet --epochs 8 --out "$TMP/dflt.lmn" >/dev/null 2>&1
h3=$("$L" info --json "$TMP/dflt.lmn" | jget params_hash)
[ -n "$h3" ] && [ "$h3" != "$h1" ]; res $? rprop_etas_change_training "default and given etas end alike ($h1)"

# bad settings: usage errors (exit 2) that say what is wrong
bad() { # NAME WANT [args]
    name=$1 want=$2; shift 2
    "$L" train --data "$D" --layers 4 --epochs 1 --quiet "$@" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q -- "$want" "$TMP/err"; }; res $? "rprop_bad_$name" "rc $rc: $(cat "$TMP/err")"
}
bad schedule "a learning-rate schedule (cosine) would not change them" --optimizer rprop --lr-schedule cosine
bad etas_without_rprop "--rprop-etas is for --optimizer rprop (this run uses adam)" --rprop-etas 0.5,1.2
bad steps_without_rprop "--rprop-steps is for --optimizer rprop" --optimizer sgd --rprop-steps 0,1
bad etas_one "--rprop-etas 0.5: expected two numbers" --optimizer rprop --rprop-etas 0.5
bad etas_three "expected two numbers" --optimizer rprop --rprop-etas 0.5,1.2,2
bad etas_text "expected two numbers" --optimizer rprop --rprop-etas 0.5,x
bad etas_range "RPROP etas (0, 1.2) must be 0 < eta_minus < 1 < eta_plus" --optimizer rprop --rprop-etas 0,1.2
bad steps_order "RPROP step sizes (1, 0.1) must be 0 <= step_min <= step_max" --optimizer rprop --rprop-steps 1,0.1
"$L" train --help 2>&1 | grep -q 'adamw or rprop'; res $? rprop_help "no rprop in train --help"
finish
