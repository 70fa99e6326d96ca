#!/usr/bin/python3
"""Writes tests/fixtures/torch_*.txt: short training runs computed by PyTorch,
which tests/test_torch.c replays through lamina and compares step by step.

Run from the repository root with Debian's python (python3-torch):
    /usr/bin/python3 tests/gen_torch_fixture.py

Each case is a small dense network trained for a few full-batch steps in
float32 (torch's default) from torch's own default initialisation and a
fixed seed. Every case is also replayed in float64 from the same starting
point; the largest float32-vs-float64 difference is written into the file
as a comment, so a reader can see how much of a lamina-vs-torch difference
is plain float32 rounding.

Layout. lamina stores a dense layer's W as (n_in, n_out) row-major with
y = x W + b; torch.nn.Linear keeps weight as (n_out, n_in), so W is
weight.T. lamina's flat parameter buffer holds, layer by layer, W
(n_in * n_out values, row-major) then b (n_out values, if the layer has a
bias). The flat vectors below use that layout.

File format (plain text, whitespace separated):
  - '#' starts a comment that runs to the end of the line; blank lines are
    ignored.
  - Option lines "KEY = VALUE":
      case = NAME
      input = N_IN
      layer = N_OUT ACT BIAS   one per layer, in order; ACT one of identity
                               sigmoid tanh relu leaky_relu softmax; BIAS 1/0
      loss = sse|mse|bce|ce    ce: softmax cross-entropy, mean over the
                               batch, labels; sse: sum over batch and outputs
                               of squares; mse and bce: mean over batch and
                               outputs; targets y
      optim = sgd|adam|adamw
      lr, momentum, nesterov, beta1, beta2, eps, weight_decay, clip_norm
                               the optimizer's settings as torch got them
                               (clip_norm 0 = no clipping; clipping is
                               torch.nn.utils.clip_grad_norm_ on all
                               gradients before the optimizer step)
      batch = ROWS, steps = STEPS
  - Tables "NAME ROWS COLS" followed by ROWS*COLS numbers, row-major:
      x ROWS N_IN              the batch, the same at every step
      labels ROWS 1            class indices (loss ce), or
      y ROWS N_OUT             targets (other losses)
      params_init P 1          flat parameters before the first step
      grad_init P 1            gradient of the loss at params_init
                               (before clipping and weight decay)
      loss STEPS 1             loss at step i, before step i's update
      params_final P 1         flat parameters after the last step
    float32 values are written with %.9g, which round-trips.
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

ACTS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "softmax": None,  # applied by the loss (ce on logits)
}

DEFAULT_OPTIM = dict(lr=0.01, momentum=0.0, nesterov=0, beta1=0.9, beta2=0.999,
                     eps=1e-8, weight_decay=0.0, clip_norm=0.0)

CASES = [
    dict(name="adam_ce", seed=1, n_in=5, batch=16, steps=20,
         layers=[(8, "tanh", 1), (8, "relu", 1), (3, "softmax", 1)],
         loss="ce", optim="adam", opts=dict(lr=0.01)),
    dict(name="sgd_nesterov_mse", seed=2, n_in=4, batch=12, steps=20,
         layers=[(6, "sigmoid", 1), (2, "identity", 1)],
         loss="mse", optim="sgd",
         opts=dict(lr=0.1, momentum=0.9, nesterov=1, weight_decay=0.01)),
    dict(name="adamw_bce", seed=3, n_in=3, batch=8, steps=20,
         layers=[(5, "leaky_relu", 1), (1, "sigmoid", 1)],
         loss="bce", optim="adamw", opts=dict(lr=0.01, weight_decay=0.1)),
    dict(name="sgd_clip_mse", seed=4, n_in=4, batch=10, steps=20,
         layers=[(6, "tanh", 1), (3, "identity", 1)],
         loss="mse", optim="sgd", target_scale=4.0,
         opts=dict(lr=0.05, momentum=0.9, weight_decay=0.01, clip_norm=0.5)),
    dict(name="adam_l2_sse", seed=5, n_in=3, batch=6, steps=20,
         layers=[(4, "tanh", 1), (2, "sigmoid", 0)],
         loss="sse", optim="adam", opts=dict(lr=0.02, weight_decay=0.05)),
]


def build(case):
    torch.manual_seed(case["seed"])
    mods, n = [], case["n_in"]
    for n_out, _, bias in case["layers"]:
        mods.append(torch.nn.Linear(n, n_out, bias=bool(bias)))
        n = n_out
    x = torch.randn(case["batch"], case["n_in"])
    if case["loss"] == "ce":
        target = torch.randint(0, n, (case["batch"],))
    elif case["loss"] == "bce":
        target = torch.randint(0, 2, (case["batch"], n)).float()
    else:
        target = torch.randn(case["batch"], n) * case.get("target_scale", 1.0)
    return mods, x, target


def forward(case, mods, x):
    h = x
    for m, (_, act, _) in zip(mods, case["layers"]):
        h = m(h)
        if ACTS[act] is not None:
            h = ACTS[act](h)
    return h


def loss_of(case, out, target):
    kind = case["loss"]
    if kind == "ce":
        return F.cross_entropy(out, target)
    if kind == "bce":
        return F.binary_cross_entropy(out, target)
    if kind == "mse":
        return F.mse_loss(out, target)
    return F.mse_loss(out, target, reduction="sum")


def flat(mods, grad=False):
    parts = []
    for m in mods:
        w = m.weight.grad if grad else m.weight
        parts.append(w.detach().t().reshape(-1))
        if m.bias is not None:
            b = m.bias.grad if grad else m.bias
            parts.append(b.detach().reshape(-1))
    return torch.cat(parts)


def optimizer(case, params):
    o = dict(DEFAULT_OPTIM, **case["opts"])
    if case["optim"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"],
                               nesterov=bool(o["nesterov"]),
                               weight_decay=o["weight_decay"], foreach=False)
    cls = torch.optim.Adam if case["optim"] == "adam" else torch.optim.AdamW
    return cls(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
               weight_decay=o["weight_decay"], foreach=False)


def train(case, dtype):
    """Runs the case in dtype; returns params_init, grad_init, losses,
    params_final (all float64 tensors) and the gradient norms seen."""
    mods, x, target = build(case)
    mods = [m.to(dtype) for m in mods]
    x = x.to(dtype)
    if target.is_floating_point():
        target = target.to(dtype)
    params = [p for m in mods for p in m.parameters()]
    opt = optimizer(case, params)
    clip = dict(DEFAULT_OPTIM, **case["opts"])["clip_norm"]
    p0 = flat(mods).double().clone()
    g0, losses, norms = None, [], []
    for _ in range(case["steps"]):
        opt.zero_grad()
        loss = loss_of(case, forward(case, mods, x), target)
        loss.backward()
        if g0 is None:
            g0 = flat(mods, grad=True).double().clone()
        norms.append(float(torch.linalg.vector_norm(flat(mods, grad=True))))
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(float(loss))
    return p0, g0, torch.tensor(losses, dtype=torch.float64), flat(mods).double(), norms, x, target


def rel_diff(a, b):
    return float(((a - b).abs() / (b.abs() + 1e-6)).max())


def table(f, name, values, rows, cols, fmt="%.9g"):
    f.write("%s %d %d\n" % (name, rows, cols))
    vals = [float(v) for v in values.reshape(-1)]
    for r in range(rows):
        f.write(" ".join(fmt % v for v in vals[r * cols:(r + 1) * cols]) + "\n")


def write_case(case):
    p0, g0, losses, p1, norms, x, target = train(case, torch.float32)
    q0, _, losses64, q1, _, _, _ = train(case, torch.float64)
    assert torch.equal(p0, q0)
    o = dict(DEFAULT_OPTIM, **case["opts"])
    if o["clip_norm"] > 0:  # the case must really clip, or it tests nothing
        clipped = sum(n > o["clip_norm"] for n in norms)
        assert clipped >= len(norms) // 2, norms
    path = os.path.join(HERE, "fixtures", "torch_%s.txt" % case["name"])
    with open(path, "w") as f:
        f.write("# lamina fixture written by tests/gen_torch_fixture.py (torch %s);"
                " do not edit.\n" % torch.__version__)
        f.write("# Format ('#' comments; the generator's docstring has the details):\n"
                "#   'KEY = VALUE' options: case input layer(N_OUT ACT BIAS, one per layer)"
                " loss optim lr momentum\n#     nesterov beta1 beta2 eps weight_decay"
                " clip_norm batch steps\n"
                "#   'NAME ROWS COLS' then ROWS*COLS numbers, row-major: x, labels (ce) or"
                " y, params_init,\n#     grad_init (at params_init, before clipping and"
                " decay), loss (before each step), params_final\n"
                "# Flat parameters: per layer W (n_in, n_out) row-major (torch weight.T),"
                " then b.\n")
        f.write("# float32 vs float64 torch from the same start: losses %.2g,"
                " final params %.2g (largest relative difference)\n"
                % (rel_diff(losses, losses64), rel_diff(p1, q1)))
        if o["clip_norm"] > 0:
            f.write("# gradient norms before clipping: %s\n"
                    % " ".join("%.3g" % n for n in norms))
        f.write("case = %s\ninput = %d\n" % (case["name"], case["n_in"]))
        for n_out, act, bias in case["layers"]:
            f.write("layer = %d %s %d\n" % (n_out, act, bias))
        f.write("loss = %s\noptim = %s\n" % (case["loss"], case["optim"]))
        for k in ("lr", "momentum", "nesterov", "beta1", "beta2", "eps",
                  "weight_decay", "clip_norm"):
            f.write("%s = %.9g\n" % (k, o[k]))
        f.write("batch = %d\nsteps = %d\n" % (case["batch"], case["steps"]))
        table(f, "x", x, x.shape[0], x.shape[1])
        if case["loss"] == "ce":
            table(f, "labels", target, target.shape[0], 1, fmt="%d")
        else:
            table(f, "y", target, target.shape[0], target.shape[1])
        n = p0.numel()
        table(f, "params_init", p0, n, 1)
        table(f, "grad_init", g0, n, 1)
        table(f, "loss", losses, case["steps"], 1)
        table(f, "params_final", p1, n, 1)
    sys.stdout.write("wrote %s: %d params, loss %.5g -> %.5g, f32/f64 drift %.2g/%.2g\n"
                     % (path, n, losses[0], losses[-1], rel_diff(losses, losses64),
                        rel_diff(p1, q1)))


def main():
    torch.set_num_threads(1)
    for case in CASES:
        write_case(case)


if __name__ == "__main__":
    main()
