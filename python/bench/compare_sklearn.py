#!/usr/bin/python3
"""compare_sklearn.py - LaminaClassifier/LaminaRegressor with their defaults
against scikit-learn's MLPClassifier/MLPRegressor with theirs, on the bundled
data sets, split 75/25 (stratified for classes, random_state 0: the splits
of tests/cli/fixtures/make_splits.py). Prints a Markdown table of test
accuracy (R^2 for diabetes), each the mean over SEEDS random_state values.

    PYTHONPATH=python LAMINA_LIBRARY=build/liblamina.so \\
        /usr/bin/python3 python/bench/compare_sklearn.py [SEEDS]
"""
import sys
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor

from lamina.sklearn import LaminaClassifier, LaminaRegressor

SETS = [("iris", datasets.load_iris, True), ("wine", datasets.load_wine, True),
        ("breast_cancer", datasets.load_breast_cancer, True),
        ("digits", datasets.load_digits, True), ("diabetes", datasets.load_diabetes, False)]


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    warnings.simplefilter("ignore", ConvergenceWarning)
    print("| data (train rows, features) | metric | lamina (defaults) | MLP (defaults) | "
          "lamina s | MLP s |")
    print("|---|---|---|---|---|---|")
    worse = 0
    for name, load, cls in SETS:
        X, y = load(return_X_y=True)
        Xa, Xb, ya, yb = train_test_split(X, y, test_size=0.25, random_state=0,
                                          stratify=y if cls else None)
        scores = {"lamina": [], "mlp": []}
        secs = {"lamina": 0.0, "mlp": 0.0}
        for s in range(seeds):
            for who in ("lamina", "mlp"):
                if who == "lamina":
                    est = (LaminaClassifier if cls else LaminaRegressor)(random_state=s)
                else:
                    est = (MLPClassifier if cls else MLPRegressor)(random_state=s)
                t0 = time.perf_counter()
                est.fit(Xa, ya)
                secs[who] += time.perf_counter() - t0
                scores[who].append(est.score(Xb, yb))
        la, ml = np.mean(scores["lamina"]), np.mean(scores["mlp"])
        worse += la < ml
        print("| %s (%d, %d) | %s | %.4f | %.4f | %.2f | %.2f |" % (
            name, len(Xa), X.shape[1], "accuracy" if cls else "R^2", la, ml,
            secs["lamina"] / seeds, secs["mlp"] / seeds))
    print("\nmean over random_state 0..%d; lamina worse on %d of %d" % (seeds - 1, worse,
                                                                        len(SETS)))
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
