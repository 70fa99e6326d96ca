#!/bin/sh
# test_plateau.sh - lamina train --lr-schedule plateau and --lr-warmup: the
# lr of each epoch in --log (and on the progress line), the settings in
# the metadata, --resume reuses them and cuts at the same epochs as a run
# never interrupted (bit-identical), and bad values are usage errors.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
D=$FIX/iris.csv

# SGD at lr 3 with batch 8 overshoots: the train loss rises after epoch 2
# and 6, so patience 0 cuts the lr before the break at epoch 4 and after it
set -- --data "$D" --layers 8:relu --optimizer sgd --lr 3 --batch 8 --lr-schedule plateau \
    --lr-patience 0 --lr-factor 0.5 --quiet
"$L" train "$@" --epochs 10 --out "$TMP/full.lmn" --log "$TMP/full.csv" >/dev/null 2>"$TMP/err"; rc=$?
lrs=$(cut -d, -f7 "$TMP/full.csv" | tr '\n' ' ')
{ [ "$rc" -eq 0 ] && head -n 1 "$TMP/full.csv" | grep -q ',seconds,lr$' &&
  [ "$(sed -n 2p "$TMP/full.csv" | cut -d, -f7)" = 3 ] &&
  [ "$(sed -n 11p "$TMP/full.csv" | cut -d, -f7)" = 0.75 ]; }
res $? plateau_cuts_in_log "rc $rc ($(head -n 1 "$TMP/err")): lr $lrs"

"$L" info "$TMP/full.lmn" >"$TMP/info" 2>&1
{ grep -q 'lr-schedule  *plateau$' "$TMP/info" && grep -q 'lr-factor  *0.5$' "$TMP/info" &&
  grep -q 'lr-patience  *0$' "$TMP/info" && ! grep -q 'lr-warmup' "$TMP/info"; }
res $? plateau_metadata "$(grep 'lr' "$TMP/info" | tr '\n' ' ')"

# 4 epochs, then --resume to 10 with the recorded settings: the same bits
# and the same lr each epoch as the run never stopped
"$L" train "$@" --epochs 4 --out "$TMP/half.lmn" >/dev/null 2>&1
"$L" train --resume "$TMP/half.lmn" --epochs 10 --out "$TMP/res.lmn" --log "$TMP/res.csv" --quiet \
    >/dev/null 2>"$TMP/err"; rc=$?
h1=$("$L" info --json "$TMP/full.lmn" | jget params_hash)
h2=$("$L" info --json "$TMP/res.lmn" | jget params_hash)
a=$(sed -n '6,11p' "$TMP/full.csv" | cut -d, -f1,7 | tr '\n' ' ')
b=$(sed -n '2,7p' "$TMP/res.csv" | cut -d, -f1,7 | tr '\n' ' ')
{ [ "$rc" -eq 0 ] && [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ -n "$a" ] && [ "$a" = "$b" ] &&
  "$L" info "$TMP/res.lmn" | grep -q 'lr-patience  *0$'; }
res $? plateau_resume_bit_identical "rc $rc ($(head -n 1 "$TMP/err")), $h1 vs $h2; lr $a vs $b"

# the warmup: lr (e + 1) / (N + 1) at epoch e, on the progress line too;
# recorded, and reused by --resume
"$L" train --data "$D" --layers 4:tanh --lr 0.03 --lr-warmup 2 --epochs 4 --out "$TMP/w.lmn" \
    --log "$TMP/w.csv" >/dev/null 2>"$TMP/err"; rc=$?
w=$(cut -d, -f7 "$TMP/w.csv" | tr '\n' ' ')
{ [ "$rc" -eq 0 ] && [ "$w" = "lr 0.00999999978 0.0199999996 0.0299999993 0.0299999993 " ] &&
  grep -q 'epoch 1/4 .* lr 0.01 ' "$TMP/err" && "$L" info "$TMP/w.lmn" | grep -q 'lr-warmup  *2$' &&
  ! "$L" info "$TMP/w.lmn" | grep -q 'lr-factor'; }
res $? warmup_log_and_metadata "rc $rc: lr $w; $(grep 'epoch 1/' "$TMP/err")"

# bad values: usage errors (exit 2) naming the option and the range
bad() { # NAME WANT [args]
    name=$1 want=$2; shift 2
    "$L" train --data "$D" --layers 4 --epochs 1 --quiet "$@" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q -- "$want" "$TMP/err"; }; res $? "plateau_bad_$name" "rc $rc: $(cat "$TMP/err")"
}
bad factor_1 "--lr-factor '1': must be in (0, 1)" --lr-schedule plateau --lr-factor 1
bad factor_0 "--lr-factor '0': must be in (0, 1)" --lr-schedule plateau --lr-factor 0
bad patience "--lr-patience '-1': must be an integer in \[0, 1000000\]" --lr-schedule plateau --lr-patience -1
bad warmup "--lr-warmup '-1': must be an integer in \[0, 1000000\]" --lr-warmup -1
bad factor_alone "--lr-factor needs --lr-schedule plateau (the schedule is constant)" --lr-factor 0.5
bad patience_cosine "--lr-patience needs --lr-schedule plateau (the schedule is cosine)" \
    --lr-schedule cosine --lr-patience 2
bad rprop "a learning-rate schedule (plateau) would not change them" --optimizer rprop --lr-schedule plateau
bad rprop_warmup "a warmup (1 epoch) would not change them" --optimizer rprop --lr-warmup 1
"$L" train --help 2>&1 | grep -q -- '--lr-warmup N'; res $? plateau_help "no --lr-warmup in train --help"
finish
