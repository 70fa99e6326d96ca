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

# a number too small for a float read as 0, and the message then said the
# value must be > 0 (or in [0, 1)) though the user typed a positive one; a
# subnormal is a float and is taken
for bad in 'dropout:1e-50' 'batchnorm:1e-50' 'batchnorm:0.1:1e-50'; do
    "$L" train --data "$B" --layers "$bad" --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "layer 1: [a-z ]* '1e-50' is too small for a float" "$TMP/err"; }
    res $? "tiny_spec_$(echo "$bad" | tr -c 'a-z0-9\n' _)" "rc $rc: $(head -c 300 "$TMP/err")"
done
# a negative one is refused for its sign, as -0.5 is, not for its size
for bad in 'dropout:-1e-50' 'batchnorm:-1e-50' 'batchnorm:0.1:-1e-50'; do
    "$L" train --data "$B" --layers "$bad" --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "layer 1: expected " "$TMP/err" && ! grep -q "too small" "$TMP/err"; }
    res $? "tiny_negative_spec_$(echo "$bad" | tr -c 'a-z0-9\n' _)" "rc $rc: $(head -c 300 "$TMP/err")"
done
"$L" train --data "$B" --layers 8,dropout:1e-40,batchnorm:0.1:1e-40 --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" -eq 0 ]; res $? subnormal_spec_taken "rc $rc: $(head -c 300 "$TMP/err")"

# --batch 1 with a batch norm after a dense layer trains nothing before it
# (one value a channel: its output is beta alone) and its running
# statistics never move: a usage error naming the layer, nothing written
rm -f "$TMP/b1.lmn"
"$L" train --data "$B" --layers 8:relu,bn --batch 1 --epochs 1 --quiet --out "$TMP/b1.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "layer 2 (batchnorm) on (8, 1, 1): a batch of 1 row" "$TMP/err" && [ ! -e "$TMP/b1.lmn" ]; }
res $? batchnorm_batch_of_one "rc $rc: $(head -c 300 "$TMP/err")"

# a conv item takes one padding, one stride and one activation: a second
# one is refused, never silently taken over the first
for bad in 'conv:8:1:same:valid' 'conv:8:1:valid:pad=0' 'conv:8:1:stride=2:stride=1' 'conv:8:1:relu:tanh'; do
    "$L" train --data "$B" --layers "$bad" --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "layer 1: second \(padding\|stride\|activation\) '" "$TMP/err"; }
    res $? "conv_option_twice_$(echo "$bad" | tr -c 'a-z0-9\n' _)" "rc $rc: $(head -c 300 "$TMP/err")"
done

# a stride or padding out of range is said to be one, with its range (it
# was 'conv option ...', as for a word the grammar lacks)
for bad in 'conv:8:1:stride=0' 'conv:8:1:stride=-2' 'conv:8:1:stride=' 'conv:8:1:stride=5000'; do
    "$L" train --data "$B" --layers "$bad" --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "layer 1: conv stride '.*' is not stride=N with N in 1..4096" "$TMP/err"; }
    res $? "conv_bad_stride_$(echo "$bad" | tr -c 'a-z0-9\n' _)" "rc $rc: $(head -c 300 "$TMP/err")"
done
for bad in 'conv:8:1:pad=-1' 'conv:8:1:pad=' 'conv:8:1:pad=1.5' 'conv:8:1:pad=99999'; do
    "$L" train --data "$B" --layers "$bad" --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "layer 1: conv padding '.*' is not pad=N with N a number of zeros in 0..4096" "$TMP/err"; }
    res $? "conv_bad_pad_$(echo "$bad" | tr -c 'a-z0-9\n' _)" "rc $rc: $(head -c 300 "$TMP/err")"
done

