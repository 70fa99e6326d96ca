#!/bin/sh
# test_onnx.sh - `lamina export --format onnx` and `lamina import` from the
# command line: exported models of every layer kind and activation run in
# ONNX Runtime as lamina predicts them (within 1e-5; skipped where
# onnxruntime is missing: .ci/run installs it into build-ci/venv), are
# valid for onnx.checker (where Python's onnx is), import back to the same
# parameters; PyTorch-made models import and then predict, evaluate,
# export and train; bad files exit 4 with a message.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OX=$ROOT/tests/fixtures/onnx

# The Python that has onnxruntime: LAMINA_ONNX_PYTHON, else CI's venv.
PY=${LAMINA_ONNX_PYTHON:-$ROOT/build-ci/venv/bin/python}
[ -x "$PY" ] || PY=/usr/bin/python3
have_ort=0
"$PY" -c 'import onnxruntime, numpy' >/dev/null 2>&1 && have_ort=1
# ort_matches NAME ONNX CSV JSON [OPTIONS]: ONNX Runtime runs the graph on
# the CSV's rows and gives lamina's predictions (JSON) to float rounding
# (OPTIONS: onnx_ort.py's)
ort_matches() {
    if [ $have_ort = 1 ]; then
        "$PY" "$ROOT/tests/cli/onnx_ort.py" "$2" "$3" "$4" ${5:-} >"$TMP/ort" 2>&1; rc=$?
        echo "# $1: $(cat "$TMP/ort")"
        [ "$rc" -eq 0 ]; res $? onnx_runtime_matches_$1 "$(tail -c 400 "$TMP/ort")"
    else
        echo "skip onnx_runtime_matches_$1: onnxruntime is not installed for $PY"
    fi
}
CHECKPY=/usr/bin/python3
have_onnx=0
"$CHECKPY" -c 'import onnx' >/dev/null 2>&1 && have_onnx=1

# data: 72 features (2 channels of 6x6) with a class and two numeric targets
awk 'BEGIN { srand(15); h = "f0"; for (j = 1; j < 72; j++) h = h ",f" j;
  print h ",label" > "'"$TMP/img.csv"'"; print h ",ya,yb" > "'"$TMP/reg.csv"'";
  for (i = 0; i < 48; i++) { s = 0; r = ""; for (j = 0; j < 72; j++) { v = 3 * (rand() - 0.5) + 1;
      if (j < 8) s += v; r = r (j ? "," : "") sprintf("%.4f", v); if (j == 0) a = v; if (j == 1) b = v }
    print r ",c" (s > 8 ? 2 : s > 6 ? 1 : 0) > "'"$TMP/img.csv"'";
    print r "," sprintf("%.4f,%.4f", 5 * a + 2, b * 10 - 30) > "'"$TMP/reg.csv"'" } }'

# name, data, task options, layers
train() {
    "$L" train --data "$2" --input-shape 2x6x6 --layers "$3" --epochs 2 --seed 5 --out "$TMP/$1.lmn" \
        --quiet >/dev/null 2>"$TMP/err"
}
train all "$TMP/img.csv" 'conv:4:3x3:same:relu,batchnorm,maxpool:2,conv:4:2x2:pad=1:leaky,avgpool:2:1,dropout:0.2,16:sigmoid,batchnorm,8:tanh,3:softmax'
rc1=$?
"$L" train --data "$TMP/reg.csv" --target ya,yb --input-shape 2x6x6 --layers conv:3:3x3:stride=2:sigmoid,gap,4:relu \
    --epochs 2 --seed 5 --out "$TMP/gap.lmn" --quiet >/dev/null 2>>"$TMP/err"; rc2=$?
