# lamina - build with the ordinary tools: make, make test, make demo, make install.
CC      ?= cc
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
# make MPI=1: data-parallel training over MPI (docs/SCALING.md), compiled
# by mpicc into its own folder, so its objects never mix with the plain
# build's; without it nothing needs MPI.
MPI     ?=
ifeq ($(MPI),1)
  MPICC ?= mpicc
  CC    := $(MPICC)
  BUILD ?= build-mpi
endif
BUILD   ?= build
# The one version number lives in include/lamina.h (LM_VERSION_*); the
# shared library's file name, its SONAME and lamina.pc are read from it.
# The SONAME carries the major number only: a 1.x library runs programs
# built against any earlier 1.x header (docs/API.md says what that rules out).
hdr_num = $(shell sed -n 's/^\#define LM_VERSION_$(1)  *\([0-9][0-9]*\).*/\1/p' include/lamina.h)
VERSION_MAJOR := $(call hdr_num,MAJOR)
VERSION := $(VERSION_MAJOR).$(call hdr_num,MINOR).$(call hdr_num,PATCH)
SONAME  := liblamina.so.$(VERSION_MAJOR)
SOFILE  := liblamina.so.$(VERSION)
# -O3: gcc 12 vectorises loops of unknown count only from -O3. No
# -ffast-math: results must not change (and -std=c11 keeps FMA contraction off).
OPT     ?= -O3
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS_ALL := -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L
# -fvisibility=hidden: only what carries LM_API (the documented lm_ API)
# is exported from liblamina.so; the lm__ internals and the kernels stay
# inside it, so no program can come to depend on them.
BASEFLAGS := -std=c11 -fPIC -pthread -fvisibility=hidden $(WARN) $(CPPFLAGS_ALL)
LDLIBS  := -lz -lm -pthread
SAN     ?=
ifeq ($(SAN),1)
  CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif
# Optional BLAS backend behind lm_gemm_* (make BLAS=openblas).
ifneq ($(BLAS),)
  BASEFLAGS += -DLM_USE_CBLAS
  LDLIBS += -l$(BLAS)
endif

LIB_SRC := $(sort $(wildcard src/*.c src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
# The trainer's processes (cli/dist.h): MPI, or one process.
CLI_SRC += $(if $(filter 1,$(MPI)),cli/dist/mpi.c cli/dist/shm.c,cli/dist/none.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
ifeq ($(MPI),1)
  EXAMPLES += $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/mpi/*.c))
endif

ifneq ($(CLI_SRC),)
  CLI_BIN := $(BUILD)/lamina
endif

.PHONY: all test demo install uninstall clean bench fuzz examples valgrind tsan
all: $(BUILD)/liblamina.a $(BUILD)/liblamina.so $(BUILD)/$(SONAME) $(CLI_BIN) $(EXAMPLES)

# ---- SIMD variant files (mk/isa.sh holds the list and the flags) ----
# Only the target architecture's variant files are built, each with its
# ISA flags, and chosen at run time (src/kernels/cpu.c), so the library
# runs on any CPU of that architecture: x86 builds *_avx2.c and
# *_avx512.c, aarch64 *_neon.c, any other the portable C alone. The
# target is the compiler's (CC=aarch64-linux-gnu-gcc cross-builds).
ISA_ARCH := $(shell sh mk/isa.sh arch $(CC) $(CFLAGS))
LIB_SRC := $(filter-out $(foreach v,$(shell sh mk/isa.sh others $(ISA_ARCH)),%_$(v).c),$(LIB_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
# (SAN=1: with mk/isa.sh's flags that keep clang's build of the kernels
# under a minute)
VARIANT_SAN := $(if $(filter 1,$(SAN)),$(shell sh mk/isa.sh san $(CC)))
$(foreach v,$(shell sh mk/isa.sh variants $(ISA_ARCH)),$(eval $(BUILD)/obj/%_$(v).o: XFLAGS := $(shell sh mk/isa.sh flags $(v)) $(VARIANT_SAN)))
# ---- end of SIMD variant files ----

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h src/*.h src/*/*.h cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(XFLAGS) -c $< -o $@

$(BUILD)/liblamina.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The real file is liblamina.so.MAJOR.MINOR.PATCH; liblamina.so.MAJOR (the
# SONAME, what programs load) and liblamina.so (what -llamina finds) are links.
$(BUILD)/$(SOFILE): $(LIB_OBJ) include/lamina.h
	$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/$(SONAME) $(BUILD)/liblamina.so: $(BUILD)/$(SOFILE)
	ln -sf $(SOFILE) $@

$(BUILD)/lamina: $(CLI_OBJ) $(BUILD)/liblamina.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/liblamina.a $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/liblamina.a include/lamina.h
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblamina.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/harness.h tests/fixture.h $(BUILD)/liblamina.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/liblamina.a $(LDLIBS)

examples: $(EXAMPLES)

# The shell tests (tests/test_*.sh) build and link programs themselves:
# they get the compiler and the sanitizer flags the library was built with.
test: all $(TEST_BIN)
	@BUILD=$(BUILD) CC="$(CC)" TEST_LDFLAGS="$(LDFLAGS)" sh tests/run.sh $(TEST_BIN)

demo: all
	@if [ -x $(BUILD)/lamina ]; then $(BUILD)/lamina demo --plot tutorial-loss.svg; \
	else $(BUILD)/examples/tutorial; fi

# DESTDIR stages an install (packaging, tests/test_install.sh).
INSTALLED := $(LIBDIR)/liblamina.a $(LIBDIR)/$(SOFILE) $(LIBDIR)/$(SONAME) \
	$(LIBDIR)/liblamina.so $(PREFIX)/include/lamina.h $(LIBDIR)/pkgconfig/lamina.pc \
	$(PREFIX)/bin/lamina $(PREFIX)/share/man/man1/lamina.1

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(BUILD)/liblamina.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/$(SOFILE) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblamina.so
	install -m 644 include/lamina.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' lamina.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/lamina.pc
	if [ -x $(BUILD)/lamina ]; then install -m 755 $(BUILD)/lamina $(DESTDIR)$(PREFIX)/bin/; fi
	if [ -f docs/lamina.1 ]; then sed -e '1s/"lamina [0-9.]*"/"lamina $(VERSION)"/' docs/lamina.1 > $(DESTDIR)$(PREFIX)/share/man/man1/lamina.1; fi

# Removes every file install wrote (the folders stay: they are shared).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# Peers and lamina side by side; writes bench/RESULTS.md.
bench: all
	BUILD=$(BUILD) sh bench/run.sh

# libFuzzer targets for every parser (fuzz/README.md); FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz:
	sh fuzz/run.sh $(FUZZ_SECONDS)

# The test programs under valgrind memcheck, and the concurrency tests
# under ThreadSanitizer.
valgrind: all $(TEST_BIN)
	BUILD=$(BUILD) sh tools/valgrind.sh

tsan:
	sh tools/tsan.sh

clean:
	rm -rf $(BUILD)