# --input-shape must hold the CSV's features; it shows in info
"$L" train --data "$B" --layers 4 --input-shape 3x1x1 --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'input-shape' "$TMP/err"; }; res $? input_shape_mismatch "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$B" --layers 4 --input-shape 1x1x2 --epochs 1 --quiet --out "$TMP/s.lmn" >/dev/null 2>"$TMP/err"; rc=$?
"$L" info "$TMP/s.lmn" >"$TMP/info" 2>&1
{ [ "$rc" -eq 0 ] && grep -Eq '^ +input +\(1, 1, 2\)' "$TMP/info"; }; res $? input_shape_kept "rc $rc: $(cat "$TMP/info")"
# and in info --json (the layers' out_shape alone cannot tell 1x1x2 from 2x1x1)
"$L" info "$TMP/s.lmn" --json >"$TMP/info" 2>&1
grep -q '"inputs": 2, "input_shape": \[1, 1, 2\],' "$TMP/info"; res $? input_shape_in_json "$(head -c 300 "$TMP/info")"
# a resumed or --init-from model keeps its shape: another --input-shape is
# a usage error (it was ignored), the same one is fine; the model is kept
h0=$("$L" info --json "$TMP/s.lmn" | jget params_hash)
for cmd in "resume:--resume $TMP/s.lmn --epochs 3" "init_from:--data $B --init-from $TMP/s.lmn --epochs 1 --out $TMP/s2.lmn"; do
    name=${cmd%%:*} cmd=${cmd#*:}
    # shellcheck disable=SC2086 # the words of cmd
    "$L" train $cmd --input-shape 2x1x1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "input-shape 2x1x1 contradicts the input shape of .*s.lmn, 1x1x2" "$TMP/err" &&
        [ "$("$L" info --json "$TMP/s.lmn" | jget params_hash)" = "$h0" ] && [ ! -e "$TMP/s2.lmn" ]; }
    res $? "input_shape_vs_model_$name" "rc $rc: $(head -c 300 "$TMP/err")"
done
"$L" train --data "$B" --init-from "$TMP/s.lmn" --input-shape 1x1x2 --epochs 1 --quiet --out "$TMP/s2.lmn" \
    >/dev/null 2>"$TMP/err"
res $? input_shape_same_as_model "$(head -c 300 "$TMP/err")"


# Two classes as one sigmoid output (Keras' Dense(1, sigmoid)): a last
# layer 1:sigmoid is the output, the probability of the second class, not
# a bottleneck before an appended 2:softmax.
gen_bin() { awk -v s="$1" -v t="$2" 'BEGIN { srand(s); print "a,b,c,cls"; for (i = 0; i < 200; i++) { c = i % 2
    printf "%.3f,%.3f,%.3f,%s\n", rand() + c, rand(), rand() - c, c ? (t ? 1 : "yes") : (t ? 0 : "no") } }'; }
gen_bin 3 0 >"$TMP/bin.csv"
gen_bin 4 0 >"$TMP/bin_test.csv"
"$L" train --data "$TMP/bin.csv" --test "$TMP/bin_test.csv" --layers 4,1:sigmoid --lr 0.01 --epochs 40 \
    --out "$TMP/bin.lmn" --quiet --json >"$TMP/bin.json" 2>"$TMP/err"; rc=$?
acc=$(jget test_accuracy <"$TMP/bin.json")
"$L" info --json "$TMP/bin.lmn" >"$TMP/info.json" 2>&1
COLUMNS=200 "$L" info "$TMP/bin.lmn" >"$TMP/info" 2>&1
{ [ "$rc" -eq 0 ] && ge "$acc" 0.95 && grep -q '"outputs": 1,' "$TMP/info.json" &&
  grep -q '"classes": \["no", "yes"\]' "$TMP/info.json" && grep -q '3 inputs -> 4:relu,1:sigmoid$' "$TMP/info" &&
  grep -q '^classes: *no yes (one output: the probability of yes)' "$TMP/info"; }
