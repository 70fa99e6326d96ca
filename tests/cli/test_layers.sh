#!/bin/sh
# test_layers.sh - the layer kinds from the command line: old model files,
# the --layers grammar for the new kinds, and lamina info's layer table.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$FIX/blobs.csv
BT=$FIX/blobs_test.csv

# A version-1 model made before the layer table predicts what it did then.
"$L" predict "$ROOT/tests/fixtures/v1_model.lmn" --data "$BT" --proba >"$TMP/p" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && cmp -s "$TMP/p" "$ROOT/tests/fixtures/v1_model_proba.csv"; }
res $? v1_model_predicts_same "rc $rc: $(head -c 300 "$TMP/err")"

exit 0
