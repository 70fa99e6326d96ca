#!/bin/sh
# test_mpi.sh - data-parallel training (docs/SCALING.md) with Open MPI:
# `mpirun -np 2` and `-np 3` against one process for a small MLP and a
# small CNN, both with dropout, and both with batch norm (per-epoch
# losses and final parameters within the stated tolerance), faults (a bad file on every process or on
# one, a NaN, a killed process, Ctrl-C to mpirun) and a resume with
# another process count. Runs against an MPI build (make MPI=1 test, or
# CI's "gcc MPI" suite); skipped on the plain build or without mpirun.
#
# Tolerance: the processes sum their shards' gradients, where one process
# sums all rows in one product, so float sums run in another order; each
# step differs by an ulp or so and training carries that on. Batch norm's
# statistics are double sums, rounded to float after the processes' parts
# are added, so they rarely differ at all. Over these few epochs losses
# agree to 1e-5 relative and parameters and running statistics to 1e-5
# of (1 + |value|) (measured: 1e-7 at most).
. "$(dirname "$0")/fixtures/lib.sh"
: "${BUILD:=build}"
if [ ! -f "$BUILD/obj/cli/dist/mpi.o" ]; then
    echo "skip mpi: $BUILD is not an MPI build (make MPI=1 test runs this)"; exit 0
fi
if ! command -v mpirun >/dev/null 2>&1; then echo "skip mpi: no mpirun"; exit 0; fi
MPIRUN="mpirun -q --oversubscribe"
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
# stay off the network: the shared-memory and self transports only
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
PD=$TMP/params_diff
${CC:-cc} ${TEST_LDFLAGS:-} -std=c11 -Iinclude -o "$PD" tests/cli/params_diff.c "$BUILD/liblamina.a" \
    -lz -lm -pthread 2>"$TMP/cc" || { fail mpi_params_diff_builds "$(head -c 300 "$TMP/cc")"; exit 1; }

# close A.csv B.csv: the per-epoch losses (column 2) agree to 1e-5 relative.
close() {
    paste -d, "$1" "$2" | awk -F, -v n="$(awk -F, 'NR == 1 { print NF }' "$1")" '
        NR > 1 { a = $2; b = $(n + 2); d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a
                 if (!(d <= 1e-5 * (1 + s))) bad++; rows++ }
        END { exit !(rows > 0 && !bad) }'
}
# params_ok A.lmn B.lmn: scaled parameter difference at most 1e-5.
params_ok() { "$PD" "$1" "$2" | awk '{ exit !($2 <= 1e-5) }'; }

# compare NAME "ARGS": one process, then 2 and 3 processes, same seed.
compare() {
    name=$1; args=$2
    # shellcheck disable=SC2086
    "$LAMINA" train $args --threads 1 --quiet --log "$TMP/$name-1.csv" --out "$TMP/$name-1.lmn" >/dev/null 2>"$TMP/err"
    for n in 2 3; do
        ls "$TMP" >"$TMP/before"
        # shellcheck disable=SC2086
        $MPIRUN -np $n "$LAMINA" train $args --threads 1 --log "$TMP/$name-$n.csv" \
            --out "$TMP/$name-$n.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
        diffs=$("$PD" "$TMP/$name-1.lmn" "$TMP/$name-$n.lmn" 2>&1)
        # one process reports: one summary, one "saved" line
        { [ "$rc" -eq 0 ] && close "$TMP/$name-1.csv" "$TMP/$name-$n.csv" &&
            params_ok "$TMP/$name-1.lmn" "$TMP/$name-$n.lmn" &&
            [ "$(grep -c '^saved ' "$TMP/out")" -eq 1 ] && [ "$(grep -c '^trained ' "$TMP/out")" -eq 1 ]; }
        res $? "mpi_${name}_np$n" "rc $rc; params (max abs, scaled, bits differing): $diffs; $(head -c 300 "$TMP/err")"
    done
}

