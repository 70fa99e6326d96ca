"""pip install . in a fresh virtual environment builds and bundles the library."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def fresh_copy(dest):
    """The files a fresh clone would have, as they are in the working tree
    now (git's tracked and not-ignored files): no build folders, no
    egg-info, nothing a clone lacks. ROOT itself when git cannot say."""
    if not shutil.which("git"):
        return ROOT
    r = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True)
    if r.returncode:
        return ROOT
    for rel in r.stdout.decode().split("\0"):
        src = os.path.join(ROOT, rel)
        if rel and os.path.isfile(src):
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
    return str(dest)


def test_pip_install_in_a_fresh_venv(tmp_path):
    if os.environ.get("LAMINA_SKIP_INSTALL_TEST"):
        pytest.skip("LAMINA_SKIP_INSTALL_TEST is set")
    if not shutil.which("make"):
        pytest.skip("no make")
    venv = tmp_path / "venv"
    # --system-site-packages: numpy, setuptools and wheel from the system,
    # so that --no-build-isolation needs no network
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip("python3 -m venv failed (python3-venv missing?): %s" % r.stderr[-200:])
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "LAMINA_LIBRARY", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # -O0 (CFLAGS passes through setup.py to make): the build, not the
    # library's speed, is under test, and it compiles in a third of the time;
    # the per-file ISA flags are the Makefile's own, whatever CFLAGS says
    env["CFLAGS"] = "-O0"
    r = subprocess.run([py, "-m", "pip", "--version"], capture_output=True, text=True, env=env)
    if r.returncode:
        pytest.skip("no pip in the venv (python3-pip missing?)")
    src = fresh_copy(tmp_path / "src")
    assert os.path.isfile(os.path.join(src, "setup.py"))
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-build-isolation",
                        "--no-index", src], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    code = ("import lamina, numpy as np, os; "
            "assert lamina._lib._path.startswith(%r), lamina._lib._path; "
            "n = lamina.Net(inputs=2, layers=[lamina.Dense(3, 'relu'), lamina.Dense(1)]); "
            "n.fit(np.ones((4, 2)), np.zeros(4), epochs=2); "
            "print(lamina.__version__, n.predict(np.ones((1, 2))).shape)" % str(venv))
    r = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    import lamina
    assert r.stdout.split()[0] == lamina.__version__
