#!/bin/sh
# test_fann.sh - FANN's files through the CLI: training data (xor.data as
# fann_save_train writes it) read by train, eval and predict, and told
# apart from CSV both ways; FANN nets (tests/fixtures/fann/, written by
# make_fann_fixtures.c with libfann) imported, predicting what fann_run
# gave, and refused with the file and line named.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
FF=$(cd "$(dirname "$0")/../fixtures/fann" && pwd)

# Train, eval and predict on FANN data; --task classes reads 0/1 codes.
"$L" train --data "$FF/xor.data" --task classes --layers 4:tanh --optimizer rprop --epochs 100 \
    --seed 1 --out "$TMP/c.lmn" --quiet >/dev/null 2>"$TMP/err"; rc=$?
res $rc train_fann_classes "exit $rc: $(cat "$TMP/err")"
"$L" eval "$TMP/c.lmn" --data "$FF/xor.data" >"$TMP/eval" 2>&1
grep -q 'accuracy:  1.0000' "$TMP/eval"; res $? eval_fann_classes "$(cat "$TMP/eval")"
"$L" predict "$TMP/c.lmn" --data "$FF/xor.data" >"$TMP/pred" 2>&1
[ "$(tr '\n' ' ' <"$TMP/pred")" = "0 1 1 0 " ]; res $? predict_fann "$(cat "$TMP/pred")"
"$L" predict "$TMP/c.lmn" --data - <"$FF/xor.data" >"$TMP/pred" 2>&1
[ "$(tr '\n' ' ' <"$TMP/pred")" = "0 1 1 0 " ]; res $? predict_fann_stdin "$(cat "$TMP/pred")"
# --id names a CSV column: FANN data has none (it was read as CSV, 'no feature columns')
"$L" predict "$TMP/c.lmn" --data "$FF/xor.data" --id 0 >"$TMP/pred" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "^lamina: predict: --id takes a CSV column; $FF/xor.data is FANN data" "$TMP/err" &&
  [ ! -s "$TMP/pred" ]; }
res $? predict_fann_id "exit $rc: $(cat "$TMP/err")"
# numeric outputs: regression on them, as FANN trains
"$L" train --data "$FF/xor.data" --layers 4:tanh --epochs 5 --out "$TMP/r.lmn" >/dev/null 2>"$TMP/err"
{ grep -q 'FANN data' "$TMP/err" && grep -q 'target: output 1 -> regression' "$TMP/err"; }
res $? train_fann_regression "$(cat "$TMP/err")"

# Bad FANN data: the file and line named, exit 3.
printf '3 2 1\n0 0\n0\n1 x\n1\n2 2\n0\n' >"$TMP/bad.data"
"$L" train --data "$TMP/bad.data" --layers 4 --out "$TMP/b.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q "^lamina: $TMP/bad.data:4: pair 2, input 2: expected a number, found 'x'" "$TMP/err" &&
  [ ! -e "$TMP/b.lmn" ]; }
res $? fann_data_bad_number "exit $rc: $(cat "$TMP/err")"
printf '1099511627776 2 1\n0 0\n0\n' >"$TMP/huge.data"
"$L" train --data "$TMP/huge.data" --layers 4 --out "$TMP/b.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q "huge.data:1: the header claims 1099511627776 pairs" "$TMP/err"; }
res $? fann_data_huge_count "exit $rc: $(cat "$TMP/err")"
printf '2 2 1\n0 0\n0.5\n1 0\n1\n' >"$TMP/short.data"
"$L" train --data "$TMP/short.data" --task classes --layers 4 --out "$TMP/b.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q "short.data: pair 1: outputs '0.5' are not a class" "$TMP/err"; }
res $? fann_data_not_a_class "exit $rc: $(cat "$TMP/err")"
"$L" train --data "$FF/xor.data" --target 0 --layers 4 --out "$TMP/b.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "is FANN training data.*--target goes with CSV data" "$TMP/err"; }
res $? fann_data_csv_option "exit $rc: $(cat "$TMP/err")"
# --sep, --no-header say the file is CSV: a tab file of three integer
# columns whose first row reads 'N 3 3' is read as CSV with them (it was
# read as FANN data, the options unsaid)
printf '1\t3\t3\n1\t2\t3\n4\t5\t6\n' >"$TMP/n33.txt"
"$L" train --data - --sep tab --layers 4 --epochs 1 --out "$TMP/b.lmn" <"$TMP/n33.txt" >/dev/null 2>"$TMP/err"; rc=$?
"$L" train --data "$TMP/n33.txt" --no-header --layers 4 --epochs 1 --out "$TMP/b2.lmn" >/dev/null 2>>"$TMP/err"; rc2=$?
{ [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && grep -q "3 rows, 2 features (no header)" "$TMP/err" &&
  [ "$(grep -c "3 rows, 2 features (no header)" "$TMP/err")" -eq 2 ]; }
res $? fann_data_csv_layout_option "exit $rc/$rc2: $(cat "$TMP/err")"
# A CSV's --target/--ignore name its columns, not those of FANN data given
# as --test or --val-data (refused: '--target goes with CSV data')
printf 'a,b,n,y\n0,0,9,0\n1,0,9,1\n0,1,9,1\n1,1,9,0\n' >"$TMP/xi.csv"
"$L" train --data "$TMP/xi.csv" --target y --ignore n --task classes --layers 4 --epochs 2 \
    --test "$FF/xor.data" --val-data - --out "$TMP/xi.lmn" <"$FF/xor.data" >"$TMP/out" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q 'test: loss .*(4 rows)' "$TMP/out" && grep -q 'val loss' "$TMP/out"; }