F=$FIX/iris.csv
compare mlp "--data $F --layers 16:relu,dropout:0.2,8:relu --epochs 6 --batch 16"
# 8x8 images of four classes (bright left, right, top or bottom half)
awk 'BEGIN { srand(7); for (r = 0; r < 240; r++) { c = r % 4; for (y = 0; y < 8; y++) for (x = 0; x < 8; x++) {
    v = rand() * 3; if ((c == 0 && x < 4) || (c == 1 && x >= 4) || (c == 2 && y < 4) || (c == 3 && y >= 4)) v += 5
    printf "%.0f,", v }; print "c" c } }' >"$TMP/img.csv"
# class weights: each process weighs its rows and divides by the batch's
compare mlp_cw "--data $F --layers 16:relu --epochs 6 --batch 16 --class-weight setosa=0.3,virginica=2.5"
# RPROP: every process on its shard of the full batch, one step an
# epoch; its settings go into the options the processes agree on
compare rprop "--data $F --layers 8:tanh --epochs 12 --optimizer rprop --rprop-etas 0.4,1.3"
$MPIRUN -np 1 "$LAMINA" train --data "$F" --layers 4 --epochs 1 --quiet --optimizer rprop : \
    -np 1 "$LAMINA" train --data "$F" --layers 4 --epochs 1 --quiet --optimizer rprop \
    --rprop-steps 0,1 >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q -- "--rprop-steps differ from process 0's" "$TMP/err"; }
res $? mpi_rprop_settings_differ "rc $rc: $(head -c 300 "$TMP/err")"
compare cnn "--data $TMP/img.csv --input-shape 1x8x8 --layers conv:4:3x3:relu,maxpool:2,dropout:0.3,16:relu --epochs 4 --batch 20"

# Synchronised batch norm: the processes sum its statistics, so with 5-6
# rows a process (batch 16) and 10 or 7 images a process (batch 20) the
# nets train as on one process, running statistics included (params_diff
# compares them too). Batch norm normalising by each process's rows missed
# by 1e-2 here.
compare mlp_bn "--data $F --layers 16:relu,bn,8:relu,bn --epochs 6 --batch 16"
compare cnn_bn "--data $TMP/img.csv --input-shape 1x8x8 --layers conv:4:3x3:relu,bn,maxpool:2,16:relu,bn,dropout:0.2 --epochs 4 --batch 20"

# resume with another process count: 2 epochs on 3 processes, 2 more on
# 2, ends where 4 epochs on one process end
A="--data $F --layers 16:relu --epochs 4 --batch 16 --threads 1 --quiet"
# shellcheck disable=SC2086
"$LAMINA" train $A --out "$TMP/r1.lmn" >/dev/null 2>&1
# shellcheck disable=SC2086
$MPIRUN -np 3 "$LAMINA" train $A --epochs 2 --out "$TMP/r3.lmn" >/dev/null 2>"$TMP/err"
cp "$TMP/r3.lmn" "$TMP/r3.copy"
# shellcheck disable=SC2086
$MPIRUN -np 2 "$LAMINA" train $A --resume "$TMP/r3.lmn" --out "$TMP/r2.lmn" >/dev/null 2>>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && params_ok "$TMP/r1.lmn" "$TMP/r2.lmn"; }
res $? mpi_resume_other_count "rc $rc: $("$PD" "$TMP/r1.lmn" "$TMP/r2.lmn" 2>&1) $(head -c 300 "$TMP/err")"
# process 1 writes nothing: not the --out the resumed file recorded either
cmp -s "$TMP/r3.lmn" "$TMP/r3.copy"; res $? mpi_resume_follower_writes_nothing "r3.lmn was rewritten"

