"""Shared fixtures of the Python tests. tests/test_python.sh runs them with
LAMINA_LIBRARY pointing at the build's liblamina.so, PYTHONPATH=python and
LAMINA_CLI at the build's lamina program."""
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X4 = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], np.float32)
Y4 = np.array([0, 1, 1, 0], np.float32)


@pytest.fixture
def cli():
    path = os.environ.get("LAMINA_CLI", os.path.join(ROOT, "build", "lamina"))
    if not os.access(path, os.X_OK):
        pytest.skip("no lamina CLI at %s" % path)
    return path


def fixture(name):
    return os.path.join(ROOT, "tests", "cli", "fixtures", name)


def iris():
    """tests/cli/fixtures/iris_train.csv as X (float64), class names (str)."""
    rows = open(fixture("iris_train.csv")).read().split("\n")[1:]
    rows = [r.split(",") for r in rows if r]
    return np.array([[float(v) for v in r[:-1]] for r in rows]), np.array([r[-1] for r in rows])
