/* progress.c - training progress on stderr: on a terminal a bar redrawn
 * at most ten times a second (batches, samples/s, running loss, ETA);
 * elsewhere one line per epoch. --quiet silences both. */
#include "cli.h"

#include <math.h>
#include <unistd.h>

void progress_init(cli_progress *p, int quiet, int classes, int epochs)
{
    p->tty = !quiet && isatty(fileno(stderr));
    p->quiet = quiet;
    p->classes = classes;
    p->epochs = epochs;
    p->t0 = cli_now();
    p->t_draw = 0;
    p->drawn = 0;
}

void progress_epoch_begin(cli_progress *p)
{
    p->t0 = cli_now();
    p->t_draw = 0;
}

static void fmt_secs(char *buf, size_t size, double s)
{
    if (!isfinite(s) || s < 0) s = 0;
    if (s < 60)
        snprintf(buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
}

void progress_batch(cli_progress *p, const lm_batch_info *b)
{
    if (!p->tty) return;
    double now = cli_now();
    if (b->batch != b->n_batches && now - p->t_draw < 0.1) return;
    p->t_draw = now;
    double el = now - p->t0;
    double rate = el > 0 ? (double)b->samples / el : 0;
    double eta = b->batch ? el * (double)(b->n_batches - b->batch) / (double)b->batch : 0;
    enum { W = 24 };
    char bar[W + 1], eta_s[16];
    int fill = (int)((double)W * (double)b->batch / (double)(b->n_batches ? b->n_batches : 1));
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = '\0';
    fmt_secs(eta_s, sizeof eta_s, eta);
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %zu/%zu  %.0f samples/s  loss %.4f  ETA %s",
            b->epoch, p->epochs, bar, b->batch, b->n_batches, rate, b->loss, eta_s);
    fflush(stderr);
    p->drawn = 1;
}

void progress_clear(cli_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}

void progress_epoch_end(cli_progress *p, const lm_epoch_info *e)
{
    if (p->quiet) return;
    progress_clear(p);
    fprintf(stderr, "epoch %d/%d  loss %.6f", e->epoch, p->epochs, e->train_loss);
    if (p->classes && !isnan(e->train_acc)) fprintf(stderr, "  acc %.4f", e->train_acc);
    if (!isnan(e->val_loss)) fprintf(stderr, "  val_loss %.6f", e->val_loss);
    if (p->classes && !isnan(e->val_acc)) fprintf(stderr, "  val_acc %.4f", e->val_acc);
    fprintf(stderr, "  %.2fs\n", e->seconds);
    fflush(stderr);
}
