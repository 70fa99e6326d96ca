#!/bin/sh
# bench/python.sh - what the Python package adds to the C library:
#   (1) a Fashion-MNIST MLP epoch (784-256-128-10, SGD momentum 0.9, lr 0.05,
#       batch 64, inputs x/255) through lamina.Net.fit against `lamina train`
#       on the same settings, interleaved BENCH_ROUNDS times, best of each;
#   (2) single-row predict through lamina's Python API against PyTorch's and
#       ONNX Runtime's Python calls on the same net shape (one thread each).
# Uses bench/.venv's python (torch, onnxruntime, numpy from PyPI; bench/run.sh
# makes it) when it has numpy, else /usr/bin/python3 (the peer rows are then
# NA when those lack torch/onnxruntime; BENCH_PY overrides). Prints a markdown table; bench/PYTHON.md
# holds a run's numbers.
#
#   sh bench/python.sh            BUILD, BENCH_ROUNDS (default 2), BENCH_EPOCHS (1),
#                                 FASHION_DIR, BENCH_THREADS (0: all cores)
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-2}
EPOCHS=${BENCH_EPOCHS:-1}
THREADS=${BENCH_THREADS:-0}
DATA=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
PY=${BENCH_PY:-bench/.venv/bin/python}
"$PY" -c 'import numpy' >/dev/null 2>&1 || PY=/usr/bin/python3
make -s BUILD="$BUILD" "$BUILD/liblamina.so" "$BUILD/lamina" >/dev/null || exit 1
export PYTHONPATH=python LAMINA_LIBRARY=$BUILD/liblamina.so

best() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a + 0 < b + 0) print a; else print b }'; }
cli_best=""; py_best=""; lib_best=""
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    c=$("$BUILD/lamina" train --data "$DATA/train-images-idx3-ubyte.gz" \
        --labels "$DATA/train-labels-idx1-ubyte.gz" --layers 256:relu,128:relu,10:softmax \
        --optimizer momentum --lr 0.05 --batch 64 --epochs "$EPOCHS" --threads "$THREADS" \
        --quiet --json --out "${TMPDIR:-/tmp}/bench-python-$$.lmn" |
        sed -n 's/.*"seconds_per_epoch": \([0-9.e+-]*\).*/\1/p')
    p=$("$PY" bench/python_bench.py epoch "$DATA" "$EPOCHS" "$THREADS")
    echo "bench python: round $r: cli ${c}s, python $p" >&2
    cli_best=$(best "$c" "$cli_best")
    py_best=$(best "$(echo "$p" | sed -n 's/.*py_epoch_s=\([0-9.]*\).*/\1/p')" "$py_best")
    lib_best=$(best "$(echo "$p" | sed -n 's/.*lib_epoch_s=\([0-9.]*\).*/\1/p')" "$lib_best")
done
rm -f "${TMPDIR:-/tmp}/bench-python-$$.lmn"
lat=$("$PY" bench/python_bench.py predict)
v() { echo "$lat" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "NA"; else printf "%.2f", a / b }'; }
echo "| measurement | lamina (Python) | peer | peer value | ratio |"
echo "|---|---|---|---|---|"
echo "| Fashion MLP epoch, s (best of $ROUNDS, $EPOCHS epoch(s), threads $THREADS) | $py_best | lamina train (CLI) | $cli_best | $(ratio "$py_best" "$cli_best") |"
echo "| same, the library's own epoch timing inside fit, s | $lib_best | lamina train (CLI) | $cli_best | $(ratio "$lib_best" "$cli_best") |"
echo "| single-row predict, us | $(v lamina_us) | bare ctypes call (lm_net_predict_ws) | $(v lamina_ctypes_us) | $(ratio "$(v lamina_us)" "$(v lamina_ctypes_us)") |"
echo "| single-row predict, us | $(v lamina_us) | PyTorch module call, no_grad | $(v torch_us) | $(ratio "$(v lamina_us)" "$(v torch_us)") |"
echo "| single-row predict, us | $(v lamina_us) | ONNX Runtime session.run | $(v ort_us) | $(ratio "$(v lamina_us)" "$(v ort_us)") |"
echo "python: $("$PY" -c 'import sys; print(sys.version.split()[0])'), $PY; load average $(cut -d' ' -f1-3 /proc/loadavg)"
