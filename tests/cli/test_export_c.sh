#!/bin/sh
# test_export_c.sh - `lamina export --format c`: the generated C compiles
# with -std=c99 -pedantic -Wall -Wextra -Werror, references no allocator,
# and predicts what `lamina predict` prints: every layer kind and
# activation, both normalisations, a regression target standardisation
# (float: within 1e-5), and the int8 form's accuracy on a Fashion-MNIST
# slice (when installed) equal to what the export measured, within 1.5
# points of float. Bad inputs give clear errors. Needs a C compiler (cc).
. "$(dirname "$0")/fixtures/lib.sh"

CC_EXPORT=${CC_EXPORT:-cc}
if ! command -v "$CC_EXPORT" >/dev/null 2>&1; then
    echo "skip export_c: no C compiler ($CC_EXPORT) to build the exported code"
    exit 0
fi
CFLAGS_EXPORT="-std=c99 -pedantic -Wall -Wextra -Werror -O2"

# driver NAME: a program around NAME_predict. "run" reads rows of
# NAME_N_IN numbers (commas or spaces) from stdin and prints the outputs
# %.9g; "idx IMAGES LABELS" prints the count of rows whose argmax is the
# label, reading u8 IDX files as lamina does (raw values; the model
# normalises).
driver() {
    up=$(echo "$1" | tr a-z A-Z)
    sed "s/@N@/$1/g; s/@U@/$up/g" >"$TMP/drv_$1.c" <<'EOC'
#include "@N@.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    float x[@U@_N_IN], y[@U@_N_OUT];
    int i;
    if (argc == 4 && strcmp(argv[1], "idx") == 0) {
        FILE *fi = fopen(argv[2], "rb"), *fl = fopen(argv[3], "rb");
        unsigned char px[@U@_N_IN], lab;
        long right = 0, n = 0;
        if (!fi || !fl || fseek(fi, 16, SEEK_SET) || fseek(fl, 8, SEEK_SET)) return 2;
        while (fread(px, 1, sizeof px, fi) == sizeof px && fread(&lab, 1, 1, fl) == 1) {
            int best = 0;
            for (i = 0; i < @U@_N_IN; i++) x[i] = px[i];
            @N@_predict(x, y);
            for (i = 1; i < @U@_N_OUT; i++)
                if (y[i] > y[best]) best = i;
            right += best == lab;
            n++;
        }
        printf("%ld %ld\n", right, n);
        return 0;
    }
    for (;;) {
        for (i = 0; i < @U@_N_IN; i++)
            if (scanf(" %f ,", &x[i]) != 1) return 0;
        @N@_predict(x, y);
        for (i = 0; i < @U@_N_OUT; i++) printf("%s%.9g", i ? "," : "", y[i]);
        printf("\n");
    }
}
EOC
}

# build NAME: compiles NAME.c warning-free as C99 and links the driver.
build() {
    driver "$1"
    (cd "$TMP" && "$CC_EXPORT" $CFLAGS_EXPORT -c "$1.c" -o "$1.o" 2>"$1.cc.err" &&
        "$CC_EXPORT" -std=c99 -O2 "drv_$1.c" "$1.o" -o "drv_$1" -lm 2>>"$1.cc.err")
}

# maxdiff A B: the largest absolute difference between two CSV files of
# numbers (same shape), or "shape" when they differ in shape.
maxdiff() {
    awk -F, 'NR == FNR { for (i = 1; i <= NF; i++) a[FNR, i] = $i; nf[FNR] = NF; n = FNR; next }
        { if (nf[FNR] != NF) bad = 1; for (i = 1; i <= NF; i++) { d = a[FNR, i] - $i; if (d < 0) d = -d; if (d > m) m = d } ; k = FNR }
        END { if (bad || k != n || n == 0) print "shape"; else printf "%.3g\n", m }' "$1" "$2"
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "shape" && a + 0 < b + 0) }'; }

# nm check: undefined symbols of NAME.o are libm's and the few the
# compiler may call for loops, never an allocator.
syms_ok() {
    command -v nm >/dev/null 2>&1 || return 0
    nm "$TMP/$1.o" | awk '$1 == "U" { print $2 }' >"$TMP/$1.syms"
    ! grep -Eq '^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign)$' "$TMP/$1.syms" &&
        ! grep -Evq '^(expf|tanhf|fabsf|memset|memcpy|memmove)$' "$TMP/$1.syms"
}

# --- every layer kind and activation (a CNN over 2x6x3 images, 3 classes;
# standalone activations first on the input, after a batch norm, after a
# pool)
awk 'BEGIN { srand(5); for (r = 0; r < 60; r++) { for (j = 0; j < 36; j++) printf "%d,", int(rand() * 9);
    print "k" r % 3 } }' >"$TMP/img.csv"
