/* zip.c - a small, strict reader of zip archives held in memory, for
 * NumPy's .npz files (np.savez: members stored; np.savez_compressed:
 * deflated).
 *
 * The central directory is the archive's index: it is found through the
 * end record (which must end the file, its comment included), and each
 * member's sizes, CRC and place come from it; a local header is only read
 * to find where the data starts. Every offset and size is untrusted and
 * checked against the bytes really there. Deflated data is inflated by
 * zlib (raw deflate) into exactly the size the directory claims, which
 * may be at most 1032 times the compressed size (deflate's best ratio),
 * and the result must match the CRC-32. Zip64 is read: the zip64 end
 * record (Python's zipfile and `zip -fz` write it for archives over 4 GiB
 * or 65535 members, or when forced) and the directory entries' zip64
 * extra fields. Spanned archives, encrypted members and other compression
 * methods are refused. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ZIP_EOCD 0x06054b50u
#define ZIP_CDIR 0x02014b50u
#define ZIP_LOCAL 0x04034b50u
#define ZIP_EOCD64_LOC 0x07064b50u
#define ZIP_EOCD64 0x06064b50u
#define ZIP_INFLATE_CHUNK ((size_t)1 << 30) /* bytes per inflate call */

static uint32_t le16(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8;
}

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const unsigned char *b)
{
    return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

/* Reads a directory entry's zip64 extra field (id 1): the fields whose
 * 32-bit value is 0xffffffff follow in this order. */
static lm_status zip64_extra(const char *name, const unsigned char *x, size_t xlen,
                             uint64_t *usize, uint64_t *csize, uint64_t *off)
{
    int need_u = *usize == 0xffffffffu, need_c = *csize == 0xffffffffu,
        need_o = *off == 0xffffffffu;
    while (xlen >= 4) {
        uint32_t id = le16(x), sz = le16(x + 2);
        if (sz > xlen - 4) break;
        if (id == 1) {
            const unsigned char *p = x + 4;
            size_t left = sz;
            uint64_t *f[3] = {need_u ? usize : NULL, need_c ? csize : NULL, need_o ? off : NULL};
            for (int i = 0; i < 3; i++) {
                if (!f[i]) continue;
                if (left < 8)
                    return lm__err(LM_EFORMAT, "%s: a zip64 extra field too short", name);
                *f[i] = le64(p);
                p += 8;
                left -= 8;
            }
            return LM_OK;
        }
        x += 4 + sz;
        xlen -= 4 + sz;
    }
    if (need_u || need_c || need_o)
        return lm__err(LM_EFORMAT, "%s: sizes of 0xffffffff without a zip64 extra field", name);
    return LM_OK;
}

lm_status lm__zip_list(const char *path, const unsigned char *b, size_t len,
                       lm__zip_entry **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (len < 22) return lm__err(LM_EFORMAT, "%s: too short for a zip archive (%zu bytes)", path, len);
    /* The end record: the last one whose comment reaches the file's end. */
    size_t eocd = 0;
    int found = 0;
    size_t lowest = len - 22 > 65535 ? len - 22 - 65535 : 0;
    for (size_t at = len - 22 + 1; at-- > lowest;)
        if (le32(b + at) == ZIP_EOCD && at + 22 + le16(b + at + 20) == len) {
            eocd = at;
            found = 1;
            break;
        }
    if (!found)
        return lm__err(LM_EFORMAT, "%s: no zip end record (not a zip archive, or truncated)", path);
    const unsigned char *e = b + eocd;
    uint64_t disk = le16(e + 4), cd_disk = le16(e + 6), n_disk = le16(e + 8), n = le16(e + 10);
    uint64_t cd_size = le32(e + 12), cd_off = le32(e + 16);
    size_t dir_end = eocd; /* where the directory must end */
    if (eocd >= 20 && le32(b + eocd - 20) == ZIP_EOCD64_LOC) {
        /* the zip64 end record, which the locator before the end record
         * points to: its 64-bit counts replace the end record's */
        uint64_t at = le64(b + eocd - 20 + 8);
        if (le32(b + eocd - 20 + 4) != 0 || le32(b + eocd - 20 + 16) > 1 || at > eocd - 20 ||
            eocd - 20 - at < 56 || le32(b + at) != ZIP_EOCD64)
            return lm__err(LM_EFORMAT, "%s: a zip64 end record locator that points to no "
                           "record (truncated or spanning several files)", path);
        const unsigned char *e64 = b + at;
        disk = le32(e64 + 16);
        cd_disk = le32(e64 + 20);
        n_disk = le64(e64 + 24);
        n = le64(e64 + 32);
        cd_size = le64(e64 + 40);
        cd_off = le64(e64 + 48);
        dir_end = (size_t)at;
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n)
        return lm__err(LM_EFORMAT, "%s: a zip archive spanning several files", path);
    /* every entry takes 46 bytes at least: a count the directory cannot
     * hold is refused before the entries are allocated */
    if (n > (uint64_t)INT32_MAX || n > cd_size / 46 + (cd_size == 0))
        return lm__err(LM_EFORMAT, "%s: %llu members claimed in a zip directory of %llu bytes",
                       path, (unsigned long long)n, (unsigned long long)cd_size);
    if (cd_off > dir_end || cd_size > dir_end - cd_off)
        return lm__err(LM_EFORMAT, "%s: the zip central directory (%llu bytes at %llu) lies "
                       "outside the file", path, (unsigned long long)cd_size,
                       (unsigned long long)cd_off);
    lm__zip_entry *en = lm__alloc(n ? (size_t)n : 1, sizeof *en, "zip directory");
    if (!en) return LM_ENOMEM;
    const unsigned char *p = b + cd_off, *end = p + cd_size;
    lm_status st = LM_OK;
    for (uint32_t i = 0; i < n && st == LM_OK; i++) {
        if ((size_t)(end - p) < 46 || le32(p) != ZIP_CDIR) {
            st = lm__err(LM_EFORMAT, "%s: zip directory entry %u of %u is malformed", path,
                         i + 1, (unsigned)n);
            break;
        }
        lm__zip_entry *z = &en[i];
        size_t nlen = le16(p + 28), xlen = le16(p + 30), clen = le16(p + 32);
        if (46 + nlen + xlen + clen > (size_t)(end - p)) {
            st = lm__err(LM_EFORMAT, "%s: zip directory entry %u runs past the directory",
                         path, i + 1);
            break;
        }
        z->name = (const char *)p + 46;
        z->name_len = nlen;
        z->flags = le16(p + 8);
        z->method = le16(p + 10);
        z->crc = le32(p + 16);
        uint64_t csize = le32(p + 20), usize = le32(p + 24), off = le32(p + 42);
        if ((st = zip64_extra(path, p + 46 + nlen, xlen, &usize, &csize, &off)) != LM_OK) break;
        p += 46 + nlen + xlen + clen;
        /* the local header (30 bytes, its name and extra), then the data */
        if (off > cd_off || cd_off - off < 30 || le32(b + off) != ZIP_LOCAL) {
            st = lm__err(LM_EFORMAT, "%s: member '%.*s': no local header at offset %llu", path,
                         (int)nlen, z->name, (unsigned long long)off);
            break;
        }
        uint64_t data = off + 30 + le16(b + off + 26) + le16(b + off + 28);
        if (data > cd_off || csize > cd_off - data) {
            st = lm__err(LM_EFORMAT, "%s: member '%.*s': its %llu bytes run past the archive's "
                         "data (truncated?)", path, (int)nlen, z->name, (unsigned long long)csize);
            break;
        }
        z->data = b + data;
        z->csize = csize;
        z->usize = usize;
    }
    if (st != LM_OK) {
        free(en);
        return st;
    }
    *out = en;
    *n_out = (int)n;
    return LM_OK;
}

/* Raw deflate data into exactly len bytes of out. */
static lm_status inflate_exact(const char *path, const lm__zip_entry *z, unsigned char *out,
                               size_t len)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
        return lm__err(LM_ENOMEM, "%s: cannot start zlib's inflate", path);
    const unsigned char *in = z->data;
    size_t in_left = (size_t)z->csize, out_done = 0;
    int r;
    for (;;) {
        size_t ci = in_left < ZIP_INFLATE_CHUNK ? in_left : ZIP_INFLATE_CHUNK;
        size_t co = len - out_done < ZIP_INFLATE_CHUNK ? len - out_done : ZIP_INFLATE_CHUNK;
        s.next_in = (unsigned char *)in;
        s.avail_in = (uInt)ci;
        s.next_out = out + out_done;
        s.avail_out = (uInt)co;
        r = inflate(&s, Z_NO_FLUSH);
        in += ci - s.avail_in;
        in_left -= ci - s.avail_in;
        out_done += co - s.avail_out;
        if (r != Z_OK) break; /* Z_BUF_ERROR: no progress, input used up or output full */
    }
    const char *msg = s.msg;
    inflateEnd(&s);
    int nm = (int)z->name_len;
    if (r == Z_STREAM_END && out_done == len && in_left == 0) return LM_OK;
    if (r == Z_STREAM_END && out_done == len)
        return lm__err(LM_EFORMAT, "%s: member '%.*s': %zu bytes after its deflate data", path,
                       nm, z->name, in_left);
    if (r == Z_STREAM_END || (r == Z_BUF_ERROR && out_done == len))
        return lm__err(LM_EFORMAT, "%s: member '%.*s': inflates to %s than the %zu bytes the "
                       "directory says", path, nm, z->name, r == Z_STREAM_END ? "fewer" : "more",
                       len);
    if (r == Z_BUF_ERROR)
        return lm__err(LM_EFORMAT, "%s: member '%.*s': its deflate data ends early (after %zu "
                       "of %zu bytes)", path, nm, z->name, out_done, len);
    if (r == Z_MEM_ERROR) return lm__err(LM_ENOMEM, "%s: out of memory in inflate", path);
    return lm__err(LM_EFORMAT, "%s: member '%.*s': corrupt deflate data: %s", path, nm, z->name,
                   msg ? msg : "error");
}

