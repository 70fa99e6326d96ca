#!/bin/sh
# test_cli.sh - every lamina command end to end on small fixtures.
# Thresholds are ones a broken trainer cannot reach (chance is 1/3 on the
# blobs, R^2 about 0 on the regression).
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
B=$FIX/blobs.csv
BT=$FIX/blobs_test.csv
R=$FIX/regress.csv
RT=$FIX/regress_test.csv

# ---------------------------------------------------------------- help
"$L" --help >"$TMP/h" 2>&1
grep -q '130' "$TMP/h"; res $? help_lists_exit_codes "no exit codes in lamina --help"
"$L" train --help >"$TMP/h" 2>&1
grep -q -- '--epochs N.*\[10\]' "$TMP/h"; res $? train_help_defaults "train --help lacks defaults"
"$L" --version >"$TMP/h"
grep -q '^lamina [0-9]' "$TMP/h"; res $? version "no version line"
"$L" frobnicate >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ]; res $? unknown_command "exit $rc, want 2"

# ---------------------------------------------------------------- demo
"$L" demo --json >"$TMP/demo.json" 2>"$TMP/err"; rc=$?
losses=$(sed 's/.*"loss": \[\([^]]*\)\].*/\1/' "$TMP/demo.json" | tr ',' '\n')
n=$(printf '%s\n' "$losses" | grep -c .)
falls=$(printf '%s\n' "$losses" | awk 'NR == 1 { f = $1 } { l = $1 } END { print (f > 0.5 && l < 0.01 && l < f / 50) }')
{ [ "$rc" -eq 0 ] && [ "$n" -eq 1500 ] && [ "$falls" = 1 ]; }
res $? demo_json_losses "rc $rc, $n losses, falling=$falls"
preds=$(sed 's/.*"predictions": \[\([^]]*\)\].*/\1/' "$TMP/demo.json")
close=$(echo "$preds" | awk -F', *' '{ t[1] = 0; t[2] = 1; t[3] = 1; t[4] = 0; ok = NF == 4
    for (i = 1; i <= 4; i++) { d = $i - t[i]; if (d < 0) d = -d; if (d > 0.1) ok = 0 } print ok }')
[ "$close" = 1 ]; res $? demo_json_predictions "predictions [$preds] not within 0.1 of [0,1,1,0]"

(cd "$TMP" && LANG=C.UTF-8 LC_ALL= "$L" demo --plot demo.svg >demo.txt 2>&1); rc=$?
{ [ "$rc" -eq 0 ] && grep -q 'iteration 1500' "$TMP/demo.txt"; }; res $? demo_text "rc $rc or no loss lines"
grep -q '▁' "$TMP/demo.txt"; res $? demo_sparkline "no Unicode sparkline"
LANG=C LC_ALL=C "$L" demo >"$TMP/demo_c.txt" 2>&1
! grep -q '▁' "$TMP/demo_c.txt"; res $? demo_sparkline_ascii "Unicode blocks without a UTF-8 locale"
xml_ok "$TMP/demo.svg"; res $? demo_plot_xml "demo.svg missing or not XML"

# -------------------------------------------------- train classification
"$L" train --data "$B" --test "$BT" --layers 16:relu --epochs 40 --lr 0.01 \
    --out "$TMP/b.lmn" --log "$TMP/b.csv" --plot "$TMP/b.svg" --json >"$TMP/train.out" 2>"$TMP/train.err"
rc=$?
last=$(tail -n 1 "$TMP/train.out")
acc=$(echo "$last" | jget test_accuracy)
{ [ "$rc" -eq 0 ] && ge "$acc" 0.95; }; res $? train_classes_accuracy "rc $rc, test accuracy '$acc' < 0.95"
{ echo "$last" | grep -q '"epochs": 40' && echo "$last" | grep -q '"seconds_per_epoch": [0-9]' &&
  echo "$last" | grep -q '"model": ".*b.lmn"' && echo "$last" | grep -q '"test_loss": [0-9]'; }
res $? train_json_fields "last stdout line lacks fields: $last"
# the default --threads is the cores the process may run on, not all of
# the machine's (taskset, a container's cpuset)
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    taskset -c 0 "$L" train --data "$B" --layers 4 --epochs 1 --quiet --json >"$TMP/ts.out" 2>&1
    grep -q '"threads": 1,' "$TMP/ts.out"; res $? train_threads_follow_affinity "$(tail -c 300 "$TMP/ts.out")"
    "$L" train --data "$B" --layers 4 --epochs 1 --threads 3 --quiet --json >"$TMP/ts.out" 2>&1
    grep -q '"threads": 3,' "$TMP/ts.out"; res $? train_threads_given "$(tail -c 300 "$TMP/ts.out")"
