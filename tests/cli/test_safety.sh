#!/bin/sh
# test_safety.sh - files a person already has are never destroyed, and
# results say what they are: interrupts (SIGINT, SIGTERM) never replace an
# existing --out, outputs equal to inputs are refused before training,
# output paths are checked first, --out through a symbolic link keeps the
# link, early stopping reports the epoch it kept, --resume reuses the
# recorded paths, a failed write (a file size limit for a full disk) says
# what the files still hold, info --json gives numbers and the training state.
. "$(dirname "$0")/fixtures/lib.sh"
L=$LAMINA
B=$FIX/blobs.csv
cd "$TMP" || exit 1
cp "$B" d.csv

# A run whose first epoch takes seconds (batch 1, wide layers, one
# thread: 5 s or more), so a signal sent 0.7 s in lands inside epoch 1.
awk 'BEGIN { srand(3); print "a,b,c,d,cls"
    for (i = 0; i < 20000; i++) { c = i % 3; printf "%.4f,%.4f,%.4f,%.4f,k%d\n", rand() + c, rand(), rand(), rand() - c, c } }' >big.csv
slow() { exec "$L" train --data big.csv --layers 512:relu,512:relu --batch 1 --epochs 3 --threads 1 --quiet "$@"; }

# ------------------------------------------- interrupts in the first epoch
for sig in INT TERM; do
    want=130; [ $sig = TERM ] && want=143
    rm -f keep.lmn keep.lmn.partial
    "$L" train --data d.csv --layers 8 --epochs 5 --out keep.lmn --quiet >/dev/null 2>&1
    cp keep.lmn keep.copy
    (slow --out keep.lmn) >/dev/null 2>sig.err &
    pid=$!
    sleep 0.7
    kill -$sig $pid
    wait $pid; rc=$?
    [ "$rc" -eq $want ]; res $? "sig${sig}_exit_$want" "exit $rc: $(cat sig.err)"
    grep -q 'after 0 complete epochs' sig.err
    res $? "sig${sig}_in_first_epoch" "the signal did not land in epoch 1: $(cat sig.err)"
    cmp -s keep.lmn keep.copy; res $? "sig${sig}_out_untouched" "the existing --out changed"
    grep -q 'keep.lmn.partial' sig.err; res $? "sig${sig}_says_where" "stderr does not name keep.lmn.partial: $(cat sig.err)"
    "$L" info keep.lmn.partial >info.txt 2>&1
    grep -q 'UNTRAINED' info.txt; res $? "sig${sig}_info_untrained" "info does not say untrained: $(grep training: info.txt)"
done
"$L" eval keep.lmn.partial --data big.csv >/dev/null 2>eval.err
grep -q 'warning: keep.lmn.partial holds an untrained state' eval.err; res $? eval_warns_untrained "$(cat eval.err)"
"$L" predict keep.lmn.partial --data big.csv >/dev/null 2>pred.err
grep -q 'warning:.*untrained' pred.err; res $? predict_warns_untrained "$(cat pred.err)"
"$L" eval keep.lmn --data d.csv >/dev/null 2>eval.err
! grep -q 'warning' eval.err; res $? eval_no_warning_trained "$(cat eval.err)"

# A later interruption never replaces an existing --out either: with
# checkpoints every epoch, they go to OUT.partial; finishing the resumed
# run replaces OUT and removes OUT.partial.
awk 'BEGIN { srand(5); print "a,b,c,d,cls"
    for (i = 0; i < 4000; i++) { c = i % 3; printf "%.4f,%.4f,%.4f,%.4f,k%d\n", rand() + c, rand(), rand(), rand() - c, c } }' >mid.csv