# How the sums go (cli/dist/mpi.c): through shared memory on one machine
# (the default), MPI_Allreduce when asked (LAMINA_MPI_REDUCE=mpi), or
# both: shared memory inside each "machine" and MPI_Allreduce between
# them, here machines of 2 processes (LAMINA_MPI_NODE=2) out of 3 or of 1
# out of 2. Each ends where one process ends, within the tolerance.
# how NAME NP EXPECT [VAR=VALUE]: --json says EXPECT; losses, params close
A="--data $F --layers 16:relu,dropout:0.2,8:relu --epochs 6 --batch 16 --threads 1 --quiet"
# shellcheck disable=SC2086
"$LAMINA" train $A --log "$TMP/how-1.csv" --out "$TMP/how-1.lmn" >/dev/null 2>&1
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 60" # a hang fails, not stalls
how() {
    name=$1; np=$2; expect=$3; env=${4:-}
    # shellcheck disable=SC2086
    $TIMEOUT $MPIRUN ${env:+-x $env} -np "$np" "$LAMINA" train $A --json --log "$TMP/how.csv" --out "$TMP/how.lmn" \
        >"$TMP/out" 2>"$TMP/err"; rc=$?
    got=$(jget allreduce <"$TMP/out")
    { [ "$rc" -eq 0 ] && [ "$got" = "$expect" ] && close "$TMP/how-1.csv" "$TMP/how.csv" &&
        params_ok "$TMP/how-1.lmn" "$TMP/how.lmn"; }
    res $? "mpi_sum_$name" "rc $rc, allreduce '$got' (want $expect): $("$PD" "$TMP/how-1.lmn" "$TMP/how.lmn" 2>&1) $(head -c 300 "$TMP/err")"
}
how shm_np2 2 shm
how shm_np3 3 shm
how mpi_asked 3 mpi LAMINA_MPI_REDUCE=mpi
how shm_then_mpi 3 shm+mpi LAMINA_MPI_NODE=2
how one_a_machine 2 mpi LAMINA_MPI_NODE=1
# no room for the window (here: no such folder; a small /dev/shm in a
# container alike): every process falls back to MPI_Allreduce, where
# Open MPI alone would leave all but one waiting for ever
how no_room 2 mpi OMPI_MCA_osc_sm_backing_directory=/nonexistent/lamina

# LAMINA_MPI_PROFILE set on process 0 alone (no -x): its barrier must be
# on every process or none, else the processes' collectives pair wrongly
# and the job hangs; process 0's setting decides. And set on process 1
# alone: no wait is timed.
for who in 0 1; do
    if [ $who -eq 0 ]; then
        # shellcheck disable=SC2086
        $TIMEOUT $MPIRUN -np 1 env LAMINA_MPI_PROFILE=1 "$LAMINA" train $A --json --out "$TMP/prof.lmn" : \
            -np 1 "$LAMINA" train $A --json --out "$TMP/prof.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
    else
        # shellcheck disable=SC2086
        $TIMEOUT $MPIRUN -np 1 "$LAMINA" train $A --json --out "$TMP/prof.lmn" : \
            -np 1 env LAMINA_MPI_PROFILE=1 "$LAMINA" train $A --json --out "$TMP/prof.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
    fi
    w=$(jget allreduce_wait_seconds <"$TMP/out")
    { [ "$rc" -eq 0 ] && params_ok "$TMP/how-1.lmn" "$TMP/prof.lmn" &&
        if [ $who -eq 0 ]; then awk -v w="$w" 'BEGIN { exit !(w > 0) }'; else [ "$w" = "0.000000" ]; fi; }
    res $? "mpi_profile_on_process_$who" "rc $rc, wait '$w': $(head -c 300 "$TMP/err")"
done

# LAMINA_MPI_REDUCE=mpi or LAMINA_MPI_NODE on one process only (mpirun
# passes its shell's variables to its own machine's processes alone):
# the processes entered other collectives and waited for ever; process
# 0's setting decides
for v in LAMINA_MPI_REDUCE=mpi LAMINA_MPI_NODE=1; do
    for who in 0 1; do
        if [ $who -eq 0 ]; then
            # shellcheck disable=SC2086
            $TIMEOUT $MPIRUN -np 1 env $v "$LAMINA" train $A --json --out "$TMP/env.lmn" : \
                -np 1 "$LAMINA" train $A --json --out "$TMP/env.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
            want=mpi
        else
            # shellcheck disable=SC2086
            $TIMEOUT $MPIRUN -np 1 "$LAMINA" train $A --json --out "$TMP/env.lmn" : \
                -np 1 env $v "$LAMINA" train $A --json --out "$TMP/env.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
            want=shm
        fi
        got=$(jget allreduce <"$TMP/out")
        { [ "$rc" -eq 0 ] && [ "$got" = "$want" ] && params_ok "$TMP/how-1.lmn" "$TMP/env.lmn"; }
        res $? "mpi_env_${v%%=*}_on_process_$who" "rc $rc, allreduce '$got' (want $want): $(head -c 300 "$TMP/err")"
    done
