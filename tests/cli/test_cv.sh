#!/bin/sh
# test_cv.sh - lamina train --cv K: k-fold cross-validation. The folds
# are a partition, stratified as scikit-learn's StratifiedKFold (its
# allocation, fold for fold), the same for a seed and a thread count;
# the mean and population std are those of the folds' scores; --out
# trains the final model on all the rows (as train without --cv) and
# records the figures; what does not go with folds is refused.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
I=$FIX/iris_train.csv # 112 rows: setosa 37, versicolor 37, virginica 38 (first: versicolor)
PY=/usr/bin/python3

# jq_py EXPR FILE: a python expression over j, the JSON object on FILE's last line
jq_py() { tail -n 1 "$2" | "$PY" -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

# ------------------------------------------------- folds: a partition
"$L" train --data "$I" --layers 8:relu --epochs 2 --cv 5 --json --quiet >"$TMP/c5" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && [ "$(jq_py 'j["cv"]["rows"]' "$TMP/c5")" = "[23, 23, 22, 22, 22]" ] &&
  [ "$(jq_py '[sum(c) for c in zip(*j["cv"]["rows_by_class"])]' "$TMP/c5")" = "[37, 37, 38]" ] &&
  [ "$(jq_py 'j["model"]' "$TMP/c5")" = None ]; }
res $? cv_partition "rc $rc: $(cat "$TMP/c5" "$TMP/err")"
# stratified: scikit-learn's allocation of each class to the folds (its
# classes in the order they first appear), whatever the shuffling
if "$PY" -c 'import sklearn' 2>/dev/null; then
    for k in 3 5 7; do
        "$L" train --data "$I" --layers 8:relu --epochs 1 --cv $k --json --quiet >"$TMP/ck" 2>&1
        mine=$(jq_py 'j["cv"]["rows_by_class"]' "$TMP/ck")
        theirs=$("$PY" - "$I" $k <<'EOF'
import csv, sys
import numpy as np
from sklearn.model_selection import StratifiedKFold
y = np.array([r[-1] for r in list(csv.reader(open(sys.argv[1])))[1:]])
classes = sorted(set(y))  # lamina's class order (the JSON's columns)
skf = StratifiedKFold(int(sys.argv[2]), shuffle=True, random_state=0)
print([[int((y[te] == c).sum()) for c in classes] for _, te in skf.split(np.zeros(len(y)), y)])
EOF
)
        [ "$mine" = "$theirs" ]; res $? cv_stratified_as_sklearn_$k "lamina $mine, sklearn $theirs"
    done
else
    echo "# no sklearn: the StratifiedKFold comparison is skipped"
fi
# regression: shuffled KFold, the first n % K folds one row larger
"$L" train --data "$FIX/diabetes.csv" --layers 8:tanh --epochs 2 --cv 5 --json --quiet >"$TMP/r5" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && [ "$(jq_py 'j["cv"]["rows"], j["cv"]["stratified"]' "$TMP/r5")" = "[89, 89, 88, 88, 88] False" ] &&
  [ "$(jq_py 'len(j["cv"]["r2"]), len(j["cv"]["rmse"]), "accuracy" in j["cv"]' "$TMP/r5")" = "5 5 False" ]; }
res $? cv_regression_kfold "rc $rc: $(cat "$TMP/r5" "$TMP/err")"

# ------------------------------------- mean and std: numpy's, ddof 0
"$PY" - "$TMP/c5" "$TMP/r5" <<'EOF'
import json, sys
import numpy as np
for path in sys.argv[1:]:
    cv = json.loads(open(path).read().splitlines()[-1])["cv"]
    for m in ("accuracy", "r2", "rmse", "loss"):
        if m in cv:
            v = np.array(cv[m])
            assert abs(v.mean() - cv[m + "_mean"]) < 1e-6, (m, v.mean(), cv[m + "_mean"])
            assert abs(v.std() - cv[m + "_std"]) < 1e-6, (m, v.std(), cv[m + "_std"])
EOF
res $? cv_mean_std_population "$(cat "$TMP/c5")"

