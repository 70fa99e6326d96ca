#!/usr/bin/env python3
"""eval_report_check.py EVAL.json TRUTH.txt PRED.txt: checks `lamina eval
--json`'s per-class scores, averages, balanced accuracy and confusion
matrix against scikit-learn on the same true and predicted classes (one a
line). An undefined score (null: no row predicted as the class, or no row
of it) must be where sklearn's zero_division applies; it counts 0 in the
averages, as zero_division=0. Exit 0 when all agree to 1e-6."""
import json
import sys

from sklearn.metrics import (balanced_accuracy_score, confusion_matrix,
                             precision_recall_fscore_support)

ev = json.load(open(sys.argv[1]))
truth = [l.rstrip("\n") for l in open(sys.argv[2])]
pred = [l.rstrip("\n") for l in open(sys.argv[3])]
names = [c["name"] for c in ev["per_class"]]
bad = []


def close(what, a, b):
    if a is None or b is None or abs(a - b) > 1e-6:
        bad.append(f"{what}: lamina {a}, sklearn {b}")


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
