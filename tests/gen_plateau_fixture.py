#!/usr/bin/python3
"""Writes tests/fixtures/lr_*.txt: learning-rate sequences from torch's
schedulers, which tests/test_plateau.c replays through lamina.

Run from the repository root with Debian's python (python3-torch):
    /usr/bin/python3 tests/gen_plateau_fixture.py

Two kinds of case:
  plateau  torch.optim.lr_scheduler.ReduceLROnPlateau (mode 'min',
           threshold_mode 'rel', eps 1e-8) fed a fixed sequence of losses
           (plateaus, gains smaller than the threshold, equal losses,
           cooldowns, the floor min_lr, cuts smaller than eps), after
           `warmup` epochs of LinearLR whose losses it does not see
           (lamina's plateau judges the epochs after its warmup).
  warmup   LinearLR(start_factor = 1 / (w + 1), total_iters = w), then
           (SequentialLR, milestone w) a constant lr, CosineAnnealingLR
           (T_max = epochs - w, eta_min) or StepLR(step, gamma): lamina's
           lr_warmup composed with its schedules. The generator checks
           torch's sequence against the closed form lamina documents
           (lr (e + 1) / (w + 1), then the schedule over e - w).

The settings lamina keeps as float32 (factor, threshold, min_lr, lr,
gamma) are given to torch as the doubles those float32 values are, so
both sides compute with the same numbers. The format is the one of
tests/gen_torch_fixture.py ('#' comments, "KEY = VALUE" options, "NAME
ROWS COLS" tables):
      case, kind (plateau|warmup), lr, warmup, epochs
      plateau: factor, patience, threshold, cooldown, min_lr
      warmup:  schedule (constant|cosine|step), min_lr, step, gamma
      loss N 1    (plateau) the monitored loss of each epoch
      lr N 1      the lr each epoch runs at (epoch 0 first)
    written with %.17g (doubles round-trip).
"""
import math
import warnings
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def f32(v):
    return float(np.float32(v))


def optimizer(lr):
    p = torch.nn.Parameter(torch.zeros(1))
    return torch.optim.SGD([p], lr=lr)


PLATEAU = [
    # improvements, then a plateau of equal losses and gains under the
    # threshold (1e-4 relative): cut after patience + 1 bad epochs
    dict(case="rel_threshold", lr=0.1, factor=0.5, patience=2, threshold=1e-4, cooldown=0,
         min_lr=0.0, warmup=0,
         loss=[1.0, 0.8, 0.7, 0.7, 0.69999, 0.699995, 0.6999, 0.69, 0.69, 0.68999,
               0.68995, 0.6899, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4999]),
    # a cooldown: bad epochs inside it do not count; the floor min_lr
    dict(case="cooldown_floor", lr=0.05, factor=0.1, patience=1, threshold=0.01, cooldown=2,
         min_lr=1e-4, warmup=0,
         loss=[2.0, 1.5, 1.49, 1.6, 1.7, 1.2, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3,
               1.3, 1.3, 1.3, 1.3, 1.3, 1.0, 0.99, 0.995]),
    # patience 0 and threshold 0: any loss not strictly lower is a cut;
    # cuts smaller than eps (1e-8) leave the lr as it is
    dict(case="eps", lr=1e-7, factor=0.5, patience=0, threshold=0.0, cooldown=0, min_lr=0.0,
         warmup=0, loss=[1.0, 1.0, 0.9, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7]),
    # the defaults (0.1, 10, 1e-4, 0) after a 3-epoch warmup whose losses
    # (rising here) the plateau does not see
    dict(case="defaults_warmup", lr=0.01, factor=0.1, patience=10, threshold=1e-4, cooldown=0,
         min_lr=0.0, warmup=3,
         loss=[5.0, 9.0, 9.0, 3.0, 2.0] + [2.0] * 11 + [1.9999] * 11 + [1.5, 1.4]),
]