SPEC=leaky,conv:4:3x3:same:tanh,batchnorm,relu,maxpool:2,conv:3:2x2:pad=1:leaky:nobias,avgpool:2:1,dropout:0.3
SPEC=$SPEC,conv:5:1x1:sigmoid,gap,tanh,6:relu,batchnorm,sigmoid,7:identity:nobias,dropout:0.2,3:softmax
"$LAMINA" train --data "$TMP/img.csv" --input-shape 2x6x3 --layers "$SPEC" --epochs 4 --quiet \
    --out "$TMP/all.lmn" >/dev/null 2>"$TMP/err"; rc=$?
"$LAMINA" export "$TMP/all.lmn" --format c --out "$TMP/all.c" >"$TMP/out" 2>>"$TMP/err"; rc2=$?
build all; bc=$?
{ [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ $bc -eq 0 ] && [ -f "$TMP/all.h" ]; }
res $? export_c_all_kinds_compile "rc $rc/$rc2/$bc: $(head -c 400 "$TMP/err") $(head -c 600 "$TMP/all.cc.err")"
cut -d, -f1-36 "$TMP/img.csv" | "$TMP/drv_all" >"$TMP/all.c.out"
"$LAMINA" predict "$TMP/all.lmn" --data "$TMP/img.csv" --proba | tail -n +2 | cut -d, -f2- >"$TMP/all.lm.out"
d=$(maxdiff "$TMP/all.c.out" "$TMP/all.lm.out")
echo "# all kinds: max difference $d"; lt "$d" 1e-5; res $? export_c_all_kinds_match "max difference $d ($(head -n 2 "$TMP/all.c.out" | tr '\n' ' ') vs $(head -n 2 "$TMP/all.lm.out" | tr '\n' ' '))"
syms_ok all; res $? export_c_no_allocator "undefined symbols: $(tr '\n' ' ' <"$TMP/all.syms" 2>/dev/null)"
# the generated file holds the weights as const data (w1: layer 0 is the
# standalone leaky), and nothing writable
grep -q '^static const float w1\[' "$TMP/all.c" && ! grep -Eq '^(static )?(float|int|double|long)' "$TMP/all.c"
res $? export_c_const_only "$(grep -E '^(static )?(float|int|double)' "$TMP/all.c" | head -3)"

# --- strided convolutions: 'same' padding that is uneven (odd sizes), a
# 2x3 kernel, valid padding, a 1x1 window
awk 'BEGIN { srand(7); for (r = 0; r < 40; r++) { for (j = 0; j < 40; j++) printf "%.3f,", rand() * 4 - 2;
    print "k" r % 4 } }' >"$TMP/odd.csv"
"$LAMINA" train --data "$TMP/odd.csv" --input-shape 1x8x5 --epochs 3 --quiet --out "$TMP/odd.lmn" \
    --layers conv:3:3x3:stride=2:same:relu,conv:4:2x3:stride=2:valid:tanh:nobias,conv:2:1x1:stride=1,4:softmax \
    >/dev/null 2>"$TMP/err"
"$LAMINA" export "$TMP/odd.lmn" --format c --out "$TMP/odd.c" >/dev/null 2>>"$TMP/err"
build odd; bc=$?
cut -d, -f1-40 "$TMP/odd.csv" | "$TMP/drv_odd" >"$TMP/odd.c.out"
"$LAMINA" predict "$TMP/odd.lmn" --data "$TMP/odd.csv" --proba | tail -n +2 | cut -d, -f2- >"$TMP/odd.lm.out"
d=$(maxdiff "$TMP/odd.c.out" "$TMP/odd.lm.out")
{ [ $bc -eq 0 ] && lt "$d" 1e-5; }
res $? export_c_strided_conv "build $bc, max difference $d: $(head -c 300 "$TMP/err") $(head -c 300 "$TMP/odd.cc.err")"

# --- per-feature standardisation (iris) and the workspace variant
"$LAMINA" train --data "$FIX/iris.csv" --layers 8:tanh,3:softmax --epochs 20 --quiet \
    --out "$TMP/iris.lmn" >/dev/null 2>&1
"$LAMINA" export "$TMP/iris.lmn" --format c --out "$TMP/iris.c" >/dev/null 2>"$TMP/err"
build iris; bc=$?
tail -n +2 "$FIX/iris.csv" | cut -d, -f1-4 | "$TMP/drv_iris" >"$TMP/iris.c.out"
"$LAMINA" predict "$TMP/iris.lmn" --data "$FIX/iris.csv" --proba | tail -n +2 | cut -d, -f2- >"$TMP/iris.lm.out"
d=$(maxdiff "$TMP/iris.c.out" "$TMP/iris.lm.out")
{ [ $bc -eq 0 ] && lt "$d" 1e-5 && grep -q 'norm_scale\[4\]' "$TMP/iris.c" &&
    grep -q 'IRIS_WORKSPACE_FLOATS' "$TMP/iris.h" && grep -q 'iris_predict_ws' "$TMP/iris.h"; }
