/* onnx.h - the ONNX messages lamina reads and writes, as field numbers of
 * the protobuf wire format (from the ONNX IR specification), and the
 * parsed view the importer walks. Only the fields lamina uses are named;
 * a reader skips the others. */
#ifndef LM_ONNX_H
#define LM_ONNX_H

#include "onnx/pb.h"

/* The library's prefix on the functions below, as in pb.h. */
#define ox_parse lm__ox_parse
#define ox_model_free lm__ox_model_free
#define ox_parse_tensor lm__ox_parse_tensor
#define ox_attr_int lm__ox_attr_int
#define ox_attr_float lm__ox_attr_float
#define ox_attr_str lm__ox_attr_str
#define ox_attr_ints lm__ox_attr_ints
#define ox_attr_tensor lm__ox_attr_tensor
#define ox_tensor_count lm__ox_tensor_count
#define ox_tensor_avail lm__ox_tensor_avail
#define ox_tensor_floats lm__ox_tensor_floats
#define ox_tensor_ints lm__ox_tensor_ints

/* ModelProto */
enum { OX_MODEL_IR_VERSION = 1, OX_MODEL_PRODUCER = 2, OX_MODEL_PRODUCER_VERSION = 3,
       OX_MODEL_DOC = 6, OX_MODEL_GRAPH = 7, OX_MODEL_OPSET = 8, OX_MODEL_META = 14 };
/* OperatorSetIdProto, StringStringEntryProto */
enum { OX_OPSET_DOMAIN = 1, OX_OPSET_VERSION = 2 };
enum { OX_ENTRY_KEY = 1, OX_ENTRY_VALUE = 2 };
/* GraphProto */
enum { OX_GRAPH_NODE = 1, OX_GRAPH_NAME = 2, OX_GRAPH_INIT = 5, OX_GRAPH_INPUT = 11,
       OX_GRAPH_OUTPUT = 12 };
/* NodeProto */
enum { OX_NODE_INPUT = 1, OX_NODE_OUTPUT = 2, OX_NODE_NAME = 3, OX_NODE_OP = 4, OX_NODE_ATTR = 5,
       OX_NODE_DOMAIN = 7 };
/* AttributeProto and its types */
enum { OX_ATTR_NAME = 1, OX_ATTR_F = 2, OX_ATTR_I = 3, OX_ATTR_S = 4, OX_ATTR_T = 5,
       OX_ATTR_FLOATS = 7, OX_ATTR_INTS = 8, OX_ATTR_TYPE = 20 };
enum { OX_AT_FLOAT = 1, OX_AT_INT = 2, OX_AT_STRING = 3, OX_AT_TENSOR = 4, OX_AT_FLOATS = 6,
       OX_AT_INTS = 7 };
/* TensorProto and its element types */
enum { OX_T_DIMS = 1, OX_T_TYPE = 2, OX_T_FLOAT_DATA = 4, OX_T_INT32_DATA = 5,
       OX_T_INT64_DATA = 7, OX_T_NAME = 8, OX_T_RAW = 9, OX_T_DOUBLE_DATA = 10,
       OX_T_EXTERNAL = 13, OX_T_LOCATION = 14 };
enum { OX_FLOAT = 1, OX_INT32 = 6, OX_INT64 = 7, OX_DOUBLE = 11 };
/* ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, its Dimension */
enum { OX_VI_NAME = 1, OX_VI_TYPE = 2 };
enum { OX_TYPE_TENSOR = 1 };
enum { OX_TT_ELEM = 1, OX_TT_SHAPE = 2 };
enum { OX_SHAPE_DIM = 1 };
enum { OX_DIM_VALUE = 1, OX_DIM_PARAM = 2 };

/* The opset lamina writes unless asked otherwise, and the range it takes. */
#define LM_ONNX_OPSET 13
#define LM_ONNX_OPSET_MIN 7
#define LM_ONNX_OPSET_MAX 21
#define OX_MAX_DIMS 8

/* A string inside the file's bytes (not NUL-terminated). */
typedef struct ox_str {
    const char *s;
    size_t n;
} ox_str;

