"""mnist.py - reads the Fashion-MNIST IDX files (gzip) into numpy arrays."""
import gzip
import os
import struct

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(folder):
    """(x_train, y_train, x_test, y_test): x float32 (n, 784) in [0, 1], y int64."""
    def part(name):
        x = read_idx(os.path.join(folder, name + "-images-idx3-ubyte.gz"))
        y = read_idx(os.path.join(folder, name + "-labels-idx1-ubyte.gz"))
        return x.reshape(len(x), -1).astype(np.float32) / 255.0, y.astype(np.int64)
    return part("train") + part("t10k")
