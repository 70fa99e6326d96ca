"""fashion_torch.py - the Fashion-MNIST benchmark in PyTorch: 784-256-128-10,
relu, softmax + cross-entropy, SGD momentum 0.9, lr 0.05, batch 64, He init.
Prints one key=value line: sec_per_epoch, test_acc, latency_us (median
single-row inference), onnx_latency_us (with --onnx, ONNX Runtime on one
thread), rss_mb (peak RSS)."""
import argparse
import resource
import sys
import time

import numpy as np
import torch

import mnist


def median_latency(fn, x, reps=2000):
    for _ in range(50):
        fn(x)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(x)
        t.append(time.perf_counter() - t0)
    return float(np.median(t)) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--onnx", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    xtr, ytr, xte, yte = (torch.from_numpy(v) for v in mnist.load(a.data))
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    n = len(xtr)
    secs, best = 0.0, float("inf")
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        secs += dt
        best = min(best, dt)
        print(f"epoch {ep + 1}: loss {loss.item():.4f}, {dt:.2f} s", file=sys.stderr)
    model.eval()
    x1 = xte[:1].clone()
    with torch.inference_mode():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
        lat = median_latency(lambda x: torch.softmax(model(x), 1), x1)
    extra = ""
    if a.onnx:
        try:
            import onnxruntime as ort
            with torch.no_grad():
                try:
                    torch.onnx.export(model, (x1,), a.onnx, dynamo=False)
                except TypeError:  # older torch: no dynamo argument
                    torch.onnx.export(model, (x1,), a.onnx)
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
            name = sess.get_inputs()[0].name
            xn = x1.numpy()
            olat = median_latency(lambda x: sess.run(None, {name: x}), xn)
            extra = f" onnx_latency_us={olat:.2f} ort={ort.__version__}"
        except Exception as e:  # reported in the table, never fatal
            extra = " onnx_error=" + type(e).__name__
            print("onnx:", e, file=sys.stderr)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"sec_per_epoch={secs / a.epochs:.3f} best_epoch={best:.3f} test_acc={acc:.4f} latency_us={lat:.2f}"
          f" rss_mb={rss:.1f} torch={torch.__version__}{extra}")


if __name__ == "__main__":
    main()