res $? binary_sigmoid_is_the_output "rc $rc, test accuracy '$acc': $(head -c 300 "$TMP/err") $(head -c 300 "$TMP/info")"
# predict: the class names, right on an easy set (p > 0.5 is the second)
"$L" predict "$TMP/bin.lmn" --data "$TMP/bin_test.csv" >"$TMP/p" 2>"$TMP/err"; rc=$?
right=$(tail -n +2 "$TMP/bin_test.csv" | cut -d, -f4 | paste -d, - "$TMP/p" | awk -F, '$1 == $2 { n++ } END { print n + 0 }')
{ [ "$rc" -eq 0 ] && [ "$(wc -l <"$TMP/p")" -eq 200 ] && [ "$(sort -u "$TMP/p" | tr '\n' ' ')" = "no yes " ] &&
  [ "$right" -ge 190 ]; }
res $? binary_predict_names "rc $rc, $right of 200 right: $(head -c 300 "$TMP/err") $(head -3 "$TMP/p")"
# --proba: both classes' probabilities (1 - p, p) under the softmax header
"$L" predict "$TMP/bin.lmn" --data "$TMP/bin_test.csv" --proba --id a >"$TMP/p" 2>"$TMP/err"; rc=$?
bad=$(awk -F, 'NR == 1 { if ($0 != "a,class,no,yes") print "header " $0; next }
    { d = $3 + $4 - 1; if (NF != 4 || d > 1e-6 || d < -1e-6 || ($2 == "yes") != ($4 > 0.5)) print NR ": " $0 }' "$TMP/p" | head -3)
{ [ "$rc" -eq 0 ] && [ -z "$bad" ] && [ "$(wc -l <"$TMP/p")" -eq 201 ]; }
res $? binary_predict_proba_two_columns "rc $rc: $bad $(head -c 300 "$TMP/err")"
"$L" predict "$TMP/bin.lmn" --data "$TMP/bin_test.csv" --proba --json >"$TMP/p" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '"classes": \["no", "yes"\]' "$TMP/p" &&
  grep -Eq '^\{"row": 1, "class": "(no|yes)", "proba": \[[^],]+, [^],]+\]\}' "$TMP/p"; }
res $? binary_predict_json "rc $rc: $(head -c 300 "$TMP/p") $(head -c 300 "$TMP/err")"
# eval: accuracy as training's, a 2 x 2 confusion matrix
"$L" eval "$TMP/bin.lmn" --data "$TMP/bin_test.csv" --json >"$TMP/e.json" 2>"$TMP/err"; rc=$?
"$L" eval "$TMP/bin.lmn" --data "$TMP/bin_test.csv" >"$TMP/e" 2>&1
eacc=$(jget accuracy <"$TMP/e.json")
sum=$(awk '/^confusion/ { on = 1 } /^$/ { on = 0 } on && ($1 == "no" || $1 == "yes") { n += $2 + $3 }
           END { print n + 0 }' "$TMP/e")
{ [ "$rc" -eq 0 ] && [ "$eacc" = "$acc" ] && grep -q '"loss_name": "ce"' "$TMP/e.json" &&
  grep -Eq '^ +no +yes$' "$TMP/e" && [ "$sum" -eq 200 ]; }
res $? binary_eval_confusion "rc $rc, accuracy '$eacc' vs '$acc', matrix sum $sum: $(cat "$TMP/e")"
# --loss bce is the same binary cross-entropy: the same parameters
"$L" train --data "$TMP/bin.csv" --layers 4,1:sigmoid --lr 0.01 --epochs 40 --loss bce \
    --out "$TMP/bce.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
h1=$("$L" info --json "$TMP/bin.lmn" | jget params_hash)
h2=$("$L" info --json "$TMP/bce.lmn" | jget params_hash)
{ [ "$rc" -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ]; }
res $? binary_bce_same_as_ce "rc $rc, hash $h1 vs $h2: $(head -c 300 "$TMP/err")"
# exported, the one output is the second class's probability: the C
# header says so; ONNX keeps both names for lamina import
(cd "$TMP" && "$L" export bin.lmn --format c --out binc.c >/dev/null 2>"$TMP/err") &&
    "$L" export "$TMP/bin.lmn" --format onnx --out "$TMP/bin.onnx" >/dev/null 2>>"$TMP/err" &&
    "$L" import "$TMP/bin.onnx" --out "$TMP/back.lmn" >/dev/null 2>>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q 'y gets the 1 output, the probability of the second class' "$TMP/binc.h" &&
  "$L" info --json "$TMP/back.lmn" 2>&1 | grep -q '"classes": \["no", "yes"\]'; }
