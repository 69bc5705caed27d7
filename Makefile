# cohmap — measure and draw what cache coherence costs between cores.
# `make run` sets up, builds, measures and plots; `make check` runs the tests.

# Debian packages cohmap needs (see README "Dependencies" for why each).
DEB_PACKAGES = build-essential pkg-config likwid libpapi-dev gnuplot-nox \
               libnuma-dev libcmocka-dev libjansson-dev \
               chromium libpng-dev man-db \
               qemu-system-x86 busybox-static cpio jq clang libclang-rt-dev cppcheck clang-tidy \
               stress-ng slurm-wlm munge

# The arm64 libraries for `make ARCH=aarch64` (a cross build, tested under
# qemu-user: make check-aarch64); `make deps` adds the arm64 architecture to
# dpkg first. Debian has no arm64 likwid that installs beside the amd64 one
# (likwid is amd64-only), so the aarch64 build has no liblikwid (NO_LIKWID).
DEB_PACKAGES_ARM64 = gcc-aarch64-linux-gnu qemu-user libc6:arm64 libnuma-dev:arm64 \
                     libjansson-dev:arm64 libcmocka-dev:arm64 libpapi-dev:arm64

PREFIX  ?= /usr/local
CC      ?= gcc
CFLAGS  ?= -O2 -g
# Constraint violations are errors; everything else in -Wall -Wextra is a warning.
WARN     = -Wall -Wextra -Werror=implicit-function-declaration \
           -Werror=incompatible-pointer-types -Werror=int-conversion \
           -Werror=return-type -Werror=format-security \
           -Wno-format-truncation  # error messages are cut to fit on purpose
PKGS     = papi numa jansson
PKG_CONFIG = pkg-config
# ARCH=aarch64 on another machine: Debian's cross compiler, the arm64
# libraries (DEB_PACKAGES_ARM64), a build directory of its own, and no
# liblikwid (the topology comes from sysfs, CPUs are named by number).
ifeq ($(ARCH),aarch64)
ifneq ($(shell uname -m),aarch64)
CC       = aarch64-linux-gnu-gcc
AR       = aarch64-linux-gnu-ar
PKG_CONFIG = PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config
endif
NO_LIKWID ?= 1
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -I. -D_GNU_SOURCE -DCOHMAP_DATADIR='"$(PREFIX)/share/cohmap"'
ALL_CFLAGS = -std=gnu11 $(WARN) -pthread $(PKG_CFLAGS) $(CFLAGS)
# liblikwid ships no .pc file in Debian. NO_LIKWID=1 builds without it:
# topology/likwid_none.c replaces topology/likwid_source.c and says so.
ifeq ($(NO_LIKWID),1)
LIKWID_LIB =
LIKWID_LEFT_OUT = topology/likwid_source.c
else
LIKWID_LIB = -llikwid
LIKWID_LEFT_OUT = topology/likwid_none.c
endif
LDLIBS  += $(LIKWID_LIB) $(PKG_LIBS) -lm -pthread

# SANITIZE=1 builds everything with ASan and UBSan into its own directory, so a
# sanitized object never ends up in a timing binary.
ifeq ($(SANITIZE),1)
BUILD    = build/sanitize
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -O1
LDFLAGS  += -fsanitize=address,undefined
# liblikwid's own leaks are suppressed (tests/lsan.supp says which and why);
# full unwinding so that the suppression sees the liblikwid frame; any UBSan
# finding fails the test that hit it.
export ASAN_OPTIONS ?= fast_unwind_on_malloc=0
export LSAN_OPTIONS ?= suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
# SANITIZE=thread: ThreadSanitizer, for the agents' threads (make tsan).
else ifeq ($(SANITIZE),thread)
BUILD    = build/tsan
ALL_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer -O1
LDFLAGS  += -fsanitize=thread
# SANITIZE=fuzz: clang, coverage for libFuzzer, ASan and UBSan (make fuzz).
else ifeq ($(SANITIZE),fuzz)
CC       = clang
BUILD    = build/fuzz
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer -O1 -Wno-unknown-warning-option
LDFLAGS  += -fsanitize=address,undefined
else ifeq ($(ARCH),aarch64)
BUILD    = build/aarch64
else
BUILD    = build/release
endif

# The file system is the registry: every .c under these folders is part of cohmap.
# Layers, from the ground up: base -> topology, kernels, plots -> harness ->
# experiments/<name>/ -> cli (tests/imports.sh checks that imports go down).
LIB_SRC  = $(sort $(wildcard base/*.c topology/*.c kernels/*.c plots/*.c harness/*.c \
                             experiments/*/*.c cli/*.c))
LIB_SRC := $(filter-out cli/main.c $(LIKWID_LEFT_OUT),$(LIB_SRC))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      = $(BUILD)/cohmap
# Every gnuplot script, beside the code that draws with it.
GP_SRC   = $(sort $(wildcard plots/*.gp cli/*.gp experiments/*/*.gp))

