#!/usr/bin/env python3
"""eval_report_check.py EVAL.json TRUTH.txt PRED.txt: checks `lamina eval
--json`'s per-class scores, averages, balanced accuracy and confusion
matrix against scikit-learn on the same true and predicted classes (one a
line). An undefined score (null: no row predicted as the class, or no row
of it) must be where sklearn's zero_division applies; it counts 0 in the
averages, as zero_division=0. Exit 0 when all agree to 1e-6.

With --regression, TRUTH and PRED hold comma-separated numbers (one row a
line, one value a target): checks mse, rmse, mae and r2 (relative 1e-5:
the predictions are printed to 9 digits)."""
import json
import sys

from sklearn.metrics import (balanced_accuracy_score, confusion_matrix,
                             mean_absolute_error, mean_squared_error,
                             precision_recall_fscore_support, r2_score)

regression = sys.argv[1] == "--regression"
args = sys.argv[2:] if regression else sys.argv[1:]
ev = json.load(open(args[0]))
truth = [l.rstrip("\n") for l in open(args[1])]
pred = [l.rstrip("\n") for l in open(args[2])]
bad = []


def close(what, a, b, tol=1e-6):
    if a is None or b is None or abs(a - b) > tol * max(1.0, abs(b)):
        bad.append(f"{what}: lamina {a}, sklearn {b}")


if regression:
    t = [[float(v) for v in l.split(",")] for l in truth]
    p = [[float(v) for v in l.split(",")] for l in pred]
    mse = mean_squared_error(t, p)
    close("mse", ev["mse"], mse, 1e-5)
    close("rmse", ev["rmse"], sum(mean_squared_error(t, p, multioutput="raw_values") ** 0.5) / len(t[0]), 1e-5)
    close("mae", ev["mae"], mean_absolute_error(t, p), 1e-5)
    close("r2", ev["r2"], r2_score(t, p), 1e-5)
    print("\n".join(bad) if bad else f"agree: {len(t)} rows, {len(t[0])} targets")
    sys.exit(1 if bad else 0)

names = [c["name"] for c in ev["per_class"]]

cm = confusion_matrix(truth, pred, labels=names)
if cm.tolist() != ev["confusion_matrix"]:
    bad.append(f"confusion {ev['confusion_matrix']} vs {cm.tolist()}")
p, r, f, s = precision_recall_fscore_support(truth, pred, labels=names, zero_division=0)
for j, c in enumerate(ev["per_class"]):
    pred_n, sup = int(cm[:, j].sum()), int(cm[j, :].sum())
    for key, ref, undefined in (("precision", p[j], pred_n == 0), ("recall", r[j], sup == 0),
                                ("f1", f[j], pred_n + sup == 0)):
        if undefined:
            if c[key] is not None:
                bad.append(f"{c['name']} {key}: {c[key]}, want null")
        else:
            close(f"{c['name']} {key}", c[key], ref)
    if c["support"] != s[j]:
        bad.append(f"{c['name']} support {c['support']} vs {s[j]}")
seen = sorted(set(truth) | set(pred))
for avg, key in (("macro", "macro_avg"), ("weighted", "weighted_avg")):
    ap, ar, af, _ = precision_recall_fscore_support(truth, pred, labels=seen, average=avg,
                                                    zero_division=0)
    close(f"{key} precision", ev[key]["precision"], ap)
    close(f"{key} recall", ev[key]["recall"], ar)
    close(f"{key} f1", ev[key]["f1"], af)
close("balanced_accuracy", ev["balanced_accuracy"], balanced_accuracy_score(truth, pred))
print("\n".join(bad) if bad else f"agree: {len(truth)} rows, {len(names)} classes")
sys.exit(1 if bad else 0)