res $? fann_test_with_csv_target "exit $rc: $(cat "$TMP/err")"

# Detection both ways: a CSV named .data stays CSV; a FANN layout named
# .csv stays CSV (refused as one); a CSV of three integer columns too.
printf '5.1,3.5,x\n4.9,3.0,y\n4.7,3.2,x\n4.6,3.1,y\n' >"$TMP/iris.data"
"$L" train --data "$TMP/iris.data" --layers 4 --epochs 1 --out "$TMP/i.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q 'no header' "$TMP/err" && ! grep -q 'FANN' "$TMP/err"; }
res $? csv_named_data "exit $rc: $(cat "$TMP/err")"
printf '2\t3\t1\n1\t2\t3\n4\t5\t6\n7\t8\t9\n' >"$TMP/ints.data"
"$L" train --data "$TMP/ints.data" --layers 4 --epochs 1 --out "$TMP/t.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '4 rows, 2 features (no header)' "$TMP/err"; }
res $? tsv_of_integers "exit $rc: $(cat "$TMP/err")"
# a pair a line is FANN data too, as FANN reads it (it was read as CSV:
# 'no feature columns'); a file of three columns with more rows than its
# first row's count stays CSV
printf '4 2 1\n0 0 0\n0 1 1\n1 0 1\n1 1 0\n' >"$TMP/pairline.data"
"$L" train --data "$TMP/pairline.data" --task classes --layers 4 --epochs 1 --out "$TMP/p.lmn" >/dev/null 2>"$TMP/err"; rc=$?
"$L" predict "$TMP/p.lmn" --data - <"$TMP/pairline.data" >"$TMP/pred" 2>>"$TMP/err"; rc2=$?
{ [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && grep -q 'read .*pairline.data: 4 rows, 2 features (FANN data)' "$TMP/err" &&
  [ "$(wc -l <"$TMP/pred")" -eq 4 ]; }
res $? fann_data_pair_a_line "exit $rc/$rc2: $(cat "$TMP/err")"
printf '2\t2\t1\n1\t2\t3\n4\t5\t6\n7\t8\t9\n' >"$TMP/ints21.data"
"$L" train --data "$TMP/ints21.data" --layers 4 --epochs 1 --out "$TMP/t.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q '4 rows, 2 features (no header)' "$TMP/err"; }
res $? tsv_of_integers_more_rows "exit $rc: $(cat "$TMP/err")"
cp "$FF/xor.data" "$TMP/xor.csv"
"$L" train --data "$TMP/xor.csv" --layers 4 --epochs 1 --out "$TMP/x.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && ! grep -q 'FANN' "$TMP/err"; }
res $? fann_layout_named_csv "exit $rc: $(cat "$TMP/err")"

# Import: FANN's own outputs (NAME.out) within float rounding.
for n in xor_sigmoid tanh_linear sparse mixed_steepness scaled; do
    "$L" import "$FF/$n.net" --out "$TMP/$n.lmn" >"$TMP/imp" 2>&1; rc=$?
    if [ "$rc" -ne 0 ]; then fail "import_$n" "exit $rc: $(cat "$TMP/imp")"; continue; fi
    # NAME.out is laid out as FANN data: inputs, then FANN's outputs
    "$L" predict "$TMP/$n.lmn" --data "$FF/$n.out" >"$TMP/got" 2>"$TMP/err"
    awk 'NR > 1 && NR % 2 == 1' "$FF/$n.out" >"$TMP/want"
    awk 'NR == FNR { for (i = 1; i <= NF; i++) w[FNR, i] = $i; next }
         { for (i = 1; i <= NF; i++) { d = $i - w[FNR, i]; if (d < 0) d = -d;
           a = w[FNR, i] < 0 ? -w[FNR, i] : w[FNR, i];
           if (d > 2e-6 + 2e-5 * a) { print "row " FNR ": " $i " vs " w[FNR, i]; bad = 1 } } }
         END { exit bad }' "$TMP/want" "$TMP/got" >"$TMP/diff"
    res $? "import_$n" "$(cat "$TMP/err" "$TMP/diff")"
done
"$L" info "$TMP/scaled.lmn" 2>&1 | grep -q 'imported_from *fann'; res $? import_meta "no imported_from fann"

# FANN's default stepwise sigmoids import as the sigmoids they
# approximate, and import says so (they were refused)
"$L" import "$FF/stepwise.net" --out "$TMP/step.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "^note: $FF/stepwise.net: FANN_SIGMOID_STEPWISE and FANN_SIGMOID_SYMMETRIC_STEPWISE (layers 2, 3) imported as the sigmoids they approximate" "$TMP/err" &&
  "$L" info "$TMP/step.lmn" | grep -q '^  fann_stepwise '; }
