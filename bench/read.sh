#!/bin/sh
# bench/read.sh [BUILD] - reading the Fashion-MNIST training set (60000
# images of 784 bytes and their labels) in each format lamina takes,
# against numpy's and pandas' readers of the same files, in the same run:
#   IDX (gzip, as distributed), NumPy .npy (uint8 images + int64 labels),
#   .npz (compressed), CSV (pixels as integers, label last) and CSV gzip.
# Each figure is the best of three reads; the ratio is the peer's time
# over lamina's (above 1: lamina is faster). Needs /usr/bin/python3 with
# numpy and pandas and the dataset-fashion-mnist package.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
D=/usr/share/datasets/fashion-mnist
PY=${PYTHON:-/usr/bin/python3}
[ -r "$D/train-images-idx3-ubyte.gz" ] || { echo "skip: $D is missing"; exit 0; }
[ -f "$BUILD/liblamina.a" ] || make -s BUILD="$BUILD" "$BUILD/liblamina.a" >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
${CC:-cc} -std=c11 -O2 -Iinclude -o "$T/read_bench" bench/read_bench.c "$BUILD/liblamina.a" -lz -lm -pthread
"$PY" - "$D" "$T" <<'EOF'
import gzip, sys
import numpy as np
d, t = sys.argv[1], sys.argv[2]
x = np.frombuffer(gzip.open(d + "/train-images-idx3-ubyte.gz").read()[16:], np.uint8).reshape(-1, 784)
y = np.frombuffer(gzip.open(d + "/train-labels-idx1-ubyte.gz").read()[8:], np.uint8).astype(np.int64)
np.save(t + "/x.npy", x)
np.save(t + "/y.npy", y)
np.savez_compressed(t + "/xy.npz", x=x, y=y)
rows = np.hstack([x, y[:, None]])
with open(t + "/f.csv", "w") as f:
    f.write(",".join(["p%d" % i for i in range(784)] + ["label"]) + "\n")
    np.savetxt(f, rows, fmt="%d", delimiter=",")
EOF
gzip -k -6 "$T/f.csv"
peer() { # python code reading $1 (and $2); best of three, seconds
    "$PY" - "$@" <<'EOF'
import sys, time
import numpy as np
kind, a = sys.argv[1], sys.argv[2]
def once():
    if kind == "npy":
        np.load(a); np.load(sys.argv[3])
    elif kind == "npz":
        z = np.load(a); z["x"]; z["y"]
    elif kind == "idx":
        import gzip
        np.frombuffer(gzip.open(a).read()[16:], np.uint8).reshape(-1, 784)
        np.frombuffer(gzip.open(sys.argv[3]).read()[8:], np.uint8)
    else:
        import pandas as pd
        pd.read_csv(a, dtype=np.float32)
best = 1e30
for _ in range(3):
    t0 = time.perf_counter(); once(); best = min(best, time.perf_counter() - t0)
print("%.4f" % best)
EOF
}
lam() { "$T/read_bench" "$@" | sed 's/seconds=\([0-9.]*\).*/\1/'; }
row() { # FORMAT LAMINA_S PEER PEER_S
    printf '| %s | %s s | %s | %s s | %s |\n' "$1" "$2" "$3" "$4" \
        "$(awk -v a="$2" -v b="$4" 'BEGIN { printf "%.2f", b / a }')"
}
echo "| format | lamina | peer | peer | peer / lamina |"
echo "|---|---|---|---|---|"
row "IDX gzip" "$(lam idx "$D/train-images-idx3-ubyte.gz" "$D/train-labels-idx1-ubyte.gz")" \
    "gzip + np.frombuffer" "$(peer idx "$D/train-images-idx3-ubyte.gz" "$D/train-labels-idx1-ubyte.gz")"
row ".npy" "$(lam npy "$T/x.npy" "$T/y.npy")" "np.load" "$(peer npy "$T/x.npy" "$T/y.npy")"
row ".npz (compressed)" "$(lam npy "$T/xy.npz")" "np.load" "$(peer npz "$T/xy.npz")"
row "CSV ($(du -m "$T/f.csv" | cut -f1) MB)" "$(lam csv "$T/f.csv")" "pandas.read_csv" "$(peer csv "$T/f.csv")"
row "CSV gzip ($(du -m "$T/f.csv.gz" | cut -f1) MB)" "$(lam csv "$T/f.csv.gz")" "pandas.read_csv" "$(peer csv "$T/f.csv.gz")"
