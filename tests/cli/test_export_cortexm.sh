#!/bin/sh
# test_export_cortexm.sh - the code `lamina export --format c` writes
# compiles for a 32-bit ARM Cortex-M4 (issue 17's last bullet) with
# Debian's gcc-arm-none-eabi (-mcpu=cortex-m4 -mthumb -mfloat-abi=hard,
# C99, -Wall -Wextra -Werror -pedantic), float and int8, and links into a
# bare-metal program (newlib's nosys stubs). Prints the flash and RAM
# sizes arm-none-eabi-size reports for the Fashion-MNIST MLP 784-256-128-10
# (the sizes depend on the shapes alone, so the net is trained for one
# epoch on synthetic rows) and checks int8 takes under a third of the
# float flash. Skips without the cross compiler or newlib (not installed
# by CI: about 97 MB to download, 800 MB installed).
. "$(dirname "$0")/fixtures/lib.sh"

CROSS=${CROSS_CC:-arm-none-eabi-gcc}
SIZE=${CROSS%gcc}size
if ! command -v "$CROSS" >/dev/null 2>&1 || ! command -v "$SIZE" >/dev/null 2>&1; then
    echo "skip export_cortexm: no $CROSS (Debian gcc-arm-none-eabi, libnewlib-arm-none-eabi)"
    exit 0
fi
ARCH="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
if ! echo '#include <math.h>' | "$CROSS" $ARCH -x c -c -o /dev/null - 2>/dev/null; then
    echo "skip export_cortexm: $CROSS has no C library headers (install libnewlib-arm-none-eabi)"
    exit 0
fi

# 20 synthetic 28x28 rows, 10 classes: the Fashion MLP's shapes
awk 'BEGIN { srand(9); for (r = 0; r < 20; r++) { for (j = 0; j < 784; j++) printf "%d,", int(rand() * 256);
    print "c" r % 10 } }' >"$TMP/f.csv"
"$LAMINA" train --data "$TMP/f.csv" --layers 256:relu,128:relu,10:softmax --epochs 1 --quiet \
    --out "$TMP/fm.lmn" >/dev/null 2>"$TMP/err" || { fail export_cortexm "train: $(cat "$TMP/err")"; finish; exit; }

for v in float int8; do
    flag=; [ $v = int8 ] && flag=--int8
    name=fm_$v
    "$LAMINA" export "$TMP/fm.lmn" --format c $flag --out "$TMP/$name.c" >/dev/null 2>"$TMP/err"
    up=$(echo $name | tr a-z A-Z)
    cat >"$TMP/main_$v.c" <<EOC
#include "$name.h"
static float ws[${up}_WORKSPACE_FLOATS], x[${up}_N_IN], y[${up}_N_OUT];
int main(void)
{
    ${name}_predict_ws(x, y, ws);
    return y[0] > 0.5f;
}
EOC
    (cd "$TMP" && "$CROSS" $ARCH -std=c99 -pedantic -Wall -Wextra -Werror -O2 -c "$name.c" -o "$name.o" \
        2>"$name.err" &&
        "$CROSS" $ARCH -std=c99 -O2 --specs=nosys.specs "main_$v.c" "$name.o" -o "$name.elf" -lm \
        2>>"$name.err"); rc=$?
    { [ $rc -eq 0 ] && [ -s "$TMP/$name.elf" ]; }
    res $? export_cortexm_$v "rc $rc: $(head -c 600 "$TMP/$name.err")"
    [ $rc -eq 0 ] || continue
    # text = flash (code and the const weights), data + bss = static RAM
    "$SIZE" "$TMP/$name.o" | tail -n 1 >"$TMP/$v.osize"
    "$SIZE" "$TMP/$name.elf" | tail -n 1 >"$TMP/$v.esize"
    set -- $(cat "$TMP/$v.osize"); eval "text_$v=$1"
    set -- $(cat "$TMP/$v.esize")
    echo "# cortex-m4 $v: model object text $(eval echo \$text_$v) B (flash); linked program text $1 data $2 bss $3 B (bss = the ${up}_WORKSPACE_FLOATS workspace and x, y)"
done
if [ -n "${text_float:-}" ] && [ -n "${text_int8:-}" ]; then
    [ "$((text_int8 * 3))" -lt "$text_float" ]
    res $? export_cortexm_int8_smaller "int8 flash $text_int8 B, float $text_float B"
fi
finish
