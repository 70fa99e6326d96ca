#!/bin/sh
# The Python package's tests (tests/python, pytest) against this build's
# liblamina.so and lamina CLI, when a python3 with numpy and pytest is
# here (/usr/bin/python3 first: the Debian one CI installs them into);
# skipped otherwise, and for a library a plain python cannot load (an
# ASan/UBSan build). Prints one ok/FAIL/skip line per pytest test.
BUILD=${BUILD:-build}
PY=
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import numpy, pytest" 2>/dev/null; then
        PY=$p; break
    fi
done
if [ -z "$PY" ]; then echo "skip python: no python3 with numpy and pytest"; exit 0; fi
lib=$BUILD/liblamina.so
if [ ! -f "$lib" ]; then echo "skip python: no $lib"; exit 0; fi
if ! LAMINA_LIBRARY=$lib PYTHONPATH=python "$PY" -c "import lamina" >/dev/null 2>&1; then
    echo "skip python: $lib does not load into $PY (a sanitizer build)"; exit 0
fi
log=$(mktemp); trap 'rm -f "$log"' EXIT
LAMINA_LIBRARY=$lib LAMINA_CLI=$BUILD/lamina PYTHONPATH=python PYTHONDONTWRITEBYTECODE=1 \
    "$PY" -m pytest -p no:cacheprovider -v -rs tests/python >"$log" 2>&1
rc=$?
sed -n -e 's/^tests\/python\/\([^ ]*\) PASSED.*/ok python:\1/p' \
    -e 's/^tests\/python\/\([^ ]*\) \(FAILED\|ERROR\).*/FAIL python:\1: see the pytest output above/p' \
    -e 's/^SKIPPED \[[0-9]*\] tests\/python\/\([^:]*\):[0-9]*: \(.*\)/skip python:\1: \2/p' "$log" >"$log.r"
if grep -q '^FAIL' "$log.r" || { [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; }; then
    tail -60 "$log"
fi
cat "$log.r"
# pytest failed without a test failing (a collection error, a crash)
if ! grep -q '^FAIL' "$log.r" && [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then
    echo "FAIL python: pytest exited with status $rc"
fi
rm -f "$log.r"