# The stream kernels are plain C loops: -O3 turns on the vectoriser's full
# cost model (-O2's "very cheap" one leaves loops with a run-time trip count
# scalar), and -fno-tree-loop-distribute-patterns keeps gcc from replacing
# the copy loop by a call to memcpy, which is a kernel of its own.
# (Not in the clang fuzz build, which has no such flag and fuzzes no kernel.)
ifneq ($(SANITIZE),fuzz)
$(BUILD)/kernels/stream.o: ALL_CFLAGS += -O3 -fno-tree-loop-distribute-patterns
endif

.PHONY: all deps run check unit cli e2e bench clean install uninstall report docs docs-check \
        install-check hygiene imports

all: cohmap

# Phony, so ./cohmap always points at this build's binary: after
# `make SANITIZE=1 check`, `make run` must measure with the release build.
# A cross build (ARCH=aarch64) leaves ./cohmap to the machine's own build.
.PHONY: cohmap
cohmap: $(BIN)
ifneq ($(ARCH),aarch64)
	@ln -sfn $(BIN) cohmap
endif

# The installed binary finds its gnuplot scripts under $(PREFIX)/share/cohmap,
# a path compiled into plots/plot.o: this file changes when PREFIX does, so
# `make install PREFIX=...` after a plain `make` rebuilds plot.o.
DATADIR_STAMP = $(BUILD)/datadir.txt
$(shell mkdir -p $(BUILD) && { echo '$(PREFIX)/share/cohmap' | cmp -s - $(DATADIR_STAMP) || \
        echo '$(PREFIX)/share/cohmap' >$(DATADIR_STAMP); })
$(BUILD)/plots/plot.o: $(DATADIR_STAMP)

