#!/usr/bin/python3
"""Writes tests/fixtures/npy/: small arrays saved by numpy itself (np.save,
np.savez, np.savez_compressed, np.lib.format.write_array), which
tests/test_npy.c reads back through lm_npy_read and compares value by value
with the arrays below (written out in the test too), and
tests/cli/test_npy.sh trains, evaluates and predicts on.

Run from the repository root with Debian's python (python3-numpy):
    /usr/bin/python3 tests/gen_npy_fixture.py

Every feature file holds the same 3 x 2 values (INTS below: signed files
get its negative twin NEG) so the test needs one table; the separable set
blobs.npz is made from a fixed seed.
"""
import os

import numpy as np

D = "tests/fixtures/npy"
INTS = np.array([[0, 1], [2, 100], [7, 127]])
NEG = np.array([[-1, 1], [2, -100], [7, -128]])
FLOATS = np.array([[0.5, -1.25], [3.0, 2.0**-10], [-2.0, 65504.0]])


def save(name, a, version=None):
    path = os.path.join(D, name)
    if version is None:
        np.save(path, a)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)


def zip64_npz(path, **arrays):
    """An .npz with a zip64 end record, as zipfile writes one for archives
    over 65535 members or 4 GiB (and `zip -fz` always): zipfile's member
    count limit lowered to 1 makes it write one for two members."""
    import io
    import zipfile
    limit = zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP_FILECOUNT_LIMIT = 1
    try:
        with zipfile.ZipFile(path, "w") as z:
            for name, a in arrays.items():
                b = io.BytesIO()
                np.lib.format.write_array(b, np.asanyarray(a))
                z.writestr(name + ".npy", b.getvalue())
    finally:
        zipfile.ZIP_FILECOUNT_LIMIT = limit


def main():
    os.makedirs(D, exist_ok=True)
    for t in ["u1", "u2", "u4", "u8"]:
        save("%s.npy" % t, INTS.astype(t))
    for t in ["i1", "i2", "i4", "i8"]:
        save("%s.npy" % t, NEG.astype(t))
    save("u2_be.npy", INTS.astype(">u2"))
    save("i4_be.npy", NEG.astype(">i4"))
    save("i8_be.npy", NEG.astype(">i8"))
    save("b1.npy", INTS.astype(bool))
    save("f2.npy", FLOATS.astype("<f2"))
    save("f4.npy", FLOATS.astype("<f4"))
    save("f8.npy", FLOATS.astype("<f8"))
    save("f4_be.npy", FLOATS.astype(">f4"))
    save("f8_be.npy", FLOATS.astype(">f8"))
    save("f2_be.npy", FLOATS.astype(">f2"))
    # format versions 2.0 and 3.0 (numpy writes them for huge or unicode
    # headers; asked for here)
    save("f4_v2.npy", FLOATS.astype("<f4"), version=(2, 0))
    save("f4_v3.npy", FLOATS.astype("<f4"), version=(3, 0))
    # Fortran order: a 3 x 4 matrix and 2 images of 3 x 4 with 2 channels
    m = np.arange(12, dtype="<f4").reshape(3, 4) * 0.25
    save("fortran.npy", np.asfortranarray(m))
    save("c_order.npy", m)
    img = np.arange(48, dtype="u1").reshape(2, 3, 4, 2)
    save("img_nhwc.npy", img)
    save("img_nhwc_f.npy", np.asfortranarray(img))
    save("img_nhw.npy", img[:, :, :, 0].copy())
    save("img_labels.npy", np.array([0, 1], dtype="<i4"))
    # targets
    save("labels.npy", np.array([2, 0, 1], dtype="<i8"))
    save("labels_u1.npy", np.array([2, 0, 1], dtype="u1"))
    save("targets.npy", np.array([[1.5, -2.0], [0.25, 8.0], [3.0, 0.0]], dtype="<f8"))
    save("target1.npy", np.array([1.5, 0.25, 3.0], dtype="<f4"))
    save("labels4.npy", np.array([2, 0, 1, 1], dtype="<i8"))  # a row too many
    # integers that are no classes (a year, a negative): numbers
    save("years.npy", np.array([1999, 70000, -40], dtype="<i8"))
    # refused: an object array (a pickle) and a structured one
    save("object.npy", np.array([1, "a", None], dtype=object))
    save("record.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    save("strings.npy", np.array(["a", "b", "c"]))
    # .npz: stored and deflated, features and labels by name
    x = FLOATS.astype("<f4")
    y = np.array([2, 0, 1], dtype="<i8")
    np.savez(os.path.join(D, "xy.npz"), x=x, y=y)
    np.savez_compressed(os.path.join(D, "xy_z.npz"), X=x, labels=y)
    np.savez(os.path.join(D, "only.npz"), features=x)
    np.savez(os.path.join(D, "unnamed.npz"), x, y)  # arr_0, arr_1: refused
    zip64_npz(os.path.join(D, "zip64.npz"), x=x, y=y)
    # a separable two-class set for the CLI test: two blobs in 4-D
    rng = np.random.default_rng(7)
    n = 200
    cls = rng.integers(0, 2, n)
    pts = rng.normal(0.0, 0.6, (n, 4)).astype("<f4") + (cls[:, None] * 3.0 - 1.5)
    np.save(os.path.join(D, "blobs_x.npy"), pts.astype("<f4"))
    np.save(os.path.join(D, "blobs_y.npy"), cls.astype("<i8"))
    np.savez_compressed(os.path.join(D, "blobs.npz"), x=pts.astype("<f8"), y=cls.astype("u1"))


if __name__ == "__main__":
    main()
