"""export_c_onnx.py - the ONNX Runtime peer of bench/export_c.sh.

Builds an ONNX model from a file `lamina export --format c` wrote: its
weights (the static const arrays, read back from their %.9g text) and its
layer calls (the body of NAME_predict_ws), with the onnx helper API; no
lamina exporter involved. Checks that ONNX Runtime's outputs for row 0
equal the C code's (OUT0, from export_c_run), then prints the median
latency of single-row sess.run calls on one thread, measured as
bench/peers/fashion_torch.py measures ONNX Runtime (the Python call
included).

usage: export_c_onnx.py NAME.c IMAGES.idx OUT0 [REPS]
Covers the kinds the bench nets use: dense, conv2d, max/avg pooling,
global average pooling and the activations (float exports only).
"""
import re
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def parse(src):
    arrays = {}
    for m in re.finditer(r"static const float (\w+)\[(\d+)\] = \{(.*?)\};", src, re.S):
        vals = [float(v.rstrip("f")) for v in m.group(3).replace("\n", " ").split(",") if v.strip()]
        assert len(vals) == int(m.group(2)), m.group(1)
        arrays[m.group(1)] = np.array(vals, dtype=np.float32)
    m = re.search(r"static const float norm_mean = ([^,]+)f, norm_scale = ([^;]+)f;", src)
    if m:
        arrays["norm_mean"] = np.float32(float(m.group(1)))
        arrays["norm_scale"] = np.float32(float(m.group(2)))
    geoms = {}
    for m in re.finditer(r"static const struct geom (\w+) = \{(.*?)\};", src):
        k = "h w c kh kw stride pt pl oh ow".split()
        geoms[m.group(1)] = dict(zip(k, (int(v) for v in m.group(2).split(","))))
    body = re.search(r"_predict_ws\(const float \*x, float \*y, float \*ws\)\n\{(.*?)\n\}", src, re.S)
    return arrays, geoms, body.group(1)


def build(src, n_in, n_out):
    arrays, geoms, body = parse(src)
    nodes, inits = [], []
    count = [0]

    def const(name, v):
        inits.append(numpy_helper.from_array(np.asarray(v, dtype=np.float32), name))
        return name

    def node(op, ins, **attrs):
        count[0] += 1
        out = f"t{count[0]}"
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    def ints(name, v):
        inits.append(numpy_helper.from_array(np.asarray(v, dtype=np.int64), name))
        return name

    cur, layout = "x", "flat"  # layout: flat (1, n) or nchw
    if "norm_mean" in arrays:
        cur = node("Sub", [cur, const("norm_mean", arrays["norm_mean"])])
        cur = node("Mul", [cur, const("norm_scale", arrays["norm_scale"])])

    def to_nchw(g):
        nonlocal cur, layout
        if layout == "flat":
            cur = node("Reshape", [cur, ints(f"shape{count[0]}", [1, g["h"], g["w"], g["c"]])])
            cur = node("Transpose", [cur], perm=[0, 3, 1, 2])
            layout = "nchw"

    def to_flat():
        nonlocal cur, layout
        if layout == "nchw":  # lamina flattens channels-last: (h, w, c)
            cur = node("Transpose", [cur], perm=[0, 2, 3, 1])
            cur = node("Flatten", [cur], axis=1)
            layout = "flat"

    acts = {"act_relu": ("Relu", {}), "act_sigmoid": ("Sigmoid", {}), "act_tanh": ("Tanh", {}),
            "act_leaky": ("LeakyRelu", {"alpha": 0.01}), "act_softmax": ("Softmax", {"axis": 1})}
    for line in body.splitlines():
        m = re.match(r"\s*(\w+)\((.*)\);", line)
        if not m or m.group(1) == "for":
            continue
        fn, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        if fn == "dense":
            to_flat()
            n_i, n_o = int(args[4]), int(args[5])
            w = const(args[2], arrays[args[2]].reshape(n_i, n_o))
            b = const(args[3], arrays[args[3]]) if args[3] != "0" else const(f"zero{count[0]}", np.zeros(n_o))
            cur = node("Gemm", [cur, w, b])
        elif fn == "conv2d":
            g = geoms[args[5].lstrip("&")]
            to_nchw(g)
            f = int(args[4])
            w = arrays[args[2]].reshape(g["kh"], g["kw"], g["c"], f).transpose(3, 2, 0, 1)
            pb = (g["oh"] - 1) * g["stride"] + g["kh"] - g["h"] - g["pt"]
            pr = (g["ow"] - 1) * g["stride"] + g["kw"] - g["w"] - g["pl"]
            ins = [cur, const(args[2], w)] + ([const(args[3], arrays[args[3]])] if args[3] != "0" else [])
            cur = node("Conv", ins, kernel_shape=[g["kh"], g["kw"]], strides=[g["stride"]] * 2,
                       pads=[g["pt"], g["pl"], max(pb, 0), max(pr, 0)])
        elif fn in ("maxpool", "avgpool"):
            g = geoms[args[2].lstrip("&")]
            to_nchw(g)
            cur = node("MaxPool" if fn == "maxpool" else "AveragePool", [cur],
                       kernel_shape=[g["kh"], g["kw"]], strides=[g["stride"]] * 2)
        elif fn == "global_avgpool":
            cur = node("Flatten", [node("GlobalAveragePool", [cur])], axis=1)
            layout = "flat"
        elif fn in acts:
            op, attrs = acts[fn]
            cur = node(op, [cur], **attrs)
        elif fn == "copy":
            pass
        else:
            raise SystemExit(f"export_c_onnx.py: no ONNX form here for {fn}")
    nodes.append(helper.make_node("Identity", [cur], ["y"]))
    graph = helper.make_graph(nodes, "lamina_export_c", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n_out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    path, images, out0 = sys.argv[1], sys.argv[2], sys.argv[3]
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    src = open(path).read()
    hdr = open(path[:-1] + "h").read()
    n_in = int(re.search(r"#define \w+_N_IN (\d+)", hdr).group(1))
    n_out = int(re.search(r"#define \w+_N_OUT (\d+)", hdr).group(1))
    model = build(src, n_in, n_out)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    raw = np.fromfile(images, dtype=np.uint8, offset=16)[: 1000 * n_in]
    x = raw.reshape(-1, n_in).astype(np.float32)
    y0 = sess.run(None, {"x": x[:1]})[0].ravel()
    want = np.array([float(v) for v in out0.split(",")], dtype=np.float32)
    diff = float(np.max(np.abs(y0 - want)))
    if diff > 1e-4:
        raise SystemExit(f"export_c_onnx.py: ONNX Runtime differs from the C code by {diff}")
    rows = [x[i : i + 1] for i in range(len(x))]
    for i in range(50):
        sess.run(None, {"x": rows[i]})
    t = []
    for r in range(reps):
        xi = rows[r % len(rows)]
        t0 = time.perf_counter()
        sess.run(None, {"x": xi})
        t.append(time.perf_counter() - t0)
    print(f"latency_us={float(np.median(t)) * 1e6:.3f} maxdiff={diff:.3g} ort={ort.__version__}")


if __name__ == "__main__":
    main()
