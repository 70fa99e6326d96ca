#!/bin/sh
# test_abi.sh - what liblamina.so exports is exactly the API lamina.h
# declares (every LM_API prototype, nothing else: no lm__ internals, no
# kernels), and the shared library carries the header's version: real file
# liblamina.so.MAJOR.MINOR.PATCH, SONAME liblamina.so.MAJOR, two links.
# Prints "ok NAME" / "FAIL NAME: why" (tests/run.sh counts them).
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.." || exit 2
so=$BUILD/liblamina.so
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# Declared: the name before "(" on every line starting with LM_API.
sed -n 's/^LM_API[^(]*[^A-Za-z0-9_(]\([A-Za-z_][A-Za-z0-9_]*\) *(.*/\1/p' include/lamina.h |
    sort -u >"$tmp/declared"
# Exported: every defined dynamic symbol, whatever its kind (data too).
nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/exported"

# A prototype without LM_API would be hidden: the library would build and
# no program could link to it.
bare=$(grep -E '^[a-z_][a-z0-9_ ]*[ *]lm_[a-z0-9_]+ *\(' include/lamina.h | grep -v -e '^static inline' -e '^typedef' | head -3)
if [ -n "$bare" ]; then echo "FAIL abi_lm_api: prototypes without LM_API in lamina.h: $bare"
else echo "ok abi_lm_api"; fi

if [ ! -s "$tmp/declared" ] || [ "$(wc -l <"$tmp/declared")" -lt 50 ]; then
    echo "FAIL abi_exports: found only $(wc -l <"$tmp/declared") LM_API prototypes in lamina.h"
elif [ ! -s "$tmp/exported" ]; then
    echo "FAIL abi_exports: nm -D found no symbols in $so"
else
    extra=$(comm -13 "$tmp/declared" "$tmp/exported" | tr '\n' ' ')
    missing=$(comm -23 "$tmp/declared" "$tmp/exported" | tr '\n' ' ')
    if [ -n "$extra" ]; then echo "FAIL abi_exports: exported but not declared in lamina.h: $extra"
    elif [ -n "$missing" ]; then echo "FAIL abi_exports: declared in lamina.h but not exported: $missing"
    else echo "ok abi_exports ($(wc -l <"$tmp/declared") functions)"; fi
fi

# The static library defines no global symbol outside the lm_ prefix: a
# program linked with liblamina.a may have a pb_varint of its own.
stray=$(nm -g --defined-only "$BUILD/liblamina.a" 2>/dev/null | awk 'NF >= 3 { print $3 }' | grep -v '^lm_' | sort -u | head -5 | tr '\n' ' ')
if [ -n "$stray" ]; then echo "FAIL abi_static_prefix: liblamina.a defines global symbols without the lm_ prefix: $stray"
else echo "ok abi_static_prefix"; fi

num() { sed -n "s/^#define LM_VERSION_$1  *\([0-9][0-9]*\).*/\1/p" include/lamina.h; }
major=$(num MAJOR); version=$major.$(num MINOR).$(num PATCH)
soname=$(readelf -d "$BUILD/liblamina.so.$version" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ -z "$major" ] || [ "$version" = "$major.." ]; then
    echo "FAIL abi_soname: no LM_VERSION_MAJOR/MINOR/PATCH in lamina.h"
elif [ ! -f "$BUILD/liblamina.so.$version" ] || [ -L "$BUILD/liblamina.so.$version" ]; then
    echo "FAIL abi_soname: $BUILD/liblamina.so.$version is not the library file"
elif [ "$soname" != "liblamina.so.$major" ]; then
    echo "FAIL abi_soname: SONAME '$soname', wanted liblamina.so.$major"
elif ! [ -L "$BUILD/liblamina.so.$major" ] || ! [ -L "$so" ] ||
    ! cmp -s "$BUILD/liblamina.so.$major" "$BUILD/liblamina.so.$version" ||
    ! cmp -s "$so" "$BUILD/liblamina.so.$version"; then
    echo "FAIL abi_soname: liblamina.so.$major and liblamina.so must link to liblamina.so.$version"
else
    echo "ok abi_soname ($soname, $version)"
fi

# The same version at run time, and in lamina.pc.in's substitution.
cat >"$tmp/v.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "lamina.h"
int main(void)
{
    printf("%s %s\n", lm_version(), LM_VERSION_STRING);
    return strcmp(lm_version(), LM_VERSION_STRING) != 0;
}
C
# shellcheck disable=SC2086
if ! ${CC:-cc} ${TEST_LDFLAGS:-} -Iinclude -o "$tmp/v" "$tmp/v.c" -L"$BUILD" -llamina 2>"$tmp/err"; then
    echo "FAIL abi_version: cannot build against $so: $(head -3 "$tmp/err" | tr '\n' ' ')"
else
    got=$(LD_LIBRARY_PATH=$BUILD "$tmp/v")
    if [ "$got" = "$version $version" ]; then echo "ok abi_version ($version)"
    else echo "FAIL abi_version: lm_version() and LM_VERSION_STRING say '$got', the Makefile $version"; fi
fi

# The 1.2.0 ABI, frozen (tests/abi/frozen_1_2.c): every function's type,
# enum value and struct field where it was. The checks above see names
# only; this sees a changed parameter, a renumbered enum, a moved field.
# shellcheck disable=SC2086
if ${CC:-cc} -std=c11 -fsyntax-only -Iinclude tests/abi/frozen_1_2.c 2>"$tmp/err"; then echo "ok abi_frozen_1_2"
else echo "FAIL abi_frozen_1_2: include/lamina.h breaks the 1.2.0 ABI: $(grep -m3 -i 'error' "$tmp/err" | tr '\n' ' ')"; fi

# A program built with a frozen copy of the 1.0.0 option-struct layouts
# (tests/abi/caller_1_0.c) runs against this library: the growth rule.
printf 'a,b\n1,x\n2,y\n3,x\n' >"$tmp/c.csv"
# shellcheck disable=SC2086
if ! ${CC:-cc} ${TEST_LDFLAGS:-} -std=c11 -Wall -o "$tmp/old" tests/abi/caller_1_0.c -L"$BUILD" -llamina 2>"$tmp/err"; then
    echo "FAIL abi_old_layout: cannot build tests/abi/caller_1_0.c: $(head -3 "$tmp/err" | tr '\n' ' ')"
else
    got=$(LD_LIBRARY_PATH=$BUILD "$tmp/old" "$tmp/c.csv" 2>&1)
    if [ "$got" = ok ]; then echo "ok abi_old_layout"
    else echo "FAIL abi_old_layout: a 1.0.0 caller: $got"; fi
fi
