#!/bin/sh
# test_examples.sh - the example programs (examples/*.c, built into
# $BUILD/examples/ by `make`) build without a warning from lamina.h and
# liblamina.so alone, as a user builds them, and run as their comments
# say, reaching what a working library reaches: csv_classifier >= 0.9
# validation accuracy on iris and a model that predicts the same once
# reloaded; predict_rows the same lines from a file (two threads) and
# from standard input, and clear errors; custom_loop a test MSE below
# 0.001 after a checkpoint and resume; cnn_images >= 0.65 accuracy on a
# Fashion-MNIST subset (skipped without the data set). Then the small
# ones under valgrind memcheck (no error, no leak), unless valgrind is
# missing or the build is a sanitizer one, where ASan and LSan have
# checked the runs above already. Prints "ok NAME" / "FAIL NAME: why" /
# "skip NAME: why" (tests/run.sh counts them).
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
E=$root/$BUILD/examples
FIX=$root/tests/cli/fixtures
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
fails=0
res() { # STATUS NAME WHY
    if [ "$1" -eq 0 ]; then echo "ok $2"; else echo "FAIL $2: $3"; fails=$((fails + 1)); fi
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 < b + 0) }'; }

for p in csv_classifier predict_rows custom_loop cnn_images; do
    if [ ! -x "$E/$p" ]; then
        echo "FAIL examples_built: $E/$p is not built (make builds examples/*.c)"
        exit 1
    fi
done

# A user builds them with lamina.h and the library alone (no -Isrc, no
# _POSIX_C_SOURCE from the Makefile), without a warning.
if [ ! -f "$root/$BUILD/liblamina.so" ]; then
    echo "skip example_standalone_build: $BUILD/liblamina.so is not built"
else
    bad=""
    for p in csv_classifier predict_rows custom_loop cnn_images; do
        # shellcheck disable=SC2086
        ${CC:-cc} ${TEST_LDFLAGS:-} -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$root/include" \
            -o "$p" "$root/examples/$p.c" -L"$root/$BUILD" -llamina -pthread -lm 2>>build.err ||
            bad="$bad $p"
    done
    [ -z "$bad" ]
    res $? example_standalone_build "cannot build$bad: $(head -3 build.err | tr '\n' ' ')"
fi

# csv_classifier: trains, saves, reloads.
"$E/csv_classifier" "$FIX/iris.csv" iris.lmn >out 2>err
rc=$?
acc=$(sed -n 's/^validation: .*accuracy \([0-9.]*\).*/\1/p' out)
{ [ $rc -eq 0 ] && ge "$acc" 0.9 && [ -s iris.lmn ] && grep -q 'the same as before saving' out; }
res $? example_csv_classifier "rc $rc, validation accuracy '$acc' (want >= 0.9): $(cat err)"

"$E/csv_classifier" missing.csv m.lmn >out 2>err
rc=$?
{ [ $rc -eq 1 ] && grep -q '^csv_classifier: .*missing\.csv' err && [ ! -e m.lmn ]; }
res $? example_csv_classifier_no_file "rc $rc, stderr '$(cat err)'"
printf 'a,b,y\n1,2,0.5\n3,4,1.5\n' >numeric.csv
"$E/csv_classifier" numeric.csv m.lmn >out 2>err
rc=$?
{ [ $rc -eq 1 ] && grep -q 'numbers, not classes' err; }
res $? example_csv_classifier_numeric_target "rc $rc, stderr '$(cat err)'"