res $? binary_export_c_onnx "rc $rc: $(head -c 300 "$TMP/err") $(sed -n 5,6p "$TMP/binc.h")"
# 0/1 as classes: class 1 is the probability; the names come back
gen_bin 3 1 >"$TMP/bin01.csv"
"$L" train --data "$TMP/bin01.csv" --task classes --layers 4,1:sigmoid --lr 0.01 --epochs 40 \
    --out "$TMP/b01.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
"$L" predict "$TMP/b01.lmn" --data "$TMP/bin01.csv" --proba >"$TMP/p" 2>>"$TMP/err"
{ [ "$rc" -eq 0 ] && [ "$(head -1 "$TMP/p")" = "class,0,1" ] && sed -n 3p "$TMP/p" | grep -q '^1,'; }
res $? binary_task_classes_01 "rc $rc: $(head -3 "$TMP/p") $(head -c 300 "$TMP/err")"
# 1:softmax cannot be two classes: an error naming both ways
"$L" train --data "$TMP/bin.csv" --layers 4,1:softmax --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q '2:softmax or 1:sigmoid' "$TMP/err"; }
res $? binary_softmax_1_refused "rc $rc: $(head -c 300 "$TMP/err")"
# a numeric target: 1:softmax is 1 whatever its input (it trained a constant);
# refused, and a wrong-width softmax output is told 1:identity, not 1:softmax
"$L" train --data "$FIX/regress.csv" --layers 4,1:softmax --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'layer 2 is 1:softmax.*1:identity' "$TMP/err"; }
res $? regression_softmax_1_refused "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$FIX/regress.csv" --layers 4,3:softmax --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'make the last layer 1:identity,' "$TMP/err"; }
res $? regression_softmax_width_hint "rc $rc: $(head -c 300 "$TMP/err")"
# three classes: 1:sigmoid stays a hidden layer
awk -F, 'NR > 1 && NR % 3 == 0 { $4 = "maybe" } 1' OFS=, "$TMP/bin.csv" >"$TMP/tri.csv"
"$L" train --data "$TMP/tri.csv" --layers 4,1:sigmoid --epochs 1 --out "$TMP/tri.lmn" --quiet >/dev/null 2>"$TMP/err"
COLUMNS=200 "$L" info "$TMP/tri.lmn" 2>&1 | grep -q '3 inputs -> 4:relu,1:sigmoid,3:softmax$'
res $? binary_three_classes_unchanged "$(head -c 300 "$TMP/err")"

# A standalone activation (a bare name) after a batch norm: PyTorch's
# linear -> batch norm -> ReLU. It trains, info prints it back as it was
# written, and the printed spec builds the same net (same seed, same bits).
"$L" train --data "$B" --test "$BT" --layers 16:linear,bn,relu,8:linear,bn,leaky_relu --epochs 30 --lr 0.01 \
    --seed 3 --out "$TMP/act.lmn" --quiet --json >"$TMP/act.json" 2>"$TMP/err"; rc=$?
