/* fuzz_fann.c - libFuzzer target: fz_fann in entry.h (see that file for how
 * the input is laid out). Built and run by fuzz/run.sh. */
#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = fz_fann(data, size);
    if (rc == FZ_BROKEN || !fz_clean_status(rc)) {
        fprintf(stderr, "fuzz_fann: %s (status %d: %s)\n", rc == FZ_BROKEN ? fz_why : "unclean status", rc,
                lm_errmsg());
        abort();
    }
    return 0;
}