WARMUP = [
    dict(case="warmup_constant", lr=0.1, warmup=4, epochs=10, schedule="constant", min_lr=0.0,
         step=10, gamma=0.1),
    dict(case="warmup_cosine", lr=0.1, warmup=3, epochs=12, schedule="cosine", min_lr=0.002,
         step=10, gamma=0.1),
    dict(case="warmup_step", lr=0.2, warmup=2, epochs=11, schedule="step", min_lr=0.0, step=3,
         gamma=0.5),
]


def plateau_lrs(c):
    lr, w = f32(c["lr"]), c["warmup"]
    opt = optimizer(lr)
    lrs = []
    if w:
        warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / (w + 1), end_factor=1.0,
                                                 total_iters=w)
    sched = None
    for e, loss in enumerate(c["loss"]):
        lrs.append(opt.param_groups[0]["lr"])
        if e < w:
            warm.step()
            continue
        if sched is None:
            # the plateau starts from lr: LinearLR's last factor product
            # may be an ulp off it
            assert abs(opt.param_groups[0]["lr"] - lr) <= 1e-15 * lr
            opt.param_groups[0]["lr"] = lr
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, mode="min", factor=f32(c["factor"]), patience=c["patience"],
                threshold=f32(c["threshold"]), threshold_mode="rel", cooldown=c["cooldown"],
                min_lr=f32(c["min_lr"]), eps=1e-8)
        sched.step(f32(loss))
    lrs.append(opt.param_groups[0]["lr"])
    return lrs


def warmup_lrs(c):
    lr, w, n = f32(c["lr"]), c["warmup"], c["epochs"]
    opt = optimizer(lr)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / (w + 1), end_factor=1.0,
                                             total_iters=w)
    if c["schedule"] == "cosine":
        after = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n - w, eta_min=f32(c["min_lr"]))
    elif c["schedule"] == "step":
        after = torch.optim.lr_scheduler.StepLR(opt, step_size=c["step"], gamma=f32(c["gamma"]))
    else:
        after = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, after], milestones=[w])
    lrs = []
    for e in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    # the closed form lamina documents
    for e, got in enumerate(lrs):
        if e < w:
            want = lr * (e + 1) / (w + 1)
        elif c["schedule"] == "cosine":
            lo = f32(c["min_lr"])
            want = lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * (e - w) / (n - w)))
        elif c["schedule"] == "step":
            want = lr * f32(c["gamma"]) ** ((e - w) // c["step"])
        else:
            want = lr
        assert abs(got - want) <= 1e-12 * lr, (c["case"], e, got, want)
    return lrs


def table(f, name, values):
    f.write("%s %d 1\n" % (name, len(values)))
    for v in values:
        f.write("%.17g\n" % v)


def write(c, kind, keys, lrs):
    path = os.path.join(HERE, "fixtures", "lr_%s.txt" % c["case"])
    with open(path, "w") as f:
        f.write("# lamina fixture written by tests/gen_plateau_fixture.py (torch %s);"
                " do not edit.\n" % torch.__version__)
        f.write("case = %s\nkind = %s\n" % (c["case"], kind))
        for k in keys:
            v = c[k]
            f.write("%s = %s\n" % (k, v if isinstance(v, (int, str)) else "%.9g" % f32(v)))
        if kind == "plateau":
            table(f, "loss", [f32(v) for v in c["loss"]])
        table(f, "lr", lrs)
    print("wrote", path)


def main():
    # torch warns of a scheduler stepped with no optimizer step and of
    # SequentialLR's step(0): neither changes the lr sequences
    warnings.filterwarnings("ignore", category=UserWarning)
    for c in PLATEAU:
        lrs = plateau_lrs(c)
        # the case reaches what it is meant to test: at least one cut
        assert len(set(lrs)) > 2 + c["warmup"], (c["case"], lrs)
        write(c, "plateau", ["lr", "factor", "patience", "threshold", "cooldown", "min_lr",
                             "warmup"], lrs)
    for c in WARMUP:
        write(c, "warmup", ["lr", "warmup", "epochs", "schedule", "min_lr", "step", "gamma"],
              warmup_lrs(c))


if __name__ == "__main__":
    main()
