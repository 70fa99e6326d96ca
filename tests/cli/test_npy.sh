#!/bin/sh
# test_npy.sh - NumPy's files through the CLI (tests/fixtures/npy/, written
# by tests/gen_npy_fixture.py): train on a separable two-blob set as .npy
# features with --labels and as one .npz, eval, predict (one line a row)
# and export --test on them; and the refusals: features without targets,
# rows that differ, object arrays, a damaged .npz, a NumPy stream.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
NF=$(cd "$(dirname "$0")/../fixtures/npy" && pwd)
COLUMNS=1000; export COLUMNS # messages on one line each, for grep (the paths are long)

"$L" train --data "$NF/blobs_x.npy" --labels "$NF/blobs_y.npy" --layers 8 --epochs 30 --seed 1 \
    --out "$TMP/m.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "read $NF/blobs_x.npy: 200 rows, 4 features (NumPy)" "$TMP/err" &&
  grep -q "classes (integer labels): 2 classes" "$TMP/err"; }
res $? train_npy "exit $rc: $(cat "$TMP/err")"
"$L" eval "$TMP/m.lmn" --data "$NF/blobs_x.npy" --labels "$NF/blobs_y.npy" --json >"$TMP/ev" 2>&1
ge "$(jget accuracy <"$TMP/ev")" 0.97; res $? eval_npy "$(cat "$TMP/ev")"
"$L" eval "$TMP/m.lmn" --data "$NF/blobs.npz" --json >"$TMP/ev" 2>&1
ge "$(jget accuracy <"$TMP/ev")" 0.97; res $? eval_npz "$(cat "$TMP/ev")"
# predict: one line a row, features alone (no labels needed)
"$L" predict "$TMP/m.lmn" --data "$NF/blobs_x.npy" >"$TMP/pred" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && [ "$(wc -l <"$TMP/pred")" -eq 200 ] &&
  /usr/bin/python3 -c '
import sys, numpy as np
y = np.load(sys.argv[1]); p = np.loadtxt(sys.argv[2], dtype=int)
sys.exit(0 if (p == y).mean() >= 0.97 else 1)' "$NF/blobs_y.npy" "$TMP/pred"; }
res $? predict_npy "exit $rc: $(cat "$TMP/err")"
"$L" predict "$TMP/m.lmn" --data "$NF/blobs.npz" >"$TMP/pred2" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && cmp -s "$TMP/pred" "$TMP/pred2"; }
res $? predict_npz "exit $rc: $(cat "$TMP/err")"
"$L" predict "$TMP/m.lmn" --data "$NF/blobs_x.npy" --id 0 >"$TMP/pred" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "predict: --id takes a CSV column; $NF/blobs_x.npy holds NumPy arrays" "$TMP/err"; }
res $? predict_npy_id "exit $rc: $(cat "$TMP/err")"

# one .npz (float64 features, uint8 labels, deflated), with --test and
# --val-data as .npy pairs
"$L" train --data "$NF/blobs.npz" --layers 8 --epochs 30 --seed 1 --out "$TMP/z.lmn" \
    --test "$NF/blobs_x.npy" --test-labels "$NF/blobs_y.npy" \
    --val-data "$NF/blobs_x.npy" --val-labels "$NF/blobs_y.npy" >"$TMP/out" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\).*/\1/p' "$TMP/out" "$TMP/err" | head -1) &&
  ge "$acc" 0.97 && "$L" info "$TMP/z.lmn" | grep -q "data  *$NF/blobs.npz"; }
res $? train_npz_test_val "exit $rc: $(cat "$TMP/out" "$TMP/err")"
"$L" export "$TMP/z.lmn" --format c --out "$TMP/z.c" --test "$NF/blobs_x.npy" \
    --test-labels "$NF/blobs_y.npy" >"$TMP/out" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && grep -qi "accuracy" "$TMP/out"; }
res $? export_test_npy "exit $rc: $(cat "$TMP/out")"
# images keep their shape: conv layers train on (N, H, W, C) uint8
"$L" train --data "$NF/img_nhwc.npy" --labels "$NF/img_labels.npy" --layers conv:2:2x2,4:relu \
    --epochs 1 --out "$TMP/c.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && tr "\n" " " <"$TMP/err" | grep -q "2 rows, 24 features (NumPy, *images 3x4x2)" &&
  "$L" info "$TMP/c.lmn" | grep -q "input  *(2, 3, 4)"; }
res $? train_npy_images "exit $rc: $(cat "$TMP/err")"
# regression: float targets, two outputs
"$L" train --data "$NF/u1.npy" --labels "$NF/targets.npy" --layers 4 --epochs 2 --out "$TMP/r.lmn" \
    >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "targets: output 1, output 2 -> regression with 2 outputs" "$TMP/err"; }
res $? train_npy_regression "exit $rc: $(cat "$TMP/err")"

# integer targets that are no classes (a year, a negative): numbers, for
# --task regression as its docs say; --task classes refuses them
"$L" train --data "$NF/u1.npy" --labels "$NF/years.npy" --task regression --layers 4 --epochs 2 \
    --out "$TMP/y.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "target: the labels file -> regression (--task regression)" "$TMP/err"; }
