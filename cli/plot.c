/* plot.c - an SVG line plot (loss per epoch, accuracy on a second axis)
 * with axes, ticks, a title and a legend; and a terminal sparkline. */
#include "cli.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The legend sits in the top margin, between the title and the plot
 * area, in up to two rows: inside the area it covered the curves. */
enum { PW = 760, PH = 480, ML = 80, MR = 80, MT = 82, MB = 62, LEGEND_Y = 52 };

typedef struct axis {
    double lo, hi, step; /* nice range and tick step */
} axis;

/* A "nice" step (1, 2 or 5 times a power of ten) near range/ticks. */
static double nice_step(double range, int ticks)
{
    double raw = range / ticks, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

static axis make_axis(double lo, double hi, int ticks)
{
    axis a;
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    a.step = nice_step(hi - lo, ticks);
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

static void series_range(const plot_series *s, int ns, int right, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < ns; k++) {
        if (s[k].right != right) continue;
        for (size_t i = 0; i < s[k].n; i++) {
            double v = s[k].v[i];
            if (!isfinite(v)) continue;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    }
    if (*lo > *hi) *lo = 0, *hi = 1;
}

static void xml_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        int k;
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else if ((unsigned char)*s < 0x80) {
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
        } else if ((k = cli_utf8_len(s)) == 0) {
            fprintf(f, "&#x%02x;", (unsigned char)*s); // not UTF-8: its Latin-1 character
        } else {
            fwrite(s, 1, (size_t)k, f);
            s += k - 1;
        }
    }
}

typedef struct plot_ctx {
    const char *title, *xlabel, *left_label, *right_label;
    const plot_series *s;
    int ns;
    size_t n; /* longest series */
} plot_ctx;

static double px_x(const axis *x, double v) { return ML + (v - x->lo) / (x->hi - x->lo) * (PW - ML - MR); }
static double px_y(const axis *y, double v) { return PH - MB - (v - y->lo) / (y->hi - y->lo) * (PH - MT - MB); }

static void draw_ticks(FILE *f, const axis *x, const axis *yl, const axis *yr, int has_right)
{
    for (double v = x->lo; v <= x->hi + x->step * 1e-6; v += x->step) {
        double px = px_x(x, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n", px, MT,
                px, PH - MB);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", px,
                PH - MB + 18, v);
    }
    for (double v = yl->lo; v <= yl->hi + yl->step * 1e-6; v += yl->step) {
        double py = px_y(yl, v);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", ML, py,
                PW - MR, py);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", ML - 6,
                py + 4, fabs(v) < yl->step * 1e-6 ? 0.0 : v);
    }
    if (!has_right) return;
    for (double v = yr->lo; v <= yr->hi + yr->step * 1e-6; v += yr->step)
        fprintf(f, "<text x=\"%d\" y=\"%.1f\">%.4g</text>\n", PW - MR + 6, px_y(yr, v) + 4,
                fabs(v) < yr->step * 1e-6 ? 0.0 : v);
}

static void draw_series(FILE *f, const plot_series *s, const axis *x, const axis *y)
{
    int open = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->v[i])) {
            if (open) fputs("\"/>\n", f);
            open = 0;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                    s->color, s->right ? " stroke-dasharray=\"6 3\"" : "");
        fprintf(f, "%s%.2f,%.2f", open ? " " : "", px_x(x, (double)(i + 1)), px_y(y, s->v[i]));
        open = 1;
    }
    if (open) fputs("\"/>\n", f);
    if (s->n == 1 && isfinite(s->v[0]))
        fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", px_x(x, 1),
                px_y(y, s->v[0]), s->color);
}

/* The legend: entries left to right above the plot area, wrapping to a
 * second row; text width estimated at 7 px a character (12 px sans). */