done

# faults. One bad file everywhere: one message, the data exit code.
printf '1,2,x\n' >"$TMP/bad.csv"
$MPIRUN -np 2 "$LAMINA" train --data "$TMP/bad.csv" --layers 4:relu --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ]; }
res $? mpi_bad_file_everywhere "rc $rc: $(head -c 300 "$TMP/err")"
# ... and on process 1 only (its own folder): process 0 names it
mkdir "$TMP/a" "$TMP/b" && cp "$F" "$TMP/a/d.csv" && cp "$TMP/bad.csv" "$TMP/b/d.csv"
$MPIRUN -np 1 -wdir "$TMP/a" "$LAMINA" train --data d.csv --layers 4:relu --quiet : \
    -np 1 -wdir "$TMP/b" "$LAMINA" train --data d.csv --layers 4:relu --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 3 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] && grep -q 'process 1 of 2: d.csv' "$TMP/err"; }
res $? mpi_bad_file_one_process "rc $rc: $(head -c 300 "$TMP/err")"

# Files that differ between machines (the same path, other contents)
# and options given to one process only: the processes would take other
# numbers of steps and wait on each other for ever, or, with other values
# in as many rows, train on a mix of both files and say nothing (the
# copies step on one summed gradient and stay equal). Each is refused
# before training, process 0 naming the process and what differs. one_vs_two "ARGS 0" "ARGS 1":
# process 0 runs in $TMP/a, process 1 in $TMP/b.
one_vs_two() {
    # shellcheck disable=SC2086
    $TIMEOUT $MPIRUN -np 1 -wdir "$TMP/a" "$LAMINA" train $1 --quiet : \
        -np 1 -wdir "$TMP/b" "$LAMINA" train $2 --quiet >/dev/null 2>"$TMP/err"
}
D="--data d.csv --layers 4:relu --epochs 2 --batch 16 --threads 1"
head -n 141 "$F" >"$TMP/b/d.csv" # 140 rows: 9 steps an epoch, not 10
one_vs_two "$D" "$D"; rc=$?
{ [ "$rc" -eq 3 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
    grep -q 'process 1 of 2: d.csv: 140 training and 0 validation rows .* 150 and 0 of 4 on process 0' "$TMP/err"; }
res $? mpi_data_rows_differ "rc $rc: $(head -c 300 "$TMP/err")"
sed '5s/^[0-9]/9/' "$F" >"$TMP/b/d.csv" # one value
one_vs_two "$D" "$D"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q 'process 1 of 2: d.csv: the rows differ from those process 0 read' "$TMP/err"; }
res $? mpi_data_values_differ "rc $rc: $(head -c 300 "$TMP/err")"
cp "$F" "$TMP/b/d.csv"
one_vs_two "$D" "$D --batch 8"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'process 1 of 2: train: --batch 8 here, 16 on process 0' "$TMP/err"; }
res $? mpi_options_differ "rc $rc: $(head -c 300 "$TMP/err")"
one_vs_two "$D" "$D --lr 0.1"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'process 1 of 2: train: --loss, --optimizer, --lr' "$TMP/err"; }
res $? mpi_step_options_differ "rc $rc: $(head -c 300 "$TMP/err")"
one_vs_two "$D" "$D --class-weight setosa=2"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q 'process 1 of 2: train: --loss, .*--class-weight, .* differ' "$TMP/err"; }
res $? mpi_class_weights_differ "rc $rc: $(head -c 300 "$TMP/err")"
# other layers with as many parameters: the same start, one summed
# gradient, a mix of two nets trained and saved without a word
for pair in "act 16:relu 16:sigmoid" "dropout 16:relu,dropout:0.1 16:relu,dropout:0.5"; do
    # shellcheck disable=SC2086
    set -- $pair
    one_vs_two "$D --layers $2" "$D --layers $3"; rc=$?
    { [ "$rc" -eq 2 ] && grep -q "process 1 of 2: train: the net's layers differ from process 0's" "$TMP/err"; }
    res $? "mpi_layers_differ_$1" "rc $rc: $(head -c 300 "$TMP/err")"
