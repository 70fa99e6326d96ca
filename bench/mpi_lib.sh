# bench/mpi_lib.sh - what the MPI benchmarks (bench/mpi.sh, mpi_exact.sh,
# mpi_syncbn.sh) share; sourced from the repository's root.

# mpi_setup NAME: ends the script with a skip line where Open MPI is not
# installed; sets MPIRUN and the transport every run uses (shared memory,
# a waiting process yields its core: bench/MPI.md).
mpi_setup() {
    if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
        echo "bench/$1: skipped (no mpicc/mpirun: apt-get install openmpi-bin libopenmpi-dev)"; exit 0
    fi
    MPIRUN="mpirun -q --oversubscribe --bind-to none"
    [ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
    export OMPI_MCA_btl=self,vader OMPI_MCA_mpi_yield_when_idle=1
}

# mpi_write MD OUTMD APPEND HEADING FIRST LAST: OUTMD becomes MD followed
# by OUTMD's hand-written "## Notes" section, if it has one; where APPEND
# is set, HEADING and MD's lines from the one matching FIRST to the one
# matching LAST (sed addresses) are added to that file.
mpi_write() {
    if [ -f "$2" ] && grep -q '^## Notes' "$2"; then
        sed -n '/^## Notes/,$p' "$2" >"$1.notes"; { cat "$1"; echo; cat "$1.notes"; } >"$2"
        rm -f "$1.notes"
    else
        cp "$1" "$2"
    fi
    if [ -n "$3" ]; then
        { echo; echo "$4"; echo; sed -n "/$5/,/$6/p" "$1"; } >>"$3"
    fi
}