res $? export_c_iris_norm "build $bc, max difference $d: $(head -c 300 "$TMP/iris.cc.err")"

# --- regression with a standardised target (values, not probabilities)
"$LAMINA" train --data "$FIX/regress.csv" --layers 16:relu --epochs 20 --quiet \
    --out "$TMP/reg.lmn" >/dev/null 2>&1
"$LAMINA" export "$TMP/reg.lmn" --format c --out "$TMP/reg.c" >/dev/null 2>"$TMP/err"
build reg; bc=$?
tail -n +2 "$FIX/regress.csv" | cut -d, -f1-3 | "$TMP/drv_reg" >"$TMP/reg.c.out"
"$LAMINA" predict "$TMP/reg.lmn" --data "$FIX/regress.csv" >"$TMP/reg.lm.out"
d=$(maxdiff "$TMP/reg.c.out" "$TMP/reg.lm.out")
{ [ $bc -eq 0 ] && lt "$d" 1e-4 && grep -q target_std "$TMP/reg.c"; }
res $? export_c_regression "build $bc, max difference $d (values of size ~3)"
"$LAMINA" export "$TMP/reg.lmn" --format c --int8 --out "$TMP/reg8.c" --test "$FIX/regress_test.csv" \
    >"$TMP/out" 2>&1; rc=$?
{ [ $rc -eq 0 ] && grep -q '^loss (mse, standardised targets) float: [0-9]' "$TMP/out" &&
    grep -q '^loss (mse, standardised targets) int8: ' "$TMP/out"; }
res $? export_c_regression_test_loss "rc $rc: $(cat "$TMP/out")"
"$LAMINA" export "$TMP/reg.lmn" --format c --out "$TMP/reg9.c" --test "$TMP/nonexistent.csv" \
    >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 3 ] && [ ! -f "$TMP/reg9.c" ]; }
res $? export_c_test_missing "rc $rc: $(cat "$TMP/err")"
# IDX labels for a CSV test file: the refusal names --test-labels (it
# said --labels, an option export does not have)
: >"$TMP/labels.idx"
"$LAMINA" export "$TMP/reg.lmn" --format c --out "$TMP/reg9.c" --test "$FIX/regress_test.csv" \
    --test-labels "$TMP/labels.idx" >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 2 ] && [ ! -f "$TMP/reg9.c" ] &&
    grep -q 'regress_test.csv: --test-labels goes with IDX images' "$TMP/err"; }
res $? export_c_test_labels_csv "rc $rc: $(cat "$TMP/err")"

# --- int8: compiles, references no allocator, and scores as the quantised net
"$LAMINA" export "$TMP/all.lmn" --format c --int8 --out "$TMP/all8.c" --test "$TMP/img.csv" \
    >"$TMP/out8" 2>"$TMP/err"; rc=$?
build all8; bc=$?
{ [ $rc -eq 0 ] && [ $bc -eq 0 ] && grep -q '^static const int8_t w1\[' "$TMP/all8.c" &&
    grep -q 'accuracy int8: ' "$TMP/out8" && syms_ok all8; }
res $? export_c_int8_all_kinds "rc $rc build $bc: $(cat "$TMP/out8" "$TMP/err" | head -c 400) $(head -c 400 "$TMP/all8.cc.err")"

