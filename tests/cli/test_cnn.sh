#!/bin/sh
# test_cnn.sh - a small CNN trained from the command line on a slice of
# Fashion-MNIST (6000 training images, 2000 test images, 3 epochs: a few
# seconds), when the data set is installed. The spec uses both pooling
# kinds. Measured: this CNN reaches 0.844 test accuracy in 3 epochs (about
# 6 s on a loaded 2-core machine); softmax regression alone (--layers
# 10:softmax, same settings) reaches 0.785, so a CNN that learns nothing
# spatial cannot pass the bar of 0.83. --init he is pinned: with the
# default (xavier) this CNN reaches 0.8355, too close to the bar.
. "$(dirname "$0")/fixtures/lib.sh"

# Specs that do not fit the shapes are usage errors naming the layer and
# the shapes (a tiny CSV of 4x4 images).
awk 'BEGIN { srand(3); for (r = 0; r < 12; r++) { for (j = 0; j < 16; j++) printf "%d,", int(rand() * 9);
    print r % 2 } }' >"$TMP/s.csv"
"$LAMINA" train --data "$TMP/s.csv" --input-shape 1x4x4 --layers conv:2:5x5 --epochs 1 --quiet \
    >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'layer 1 (conv2d): kernel 5x5.*(1, 4, 4)' "$TMP/err"; }
res $? cnn_kernel_too_large "rc $rc: $(head -c 300 "$TMP/err")"
"$LAMINA" train --data "$TMP/s.csv" --input-shape 1x4x4 --layers conv:2:3x3:same,maxpool:2,maxpool:3 \
    --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'layer 3 (maxpool2d): window 3x3.*(2, 2, 2)' "$TMP/err"; }
res $? cnn_window_too_large "rc $rc: $(head -c 300 "$TMP/err")"
# CSV rows without --input-shape are flat, (16, 1, 1): a 3x3 'same' conv
# there would train with 8 of its 9 taps on padding alone, and a 'valid'
# one or a pool does not fit; each is a usage error that names the layer
# and asks for the shape, and nothing is written. A 1x1 conv fits flat rows.
i=0
for spec in conv:4:3x3:same conv:4:3x3 bn,conv:4:1x3:same maxpool:2 dropout:0.2,avgpool:2:1; do
    i=$((i + 1))
    rm -f "$TMP/flat.lmn"
    "$LAMINA" train --data "$TMP/s.csv" --layers "$spec" --epochs 1 --quiet --out "$TMP/flat.lmn" \
        >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "layer [12] (.*) needs an image" "$TMP/err" &&
        grep -q 'are flat (16 features).*--input-shape CxHxW' "$TMP/err" && [ ! -e "$TMP/flat.lmn" ]; }
    res $? cnn_flat_rows_need_shape_$i "$spec: rc $rc: $(head -c 300 "$TMP/err")"
done
"$LAMINA" train --data "$TMP/s.csv" --layers conv:4:1x1,4:relu --epochs 1 --quiet >/dev/null 2>"$TMP/err"
res $? cnn_flat_rows_1x1_conv "$(head -c 300 "$TMP/err")"
# a stride-2 conv, average and global average pooling train, save, and
# show in info's table with their shapes
"$LAMINA" train --data "$TMP/s.csv" --input-shape 1x4x4 --layers conv:3:3x3:stride=2:same:relu,avgpool:2,gap \
    --epochs 2 --quiet --out "$TMP/s.lmn" >/dev/null 2>"$TMP/err"; rc=$?
"$LAMINA" info "$TMP/s.lmn" >"$TMP/info" 2>&1
{ [ "$rc" -eq 0 ] && grep -q 'conv2d  *(3, 2, 2)  *30' "$TMP/info" && grep -q 'avgpool2d  *(3) ' "$TMP/info" &&
    grep -q 'global_avgpool  *(3) ' "$TMP/info"; }
res $? cnn_small_trains_and_shows "rc $rc: $(head -c 300 "$TMP/err") $(head -c 600 "$TMP/info")"

# IDX images keep their own shape: 12 images of 4x4 (a.idx). A
# contradicting --input-shape is a usage error (it used to read each
# image as another shape, silently).
idx_images() { # N H W: the header of an IDX file of u8 images (each below 256)
    printf '\000\000\010\003'
    for v in "$1" "$2" "$3"; do printf "\\000\\000\\000\\$(printf %03o "$v")"; done
}
{ idx_images 12 4 4; LC_ALL=C awk 'BEGIN { srand(5); for (i = 0; i < 192; i++) printf "%c", 1 + int(rand() * 120) }'; } >"$TMP/a.idx"
{ printf '\000\000\010\001\000\000\000\014'; LC_ALL=C awk 'BEGIN { for (i = 0; i < 12; i++) printf "%c", i % 2 }'; } >"$TMP/a-labels.idx"
rm -f "$TMP/q.lmn"
"$LAMINA" train --data "$TMP/a.idx" --labels "$TMP/a-labels.idx" --input-shape 4x2x2 --layers conv:2:1x1,gap \
    --epochs 1 --quiet --out "$TMP/q.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'input-shape 4x2x2 contradicts the shape of the images in .*a.idx, 1x4x4' "$TMP/err" &&
    [ ! -e "$TMP/q.lmn" ]; }
