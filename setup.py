"""Builds the C library for the Python package.

The Makefile is the one description of how liblamina.so is compiled (which
files get -mavx2 or -mavx512f, run-time dispatch in src/kernels/cpu.c), so
the package runs it rather than repeating the flags: `make` into a
temporary build folder, then the shared library is copied into the package
as lamina/liblamina.so, which lamina/_lib.py loads with ctypes. The build
writes only python/build and python/lamina.egg-info in the tree (ignored).
CC and CFLAGS pass through to make; an enclosing make's MAKEFLAGS do not
(they could carry BUILD= or SAN=1 into this build). LAMINA_JOBS sets -j.
"""
import os
import re
import shutil
import subprocess
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))


def version():
    h = open(os.path.join(ROOT, "include", "lamina.h")).read()
    return ".".join(re.search(r"#define LM_VERSION_%s +(\d+)" % k, h).group(1)
                    for k in ("MAJOR", "MINOR", "PATCH"))


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        build = tempfile.mkdtemp(prefix="lamina-build-")
        try:
            jobs = os.environ.get("LAMINA_JOBS") or str(min(os.cpu_count() or 1, 8))
            so = os.path.join(build, "liblamina.so.%s" % version())
            env = {k: v for k, v in os.environ.items()
                   if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
            subprocess.check_call(["make", "-C", ROOT, "-j" + jobs, "BUILD=" + build, so],
                                  env=env)
            dest = os.path.join(self.build_lib, "lamina")
            os.makedirs(dest, exist_ok=True)
            shutil.copyfile(so, os.path.join(dest, "liblamina.so"))
        finally:
            shutil.rmtree(build, ignore_errors=True)


class BinaryDistribution(Distribution):
    """The wheel holds a compiled library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(version=version(), cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution,
      options={"build": {"build_base": os.path.join("python", "build")},
               "egg_info": {"egg_base": "python"}})