done
# another --seed with --init-from: the same parameters, another batch
# order, so that each process's part of a batch came from another batch
"$LAMINA" train --data "$F" --layers 4:relu --epochs 1 --quiet --out "$TMP/a/i.lmn" >/dev/null 2>&1
cp "$TMP/a/i.lmn" "$TMP/b/i.lmn"
I="--data d.csv --init-from i.lmn --epochs 2 --batch 16 --threads 1"
one_vs_two "$I" "$I --seed 2"; rc=$?
{ [ "$rc" -eq 2 ] && grep -q "process 1 of 2: train: --seed 2 here, 1 on process 0" "$TMP/err"; }
res $? mpi_seed_differs_init_from "rc $rc: $(head -c 300 "$TMP/err")"
# an --init-from file that differs on process 1 in its input normalisation
# (or a regression model's target scaling) alone: the same layers and
# parameters, so each process trained its part of a batch on other inputs
# and the gradients were summed without a word
SN=$TMP/set_norm
${CC:-cc} ${TEST_LDFLAGS:-} -std=c11 -Iinclude -o "$SN" tests/cli/set_norm.c "$BUILD/liblamina.a" \
    -lz -lm -pthread 2>"$TMP/cc" || fail mpi_set_norm_builds "$(head -c 300 "$TMP/cc")"
cp "$TMP/a/i.lmn" "$TMP/b/i.lmn"
"$SN" "$TMP/b/i.lmn" 0.5
one_vs_two "$I" "$I"; rc=$?
{ [ "$rc" -eq 1 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
    grep -q "process 1 of 2: the processes' copies of the net differ before training: its input normalisation" "$TMP/err"; }
res $? mpi_norm_differs_init_from "rc $rc: $(head -c 300 "$TMP/err")"
cp "$FIX/regress.csv" "$TMP/a/r.csv" && cp "$FIX/regress.csv" "$TMP/b/r.csv"
"$LAMINA" train --data "$TMP/a/r.csv" --layers 4:relu --epochs 1 --quiet --out "$TMP/a/ri.lmn" >/dev/null 2>&1
cp "$TMP/a/ri.lmn" "$TMP/b/ri.lmn"
"$SN" "$TMP/b/ri.lmn" 0 0.5
R="--data r.csv --init-from ri.lmn --epochs 2 --batch 16 --threads 1"
one_vs_two "$R" "$R"; rc=$?
{ [ "$rc" -eq 1 ] && grep -q "process 1 of 2: the processes' copies of the net differ before training: .*target scaling" "$TMP/err"; }
res $? mpi_target_norm_differs_init_from "rc $rc: $(head -c 300 "$TMP/err")"
# ... and the same file everywhere trains
cp "$TMP/a/ri.lmn" "$TMP/b/ri.lmn"
one_vs_two "$R" "$R"; rc=$?
[ "$rc" -eq 0 ]; res $? mpi_same_init_from_trains "rc $rc: $(head -c 300 "$TMP/err")"
# ... or one process's options do not parse: it stopped alone, silent,
# and the other waited for it for ever
one_vs_two "$D" "$D --bogus"; rc=$?
{ [ "$rc" -eq 2 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
    grep -q "process 1 of 2: train: unknown option '--bogus'" "$TMP/err"; }
res $? mpi_bad_option_one_process "rc $rc: $(head -c 300 "$TMP/err")"
# process 0 alone prints, --help too
# shellcheck disable=SC2086
n=$($TIMEOUT $MPIRUN -np 2 "$LAMINA" train --help 2>&1 | grep -c '^usage: lamina train')
[ "$n" -eq 1 ]; res $? mpi_help_once "the usage was printed $n times"
# without --threads, the processes on a machine share its cores rather
# than each taking all of them (N x cores threads); unbound, so that each
# process sees every core
cores=$(nproc)
want=$((cores / 2)); [ "$want" -ge 1 ] || want=1
# shellcheck disable=SC2086
$TIMEOUT $MPIRUN --bind-to none -np 2 "$LAMINA" train --data "$F" --layers 8 --epochs 1 --quiet --json \
    >"$TMP/out" 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 0 ] && grep -q "\"threads\": $want," "$TMP/out"; }