# the human lines: one a fold on stderr, the summary on stdout
"$L" train --data "$I" --layers 8:relu --epochs 2 --cv 4 >"$TMP/out" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && [ "$(grep -c '^fold [1-4]/4  accuracy' "$TMP/err")" -eq 4 ] &&
  grep -q '^cv 4 folds: accuracy [0-9.]* +- [0-9.]* ([0-9. ]*);' "$TMP/out" &&
  grep -q 'held out 28' "$TMP/err" && grep -q '^hint: cross-validation keeps no model' "$TMP/out"; }
res $? cv_human_output "rc $rc: $(cat "$TMP/out" "$TMP/err")"
"$L" train --data "$I" --layers 8:relu --epochs 2 --cv 4 --quiet >"$TMP/out" 2>"$TMP/err"
{ [ ! -s "$TMP/err" ] && grep -q '^cv 4 folds' "$TMP/out"; }; res $? cv_quiet "$(cat "$TMP/err")"

# ------------------------------------------------------ reproducible
"$L" train --data "$I" --layers 8:relu --epochs 5 --cv 5 --seed 7 --json --quiet --threads 1 >"$TMP/a" 2>&1
"$L" train --data "$I" --layers 8:relu --epochs 5 --cv 5 --seed 7 --json --quiet --threads 1 >"$TMP/b" 2>&1
"$L" train --data "$I" --layers 8:relu --epochs 5 --cv 5 --seed 7 --json --quiet --threads 2 >"$TMP/c" 2>&1
"$L" train --data "$I" --layers 8:relu --epochs 5 --cv 5 --seed 8 --json --quiet --threads 1 >"$TMP/d" 2>&1
cmp -s "$TMP/a" "$TMP/b"; res $? cv_same_seed_same_output "$(cat "$TMP/a" "$TMP/b")"
cmp -s "$TMP/a" "$TMP/c"; res $? cv_threads_same_output "$(cat "$TMP/a" "$TMP/c")"
! cmp -s "$TMP/a" "$TMP/d"; res $? cv_other_seed_other_folds "$(cat "$TMP/d")"

# --------------------------------------------------- a separable set
"$L" train --data "$FIX/blobs.csv" --layers 16:relu --epochs 30 --cv 5 --json --quiet >"$TMP/bl" 2>"$TMP/err"; rc=$?
m=$(jq_py 'j["cv"]["accuracy_mean"]' "$TMP/bl")
{ [ "$rc" -eq 0 ] && ge "$m" 0.9; }; res $? cv_accuracy_blobs "rc $rc: mean $m $(cat "$TMP/err")"

# ------------------------- --out: the final model on all the rows, refit
"$L" train --data "$I" --layers 8:relu --epochs 20 --cv 3 --out "$TMP/cv.lmn" --test "$FIX/iris_test.csv" \
    --log "$TMP/log.csv" --json --quiet >"$TMP/o" 2>"$TMP/err"; rc=$?
"$L" train --data "$I" --layers 8:relu --epochs 20 --out "$TMP/plain.lmn" --test "$FIX/iris_test.csv" \
    --json --quiet >"$TMP/p" 2>&1
"$L" info "$TMP/cv.lmn" >"$TMP/info" 2>&1
mean=$(jq_py '"%.6g" % j["cv"]["accuracy_mean"]' "$TMP/o")
{ [ "$rc" -eq 0 ] && [ "$(jq_py 'j["model"] is not None, j["cv"]["folds"]' "$TMP/o")" = "True 3" ] &&
  [ "$(jq_py 'j["train_loss"], j["test_accuracy"]' "$TMP/o")" = "$(jq_py 'j["train_loss"], j["test_accuracy"]' "$TMP/p")" ] &&
  grep -q "^  cv  *3\$" "$TMP/info" && grep -q "^  cv_accuracy  *$mean\$" "$TMP/info" &&
  grep -q '^  cv_accuracy_std ' "$TMP/info" && [ "$(wc -l <"$TMP/log.csv")" -eq 21 ]; }
res $? cv_refit_out "rc $rc: $(cat "$TMP/o" "$TMP/err"; grep cv "$TMP/info")"
# a run resumed from it no longer does --cv: its figures are removed
"$L" train --resume "$TMP/cv.lmn" --epochs 22 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && ! "$L" info "$TMP/cv.lmn" | grep -q '^  cv'; }; res $? cv_meta_removed_on_resume "rc $rc: $(cat "$TMP/err")"