# predict_rows: the iris test features, from a file and from stdin (with
# the header line, then without), one line a row ending in the class.
cut -d, -f1-4 "$FIX/iris_test.csv" >new.csv
tail -n +2 "$FIX/iris_test.csv" | cut -d, -f5 >truth
rows=$(wc -l <truth)
"$E/predict_rows" iris.lmn new.csv >file.txt 2>err
rc=$?
right=$(awk -F, '{ print $NF }' file.txt | paste -d' ' truth - | awk '$1 == $2 { n++ } END { print n + 0 }')
{ [ $rc -eq 0 ] && [ "$(wc -l <file.txt)" -eq "$rows" ] && ge "$right" "$((rows * 9 / 10))"; }
res $? example_predict_rows_file "rc $rc, $(wc -l <file.txt) lines for $rows rows, $right right: $(cat err)"
"$E/predict_rows" iris.lmn <new.csv >stdin.txt 2>err
rc=$?
tail -n +2 new.csv | tr ',' ' ' | "$E/predict_rows" iris.lmn >stdin2.txt 2>>err
{ [ $rc -eq 0 ] && cmp -s file.txt stdin.txt && cmp -s file.txt stdin2.txt; }
res $? example_predict_rows_stdin "rc $rc, standard input gives other lines than the file: $(cat err)"
printf '5.1,3.5,1.4,0.2\n5.1,3.5,1.4\n' | "$E/predict_rows" iris.lmn >out 2>err
rc=$?
{ [ $rc -eq 1 ] && [ "$(wc -l <out)" -eq 1 ] && grep -q 'line 2: 3 numbers, the model takes 4' err; }
res $? example_predict_rows_bad_row "rc $rc, stdout $(wc -l <out) lines, stderr '$(cat err)'"
printf 'not a model' >bad.lmn
"$E/predict_rows" bad.lmn new.csv >out 2>err
rc=$?
{ [ $rc -eq 1 ] && [ ! -s out ] && grep -q '^predict_rows: .*bad\.lmn' err; }
res $? example_predict_rows_bad_model "rc $rc, stderr '$(cat err)'"
cut -d, -f1-3 new.csv >three.csv
"$E/predict_rows" iris.lmn three.csv >out 2>err
rc=$?
{ [ $rc -eq 1 ] && grep -q 'has 3 columns, the model takes 4' err; }
res $? example_predict_rows_width "rc $rc, stderr '$(cat err)'"

# custom_loop: 100 + 100 epochs around a checkpoint.
"$E/custom_loop" sin.ckpt >out 2>err
rc=$?
mse=$(sed -n 's/.*; test mse \([0-9.e-]*\) after 3200 steps$/\1/p' out)
{ [ $rc -eq 0 ] && lt "$mse" 0.001 && [ -s sin.ckpt ] && grep -q 'training state, 1600 steps' out; }
res $? example_custom_loop "rc $rc, test mse '$mse' (want < 0.001): $(cat err)"

# cnn_images: one epoch on 2000 images when the data set is installed.
D=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ -f "$D/train-images-idx3-ubyte.gz" ] && [ -f "$D/t10k-images-idx3-ubyte.gz" ]; then
    "$E/cnn_images" "$D" >out 2>err
    rc=$?
    acc=$(sed -n 's/^test: .*accuracy \([0-9.]*\)$/\1/p' out)
    { [ $rc -eq 0 ] && ge "$acc" 0.65 && grep -q '^2000 training and 1000 test images' out; }
    res $? example_cnn_images "rc $rc, test accuracy '$acc' (want >= 0.65): $(cat err)"
else
    echo "skip example_cnn_images: no Fashion-MNIST in $D"
fi
"$E/cnn_images" "$tmp/nowhere" >out 2>err
rc=$?
{ [ $rc -eq 1 ] && grep -q '^cnn_images: .*nowhere/train-images' err; }
res $? example_cnn_images_no_data "rc $rc, stderr '$(cat err)'"

# Under valgrind: short runs (custom_loop 4 + 4 epochs), a few seconds.
if ! command -v valgrind >/dev/null 2>&1; then
    echo "skip example_valgrind: valgrind is not installed"
elif grep -q -e __asan_init -e __tsan_init "$E/predict_rows"; then
    : # a sanitizer build: ASan and LSan checked the runs above
else
    vg() { # NAME COMMAND...: no memory error, no definite or indirect leak
        name=$1; shift
        valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            "$@" >out 2>vg.log </dev/null
        rc=$?
        res $rc "example_valgrind_$name" "exit $rc: $(grep -E 'ERROR SUMMARY|lost|Invalid' vg.log | head -3 | tr '\n' ' ')"
    }
    vg csv_classifier "$E/csv_classifier" "$FIX/iris.csv" vg.lmn
    vg predict_rows "$E/predict_rows" iris.lmn new.csv
    vg custom_loop "$E/custom_loop" vg.ckpt 4
fi
[ "$fails" -eq 0 ]