else
    echo "skip train_threads_follow_affinity: no taskset or one CPU"
fi
[ "$(grep -c '^epoch ' "$TMP/train.err")" -eq 40 ]; res $? train_epoch_lines "expected 40 epoch lines on stderr"
[ "$(wc -l <"$TMP/b.csv")" -eq 41 ]; res $? train_log_lines "the log should have 41 lines"
grep -q '^epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,lr$' "$TMP/b.csv"
res $? train_log_header "log header"
xml_ok "$TMP/b.svg"; res $? train_plot_xml "plot missing or not XML"
# the summary names the files written (on stderr with --json)
{ grep -qx "log: $TMP/b.csv" "$TMP/train.err" && grep -qx "plot: $TMP/b.svg" "$TMP/train.err"; }
res $? train_summary_names_files "$(tail -n 4 "$TMP/train.err")"
grep -q 'train accuracy' "$TMP/b.svg"; res $? train_plot_legend "plot lacks the accuracy series"

"$L" eval "$TMP/b.lmn" --data "$BT" --json >"$TMP/eval.json" 2>&1; rc=$?
eacc=$(jget accuracy <"$TMP/eval.json")
{ [ "$rc" -eq 0 ] && [ "$eacc" = "$acc" ]; }; res $? eval_reproduces_test_accuracy "rc $rc, eval $eacc vs train $acc"
"$L" eval "$TMP/b.lmn" --data "$BT" >"$TMP/eval.txt" 2>&1
{ grep -q 'confusion' "$TMP/eval.txt" && grep -q ' green ' "$TMP/eval.txt"; }
res $? eval_confusion_matrix "no confusion matrix with class names"

# Classes in another order, and only two of the three: mapped by name.
{ echo "x1,x2,color"; grep ',blue$' "$BT"; grep ',green$' "$BT"; } >"$TMP/two.csv"
"$L" eval "$TMP/b.lmn" --data "$TMP/two.csv" --json >"$TMP/two.json" 2>&1; rc=$?
tacc=$(jget accuracy <"$TMP/two.json")
{ [ "$rc" -eq 0 ] && ge "$tacc" 0.95; }; res $? eval_maps_class_names "rc $rc, accuracy '$tacc' on reordered classes"
# Per-class precision, recall and F1, balanced accuracy and the confusion
# matrix against scikit-learn on the same predictions: the whole test set,
# the two-class subset (red has no rows: its recall is undefined), and a
# net trained for one step (here some class was never predicted), and one
# row (two classes neither in the rows nor predicted: left out of the
# averages, every score undefined)
{ head -n 2 "$BT"; } >"$TMP/one.csv"
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    "$L" train --data "$B" --layers 16:relu --epochs 1 --batch 300 --seed 1 --quiet --out "$TMP/raw.lmn" >/dev/null 2>&1
    for c in "b.lmn $BT full" "b.lmn $TMP/two.csv two_classes" "raw.lmn $BT undertrained" "b.lmn $TMP/one.csv one_row"; do
        set -- $c
        "$L" eval "$TMP/$1" --data "$2" --json >"$TMP/rep.json" 2>"$TMP/err"; rc=$?
        "$L" predict "$TMP/$1" --data "$2" >"$TMP/rep.pred" 2>>"$TMP/err"
        tail -n +2 "$2" | cut -d, -f3 >"$TMP/rep.true"
        why=$(/usr/bin/python3 tests/cli/eval_report_check.py "$TMP/rep.json" "$TMP/rep.true" "$TMP/rep.pred" 2>&1)
        { [ "$rc" -eq 0 ] && [ "${why#agree}" != "$why" ]; }; res $? "eval_report_matches_sklearn_$3" "rc $rc: $why $(head -c 300 "$TMP/err")"
    done
    [ "$(grep -o '"precision": null, "recall": null, "f1": null, "support": 0' "$TMP/rep.json" | wc -l)" -eq 2 ]
    res $? eval_report_undefined_is_null "$(head -c 600 "$TMP/rep.json")"
else
    echo "skip eval_report_matches_sklearn: no scikit-learn for /usr/bin/python3"
fi
"$L" eval "$TMP/b.lmn" --data "$TMP/two.csv" >"$TMP/eval.txt" 2>&1
{ grep -q '^ *precision *recall *f1 *support$' "$TMP/eval.txt" && grep -q '^ *red .* - .* 0$' "$TMP/eval.txt" &&
    grep -q '^ *macro avg ' "$TMP/eval.txt" && grep -q '^balanced accuracy: [0-9]' "$TMP/eval.txt"; }
