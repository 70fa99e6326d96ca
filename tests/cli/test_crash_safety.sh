#!/bin/sh
# test_crash_safety.sh - kill -9 during training, at random moments, many
# times: the model file on disk must always load, --resume must finish the
# run, and the finished model must be the one an uninterrupted run makes
# (checkpoints resume exactly). Then the same for Ctrl-C (SIGINT), where
# the CLI saves the training state itself. Run by tests/run.sh with $LAMINA set to
# the built CLI; prints "ok NAME" or "FAIL NAME: why".
#
# Temporary files: a model is written to MODEL.tmp.XXXXXX, fsynced and
# renamed over MODEL. A kill -9 between the create and the rename leaves
# that one temporary file behind (nothing can remove it); there must never
# be more than one per kill. The test removes it before the next round.
#
# Timing only decides where the kills land; what is checked holds for any
# kill moment. Rounds of two kills each go on until CRASH_HITS (default 20)
# kills have landed mid-run, at most CRASH_ROUNDS (default 30) rounds; the
# kill delays come from CRASH_SEED (default 1). A kill that finds its run
# already finished checks nothing, so it does not count, and it shrinks the
# run length the delays are drawn from: on a loaded machine a run's length
# varies, and a fixed share of missed kills made the count flaky. Needs a
# sleep that takes fractions of a second (GNU coreutils, busybox).
LAMINA=${LAMINA:-build/lamina}
HITS=${CRASH_HITS:-20}
ROUNDS=${CRASH_ROUNDS:-30}
SEED=${CRASH_SEED:-1}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lamina-crash.XXXXXX") || { echo "FAIL crash_safety: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

data=$tmp/train.csv
model=$tmp/model.lmn
# 2000 rows, 8 features, two classes; a few ms an epoch, a checkpoint
# every epoch, so the kills fall both inside epochs and inside writes.
awk 'BEGIN { srand(7); print "a,b,c,d,e,f,g,h,label";
    for (i = 0; i < 2000; i++) { s = 0; line = "";
        for (j = 0; j < 8; j++) { v = rand() * 2 - 1; s += v * (j + 1); line = line sprintf("%.4f,", v) }
        print line (s > 0 ? "pos" : "neg") } }' >"$data"

EPOCHS=200 # a fraction of a second a run
# exec: in a background job the shell function's subshell becomes lamina
# itself, so $! is lamina's pid and kill -9 reaches it.
train() { # extra args...
    exec "$LAMINA" train --data "$data" --layers 64:relu,32:relu --epochs $EPOCHS --batch 16 \
        --optimizer adam --seed 3 --threads 1 --checkpoint-every 1 --out "$model" --quiet "$@"
}

params_hash() {
    "$LAMINA" info --json "$1" 2>/dev/null | sed -n 's/.*"params_hash": *"\([0-9a-f]*\)".*/\1/p'
}

# Seconds to wait before kill number $1 in a run that has $2 seconds left:
# uniform over the first half of it, so the kill lands mid-run however fast
# this machine and this build are.
delay() {
    awk -v s="$SEED" -v k="$1" -v t="$2" 'BEGIN { srand(s * 1000 + k); printf "%.3f", rand() * 0.5 * t }'
}

# Epochs the training state in $1 covers (0 without one).
epochs_done() {
    n=$("$LAMINA" info --json "$1" 2>/dev/null | sed -n 's/.*"training_state": *{"epochs": *\([0-9]*\).*/\1/p')
    echo "${n:-0}"
}

# Starts a training run (args passed on; --resume MODEL continues the
# epochs MODEL's state covers), kills it with SIGKILL after delay $1 within
# the time it has left, and waits for it. A run that ended before its kill
# took less than the delay: the estimate $RUN_S shrinks so that the next
# delays fit, never below 20 ms.
run_and_kill() {
    k=$1
    shift
    left=$RUN_S
    if [ "${1:-}" = --resume ]; then
        left=$(awk -v t="$RUN_S" -v d="$(epochs_done "$2")" -v e=$EPOCHS 'BEGIN { printf "%.3f", t * (e - d) / e }')
    fi
    d=$(delay "$k" "$left")
    (train "$@") >/dev/null 2>&1 &
    pid=$!
    sleep "$d"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    if [ $rc -eq 137 ]; then # 128 + 9: the kill landed before the run ended
        interrupted=$((interrupted + 1))
    elif [ $rc -eq 0 ]; then
        # (a resume of a finished run has nothing left: no news about speed)
        RUN_S=$(awk -v t="$RUN_S" -v d="$d" -v l="$left" 'BEGIN { s = l > 0 ? t * d / l : t;
            if (s < 0.02) s = 0.02; printf "%.3f", s }')
        missed=$((missed + 1))
    else
        echo "FAIL crash_safety: kill $k: a run ($*) exited $rc before its kill"
        return 1
    fi
    return 0
}

# What a kill may leave: the model (loadable) and at most one temp file.
check_after_kill() { # round label
    temps=$(find "$tmp" -name 'model.lmn.*' | wc -l)
    if [ "$temps" -gt 1 ]; then
        echo "FAIL crash_safety: round $1 ($2): $temps temporary files left"
        return 1
    fi
    find "$tmp" -name 'model.lmn.*' -exec rm -f {} +
    if [ -e "$model" ] && ! "$LAMINA" info "$model" >/dev/null 2>"$tmp/err"; then
        echo "FAIL crash_safety: round $1 ($2): the model on disk does not load: $(cat "$tmp/err")"
        cp "$model" "${TMPDIR:-/tmp}/lamina-crash-broken.lmn" 2>/dev/null
        return 1
    fi
    return 0
}