lm_status lm__zip_extract(const char *path, const lm__zip_entry *z, unsigned char **out,
                          size_t *len)
{
    *out = NULL;
    *len = 0;
    int nm = (int)z->name_len;
    if (z->flags & 1)
        return lm__err(LM_EFORMAT, "%s: member '%.*s' is encrypted", path, nm, z->name);
    if (z->method != 0 && z->method != 8)
        return lm__err(LM_EFORMAT, "%s: member '%.*s': compression method %u (lamina reads "
                       "stored (0) and deflate (8), what np.savez and np.savez_compressed "
                       "write)", path, nm, z->name, z->method);
    if (z->method == 0 && z->usize != z->csize)
        return lm__err(LM_EFORMAT, "%s: member '%.*s': stored, but its sizes differ (%llu and "
                       "%llu bytes)", path, nm, z->name, (unsigned long long)z->usize,
                       (unsigned long long)z->csize);
    /* deflate's best ratio is 1032:1: a larger claim is a lie, refused
     * before allocating it */
    if (z->method == 8 && z->usize / 1032 > z->csize + 1)
        return lm__err(LM_EFORMAT, "%s: member '%.*s': %llu compressed bytes cannot inflate to "
                       "the %llu the directory says", path, nm, z->name,
                       (unsigned long long)z->csize, (unsigned long long)z->usize);
    if (z->usize > lm_alloc_limit() || z->usize > SIZE_MAX)
        return lm__err(LM_ENOMEM, "%s: member '%.*s': %llu bytes, over the allocation limit "
                       "(%llu bytes)", path, nm, z->name, (unsigned long long)z->usize,
                       (unsigned long long)lm_alloc_limit());
    size_t n = (size_t)z->usize;
    unsigned char *b = lm__alloc(n ? n : 1, 1, "zip member");
    if (!b) return LM_ENOMEM;
    lm_status st = LM_OK;
    if (z->method == 0) memcpy(b, z->data, n);
    else st = inflate_exact(path, z, b, n);
    if (st == LM_OK) {
        uLong crc = crc32(0L, Z_NULL, 0);
        for (size_t at = 0; at < n;) {
            size_t c = n - at < ZIP_INFLATE_CHUNK ? n - at : ZIP_INFLATE_CHUNK;
            crc = crc32(crc, b + at, (uInt)c);
            at += c;
        }
        if ((uint32_t)crc != z->crc)
            st = lm__err(LM_EFORMAT, "%s: member '%.*s': CRC-32 mismatch (data %08x, directory "
                         "%08x): the archive is corrupt", path, nm, z->name, (unsigned)crc,
                         (unsigned)z->crc);
    }
    if (st != LM_OK) {
        free(b);
        return st;
    }
    *out = b;
    *len = n;
    return LM_OK;
}
