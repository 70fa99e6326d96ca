/* none.c - cli/dist.h for the plain build: one process, nothing shared.
 * (make MPI=1 links cli/dist/mpi.c instead.) */
#include "../dist.h"

int cli_dist_start(void) { return CLI_OK; }
void cli_dist_end(void) {}
int cli_dist_rank(void) { return 0; }
int cli_dist_size(void) { return 1; }
void cli_dist_fit(lm_fit_opts *o, volatile sig_atomic_t *stop, int *agreed) {}
int cli_dist_max(int v) { return v; }
int cli_dist_agree(int rc) { return rc; }
int cli_dist_local_size(void) { return 1; }
int cli_dist_same(const float *v, size_t n) { return 1; }
void cli_dist_first(uint64_t *v, int n) {}

void cli_dist_get_stats(cli_dist_stats *s)
{
    *s = (cli_dist_stats){1, 0, 0, 0, ""};
}
void cli_dist_sync_bn(lm_fit_opts *o) {}
