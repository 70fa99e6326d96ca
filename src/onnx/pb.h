/* pb.h - the little of the protobuf wire format that ONNX files need:
 * varints, 32- and 64-bit fixed words and length-delimited fields, read
 * from an untrusted buffer and written into a growing one. No schema: the
 * ONNX field numbers live in onnx.h, next to the code that uses them. */
#ifndef LM_ONNX_PB_H
#define LM_ONNX_PB_H

#include "internal.h"

/* The functions declared here are the library's, shared between its
 * files: in liblamina.a they are global symbols, so they carry its
 * internal prefix (a program linked statically may have a pb_varint of its
 * own); the source keeps the short names. */
#define pb_varint lm__pb_varint
#define pb_next lm__pb_next
#define pb_buf_free lm__pb_buf_free
#define pb_put_raw lm__pb_put_raw
#define pb_put_varint lm__pb_put_varint
#define pb_put_int lm__pb_put_int
#define pb_put_float lm__pb_put_float
#define pb_put_bytes lm__pb_put_bytes
#define pb_put_str lm__pb_put_str
#define pb_put_msg lm__pb_put_msg

/* Wire types (the low three bits of a field's key). */
enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

/* A window over bytes being read; p never passes end. */
typedef struct pb_reader {
    const unsigned char *p, *end;
} pb_reader;

/* One field: its number, wire type and value. For PB_LEN, data/len point
 * into the reader's buffer (len already checked against what is left);
 * for the others v holds the value (fixed words little-endian). */
typedef struct pb_field {
    uint32_t num;
    int wire;
    uint64_t v;
    const unsigned char *data;
    size_t len;
} pb_field;

static inline pb_reader pb_window(const void *data, size_t len)
{
    pb_reader r = {(const unsigned char *)data, (const unsigned char *)data + len};
    return r;
}

/* Reads a varint (at most 10 bytes; the 10th may hold only bit 63).
 * LM_EFORMAT naming `what` when it is cut short or too long. */
lm_status pb_varint(pb_reader *r, uint64_t *v, const char *what);

/* The next field of a message, or 0 at its end (1 when one was read).
 * Groups (wire types 3, 4), unknown wire types, field number 0 and a
 * length past the end are LM_EFORMAT naming `what` (the message); the
 * status is returned through *st. */
int pb_next(pb_reader *r, pb_field *f, const char *what, lm_status *st);

/* A growing output buffer. After a failed allocation err is set and
 * every later write is dropped, so writers check once at the end. */
typedef struct pb_buf {
    unsigned char *p;
    size_t n, cap;
    lm_status err;
} pb_buf;

void pb_buf_free(pb_buf *b);
void pb_put_raw(pb_buf *b, const void *data, size_t len);
void pb_put_varint(pb_buf *b, uint64_t v);
/* Fields: an integer (varint), a 32-bit float, bytes or a string, and a
 * nested message already encoded into sub (whose bytes are appended;
 * sub is left as it was). */
void pb_put_int(pb_buf *b, uint32_t num, int64_t v);
void pb_put_float(pb_buf *b, uint32_t num, float v);
void pb_put_bytes(pb_buf *b, uint32_t num, const void *data, size_t len);
void pb_put_str(pb_buf *b, uint32_t num, const char *s);
void pb_put_msg(pb_buf *b, uint32_t num, const pb_buf *sub);

/* Little-endian words, whatever the host's order. */
static inline uint32_t pb_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pb_le64(const unsigned char *p)
{
    return (uint64_t)pb_le32(p) | (uint64_t)pb_le32(p + 4) << 32;
}

#endif