# (also when --checkpoint names the --out file itself)
for extra in "" "--checkpoint ./keep.lmn"; do
    rm -f keep.lmn.partial
    cp keep.copy keep.lmn
    "$L" train --data mid.csv --layers 256:relu,256:relu --batch 1 --epochs 50 --threads 1 --checkpoint-every 1 \
        --out keep.lmn $extra --quiet >/dev/null 2>mid.err &
    pid=$!
    n=0
    # (up to a minute: a sanitizer build takes seconds for the first epoch)
    while [ ! -e keep.lmn.partial ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done
    sleep 0.3
    kill -INT $pid
    wait $pid; rc=$?
    { [ "$rc" -eq 130 ] && cmp -s keep.lmn keep.copy; }
    res $? "later_interrupt_keeps_out${extra:+_checkpoint_same}" "exit $rc or keep.lmn changed: $(cat mid.err)"
done
"$L" info keep.lmn.partial 2>&1 | grep -q 'PARTLY TRAINED: [1-9][0-9]* of 50'; res $? partial_info_says_partly "$("$L" info keep.lmn.partial 2>&1 | grep training:)"
"$L" train --resume keep.lmn.partial --epochs 3 --quiet >/dev/null 2>res.err; rc=$?
{ [ "$rc" -eq 0 ] && [ ! -e keep.lmn.partial ] && ! cmp -s keep.lmn keep.copy; }
res $? resume_partial_finishes_out "exit $rc ($(cat res.err)); keep.lmn.partial should be gone and keep.lmn replaced"
# (--epochs 3 is below the epochs done: nothing to train, but the file is finished)
# A stop inside a later epoch with no checkpoint keeps that epoch's steps so
# far: info says so (once "after 1 epoch (5546 steps)", which no epoch
# count gives), and the steps of the run that resumes it include them
rm -f midst.lmn
"$L" train --data mid.csv --layers 256:relu,256:relu --batch 1 --epochs 50 --threads 1 --out midst.lmn \
    >/dev/null 2>midst.err &
pid=$!
n=0
while ! grep -q '^epoch 1/' midst.err && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done
sleep 0.2
kill -INT $pid
wait $pid; rc=$?
if grep -q 'saved the state from the middle of it' midst.err; then
    line=$(COLUMNS=500 "$L" info midst.lmn | grep '^training:' | tr -s ' \n' ' ')
    e=$(echo "$line" | sed -n 's/.*after \([0-9]*\) epochs\{0,1\} and \([0-9]*\) steps\{0,1\} of epoch \([0-9]*\) (\([0-9]*\) steps in all.*/\1 \2 \3 \4/p')
    set -- $e
    { [ "$rc" -eq 130 ] && [ $# -eq 4 ] && [ "$3" -eq $(($1 + 1)) ] && [ "$4" -eq $(($1 * 4000 + $2)) ]; }
    res $? info_mid_epoch_steps "rc $rc, info: $line; $(cat midst.err | tail -1)"
    "$L" train --resume midst.lmn --epochs $(($1 + 1)) --quiet >/dev/null 2>&1
    line2=$(COLUMNS=500 "$L" info midst.lmn | grep '^training:' | tr -s ' \n' ' ')
    echo "$line2" | grep -q "after $(($1 + 1)) epochs\{0,1\} ($(($1 * 4000 + $2 + 4000)) steps)"
    res $? info_mid_epoch_resumed "info after the resume: $line2"
else
    echo "skip info_mid_epoch_steps: the stop did not land inside an epoch: $(tail -1 midst.err)"
fi

# --------------------------------------- outputs equal to inputs: refused
ln d.csv hard.csv
ln -s d.csv soft.csv
cp d.csv t.csv
cp d.csv dsave.csv
refuse() { # name expected-options... -- args
    name=$1; o1=$2; o2=$3; shift 3
    "$L" train --layers 8 --epochs 50 "$@" >/dev/null 2>ref.err; rc=$?
    { [ "$rc" -eq 2 ] && grep -q -- "--$o1" ref.err && grep -q -- "--$o2" ref.err && cmp -s d.csv dsave.csv &&
        ! grep -q 'epoch 1' ref.err; }
    res $? "refuse_$name" "exit $rc, want 2 naming --$o1 and --$o2, before training: $(cat ref.err)"
}
refuse out_data out data --data d.csv --out ./d.csv
refuse log_data_hardlink log data --data d.csv --log hard.csv
refuse checkpoint_data_symlink checkpoint data --data soft.csv --checkpoint d.csv
refuse out_test out test --data d.csv --test t.csv --out t.csv
refuse log_out log out --data d.csv --out m.lmn --log ./m.lmn
refuse plot_checkpoint plot checkpoint --data d.csv --checkpoint c.lmn --plot c.lmn
refuse log_plot log plot --data d.csv --log x.csv --plot "$TMP/x.csv"
cmp -s t.csv d.csv; res $? refuse_test_intact "the test file changed"

# ------------------------------ every output path checked before epoch 1
mkdir folder
check_first() { # name args...
    name=$1; shift
    "$L" train --data d.csv --layers 8 --epochs 50 "$@" >/dev/null 2>chk.err; rc=$?
    { [ "$rc" -eq 1 ] && ! grep -q 'epoch' chk.err; }; res $? "outputs_checked_$name" "exit $rc, want 1 before training: $(cat chk.err)"
}
check_first out_folder --out folder
check_first log_no_folder --out m.lmn --log nowhere/log.csv
check_first plot_folder --plot folder/
check_first checkpoint_no_folder --checkpoint nowhere/c.lmn
[ ! -e m.lmn ]; res $? outputs_checked_nothing_written "m.lmn was written although --log was refused"
# An open descriptor (/dev/stdout, /dev/fd/N) is refused first too, whether
# it points at a pipe or at a file the shell opened (a rename over that
# file would take it from under the shell's redirection, losing stdout).
desc_first() { # name (of the run just made: $rc, chk.err)
    name=$1
    { [ "$rc" -eq 1 ] && ! grep -q 'epoch' chk.err && grep -q 'descriptor' chk.err; }
    res $? "outputs_checked_$name" "exit $rc, want 1 before training: $(cat chk.err)"
}
echo kept >so.txt
"$L" train --data d.csv --layers 8 --epochs 50 --log /dev/stdout >>so.txt 2>chk.err; rc=$?
desc_first log_stdout_file
[ "$(cat so.txt)" = kept ]; res $? outputs_checked_stdout_file_kept "stdout's file became: $(head -c 200 so.txt)"
{ "$L" train --data d.csv --layers 8 --epochs 50 --plot /dev/fd/1 2>chk.err; echo $? >rc.txt; } | cat >/dev/null
rc=$(cat rc.txt)
desc_first plot_fd_pipe
"$L" train --data d.csv --layers 8 --epochs 50 --out /dev/fd/3 3>>so.txt >/dev/null 2>chk.err; rc=$?
desc_first out_fd3_file

# --out on a symbolic link writes through to the target, keeping the link
"$L" train --data d.csv --layers 8 --epochs 2 --out real.lmn --quiet >/dev/null 2>&1
cp real.lmn real.copy
ln -s real.lmn link.lmn
"$L" train --data d.csv --layers 8 --epochs 4 --out link.lmn --log loglink.csv --quiet >/dev/null 2>&1; rc=$?
{ [ "$rc" -eq 0 ] && [ -L link.lmn ] && ! cmp -s real.lmn real.copy && "$L" info real.lmn >/dev/null 2>&1; }
res $? out_symlink_writes_through "exit $rc; link.lmn should stay a link and real.lmn be replaced"

# ------------------------------------ early stopping names the kept epoch
"$L" train --data d.csv --layers 8 --epochs 200 --val 0.25 --early-stop 3 --lr 0.05 --seed 2 \
    --log es.csv --out es.lmn --quiet --json >es.json 2>&1; rc=$?
kept=$(jget epochs <es.json)
run=$(jget epochs_run <es.json)
vl=$(jget val_loss <es.json)
# the log's lowest val loss and its epoch
best=$(awk -F, 'NR > 1 && (b == "" || $4 + 0 < b + 0) { b = $4; e = $1 } END { print e, b }' es.csv)
{ [ "$rc" -eq 0 ] && [ -n "$run" ] && [ "$run" -lt 200 ] && [ "$((run - kept))" -eq 3 ] &&
    [ "$(echo "$best" | cut -d' ' -f1)" = "$kept" ] &&
    awk -v a="$vl" -v b="$(echo "$best" | cut -d' ' -f2)" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }'; }
res $? early_stop_json_kept_epoch "rc $rc: epochs $kept, epochs_run $run, val_loss $vl; log's best: $best"
"$L" info --json es.lmn >es_info.json
m_ep=$(sed 's/.*"meta": {//' es_info.json | jget epochs)
[ "$m_ep" = "$kept" ]; res $? early_stop_meta_kept_epoch "metadata epochs $m_ep, kept $kept"
"$L" train --data d.csv --layers 8 --epochs 200 --val 0.25 --early-stop 3 --lr 0.05 --seed 2 >es.txt 2>&1
grep -q "kept epoch $kept" es.txt; res $? early_stop_summary_kept_epoch "$(grep trained es.txt)"

# ---------------------------------------------- --resume reuses the paths
mkdir run other
cp d.csv run/d.csv
(cd run && "$L" train --data d.csv --test d.csv --layers 8 --epochs 2 --out m.lmn --quiet >/dev/null 2>&1)
(cd other && "$L" train --resume ../run/m.lmn --epochs 4 --quiet --json >r.json 2>r.err); rc=$?
ep=$("$L" info --json run/m.lmn | sed 's/.*"meta": {//' | jget epochs)
{ [ "$rc" -eq 0 ] && [ "$ep" = 4 ] && grep -q '"test_accuracy": [0-9]' other/r.json; }
res $? resume_reuses_paths "rc $rc, epochs in run/m.lmn $ep: $(cat other/r.err)"
# "continue with --resume FILE", as an interrupt says, continues the run to
# the epochs it planned: a checkpoint after 36 of 40 epochs (past the
# default 10) is trained to 40, bit-identical to the uninterrupted run,
# not declared finished at 36 over the --out file.
"$L" train --data d.csv --layers 8 --epochs 40 --checkpoint-every 12 --checkpoint ck36.lmn \
    --out full40.lmn --threads 1 --quiet >/dev/null 2>&1
cp es.lmn keep40.lmn
"$L" train --resume ck36.lmn --out keep40.lmn --threads 1 --quiet >/dev/null 2>r40.err; rc=$?
h_full=$("$L" info --json full40.lmn | jget params_hash)
h_res=$("$L" info --json keep40.lmn | jget params_hash)
ep=$("$L" info --json keep40.lmn | sed 's/.*"meta": {//' | jget epochs)
{ [ "$rc" -eq 0 ] && [ "$ep" = 40 ] && [ -n "$h_full" ] && [ "$h_res" = "$h_full" ]; }
res $? resume_without_epochs_finishes_planned "exit $rc ($(cat r40.err)): epochs $ep, params $h_res, uninterrupted $h_full"
# ... and keeps checkpointing as it did: the checkpoint file moves on
"$L" train --data d.csv --layers 8 --epochs 4 --checkpoint-every 1 --checkpoint ck_every.lmn \
    --out ce_out.lmn --quiet >/dev/null 2>&1
"$L" train --resume ck_every.lmn --epochs 6 --quiet >/dev/null 2>ce.err; rc=$?
ep=$("$L" info --json ck_every.lmn | sed 's/.*"meta": {//' | jget epochs)
{ [ "$rc" -eq 0 ] && [ "$ep" = 6 ]; }
res $? resume_keeps_checkpoint_every "exit $rc ($(cat ce.err)): the checkpoint holds epoch $ep, want 6"
# a model that records no output path (metadata stripped), none given
if python3 -c 'import zlib' 2>/dev/null; then
    python3 - run/m.lmn nometa.lmn <<'PY'
import struct, sys, zlib
b = open(sys.argv[1], 'rb').read()
ver, nsec = struct.unpack_from('<II', b, 8)
off, out = 16, []
for _ in range(nsec):
    tag, flags, n = struct.unpack_from('<IIQ', b, off)
    if b[off:off + 4] != b'META':
        out.append(b[off:off + 16 + n])
    off += 16 + n
body = b[:8] + struct.pack('<II', ver, len(out)) + b''.join(out)
open(sys.argv[2], 'wb').write(body + struct.pack('<I', zlib.crc32(body) & 0xffffffff))
PY
    "$L" train --data d.csv --resume nometa.lmn --epochs 6 --quiet >/dev/null 2>nm.err; rc=$?
    { [ "$rc" -eq 2 ] && grep -q -- '--out' nm.err; }; res $? resume_without_output_refused "exit $rc: $(cat nm.err)"
else
    echo "skip resume_without_output_refused: python3 is needed to strip a model's metadata"
fi

# -------------------------- a write that fails says what the files still hold
# A file size limit (with SIGXFSZ ignored, writes fail with EFBIG) stands
# in for a full disk: every model write of the run fails, the files from
# before stay, and the one-line error says which hold what.
"$L" train --data d.csv --layers 8 --epochs 2 --checkpoint-every 1 --checkpoint wf_ck.lmn \
    --out wf_out.lmn --quiet >/dev/null 2>&1
cp wf_out.lmn wf_out.copy
cp wf_ck.lmn wf_ck.copy
(trap '' XFSZ; ulimit -f 1; exec "$L" train --data d.csv --layers 8 --epochs 2 --out wf_out.lmn --quiet) \
    >/dev/null 2>wf.err; rc=$?
{ [ "$rc" -eq 1 ] && cmp -s wf_out.lmn wf_out.copy && grep -q 'wf_out.lmn is left as it was' wf.err &&
    [ "$(wc -l <wf.err)" -eq 1 ]; }
res $? write_fails_out_left_as_it_was "exit $rc: $(cat wf.err)"
(trap '' XFSZ; ulimit -f 1; exec "$L" train --resume wf_ck.lmn --epochs 4 --checkpoint-every 0 --quiet) \
    >/dev/null 2>wf.err; rc=$?
{ [ "$rc" -eq 1 ] && cmp -s wf_out.lmn wf_out.copy && cmp -s wf_ck.lmn wf_ck.copy &&
    grep -q 'wf_ck.lmn holds the training state after 2 epochs (continue with --resume .*wf_ck.lmn)' wf.err &&
    grep -q 'wf_out.lmn is left as it was' wf.err; }
res $? write_fails_names_checkpoint "exit $rc: $(cat wf.err)"
rm -f wf_new.lmn
(trap '' XFSZ; ulimit -f 1; exec "$L" train --data d.csv --layers 8 --epochs 2 --checkpoint-every 1 --out wf_new.lmn \
    --quiet) >/dev/null 2>wf.err; rc=$?
{ [ "$rc" -eq 1 ] && [ ! -e wf_new.lmn ] && grep -q 'nothing was saved' wf.err; }
res $? write_fails_nothing_saved "exit $rc: $(cat wf.err)"
(trap '' XFSZ; ulimit -f 1; exec "$L" train --data d.csv --layers 8 --epochs 2 --checkpoint-every 1 --out wf_out.lmn \
    --quiet) >/dev/null 2>wf.err; rc=$?
{ [ "$rc" -eq 1 ] && cmp -s wf_out.lmn wf_out.copy && grep -q 'wf_out.lmn.partial: .*; wf_out.lmn is left as it was' wf.err; }
res $? write_fails_checkpoint_out_left "exit $rc: $(cat wf.err)"
# a plot that cannot be written (11 KB over a 4 or 8 KB limit) is an
# error, but the model (1.5 KB) is saved, and the summary says so
rm -f wf_plot.lmn
(trap '' XFSZ; ulimit -f 8; exec "$L" train --data d.csv --layers 8 --epochs 300 --out wf_plot.lmn \
    --plot wf_plot.svg --quiet) >wf.out 2>wf.err; rc=$?
{ [ "$rc" -eq 1 ] && grep -q 'wf_plot.svg' wf.err && grep -q '^saved wf_plot.lmn' wf.out &&
    "$L" info wf_plot.lmn >/dev/null 2>&1; }
res $? plot_fails_model_saved_says_so "exit $rc: $(cat wf.err) / $(cat wf.out)"

# ------------------------------------------------ info: numbers and state
"$L" info --json es.lmn >i.json
{ grep -q '"epochs": [0-9]' i.json && grep -q '"lr": 0.05[,}]' i.json && grep -q '"batch": 32[,}]' i.json &&
    grep -q '"data": "/' i.json; }
res $? info_json_numbers "numbers should be JSON numbers: $(cat i.json)"
"$L" info run/m.lmn | grep -q '^training: *resumable state after 4 epochs'
res $? info_training_state "$("$L" info run/m.lmn | grep training:)"
"$L" info --json run/m.lmn | grep -q '"training_state": {"epochs": 4,'
res $? info_json_training_state "$("$L" info --json run/m.lmn)"
"$L" info es.lmn | grep -q '^training: *no training state'
res $? info_no_training_state "early-stopped model: $("$L" info es.lmn | grep training:)"

# ------------------------------------------------ predict --out, --json
"$L" predict es.lmn --data d.csv >p_stdout.csv 2>/dev/null
"$L" predict es.lmn --data d.csv --out p.csv >p_none.txt 2>p.err; rc=$?
{ [ "$rc" -eq 0 ] && cmp -s p.csv p_stdout.csv && [ ! -s p_none.txt ] && [ "$(wc -l <p.csv)" -eq 300 ]; }
res $? predict_out_file "exit $rc ($(cat p.err)); p.csv should equal stdout's 300 lines and stdout stay empty"
"$L" predict es.lmn --data d.csv --out ./d.csv >/dev/null 2>p.err; rc=$?
{ [ "$rc" -eq 2 ] && cmp -s d.csv dsave.csv && grep -q -- '--data' p.err; }; res $? predict_out_is_data_refused "exit $rc: $(cat p.err)"
"$L" predict es.lmn --data d.csv --out folder >/dev/null 2>p.err; rc=$?
[ "$rc" -eq 1 ]; res $? predict_out_folder_refused "exit $rc: $(cat p.err)"
"$L" predict es.lmn --data d.csv --json --proba >p.json 2>p.err; rc=$?
if command -v python3 >/dev/null 2>&1; then
    python3 - p.json p_stdout.csv <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
want = [l.strip() for l in open(sys.argv[2])]
got = [p["class"] for p in o["predictions"]]
assert o["n"] == 300 and got == want, (o["n"], got[:3], want[:3])
assert o["classes"] == ["blue", "green", "red"]  # text classes are sorted
assert all(abs(sum(p["proba"]) - 1) < 1e-4 for p in o["predictions"])
PY
    res $? predict_json "exit $rc: $(head -c 300 p.json)"
    # the CSV's probabilities are the JSON's, to the digit (enough to
    # give back the float)
    "$L" predict es.lmn --data d.csv --proba >p_proba.csv 2>/dev/null
    python3 - p.json p_proba.csv <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
rows = [l.rstrip("\n").split(",") for l in open(sys.argv[2])][1:]
assert len(rows) == o["n"] == 300
for p, r in zip(o["predictions"], rows):
    assert [float(v) for v in r[1:]] == p["proba"], (r, p["proba"])
PY
    res $? predict_proba_csv_digits "$(sed -n 2p p_proba.csv) vs $(sed -n 2p p.json)"
else
    echo "skip predict_json: python3 is needed to read the JSON"
fi

# ------------------------------------------ eval: R^2, confusion labels
"$L" train --data "$FIX/regress.csv" --layers 8 --epochs 2 --out reg.lmn --quiet >/dev/null 2>&1
head -n 2 "$FIX/regress_test.csv" >one.csv
"$L" eval reg.lmn --data one.csv --json >r2.json 2>&1; rc=$?
"$L" eval reg.lmn --data one.csv >r2.txt 2>&1
{ [ "$rc" -eq 0 ] && grep -q '"r2": null' r2.json && grep -q 'R^2: *undefined' r2.txt; }
res $? eval_r2_undefined_one_row "exit $rc: $(cat r2.json) / $(grep R r2.txt)"
sed 's/,red$/,versicolor_long/; s/,green$/,virginica_long/; s/,blue$/,setosa_long/' d.csv >long.csv
"$L" train --data long.csv --layers 8:tanh --epochs 3 --out long.lmn --quiet >/dev/null 2>&1
env -u COLUMNS "$L" eval long.lmn --data long.csv >cm.txt 2>&1
{ grep -q ' setosa_long  *versicolor_long  *virginica_long$' cm.txt && grep -q '^versicolor_long ' cm.txt; }
res $? eval_confusion_full_names "class names cut: $(grep -A1 confusion cm.txt | tail -n 1)"
COLUMNS=120 "$L" eval long.lmn --data long.csv >cm.txt 2>&1
grep -q ' setosa_long  *versicolor_long  *virginica_long$' cm.txt; res $? eval_confusion_room_120 "cut in 120 columns"

# --------------------------------------- the plot's legend is off the curves
"$L" train --data d.csv --layers 8:tanh --epochs 10 --val 0.2 --plot legend.svg --quiet >/dev/null 2>&1
# every y of the legend lies above the plot frame's top edge
frame=$(sed -n 's/.*<rect class="frame" x="[0-9]*" y="\([0-9]*\)".*/\1/p' legend.svg)
low=$(sed -n '/<g class="legend">/,/<\/g>/p' legend.svg | grep -o ' y[12]\{0,1\}="[0-9.]*"' |
    sed 's/.*"\(.*\)"/\1/' | sort -n | tail -n 1)
{ [ -n "$frame" ] && [ -n "$low" ] && awk -v a="$low" -v b="$frame" 'BEGIN { exit !(a + 0 < b + 0) }'; }
res $? plot_legend_outside_curves "legend's lowest y '$low', plot area from y '$frame'"

# ------------------------ the progress bar fits 80 columns; ETA of the run
# On a pseudo-terminal 80 columns wide (script(1)), 20 epochs of about a
# second, stopped after 3 s: no redraw may reach the last column (it would
# wrap onto a new line), and early in epoch 1 the ETA must count the 19
# epochs still to come, not just the rest of the epoch.
if command -v script >/dev/null 2>&1; then
    script -qec "stty cols 80; COLUMNS= timeout -s INT 3 '$L' train --data mid.csv --layers 256:relu,256:relu --batch 1 --epochs 20 --threads 1" /dev/null >tty.out 2>&1
    tr '\r' '\n' <tty.out | sed 's/\x1b\[K//g' | grep 'ETA' >bars.txt
    long=$(awk 'length($0) > 79' bars.txt | wc -l)
    # epoch 1 past a tenth of its batches: the ETA in seconds
    etas=$(sed -n 's|^epoch 1/20 .* \([0-9]*\)/4000 .*ETA \([0-9]*\)s$|\1 \2|p; s|^epoch 1/20 .* \([0-9]*\)/4000 .*ETA \([0-9]*\)m\([0-9]*\)s$|\1 \2 \3|p' bars.txt |
        awk '$1 >= 400 { print ($3 == "" ? $2 : $2 * 60 + $3) }')
    n=$(printf '%s\n' "$etas" | grep -c .)
    short=$(printf '%s\n' "$etas" | awk 'NF && $1 < 5' | wc -l)
    [ "$(wc -l <bars.txt)" -gt 0 ] && [ "$long" -eq 0 ]
    res $? progress_fits_80_columns "$(wc -l <bars.txt) redraws, $long wider than 79: $(awk 'length($0) > 79' bars.txt | head -n 1)"
    { [ "$n" -gt 0 ] && [ "$short" -eq 0 ]; }
    res $? progress_eta_whole_run "$n ETAs in epoch 1 past 10%, $short under 5 s: $(grep '^epoch 1/20' bars.txt | tail -n 1)"
else
    echo "skip progress_fits_80_columns: script(1) (util-linux) is needed for a pseudo-terminal"
    echo "skip progress_eta_whole_run: script(1) (util-linux) is needed for a pseudo-terminal"
fi

# --resume with --epochs at or below the epochs done has nothing to do and
# writes nothing: it saved the resumed 2-of-3-epoch checkpoint over the
# finished --out it recorded, marked "trained" at the --epochs given
"$L" train --data "$B" --layers 4 --epochs 3 --checkpoint-every 2 --checkpoint "$TMP/nd-ck.lmn" \
    --out "$TMP/nd.lmn" --quiet >/dev/null 2>&1
cp "$TMP/nd.lmn" "$TMP/nd.copy"; cp "$TMP/nd-ck.lmn" "$TMP/nd-ck.copy"
"$L" train --resume "$TMP/nd-ck.lmn" --epochs 1 --log "$TMP/nd-log.csv" >"$TMP/o" 2>"$TMP/e"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q 'nothing to do' "$TMP/o" && cmp -s "$TMP/nd.lmn" "$TMP/nd.copy" &&
  cmp -s "$TMP/nd-ck.lmn" "$TMP/nd-ck.copy" && [ ! -e "$TMP/nd-log.csv" ]; }
res $? resume_nothing_to_do_writes_nothing "rc $rc: $(cat "$TMP/o" "$TMP/e")"

finish