typedef struct ox_tensor {
    ox_str name;
    int type;
    int ndim;
    int64_t dims[OX_MAX_DIMS];
    const unsigned char *raw; /* raw_data, or NULL */
    size_t raw_len;
    const unsigned char *fdata; /* float_data / int64_data / int32_data / double_data, or NULL */
    size_t fdata_len;
    int fdata_wire; /* how the typed data came: PB_LEN (packed) or one value a field */
    const unsigned char *msg; /* the whole message, to re-read unpacked values */
    size_t msg_len;
    int external;
} ox_tensor;

#define OX_MAX_IO 8
typedef struct ox_node {
    ox_str op, name, domain;
    int n_in, n_out; /* as the file has them; only the first OX_MAX_IO are kept */
    ox_str in[OX_MAX_IO], out[OX_MAX_IO];
    const unsigned char *msg; /* the node's bytes, for its attributes */
    size_t msg_len;
} ox_node;

typedef struct ox_value {
    ox_str name;
    int ndim;       /* -1: no shape given */
    int64_t dims[OX_MAX_DIMS]; /* -1 for a symbolic or missing dimension */
} ox_value;

typedef struct ox_model {
    int64_t ir_version, opset;
    ox_node *nodes;
    int n_nodes;
    ox_tensor *inits;
    int n_inits;
    ox_value *inputs, *outputs;
    int n_inputs, n_outputs;
    int n_meta;
    ox_str *meta_keys, *meta_vals;
} ox_model;

/* Parses buf (len bytes, kept by the caller while m is used) into m.
 * Sizes are checked against the bytes there before anything is
 * allocated. Free with ox_model_free. */
lm_status ox_parse(const void *buf, size_t len, ox_model *m);
void ox_model_free(ox_model *m);
lm_status ox_parse_tensor(const unsigned char *p, size_t len, ox_tensor *t);

/* A node's attribute by name: 1 and its value, 0 when absent; a present
 * attribute of another type is LM_EFORMAT through *st. */
int ox_attr_int(const ox_node *n, const char *name, int64_t *v, lm_status *st);
int ox_attr_float(const ox_node *n, const char *name, float *v, lm_status *st);
int ox_attr_str(const ox_node *n, const char *name, ox_str *v, lm_status *st);
/* ints: up to max values into v, their count into *count. */
int ox_attr_ints(const ox_node *n, const char *name, int64_t *v, int max, int *count,
                 lm_status *st);
int ox_attr_tensor(const ox_node *n, const char *name, ox_tensor *t, lm_status *st);

/* The number of elements of t (product of dims), or LM_EFORMAT. */
lm_status ox_tensor_count(const ox_tensor *t, size_t *count);
/* How many values t's data holds (raw bytes or typed fields), for the
 * check against its shape before anything is allocated. */
lm_status ox_tensor_avail(const ox_tensor *t, size_t *n);
/* t's values as floats into out (exactly n, else LM_EFORMAT naming what). */
lm_status ox_tensor_floats(const ox_tensor *t, float *out, size_t n, const char *what);
/* t's integer values into out (at most max; *count gets how many). */
lm_status ox_tensor_ints(const ox_tensor *t, int64_t *out, size_t max, size_t *count,
                         const char *what);

static inline int ox_is(ox_str a, const char *b)
{
    size_t n = 0;
    while (b[n]) n++;
    if (n != a.n) return 0;
    for (size_t i = 0; i < n; i++)
        if (a.s[i] != b[i]) return 0;
    return 1;
}
static inline int ox_eq(ox_str a, ox_str b)
{
    if (a.n != b.n) return 0;
    for (size_t i = 0; i < a.n; i++)
        if (a.s[i] != b.s[i]) return 0;
    return 1;
}

/* Whether metadata key k (n bytes) is one of the notes an import makes on
 * how it read a graph (onnx_input_layout, onnx_batch, onnx_output). They
 * are true of that graph only: lamina's export, a graph of its own (flat
 * rows in, Softmax out), does not write them, and its import does not
 * take them from a file. */
static inline int ox_import_note(const char *k, size_t n)
{
    ox_str key = {k, n};
    return ox_is(key, "onnx_input_layout") || ox_is(key, "onnx_batch") ||
           ox_is(key, "onnx_output");
}

#endif
