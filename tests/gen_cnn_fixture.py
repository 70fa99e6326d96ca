#!/usr/bin/python3
"""Writes tests/fixtures/cnn_*.txt: small CNNs run by PyTorch (forward,
backward and a few Adam steps), which tests/test_cnn_torch.c replays
through lamina's conv2d, maxpool2d, avgpool2d, global_avgpool and dense
layers.

Run from the repository root with Debian's python (python3-torch):
    /usr/bin/python3 tests/gen_cnn_fixture.py

Layout. PyTorch is NCHW; lamina is channels-last, a batch (B, H, W, C)
row-major. So x is written permuted to (B, H, W, C) and flattened. Weights:
  - conv: torch (F, C, KH, KW) -> lamina (KH, KW, C, F) row-major, then the
    bias (F);
  - dense after a spatial layer: torch flattens (C, H, W), lamina (H, W, C):
    torch weight (OUT, C*H*W) is viewed (OUT, C, H, W) and permuted to
    (H, W, C, OUT), i.e. lamina's W (IN, OUT) with IN in (H, W, C) order;
    then the bias (OUT).
'same' padding is TensorFlow's (lamina's): out = ceil(n / s), total
max((out - 1) s + k - n, 0), the smaller half before; torch gets it as an
explicit F.pad, so odd totals and strides 2 are covered. Pools have no
padding; average pooling divides by the window size.

File format (plain text, whitespace separated, as tests/fixture.h reads):
  - '#' comments; option lines "KEY = VALUE":
      case = NAME
      input_shape = C H W
      layer = conv F KH KW STRIDE PAD ACT BIAS   PAD: same, valid or a number
      layer = maxpool K STRIDE | avgpool K STRIDE | gavgpool
      layer = dense N ACT BIAS
      layer = batchnorm       momentum 0.1, eps 1e-5 (torch's defaults);
                              parameters gamma (C) then beta (C)
      loss = ce   (softmax cross-entropy on the last layer, mean over the batch)
      optim = adam, lr, beta1, beta2, eps
      batch = ROWS, steps = STEPS
  - tables "NAME ROWS COLS" and ROWS*COLS numbers:
      x ROWS N_IN            inputs, (H, W, C) per row
      labels ROWS 1
      params_init P 1        lamina's flat parameter buffer before the steps
      out_init ROWS N_OUT    the net's output (softmax) at params_init, in
                             inference mode (batch norm's running statistics)
      grad_init P 1          the loss's gradient at params_init
      loss STEPS 1           the loss before each step
      params_final P 1       after the last Adam step
"""
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

ACTS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "softmax": None,  # the loss applies it (ce on logits)
}

CASES = [
    # conv same, maxpool, a 2x3 conv with numeric padding and no bias,
    # avgpool, then a dense layer that reads a (5, 2, 1) map: the flatten
    # order matters.
    dict(name="flatten", seed=11, shape=(2, 7, 6), batch=4, steps=3, lr=0.01,
         layers=[("conv", 4, 3, 3, 1, "same", "relu", 1),
                 ("maxpool", 2, 2),
                 ("conv", 5, 2, 3, 1, 1, "tanh", 0),
                 ("avgpool", 2, 2),
                 ("dense", 3, "softmax", 1)]),
    # stride-2 'same' with an odd total along W (asymmetric padding),
    # maxpool stride 1, a 1x1 conv, global average pooling, two dense.
    dict(name="gavg", seed=12, shape=(3, 9, 8), batch=5, steps=3, lr=0.01,
         layers=[("conv", 4, 3, 3, 2, "same", "leaky_relu", 1),
                 ("maxpool", 2, 1),
                 ("conv", 6, 1, 1, 1, "valid", "identity", 1),
                 ("gavgpool",),
                 ("dense", 5, "relu", 1),
                 ("dense", 3, "softmax", 1)]),
    # batch norm after a conv (per channel over B*H*W) and after a dense
    # layer (per unit), in training mode for the steps.
    dict(name="batchnorm", seed=13, shape=(2, 6, 6), batch=6, steps=3, lr=0.01,
         layers=[("conv", 4, 3, 3, 1, "same", "relu", 0),
                 ("batchnorm",),
                 ("maxpool", 2, 2),
                 ("dense", 6, "tanh", 1),
                 ("batchnorm",),
                 ("dense", 3, "softmax", 1)]),
]


def same_pad(n, k, s):
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def build(case):
    """Torch modules per layer (None for pools) and the shapes (C, H, W)
    before each layer."""
    torch.manual_seed(case["seed"])
    c, h, w = case["shape"]
    mods, shapes = [], []
    for L in case["layers"]:
        shapes.append((c, h, w))
        kind = L[0]
        if kind == "conv":
            _, f, kh, kw, s, pad, _, bias = L
            mods.append(torch.nn.Conv2d(c, f, (kh, kw), stride=s, bias=bool(bias)))
            if pad == "same":
                ph, pw = sum(same_pad(h, kh, s)), sum(same_pad(w, kw, s))
            else:
                ph = pw = 2 * (0 if pad == "valid" else pad)
            c, h, w = f, (h + ph - kh) // s + 1, (w + pw - kw) // s + 1
        elif kind in ("maxpool", "avgpool"):
            _, k, s = L
            mods.append(None)
            h, w = (h - k) // s + 1, (w - k) // s + 1
        elif kind == "gavgpool":
            mods.append(None)
            h = w = 1
        elif kind == "batchnorm":
            mods.append(torch.nn.BatchNorm2d(c) if h * w > 1 else torch.nn.BatchNorm1d(c))
        else:
            _, n, _, bias = L
            mods.append(torch.nn.Linear(c * h * w, n, bias=bool(bias)))
            c, h, w = n, 1, 1
    x = torch.randn(case["batch"], *case["shape"])  # NCHW
    target = torch.randint(0, c, (case["batch"],))
    return mods, shapes, x, target