# ------------------------------------------------- per-fold training
# balanced class weights and --missing mean come from each fold's own
# training rows; early stopping watches the training loss (no val set)
awk 'BEGIN { srand(5); print "a,b,cls"
    for (i = 0; i < 200; i++) { c = (i % 10 == 3) ? "rare" : "common"; m = c == "rare" ? 2 : 0
        a = rand() + m; if (i % 17 == 0) a = "NA"; printf "%s,%.4f,%s\n", a, rand() + m, c } }' >"$TMP/imb.csv"
"$L" train --data "$TMP/imb.csv" --layers 8:relu --epochs 20 --cv 4 --class-weight balanced --missing mean \
    --early-stop 3 --json --quiet >"$TMP/o" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && [ "$(jq_py 'j["cv"]["rows_by_class"]' "$TMP/o")" = "[[45, 5], [45, 5], [45, 5], [45, 5]]" ]; }
res $? cv_class_weight_missing "rc $rc: $(cat "$TMP/o" "$TMP/err")"
# a column whose only values all fall in one fold's held-out rows has no
# mean in that fold's training rows: refused naming the fold, as a whole
# file's empty column is (it was filled with 0, silently); seed 1 puts
# both values of b in fold 1
printf 'a,b,y\n0.1,0.5,1\n0.2,0.7,2\n0.3,,3\n0.4,,4\n0.5,,5\n0.6,,6\n' >"$TMP/sparse.csv"
"$L" train --data "$TMP/sparse.csv" --layers 4 --epochs 1 --missing mean --cv 2 --seed 1 >"$TMP/o" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q "sparse.csv: --cv fold [12]/2: column 'b' has no values in the fold's training rows" "$TMP/err"; }
res $? cv_fold_column_without_values "rc $rc: $(cat "$TMP/o" "$TMP/err")"

# --------------------------------------------------------- IDX images
# 2x2 images, class 1 when the top row is bright. idx N SEED IMAGES LABELS
idx() {
    n=$1; s=$2
    o=$(printf %03o "$n")
    printf "\\000\\000\\010\\003\\000\\000\\000\\$o\\000\\000\\000\\002\\000\\000\\000\\002" >"$3"
    printf "\\000\\000\\010\\001\\000\\000\\000\\$o" >"$4"
    i=0
    while [ "$i" -lt "$n" ]; do
        s=$(( (s * 16807) % 2147483647 )); c=$((s % 2)); v=$((s / 7 % 64))
        if [ "$c" -eq 1 ]; then printf "\\$(printf %03o $((191 + v)))\\$(printf %03o $((190 + v)))\\$(printf %03o "$v")\\$(printf %03o $((v + 1)))" >>"$3"
        else printf "\\$(printf %03o "$v")\\$(printf %03o $((v + 2)))\\$(printf %03o $((191 + v)))\\$(printf %03o $((189 + v)))" >>"$3"; fi
        printf "\\$(printf %03o "$c")" >>"$4"
        i=$((i + 1))
    done
}
idx 120 11 "$TMP/tr.idx" "$TMP/trl.idx"
"$L" train --data "$TMP/tr.idx" --labels "$TMP/trl.idx" --layers conv:4:2x2:relu,8:relu --epochs 30 --batch 8 \
    --lr 0.01 --cv 3 --json --quiet >"$TMP/o" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && [ "$(jq_py 'j["cv"]["rows"]' "$TMP/o")" = "[40, 40, 40]" ] &&
  ge "$(jq_py 'j["cv"]["accuracy_mean"]' "$TMP/o")" 0.9; }
res $? cv_idx "rc $rc: $(cat "$TMP/o" "$TMP/err")"

# a class with fewer rows than folds: scikit-learn's warning, then the folds
"$L" train --data "$I" --layers 4 --epochs 1 --cv 40 --json >"$TMP/o" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "^warning: --cv 40: class 'setosa' has only 37 rows, fewer than the folds" "$TMP/err" &&
  [ "$(jq_py 'sum(j["cv"]["rows"]), len(j["cv"]["accuracy"])' "$TMP/o")" = "112 40" ]; }
res $? cv_few_rows_warning "rc $rc: $(head -c 600 "$TMP/err")"

