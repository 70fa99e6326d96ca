/* wrap.c - text wrapped to a width, for what lamina prints for people
 * (--help, lamina info): a line that runs past the terminal's edge is
 * folded by the terminal wherever it hits the edge, mid-word and back at
 * column 0, which breaks help's columns and info's key/value layout. */
#include "cli.h"

#include <string.h>

/* Columns of s[0..n): UTF-8 continuation bytes take none. */
static int cols(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static void spaces(FILE *f, int n)
{
    for (; n > 0; n--) fputc(' ', f);
}

void cli_wrap(FILE *f, const char *text, int col, int indent, int width, const char *seps)
{
    // A space is a break point only when seps names it. Spaces where a
    // line breaks are dropped, as a reader expects; any other separator
    // (',') stays at the end of the line, so "a,b,c" joins back as it was.
    int at_space = strchr(seps, ' ') != NULL;
    int fresh = col <= indent; // nothing of the text on this line yet
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            fputc('\n', f);
            spaces(f, indent);
            col = indent;
            fresh = 1;
            p++;
            continue;
        }
        // The spaces before the next piece, and the piece: up to the next
        // newline or breaking space, or just after a separator, but not
        // inside double quotes (a name shown quoted, "radius, mean", is
        // one piece; a backslash there escapes the next byte).
        size_t gap = 0, n = 0;
        int quoted = 0;
        while (p[gap] == ' ') gap++;
        const char *w = p + gap;
        while (w[n] && w[n] != '\n' && (quoted || !(at_space && w[n] == ' '))) {
            if (w[n] == '"') quoted = !quoted;
            else if (quoted && w[n] == '\\' && w[n + 1] && w[n + 1] != '\n') n++;
            n++;
            if (!quoted && w[n - 1] != ' ' && strchr(seps, w[n - 1])) break;
        }
        p = w + n;
        if (n == 0) continue; // spaces at the end or before a newline
        int wc = cols(w, n);
        if (!fresh && col + (int)gap + wc > width) {
            // A piece wider than a whole line is printed whole on its own
            // line: cutting a name or a path would change what it says.
            fputc('\n', f);
            spaces(f, indent);
            col = indent;
        } else {
            spaces(f, (int)gap);
            col += (int)gap;
        }
        fwrite(w, 1, n, f);
        col += wc;
        fresh = 0;
    }
    fputc('\n', f);
}

int cli_out_width(int fd)
{
    int w = cli_term_width(fd);
    if (w <= 0) w = 80;
    return w < CLI_MIN_WIDTH ? CLI_MIN_WIDTH : w;
}