# standalone activations where no layer before can take them (they stay
# standalone through the round trip): first on the image, after a batch
# norm following an activated conv, after a max pool, after an activated
# dense layer
train act "$TMP/img.csv" 'leaky,conv:4:3x3:same:relu,bn,tanh,maxpool:2,sigmoid,16:sigmoid,relu,bn,leaky,3:softmax'
rc3=$?
{ [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$rc3" -eq 0 ]; }; res $? onnx_train_models "$(head -c 300 "$TMP/err")"

for m in all gap act; do
    data=$TMP/img.csv; [ $m = gap ] && data=$TMP/reg.csv
    "$L" export "$TMP/$m.lmn" --format onnx --out "$TMP/$m.onnx" >"$TMP/out" 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 0 ] && grep -q 'opset 13' "$TMP/out"; }; res $? onnx_export_$m "rc $rc: $(head -c 300 "$TMP/err")"
    if [ $have_onnx = 1 ]; then
        "$CHECKPY" -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]))' "$TMP/$m.onnx" \
            >"$TMP/err" 2>&1
        res $? onnx_checker_$m "$(tail -c 300 "$TMP/err")"
    else
        echo "skip onnx_checker_$m: Python's onnx is not installed"
    fi
    "$L" predict "$TMP/$m.lmn" --data "$data" --proba --json >"$TMP/$m.json" 2>"$TMP/err"
    ort_matches "$m" "$TMP/$m.onnx" "$data" "$TMP/$m.json"
    # and back: the same parameters (checksum) and predictions
    "$L" import "$TMP/$m.onnx" --out "$TMP/$m-back.lmn" >/dev/null 2>"$TMP/err"; rc=$?
    h1=$("$L" info --json "$TMP/$m.lmn" | jget params_hash)
    h2=$("$L" info --json "$TMP/$m-back.lmn" | jget params_hash)
    "$L" predict "$TMP/$m-back.lmn" --data "$data" --proba --json | sed 1d >"$TMP/b.json"
    { [ "$rc" -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ] && sed 1d "$TMP/$m.json" | cmp -s - "$TMP/b.json"; }
    res $? onnx_round_trip_$m "rc $rc, hash $h1 vs $h2: $(head -c 300 "$TMP/err")"
done

# A PyTorch MLP: import, info, predict, eval, export, and train from it.
"$L" import "$OX/mlp.onnx" --out "$TMP/mlp.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '6 inputs -> 10:leaky,batchnorm:0.1:1e-05,8:sigmoid,6:tanh,3:softmax' "$TMP/out"; }
res $? onnx_import_torch_mlp "rc $rc: $(cat "$TMP/out" "$TMP/err" | head -c 300)"
# An image input flattened by a Reshape (a Keras MLP through tf2onnx): its
# layout is guessed from its sides, and import says so; not for a graph
# that tells it (the PyTorch MLP above)
"$L" import "$OX/mlp_nhwc.onnx" --out "$TMP/kmlp.lmn" >"$TMP/out" 2>"$TMP/err2"; rc=$?
{ [ "$rc" -eq 0 ] && [ ! -s "$TMP/err" ] &&
    grep -q "note: .*mlp_nhwc.onnx: its image input is flattened by a Reshape, which does not say its layout: read as (N, H, W, C), guessed from its sides" "$TMP/err2" &&
    "$L" info "$TMP/kmlp.lmn" | grep -q '^  onnx_input_layout  *(N, H, W, C), guessed'; }
res $? onnx_import_layout_guess_said "rc $rc: $(cat "$TMP/err" "$TMP/err2" | head -c 400)"
# Keras' Normalization through tf2onnx (Sub then Div or Mul of constants,
# per column of a flat input, per channel of an (N, H, W, C) one, after
# Rescaling, after the Transpose; its divisor as Sqrt and Max of constants
# where TF did not fold it): imported, lamina predicts the fixtures' rows
# as ONNX Runtime runs the graph
# An activation of the (N, H, W, C) input before its Transpose (a Keras
# model starting with one; after Rescaling too) commutes with it: it was
# refused ("only NHWC <-> NCHW transposes of images are supported")
for k in mlp_keras_norm mlp_keras_norm_mul cnn_keras_norm cnn_keras_norm_rescale cnn_keras_norm_after \
    mlp_keras_norm_unfolded cnn_act_first cnn_act_first_rescale; do
    awk '/^x / { n = $2; h = "f0"; for (j = 1; j < $3; j++) h = h ",f" j; print h; next }
         n > 0 { gsub(/ /, ","); print; n-- }' "$OX/$k.txt" >"$TMP/$k.csv"
    "$L" import "$OX/$k.onnx" --out "$TMP/$k.lmn" >/dev/null 2>"$TMP/err" &&
        "$L" predict "$TMP/$k.lmn" --data "$TMP/$k.csv" --proba --json >"$TMP/$k.json" 2>>"$TMP/err"
    res $? onnx_import_$k "$(head -c 300 "$TMP/err")"
    ort_matches "$k" "$OX/$k.onnx" "$TMP/$k.csv" "$TMP/$k.json"