static void draw_legend(FILE *f, const plot_series *s, int ns)
{
    int x = ML, y = LEGEND_Y;
    fprintf(f, "<g class=\"legend\">\n");
    for (int k = 0; k < ns; k++) {
        int w = 34 + 7 * (int)strlen(s[k].name) + 18;
        if (x > ML && x + w > PW - MR) {
            x = ML;
            y += 18;
        }
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>\n", x, y - 4, x + 26, y - 4, s[k].color,
                s[k].right ? " stroke-dasharray=\"6 3\"" : "");
        fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 32, y);
        xml_text(f, s[k].name);
        fputs("</text>\n", f);
        x += w;
    }
    fputs("</g>\n", f);
}

static int write_svg(FILE *f, void *vctx)
{
    const plot_ctx *c = vctx;
    double lo, hi;
    int has_right = 0;
    for (int k = 0; k < c->ns; k++) has_right |= c->s[k].right;
    axis x = make_axis(1, c->n > 1 ? (double)c->n : 2, 8);
    if (x.lo < 1 && c->n > 1) x.lo = 0;
    series_range(c->s, c->ns, 0, &lo, &hi);
    axis yl = make_axis(lo < 0 ? lo : 0, hi, 6);
    series_range(c->s, c->ns, 1, &lo, &hi);
    axis yr = make_axis(lo < 0 ? lo : 0, hi > 1 ? hi : 1, 5);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", PW, PH, PW, PH, PW, PH);
    fprintf(f, "<text x=\"%d\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">", PW / 2);
    xml_text(f, c->title);
    fputs("</text>\n", f);
    draw_ticks(f, &x, &yl, &yr, has_right);
    fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#333\"/>\n", ML, MT, PW - ML - MR, PH - MT - MB);
    for (int k = 0; k < c->ns; k++) draw_series(f, &c->s[k], &x, c->s[k].right ? &yr : &yl);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (ML + PW - MR) / 2, PH - 18);
    xml_text(f, c->xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(20,%d) rotate(-90)\" text-anchor=\"middle\">",
            (MT + PH - MB) / 2);
    xml_text(f, c->left_label);
    fputs("</text>\n", f);
    if (has_right) {
        fprintf(f, "<text transform=\"translate(%d,%d) rotate(90)\" text-anchor=\"middle\">",
                PW - 22, (MT + PH - MB) / 2);
        xml_text(f, c->right_label);
        fputs("</text>\n", f);
    }
    draw_legend(f, c->s, c->ns);
    fputs("</svg>\n", f);
    return 0;
}

int plot_svg(const char *path, const char *title, const char *xlabel, const char *left_label,
             const char *right_label, const plot_series *s, int ns)
{
    plot_ctx c = {title, xlabel, left_label, right_label, s, ns, 0};
    for (int k = 0; k < ns; k++)
        if (s[k].n > c.n) c.n = s[k].n;
    return cli_write_atomic(path, write_svg, &c);
}

/* Whether the locale (LC_ALL, LC_CTYPE, LANG: the first one set) says UTF-8. */
static int locale_utf8(void)
{
    const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (!v || !*v) continue;
        char low[64];
        size_t j = 0;
        for (; v[j] && j < sizeof low - 1; j++) low[j] = (char)tolower((unsigned char)v[j]);
        low[j] = '\0';
        return strstr(low, "utf-8") || strstr(low, "utf8");
    }
    return 0;
}

void plot_sparkline(FILE *f, const float *v, size_t n, int width)
{
    static const char *const blocks[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                          "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[8] = {'_', '.', '-', ':', '=', '+', '*', '#'};
    int utf8 = locale_utf8();
    if (n == 0 || width < 1) return;
    size_t cells = n < (size_t)width ? n : (size_t)width;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    for (size_t c = 0; c < cells; c++) {
        // Each cell shows the mean of its share of the points.
        size_t a = c * n / cells, b = (c + 1) * n / cells;
        double sum = 0;
        size_t k = 0;
        for (size_t i = a; i < b; i++)
            if (isfinite(v[i])) sum += v[i], k++;
        int level = 0;
        if (k && hi > lo) level = (int)floor((sum / (double)k - lo) / (hi - lo) * 7.999);
        if (level < 0) level = 0;
        if (level > 7) level = 7;
        if (!k) fputc(' ', f);
        else if (utf8) fputs(blocks[level], f);
        else fputc(ascii[level], f);
    }
}