res $? cnn_idx_input_shape_contradicts "rc $rc: $(head -c 300 "$TMP/err")"
"$LAMINA" train --data "$TMP/a.idx" --labels "$TMP/a-labels.idx" --input-shape 1x4x4 --layers conv:2:3x3:same,gap \
    --epochs 1 --quiet --out "$TMP/q.lmn" >/dev/null 2>"$TMP/err"
res $? cnn_idx_input_shape_same "$(head -c 300 "$TMP/err")"
# Images of another shape than a model's image input are a data error
# wherever the model meets them: b.idx holds a.idx's bytes as 12 images
# of 2x8, as many numbers, so they used to be read as 4x4 images, silently.
{ idx_images 12 2 8; tail -c +17 "$TMP/a.idx"; } >"$TMP/b.idx"
A="$TMP/a.idx" B="$TMP/b.idx" AL="$TMP/a-labels.idx"
i=0
for cmd in "eval $TMP/q.lmn --data $B --labels $AL" "predict $TMP/q.lmn --data $B" \
    "train --data $B --labels $AL --init-from $TMP/q.lmn --epochs 1 --quiet --out $TMP/q2.lmn" \
    "train --data $B --labels $AL --resume $TMP/q.lmn --epochs 2 --quiet --out $TMP/q2.lmn" \
    "train --data $A --labels $AL --test $B --test-labels $AL --layers conv:2:3x3 --epochs 1 --quiet --out $TMP/q2.lmn" \
    "train --data $A --labels $AL --val-data $B --val-labels $AL --layers 4:relu --epochs 1 --quiet --out $TMP/q2.lmn" \
    "export $TMP/q.lmn --format c --out $TMP/q2.c --test $B --test-labels $AL"; do
    i=$((i + 1))
    rm -f "$TMP/q2.lmn" "$TMP/q2.c"
    # shellcheck disable=SC2086 # the words of cmd
    "$LAMINA" $cmd >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 3 ] && grep -q 'b.idx: holds images of shape 1x2x8 (CxHxW) but the model takes 1x4x4' "$TMP/err" &&
        [ ! -e "$TMP/q2.lmn" ] && [ ! -e "$TMP/q2.c" ]; }
    res $? cnn_idx_other_shape_refused_$i "$cmd: rc $rc: $(head -c 300 "$TMP/err")"
done
# a model with flat inputs (from CSV rows) takes images of any shape
"$LAMINA" train --data "$TMP/s.csv" --layers 4:relu --epochs 1 --quiet --out "$TMP/flat.lmn" >/dev/null 2>&1
"$LAMINA" predict "$TMP/flat.lmn" --data "$TMP/b.idx" >/dev/null 2>"$TMP/err"
res $? cnn_idx_flat_model_any_shape "$(head -c 300 "$TMP/err")"

D=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$D/train-images-idx3-ubyte.gz" ]; then
    echo "# $D not found: CNN CLI test skipped"
    exit 0
fi

# be32 N: N as 4 big-endian bytes.
be32() {
    printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"
    printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}
# slice SRC_IMAGES SRC_LABELS N DST_PREFIX: the first N images and labels
# as plain IDX files.
slice() {
    { printf '\000\000\010\003'; be32 "$3"; be32 28; be32 28
      gzip -dc "$1" | tail -c +17 | head -c $(($3 * 784)); } >"$4-images.idx"
    { printf '\000\000\010\001'; be32 "$3"
      gzip -dc "$2" | tail -c +9 | head -c "$3"; } >"$4-labels.idx"
}
slice "$D/train-images-idx3-ubyte.gz" "$D/train-labels-idx1-ubyte.gz" 6000 "$TMP/tr"
slice "$D/t10k-images-idx3-ubyte.gz" "$D/t10k-labels-idx1-ubyte.gz" 2000 "$TMP/te"

SPEC=conv:8:3x3:same:relu,maxpool:2,conv:16:3x3:same:relu,avgpool:2,10:softmax
start=$(date +%s)
"$LAMINA" train --data "$TMP/tr-images.idx" --labels "$TMP/tr-labels.idx" \
    --test "$TMP/te-images.idx" --test-labels "$TMP/te-labels.idx" \
    --layers "$SPEC" --optimizer adam --lr 0.003 --batch 32 --epochs 3 --threads 2 --init he \
    --out "$TMP/c.lmn" --quiet --json >"$TMP/c.json" 2>"$TMP/c.err"
rc=$?
secs=$(($(date +%s) - start))
acc=$(tail -n 1 "$TMP/c.json" | jget test_accuracy)
{ [ "$rc" -eq 0 ] && ge "$acc" 0.83; }
res $? cnn_fashion_slice "rc $rc, test accuracy '$acc' < 0.83 in ${secs}s: $(head -n 1 "$TMP/c.err")"
echo "# CNN on 6000 Fashion-MNIST images, 3 epochs: test accuracy $acc in ${secs}s"

# the saved model evaluates to the same accuracy
"$LAMINA" eval "$TMP/c.lmn" --data "$TMP/te-images.idx" --labels "$TMP/te-labels.idx" \
    --json >"$TMP/e.json" 2>&1
eacc=$(jget accuracy <"$TMP/e.json")
[ "$eacc" = "$acc" ]; res $? cnn_eval_matches "eval '$eacc' vs train '$acc'"
finish
