/* fuzz_csv_cat.c - libFuzzer target: fz_csv_cat in entry.h (categorical
 * columns and missing values; see that file for how the input is laid
 * out). Built and run by fuzz/run.sh. */
#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = fz_csv_cat(data, size);
    if (rc == FZ_BROKEN || !fz_clean_status(rc)) {
        fprintf(stderr, "fuzz_csv_cat: %s (status %d: %s)\n", rc == FZ_BROKEN ? fz_why : "unclean status", rc,
                lm_errmsg());
        abort();
    }
    return 0;
}
