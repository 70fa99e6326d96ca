#!/bin/sh
# test_skip.sh - the nine cases that can check nothing without AVX2 or
# AVX-512 say "skip NAME: why" there, never "ok"; tests/run.sh counts them
# apart ("N passed, N failed, N skipped") and .ci/run's count() reads that
# line. LAMINA_GEMM=ref pins the kernels to the portable reference, which
# is what a CPU without SIMD variants gets, so the skip path runs here too.
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
T=$BUILD/tests
KERNELS="test_gemm_avx2 test_gemm_avx512"
VEC="exp_sigmoid_tanh_accuracy special_values act_and_grad_match_reference colsum_and_norm_match_reference update_matches_reference avx2_exp_matches_avx512"
SMALL="rows_threshold"
only() { echo "$*" | tr ' ' ','; }

for b in test_kernels test_vec test_small; do
    [ -x "$T/$b" ] || { echo "FAIL skip_cases: $T/$b is not built"; exit 1; }
done
# The three programs under run.sh (given only, not the shell tests, this
# one among them), pinned to ref.
LM_RUN_GIVEN_ONLY=1 LAMINA_GEMM=ref LM_TEST_ONLY=$(only $KERNELS) sh tests/run.sh "$T/test_kernels" >"$tmp/k" 2>&1
LM_RUN_GIVEN_ONLY=1 LAMINA_GEMM=ref LM_TEST_ONLY=$(only $VEC) sh tests/run.sh "$T/test_vec" >"$tmp/v" 2>&1
LM_RUN_GIVEN_ONLY=1 LAMINA_GEMM=ref LM_TEST_ONLY=$(only $SMALL) sh tests/run.sh "$T/test_small" >"$tmp/s" 2>&1
cat "$tmp/k" "$tmp/v" "$tmp/s" >"$tmp/all"
bad=""
for c in $KERNELS $VEC $SMALL; do
    grep -Eq "^skip $c: .+" "$tmp/all" || bad="$bad $c"
done
if [ -n "$bad" ]; then echo "FAIL skip_cases: no 'skip NAME: why' from:$bad"
elif grep -Eq '^(ok|FAIL) ' "$tmp/all"; then echo "FAIL skip_cases: $(grep -E '^(ok|FAIL) ' "$tmp/all" | head -3 | tr '\n' ';')"
else echo "ok skip_cases (9 cases skip when only the reference kernels are in use)"; fi

# run.sh's summary: skips are neither passes nor failures, and exit 0.
sum="$(tail -1 "$tmp/k") / $(tail -1 "$tmp/v") / $(tail -1 "$tmp/s")"
if [ "$sum" = "0 passed, 0 failed, 2 skipped / 0 passed, 0 failed, 6 skipped / 0 passed, 0 failed, 1 skipped" ]; then
    echo "ok skip_summary"
else
    echo "FAIL skip_summary: run.sh ended with '$sum'"
fi

# .ci/run's count() (taken from the script itself) adds the three numbers.
if command -v bash >/dev/null 2>&1; then
    sed -n '/^count() {/,/^}/p' .ci/run >"$tmp/count.sh"
    printf '1 passed, 2 failed\n4 passed, 0 failed, 9 skipped\n' >"$tmp/log1"
    got=$(bash -c '. "$1"; total_p=10; total_f=0; total_s=1; log=$2; count t; echo "$total_p $total_f $total_s"' \
        sh "$tmp/count.sh" "$tmp/log1" 2>&1)
    printf '3 passed, 1 failed\n' >"$tmp/log2"
    got2=$(bash -c '. "$1"; total_p=0; total_f=0; total_s=0; log=$2; count t; echo "$total_p $total_f $total_s"' \
        sh "$tmp/count.sh" "$tmp/log2" 2>&1)
    if [ "$got" = "14 0 10" ] && [ "$got2" = "3 1 0" ]; then echo "ok skip_ci_count"
    else echo "FAIL skip_ci_count: .ci/run count() gave '$got' and '$got2'"; fi
fi

# The same cases run for real where the CPU has the kernels (a skip that
# always fired would check nothing either). test_kernels' two are left
# out: they take seconds and run in make test anyway.
if grep -qw avx512f /proc/cpuinfo 2>/dev/null && grep -qw avx512bw /proc/cpuinfo &&
    grep -qw avx512dq /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
    LM_TEST_ONLY=$(only $VEC $SMALL) "$T/test_vec" >"$tmp/r" 2>&1
    LM_TEST_ONLY=$(only $VEC $SMALL) "$T/test_small" >>"$tmp/r" 2>&1
    n=$(grep -c '^ok ' "$tmp/r")
    if [ "$n" -eq 7 ]; then echo "ok skip_not_when_available"
    else echo "FAIL skip_not_when_available: $(grep -v '^ok ' "$tmp/r" | head -3 | tr '\n' ';')"; fi
fi