res $? mpi_threads_share_cores "rc $rc, $cores cores, wanted $want threads a process: $(tail -c 300 "$TMP/out") $(head -c 300 "$TMP/err")"
# a checkpoint copied to process 1's machine one epoch earlier
"$LAMINA" train --data "$F" --layers 4:relu --epochs 2 --quiet --out "$TMP/a/c.lmn" >/dev/null 2>&1
"$LAMINA" train --data "$F" --layers 4:relu --epochs 1 --quiet --out "$TMP/b/c.lmn" >/dev/null 2>&1
one_vs_two "--resume c.lmn --epochs 4" "--resume c.lmn --epochs 4"; rc=$?
{ [ "$rc" -eq 4 ] && grep -q 'process 1 of 2: c.lmn: resumes after epoch 1 here, after epoch 2 on process 0' "$TMP/err"; }
res $? mpi_resume_file_differs "rc $rc: $(head -c 300 "$TMP/err")"
# standard input reaches process 0 alone (a pipe, one reader): process 1
# said "stdin: empty file", which it was not
# shellcheck disable=SC2086
$TIMEOUT $MPIRUN -np 2 "$LAMINA" train --data - --layers 4:relu --quiet <"$F" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
    grep -q -- '--data -: standard input is read once, by one process' "$TMP/err"; }
res $? mpi_stdin_refused "rc $rc: $(head -c 300 "$TMP/err")"

# --val-data: every process reads the file and evaluates it, as --val's
# split: the per-epoch val losses (column 4) and the parameters of the
# kept epoch (--early-stop judges them) match one process
awk 'NR == 1 || NR % 3 == 0' "$F" >"$TMP/v.csv"
A="--data $F --layers 16:relu --epochs 8 --batch 16 --threads 1 --quiet --val-data $TMP/v.csv --early-stop 2"
# shellcheck disable=SC2086
"$LAMINA" train $A --log "$TMP/vd-1.csv" --out "$TMP/vd-1.lmn" >/dev/null 2>&1
# shellcheck disable=SC2086
$TIMEOUT $MPIRUN -np 2 "$LAMINA" train $A --json --log "$TMP/vd-2.csv" --out "$TMP/vd-2.lmn" >"$TMP/out" 2>"$TMP/err"; rc=$?
cut -d, -f1,4 "$TMP/vd-1.csv" >"$TMP/vd-1v.csv"; cut -d, -f1,4 "$TMP/vd-2.csv" >"$TMP/vd-2v.csv"
{ [ "$rc" -eq 0 ] && [ -n "$(jget val_loss <"$TMP/out")" ] && close "$TMP/vd-1v.csv" "$TMP/vd-2v.csv" &&
    params_ok "$TMP/vd-1.lmn" "$TMP/vd-2.lmn"; }
res $? mpi_val_data "rc $rc: $(cat "$TMP/vd-1v.csv" "$TMP/vd-2v.csv" | tr '\n' ' ') $(head -c 300 "$TMP/err")"
# ... so it must be a regular file, and the same on every machine
# shellcheck disable=SC2086
$TIMEOUT $MPIRUN -np 2 "$LAMINA" train --data "$F" --layers 4:relu --quiet --val-data - <"$F" >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 2 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
    grep -q -- '--val-data -: standard input is read once, by one process' "$TMP/err"; }
res $? mpi_val_data_stdin_refused "rc $rc: $(head -c 300 "$TMP/err")"
cp "$F" "$TMP/a/d.csv" && cp "$F" "$TMP/b/d.csv" && cp "$TMP/v.csv" "$TMP/a/v.csv" &&
    sed '3s/^[0-9]/9/' "$TMP/v.csv" >"$TMP/b/v.csv" # one value