# The reference: one uninterrupted run, timed.
t0=$(date +%s%N)
if ! (train) >/dev/null 2>"$tmp/err"; then
    echo "FAIL crash_safety_reference: an uninterrupted run failed: $(cat "$tmp/err")"
    exit 1
fi
RUN_S=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
want=$(params_hash "$model")
if [ -z "$want" ]; then
    echo "FAIL crash_safety_reference: no params_hash from lamina info --json"
    exit 1
fi
echo "ok crash_safety_reference"

fail=0
kills=0
interrupted=0
missed=0
resumed=0
r=1
while [ $interrupted -lt "$HITS" ] && [ $r -le "$ROUNDS" ]; do
    rm -f "$model"
    # a fresh run killed at a random moment
    run_and_kill $((2 * r)) || { fail=1; break; }
    kills=$((kills + 1))
    check_after_kill $r "fresh run" || { fail=1; break; }
    # then a resume (or a fresh start if nothing was saved yet) killed too
    if [ -e "$model" ]; then run_and_kill $((2 * r + 1)) --resume "$model"; else run_and_kill $((2 * r + 1)); fi ||
        { fail=1; break; }
    kills=$((kills + 1))
    check_after_kill $r "resumed run" || { fail=1; break; }
    # finish: resume to the end (or start over if still nothing saved)
    if [ -e "$model" ]; then
        (train --resume "$model") >/dev/null 2>"$tmp/err"
        rc=$?
        resumed=$((resumed + 1))
    else
        (train) >/dev/null 2>"$tmp/err"
        rc=$?
    fi
    if [ $rc -ne 0 ]; then
        echo "FAIL crash_safety: round $r: finishing the run exited $rc: $(cat "$tmp/err")"
        fail=1
        break
    fi
    got=$(params_hash "$model")
    if [ "$got" != "$want" ]; then
        echo "FAIL crash_safety: round $r: resumed model has params hash '$got', an uninterrupted run '$want'"
        fail=1
        break
    fi
    r=$((r + 1))
done
if [ $fail -eq 0 ] && [ $interrupted -lt "$HITS" ]; then
    echo "FAIL crash_safety_kill9: only $interrupted of $kills kills landed mid-run in $ROUNDS rounds (want at least $HITS)"
    fail=1
fi
[ $fail -eq 0 ] && echo "ok crash_safety_kill9 ($kills kills, $interrupted mid-run, $missed after the end, $resumed resumes from a checkpoint)"

# Ctrl-C: the CLI saves the training state and exits 130; resuming from it
# must also end where an uninterrupted run does. The signal is sent once
# the first checkpoint exists (so the handler is installed and training
# under way), a random fraction of a second later.
sigint_fail=0
sigint_hits=0
k=1
while [ $k -le 3 ] && [ $fail -eq 0 ]; do
    rm -f "$model"
    (train) >/dev/null 2>"$tmp/err" &
    pid=$!
    n=0
    while [ ! -e "$model" ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n + 1)); done
    # within 50 ms of the first checkpoint: a whole run takes a few
    # hundred ms, so the signal lands mid-run even on a fast machine
    sleep "$(awk -v s="$SEED" -v k="$k" 'BEGIN { srand(s * 1000 + 1000 + k); printf "%.3f", rand() * 0.05 }')"
    kill -INT "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    if [ $rc -ne 130 ] && [ $rc -ne 0 ]; then
        echo "FAIL crash_safety_sigint: exit $rc after SIGINT, want 130: $(cat "$tmp/err")"
        sigint_fail=1
        break
    fi
    [ $rc -eq 130 ] && sigint_hits=$((sigint_hits + 1))
    if ! "$LAMINA" info "$model" >/dev/null 2>"$tmp/err"; then
        echo "FAIL crash_safety_sigint: the model saved on SIGINT does not load: $(cat "$tmp/err")"
        sigint_fail=1
        break
    fi
    if ! (train --resume "$model") >/dev/null 2>"$tmp/err"; then
        echo "FAIL crash_safety_sigint: resuming after SIGINT failed: $(cat "$tmp/err")"
        sigint_fail=1
        break
    fi
    got=$(params_hash "$model")
    if [ "$got" != "$want" ]; then
        echo "FAIL crash_safety_sigint: resumed after a SIGINT: params hash '$got', an uninterrupted run '$want'"
        sigint_fail=1
        break
    fi
    k=$((k + 1))
done
if [ $fail -eq 0 ] && [ $sigint_fail -eq 0 ]; then
    if [ $sigint_hits -gt 0 ]; then echo "ok crash_safety_sigint ($sigint_hits interrupted runs)"
    else echo "FAIL crash_safety_sigint: every run ended before its SIGINT"; sigint_fail=1; fi
fi
[ $sigint_fail -ne 0 ] && fail=1

# Guards against a test that tests nothing (every run done before its kill).
if [ $fail -eq 0 ] && { [ "$resumed" -eq 0 ] || [ "$interrupted" -eq 0 ]; }; then
    echo "FAIL crash_safety_coverage: no kill interrupted a run after a checkpoint"
    fail=1
fi
exit $fail