res $? eval_report_text "$(tail -n 7 "$TMP/eval.txt")"
# The target first, the inputs after it in another order: eval finds the
# target by elimination (it said "column 2 is both the target and an input")
awk -F, 'BEGIN { OFS = "," } { print $3, $2, $1 }' "$BT" >"$TMP/target_first.csv"
"$L" eval "$TMP/b.lmn" --data "$TMP/target_first.csv" --json >"$TMP/tf.json" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && [ "$(jget accuracy <"$TMP/tf.json")" = "$eacc" ]; }
res $? eval_target_not_last "rc $rc: $(cat "$TMP/err") $(head -c 200 "$TMP/tf.json")"
# only the inputs, no target column: said so (it said "column 1 is both
# the target and an input")
cut -d, -f1,2 "$BT" >"$TMP/inputs_only.csv"
"$L" eval "$TMP/b.lmn" --data "$TMP/inputs_only.csv" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q "inputs_only.csv: no target column: each of its columns is an input or left out" "$TMP/err"; }
res $? eval_no_target_column "rc $rc: $(cat "$TMP/err")"
{ echo "x1,x2,color"; echo "1,1,purple"; } >"$TMP/purple.csv"
"$L" eval "$TMP/b.lmn" --data "$TMP/purple.csv" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q purple "$TMP/err"; }; res $? eval_unknown_class "exit $rc: $(cat "$TMP/err")"

"$L" predict "$TMP/b.lmn" --data "$BT" >"$TMP/pred.txt" 2>"$TMP/err"; rc=$?
right=$(tail -n +2 "$BT" | cut -d, -f3 | paste -d' ' - "$TMP/pred.txt" | awk '$1 == $2 { n++ } END { print n + 0 }')
{ [ "$rc" -eq 0 ] && [ "$(wc -l <"$TMP/pred.txt")" -eq 150 ] && [ "$right" -ge 143 ]; }
res $? predict_class_names "rc $rc, $right of 150 right"
"$L" predict "$TMP/b.lmn" --data "$BT" --proba >"$TMP/proba.txt" 2>&1
[ "$(head -n 1 "$TMP/proba.txt")" = "class,blue,green,red" ]; res $? predict_proba_header "header line (classes sorted by name)"
[ "$(awk -F, 'NF == 4' "$TMP/proba.txt" | wc -l)" -eq 151 ]; res $? predict_proba_rows "151 lines of 4 fields"
cut -d, -f1,2 "$BT" >"$TMP/features.csv"
"$L" predict "$TMP/b.lmn" --data "$TMP/features.csv" >"$TMP/pred2.txt" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && cmp -s "$TMP/pred.txt" "$TMP/pred2.txt"; }; res $? predict_without_target "rc $rc or predictions differ"
awk -F, 'BEGIN { OFS = "," } { print $2, $1 }' "$BT" >"$TMP/swapped.csv"
"$L" predict "$TMP/b.lmn" --data "$TMP/swapped.csv" >"$TMP/pred3.txt" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && cmp -s "$TMP/pred.txt" "$TMP/pred3.txt"; }
res $? predict_columns_by_name "rc $rc or predictions differ with swapped columns"

"$L" info "$TMP/b.lmn" >"$TMP/info.txt" 2>&1; rc=$?
grep -q '2 inputs -> 16:relu,3:softmax' "$TMP/info.txt"; res $? info_architecture "rc $rc or no architecture"
grep -q 'blue green red' "$TMP/info.txt"; res $? info_classes "no class names"
grep -q 'standardised' "$TMP/info.txt"; res $? info_normalisation "no normalisation summary"
"$L" info "$TMP/b.lmn" --json >"$TMP/info.json" 2>&1
{ grep -q '"params_hash": "[0-9a-f]\{16\}"' "$TMP/info.json" && grep -q '"params": 99' "$TMP/info.json"; }
res $? info_json "no params_hash or params 99"

