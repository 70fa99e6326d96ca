#!/usr/bin/python3
"""Writes tests/fixtures/tutorial.txt: the classic "neural network from
scratch" tutorial (../shared/DESIGN.md, "The seed, exactly") computed in
float64 with numpy, as the reference tests/test_tutorial.c holds lamina to.

Run from the repository root with Debian's python (numpy):
    /usr/bin/python3 tests/gen_tutorial_fixture.py

The network: X (4x3), y (4x1); layer1 = sigmoid(X W1), yhat =
sigmoid(layer1 W2); no biases; loss = sum((y - yhat)^2); plain gradient
descent with rate 1 on the whole batch, 1500 iterations:
    d2  = 2(y - yhat) * yhat(1 - yhat)
    dW2 = layer1^T d2
    dW1 = X^T (d2 W2^T * layer1(1 - layer1))
    W1 += dW1; W2 += dW2
The starting weights come from np.random.rand with a fixed seed and are then
rounded through float32, so lamina (float32) starts from exactly the same
numbers; everything after that is float64.

File format (plain text, whitespace separated):
  - '#' starts a comment that runs to the end of the line; blank lines are
    ignored.
  - Each table is a header line "NAME ROWS COLS" followed by ROWS*COLS
    numbers, row-major, one row per line. Numbers are written with %.17g
    (float64 round-trips; float32 values round-trip as well).
  - Tables, in this order:
      X 4 3           inputs
      y 4 1           targets
      W1 3 4          starting W1 (exactly representable in float32)
      W2 4 1          starting W2 (exactly representable in float32)
      loss 1500 1     loss of iteration i, from the feedforward of iteration
                      i, i.e. before that iteration's update (loss[0] is the
                      loss of the starting weights)
      W1_final 3 4    weights after all 1500 updates
      W2_final 4 1
      yhat_final 4 1  sigmoid(sigmoid(X W1_final) W2_final)
"""
import os
import sys

import numpy as np

SEED = 1
ITERS = 1500
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tutorial.txt")


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def table(f, name, a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    f.write("%s %d %d\n" % (name, a.shape[0], a.shape[1]))
    for row in a:
        f.write(" ".join("%.17g" % v for v in row) + "\n")


def main():
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    rng = np.random.RandomState(SEED)
    W1 = rng.rand(3, 4).astype(np.float32).astype(np.float64)
    W2 = rng.rand(4, 1).astype(np.float32).astype(np.float64)
    W1_0, W2_0 = W1.copy(), W2.copy()

    losses = np.empty(ITERS)
    for i in range(ITERS):
        layer1 = sigmoid(X @ W1)
        yhat = sigmoid(layer1 @ W2)
        losses[i] = np.sum((y - yhat) ** 2)
        d2 = 2 * (y - yhat) * yhat * (1 - yhat)
        dW2 = layer1.T @ d2
        dW1 = X.T @ ((d2 @ W2.T) * layer1 * (1 - layer1))
        W1 += dW1
        W2 += dW2
    yhat = sigmoid(sigmoid(X @ W1) @ W2)

    # The properties DESIGN.md promises; the C test checks them too.
    assert np.all(np.diff(losses) < 0), "loss must fall monotonically"
    assert np.all(np.abs(yhat - y) < 0.1), yhat

    with open(OUT, "w") as f:
        f.write("# lamina tutorial fixture, written by tests/gen_tutorial_fixture.py"
                " (numpy %s, seed %d); do not edit.\n" % (np.__version__, SEED))
        f.write("# The classic 3-4-1 sigmoid network, no biases, SSE loss, gradient"
                " descent rate 1,\n# %d full-batch iterations in float64 from"
                " float32-exact starting weights.\n" % ITERS)
        f.write("# Format: tables 'NAME ROWS COLS' then ROWS*COLS numbers, row-major;"
                " '#' comments.\n")
        f.write("# loss[i] is the loss before update i. Tables: X y W1 W2 loss"
                " W1_final W2_final yhat_final.\n")
        table(f, "X", X)
        table(f, "y", y)
        table(f, "W1", W1_0)
        table(f, "W2", W2_0)
        table(f, "loss", losses)
        table(f, "W1_final", W1)
        table(f, "W2_final", W2)
        table(f, "yhat_final", yhat)
    sys.stdout.write("wrote %s: loss %.6g -> %.6g, yhat %s\n"
                     % (OUT, losses[0], losses[-1], np.round(yhat.ravel(), 4)))


if __name__ == "__main__":
    main()
