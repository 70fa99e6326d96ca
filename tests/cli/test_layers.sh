#!/bin/sh
# test_layers.sh - the layer kinds from the command line: old model files,
# the --layers grammar for the new kinds, and lamina info's layer table.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$FIX/blobs.csv
BT=$FIX/blobs_test.csv

# A version-1 model made before the layer table predicts what it did then
# (printed with 6 digits then, 9 now: compared at 6).
"$L" predict "$ROOT/tests/fixtures/v1_model.lmn" --data "$BT" --proba 2>"$TMP/err" |
    awk -F, 'NR == 1 { print; next } { printf "%s", $1; for (i = 2; i <= NF; i++) printf ",%.6g", $i; print "" }' \
    >"$TMP/p"; rc=$?
{ [ "$rc" -eq 0 ] && [ ! -s "$TMP/err" ] && cmp -s "$TMP/p" "$ROOT/tests/fixtures/v1_model_proba.csv"; }
res $? v1_model_predicts_same "rc $rc: $(head -c 300 "$TMP/err")"

# Dense layers with batch norm and dropout train, save, load and predict.
"$L" train --data "$B" --test "$BT" --layers 16:relu,batchnorm,dropout:0.25,8:tanh --epochs 30 --lr 0.01 \
    --seed 3 --out "$TMP/bn.lmn" --quiet --json >"$TMP/bn.json" 2>"$TMP/err"; rc=$?
acc=$(jget test_accuracy <"$TMP/bn.json")
{ [ "$rc" -eq 0 ] && ge "$acc" 0.8; }
res $? train_batchnorm_dropout "rc $rc, test accuracy '$acc': $(head -c 300 "$TMP/err")"

# info: one row a layer (kind, output shape, parameters) and the totals
# (wide, so the layers line is one line)
COLUMNS=200 "$L" info "$TMP/bn.lmn" >"$TMP/info" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '2 inputs -> 16:relu,batchnorm:0.1:1e-05,dropout:0.25,8:tanh,3:softmax' "$TMP/info" &&
  grep -Eq '^ +1 +dense +\(16\) +48 ' "$TMP/info" && grep -Eq '^ +2 +batchnorm +\(16\) +32 ' "$TMP/info" &&
  grep -Eq '^ +3 +dropout +\(16\) +0 ' "$TMP/info" && grep -Eq '^ +5 +dense +\(3\) +27 ' "$TMP/info" &&
  grep -q '^params: *243 ' "$TMP/info" && grep -q '^state: *32 ' "$TMP/info"; }
res $? info_layer_table "rc $rc: $(cat "$TMP/info")"

# resuming needs the same layers, dropout rate included
"$L" train --data "$B" --layers 16:relu,batchnorm,dropout:0.25,8:tanh --epochs 32 --resume "$TMP/bn.lmn" \
    --out "$TMP/bn2.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" -eq 0 ]; res $? resume_batchnorm "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$B" --layers 16:relu,batchnorm,dropout:0.5,8:tanh --epochs 32 --resume "$TMP/bn.lmn" \
    --out "$TMP/bn3.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'does not match' "$TMP/err"; }; res $? resume_other_rate "rc $rc: $(head -c 300 "$TMP/err")"

# with dropout and batch norm, stopping and resuming gives the same bits
S=16:relu,batchnorm,dropout:0.3
"$L" train --data "$B" --layers $S --epochs 6 --seed 7 --out "$TMP/full.lmn" --quiet >/dev/null 2>&1
"$L" train --data "$B" --layers $S --epochs 3 --seed 7 --out "$TMP/half.lmn" --quiet >/dev/null 2>&1
"$L" train --data "$B" --layers $S --epochs 6 --resume "$TMP/half.lmn" --out "$TMP/res.lmn" --quiet >/dev/null 2>"$TMP/err"
h1=$("$L" info --json "$TMP/full.lmn" | jget params_hash)
h2=$("$L" info --json "$TMP/res.lmn" | jget params_hash)
p1=$("$L" predict "$TMP/full.lmn" --data "$BT" --proba | md5sum)
p2=$("$L" predict "$TMP/res.lmn" --data "$BT" --proba | md5sum)
{ [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$p1" = "$p2" ]; }
res $? resume_exact_dropout_batchnorm "hash $h1 vs $h2: $(head -c 300 "$TMP/err")"

# the grammar: the issue's CNN parses and trains (conv and pooling are
# built: src/layers/conv2d.c, pool2d.c)
awk 'BEGIN { srand(5); for (r = 0; r < 20; r++) { for (j = 0; j < 784; j++) printf "%d,", int(rand() * 256);
    print r % 10 } }' >"$TMP/img.csv"
"$L" train --data "$TMP/img.csv" --task classes --input-shape 1x28x28 --epochs 1 --quiet \
    --layers conv:32:3x3:same:relu,maxpool:2,conv:64:3x3:same:relu,maxpool:2,128:relu,dropout:0.5,10:softmax \
    >/dev/null 2>"$TMP/err"; rc=$?
{ ! grep -q -- "--layers '" "$TMP/err"; } && [ "$rc" -eq 0 ]
res $? cnn_spec_parses "rc $rc: $(head -c 300 "$TMP/err")"
for bad in 'dropout:1' 'dropout:-0.5' 'batchnorm:2' 'conv:0:3x3' 'conv:8:3y3' 'maxpool:0' 'conv:8:3:bogus' 'gap:2'; do
    "$L" train --data "$B" --layers "$bad" --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q 'layer 1' "$TMP/err"; }; res $? "bad_spec_$(echo "$bad" | tr -c 'a-z0-9\n' _)" "rc $rc: $(head -c 300 "$TMP/err")"
done

# --input-shape must hold the CSV's features; it shows in info
"$L" train --data "$B" --layers 4 --input-shape 3x1x1 --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'input-shape' "$TMP/err"; }; res $? input_shape_mismatch "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$B" --layers 4 --input-shape 1x1x2 --epochs 1 --quiet --out "$TMP/s.lmn" >/dev/null 2>"$TMP/err"; rc=$?
"$L" info "$TMP/s.lmn" >"$TMP/info" 2>&1
{ [ "$rc" -eq 0 ] && grep -Eq '^ +input +\(1, 1, 2\)' "$TMP/info"; }; res $? input_shape_kept "rc $rc: $(cat "$TMP/info")"

exit 0