# the refusal names the file that differs: the --val-data file (it named
# d.csv, the same on both, as training and validation rows were checked
# together)
one_vs_two "$D --val-data v.csv" "$D --val-data v.csv"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q 'process 1 of 2: v.csv: the rows differ from those process 0 read: .*--val-data' "$TMP/err"; }
res $? mpi_val_data_differs "rc $rc: $(head -c 300 "$TMP/err")"
head -n 40 "$TMP/v.csv" >"$TMP/b/v.csv" # 39 rows
one_vs_two "$D --val-data v.csv" "$D --val-data v.csv"; rc=$?
{ [ "$rc" -eq 3 ] && grep -q 'process 1 of 2: v.csv: 150 training and 39 validation rows .* 150 and 50 of 4 on process 0' "$TMP/err"; }
res $? mpi_val_data_rows_differ "rc $rc: $(head -c 300 "$TMP/err")"

# a NaN (a huge learning rate) in epoch 2: every process stops at the same
# step, one message, the numeric exit code, the epoch-1 checkpoint intact
$MPIRUN -np 3 "$LAMINA" train --data "$F" --layers 16:relu --optimizer sgd --lr 1e5 --epochs 5 --quiet \
    --checkpoint "$TMP/nan.lmn" --checkpoint-every 1 >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 5 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] && grep -q 'diverged in epoch 2' "$TMP/err" &&
    "$LAMINA" info "$TMP/nan.lmn" | grep -q 'state after 1 epoch'; }
res $? mpi_nan_stops_all "rc $rc: $(head -c 300 "$TMP/err")"

# batch norm's running variance overflowing float (a net whose first layer
# has weights of 1e20, from --init-from) once went unchecked on the
# data-parallel path: training ran on and the save refused the net at the
# end (exit 1, nothing saved). Every process now refuses the first step.
cat >"$TMP/huge_bn.c" <<'EOF_C'
#include <lamina.h>
int main(int argc, char **argv)
{
    lm_net *net;
    lm_rng rng = lm_rng_seed(1);
    if (argc < 2 || lm_net_new(&net, 2) || lm_net_add_dense(net, 4, LM_IDENTITY, LM_BIAS) ||
        lm_net_add_batchnorm(net, 0.1f, 1e-5f) || lm_net_add_dense(net, 1, LM_IDENTITY, LM_BIAS) ||
        lm_net_init(net, LM_INIT_XAVIER, &rng))
        return 1;
    float *p = lm_net_params(net);
    for (int i = 0; i < 8; i++) p[i] = i % 3 ? 1e20f : -1e20f;
    return lm_net_save(net, argv[1]) ? 1 : 0;
}
EOF_C
awk 'BEGIN { srand(2); print "a,b,y"
    for (i = 0; i < 64; i++) { a = rand() * 2 - 1; b = rand() * 2 - 1; printf "%.4f,%.4f,%.4f\n", a, b, a - b } }' \
    >"$TMP/bn2.csv"
if ${CC:-cc} ${TEST_LDFLAGS:-} -std=c11 -Iinclude -o "$TMP/huge_bn" "$TMP/huge_bn.c" "$BUILD/liblamina.a" \
    -lz -lm -pthread 2>"$TMP/cc" && "$TMP/huge_bn" "$TMP/huge_bn.lmn"; then
    $TIMEOUT $MPIRUN -np 2 "$LAMINA" train --data "$TMP/bn2.csv" --init-from "$TMP/huge_bn.lmn" --epochs 2 \
        --quiet --out "$TMP/bn2.lmn" >/dev/null 2>"$TMP/err"; rc=$?
    { [ "$rc" -eq 5 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
        grep -q "epoch 1, batch 1 of .*running statistics overflowed" "$TMP/err"; }
    res $? mpi_bn_state_overflow_stops_all "rc $rc: $(head -c 300 "$TMP/err")"
else
    fail mpi_bn_state_overflow_stops_all "the net could not be made: $(head -c 300 "$TMP/cc")"
fi

# copies that drift apart are caught: two processes started with other
# seeds (other initial weights) end with different nets, and say so
$MPIRUN -np 1 "$LAMINA" train --data "$F" --layers 4:relu --epochs 1 --seed 1 --quiet : \
    -np 1 "$LAMINA" train --data "$F" --layers 4:relu --epochs 1 --seed 2 --quiet >/dev/null 2>"$TMP/err"; rc=$?
{ [ "$rc" -eq 1 ] && grep -q "copies of the net differ" "$TMP/err"; }
res $? mpi_copies_checked "rc $rc: $(head -c 300 "$TMP/err")"

# a long run, for the signal and the killed process
awk 'BEGIN { srand(5); for (r = 0; r < 20000; r++) { s = 0; for (j = 0; j < 20; j++) { v = rand(); s += v * (j % 3 - 1)
    printf "%.4f,", v }; print (s > 0) } }' >"$TMP/big.csv"
