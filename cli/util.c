/* util.c - messages, clocks, atomic file writes and JSON bits shared by
 * the lamina commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_err_hold;
char cli_err_last[1024];

/* "lamina: msg" on stderr: on a terminal wrapped at spaces to its width,
 * later lines under the message; elsewhere one line, whole, for logs and
 * grep. */
static void print_msg(const char *msg)
{
    fflush(stdout);
    if (isatty(fileno(stderr))) {
        int col = fprintf(stderr, "lamina: ");
        cli_wrap(stderr, msg, col, col, cli_out_width(fileno(stderr)), " ");
    } else {
        fprintf(stderr, "lamina: %s\n", msg);
    }
}

void cli_err(const char *fmt, ...)
{
    char *msg = cli_err_last;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof cli_err_last, fmt, ap);
    va_end(ap);
    // One line, whatever the message held.
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    if (cli_err_hold) return;
    print_msg(msg);
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

/* Whether the symbolic link at path lies in /proc: a process's open
 * descriptor (/dev/stdout, /dev/fd/N and /proc/self/fd/N lead there), whose
 * "target" is wherever the descriptor points, a pipe or a file the shell
 * opened. Renaming a new file over that would take the file from under
 * the descriptor. */
static int in_proc(const char *path)
{
    char dir[4096];
    struct stat sd, sp;
    dir_of(path, dir, sizeof dir);
    return stat(dir, &sd) == 0 && stat("/proc", &sp) == 0 && sd.st_dev == sp.st_dev;
}

/* Follows path's last part while it is a symbolic link (a relative
 * target is relative to the link's folder) into buf: a write "through the
 * link" lands there, as the library's atomic writer does. 0, -1 when
 * the result does not fit, or -2 when a link is a descriptor (in_proc). */
static int final_target(const char *path, char *buf, size_t size)
{
    if (strlen(path) >= size) return -1;
    strcpy(buf, path);
    for (int hop = 0; hop < 40; hop++) {
        struct stat sb;
        char link[4096];
        if (lstat(buf, &sb) != 0 || !S_ISLNK(sb.st_mode)) return 0;
        if (in_proc(buf)) return -2;
        ssize_t n = readlink(buf, link, sizeof link - 1);
        if (n < 0) return 0;
        link[n] = '\0';
        const char *slash = strrchr(buf, '/');
        if (link[0] == '/' || !slash) {
            if ((size_t)n >= size) return -1;
            memcpy(buf, link, (size_t)n + 1);
        } else {
            size_t dl = (size_t)(slash - buf) + 1;
            if (dl + (size_t)n >= size) return -1;
            memcpy(buf + dl, link, (size_t)n + 1);
        }
    }
    return 0;
}

void cli_append(char *s, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0) *len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

