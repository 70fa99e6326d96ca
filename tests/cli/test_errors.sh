#!/bin/sh
# test_errors.sh - every kind of bad input: the right exit code, one line
# on stderr naming the file (or the option), and no output file left.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
B=$FIX/blobs.csv
IN=$TMP/in
OUT=$TMP/out
mkdir -p "$IN" "$OUT"

# expect NAME CODE WORD ARGS...: runs lamina ARGS with outputs into $OUT;
# wants exit CODE, one stderr line containing WORD, and $OUT left empty.
expect() {
    name=$1; code=$2; word=$3; shift 3
    "$L" "$@" >"$TMP/stdout" 2>"$TMP/stderr"; rc=$?
    lines=$(wc -l <"$TMP/stderr")
    left=$(ls -A "$OUT")
    if [ "$rc" -ne "$code" ]; then
        fail "$name" "exit $rc, want $code: $(head -n 1 "$TMP/stderr")"
    elif [ "$lines" -ne 1 ]; then
        fail "$name" "$lines lines on stderr, want 1"
    elif ! grep -q '^lamina: ' "$TMP/stderr" || ! grep -q -- "$word" "$TMP/stderr"; then
        fail "$name" "message lacks '$word': $(cat "$TMP/stderr")"
    elif [ -n "$left" ]; then
        fail "$name" "left output behind: $left"
    else
        ok "$name"
    fi
    [ -n "$VERBOSE" ] && echo "   $(cat "$TMP/stderr")"
    rm -f "$OUT"/* "$OUT"/.[!.]* 2>/dev/null
}
outs() { echo --out "$OUT/m.lmn" --log "$OUT/log.csv" --plot "$OUT/p.svg"; }
# train_bad NAME CODE WORD DATA [ARGS...]: train with every output named.
train_bad() {
    name=$1; code=$2; word=$3; data=$4; shift 4
    # shellcheck disable=SC2046
    expect "$name" "$code" "$word" train --data "$data" --layers 4 $(outs) "$@"
}

# ------------------------------------------------------------- CSV data
printf '' >"$IN/empty.csv"
printf 'a,b,c\n1,2,x\n3,4\n' >"$IN/ragged.csv"
printf 'a,b,c\n1,abc,x\n3,4,y\n' >"$IN/nonnum.csv"
printf 'a,b,c\n1,nan,x\n3,4,y\n' >"$IN/nan.csv"
printf 'a,b,c\n1,1e39,x\n3,4,y\n' >"$IN/huge.csv"
printf 'a,b,c\n1,2,x\n3,4,x\n' >"$IN/oneclass.csv"
head -c 4096 /dev/urandom >"$IN/random.bin"
train_bad missing_file 3 nosuch.csv "$IN/nosuch.csv"
train_bad empty_file 3 empty.csv "$IN/empty.csv"
train_bad ragged_row 3 'ragged.csv:3' "$IN/ragged.csv"
train_bad non_number 3 'nonnum.csv:2' "$IN/nonnum.csv"
train_bad nan_value 3 'nan.csv:2' "$IN/nan.csv"
train_bad value_1e39 3 'huge.csv:2' "$IN/huge.csv"
train_bad random_bytes 3 random.bin "$IN/random.bin"
train_bad one_class 3 oneclass.csv "$IN/oneclass.csv"
# a class name longer than a model file holds (1 MiB): the data's fault
{ printf 'a,b,c\n1,2,x\n3,4,'; head -c 1100000 /dev/zero | tr '\0' y; printf '\n'; } >"$IN/longclass.csv"
train_bad class_name_too_long 3 'longclass.csv.*class name' "$IN/longclass.csv"

# ------------------------------------------------------------- IDX data
# 2 images of 1x2 bytes; labels for 3; a wrong magic; overflowing dims;
# a data section shorter than the dims claim.
printf '\000\000\010\003\000\000\000\002\000\000\000\001\000\000\000\002abcd' >"$IN/img2.idx"
printf '\000\000\010\001\000\000\000\002\000\001' >"$IN/lab2.idx"
printf '\000\000\010\001\000\000\000\003\000\001\002' >"$IN/lab3.idx"
printf '\000\000\007\003\000\000\000\002\000\000\000\001\000\000\000\002abcd' >"$IN/magic.idx"
printf '\000\000\010\003\377\377\377\377\377\377\377\377\377\377\377\377' >"$IN/overflow.idx"
printf '\000\000\010\003\000\000\000\011\000\000\000\001\000\000\000\002abcd' >"$IN/short.idx"
printf '\000\000\010\001\000\000\000\011\000\001\002\000\001\002\000\001\002' >"$IN/lab9.idx"
train_bad idx_labels_mismatch 3 lab3.idx "$IN/img2.idx" --labels "$IN/lab3.idx"
train_bad idx_wrong_magic 3 magic.idx "$IN/magic.idx" --labels "$IN/lab2.idx"
train_bad idx_overflowing_dims 3 overflow.idx "$IN/overflow.idx" --labels "$IN/lab2.idx"
train_bad idx_count_mismatch 3 short.idx "$IN/short.idx" --labels "$IN/lab9.idx"
train_bad idx_needs_labels 2 labels "$IN/img2.idx"
# a data file that is not there, with --labels: missing (3), not "a CSV file"
train_bad idx_missing_gz 3 'nosuch.idx3.gz: cannot open' "$IN/nosuch.idx3.gz" --labels "$IN/lab2.idx"
# a label beyond the model's classes: the labels file is named, not the images
printf '\000\000\010\001\000\000\000\002\000\005' >"$IN/lab2_oor.idx"
"$L" train --data "$IN/img2.idx" --labels "$IN/lab2.idx" --layers 4 --epochs 1 --out "$IN/idx.lmn" --quiet \
    >/dev/null 2>&1
expect idx_label_out_of_range 3 'lab2_oor.idx: row 2: class 5' eval "$IN/idx.lmn" --data "$IN/img2.idx" \
    --labels "$IN/lab2_oor.idx"
expect predict_id_on_idx 2 'id' predict "$IN/idx.lmn" --data "$IN/img2.idx" --id 0
if command -v gzip >/dev/null 2>&1; then
    # 4000 images of 1x2 random bytes, cut off halfway through the stream.
    { printf '\000\000\010\003\000\000\017\240\000\000\000\001\000\000\000\002'
      head -c 8000 /dev/urandom; } | gzip -c >"$IN/z.gz"
    head -c 4000 "$IN/z.gz" >"$IN/trunc.idx.gz"
    { printf '\000\000\010\001\000\000\017\240'; head -c 4000 /dev/zero; } >"$IN/lab4000.idx"
    gzip -c <"$IN/lab2.idx" >"$IN/corrupt.idx.gz"
    # Flip bytes in the deflate stream (after the 10-byte header).
    printf 'XXXXXX' | dd of="$IN/corrupt.idx.gz" bs=1 seek=10 conv=notrunc 2>/dev/null
    train_bad gzip_truncated 3 'trunc.idx.gz.*truncated' "$IN/trunc.idx.gz" --labels "$IN/lab4000.idx"
    train_bad gzip_corrupt 3 corrupt.idx.gz "$IN/img2.idx" --labels "$IN/corrupt.idx.gz"
fi

# ------------------------------------------------------ options and specs
expect bad_layer_name 2 bogus train --data "$B" --layers 4:bogus $(outs)
expect bad_layer_syntax 2 layers train --data "$B" --layers 4,,3 $(outs)
expect absurd_layer_size 2 99999999 train --data "$B" --layers 99999999 $(outs)
expect zero_width 2 layers train --data "$B" --layers 0 $(outs)
expect output_width_mismatch 2 '3 classes' train --data "$B" --layers 4,5:softmax $(outs)
# The layer it suggests is one the loss takes: identity would be refused
# next by cross-entropy, so softmax (and 3:softmax then trains).
expect output_width_suggestion 2 'make the last layer 3:softmax' train --data "$B" --layers 4,5:identity $(outs)
expect unknown_flag 2 frob train --data "$B" --layers 4 --frob $(outs)
# a near miss names the option meant: a prefix, a stem, a typo
expect unknown_flag_prefix 2 "'--epoch'; did you mean --epochs?" train --data "$B" --layers 4 --epoch 3 $(outs)
expect unknown_flag_stem 2 "did you mean --batch?" train --data "$B" --layers 4 --batchsize 8 $(outs)
expect unknown_flag_typo 2 "did you mean --optimizer?" train --data "$B" --layers 4 --optimiser sgd $(outs)
expect unknown_flag_swap 2 "did you mean --epochs?" train --data "$B" --layers 4 --epcohs 3 $(outs)
expect unknown_flag_far 2 "unknown option '--frobnicate' (see" train --data "$B" --layers 4 --frobnicate $(outs)
# a mistyped command names the one meant, as a mistyped option does
expect unknown_command_typo 2 "unknown command 'trian'; did you mean train?" trian --data "$B"
expect unknown_command_help_typo 2 "help: unknown command 'predcit'; did you mean predict?" help predcit
expect unknown_command_far 2 "unknown command 'frobnicate' (see lamina --help)" frobnicate
# the data file given without --data
expect data_without_flag 2 "did you mean --data $B?" predict "$IN/idx.lmn" "$B"
expect epochs_negative 2 epochs train --data "$B" --layers 4 --epochs -1 $(outs)
expect epochs_1e99 2 epochs train --data "$B" --layers 4 --epochs 1e99 $(outs)
expect lr_nan 2 lr train --data "$B" --layers 4 --lr nan $(outs)
expect lr_trailing_garbage 2 lr train --data "$B" --layers 4 --lr 0.1x $(outs)
expect batch_zero 2 batch train --data "$B" --layers 4 --batch 0 $(outs)
expect val_one 2 val train --data "$B" --layers 4 --val 1 $(outs)
expect loss_unknown 2 loss train --data "$B" --layers 4 --loss hinge $(outs)
expect ce_on_numbers 2 'ce' train --data "$FIX/regress.csv" --layers 4 --loss ce $(outs)
expect missing_data_flag 2 data train --layers 4 $(outs)
expect missing_value 2 epochs train --data "$B" --layers 4 --epochs
expect output_dir_missing 1 nodir train --data "$B" --layers 4 --out "$OUT/nodir/m.lmn"
expect demo_bad_seed 2 seed demo --seed -3

# ---------------------------------------------------------- model files
echo "not a model" >"$IN/notmodel.lmn"
head -c 64 /dev/urandom >"$IN/random.lmn"
expect eval_not_a_model 4 notmodel.lmn eval "$IN/notmodel.lmn" --data "$B"
expect predict_not_a_model 4 notmodel.lmn predict "$IN/notmodel.lmn" --data "$B"
expect info_random_model 4 random.lmn info "$IN/random.lmn"
expect info_missing_model 4 nosuch.lmn info "$IN/nosuch.lmn"
expect resume_not_a_model 4 notmodel.lmn train --data "$B" --resume "$IN/notmodel.lmn" $(outs)
"$L" train --data "$B" --layers 4 --epochs 1 --out "$IN/good.lmn" --quiet >/dev/null 2>&1
head -c 100 "$IN/good.lmn" >"$IN/truncated.lmn"
expect truncated_model 4 truncated.lmn info "$IN/truncated.lmn"
printf '1,2,3,4,5\n6,7,8,9,10\n' >"$IN/five.csv"
expect predict_wrong_width 3 five.csv predict "$IN/good.lmn" --data "$IN/five.csv"
expect eval_wrong_width 3 regress.csv eval "$IN/good.lmn" --data "$FIX/regress.csv"
expect resume_other_data 3 regress.csv train --data "$FIX/regress.csv" --resume "$IN/good.lmn" $(outs)

# ------------------------------------------------------- stdout on a full disk
# The report is what eval, info and train's summary are for: a write to a
# full stdout loses it, which is an error (exit 1, one line), never exit 0.
if [ -w /dev/full ]; then
    for c in eval info train version; do
        case $c in
        eval) set -- eval "$IN/good.lmn" --data "$B" ;;
        info) set -- info "$IN/good.lmn" ;;
        train) set -- train --data "$B" --layers 4 --epochs 1 --quiet ;;
        version) set -- --version ;;
        esac
        "$L" "$@" >/dev/full 2>"$TMP/stderr"; rc=$?
        { [ "$rc" -eq 1 ] && [ "$(wc -l <"$TMP/stderr")" -eq 1 ] &&
            grep -q '^lamina: stdout: cannot write' "$TMP/stderr"; }
        res $? "stdout_full_$c" "exit $rc: $(cat "$TMP/stderr")"
    done
fi

finish
