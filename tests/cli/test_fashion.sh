#!/bin/sh
# test_fashion.sh - one epoch of Fashion-MNIST through the CLI (IDX gzip
# reader, u8 scaling, momentum SGD) when the data set is installed. A
# broken trainer stays near 10% test accuracy; one epoch reaches ~84%.
. "$(dirname "$0")/fixtures/lib.sh"
D=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$D/train-images-idx3-ubyte.gz" ]; then
    echo "# $D not found: Fashion-MNIST CLI test skipped"
    exit 0
fi
"$LAMINA" train --data "$D/train-images-idx3-ubyte.gz" --labels "$D/train-labels-idx1-ubyte.gz" \
    --test "$D/t10k-images-idx3-ubyte.gz" --test-labels "$D/t10k-labels-idx1-ubyte.gz" \
    --layers 128:relu,10:softmax --optimizer momentum --lr 0.05 --batch 64 --epochs 1 \
    --out "$TMP/f.lmn" --quiet --json >"$TMP/f.json" 2>"$TMP/f.err"
rc=$?
acc=$(tail -n 1 "$TMP/f.json" | jget test_accuracy)
{ [ "$rc" -eq 0 ] && ge "$acc" 0.80; }
res $? fashion_one_epoch "rc $rc, test accuracy '$acc' < 0.80: $(head -n 1 "$TMP/f.err")"

# eval on the IDX test set gives the same accuracy; predict prints labels.
"$LAMINA" eval "$TMP/f.lmn" --data "$D/t10k-images-idx3-ubyte.gz" \
    --labels "$D/t10k-labels-idx1-ubyte.gz" --json >"$TMP/e.json" 2>&1
eacc=$(jget accuracy <"$TMP/e.json")
[ "$eacc" = "$acc" ]; res $? fashion_eval_matches "eval $eacc vs train $acc"
"$LAMINA" predict "$TMP/f.lmn" --data "$D/t10k-images-idx3-ubyte.gz" >"$TMP/p.txt" 2>&1
{ [ "$(wc -l <"$TMP/p.txt")" -eq 10000 ] && [ "$(grep -cv '^[0-9]$' "$TMP/p.txt")" -eq 0 ]; }
res $? fashion_predict_labels "want 10000 lines of 0-9"
finish