# --- bad inputs
"$LAMINA" export "$TMP/all.lmn" --format c --out /nonexistent/dir/m.c >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 1 ] && grep -q '/nonexistent/dir' "$TMP/err"; }
res $? export_c_unwritable "rc $rc: $(cat "$TMP/err")"
"$LAMINA" export "$TMP/all.lmn" --format c --out "$TMP/my-model.c" >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 2 ] && grep -q "'my-model' is not a usable C name" "$TMP/err" && [ ! -f "$TMP/my-model.c" ]; }
res $? export_c_bad_name "rc $rc: $(cat "$TMP/err")"
# the .c includes its header by file name: a quote there would not compile;
# spaces, dashes and a digit first are fine with --name
"$LAMINA" export "$TMP/all.lmn" --format c --out "$TMP/we\"ird.c" --name m >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 2 ] && grep -q "cannot hold quotes" "$TMP/err" && [ ! -f "$TMP/we\"ird.c" ] && [ ! -f "$TMP/we\"ird.h" ]; }
res $? export_c_quote_in_file_name "rc $rc: $(cat "$TMP/err")"
"$LAMINA" export "$TMP/all.lmn" --format c --out "$TMP/9 lives-v2.c" --name lives >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 0 ] && (cd "$TMP" && "$CC_EXPORT" $CFLAGS_EXPORT -c "9 lives-v2.c" -o lives.o) 2>>"$TMP/err"; }
res $? export_c_odd_file_name_compiles "rc $rc: $(cat "$TMP/err")"
"$LAMINA" export "$TMP/all.lmn" --format c --out "$TMP/m.c" --name for >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 2 ] && grep -q "'for' is not a usable C name" "$TMP/err"; }
res $? export_c_keyword_name "rc $rc: $(cat "$TMP/err")"
"$LAMINA" export "$TMP/all.lmn" --format c --out "$TMP/m.txt" >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 2 ] && grep -q 'ending in .c' "$TMP/err"; }
res $? export_c_not_dot_c "rc $rc: $(cat "$TMP/err")"
"$LAMINA" export "$TMP/missing.lmn" --format c --out "$TMP/m.c" >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 4 ] && grep -q 'missing.lmn' "$TMP/err"; }
res $? export_c_model_missing "rc $rc: $(cat "$TMP/err")"
"$LAMINA" export "$TMP/all.lmn" --format bogus --out "$TMP/m.c" >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 2 ] && grep -q "unknown format 'bogus' (accepted: c" "$TMP/err"; }
res $? export_unknown_format "rc $rc: $(cat "$TMP/err")"
"$LAMINA" export "$TMP/all.lmn" --out "$TMP/m.c" >/dev/null 2>"$TMP/err"; rc=$?
{ [ $rc -eq 2 ] && grep -q "format is required" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 1 ]; }
res $? export_format_required "rc $rc: $(cat "$TMP/err")"

# --- Fashion-MNIST slice: float and int8 MLP
D=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$D/train-images-idx3-ubyte.gz" ]; then
    echo "skip export_c_fashion_int8: $D not found"
    finish; exit
fi
be32() {
    printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))"
    printf "\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}
slice() {
    { printf '\000\000\010\003'; be32 "$3"; be32 28; be32 28
      gzip -dc "$1" | tail -c +17 | head -c $(($3 * 784)); } >"$4-images.idx"
    { printf '\000\000\010\001'; be32 "$3"
      gzip -dc "$2" | tail -c +9 | head -c "$3"; } >"$4-labels.idx"
}
slice "$D/train-images-idx3-ubyte.gz" "$D/train-labels-idx1-ubyte.gz" 6000 "$TMP/tr"
slice "$D/t10k-images-idx3-ubyte.gz" "$D/t10k-labels-idx1-ubyte.gz" 2000 "$TMP/te"
"$LAMINA" train --data "$TMP/tr-images.idx" --labels "$TMP/tr-labels.idx" --layers 64:relu,10:softmax \
    --optimizer adam --lr 0.002 --epochs 2 --batch 32 --threads 2 --quiet --out "$TMP/f.lmn" >/dev/null 2>&1
"$LAMINA" export "$TMP/f.lmn" --format c --int8 --out "$TMP/f8.c" --test "$TMP/te-images.idx" \
    --test-labels "$TMP/te-labels.idx" >"$TMP/f8.out" 2>"$TMP/err"; rc=$?
"$LAMINA" export "$TMP/f.lmn" --format c --out "$TMP/f32.c" >/dev/null 2>>"$TMP/err"
build f8; b8=$?
build f32; b32=$?
set -- $("$TMP/drv_f8" idx "$TMP/te-images.idx" "$TMP/te-labels.idx"); right8=$1
set -- $("$TMP/drv_f32" idx "$TMP/te-images.idx" "$TMP/te-labels.idx"); right32=$1
acc32=$(sed -n 's/^accuracy float: *//p' "$TMP/f8.out")
acc8=$(sed -n 's/^accuracy int8: *\([0-9.]*\).*/\1/p' "$TMP/f8.out")
echo "# fashion slice MLP 784-64-10: export measured float $acc32 int8 $acc8; compiled code float $right32/2000 int8 $right8/2000"
# The compiled code scores as the export measured (within 2 of 2000 rows:
# summation order can flip a near tie), and int8 stays within 1.5 points.
awk -v a32="$acc32" -v a8="$acc8" -v r32="$right32" -v r8="$right8" 'BEGIN {
    d32 = r32 - a32 * 2000; d8 = r8 - a8 * 2000
    exit !(a32 > 0.7 && d32 <= 2 && d32 >= -2 && d8 <= 2 && d8 >= -2 && a32 - a8 < 0.015) }'
res $? export_c_fashion_int8 "rc $rc build $b8/$b32: $(cat "$TMP/f8.out" "$TMP/err" | head -c 400)"
finish