done
# PyTorch's x.view(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat into
# the Reshape's shape; the older C * H * W by Mul, or by ReduceProd of the
# sizes as tf2onnx and hand-written graphs have it), the same exported
# without dynamic axes from a batch of 2 (the shape (2, -1)), and
# F.log_softmax at the end: imported, each change of meaning said in a
# note, lamina predicting the rows as ONNX Runtime runs the graph
for k in torch_view torch_view_sizes torch_view_fixed torch_view_log_softmax shape_reduce_prod \
    shape_reduce_prod_scalar; do
    awk '/^x / { n = $2; h = "f0"; for (j = 1; j < $3; j++) h = h ",f" j; print h; next }
         n > 0 { gsub(/ /, ","); print; n-- }' "$OX/$k.txt" >"$TMP/$k.csv"
    "$L" import "$OX/$k.onnx" --out "$TMP/$k.lmn" >/dev/null 2>"$TMP/err.$k" &&
        "$L" predict "$TMP/$k.lmn" --data "$TMP/$k.csv" --proba --json >"$TMP/$k.json" 2>>"$TMP/err"
    res $? onnx_import_$k "$(head -c 300 "$TMP/err.$k")"
    opts=nchw; [ $k = torch_view_log_softmax ] && opts=nchw,exp
    ort_matches "$k" "$OX/$k.onnx" "$TMP/$k.csv" "$TMP/$k.json" $opts
done
{ [ ! -s "$TMP/err.torch_view" ] && [ ! -s "$TMP/err.torch_view_sizes" ] &&
    grep -q "note: .*torch_view_fixed.onnx: the input's batch is fixed at 2 and Reshape '/Reshape' has the shape (2, -1): its 2 read as the batch; lamina runs any batch" "$TMP/err.torch_view_fixed" &&
    grep -q "note: .*torch_view_log_softmax.onnx: lamina outputs softmax probabilities where the graph's LogSoftmax '/LogSoftmax' outputs their logarithms" "$TMP/err.torch_view_log_softmax" &&
    "$L" info "$TMP/torch_view_fixed.lmn" | grep -q '^  onnx_batch  *the input.s batch is fixed at 2'; }
res $? onnx_import_view_notes_said "$(cat "$TMP/err.torch_view_fixed" "$TMP/err.torch_view_log_softmax" | head -c 600)"
# ... which are about the graph read: lamina's export of the model (its
# own graph, ending in Softmax) does not write them in its metadata_props
if [ $have_onnx = 1 ]; then
    "$L" export "$TMP/torch_view_log_softmax.lmn" --format onnx --out "$TMP/lsm.onnx" >/dev/null 2>"$TMP/err" &&
        "$CHECKPY" -c 'import onnx, sys
keys = [p.key for p in onnx.load(sys.argv[1]).metadata_props]
assert "lamina.meta.imported_from" in keys and not [k for k in keys if "onnx_" in k], keys' \
            "$TMP/lsm.onnx" >>"$TMP/err" 2>&1
    res $? onnx_export_leaves_out_import_notes "$(tail -c 400 "$TMP/err")"
else
    echo "skip onnx_export_leaves_out_import_notes: Python's onnx is not installed"
fi
awk 'BEGIN { srand(3); print "a,b,c,d,e,f,label";
  for (i = 0; i < 40; i++) { r = ""; s = 0; for (j = 0; j < 6; j++) { v = rand() * 2 - 1; s += v; r = r sprintf("%.4f,", v) }
    print r "c" (s > 0.5 ? 2 : s > -0.5 ? 1 : 0) } }' >"$TMP/six.csv"
