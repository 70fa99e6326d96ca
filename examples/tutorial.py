#!/usr/bin/env python3
"""tutorial.py - the tutorial's NeuralNetwork class, on lamina.

The "neural network from scratch" tutorial lamina starts from, in its own
shape (a class with feedforward and backprop, 3 -> 4 sigmoid -> 1 sigmoid,
no biases, weights uniform in [0, 1), sum of squared errors, gradient
descent at rate 1, 1500 iterations), with lamina doing the arithmetic. It
starts from the weights `lamina demo` draws (lm_rng_seed(1), uniform01) and
prints the same falling loss. With matplotlib it also plots the curve.

    pip install .          # or PYTHONPATH=python LAMINA_LIBRARY=build/liblamina.so
    python3 examples/tutorial.py [--plot FILE.png] [--no-plot]
"""
import sys

import numpy as np

import lamina


class NeuralNetwork:
    def __init__(self, x, y, seed=1):
        self.input, self.y = x, y
        self.net = lamina.Net(inputs=x.shape[1], layers=[lamina.Dense(4, "sigmoid", bias=False),
                                                         lamina.Dense(1, "sigmoid", bias=False)],
                              init="uniform01", seed=seed, threads=1)
        self.output = np.zeros(y.shape)

    def feedforward(self):
        self.output = self.net.predict(self.input)

    def backprop(self, iterations=1):
        """iterations steps of gradient descent on the whole set; the loss
        (SSE) before each step."""
        h = self.net.fit(self.input, self.y, epochs=iterations, batch_size=len(self.input),
                         optimizer="sgd", lr=1.0, loss="sse", shuffle=False)
        return h["loss"]


def main(argv):
    X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    nn = NeuralNetwork(X, y)
    print("training 3 -> 4 sigmoid -> 1 sigmoid on 4 rows, SSE, SGD rate 1")
    losses = nn.backprop(1500)
    for i, loss in enumerate(losses, 1):
        if i == 1 or i % 100 == 0:
            print("iteration %4d  loss %.6f" % (i, loss))
    nn.feedforward()
    print("predictions", " ".join("%.4f" % p for p in nn.output[:, 0]))
    plot = None if "--no-plot" in argv else "tutorial-loss-python.png"
    if "--plot" in argv:
        plot = argv[argv.index("--plot") + 1]
    if plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return 0
        plt.plot(range(1, len(losses) + 1), losses)
        plt.xlabel("iteration")
        plt.ylabel("loss (sum of squared errors)")
        plt.title("the tutorial's 3-4-1 network on lamina")
        plt.savefig(plot)
        print("wrote", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
