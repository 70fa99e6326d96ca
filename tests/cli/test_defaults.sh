#!/bin/sh
# test_defaults.sh - the default settings train a tiny net well: iris
# (scikit-learn's, tests/cli/fixtures/iris_*.csv from make_splits.py),
# 4-16-3 with nothing but --layers 16 and --epochs 200 (scikit-learn's
# default max_iter), five seeds. The default initialiser (Xavier, for one to
# four hidden layers alike, see docs/CLI.md) reaches 0.979 mean test accuracy and
# at least 0.974 on every seed; He, the old default, 0.932 and 0.842.
# The bar: a mean of 0.97 and no seed under 0.95.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
accs=$(for s in 1 2 3 4 5; do
    "$L" train --data "$FIX/iris_train.csv" --test "$FIX/iris_test.csv" --layers 16 --epochs 200 \
        --seed $s --threads 1 --quiet --json 2>/dev/null | jget test_accuracy
done)
n=$(printf '%s\n' "$accs" | grep -c '^[0-9]')
mean=$(printf '%s\n' "$accs" | awk '{ s += $1 } END { printf "%.4f", s / NR }')
low=$(printf '%s\n' "$accs" | sort -n | head -n 1)
{ [ "$n" -eq 5 ] && ge "$mean" 0.97 && ge "$low" 0.95; }
res $? iris_defaults_accuracy "test accuracies $(echo $accs): mean $mean (want >= 0.97), lowest $low (want >= 0.95)"
"$L" train --data "$FIX/iris_train.csv" --layers 16 --epochs 1 --out "$TMP/i.lmn" --quiet >/dev/null 2>&1
"$L" info "$TMP/i.lmn" | grep -q '^ *init  *xavier$'; res $? iris_default_init_recorded "$("$L" info "$TMP/i.lmn" | grep init)"
finish
