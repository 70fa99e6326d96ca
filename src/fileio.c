/* fileio.c - whole-file reads with a size bound, and atomic writes: a
 * temporary file in the same folder, fsync, rename, fsync of the folder,
 * so a crash leaves either the old file or the new one, never half; a
 * pair of files (the C export's .c and .h) is written both or neither. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

lm_status lm__read_file(const char *path, unsigned char **buf, size_t *len)
{
    size_t max = (size_t)(lm_alloc_limit() > SIZE_MAX ? SIZE_MAX : lm_alloc_limit());
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return lm__err(LM_EIO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return lm__err(LM_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)max) {
        close(fd);
        return lm__err(LM_ENOMEM, "%s: %lld bytes is over the limit of %zu", path, (long long)sb.st_size, max);
    }
    size_t size = (size_t)sb.st_size, got = 0;
    unsigned char *p = lm__alloc(size ? size : 1, 1, path);
    if (!p) {
        close(fd);
        return LM_ENOMEM;
    }
    while (got < size) {
        ssize_t r = read(fd, p + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            free(p);
            close(fd);
            return lm__err(LM_EIO, "%s: read failed after %zu of %zu bytes%s%s", path, got, size,
                           r < 0 ? ": " : "", r < 0 ? strerror(e) : "");
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = p;
    *len = size;
    return LM_OK;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w == 0) errno = EIO; /* no progress and no reason given */
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync the folder holding path so the rename itself is durable. Best
 * effort: the new file is already in place, and some file systems refuse
 * to fsync a folder. */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Creates a new temporary file next to path: 0666 less the umask (as any
 * new file), or the mode of the file it will replace. */
static int open_temp(const char *path, char *tmp, size_t size)
{
    static _Atomic unsigned counter;
    struct stat sb;
    int have_old = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, size, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST) {
            if (fd >= 0 && have_old) fchmod(fd, sb.st_mode & 07777);
            return fd;
        }
    }
    return -1;
}

/* Whether the symbolic link at path lies in /proc (on its file system):
 * an open descriptor (/dev/stdout, /dev/fd/N lead to /proc/self/fd/N),
 * whose "target" is whatever the descriptor points at. */
static int in_proc(const char *path)
{
    char *copy = strdup(path);
    struct stat sd, sp;
    int in = copy && stat(dirname(copy), &sd) == 0 && stat("/proc", &sp) == 0 &&
             sd.st_dev == sp.st_dev;
    free(copy);
    return in;
}

/* The file a path finally names when its last part is a symbolic link
 * (followed up to 40 times, as the kernel does; a relative target is
 * relative to the link's folder), newly allocated; a copy of path when it
 * is no link. Writing there keeps the link: an editor saving through a
 * link changes the file it points to, and so does lamina. *proc is set
 * when a link is a descriptor (in_proc). */
static char *final_target(const char *path, int *proc)
{
    char *cur = strdup(path);
    *proc = 0;
    for (int hop = 0; cur && hop < 40; hop++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode)) return cur;
        if (in_proc(cur)) {
            *proc = 1;
            return cur;
        }
        size_t cap = (size_t)sb.st_size + 1 < 4096 ? 4096 : (size_t)sb.st_size + 1;
        char *link = malloc(cap);
        ssize_t n = link ? readlink(cur, link, cap - 1) : -1;
        if (n < 0) {
            free(link);
            return cur; /* raced away or unreadable: write at the name given */
        }
        link[n] = '\0';
        const char *slash = strrchr(cur, '/');
        char *next;
        if (link[0] == '/' || !slash) {
            next = link;
        } else {
            size_t dl = (size_t)(slash - cur) + 1;
            next = malloc(dl + (size_t)n + 1);
            if (next) {
                memcpy(next, cur, dl);
                memcpy(next + dl, link, (size_t)n + 1);
            }
            free(link);
        }
        free(cur);
        cur = next;
    }
    return cur;
}

/* The file path_given finally names, newly allocated in *path, or an
 * LM_EIO (LM_ENOMEM) refusal of a name that is not a regular file: a
 * rename replaces whatever the name held, a device (/dev/null itself,
 * for root), a pipe, or the file behind a descriptor that another writer
 * (a shell's redirection) still holds. Only a regular file, or none, is
 * replaced. */
static lm_status write_target(const char *path_given, char **path)
{
    int proc;
    struct stat sb;
    *path = final_target(path_given, &proc);
    if (!*path) return lm__err(LM_ENOMEM, "%s: out of memory", path_given);
    lm_status st = LM_OK;
    if (proc)
        st = lm__err(LM_EIO, "%s: is an open descriptor, not a file: a file is written "
                     "to a new file renamed into place", path_given);
    else if (stat(*path, &sb) == 0 && !S_ISREG(sb.st_mode))
        st = lm__err(LM_EIO, "%s: is not a regular file (a %s would be replaced, not written)",
                     path_given, S_ISDIR(sb.st_mode) ? "folder" : "device or pipe");
    if (st) {
        free(*path);
        *path = NULL;
    }
    return st;
}

/* Writes buf to a new temporary file next to path and syncs it; *tmp
 * (newly allocated) is its name, for rename_into to put in place. On
 * failure nothing is left behind. */
static lm_status write_temp(const char *path, const void *buf, size_t len, char **tmp_out)
{
    size_t size = strlen(path) + 40;
    char *tmp = lm__alloc(size, 1, path);
    *tmp_out = NULL;
    if (!tmp) return LM_ENOMEM;
    int fd = open_temp(path, tmp, size);
    if (fd < 0) {
        lm_status st = lm__err(LM_EIO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    int bad = write_all(fd, buf, len) != 0 || fsync(fd) != 0;
    int e = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        free(tmp);
        return lm__err(LM_EIO, "%s: write failed: %s", path, strerror(e));
    }
    *tmp_out = tmp;
    return LM_OK;
}

/* Renames the temporary file tmp over path (removing tmp if that fails). */
static lm_status rename_into(const char *path, const char *tmp)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return lm__err(LM_EIO, "%s: write failed: %s", path, strerror(e));
    }
    sync_dir(path);
    return LM_OK;
}

lm_status lm__write_atomic(const char *path, const void *buf, size_t len)
{
    return lm__write_atomic2(path, buf, len, NULL, NULL, 0);
}

lm_status lm__write_atomic2(const char *path1, const void *buf1, size_t len1, const char *path2,
                            const void *buf2, size_t len2)
{
    const char *given[2] = {path1, path2};
    const void *buf[2] = {buf1, buf2};
    size_t len[2] = {len1, len2};
    char *path[2] = {NULL, NULL}, *tmp[2] = {NULL, NULL};
    int n = path2 ? 2 : 1;
    lm_status st = LM_OK;
    for (int i = 0; st == LM_OK && i < n; i++) st = write_target(given[i], &path[i]);
    /* every file written and synced before the first rename: a failure
     * (a full disk) leaves all the old files as they were */
    for (int i = 0; st == LM_OK && i < n; i++) st = write_temp(path[i], buf[i], len[i], &tmp[i]);
    for (int i = 0; i < n; i++) {
        if (st == LM_OK) st = rename_into(path[i], tmp[i]);
        else if (tmp[i]) unlink(tmp[i]);
        free(tmp[i]);
        free(path[i]);
    }
    return st;
}
