/* pb.c - protobuf wire format: a bounded reader and a growing writer
 * (see pb.h). Written from the wire-format description, not from any
 * generated code. */
#include "onnx/pb.h"

#include <stdlib.h>
#include <string.h>

lm_status pb_varint(pb_reader *r, uint64_t *v, const char *what)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end) return lm__err(LM_EFORMAT, "%s: a number is cut short", what);
        unsigned b = *r->p++;
        /* the tenth byte carries bit 63 only: anything more overflows */
        if (i == 9 && b > 1) return lm__err(LM_EFORMAT, "%s: a number is longer than 64 bits", what);
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return LM_OK;
        }
    }
    return lm__err(LM_EFORMAT, "%s: a number is longer than 10 bytes", what);
}

int pb_next(pb_reader *r, pb_field *f, const char *what, lm_status *st)
{
    *st = LM_OK;
    if (r->p >= r->end) return 0;
    uint64_t key;
    if ((*st = pb_varint(r, &key, what))) return 0;
    memset(f, 0, sizeof *f);
    f->wire = (int)(key & 7);
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) {
        *st = lm__err(LM_EFORMAT, "%s: bad field number %llu", what, (unsigned long long)(key >> 3));
        return 0;
    }
    f->num = (uint32_t)(key >> 3);
    size_t left = (size_t)(r->end - r->p);
    switch (f->wire) {
    case PB_VARINT:
        if ((*st = pb_varint(r, &f->v, what))) return 0;
        return 1;
    case PB_I64:
        if (left < 8) break;
        f->v = pb_le64(r->p);
        r->p += 8;
        return 1;
    case PB_I32:
        if (left < 4) break;
        f->v = pb_le32(r->p);
        r->p += 4;
        return 1;
    case PB_LEN: {
        uint64_t n;
        if ((*st = pb_varint(r, &n, what))) return 0;
        left = (size_t)(r->end - r->p);
        if (n > left) {
            *st = lm__err(LM_EFORMAT, "%s: field %u claims %llu bytes, %zu are left", what, f->num,
                          (unsigned long long)n, left);
            return 0;
        }
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        *st = lm__err(LM_EFORMAT, "%s: field %u has wire type %d, which ONNX does not use", what,
                      f->num, f->wire);
        return 0;
    }
    *st = lm__err(LM_EFORMAT, "%s: field %u is cut short", what, f->num);
    return 0;
}

void pb_buf_free(pb_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void pb_put_raw(pb_buf *b, const void *data, size_t len)
{
    if (b->err || len == 0) return;
    if (len > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < len) {
            if (cap > SIZE_MAX / 2) {
                b->err = lm__err(LM_ENOMEM, "ONNX model too large");
                return;
            }
            cap *= 2;
        }
        unsigned char *p = lm__realloc(b->p, cap, 1, "ONNX model");
        if (!p) {
            b->err = LM_ENOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
}

void pb_put_varint(pb_buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    do {
        t[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) t[n] |= 0x80;
        n++;
    } while (v);
    pb_put_raw(b, t, n);
}

static void key(pb_buf *b, uint32_t num, int wire) { pb_put_varint(b, (uint64_t)num << 3 | (unsigned)wire); }

void pb_put_int(pb_buf *b, uint32_t num, int64_t v)
{
    key(b, num, PB_VARINT);
    pb_put_varint(b, (uint64_t)v); /* negative int64 takes ten bytes, as protobuf says */
}

void pb_put_float(pb_buf *b, uint32_t num, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    unsigned char t[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                          (unsigned char)(u >> 24)};
    key(b, num, PB_I32);
    pb_put_raw(b, t, 4);
}

void pb_put_bytes(pb_buf *b, uint32_t num, const void *data, size_t len)
{
    key(b, num, PB_LEN);
    pb_put_varint(b, len);
    pb_put_raw(b, data, len);
}

void pb_put_str(pb_buf *b, uint32_t num, const char *s) { pb_put_bytes(b, num, s, strlen(s)); }

void pb_put_msg(pb_buf *b, uint32_t num, const pb_buf *sub)
{
    if (sub->err && !b->err) b->err = sub->err;
    pb_put_bytes(b, num, sub->p, sub->n);
}