# ------------------------------------------------------------ refusals
# refused NAME EXIT MESSAGE ARGS...: exit code and message, nothing written
refused() {
    name=$1 code=$2 msg=$3; shift 3
    "$L" train --data "$I" --layers 8:relu --epochs 1 "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq "$code" ] && grep -q -- "$msg" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
      [ ! -e "$TMP/never.lmn" ] && [ ! -e "$TMP/never.csv" ]; }
    res $? "cv_refused_$name" "rc $rc: $(cat "$TMP/err")"
}
"$L" train --data "$I" --layers 8:relu --epochs 1 --out "$TMP/m.lmn" --quiet >/dev/null 2>&1
refused val 2 "does not go with --val " --cv 3 --val 0.2
refused val_data 2 "does not go with --val-data" --cv 3 --val-data "$FIX/iris_test.csv"
refused resume 2 "does not go with --resume" --cv 3 --resume "$TMP/m.lmn" --out "$TMP/never.lmn"
"$L" train --data "$I" --init-from "$TMP/m.lmn" --cv 3 --out "$TMP/never.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "does not go with --init-from" "$TMP/err" && [ ! -e "$TMP/never.lmn" ]; }
res $? cv_refused_init_from "rc $rc: $(cat "$TMP/err")"
refused checkpoint 2 "does not go with --checkpoint " --cv 3 --checkpoint "$TMP/never.lmn"
refused checkpoint_every 2 "does not go with --checkpoint-every" --cv 3 --checkpoint-every 1 --out "$TMP/never.lmn"
refused log_no_out 2 "add --out MODEL" --cv 3 --log "$TMP/never.csv"
refused one_fold 2 "cv" --cv 1
refused too_many_folds 3 "iris_train.csv: --cv 200 needs at least 200 rows, but the data has 112" --cv 200

# ------------------------------------------------- leave-one-out, wide
# K = the rows: a figure a fold. The summary line and the model's
# cv_*_folds were cut at 4096 bytes (loss 300 folds: the summary lost
# its loss, cv_loss_folds kept about 220 of 300 values); all are kept.
awk 'BEGIN { print "a,b,y"; for (i = 0; i < 300; i++) printf "%d.25,%d.5,%d.125\n", i % 17, i % 5, (i * 37) % 1000 }' >"$TMP/loo.csv"
"$L" train --data "$TMP/loo.csv" --layers 4:relu --epochs 1 --cv 300 --out "$TMP/loo.lmn" --quiet \
    >"$TMP/o" 2>"$TMP/err"; rc=$?
"$L" info "$TMP/loo.lmn" --json >"$TMP/info" 2>>"$TMP/err"
summary_loss=$(tr '\n' ' ' <"$TMP/o" | sed -n 's/.*; *loss [^(]*(\([^)]*\)).*/\1/p' | wc -w)
{ [ "$rc" -eq 0 ] && [ "$summary_loss" -eq 300 ] &&
  [ "$(jq_py 'len(j["meta"]["cv_loss_folds"].split(","))' "$TMP/info")" = 300 ] &&
  [ "$(jq_py 'len(j["meta"]["cv_rmse_folds"].split(","))' "$TMP/info")" = 300 ]; }
res $? cv_leave_one_out_all_folds "rc $rc, $summary_loss losses in the summary: $(head -c 300 "$TMP/err")"

# ------------------------------------------------------------- Ctrl-C
# stops within a fold: exit 130, one line naming the fold, nothing written
cp "$TMP/m.lmn" "$TMP/keep.lmn"
"$L" train --data "$I" --layers 64:relu,64:relu --epochs 1000000 --cv 5 --out "$TMP/keep.lmn" \
    --log "$TMP/never.csv" --quiet >/dev/null 2>"$TMP/int.err" &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"; rc=$?
{ [ "$rc" -eq 130 ] && grep -q "interrupted during epoch [0-9]* of --cv fold 1/5; nothing saved" "$TMP/int.err" &&
  cmp -s "$TMP/m.lmn" "$TMP/keep.lmn" && [ ! -e "$TMP/never.csv" ] && [ ! -e "$TMP/keep.lmn.partial" ] &&
  [ "$(ls "$TMP" | grep -c tmp)" -eq 0 ]; }
res $? cv_sigint "rc $rc: $(cat "$TMP/int.err")"

finish