res $? train_npy_int_regression "exit $rc: $(cat "$TMP/err")"
"$L" eval "$TMP/y.lmn" --data "$NF/u1.npy" --labels "$NF/years.npy" >"$TMP/out" 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "^MSE:" "$TMP/out"; }
res $? eval_npy_int_regression "exit $rc: $(cat "$TMP/out")"

# refusals: exit 2 (usage) or 3 (data), no model written
refused() { # NAME RC WANT ARGS...
    name=$1 want_rc=$2 want=$3
    shift 3
    rm -f "$TMP/b.lmn"
    "$L" "$@" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq "$want_rc" ] && grep -qF -- "$want" "$TMP/err" && [ ! -e "$TMP/b.lmn" ]; }
    res $? "$name" "exit $rc: $(cat "$TMP/err")"
}
refused npy_no_labels 2 "blobs_x.npy: holds features only: add --labels FILE" \
    train --data "$NF/blobs_x.npy" --layers 4 --out "$TMP/b.lmn"
refused npy_rows_differ 3 "f4.npy holds 3 rows but $NF/labels4.npy holds 4" \
    train --data "$NF/f4.npy" --labels "$NF/labels4.npy" --layers 4 --out "$TMP/b.lmn"
refused npy_object 3 "object.npy: holds Python objects (dtype object)" \
    train --data "$NF/object.npy" --labels "$NF/labels.npy" --layers 4 --out "$TMP/b.lmn"
refused npz_unnamed 3 "unnamed.npz: holds 'arr_0', 'arr_1'" \
    train --data "$NF/unnamed.npz" --layers 4 --out "$TMP/b.lmn"
refused npy_test_no_labels 2 "blobs_x.npy: NumPy test features need their targets: add --test-labels FILE" \
    train --data "$NF/blobs.npz" --test "$NF/blobs_x.npy" --layers 4 --out "$TMP/b.lmn"
refused npy_task_classes 3 "target1.npy: target 1.5 at [0] is not a class" \
    train --data "$NF/f4.npy" --labels "$NF/target1.npy" --task classes --layers 4 --out "$TMP/b.lmn"
refused npy_task_classes_years 3 "years.npy: target 70000 at [1] is not a class" \
    train --data "$NF/u1.npy" --labels "$NF/years.npy" --task classes --layers 4 --out "$TMP/b.lmn"
# --ignore and --target choose CSV columns: passed over silently before,
# yet recorded in the model (a CSV file it predicted lost a column)
refused npy_ignore 2 "blobs_x.npy: --ignore goes with CSV data; NumPy arrays take their targets from --labels" \
    train --data "$NF/blobs_x.npy" --labels "$NF/blobs_y.npy" --ignore 0 --layers 4 --out "$TMP/b.lmn"
refused npz_target 2 "blobs.npz: --target goes with CSV data" \
    train --data "$NF/blobs.npz" --target 0 --layers 4 --out "$TMP/b.lmn"
# a stored member with a flipped byte: its CRC-32
cp "$NF/xy.npz" "$TMP/bad.npz"
printf 'Z' | dd of="$TMP/bad.npz" bs=1 seek=200 conv=notrunc 2>/dev/null
refused npz_crc 3 "bad.npz: member 'x.npy': CRC-32 mismatch" \
    train --data "$TMP/bad.npz" --layers 4 --out "$TMP/b.lmn"
# cut short: bytes and rows missing named (detected by name and by magic)
head -c 150 "$NF/f4.npy" >"$TMP/cut.npy"
refused npy_truncated 3 "cut.npy: truncated: shape (3, 2) needs 24 data bytes, the file holds 22 (2 bytes missing; 2 of 3 rows complete)" \
    train --data "$TMP/cut.npy" --labels "$NF/labels.npy" --layers 4 --out "$TMP/b.lmn"
cp "$TMP/cut.npy" "$TMP/cut.bin"
refused npy_by_magic 3 "cut.bin: truncated" \
    train --data "$TMP/cut.bin" --labels "$NF/labels.npy" --layers 4 --out "$TMP/b.lmn"
refused npy_stdin 3 "stdin: holds NumPy data (.npy), which is read from a named file only" \
    predict "$TMP/m.lmn" --data - <"$NF/blobs_x.npy"
refused npy_csv_labels 2 "--labels goes with IDX images or NumPy arrays" \
    train --data "$FIX/blobs.csv" --labels "$NF/labels.npy" --layers 4 --out "$TMP/b.lmn"
# a zip that holds no .npy (a spreadsheet) is not taken for NumPy data by
# its magic: read as CSV and refused as such
/usr/bin/python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr("[Content_Types].xml", "<x/>")' "$TMP/book.xlsx"
refused xlsx_not_npz 3 "book.xlsx: a zip archive (an Excel .xlsx workbook" \
    train --data "$TMP/book.xlsx" --layers 4 --out "$TMP/b.lmn"
# labels on standard input: "-: No such file or directory"; said what
refused npy_labels_stdin 2 "stdin: the labels of NumPy arrays are read from a named file only" \
    train --data "$NF/blobs_x.npy" --labels - --layers 4 --out "$TMP/b.lmn" <"$NF/blobs_y.npy"
cp "$NF/xy.npz" "$TMP/xy.bin"
"$L" train --data "$TMP/xy.bin" --layers 4 --epochs 1 --out "$TMP/xy.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "xy.bin: 3 rows, 2 features (NumPy)" "$TMP/err"; }
res $? npz_by_magic "exit $rc: $(cat "$TMP/err")"
finish
