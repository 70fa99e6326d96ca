"""tutorial_peers.py - the tutorial's 2-layer network (3-4-1 sigmoid, no
biases, sum of squared errors, whole batch of 4, rate 1, 1500 iterations) in
the tutorial's numpy arithmetic (float64, as the tutorial) and in PyTorch
(float32, autograd, SGD lr 1). Prints key=value: numpy_ms, torch_ms (best of
5 runs of the whole 1500) and each final loss."""
import sys
import time

import numpy as np

X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
Y = np.array([[0], [1], [1], [0]], dtype=np.float64)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def run_numpy():
    rng = np.random.default_rng(1)
    w1, w2 = rng.random((3, 4)), rng.random((4, 1))
    for _ in range(1500):
        l1 = sigmoid(X @ w1)
        out = sigmoid(l1 @ w2)
        g = 2 * (Y - out) * out * (1 - out)
        d2 = l1.T @ g
        d1 = X.T @ ((g @ w2.T) * l1 * (1 - l1))
        w1 += d1
        w2 += d2
    return float(((Y - sigmoid(sigmoid(X @ w1) @ w2)) ** 2).sum())


def run_torch():
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = torch.tensor(X, dtype=torch.float32)
    y = torch.tensor(Y, dtype=torch.float32)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.Sigmoid(),
                                torch.nn.Linear(4, 1, bias=False), torch.nn.Sigmoid())
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                m.weight.uniform_(0, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(1500):
        opt.zero_grad(set_to_none=True)
        loss = ((model(x) - y) ** 2).sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(((model(x) - y) ** 2).sum())


def best_ms(fn):
    best, loss = 1e9, 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        loss = fn()
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best, loss


if __name__ == "__main__":
    out = []
    ms, loss = best_ms(run_numpy)
    out.append(f"numpy_ms={ms:.3f} numpy_loss={loss:.6f}")
    if "--no-torch" not in sys.argv:
        try:
            ms, loss = best_ms(run_torch)
            out.append(f"torch_ms={ms:.3f} torch_loss={loss:.6f}")
        except ImportError:
            out.append("torch_ms=NA")
    print(" ".join(out))
