/* util.c - messages, clocks, atomic file writes and JSON bits shared by
 * the lamina commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_err(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    // One line, whatever the message held.
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    fflush(stdout);
    fprintf(stderr, "lamina: %s\n", msg);
}

int cli_lib_err(int code, const char *path)
{
    const char *m = lm_errmsg();
    if (!m || !*m) m = "failed";
    if (path && !strstr(m, path))
        cli_err("%s: %s", path, m);
    else
        cli_err("%s", m);
    return code;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The folder part of path ("." when none) into buf. */
static void dir_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(buf, size, ".");
    } else if (slash == path) {
        snprintf(buf, size, "/");
    } else {
        snprintf(buf, size, "%.*s", (int)(slash - path), path);
    }
}

int cli_check_writable(const char *path)
{
    char dir[4096];
    if (strlen(path) >= sizeof dir - 16) {
        cli_err("%s: path too long", path);
        return 0;
    }
    dir_of(path, dir, sizeof dir);
    if (access(dir, W_OK | X_OK) != 0) {
        cli_err("%s: cannot write here: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}

int cli_write_atomic(const char *path, int (*fn)(FILE *f, void *ctx), void *ctx)
{
    char tmp[4096];
    if (strlen(path) + 16 >= sizeof tmp) {
        cli_err("%s: path too long", path);
        return CLI_EFAIL;
    }
    snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cli_err("%s: cannot create a temporary file: %s", path, strerror(errno));
        return CLI_EFAIL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        cli_err("%s: %s", path, strerror(errno));
        return CLI_EFAIL;
    }
    int ok = fn(f, ctx) == 0;
    ok = ok && !ferror(f) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    // mkstemp makes 0600; plots and logs follow the umask like any new
    // file (the CLI is single-threaded, so reading the umask is safe).
    if (ok) {
        mode_t um = umask(0);
        umask(um);
        chmod(tmp, 0666 & ~um);
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        cli_err("%s: cannot write: %s", path, strerror(err ? err : EIO));
        return CLI_EFAIL;
    }
    return CLI_OK;
}

void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

uint64_t cli_params_hash(const lm_net *net)
{
    const unsigned char *p = (const unsigned char *)lm_net_params_const(net);
    size_t n = lm_net_n_params(net) * sizeof(float);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}
