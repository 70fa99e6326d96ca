#!/bin/sh
# test_numeric.sh - numeric faults end cleanly: a NaN in the data is
# refused where it stands (file:line:column, exit 3); a run that explodes
# stops with a message naming the epoch and batch and exits 5 (NaN/Inf in
# training); a checkpoint saved before the fault still loads and resumes.
# Run by tests/run.sh with $LAMINA set to the built CLI.
LAMINA=${LAMINA:-build/lamina}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lamina-numeric.XXXXXX") || { echo "FAIL numeric: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM
failed=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

# Regression data: y = 3 x1 - 2 x2 + 1 on [0, 10)^2.
awk 'BEGIN { srand(2); print "x1,x2,y";
    for (i = 0; i < 200; i++) { a = rand() * 10; b = rand() * 10; printf "%.3f,%.3f,%.3f\n", a, b, 3 * a - 2 * b + 1 } }' \
    >"$tmp/r.csv"

# --- a NaN in the data is refused by the reader, naming where it is
printf 'x1,x2,y\n1,2,3\n2,nan,4\n3,4,5\n' >"$tmp/nan.csv"
"$LAMINA" train --data "$tmp/nan.csv" --layers 4:relu --epochs 1 --quiet >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 3 ]; then fail nan_in_data "exit $rc, want 3: $(cat "$tmp/err")"
elif ! grep -q 'nan.csv:3:2' "$tmp/err"; then fail nan_in_data "message does not name nan.csv:3:2: $(cat "$tmp/err")"
else ok nan_in_data; fi

# --- an exploding run: exit 5, message names epoch and batch
"$LAMINA" train --data "$tmp/r.csv" --layers 16:relu --optimizer sgd --lr 1e6 --epochs 20 \
    --batch 32 --threads 1 --quiet >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 5 ]; then fail explode_exit_code "exit $rc, want 5: $(cat "$tmp/err")"
elif ! grep -Eq 'epoch [0-9]+, batch [0-9]+' "$tmp/err"; then
    fail explode_exit_code "message does not name epoch and batch: $(cat "$tmp/err")"
else ok explode_exit_code; fi

# --- a checkpoint from before the fault is left as it was, and resumes
m=$tmp/m.lmn
if ! "$LAMINA" train --data "$tmp/r.csv" --layers 16:relu --optimizer sgd --lr 0.001 --epochs 2 \
    --batch 32 --threads 1 --out "$m" --quiet >/dev/null 2>"$tmp/err"; then
    fail explode_keeps_checkpoint "the first 2 epochs failed: $(cat "$tmp/err")"
else
    cp "$m" "$tmp/before.lmn"
    "$LAMINA" train --data "$tmp/r.csv" --layers 16:relu --optimizer sgd --lr 1e6 --epochs 20 \
        --batch 32 --threads 1 --checkpoint-every 1 --out "$m" --resume "$m" --quiet \
        >/dev/null 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 5 ]; then fail explode_keeps_checkpoint "exit $rc, want 5: $(cat "$tmp/err")"
    elif ! "$LAMINA" info "$m" >/dev/null 2>"$tmp/err"; then
        fail explode_keeps_checkpoint "the checkpoint no longer loads: $(cat "$tmp/err")"
    elif ! cmp -s "$m" "$tmp/before.lmn"; then
        fail explode_keeps_checkpoint "the checkpoint changed although no epoch completed"
    elif ! "$LAMINA" train --data "$tmp/r.csv" --layers 16:relu --optimizer sgd --lr 0.001 \
        --epochs 4 --batch 32 --threads 1 --out "$m" --resume "$m" --quiet >/dev/null 2>"$tmp/err"; then
        fail explode_keeps_checkpoint "resuming after the fault failed: $(cat "$tmp/err")"
    else ok explode_keeps_checkpoint; fi
fi

# --- a run that overflows slowly (one batch an epoch, a checkpoint every
# epoch): every checkpoint it wrote must load. The loss can reach float
# infinity while still finite in double, and a step can make parameters
# non-finite; neither may reach a file.
m=$tmp/slow.lmn
"$LAMINA" train --data "$tmp/r.csv" --layers 16:relu --optimizer sgd --lr 100 --epochs 30 \
    --batch 200 --threads 1 --checkpoint-every 1 --out "$m" --quiet >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -ne 5 ]; then fail slow_overflow_checkpoints_load "exit $rc, want 5: $(cat "$tmp/err")"
elif ! grep -Eq 'epoch [0-9]+, batch [0-9]+' "$tmp/err"; then
    fail slow_overflow_checkpoints_load "message does not name epoch and batch: $(cat "$tmp/err")"
elif [ -e "$m" ] && ! "$LAMINA" info "$m" >/dev/null 2>"$tmp/info"; then
    fail slow_overflow_checkpoints_load "the last checkpoint does not load: $(cat "$tmp/info")"
else ok slow_overflow_checkpoints_load; fi

exit $failed
