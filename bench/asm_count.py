#!/usr/bin/env python3
"""bench/asm_count.py - instructions per multiply-add in the GEMM
micro-kernels' inner loops, from the compiler's assembly. Timings under
emulation mean nothing, so on an x86 machine this is what can be said of
the NEON kernel's speed: it compiles gemm_<variant>.c with -S (the flags
from mk/isa.sh; aarch64-linux-gnu-gcc for neon), finds every loop whose
body holds at least MIN_FMA fused multiply-adds (the k loop of a tile),
and prints its instruction count, its FMAs, the multiply-adds they do
(lanes per FMA) and the ratio.

    python3 bench/asm_count.py [avx2] [avx512] [neon]
Environment: CC (x86, default cc), CC_ARM (default aarch64-linux-gnu-gcc).
"""
import os
import re
import subprocess
import sys
import tempfile

MIN_FMA = 8


def flags(variant):
    out = subprocess.run(["sh", "mk/isa.sh", "flags", variant], capture_output=True, text=True)
    return out.stdout.split()


def assembly(variant):
    cc = os.environ.get("CC_ARM", "aarch64-linux-gnu-gcc") if variant == "neon" else os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as d:
        s = os.path.join(d, "k.s")
        cmd = cc.split() + ["-std=c11", "-O3", "-fPIC", "-Iinclude", "-Isrc", "-D_POSIX_C_SOURCE=200809L",
                            *flags(variant), "-S", f"src/kernels/gemm_{variant}.c", "-o", s]
        subprocess.run(cmd, check=True)
        return open(s).read().split("\n"), " ".join(cmd)


def fma_lanes(ins):
    """Multiply-adds one instruction does (0 if it is not an FMA)."""
    op = ins.split()[0] if ins.split() else ""
    if op == "fmla":
        return 4 if ".4s" in ins else 2 if ".2s" in ins else 1
    if re.match(r"vfn?m(add|sub)\d+ps", op):
        return 16 if "%zmm" in ins else 8 if "%ymm" in ins else 4
    if re.match(r"vfn?m(add|sub)\d+ss", op):
        return 1
    return 0


def loops(lines):
    """(label, body) of each backward branch's loop, innermost first."""
    where = {}
    for i, l in enumerate(lines):
        m = re.match(r"^(\.L\w+):", l)
        if m:
            where[m.group(1)] = i
    for i, l in enumerate(lines):
        m = re.match(r"\s+(j\w+|b\.?\w*|cbn?z|tbn?z)\s+(?:[^,]+,\s*)*(\.L\w+)$", l)
        if not m or m.group(2) not in where or not 0 < i - where[m.group(2)] < 120:
            continue
        body = [x.strip() for x in lines[where[m.group(2)] + 1:i + 1]
                if x.startswith("\t") and not x.startswith("\t.")]
        yield m.group(2), body


def main():
    variants = sys.argv[1:] or ["avx2", "avx512", "neon"]
    for v in variants:
        try:
            lines, cmd = assembly(v)
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            print(f"{v}: cannot compile ({e})")
            continue
        print(f"{v}: {cmd}")
        seen = set()
        for label, body in loops(lines):
            macs = sum(fma_lanes(x) for x in body)
            nfma = sum(1 for x in body if fma_lanes(x))
            if nfma < MIN_FMA or tuple(body) in seen:
                continue
            seen.add(tuple(body))
            print(f"  loop {label}: {len(body)} instructions, {nfma} FMAs = {macs} multiply-adds,"
                  f" {len(body) / macs:.3f} instructions per multiply-add")


if __name__ == "__main__":
    main()