res $? import_stepwise_with_note "exit $rc: $(cat "$TMP/err")"

# Refusals: exit 4, one line naming the file and line, nothing written.
refuse() {
    "$L" import "$FF/$1.net" --out "$TMP/no.lmn" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 4 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "^lamina: $FF/$1.net:$2" "$TMP/err" &&
      [ ! -e "$TMP/no.lmn" ]; }
    res $? "import_refuses_$1" "exit $rc: $(cat "$TMP/err")"
}
refuse refuse_gaussian '35: neurons: neuron 3 (layer 2) uses FANN_GAUSSIAN'
refuse refuse_mixed_function "35: neurons: neuron 4 uses FANN_LINEAR but layer 2's first"
refuse refuse_shortcut '5: network_type=1: a shortcut net'
refuse refuse_fixed '1: FANN_FIX_2.0 is a fixed-point FANN net'
head -c 2000 "$FF/sparse.net" >"$TMP/cut.net"
"$L" import "$TMP/cut.net" --out "$TMP/no.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 4 ] && grep -q "^lamina: $TMP/cut.net:3[56]: " "$TMP/err" && [ ! -e "$TMP/no.lmn" ]; }
res $? import_truncated "exit $rc: $(cat "$TMP/err")"
# A FANN file with another number of outputs than the model says both
# counts (it said "no numeric target for the model's 1 outputs")
printf '4 2 2\n0 0\n1 -1\n1 0\n-1 1\n0 1\n-1 1\n1 1\n1 -1\n' >"$TMP/two.data"
"$L" train --data "$FF/xor.data" --layers 4 --epochs 2 --out "$TMP/reg.lmn" >/dev/null 2>&1
"$L" eval "$TMP/reg.lmn" --data "$TMP/two.data" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q "two.data: has 2 numeric targets but the model has 1 output$" "$TMP/err"; }
res $? fann_eval_output_count "exit $rc: $(cat "$TMP/err")"
# standard input is named stdin in a refusal (it was "-:")
"$L" train --data - --target 0 --layers 2 <"$FF/xor.data" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "^lamina: stdin: is FANN training data" "$TMP/err"; }
res $? fann_stdin_named "exit $rc: $(cat "$TMP/err")"
# --init-from a classes model reads FANN's class codes as classes without
# --task classes again (it read them as numbers and refused the model)
"$L" train --data "$FF/xor.data" --task classes --layers 4 --epochs 2 --out "$TMP/cls.lmn" >/dev/null 2>&1
"$L" train --data "$FF/xor.data" --init-from "$TMP/cls.lmn" --epochs 2 --out "$TMP/cls2.lmn" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && "$L" info "$TMP/cls2.lmn" | grep -q '^  task  *classes'; }
res $? fann_init_from_classes "exit $rc: $(cat "$TMP/err")"
finish
