# cohmap — measure and draw what cache coherence costs between cores.
# `make run` sets up, builds, measures and plots; `make check` runs the tests.

# Debian packages cohmap needs (see README "Dependencies" for why each).
DEB_PACKAGES = build-essential pkg-config likwid libpapi-dev gnuplot-nox \
               libnuma-dev libcmocka-dev libjansson-dev

PREFIX  ?= /usr/local
CC      ?= gcc
CFLAGS  ?= -O2 -g
# Constraint violations are errors; everything else in -Wall -Wextra is a warning.
WARN     = -Wall -Wextra -Werror=implicit-function-declaration \
           -Werror=incompatible-pointer-types -Werror=int-conversion \
           -Werror=return-type -Werror=format-security \
           -Wno-format-truncation  # error messages are cut to fit on purpose
PKGS     = papi numa jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# liblikwid ships no .pc file in Debian.
CPPFLAGS += -I. -D_GNU_SOURCE -DCOHMAP_DATADIR='"$(PREFIX)/share/cohmap"'
ALL_CFLAGS = -std=gnu11 $(WARN) -pthread $(PKG_CFLAGS) $(CFLAGS)
LDLIBS  += -llikwid $(PKG_LIBS) -lm -pthread

# SANITIZE=1 builds everything with ASan and UBSan into its own directory, so a
# sanitized object never ends up in a timing binary.
ifeq ($(SANITIZE),1)
BUILD    = build/sanitize
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -O1
LDFLAGS  += -fsanitize=address,undefined
else
BUILD    = build/release
endif

# The file system is the registry: every .c under these folders is part of cohmap.
LIB_SRC  = $(sort $(wildcard kernels/*.c harness/*.c topology/*.c plots/*.c))
LIB_SRC := $(filter-out harness/main.c,$(LIB_SRC))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      = $(BUILD)/cohmap

# The stream kernels are plain C loops: -O3 turns on the vectoriser's full
# cost model (-O2's "very cheap" one leaves loops with a run-time trip count
# scalar), and -fno-tree-loop-distribute-patterns keeps gcc from replacing
# the copy loop by a call to memcpy, which is a kernel of its own.
$(BUILD)/kernels/stream.o: ALL_CFLAGS += -O3 -fno-tree-loop-distribute-patterns

.PHONY: all deps run check unit cli e2e bench clean install uninstall

all: cohmap

cohmap: $(BIN)
	@ln -sf $(BIN) cohmap

$(BUILD)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -c $< -o $@

$(BUILD)/libcohmap.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/harness/main.o $(BUILD)/libcohmap.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcohmap.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

# Installs what is missing when root; otherwise prints the exact command.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null || exit 1; \
	else \
	  echo "cohmap needs Debian packages; run: sudo apt-get install -y$$missing" >&2; exit 1; \
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

check: deps
	@$(MAKE) --no-print-directory cohmap unit cli e2e

bench: deps
	@$(MAKE) --no-print-directory cohmap $(BUILD)/bench/pingpong
	bench/run-bench $(BUILD)/bench/pingpong ./cohmap

$(BUILD)/bench/pingpong: bench/pingpong.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -pthread $< -o $@

clean:
	rm -rf build cohmap

-include $(shell find build -name '*.d' 2>/dev/null)