LONG="train --data $TMP/big.csv --task classes --layers 64:relu --epochs 500 --batch 32 --threads 1 --checkpoint-every 1"
# waits until FILE exists (10 s at most)
wait_for() { i=0; while [ ! -f "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; }
# now_ds: tenths of seconds since the epoch
now_ds() { date +%s%N | cut -c1-11; }

# Ctrl-C to mpirun (which passes it on as SIGTERM): all stop at the same
# batch within seconds, process 0 keeps the last epoch's checkpoint
# shellcheck disable=SC2086
$MPIRUN -np 2 "$LAMINA" $LONG --quiet --checkpoint "$TMP/int.lmn" >/dev/null 2>"$TMP/err" &
mp=$!
wait_for "$TMP/int.lmn"; t0=$(now_ds); kill -INT $mp; wait $mp; rc=$?; dt=$(( $(now_ds) - t0 ))
{ [ "$rc" -ne 0 ] && [ "$dt" -lt 100 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
    grep -q 'the training state after [0-9]* complete epochs' "$TMP/err" &&
    "$LAMINA" info "$TMP/int.lmn" | grep -q 'resumable state'; }
res $? mpi_ctrl_c_stops_all "rc $rc after ${dt}/10 s: $(head -c 300 "$TMP/err")"

# --cv runs its folds on one process: refused under mpirun, said once
$MPIRUN -np 2 "$LAMINA" train --data "$F" --layers 4 --epochs 2 --cv 3 >"$TMP/out" 2>"$TMP/err"; rc=$?
{ [ "$rc" -ne 0 ] && [ "$(grep -c '^lamina: ' "$TMP/err")" -eq 1 ] &&
    grep -q '^lamina: train: --cv runs on one process: start it without mpirun' "$TMP/err"; }
res $? mpi_cv_refused "rc $rc: $(head -c 300 "$TMP/err")"

# a process killed: mpirun ends the others within seconds; the
# checkpoint written before is whole
# shellcheck disable=SC2086
$MPIRUN -np 3 "$LAMINA" $LONG --quiet --checkpoint "$TMP/kill.lmn" >/dev/null 2>"$TMP/err" &
mp=$!
wait_for "$TMP/kill.lmn"
victim=$(ps -o pid= --ppid $mp | tail -n 1)
t0=$(now_ds); [ -n "$victim" ] && kill -KILL $victim; wait $mp; rc=$?; dt=$(( $(now_ds) - t0 ))
{ [ -n "$victim" ] && [ "$rc" -ne 0 ] && [ "$dt" -lt 150 ] && "$LAMINA" info "$TMP/kill.lmn" | grep -q 'resumable state'; }
res $? mpi_killed_process_ends_all "victim '$victim', rc $rc after ${dt}/10 s: $(head -c 300 "$TMP/err")"
# ... said once at most (mpirun may end the others first): both processes
# left waiting for it said it, and said it by the right number
n=$(grep -c '^lamina: ' "$TMP/err")
{ [ "$n" -eq 0 ] || { [ "$n" -eq 1 ] && grep -q '^lamina: process [0-2] of 3 ended while' "$TMP/err"; }; }
res $? mpi_killed_process_said_once "$n messages: $(head -c 300 "$TMP/err")"
finish
