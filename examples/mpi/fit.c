/* fit.c - data-parallel training with the library alone and MPI (built
 * by make MPI=1 as build-mpi/examples/mpi/fit):
 *
 *     mpirun -np 2 build-mpi/examples/mpi/fit [model.lmn]
 *
 * Every process builds the same net and data and calls lm_fit with the
 * same seed; lm_fit_opts.shards makes each compute its part of every
 * batch, and the gradient hook sums the parts with MPI_Allreduce, so all
 * take the same steps; the reduce hook sums batch norm's statistics, so
 * it normalises by the whole batch. The result is one process's training
 * to float tolerance (docs/SCALING.md). Process 0 reports and saves. */
#include <lamina.h>
#include <mpi.h>
#include <stdio.h>

enum { ROWS = 2000, NX = 8 };
static float X[ROWS * NX];
static int32_t LAB[ROWS];

/* Sums the shards' gradients and loss over the processes: a step of the
 * whole batch. */
static lm_status sum_grads(lm_grads_info *g, void *ctx)
{
    MPI_Comm comm = *(MPI_Comm *)ctx;
    MPI_Allreduce(MPI_IN_PLACE, g->grads, (int)g->n_grads, MPI_FLOAT, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, g->sums, (int)g->n_sums, MPI_DOUBLE, MPI_SUM, comm);
    return LM_OK;
}

/* Sums batch norm's per-channel statistics over the processes. */
static void sum_stats(double *v, size_t n, void *ctx)
{
    MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, *(MPI_Comm *)ctx);
}

static int report(const lm_epoch_info *e, void *ctx)
{
    if (*(int *)ctx == 0) printf("epoch %d: loss %.6f, accuracy %.4f\n", e->epoch, e->train_loss, e->train_acc);
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);

    /* the same data on every process: a class is the sign of a sum */
    lm_rng drng = lm_rng_seed(42);
    for (int r = 0; r < ROWS; r++) {
        float s = 0;
        for (int j = 0; j < NX; j++) {
            X[r * NX + j] = (float)lm_rng_below(&drng, 2000) / 1000.0f - 1.0f;
            s += X[r * NX + j] * (j % 2 ? 1.0f : -0.5f);
        }
        LAB[r] = s > 0;
    }
    lm_data d = {.n = ROWS, .nx = NX, .x = X, .labels = LAB, .n_classes = 2};

    lm_net *net;
    lm_rng rng = lm_rng_seed(1);
    lm_status st = lm_net_new(&net, NX);
    if (!st) st = lm_net_add_dense(net, 32, LM_RELU, LM_BIAS);
    if (!st) st = lm_net_add_batchnorm(net, 0.1f, 1e-5f);
    if (!st) st = lm_net_add_dense(net, 2, LM_SOFTMAX, LM_BIAS);
    if (!st) st = lm_net_init(net, LM_INIT_HE, &rng);

    lm_fit_opts o = lm_fit_defaults();
    o.loss = LM_LOSS_CE;
    o.optim.kind = LM_ADAM;
    o.optim.lr = 0.01f;
    o.epochs = 5;
    o.batch = 64; /* the global batch: each process computes 64/size rows */
    o.on_epoch = report;
    o.ctx = &rank;
    o.shards = size;
    o.shard = rank;
    o.on_grads = sum_grads;
    o.grads_ctx = &comm;
    o.on_reduce = sum_stats;
    o.reduce_ctx = &comm;
    if (!st) st = lm_fit(net, &d, &o, &rng);
    if (!st && rank == 0 && argc > 1) st = lm_net_save(net, argv[1]);
    if (st && rank == 0) fprintf(stderr, "fit: %s\n", lm_errmsg());
    lm_net_free(net);
    MPI_Finalize();
    return st ? 1 : 0;
}
