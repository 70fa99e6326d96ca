"""fashion_cnn_torch.py - issue 12's CNN in PyTorch on Fashion-MNIST, the
peer of lamina's CNN epoch: conv 32 3x3 same relu, maxpool 2, conv 64 3x3
same relu, maxpool 2, dense 128 relu, dense 10 (softmax + cross-entropy),
Adam lr 0.001, batch 64, no dropout (as the benchmark specifies). Prints
one key=value line: sec_per_epoch (the fastest epoch), test_acc, rss_mb
(peak RSS). --batches N trains on the first N batches of each epoch only
(a quick run; bench/cnn.sh gives lamina the same N*64 images)."""
import argparse
import resource
import time

import torch

import mnist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batches", type=int, default=0, help="batches an epoch, 0 all")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    xtr, ytr, xte, yte = (torch.from_numpy(v) for v in mnist.load(a.data))
    xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
    if a.batches > 0:
        xtr, ytr = xtr[:a.batches * 64], ytr[:a.batches * 64]
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    lossf = nn.CrossEntropyLoss()
    n = len(xtr)
    best = float("inf")
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        best = min(best, time.perf_counter() - t0)
    with torch.no_grad():
        acc = float((model(xte).argmax(1) == yte).float().mean())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sec_per_epoch={best:.3f} test_acc={acc:.4f} rss_mb={rss:.1f}")


if __name__ == "__main__":
    main()
