/* progress.c - training progress on stderr: on a terminal a bar redrawn
 * at most ten times a second (batches, samples/s, running loss, ETA of
 * the whole run), always one line narrower than the terminal so it never
 * wraps; elsewhere one line per epoch. --quiet silences both. */
#include "cli.h"

#include <math.h>
#include <string.h>
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
    p->epoch_secs = 0;
    p->epochs_timed = 0;
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
    // The ETA covers the whole run: the rest of this epoch, then the
    // epochs still to come at the mean pace of those timed so far (this
    // one's pace until one has ended).
    double frac = b->n_batches ? (double)b->batch / (double)b->n_batches : 1;
    double per_epoch = p->epochs_timed ? p->epoch_secs / p->epochs_timed
                                       : frac > 0 ? el / frac : 0;
    double eta = (frac > 0 ? el / frac - el : 0) +
                 (b->epoch < p->epochs ? (double)(p->epochs - b->epoch) * per_epoch : 0);
    char eta_s[16], left[96], right[128], line[512];
    fmt_secs(eta_s, sizeof eta_s, eta);
    snprintf(left, sizeof left, "epoch %d/%d ", b->epoch, p->epochs);
    // Numbers in fixed widths, so the bar does not jiggle as they grow.
    int digits = snprintf(NULL, 0, "%zu", b->n_batches);
    // One column short of the terminal: a line filling the last column
    // makes some terminals wrap, and every redraw then lands on a new line.
    int width = cli_term_width(fileno(stderr));
    if (width <= 0) width = 80;
    // On a narrow terminal the fields go whole, least wanted first (the
    // rate, then the batch count, then the ETA), never a number cut.
    for (int drop = 0; drop < 4; drop++) {
        char count[48] = "", speed[32] = "", until[32] = "";
        if (drop < 2) snprintf(count, sizeof count, " %*zu/%zu", digits, b->batch, b->n_batches);
        if (drop < 1) snprintf(speed, sizeof speed, " %7.0f rows/s", rate);
        if (drop < 3) snprintf(until, sizeof until, "  ETA %s", eta_s);
        snprintf(right, sizeof right, "%s%s  loss %.4f%s", count, speed, b->loss, until);
        if ((int)(strlen(left) + strlen(right)) <= width - 1) break;
    }
    int room = width - 1 - (int)strlen(left) - (int)strlen(right) - 2;
    int bar_w = room > 40 ? 40 : room;
    char bar[48] = "";
    if (bar_w >= 5) {
        int fill = (int)((double)bar_w * frac);
        bar[0] = '[';
        for (int i = 0; i < bar_w; i++) bar[i + 1] = i < fill ? '#' : '.';
        bar[bar_w + 1] = ']';
        bar[bar_w + 2] = '\0';
    }
    snprintf(line, sizeof line, "%s%s%s", left, bar, right);
    if ((int)strlen(line) > width - 1 && width > 1) line[width - 1] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
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
    p->epoch_secs += e->seconds;
    p->epochs_timed++;
    if (p->quiet) return;
    progress_clear(p);
    char f[7][48];
    int n = 0, len = 0, width = cli_out_width(fileno(stderr));
    snprintf(f[n++], sizeof f[0], "epoch %d/%d", e->epoch, p->epochs);
    snprintf(f[n++], sizeof f[0], "loss %.6f", e->train_loss);
    if (p->classes && !isnan(e->train_acc)) snprintf(f[n++], sizeof f[0], "acc %.4f", e->train_acc);
    if (!isnan(e->val_loss)) snprintf(f[n++], sizeof f[0], "val_loss %.6f", e->val_loss);
    if (p->classes && !isnan(e->val_acc)) snprintf(f[n++], sizeof f[0], "val_acc %.4f", e->val_acc);
    if (p->show_lr) snprintf(f[n++], sizeof f[0], "lr %.4g", e->lr);
    snprintf(f[n++], sizeof f[0], "%.2fs", e->seconds);
    // Fields two spaces apart; one where that would pass the width (100
    // epochs with a validation set in 80 columns; judged on the last
    // epoch's number, so every line of a run looks alike), and on a
    // narrower terminal a field that does not fit starts a new line,
    // indented, so a value stays by its name.
    len = snprintf(NULL, 0, "epoch %d/%d", p->epochs, p->epochs) - (int)strlen(f[0]);
    for (int i = 0; i < n; i++) len += (int)strlen(f[i]) + 2;
    int gap = len - 2 <= width ? 2 : 1, col = 0;
    for (int i = 0; i < n; i++) {
        int w = (int)strlen(f[i]);
        if (i && col + gap + w > width) col = fprintf(stderr, "\n ");
        col += fprintf(stderr, "%*s%s", i ? gap : 0, "", f[i]);
    }
    fputc('\n', stderr);
    fflush(stderr);
}