$(BUILD)/%.o: %.c $(wildcard */*.h experiments/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -c $< -o $@

# Made anew, so an object whose source was removed leaves with it.
$(BUILD)/libcohmap.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/cli/main.o $(BUILD)/libcohmap.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcohmap.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

# Installs what is missing when root; otherwise prints the exact command.
# The arm64 packages (DEB_PACKAGES_ARM64) need dpkg's arm64 architecture,
# added first (on an arm64 machine they are its own).
deps:
	@missing=""; for p in $(DEB_PACKAGES) $(DEB_PACKAGES_ARM64); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	foreign=""; case "$$missing" in *:arm64*) \
	  [ "$$(dpkg --print-architecture)" = arm64 ] || dpkg --print-foreign-architectures | grep -qx arm64 || foreign=arm64;; esac; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$missing"; \
	  { [ -z "$$foreign" ] || dpkg --add-architecture arm64; } && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null || exit 1; \
	else \
	  echo "cohmap needs Debian packages; run:$${foreign:+ sudo dpkg --add-architecture arm64 && sudo apt-get update &&} sudo apt-get install -y$$missing" >&2; exit 1; \
	fi

run: deps
	@$(MAKE) --no-print-directory cohmap
	./cohmap run

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; COHMAP_SRCDIR=$(CURDIR) $$t || exit 1; done

cli: cohmap
	tests/cli/run-cases tests/cli/cases.txt ./cohmap

e2e: cohmap
	tests/e2e.sh ./cohmap

# Shared memory and child processes leave nothing behind: finished, Ctrl-C'd
# and SIGKILLed runs (in private namespaces where the machine allows it).
hygiene: cohmap
	tests/hygiene.sh ./cohmap

# The HTML reports rendered in headless Chromium, and `cohmap compare`
# (tests/report.sh says how a page is checked); the screenshot of a report
# stays in build/report.png for a person to look at.
report: cohmap $(BUILD)/tests/pngcheck
	tests/report.sh ./cohmap $(BUILD)/tests/pngcheck build

$(BUILD)/tests/pngcheck: tests/report/pngcheck.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra $< -o $@ -lpng

# docs/experiments.md's reference sections and docs/cohmap.1 are generated
# from `cohmap --help`; docs-check fails when they are out of date.
docs: cohmap
	docs/gen-reference.sh ./cohmap

docs-check: cohmap
	docs/gen-reference.sh --check ./cohmap

install: cohmap
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	        $(DESTDIR)$(PREFIX)/share/cohmap/plots
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/cohmap
	install -m 644 docs/cohmap.1 $(DESTDIR)$(PREFIX)/share/man/man1/cohmap.1
	install -m 644 $(GP_SRC) $(DESTDIR)$(PREFIX)/share/cohmap/plots/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/cohmap $(DESTDIR)$(PREFIX)/share/man/man1/cohmap.1
	rm -rf $(DESTDIR)$(PREFIX)/share/cohmap

# make install / uninstall into a scratch PREFIX and DESTDIR, and the
# installed binary run from elsewhere.
install-check: cohmap
	tests/install.sh

# ---- reliability (docs/reliability.md) ----
.PHONY: check-vm check-vm-large faults tsan fuzz fuzz-smoke fuzzers lint check-loaded

# The multi-socket guest: 2 sockets x 2 cores x 2 threads, 2 NUMA nodes, under
# QEMU (TCG); always the release binary (sanitizer runtimes in a guest of
# 1 GiB only slow the boot down).
check-vm:
	@$(MAKE) --no-print-directory SANITIZE= build/release/cohmap
	tests/vm/check-vm.sh build/release/cohmap

# A large guest: 32 vCPUs over 4 sockets runs latency --parallel auto to a
# complete matrix (71 s on a quiet host, 486 s while other builds ran).
check-vm-large:
	@$(MAKE) --no-print-directory SANITIZE= build/release/cohmap
	tests/vm/check-vm-large.sh build/release/cohmap

# Signals mid-matrix, SIGKILL, a starved agent, no gnuplot, read-only or full
# output, malformed results files.
faults: cohmap
	tests/faults.sh ./cohmap

# ThreadSanitizer on the agents' protocol (test_measure runs real agent pairs).
tsan:
	@$(MAKE) --no-print-directory SANITIZE=thread build/tsan/tests/test_measure
	TSAN_OPTIONS=halt_on_error=1 COHMAP_SRCDIR=$(CURDIR) build/tsan/tests/test_measure

# libFuzzer targets (tests/fuzz/fuzz_*.c): FUZZ_SECONDS each with `make fuzz`,
# 2 s each in `make check`. The corpus grows in build/fuzz/corpus/.
FUZZ_SECONDS ?= 60
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
fuzzers: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/libcohmap.a
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) $< $(BUILD)/libcohmap.a -o $@ $(LDLIBS)

fuzz:
	@$(MAKE) --no-print-directory SANITIZE=fuzz fuzzers
	tests/fuzz/run-fuzz build/fuzz $(FUZZ_SECONDS)

fuzz-smoke:
	@$(MAKE) --no-print-directory SANITIZE=fuzz fuzzers
	tests/fuzz/run-fuzz build/fuzz 2

# cppcheck and clang-tidy with the checks chosen in tests/lint.sh.
lint:
	tests/lint.sh

# cohmap fleet against a real Slurm: munged, slurmctld and one slurmd per
# node name on this host from a temporary directory, a short fleet run, the
# merged report checked, every daemon stopped (tests/slurm.sh).
.PHONY: check-slurm
check-slurm: cohmap
	@if command -v slurmctld >/dev/null 2>&1; then tests/slurm.sh ./cohmap; \
	else echo "check-slurm: skipped: slurmctld is not installed (make deps installs slurm-wlm and munge)"; fi

# check-vm only where QEMU is (make deps installs it).
CHECK_VM := $(if $(shell command -v qemu-system-x86_64 2>/dev/null),check-vm check-vm-large)

# No import cycle between product files, and imports go down the layers
# (tests/imports.sh reads them from the objects).
imports: cohmap
	tests/imports.sh --self-test
	tests/imports.sh $(BUILD)

# The aarch64 build under qemu-user (tests/aarch64.sh): its unit tests;
# latency, states and falseshare end to end; the LSE and LL/SC kernels; a CPU
# without LSE (-cpu cortex-a53); bandwidth, channels, attach and fork. The
# cross build goes to build/aarch64 (make ARCH=aarch64).
AARCH64_UNIT = $(UNIT_SRC:tests/unit/%.c=build/aarch64/tests/%)
.PHONY: check-aarch64
check-aarch64: cohmap
	@$(MAKE) --no-print-directory ARCH=aarch64 SANITIZE= build/aarch64/cohmap $(AARCH64_UNIT)
	tests/aarch64.sh build/aarch64

# check-aarch64 where the cross compiler and QEMU are (make deps installs them).
CHECK_AARCH64 := $(if $(and $(shell command -v aarch64-linux-gnu-gcc 2>/dev/null),$(shell command -v qemu-aarch64 2>/dev/null)),check-aarch64)

check: deps
	@$(MAKE) --no-print-directory cohmap imports unit cli e2e hygiene report docs-check install-check \
	        faults fuzz-smoke check-slurm $(CHECK_VM) $(CHECK_AARCH64)

# make check on a loaded machine (tests/check-loaded.sh): CHECK_LOADED_RUNS full
# runs of make check in a row beside stress-ng (--cpu 2 --vm 1 --vm-bytes 4G)
# and a cohmap fork that maps and touches 4 GiB; the load stops with it.
CHECK_LOADED_RUNS ?= 5
check-loaded: deps
	@$(MAKE) --no-print-directory cohmap
	CHECK_LOADED_RUNS=$(CHECK_LOADED_RUNS) tests/check-loaded.sh ./cohmap

bench: deps
	@$(MAKE) --no-print-directory cohmap $(BUILD)/bench/pingpong
	bench/run-bench $(BUILD)/bench/pingpong ./cohmap

$(BUILD)/bench/pingpong: bench/pingpong.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -pthread $< -o $@

clean:
	rm -rf build cohmap

-include $(shell find build -name '*.d' 2>/dev/null)