# ----------------------------------------------------------- regression
"$L" train --data "$R" --test "$RT" --layers 16:tanh --epochs 100 --lr 0.01 --out "$TMP/r.lmn" --quiet >/dev/null 2>&1; rc=$?
"$L" eval "$TMP/r.lmn" --data "$RT" --json >"$TMP/r.json" 2>&1
r2=$(jget r2 <"$TMP/r.json")
{ [ "$rc" -eq 0 ] && ge "$r2" 0.95; }; res $? regression_r2 "rc $rc, R^2 '$r2' < 0.95"
"$L" predict "$TMP/r.lmn" --data "$RT" >"$TMP/rp.txt" 2>&1
[ "$(grep -c '^-\{0,1\}[0-9]' "$TMP/rp.txt")" -eq 100 ]; res $? regression_predict "100 numeric lines"
# MSE, RMSE, MAE and R^2 against scikit-learn on the same predictions: one
# target, and three (linnerud: RMSE and R^2 are means over the targets)
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    LN=$FIX/linnerud.csv
    "$L" train --data "$LN" --target Weight,Waist,Pulse --layers 8:relu --epochs 30 --quiet --out "$TMP/ln.lmn" >/dev/null 2>&1
    for c in "r.lmn $RT 4 one_target" "ln.lmn $LN 4-6 three_targets"; do
        set -- $c
        "$L" eval "$TMP/$1" --data "$2" --json >"$TMP/rr.json" 2>"$TMP/err"; rc=$?
        "$L" predict "$TMP/$1" --data "$2" >"$TMP/rr.pred" 2>>"$TMP/err"
        tail -n +2 "$2" | cut -d, -f"$3" >"$TMP/rr.true"
        why=$(/usr/bin/python3 tests/cli/eval_report_check.py --regression "$TMP/rr.json" "$TMP/rr.true" "$TMP/rr.pred" 2>&1)
        { [ "$rc" -eq 0 ] && [ "${why#agree}" != "$why" ]; }; res $? "eval_regression_matches_sklearn_$4" "rc $rc: $why $(head -c 300 "$TMP/err")"
    done
else
    echo "skip eval_regression_matches_sklearn: no scikit-learn for /usr/bin/python3"
fi

# ------------------------------------------------ validation, quiet, json
"$L" train --data "$B" --layers 8 --epochs 3 --val 0.25 --quiet --json >"$TMP/v.out" 2>"$TMP/v.err"; rc=$?
grep -q '"val_accuracy": [0-9]' "$TMP/v.out"; res $? val_json "rc $rc or no val_accuracy"
{ [ "$(wc -l <"$TMP/v.out")" -eq 1 ] && [ ! -s "$TMP/v.err" ]; }
res $? quiet_json_only "--quiet --json: stdout one line, stderr empty"
"$L" train --data "$B" --layers 8 --epochs 200 --val 0.25 --early-stop 2 --lr 0.05 --quiet --json >"$TMP/es.out" 2>&1; rc=$?
ep=$(jget epochs <"$TMP/es.out")
{ [ "$rc" -eq 0 ] && [ -n "$ep" ] && [ "$ep" -lt 200 ]; }; res $? early_stop "rc $rc, ran $ep of 200 epochs"

# --------------------------------------------------- resume, checkpoints
for o in sgd momentum adam; do
    "$L" train --data "$B" --layers 8:tanh --optimizer $o --epochs 6 --val 0.2 --seed 7 --out "$TMP/full.lmn" --quiet >/dev/null 2>&1
    "$L" train --data "$B" --layers 8:tanh --optimizer $o --epochs 3 --val 0.2 --seed 7 --out "$TMP/half.lmn" --quiet >/dev/null 2>&1
    "$L" train --data "$B" --resume "$TMP/half.lmn" --epochs 6 --out "$TMP/res.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
    h1=$("$L" info --json "$TMP/full.lmn" | jget params_hash)
    h2=$("$L" info --json "$TMP/res.lmn" | jget params_hash)
    { [ "$rc" -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ]; }
    res $? "resume_bit_identical_$o" "rc $rc ($(head -n 1 "$TMP/err")), $h1 vs $h2"
done
"$L" train --data "$B" --layers 8 --epochs 4 --checkpoint-every 2 --checkpoint "$TMP/ck.lmn" --quiet >/dev/null 2>&1; rc=$?
"$L" info "$TMP/ck.lmn" >/dev/null 2>&1; res $? checkpoint_loadable "rc $rc or the checkpoint does not load"
"$L" train --data "$B" --resume "$TMP/ck.lmn" --epochs 4 --quiet --json >"$TMP/ck.json" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '"epochs": 4' "$TMP/ck.json"; }; res $? resume_nothing_to_do "rc $rc, resuming a finished run"

# --init-from starts from another run's model: the settings and figures
# that run recorded and this one did not use are none, not kept as this
# run's (its ';' separator made eval of this run's own comma file fail;
# its weight decay would have been taken up by a --resume)
tr , ';' <"$R" >"$TMP/semi.csv"
"$L" train --data "$TMP/semi.csv" --sep ';' --layers 8 --epochs 2 --weight-decay 0.1 --val 0.2 \
    --test "$TMP/semi.csv" --out "$TMP/from.lmn" --quiet >/dev/null 2>&1
