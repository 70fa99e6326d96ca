#!/usr/bin/python3
"""Writes tests/fixtures/rprop_*.txt: short full-batch training runs with
torch.optim.Rprop (iRprop-, FANN's default algorithm), which
tests/test_rprop.c replays through lamina step by step.

Run from the repository root with Debian's python (python3-torch):
    /usr/bin/python3 tests/gen_rprop_fixture.py

Each case is a small dense network trained in float32 from torch's default
initialisation and a fixed seed, on the same batch at every step (RPROP is
a full-batch method). lamina's weight decay for RPROP is L2 added to the
gradient, which torch.optim.Rprop lacks: a case with weight_decay adds
weight_decay * p to each gradient before the step (p.grad.add_(p,
alpha=wd)), the same float operations lamina does. The generator checks
that its cases reach what they are meant to test: sign flips, steps
clamped at step_max and at step_min, gradients exactly zero, and that no
other gradient comes within 1e-5 of its step's largest one: lamina's own
gradient, summed in another order, then has torch's signs, so the whole
run must follow torch's, not only the optimizer fed torch's gradients.

The layout of the flat parameters and of the file is the one
tests/gen_torch_fixture.py describes (per layer W (n_in, n_out) row-major,
i.e. torch's weight.T, then b; '#' comments, "KEY = VALUE" options,
"NAME ROWS COLS" tables), with these options and tables:
      case, input, layer (N_OUT ACT BIAS), loss (mse|ce), batch, steps
      lr                       the initial step size
      eta_minus, eta_plus      torch's etas
      step_min, step_max       torch's step_sizes
      weight_decay             L2 added to the gradient (see above)
      x ROWS N_IN, y ROWS N_OUT (mse) or labels ROWS 1 (ce)
      params_init P 1          flat parameters before the first step
      grads STEPS P            torch's gradient at each step (before decay)
      loss STEPS 1             loss at each step, before its update
      params STEPS P           flat parameters after each step
    float32 values are written with %.9g, which round-trips.
"""
import os
import sys

import torch
import torch.nn.functional as F

# the activations, the forward pass and the table writer of the other
# optimizers' fixtures (this folder is on the path when run as a script)
from gen_torch_fixture import ACTS, forward, table

HERE = os.path.dirname(os.path.abspath(__file__))


CASES = [
    # small step_max and step_min and harsh etas: the steps hit both
    # clamps and the signs flip often; input 0 is always 0, so the weights
    # out of it have gradients exactly 0 (sign 0: no move, step kept)
    dict(name="clamps_mse", seed=11, n_in=4, batch=12, steps=40, zero_input=True,
         layers=[(6, "tanh", 1), (2, "identity", 1)], loss="mse",
         lr=0.05, etas=(0.3, 1.5), step_sizes=(0.004, 0.12), weight_decay=0.0,
         need=("flip", "max", "min", "zero")),
    # torch's defaults, relu, L2 decay
    dict(name="defaults_ce_l2", seed=12, n_in=5, batch=16, steps=30,
         layers=[(8, "relu", 1), (3, "softmax", 1)], loss="ce",
         lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0), weight_decay=0.01,
         need=("flip",)),
]


def build(case):
    torch.manual_seed(case["seed"])
    mods, n = [], case["n_in"]
    for n_out, _, bias in case["layers"]:
        mods.append(torch.nn.Linear(n, n_out, bias=bool(bias)))
        n = n_out
    x = torch.randn(case["batch"], case["n_in"])
    if case.get("zero_input"):
        x[:, 0] = 0
    if case["loss"] == "ce":
        target = torch.randint(0, n, (case["batch"],))
    else:
        target = torch.randn(case["batch"], n)
    return mods, x, target


def flat(mods, get):
    """get(p) of every parameter p, in lamina's flat layout."""
    parts = []
    for m in mods:
        parts.append(get(m.weight).detach().t().reshape(-1))
        if m.bias is not None:
            parts.append(get(m.bias).detach().reshape(-1))
    return torch.cat(parts).clone()


