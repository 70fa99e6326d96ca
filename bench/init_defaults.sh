#!/bin/sh
# init_defaults.sh - which initialiser should `lamina train` pick by
# default? Trains every net shape below on scikit-learn's bundled data sets
# with each initialiser, five seeds each, all else at the defaults (adam,
# lr 0.001, batch 32) and EPOCHS epochs (200), and prints the mean test accuracy
# (R^2 for diabetes) as a markdown table, with scikit-learn's MLP of the
# same shape and settings beside it. The table in docs/CLI.md came from
#     sh bench/init_defaults.sh > table.md
# Needs python3-sklearn (Debian), takes a few minutes on one core.
LAMINA=${LAMINA:-build/lamina}
EPOCHS=${EPOCHS:-200}   # scikit-learn's default max_iter
DATASETS=${DATASETS:-iris wine breast_cancer digits diabetes}
LAYERS=${LAYERS:-16:relu 64:relu 64:relu,64:relu 16:tanh}
SEEDS=${SEEDS:-1 2 3 4 5}
PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lamina-init.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
"$PY" "$(dirname "$0")/../tests/cli/fixtures/make_splits.py" "$tmp" || exit 1

# one number: test accuracy, or R^2 for the regression set
score() { # data layers init seed
    "$LAMINA" train --data "$tmp/$1_train.csv" --layers "$2" --init "$3" --seed "$4" \
        --epochs "$EPOCHS" --threads 1 --out "$tmp/m.lmn" --quiet >/dev/null 2>&1 || { echo nan; return; }
    "$LAMINA" eval "$tmp/m.lmn" --data "$tmp/$1_test.csv" --json 2>/dev/null |
        sed -n 's/.*"\(accuracy\|r2\)": *\([^,}]*\).*/\2/p'
}

mean() { awk '{ s += $1; n++ } END { if (n) printf "%.3f", s / n; else printf "nan" }'; }

sk() { # data layers (widths only, comma-separated)
    "$PY" - "$tmp" "$1" "$2" "$EPOCHS" "$SEEDS" <<'PY' 2>/dev/null
import sys, warnings
import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
warnings.filterwarnings("ignore")
d, name, layers, epochs, seeds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].split()
def load(p):
    rows = [l.rstrip("\n").split(",") for l in open(p)][1:]
    return np.array([[float(v) for v in r[:-1]] for r in rows]), [r[-1] for r in rows]
xtr, ytr = load(f"{d}/{name}_train.csv")
xte, yte = load(f"{d}/{name}_test.csv")
sc = StandardScaler().fit(xtr)
hidden = tuple(int(w) for w in layers.split(","))
scores = []
for s in seeds:
    kw = dict(hidden_layer_sizes=hidden, solver="adam", learning_rate_init=0.001, batch_size=32,
              max_iter=epochs, random_state=int(s), alpha=0.0, tol=0, n_iter_no_change=epochs + 1)
    if name == "diabetes":
        m = MLPRegressor(**kw).fit(sc.transform(xtr), np.array(ytr, dtype=float))
        scores.append(m.score(sc.transform(xte), np.array(yte, dtype=float)))
    else:
        m = MLPClassifier(**kw).fit(sc.transform(xtr), ytr)
        scores.append(m.score(sc.transform(xte), yte))
print("%.3f" % (sum(scores) / len(scores)))
PY
}

echo "| data (train rows, features, classes) | layers | he | xavier | scikit-learn MLP |"
echo "|---|---|---|---|---|"
for data in $DATASETS; do
    rows=$(($(wc -l <"$tmp/${data}_train.csv") - 1))
    feats=$(($(head -n 1 "$tmp/${data}_train.csv" | tr ',' '\n' | wc -l) - 1))
    k=$(tail -n +2 "$tmp/${data}_train.csv" | awk -F, '{ print $NF }' | sort -u | wc -l)
    [ "$data" = diabetes ] && k="R^2"
    for layers in $LAYERS; do
        he=$(for s in $SEEDS; do score $data $layers he $s; done | mean)
        xa=$(for s in $SEEDS; do score $data $layers xavier $s; done | mean)
        ref=-
        case $layers in *tanh*) ;; *) ref=$(sk $data "$(echo "$layers" | sed 's/:relu//g')") ;; esac
        echo "| $data ($rows, $feats, $k) | $layers | $he | $xa | $ref |"
    done
done
