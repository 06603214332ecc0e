# rmmhunt - build, run and test.
#
#   make          build build/rmmhunt-agent, build/rmmhunt-collector and
#                 build/rmmhunt
#   make run      install missing packages, build, run the agent in the
#                 foreground (state in var/, bundled rules) shipping to a
#                 collector on 127.0.0.1:$(RUN_PORT) (TLS made in var/fleet/)
#   make test     install missing packages, build, run every test
#   make fuzz     run every libFuzzer target (FUZZ_SECONDS each)
#   make bench    run the benchmarks in bench/
#   make deps     install missing Debian packages (build and run)
#   make man      the man pages (help2man over each program's --help) in
#                 build/man/
#   make deb      the Debian packages rmmhunt-agent and rmmhunt-collector
#                 in build/deb/ (DEB_VERSION=... to set their version)
#
# Sources are found by folder: lib/ (and its subfolders) is a static library
# shared by every program; agent/ and bpf/ make the agent; collector/ makes
# the collector; cli/ makes the rmmhunt command; tests/unit/test_*.c are cmocka tests; fuzz/fuzz_*.c are
# libFuzzer targets.

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
PYTHON ?= /usr/bin/python3
BUILD := build
FUZZ_SECONDS ?= 60

PKGS := libbpf libelf zlib jansson libcrypto libssl sqlite3 yaml-0.1 libpcre2-8 \
	libcurl libmicrohttpd gnutls libpq
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing \
	-I lib -I $(BUILD)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS = $(PKG_LIBS) -lpthread -lm