int cli_check_writable(const char *path)
{
    char dir[4096], target[4096];
    struct stat sb;
    int ft = strlen(path) >= sizeof dir - 16 ? -1 : final_target(path, target, sizeof target);
    if (ft == -2) {
        cli_err("%s: is an open descriptor (as /dev/stdout, /dev/fd/N), not a file: an "
                "output is written to a new file renamed into place; name a file", path);
        return 0;
    }
    if (ft != 0) {
        cli_err("%s: path too long", path);
        return 0;
    }
    if (stat(target, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cli_err("%s: is a folder; name a file in it", path);
        return 0;
    }
    if (stat(target, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        cli_err("%s: is not a regular file (a device or pipe would be replaced, not written)",
                path);
        return 0;
    }
    dir_of(target, dir, sizeof dir);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_err("%s: the folder %s does not exist", path, dir);
        return 0;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_err("%s: cannot write in %s: %s", path, dir, strerror(errno));
        return 0;
    }
    return 1;
}

/* A path's identity: the (device, inode) of the file when it exists, else
 * of its folder with the last name beside it, so "./m.lmn" and "m.lmn"
 * match before either exists. */
typedef struct path_id {
    dev_t dev;
    ino_t ino;
    int exists;
    char name[256];
} path_id;

static int path_identity(const char *path, path_id *id)
{
    struct stat sb;
    char dir[4096];
    memset(id, 0, sizeof *id);
    if (stat(path, &sb) == 0) {
        id->dev = sb.st_dev;
        id->ino = sb.st_ino;
        id->exists = 1;
        return 0;
    }
    if (strlen(path) >= sizeof dir) return -1;
    dir_of(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (stat(dir, &sb) != 0 || strlen(base) >= sizeof id->name) return -1;
    id->dev = sb.st_dev;
    id->ino = sb.st_ino;
    snprintf(id->name, sizeof id->name, "%s", base);
    return 0;
}

int cli_same_file(const char *a, const char *b)
{
    path_id ia, ib;
    if (!a || !b || path_identity(a, &ia) != 0 || path_identity(b, &ib) != 0) return 0;
    return ia.exists == ib.exists && ia.dev == ib.dev && ia.ino == ib.ino &&
           strcmp(ia.name, ib.name) == 0;
}

int cli_abspath(const char *path, char *buf, size_t size)
{
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) {
        if (strlen(path) >= size) return -1;
        strcpy(buf, path);
        return 0;
    }
    const char *p = path;
    while (p[0] == '.' && p[1] == '/') p += 2;
    int n = snprintf(buf, size, "%s/%s", strcmp(cwd, "/") ? cwd : "", p);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

const char *cli_meta(const lm_net *net, const char *key)
{
    const char *v = lm_net_get_meta(net, key);
    return v && *v ? v : NULL;
}

int cli_model_state_warn(const lm_net *net, const char *path)
{
    const char *state = lm_net_get_meta(net, "state");
    if (!state || strcmp(state, "trained") == 0) return 0;
    const char *done = lm_net_get_meta(net, "epochs");
    const char *planned = lm_net_get_meta(net, "epochs_planned");
    char msg[1024];
    if (strcmp(state, "untrained") == 0)
        snprintf(msg, sizeof msg, "warning: %s holds an untrained state (training was "
                 "interrupted before its first epoch ended); continue with lamina train "
                 "--resume %s", path, path);
    else
        snprintf(msg, sizeof msg, "warning: %s holds a partly trained state (%.32s of %.32s "
                 "epochs); continue with lamina train --resume %s",
                 path, done ? done : "?", planned ? planned : "?", path);
    print_msg(msg);
    return 1;
}

int cli_write_atomic(const char *path_given, int (*fn)(FILE *f, void *ctx), void *ctx)
{
    char tmp[4096], path[4096];
    // Through a symbolic link to its target, keeping the link.
    if (final_target(path_given, path, sizeof path) != 0 || strlen(path) + 16 >= sizeof tmp) {
        cli_err("%s: path too long", path_given);
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

int cli_utf8_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = *u;
    int len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
            : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (int i = 1; i < len; i++)
        if ((u[i] & 0xC0) != 0x80) return 0; // also stops at the terminating NUL
    if (len > 2 && ((c == 0xE0 && u[1] < 0xA0) || (c == 0xF0 && u[1] < 0x90) ||
                    (c == 0xED && u[1] > 0x9F) || (c == 0xF4 && u[1] > 0x8F)))
        return 0;
    return len;
}

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        int k;
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else if (*p < 0x80)
            fputc(*p, f);
        else if ((k = cli_utf8_len((const char *)p)) == 0)
            fprintf(f, "\\u%04x", *p); // not UTF-8: its Latin-1 character
        else {
            fwrite(p, 1, (size_t)k, f);
            p += k - 1;
        }
    }
    fputc('"', f);
}

size_t cli_name_shown(char *out, const char *c, int comma)
{
    int plain = *c != '\0';
    for (const unsigned char *p = (const unsigned char *)c; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '\\' || *p == 127 || (comma && *p == ',')) plain = 0;
    if (plain) return (size_t)sprintf(out, "%s", c);
    size_t at = 0;
    out[at++] = '"';
    for (const unsigned char *p = (const unsigned char *)c; *p; p++) {
        const char *e = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r"
                      : *p == '"' ? "\\\"" : *p == '\\' ? "\\\\" : NULL;
        if (e) at += (size_t)sprintf(out + at, "%s", e);
        else if (*p < ' ' || *p == 127) at += (size_t)sprintf(out + at, "\\x%02x", *p);
        else out[at++] = (char)*p;
    }
    out[at++] = '"';
    out[at] = '\0';
    return at;
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

int cli_term_width(int fd)
{
    // $COLUMNS first: a user who sets it means it (GNU ls and Python's
    // shutil do the same), and it is the only width a pipe has.
    const char *c = getenv("COLUMNS");
    char *end;
    long v = c ? strtol(c, &end, 10) : 0;
    if (c && *c && !*end && v > 0 && v < 100000) return (int)v;
    struct winsize ws;
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 0;
}