acc=$(jget test_accuracy <"$TMP/act.json")
{ [ "$rc" -eq 0 ] && ge "$acc" 0.8; }
res $? train_standalone_activation "rc $rc, test accuracy '$acc': $(head -c 300 "$TMP/err")"
COLUMNS=200 "$L" info "$TMP/act.lmn" >"$TMP/info" 2>&1; rc=$?
spec='16:identity,batchnorm:0.1:1e-05,relu,8:identity,batchnorm:0.1:1e-05,leaky,3:softmax'
{ [ "$rc" -eq 0 ] && grep -q "2 inputs -> $spec\$" "$TMP/info" &&
  grep -Eq '^ +3 +activation +\(16\) +0 +relu$' "$TMP/info" && grep -Eq '^ +6 +activation +\(8\) +0 +leaky$' "$TMP/info"; }
res $? info_standalone_activation "rc $rc: $(cat "$TMP/info")"
"$L" train --data "$B" --test "$BT" --layers "$spec" --epochs 30 --lr 0.01 --seed 3 --out "$TMP/act2.lmn" \
    --quiet >/dev/null 2>"$TMP/err"; rc=$?
h1=$("$L" info --json "$TMP/act.lmn" | jget params_hash)
h2=$("$L" info --json "$TMP/act2.lmn" | jget params_hash)
{ [ "$rc" -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ]; }
res $? standalone_activation_spec_round_trip "rc $rc, hash $h1 vs $h2: $(head -c 300 "$TMP/err")"
# resuming takes the same spec, and another activation is another net
"$L" train --data "$B" --layers 16:linear,bn,relu,8:linear,bn,leaky --epochs 32 --resume "$TMP/act.lmn" \
    --out "$TMP/act3.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" -eq 0 ]; res $? resume_standalone_activation "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$B" --layers 16:linear,bn,tanh,8:linear,bn,leaky --epochs 32 --resume "$TMP/act.lmn" \
    --out "$TMP/act3.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'does not match' "$TMP/err"; }; res $? resume_other_activation "rc $rc: $(head -c 300 "$TMP/err")"
# conv -> batch norm -> relu, the issue's block
"$L" train --data "$TMP/img.csv" --task classes --input-shape 1x28x28 --epochs 1 --quiet --out "$TMP/cbr.lmn" \
    --layers conv:4:3x3:same:linear,bn,relu,maxpool:2,16:linear,bn,relu,10:softmax >/dev/null 2>"$TMP/err"; rc=$?
COLUMNS=200 "$L" info "$TMP/cbr.lmn" >"$TMP/info" 2>&1
{ [ "$rc" -eq 0 ] && grep -q -- '-> conv:4:3x3:same:identity,batchnorm:0.1:1e-05,relu,maxpool:2:2,' "$TMP/info" &&
  grep -Eq '^ +3 +activation +\(4, 28, 28\) +0 +relu$' "$TMP/info"; }
res $? conv_bn_relu_trains "rc $rc: $(head -c 300 "$TMP/err") $(head -c 600 "$TMP/info")"
# softmax and identity are no standalone layers; an activation takes no settings
"$L" train --data "$B" --layers 16:linear,softmax --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'layer 2 (activation) on (16, 1, 1): softmax is not elementwise; put it on the last dense layer' "$TMP/err"; }
res $? standalone_softmax_refused "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$B" --layers 16:relu,linear --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'layer 2 (activation) on (16, 1, 1): an identity activation does nothing' "$TMP/err"; }
res $? standalone_identity_refused "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$B" --layers 16:linear,relu:2 --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "layer 2: a standalone activation 'relu' takes no settings" "$TMP/err"; }
res $? standalone_activation_settings_refused "rc $rc: $(head -c 300 "$TMP/err")"
"$L" train --data "$B" --layers 16:linear,rleu --epochs 1 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "layer 2: expected a width like 64 or 64:relu, found 'rleu' .*an activation: relu" "$TMP/err"; }
res $? unknown_item_lists_activations "rc $rc: $(head -c 300 "$TMP/err")"

exit 0
