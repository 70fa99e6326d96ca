"""onnx_ort.py MODEL.onnx DATA.csv PREDICT.json [OPTIONS] - runs an exported model in
ONNX Runtime on the feature columns of DATA.csv (the first n_in columns;
a header line; for an (N, H, W, C) input the rows as they are, lamina's
channels-last rows, reshaped to it) and prints the largest difference from what
`lamina predict --proba --json` wrote. Exit 0 when it is at most 1e-5,
1 when larger, 77 when onnxruntime (or numpy) cannot be imported.
OPTIONS, comma-separated: nchw (the input is (N, C, H, W): lamina's
channels-last rows are transposed to it), exp (the graph ends with a
LogSoftmax, which lamina imports as softmax: exp of its outputs). An input
of a fixed batch size is run that many rows at a time."""
import json
import sys

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    print("no onnxruntime: %s" % e)
    sys.exit(77)

model, data, pred = sys.argv[1:4]
opts = sys.argv[4].split(",") if len(sys.argv) > 4 else []
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
nx = int(np.prod(inp.shape[1:]))
x = np.loadtxt(data, delimiter=",", skiprows=1, usecols=range(nx), dtype=np.float32, ndmin=2)
if "nchw" in opts:
    c, h, w = inp.shape[1:]
    x = np.ascontiguousarray(x.reshape(x.shape[0], h, w, c).transpose(0, 3, 1, 2))
x = x.reshape([x.shape[0]] + list(inp.shape[1:]))
b = inp.shape[0] if isinstance(inp.shape[0], int) else max(len(x), 1)
y = np.concatenate([sess.run(None, {inp.name: x[i:i + b]})[0] for i in range(0, len(x), b)])
if "exp" in opts:
    y = np.exp(y)
rows = json.load(open(pred))["predictions"]
want = []
for r in rows:
    if "proba" in r:
        want.append(r["proba"])
    elif "values" in r:
        want.append(r["values"])
    else:
        want.append([r["value"]])
want = np.array(want, dtype=np.float64)
diff = float(np.abs(want - y.astype(np.float64)).max())
print("max |onnxruntime - lamina| = %.3g over %d outputs (onnxruntime %s)" % (diff, y.size, ort.__version__))
sys.exit(0 if y.shape == want.shape and diff <= 1e-5 else 1)
