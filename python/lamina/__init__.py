"""lamina: the lamina neural-network library (C) from Python, with numpy arrays.

    import lamina
    net = lamina.Net(inputs=3, layers=[lamina.Dense(4, "sigmoid", bias=False),
                                       lamina.Dense(1, "sigmoid", bias=False)])
    hist = net.fit(X, y, epochs=1500, batch_size=4, optimizer="sgd", lr=1.0, loss="sse")
    net.predict(X)

scikit-learn estimators are in lamina.sklearn. docs/PYTHON.md has the API.
"""
from . import _lib
from .data import read_fann_data
from .errors import (FormatError, InvalidArgumentError, LaminaError, LaminaIOError,
                     LaminaTypeError, NumericError, OutOfMemoryError, StoppedError)
from .net import (Activation, AveragePooling2D, AvgPool2D, BatchNorm, BatchNormalization, Conv2D,
                  Dense, Dropout, GlobalAveragePooling2D, GlobalAvgPool, GlobalAvgPool2D, History,
                  Layer, MaxPool2D, MaxPooling2D, Net)

__version__ = _lib.version().decode()


def load(path):
    """A Net from a model file (lamina train's or Net.save's)."""
    return Net.load(path)


__all__ = ["Net", "Layer", "Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
           "GlobalAvgPool", "Dropout", "BatchNorm", "BatchNormalization", "Activation",
           "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "History", "load",
           "read_fann_data", "LaminaError",
           "InvalidArgumentError", "LaminaTypeError", "OutOfMemoryError", "LaminaIOError",
           "FormatError", "NumericError", "StoppedError", "__version__"]