"$L" info "$TMP/mlp.lmn" >"$TMP/out" 2>&1 && "$L" predict "$TMP/mlp.lmn" --data "$TMP/six.csv" >/dev/null 2>>"$TMP/out" &&
    "$L" eval "$TMP/mlp.lmn" --data "$TMP/six.csv" >>"$TMP/out" 2>&1 &&
    "$L" export "$TMP/mlp.lmn" --format onnx --out "$TMP/mlp2.onnx" >>"$TMP/out" 2>&1
res $? onnx_imported_predict_eval_info_export "$(tail -c 300 "$TMP/out")"
"$L" train --init-from "$TMP/mlp.lmn" --data "$TMP/six.csv" --epochs 3 --out "$TMP/mlp-trained.lmn" --quiet \
    >"$TMP/out" 2>&1; rc=$?
h1=$("$L" info --json "$TMP/mlp.lmn" | jget params_hash)
h2=$("$L" info --json "$TMP/mlp-trained.lmn" | jget params_hash)
{ [ "$rc" -eq 0 ] && [ -n "$h2" ] && [ "$h1" != "$h2" ]; }
res $? onnx_imported_trains "rc $rc, hash $h1 -> $h2: $(tail -c 300 "$TMP/out")"

# Bad files: exit 4 with a message naming the problem.
bad() { # name, file, words
    "$L" import "$2" --out "$TMP/bad.lmn" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 4 ] && grep -q "$3" "$TMP/err" && [ ! -e "$TMP/bad.lmn" ]; }
    res $? "$1" "rc $rc: $(head -c 300 "$TMP/err")"
}
head -c 700 "$OX/cnn.onnx" >"$TMP/trunc.onnx"
printf '\010\377\377\377\377\377\377\377\377\377\377\001' >"$TMP/varint.onnx"
printf '\072\200\200\200\200\200\040' >"$TMP/huge.onnx"
bad onnx_import_truncated "$TMP/trunc.onnx" 'trunc.onnx: .*\(cut short\|claims\)'
bad onnx_import_bad_varint "$TMP/varint.onnx" 'longer than'
bad onnx_import_huge_length "$TMP/huge.onnx" 'claims'
bad onnx_import_unsupported_op "$OX/unsupported.onnx" "node '/1/Elu' (Elu)"
bad onnx_import_wrong_initializer "$OX/bad_init.onnx" 'holds 66 values'
bad onnx_import_bn_after_flatten "$OX/bn_after_flatten.onnx" "a flattened image's values one by one"
bad onnx_import_keras_norm_negative_variance "$OX/keras_norm_unfolded_negative.onnx" "(Sqrt): the square root of a negative value"
bad onnx_import_keras_norm_axis "$OX/keras_norm_axis.onnx" "(Sub): its constant (5, 1) does not broadcast"
bad onnx_import_missing "$TMP/none.onnx" 'none.onnx'
bad onnx_import_view_batch_mul "$OX/torch_view_batch_mul.onnx" "node '/Mul' (Mul): it multiplies the batch size by 4"
bad onnx_import_view_other_batch "$OX/torch_view_other_batch.onnx" "node '/Reshape' (Reshape): its shape (4, -1) starts with 4, but the input's batch is fixed at 2"
bad onnx_import_log_softmax_not_last "$OX/torch_view_log_softmax_scaled.onnx" "node '/Mul' (Mul): a LogSoftmax, imported as lamina's softmax, must end the graph"
"$L" export "$TMP/trunc.onnx" --format onnx --out "$TMP/x.onnx" >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" -eq 4 ]; res $? onnx_export_bad_model "rc $rc: $(head -c 300 "$TMP/err")"
"$L" export "$TMP/all.lmn" --format tflite --out "$TMP/x.onnx" >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" -eq 2 ]; res $? onnx_export_bad_format "rc $rc: $(head -c 300 "$TMP/err")"
# --out naming the input (a careless path, or the same file by another name)
# is refused before anything is written: the model and the ONNX file stay
cp "$TMP/all.lmn" "$TMP/keep.lmn"; sum0=$(cksum <"$TMP/keep.lmn")
(cd "$TMP" && "$L" export keep.lmn --format onnx --out ./keep.lmn) >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && [ "$(cksum <"$TMP/keep.lmn")" = "$sum0" ] && grep -q 'is the model' "$TMP/err"
res $? onnx_export_refuses_overwriting_the_model "rc $rc: $(head -c 300 "$TMP/err")"
"$L" export "$TMP/all.lmn" --format onnx --out "$TMP/keep.onnx" >/dev/null 2>&1
sum0=$(cksum <"$TMP/keep.onnx")
"$L" import "$TMP/keep.onnx" --out "$TMP/keep.onnx" >/dev/null 2>"$TMP/err"; rc=$?
[ "$rc" -eq 2 ] && [ "$(cksum <"$TMP/keep.onnx")" = "$sum0" ] && grep -q 'is the ONNX file' "$TMP/err"
res $? onnx_import_refuses_overwriting_its_input "rc $rc: $(head -c 300 "$TMP/err")"
# Names that are not UTF-8 (a Latin-1 CSV's header and labels, "Caf\xe9"):
# ONNX's strings must be UTF-8; the raw bytes passed onnx.checker but
# ONNX Runtime's get_modelmeta() raised UnicodeDecodeError. Each such byte
# goes as its Latin-1 character, with a note; the import gives UTF-8 back;
# the C export (no names in it) compiles as strictly as ever.
awk 'BEGIN { printf "a,Caf\351 col,y\n"; s = 9
    for (i = 0; i < 20; i++) {
        s = (s * 16807) % 2147483647; a = s / 2147483647
        s = (s * 16807) % 2147483647; b = s / 2147483647
        printf "%.4f,%.4f,%s\n", a, b, (a > b ? "Caf\351" : "plain")
    } }' >"$TMP/latin1.csv"