def run(case):
    mods, x, target = build(case)
    params = [p for m in mods for p in m.parameters()]
    opt = torch.optim.Rprop(params, lr=case["lr"], etas=case["etas"],
                            step_sizes=case["step_sizes"], foreach=False)
    p0 = flat(mods, lambda p: p)
    grads, losses, after, seen = [], [], [], set()
    prev_steps = torch.full_like(p0, case["lr"])
    for _ in range(case["steps"]):
        opt.zero_grad()
        out = forward(case, mods, x)
        loss = F.cross_entropy(out, target) if case["loss"] == "ce" else F.mse_loss(out, target)
        loss.backward()
        g = flat(mods, lambda p: p.grad)
        # lamina sums its gradient in another order: a gradient this close
        # to 0 could take another sign there, and the paths would part
        small = (g != 0) & (g.abs() < 1e-5 * g.abs().max())
        assert not small.any(), "case %s: a gradient near 0 at step %d" % (case["name"], len(grads) + 1)
        if (g == 0).any():
            seen.add("zero")
        if case["weight_decay"]:
            for p in params:
                p.grad.add_(p, alpha=case["weight_decay"])
        opt.step()
        steps = flat(mods, lambda p: opt.state[p]["step_size"])
        if (steps < prev_steps).any():
            seen.add("flip")
        if (steps == torch.tensor(case["step_sizes"][1], dtype=torch.float32)).any():
            seen.add("max")
        if (steps == torch.tensor(case["step_sizes"][0], dtype=torch.float32)).any():
            seen.add("min")
        prev_steps = steps
        grads.append(g)
        losses.append(float(loss))
        after.append(flat(mods, lambda p: p))
    missing = set(case["need"]) - seen
    assert not missing, "case %s never reaches %s" % (case["name"], sorted(missing))
    return p0, torch.stack(grads), torch.tensor(losses), torch.stack(after), x, target


def write_case(case):
    p0, grads, losses, after, x, target = run(case)
    path = os.path.join(HERE, "fixtures", "rprop_%s.txt" % case["name"])
    n, steps = p0.numel(), case["steps"]
    with open(path, "w") as f:
        f.write("# lamina fixture written by tests/gen_rprop_fixture.py (torch %s);"
                " do not edit.\n" % torch.__version__)
        f.write("# torch.optim.Rprop, full batch; the generator's docstring has the"
                " format.\n# Flat parameters: per layer W (n_in, n_out) row-major"
                " (torch weight.T), then b.\n")
        f.write("case = %s\ninput = %d\n" % (case["name"], case["n_in"]))
        for n_out, act, bias in case["layers"]:
            f.write("layer = %d %s %d\n" % (n_out, act, bias))
        f.write("loss = %s\nbatch = %d\nsteps = %d\n" % (case["loss"], case["batch"], steps))
        f.write("lr = %.9g\neta_minus = %.9g\neta_plus = %.9g\n"
                % (case["lr"], case["etas"][0], case["etas"][1]))
        f.write("step_min = %.9g\nstep_max = %.9g\nweight_decay = %.9g\n"
                % (case["step_sizes"][0], case["step_sizes"][1], case["weight_decay"]))
        table(f, "x", x, x.shape[0], x.shape[1])
        if case["loss"] == "ce":
            table(f, "labels", target, target.shape[0], 1, fmt="%d")
        else:
            table(f, "y", target, target.shape[0], target.shape[1])
        table(f, "params_init", p0, n, 1)
        table(f, "grads", grads, steps, n)
        table(f, "loss", losses, steps, 1)
        table(f, "params", after, steps, n)
    sys.stdout.write("wrote %s: %d params, loss %.5g -> %.5g\n"
                     % (path, n, losses[0], losses[-1]))


def main():
    torch.set_num_threads(1)
    for case in CASES:
        write_case(case)


if __name__ == "__main__":
    main()
