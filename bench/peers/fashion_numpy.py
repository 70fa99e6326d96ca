"""fashion_numpy.py - the Fashion-MNIST benchmark as a hand-written numpy MLP
(float32, the matrix products go to numpy's BLAS): 784-256-128-10, relu,
softmax + cross-entropy (mean over the batch), SGD momentum 0.9 (v = mu v + g;
w -= lr v, as PyTorch), lr 0.05, batch 64, He init. Threads come from
OPENBLAS_NUM_THREADS. Prints one key=value line."""
import argparse
import resource
import sys
import time

import numpy as np

import mnist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    xtr, ytr, xte, yte = mnist.load(a.data)
    rng = np.random.default_rng(42)
    sizes = [784, 256, 128, 10]
    W = [(rng.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(np.float32)
         for i, o in zip(sizes, sizes[1:])]
    b = [np.zeros(o, np.float32) for o in sizes[1:]]
    vW = [np.zeros_like(w) for w in W]
    vb = [np.zeros_like(x) for x in b]
    lr, mu = np.float32(0.05), np.float32(0.9)
    n = len(xtr)
    secs, best = 0.0, float("inf")
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        perm = rng.permutation(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            x, y = xtr[idx], ytr[idx]
            acts = [x]
            for l in range(3):
                z = acts[-1] @ W[l] + b[l]
                acts.append(np.maximum(z, 0) if l < 2 else z)
            z = acts[-1]
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            loss = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
            d = p
            d[np.arange(len(y)), y] -= 1
            d /= np.float32(len(y))
            for l in (2, 1, 0):
                gW = acts[l].T @ d
                gb = d.sum(0)
                if l > 0:
                    d = (d @ W[l].T) * (acts[l] > 0)
                vW[l] = mu * vW[l] + gW
                vb[l] = mu * vb[l] + gb
                W[l] -= lr * vW[l]
                b[l] -= lr * vb[l]
        dt = time.perf_counter() - t0
        secs += dt
        best = min(best, dt)
        print(f"epoch {ep + 1}: loss {loss:.4f}, {dt:.2f} s", file=sys.stderr)
    h = xte
    for l in range(3):
        h = h @ W[l] + b[l]
        if l < 2:
            h = np.maximum(h, 0)
    acc = float((h.argmax(1) == yte).mean())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"sec_per_epoch={secs / a.epochs:.3f} best_epoch={best:.3f} test_acc={acc:.4f} rss_mb={rss:.1f}"
          f" numpy={np.__version__}")


if __name__ == "__main__":
    main()