LIB_SRCS := $(sort $(wildcard lib/*.c lib/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
AGENT_SRCS := $(sort $(wildcard agent/*.c agent/*/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
COLLECTOR_SRCS := $(sort $(wildcard collector/*.c collector/*/*.c))
COLLECTOR_OBJS := $(COLLECTOR_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)
BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)

PROGRAMS := $(BUILD)/rmmhunt-agent $(BUILD)/rmmhunt
ifneq ($(COLLECTOR_SRCS),)
PROGRAMS += $(BUILD)/rmmhunt-collector
endif

# keep the BPF object next to its skeleton
.SECONDARY:

.PHONY: all deps test-deps deb-deps run test unit-tests e2e-tests fuzz fuzz-build \
	bench bench-build lint clean man deb

all: $(PROGRAMS)

deps:
	@packaging/deps.sh build

test-deps:
	@packaging/deps.sh test

deb-deps:
	@packaging/deps.sh deb

# --- the BPF probe -------------------------------------------------------

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	@test -r /sys/kernel/btf/vmlinux || { \
		echo "build: /sys/kernel/btf/vmlinux is missing: this kernel has no BTF, the CO-RE probe cannot be built here" >&2; exit 1; }
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/*.h $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
		-I $(BUILD) -I bpf -c $< -o $@
	$(LLVM_STRIP) -g $@

# generated code: fenced off from clang-tidy
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	{ echo '// NOLINTBEGIN'; $(BPFTOOL) gen skeleton $<; echo '// NOLINTEND'; } \
		> $@.tmp && mv $@.tmp $@

# --- C programs ------------------------------------------------------------

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I bpf -MMD -MP -c $< -o $@

# agent modules, in agent/ or a subfolder (agent/wine/), include each
# other's headers from the agent's root: "process_table.h", "wine/wine.h"
$(BUILD)/agent/%.o: agent/%.c $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I agent -I bpf -MMD -MP -c $< -o $@

$(BUILD)/librmmhunt.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/rmmhunt-agent: $(AGENT_OBJS) $(BUILD)/librmmhunt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/rmmhunt-collector: $(COLLECTOR_OBJS) $(BUILD)/librmmhunt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/rmmhunt: $(CLI_OBJS) $(BUILD)/librmmhunt.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)

# --- running ---------------------------------------------------------------

# the agent, a collector on loopback (TLS material made in var/fleet/) and
# the hits as they reach it: packaging/run.sh
RUN_PORT ?= 8443
run: deps all
	@packaging/run.sh $(BUILD) var $(RUN_PORT)

# --- man pages and Debian packages -----------------------------------------

VERSION := $(shell sed -n 's/^\#define RMMHUNT_VERSION "\(.*\)"/\1/p' lib/base/version.h)
DEB_VERSION ?= $(VERSION)
MAN_PAGES := $(BUILD)/man/rmmhunt.1 $(BUILD)/man/rmmhunt-agent.8 \
	$(BUILD)/man/rmmhunt-collector.8

man: $(MAN_PAGES)

$(MAN_PAGES) &: $(PROGRAMS) packaging/man/man.sh $(wildcard packaging/man/*.h2m)
	packaging/man/man.sh $(BUILD) $(VERSION)

deb: deb-deps all
	packaging/deb.sh $(BUILD) $(DEB_VERSION)

# --- tests -----------------------------------------------------------------

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librmmhunt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/librmmhunt.a \
		$(LDLIBS) -lcmocka

# test_agent_*.c also link the agent's modules (all but main.o)
AGENT_MODULE_OBJS := $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJS))
$(BUILD)/tests/test_agent_%: tests/unit/test_agent_%.c $(AGENT_MODULE_OBJS) \
		$(BUILD)/librmmhunt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I agent -I bpf -o $@ $< \
		$(AGENT_MODULE_OBJS) $(BUILD)/librmmhunt.a $(LDLIBS) -lcmocka

# test_collector_*.c also link the collector's modules (all but main.o)
COLLECTOR_MODULE_OBJS := $(filter-out $(BUILD)/collector/main.o,$(COLLECTOR_OBJS))
$(BUILD)/tests/test_collector_%: tests/unit/test_collector_%.c $(COLLECTOR_MODULE_OBJS) \
		$(BUILD)/librmmhunt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I collector -o $@ $< \
		$(COLLECTOR_MODULE_OBJS) $(BUILD)/librmmhunt.a $(LDLIBS) -lcmocka

unit-tests: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

e2e-tests: all
	$(PYTHON) -m pytest -q -ra tests/e2e

test: test-deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit-tests
	@$(MAKE) --no-print-directory e2e-tests
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-10}

# --- fuzzing (clang, libFuzzer, ASan+UBSan) --------------------------------

FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I lib -I $(BUILD) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/fuzzobj/%.o)

$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) \
		$(PKG_CFLAGS) -MMD -MP -c $< -o $@

# static pattern rules: a half-built build/fuzzobj must not send an agent
# target to the generic rule (which lacks -I agent)
FUZZ_AGENT_BINS := $(filter $(BUILD)/fuzz/fuzz_agent_%,$(FUZZ_BINS))
$(filter-out $(FUZZ_AGENT_BINS),$(FUZZ_BINS)): $(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(LDLIBS)

# fuzz_agent_*.c also link the agent's modules (all but main and the probe)
FUZZ_AGENT_OBJS := $(filter-out %/main.o %/sensor.o %/status.o, \
	$(AGENT_SRCS:%.c=$(BUILD)/fuzzobj/%.o))
$(BUILD)/fuzzobj/agent/%.o: agent/%.c $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) \
		$(PKG_CFLAGS) -I agent -I bpf -MMD -MP -c $< -o $@
$(FUZZ_AGENT_BINS): $(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_AGENT_OBJS) $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -I agent -I bpf -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@set -e; for f in $(FUZZ_BINS); do \
		name=$$(basename $$f); corpus=$(BUILD)/fuzz-corpus/$$name; \
		mkdir -p $$corpus; \
		seeds=fuzz/seeds/$${name#fuzz_}; \
		echo "== $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$$corpus $$( [ -d $$seeds ] && echo $$seeds ) 2>$(BUILD)/fuzz/$$name.log \
			|| { tail -50 $(BUILD)/fuzz/$$name.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz/$$name.log || true; \
	done

# --- benchmarks ------------------------------------------------------------

$(BUILD)/bench/%: bench/%.c $(BUILD)/librmmhunt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/librmmhunt.a $(LDLIBS)

# bench/agent_*.c also link the agent's modules (all but main.o)
$(BUILD)/bench/agent_%: bench/agent_%.c $(AGENT_MODULE_OBJS) $(BUILD)/librmmhunt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I agent -I bpf -o $@ $< \
		$(AGENT_MODULE_OBJS) $(BUILD)/librmmhunt.a $(LDLIBS)

# bench/collector_*.c also link the collector's modules (all but main.o)
$(BUILD)/bench/collector_%: bench/collector_%.c $(COLLECTOR_MODULE_OBJS) $(BUILD)/librmmhunt.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I collector -o $@ $< \
		$(COLLECTOR_MODULE_OBJS) $(BUILD)/librmmhunt.a $(LDLIBS)

bench-build: $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

bench: test-deps all bench-build
	@set -e; for b in bench/bench_*.sh; do echo "== $$b"; bash $$b; done

# -O0: glibc's optimised string macros would be linted as our code
LINT_CFLAGS := -std=c11 -D_GNU_SOURCE -O0 -Wall -Wextra -I lib -I bpf -I agent \
	-isystem $(BUILD)

# clang-tidy in two processes of 24 files each at a time (xargs fails if one does)
lint: $(BPF_SKELS)
	printf '%s\n' $(LIB_SRCS) $(AGENT_SRCS) $(COLLECTOR_SRCS) $(CLI_SRCS) | \
		xargs -P 2 -n 24 sh -c 'clang-tidy --quiet "$$@" -- $(LINT_CFLAGS) $(PKG_CFLAGS)' clang-tidy
	cppcheck -j 2 --quiet --error-exitcode=1 --std=c11 --enable=warning,performance,portability \
		--suppress=missingIncludeSystem -I lib -I bpf lib agent collector cli

clean:
	rm -rf $(BUILD)
