/* source.c - the bytes of a data file, plain or gzip-compressed.
 *
 * The readers of IDX, CSV and FANN data take a file as its author saved
 * it: `gzip train.csv` gives train.csv.gz, which reads as train.csv did.
 * A file is gzip when it starts with the gzip magic (1f 8b), whatever its
 * name; zlib inflates it in bounded chunks, and a stream that ends early
 * or is corrupt is an error naming the file, never a short read taken for
 * the end of the data. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define SRC_CHUNK ((size_t)1 << 24) /* bytes per gzread call */

lm_status lm__src_open(lm__src *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) return lm__err(LM_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int e = fstat(fileno(f), &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? EISDIR : 0;
    s->regular = !e && S_ISREG(sb.st_mode);
    unsigned char magic[2] = {0, 0};
    /* A pipe cannot be read twice: only a regular file is sniffed. */
    size_t got = e || !s->regular ? 0 : fread(magic, 1, 2, f);
    if (!e && ferror(f)) e = errno;
    if (e) {
        fclose(f);
        return lm__err(LM_EIO, "%s: cannot read: %s", path, strerror(e));
    }
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        s->gz = gzopen(path, "rb");
        if (!s->gz) return lm__err(LM_EIO, "%s: cannot open: %s", path, strerror(errno));
        gzbuffer(s->gz, 1 << 17);
        s->compressed_size = (uint64_t)sb.st_size;
        return LM_OK;
    }
    if (s->regular && fseek(f, 0, SEEK_SET) != 0) {
        e = errno;
        fclose(f);
        return lm__err(LM_EIO, "%s: cannot seek: %s", path, strerror(e));
    }
    s->f = f;
    s->size_known = s->regular;
    s->size = (uint64_t)sb.st_size;
    return LM_OK;
}

void lm__src_close(lm__src *s)
{
    if (s->f) fclose(s->f);
    if (s->gz) gzclose(s->gz);
    s->f = NULL;
    s->gz = NULL;
}

lm_status lm__src_read(lm__src *s, void *buf, size_t n, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    if (s->f) {
        *got = fread(p, 1, n, s->f);
        if (ferror(s->f))
            return lm__err(LM_EIO, "%s: read error: %s", s->path, strerror(errno));
        return LM_OK;
    }
    while (*got < n) {
        size_t want = n - *got < SRC_CHUNK ? n - *got : SRC_CHUNK;
        int r = gzread(s->gz, p + *got, (unsigned)want);
        int errnum = Z_OK;
        const char *msg = gzerror(s->gz, &errnum);
        if (r < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
            if (errnum == Z_ERRNO)
                return lm__err(LM_EIO, "%s: read error: %s", s->path, strerror(errno));
            /* zlib prefixes its message with the path gzopen was given */
            size_t pl = strlen(s->path);
            if (strncmp(msg, s->path, pl) == 0 && msg[pl] == ':')
                msg += pl + (msg[pl + 1] == ' ' ? 2 : 1);
            return lm__err(LM_EFORMAT, "%s: corrupt gzip data: %s", s->path, msg);
        }
        *got += (size_t)r;
        if ((size_t)r < want) {
            s->truncated = errnum == Z_BUF_ERROR;
            break;
        }
    }
    return LM_OK;
}

lm_status lm__src_slurp(const char *path, lm__src_check check, void *ctx, char **out,
                        size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    lm__src s;
    lm_status st = lm__src_open(&s, path);
    if (st != LM_OK) return st;
    /* A regular plain file is read into one buffer of its size; gzip data
     * and a pipe grow the buffer (each size checked against the limit).
     * Either way the bytes are read and checked a megabyte at a time, so
     * /dev/zero, a binary file or a gzip bomb of zeros is refused early. */
    uint64_t limit = lm_alloc_limit();
    size_t cap = 65536;
    if (s.size_known && s.size > 0)
        cap = s.size >= limit || s.size >= SIZE_MAX ? SIZE_MAX : (size_t)s.size + 1;
    else if (s.gz && s.compressed_size < (SIZE_MAX >> 3) && s.compressed_size * 4 + 1 > cap)
        cap = (size_t)s.compressed_size * 4 + 1; /* text compresses 3-10x */
    if (cap != SIZE_MAX && cap > limit) cap = (size_t)limit;
    char *buf = lm__alloc(cap, 1, "data file");
    if (!buf) {
        lm__src_close(&s);
        lm__err_prefix("%s", path);
        return LM_ENOMEM;
    }
    size_t len = 0;
    for (;;) {
        size_t want = cap - 1 - len, got;
        if (want > ((size_t)1 << 20)) want = (size_t)1 << 20;
        if (want) {
            if ((st = lm__src_read(&s, buf + len, want, &got)) != LM_OK) break;
            if (check && (st = check(ctx, buf, len, len + got)) != LM_OK) break;
            len += got;
            if (got == want) continue;
        } else {
            /* The buffer is full: one byte more says whether it must grow
             * (a regular file's size was right unless it grew meanwhile). */
            char ch;
            if ((st = lm__src_read(&s, &ch, 1, &got)) != LM_OK) break;
            if (got == 1) {
                /* Twice the size, or the limit itself when that is less
                 * (the start size of gzip data is no power of two). */
                if ((uint64_t)cap >= limit || cap > SIZE_MAX / 2) {
                    st = lm__err(LM_ENOMEM, "%s: larger than the allocation limit (%llu bytes)%s",
                                 path, (unsigned long long)limit,
                                 s.gz ? " once uncompressed" : "");
                    break;
                }
                size_t ncap = (uint64_t)cap * 2 > limit ? (size_t)limit : cap * 2;
                /* realloc, but only to a size the limit allows (checked above). */
                char *nb = realloc(buf, ncap);
                if (!nb) {
                    st = lm__err(LM_ENOMEM, "%s: out of memory reading the file", path);
                    break;
                }
                buf = nb;
                cap = ncap;
                buf[len] = ch;
                if (check && (st = check(ctx, buf, len, len + 1)) != LM_OK) break;
                len++;
                continue;
            }
        }
        if (s.truncated)
            st = lm__err(LM_EFORMAT, "%s: truncated gzip stream (unexpected end of file) after "
                         "%zu bytes of data", path, len);
        break;
    }
    lm__src_close(&s);
    if (st != LM_OK) {
        free(buf);
        return st;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return LM_OK;
}