def forward(case, mods, shapes, x):
    h = x
    for L, m, (c, hh, ww) in zip(case["layers"], mods, shapes):
        kind = L[0]
        if kind == "conv":
            _, f, kh, kw, s, pad, act, _ = L
            if pad == "same":
                t, b = same_pad(hh, kh, s)
                le, r = same_pad(ww, kw, s)
                h = F.conv2d(F.pad(h, (le, r, t, b)), m.weight, m.bias, stride=s)
            else:
                h = F.conv2d(h, m.weight, m.bias, stride=s, padding=0 if pad == "valid" else pad)
            h = ACTS[act](h)
        elif kind == "maxpool":
            h = F.max_pool2d(h, L[1], L[2])
        elif kind == "avgpool":
            h = F.avg_pool2d(h, L[1], L[2])
        elif kind == "gavgpool":
            h = h.mean(dim=(2, 3), keepdim=True)
        elif kind == "batchnorm":
            h = m(h)
        else:
            h = m(h.flatten(1))  # (C, H, W) order, see flat()
            if ACTS[L[2]] is not None:
                h = ACTS[L[2]](h)
    return h


def flat(mods, shapes, grad=False):
    """lamina's flat parameter buffer from the torch modules."""
    parts = []
    for m, (c, h, w) in zip(mods, shapes):
        if m is None:
            continue
        wt = (m.weight.grad if grad else m.weight).detach()
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            parts.append(wt.reshape(-1))  # gamma
        elif isinstance(m, torch.nn.Conv2d):
            parts.append(wt.permute(2, 3, 1, 0).reshape(-1))
        else:
            out = wt.shape[0]
            parts.append(wt.reshape(out, c, h, w).permute(2, 3, 1, 0).reshape(-1))
        if m.bias is not None:
            parts.append((m.bias.grad if grad else m.bias).detach().reshape(-1))
    return torch.cat(parts)


def run(case, dtype):
    mods, shapes, x, target = build(case)
    mods = [m.to(dtype) if m is not None else None for m in mods]
    x = x.to(dtype)
    params = [p for m in mods if m is not None for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=case["lr"], betas=(0.9, 0.999), eps=1e-8, foreach=False)
    p0 = flat(mods, shapes).double().clone()
    for m in mods:  # the output at the start in inference mode
        if m is not None:
            m.eval()
    with torch.no_grad():
        out0 = torch.softmax(forward(case, mods, shapes, x), dim=1).double()
    for m in mods:
        if m is not None:
            m.train()
    g0, losses = None, []
    for _ in range(case["steps"]):
        opt.zero_grad()
        logits = forward(case, mods, shapes, x)
        loss = F.cross_entropy(logits, target)
        loss.backward()
        if g0 is None:
            g0 = flat(mods, shapes, grad=True).double().clone()
        opt.step()
        losses.append(float(loss))
    return dict(p0=p0, g0=g0, out0=out0, losses=torch.tensor(losses, dtype=torch.float64),
                p1=flat(mods, shapes).double(), x=x, target=target)


def rel_diff(a, b):
    return float(((a - b).abs() / (b.abs() + 1e-6)).max())


def table(f, name, values, rows, cols):
    f.write("%s %d %d\n" % (name, rows, cols))
    vals = [float(v) for v in values.reshape(-1)]
    for r in range(rows):
        f.write(" ".join("%.9g" % v for v in vals[r * cols:(r + 1) * cols]) + "\n")


def layer_line(L):
    if L[0] == "conv":
        return "conv %d %d %d %d %s %s %d" % L[1:]
    if L[0] in ("maxpool", "avgpool"):
        return "%s %d %d" % L
    if L[0] in ("gavgpool", "batchnorm"):
        return L[0]
    return "dense %d %s %d" % L[1:]


def write_case(case):
    r32, r64 = run(case, torch.float32), run(case, torch.float64)
    assert torch.equal(r32["p0"], r64["p0"])
    b, n_out = r32["out0"].shape
    x = r32["x"].permute(0, 2, 3, 1).reshape(b, -1)  # (B, H, W, C)
    p = r32["p0"].numel()
    path = os.path.join(HERE, "fixtures", "cnn_%s.txt" % case["name"])
    with open(path, "w") as f:
        f.write("# lamina fixture written by tests/gen_cnn_fixture.py (torch %s);"
                " do not edit.\n" % torch.__version__)
        f.write("# float32 vs float64 torch: grad %.3g, loss %.3g, params %.3g relative\n" % (
            rel_diff(r32["g0"], r64["g0"]), rel_diff(r32["losses"], r64["losses"]),
            rel_diff(r32["p1"], r64["p1"])))
        f.write("case = %s\n" % case["name"])
        f.write("input_shape = %d %d %d\n" % case["shape"])
        for L in case["layers"]:
            f.write("layer = %s\n" % layer_line(L))
        f.write("loss = ce\noptim = adam\nlr = %g\nbeta1 = 0.9\nbeta2 = 0.999\neps = 1e-08\n"
                % case["lr"])
        f.write("batch = %d\nsteps = %d\n" % (b, case["steps"]))
        table(f, "x", x, b, x.shape[1])
        table(f, "labels", r32["target"], b, 1)
        table(f, "params_init", r32["p0"], p, 1)
        table(f, "out_init", r32["out0"], b, n_out)
        table(f, "grad_init", r32["g0"], p, 1)
        table(f, "loss", r32["losses"], case["steps"], 1)
        table(f, "params_final", r32["p1"], p, 1)
    print("wrote", path)


if __name__ == "__main__":
    for c in CASES:
        write_case(c)
