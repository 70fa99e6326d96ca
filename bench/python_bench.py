"""python_bench.py - what the Python package adds on top of the C library.

    python bench/python_bench.py epoch DATA_DIR EPOCHS THREADS
        one Fashion-MNIST MLP fit through lamina.Net (784-256-128-10 relu,
        softmax+CE, SGD momentum 0.9, lr 0.05, batch 64, inputs x/255, the
        settings of `lamina train` in bench/python.sh); prints
        "py_epoch_s=S lib_epoch_s=S loss=L" (the wall time of fit per epoch,
        the library's own epoch timing, the last epoch's loss)
    python bench/python_bench.py predict
        single-row predict of the same net shape: lamina's Net.predict, the
        bare ctypes call under it, PyTorch's module call under no_grad and
        ONNX Runtime's InferenceSession.run (when installed); prints
        "lamina_us=.. lamina_ctypes_us=.. torch_us=.. ort_us=.." (microseconds per
        call of the calling thread's CPU time, the best of 5 repeats)

Run with PYTHONPATH=python LAMINA_LIBRARY=build/liblamina.so (bench/python.sh does).
"""
import gzip
import os
import sys
import time
import timeit

import numpy as np

import lamina


def idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def fashion_net(threads):
    return lamina.Net(inputs=784, layers=[lamina.Dense(256, "relu"), lamina.Dense(128, "relu"),
                                          lamina.Dense(10, "softmax")], seed=1, threads=threads)


def epoch(data, epochs, threads):
    X = idx(os.path.join(data, "train-images-idx3-ubyte.gz")).reshape(-1, 784)
    y = idx(os.path.join(data, "train-labels-idx1-ubyte.gz"))
    net = fashion_net(threads)
    t0 = time.perf_counter()
    h = net.fit(X, y, epochs=epochs, batch_size=64, optimizer="momentum", lr=0.05,
                normalize=True)
    wall = (time.perf_counter() - t0) / epochs
    print("py_epoch_s=%.4f lib_epoch_s=%.4f loss=%.6f" % (wall, min(h["seconds"]),
                                                          h["loss"][-1]))


def best_us(f, n=2000):
    # the calling thread's CPU time, not wall time: on a shared machine
    # time spent preempted is not the library's (every peer here computes
    # on the calling thread: one intra-op thread each)
    return min(timeit.repeat(f, number=n, repeat=5, timer=time.thread_time)) / n * 1e6


def predict():
    import ctypes
    from lamina import _lib
    net = fashion_net(1)
    x = np.random.RandomState(0).rand(1, 784).astype(np.float32)
    out = {"lamina_us": best_us(lambda: net.predict(x))}
    y = np.empty((1, 10), np.float32)
    ws, h, xp, yp = net._ws(), net._h, x.ctypes.data, y.ctypes.data
    f = _lib.net_predict_ws
    out["lamina_ctypes_us"] = best_us(lambda: f(h, ws, xp, 1, yp))
    W = net.get_weights()
    try:
        import torch
        torch.set_num_threads(1)
        m = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10), torch.nn.Softmax(dim=1)).eval()
        xt = torch.from_numpy(x)

        def tcall():
            with torch.no_grad():
                return m(xt)
        out["torch_us"] = best_us(tcall)
    except ImportError:
        out["torch_us"] = float("nan")
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
        nodes, inits, prev = [], [], "x"
        for i in range(3):
            w, b = W[2 * i], W[2 * i + 1]
            inits += [numpy_helper.from_array(w, "W%d" % i), numpy_helper.from_array(b, "b%d" % i)]
            nodes += [helper.make_node("MatMul", [prev, "W%d" % i], ["m%d" % i]),
                      helper.make_node("Add", ["m%d" % i, "b%d" % i], ["a%d" % i])]
            prev = "a%d" % i
            if i < 2:
                nodes.append(helper.make_node("Relu", [prev], ["r%d" % i]))
                prev = "r%d" % i
        nodes.append(helper.make_node("Softmax", [prev], ["y"], axis=1))
        g = helper.make_graph(nodes, "fashion", [helper.make_tensor_value_info(
            "x", TensorProto.FLOAT, [1, 784])], [helper.make_tensor_value_info(
                "y", TensorProto.FLOAT, [1, 10])], inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        s = ort.InferenceSession(model.SerializeToString(), so,
                                 providers=["CPUExecutionProvider"])
        feed = {"x": x}
        got = s.run(None, feed)[0]
        assert np.allclose(got, net.predict(x), atol=1e-5)  # the same net
        out["ort_us"] = best_us(lambda: s.run(None, feed))
    except ImportError:
        out["ort_us"] = float("nan")
    print(" ".join("%s=%.2f" % kv for kv in out.items()))
    _ = ctypes


if __name__ == "__main__":
    if sys.argv[1] == "epoch":
        epoch(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        predict()
