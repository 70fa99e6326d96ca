"""Data files the C library reads, as numpy arrays."""
import ctypes
import os

import numpy as np

from . import _lib as L


def read_fann_data(path):
    """FANN's training data file (what fann_save_train writes and
    fann_read_train_from_file reads, as `lamina train --data` takes it)
    as (X, Y): float32 arrays (num_pairs, num_inputs) and (num_pairs,
    num_outputs), copies. FANN's class targets stay numbers (one-hot rows,
    or one output of 0 or -1 and 1): Y.argmax(axis=1) gives one-hot rows'
    classes. A malformed file raises FormatError naming the file and the
    line ("xor.data:4: pair 2, input 2: expected a number, found 'x'"), a
    missing one LaminaIOError (an OSError)."""
    d = L.lm_data()
    L.check(L.fann_data_read(ctypes.byref(d), os.fsencode(path)))
    try:
        X = np.ctypeslib.as_array(ctypes.cast(d.x, ctypes.POINTER(ctypes.c_float)),
                                  (d.n, d.nx)).copy()
        Y = np.ctypeslib.as_array(ctypes.cast(d.y, ctypes.POINTER(ctypes.c_float)),
                                  (d.n, d.ny)).copy()
    finally:
        L.data_free(ctypes.byref(d))
    return X, Y