"$L" train --data "$TMP/latin1.csv" --layers 4 --epochs 1 --out "$TMP/latin1.lmn" >/dev/null 2>&1
"$L" export "$TMP/latin1.lmn" --format onnx --out "$TMP/latin1.onnx" >/dev/null 2>"$TMP/err"; rc=$?
"$L" import "$TMP/latin1.onnx" --out "$TMP/latin1-back.lmn" >/dev/null 2>>"$TMP/err"; rc2=$?
"$L" export "$TMP/all.lmn" --format onnx --out "$TMP/utf8.onnx" >/dev/null 2>"$TMP/err2"; rc3=$?
{ [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$rc3" -eq 0 ] && [ ! -s "$TMP/err2" ] &&
    grep -q 'latin1.onnx: a class name is not UTF-8' "$TMP/err" &&
    "$L" info "$TMP/latin1-back.lmn" | grep -q "$(printf 'classes: *Caf\303\251 plain')" &&
    "$L" info "$TMP/latin1-back.lmn" | grep -q "$(printf 'features *a,Caf\303\251 col')"; }
res $? onnx_names_not_utf8 "rc $rc/$rc2/$rc3: $(cat "$TMP/err" "$TMP/err2")"
if [ $have_ort = 1 ]; then
    "$PY" -c 'import sys, onnxruntime as ort
m = ort.InferenceSession(sys.argv[1]).get_modelmeta().custom_metadata_map
assert m["lamina.class_names"] == "Caf\u00e9\nplain", m["lamina.class_names"]
assert m["lamina.meta.features"] == "a,Caf\u00e9 col", m["lamina.meta.features"]' \
        "$TMP/latin1.onnx" >"$TMP/ort" 2>&1
    res $? onnx_runtime_names_not_utf8 "$(tail -c 400 "$TMP/ort")"
else
    echo "skip onnx_runtime_names_not_utf8: onnxruntime is not installed for $PY"
fi
if command -v "${CC_EXPORT:-cc}" >/dev/null 2>&1; then
    "$L" export "$TMP/latin1.lmn" --format c --out "$TMP/latin1.c" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 0 ] && "${CC_EXPORT:-cc}" -std=c99 -pedantic -Wall -Wextra -Werror -c \
        "$TMP/latin1.c" -o "$TMP/latin1.o" 2>>"$TMP/err"; }
    res $? export_c_names_not_utf8 "rc $rc: $(head -c 400 "$TMP/err")"
fi
finish