"$L" train --data "$R" --init-from "$TMP/from.lmn" --epochs 2 --out "$TMP/init.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
"$L" info "$TMP/init.lmn" >"$TMP/info" 2>&1
"$L" eval "$TMP/init.lmn" --data "$R" >"$TMP/ev" 2>&1; rc2=$?
{ [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && grep -q "^  data " "$TMP/info" &&
  ! grep -qE "^  (sep|weight-decay|val|val_loss|test|test_loss) " "$TMP/info"; }
res $? init_from_settings_not_kept "rc $rc, eval rc $rc2: $(cat "$TMP/err" "$TMP/ev"; grep -E "^  (sep|weight|val|test)" "$TMP/info")"
# --init-from a classes model trained on integer labels (--task classes)
# reads them as classes again without --task (it read them as numbers
# and refused the model's two outputs)
printf 'a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$TMP/xo.csv"
"$L" train --data "$TMP/xo.csv" --task classes --layers 4 --epochs 2 --out "$TMP/xo1.lmn" --quiet >/dev/null 2>&1
"$L" train --data "$TMP/xo.csv" --init-from "$TMP/xo1.lmn" --epochs 2 --out "$TMP/xo2.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && "$L" info "$TMP/xo2.lmn" | grep -q '^  task  *classes'; }
res $? init_from_takes_classes_task "rc $rc: $(cat "$TMP/err")"

# ------------------------------------------------------------- Ctrl-C
awk 'BEGIN { srand(3); print "a,b,c,d,cls"
    for (i = 0; i < 30000; i++) { c = i % 3; printf "%.4f,%.4f,%.4f,%.4f,k%d\n", rand() + c, rand(), rand(), rand() - c, c } }' >"$TMP/big.csv"
"$L" train --data "$TMP/big.csv" --layers 64:relu,64:relu --epochs 100000 --out "$TMP/int.lmn" \
    --log "$TMP/int-log.csv" --plot "$TMP/int.svg" --checkpoint-every 1 --quiet >/dev/null 2>"$TMP/int.err" &
pid=$!
# stop it once it has run an epoch or more (its checkpoint is there)
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -e "$TMP/int.lmn" ] && break
    sleep 1
done
sleep 1
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 130 ]; res $? sigint_exit_130 "exit $rc"
# the log and plot of the epochs run are written, as their state is
n=$(sed -n 's/.*after \([0-9]*\) complete epochs.*/\1/p' "$TMP/int.err")
{ [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$(wc -l <"$TMP/int-log.csv")" -eq $((n + 1)) ] &&
  xml_ok "$TMP/int.svg"; }
res $? sigint_keeps_log_plot "epochs '$n', log: $(wc -l <"$TMP/int-log.csv" 2>&1); $(cat "$TMP/int.err")"
grep -qE "(saved|kept) .*int.lmn" "$TMP/int.err"; res $? sigint_message "no message naming the checkpoint"
"$L" info "$TMP/int.lmn" >/dev/null 2>&1; res $? sigint_checkpoint_loads "the checkpoint does not load"
[ "$(ls "$TMP" | grep -c tmp)" -eq 0 ]; res $? sigint_no_temp_files "temporary files left"

# ------------------------------------------------ NaN keeps the checkpoint
"$L" train --data "$R" --layers 8 --optimizer sgd --lr 0.001 --epochs 2 --out "$TMP/good.lmn" --quiet >/dev/null 2>&1
cp "$TMP/good.lmn" "$TMP/good.copy"
"$L" train --data "$R" --layers 8 --optimizer sgd --lr 100000 --epochs 5 --out "$TMP/good.lmn" \
    --checkpoint-every 1 --log "$TMP/nan.csv" --quiet >/dev/null 2>"$TMP/nan.err"; rc=$?
msg=$(cat "$TMP/nan.err")
[ "$rc" -eq 5 ]; res $? nan_exit_5 "exit $rc"
grep -q 'epoch 1' "$TMP/nan.err"; res $? nan_message_epoch "the message should name the epoch: $msg"
[ "$(wc -l <"$TMP/nan.err")" -eq 1 ]; res $? nan_one_line "stderr should be one line"
cmp -s "$TMP/good.lmn" "$TMP/good.copy"; res $? nan_checkpoint_intact "the last good model changed"
[ ! -e "$TMP/nan.csv" ]; res $? nan_no_log "a log was written on failure"

finish
