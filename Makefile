# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# Quiet by default; "make V=1" shows the commands.
OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
ARCH := $(shell uname -m)
BPF_ARCH := $(subst x86_64,x86,$(subst aarch64,arm64,$(ARCH)))
VMLINUX := vmlinux/$(ARCH)/vmlinux.h
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

CFLAGS ?= -g -O2
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers
CPPFLAGS += -DSYNFIN_VERSION='"$(VERSION)"' -D_GNU_SOURCE $(CPPFLAGS_EXTRA)
BINARY ?= synfin
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz
LIBS := $(LIBBPF_LIBS) -lmicrohttpd -ljson-c -lyaml -lcrypt -lpthread -lm
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

BPF_PROGS := tracer snapshot
# The data path: bpf/ -> ring buffer -> src/core (engine, views) -> src/cmd.
# src/core is pure: no libbpf, no kernel header, no clock, no process or
# namespace state. It is compiled without libbpf or the skeletons on its include
# path, and tests/unit/core_boundary.sh compiles it once more with every libbpf
# and kernel header poisoned, so the boundary cannot erode.
CORE_SRCS := $(wildcard src/core/*.c)
SYS_SRCS := $(wildcard src/sys/*.c)
CMD_SRCS := $(wildcard src/cmd/*.c)
CORE_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(CORE_SRCS))
APP_OBJS := $(CORE_OBJS) $(patsubst src/%.c,$(OUTPUT)/%.o,$(SYS_SRCS) $(CMD_SRCS))
CORE_INC := -Iinclude -Isrc/core
SYS_INC := $(CORE_INC) -Isrc/sys -I$(OUTPUT)
CMD_INC := $(SYS_INC) -Isrc/cmd
UNIT_TESTS := test_tracker test_merge test_record test_expect test_alert test_output test_parse test_fdio test_workload test_missed test_twin6 test_watch test_who test_rings

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# keep the BPF objects between the skeletons and the build
.SECONDARY:
# a failed recipe leaves no half-written target behind
.DELETE_ON_ERROR:

.PHONY: all clean install static vmtest deps trace bench soak fuzz test e2e-san valgrind unit unit-san e2e check-format format
all: synfin

# what a fresh machine lacks, from Debian's packages
deps:
	$(Q)scripts/install-deps.sh

# build and start live tracing (root)
trace: deps
	$(Q)$(MAKE) --no-print-directory synfin
	./synfin trace

$(OUTPUT):
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Iinclude -Ivmlinux/$(ARCH) \
		-MMD -MP -MF $(@:.o=.d) -MT $@ -Wall -Werror -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# each loader object depends on its generated skeleton
$(patsubst %,$(OUTPUT)/sys/%.o,$(BPF_PROGS)): $(OUTPUT)/sys/%.o: $(OUTPUT)/%.skel.h

$(OUTPUT)/core/%.o: src/core/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CORE_INC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/sys/%.o: src/sys/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SYS_INC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/cmd/%.o: src/cmd/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CMD_INC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BINARY): $(APP_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/test_%: tests/unit/test_%.c $(CORE_OBJS) | $(OUTPUT)
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(CORE_INC) $(CPPFLAGS) $(CFLAGS) -DSF_TEST_DATA='"tests/data"' $< $(CORE_OBJS) \
		$(LDFLAGS) -lcmocka -lm -o $@

unit: $(patsubst %,$(OUTPUT)/%,$(UNIT_TESTS))
	$(Q)tests/unit/core_boundary.sh $(OUTPUT)/boundary
	$(Q)for t in $^; do echo "== $$t"; $$t || exit 1; done

# the ring reader (src/sys, compiled into its test) over rings of ordinary memory
$(OUTPUT)/test_rings: tests/unit/test_rings.c src/sys/rings.c $(OUTPUT)/sys/clock.o $(CORE_OBJS) \
		| $(OUTPUT)
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(SYS_INC) $(CPPFLAGS) $(CFLAGS) $< $(OUTPUT)/sys/clock.o $(CORE_OBJS) $(LDFLAGS) \
		$(LIBBPF_LIBS) -lcmocka -lm -o $@

$(OUTPUT)/scen: tests/e2e/scen.c $(OUTPUT)/sys/scenario.o $(CORE_OBJS) | $(OUTPUT)
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(SYS_INC) $(CPPFLAGS) $(CFLAGS) $^ $(LDFLAGS) -lm -o $@

# the identity module alone, for tests/e2e/identity_test.py
$(OUTPUT)/identity_probe: tests/e2e/identity_probe.c $(OUTPUT)/sys/identity.o $(OUTPUT)/sys/caps.o \
		$(CORE_OBJS) | $(OUTPUT)
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(SYS_INC) $(CPPFLAGS) $(CFLAGS) $^ $(LDFLAGS) -ljson-c -lm -o $@

e2e: synfin $(OUTPUT)/scen $(OUTPUT)/loadgen $(OUTPUT)/floor $(OUTPUT)/identity_probe
	$(Q)tests/e2e/run.sh

$(OUTPUT)/loadgen: bench/loadgen.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -pthread $< -o $@

# by hand: what a cache line costs between the first and the last CPU just now
$(OUTPUT)/pingpong: bench/pingpong.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -pthread $< -o $@

$(OUTPUT)/floor.bpf.o: bench/floor.bpf.c $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Ivmlinux/$(ARCH) \
		-MMD -MP -MF $(@:.o=.d) -MT $@ -Wall -Werror -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/floor: bench/floor.c $(OUTPUT)/floor.skel.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) -I$(OUTPUT) $(CPPFLAGS) $(CFLAGS) $< $(LDFLAGS) $(LIBBPF_LIBS) -o $@

# speed and memory against the alternatives: not a test, no thresholds (root)
bench: synfin $(OUTPUT)/loadgen $(OUTPUT)/floor
	$(Q)bench/run.sh

soak: synfin $(OUTPUT)/loadgen
	$(Q)bench/soak.sh

# the end-to-end suite with synfin built with ASan and UBSan
e2e-san: $(OUTPUT)/scen $(OUTPUT)/loadgen $(OUTPUT)/floor $(OUTPUT)/identity_probe
	$(Q)$(MAKE) --no-print-directory SAN=1 OUTPUT=$(OUTPUT)/san BINARY=$(OUTPUT)/san/synfin \
		$(OUTPUT)/san/synfin
	$(Q)SYNFIN=$(OUTPUT)/san/synfin E2E_OUT=$(OUTPUT)/e2e-san tests/e2e/run.sh

# replay, every view, on every recording, under valgrind: no leak, no error
valgrind: synfin
	$(Q)for f in tests/data/*.sfr; do for v in --json --ladder --states ""; do \
		valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99 \
			./synfin replay $$v $$f >/dev/null 2>$(OUTPUT)/valgrind.log; \
		[ $$? = 99 ] && { cat $(OUTPUT)/valgrind.log; exit 1; }; \
	done; done; echo "valgrind: replay clean on $$(ls tests/data/*.sfr | wc -l) recordings"

# the unit tests again under ASan and UBSan, in their own build folder, and
# replay of every recording (lossy and midlife ones too) in every view
unit-san:
	$(Q)$(MAKE) --no-print-directory SAN=1 OUTPUT=$(OUTPUT)/san unit
	$(Q)$(MAKE) --no-print-directory SAN=1 OUTPUT=$(OUTPUT)/san BINARY=$(OUTPUT)/san/synfin \
		$(OUTPUT)/san/synfin
	$(Q)for f in tests/data/*.sfr; do for v in --json --ladder --states "" "--json --states"; do \
		$(OUTPUT)/san/synfin replay $$v $$f >/dev/null 2>$(OUTPUT)/san/replay.log || \
			{ echo "replay $$v $$f under ASan/UBSan:"; cat $(OUTPUT)/san/replay.log; exit 1; }; \
	done; done; echo "replay-san: every view of $$(ls tests/data/*.sfr | wc -l) recordings clean"

test: deps
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory unit-san
	$(Q)$(MAKE) --no-print-directory e2e

FORMAT_FILES := src/*/*.[ch] include/*.h bpf/*.[ch] tests/unit/*.[ch] tests/e2e/*.c tests/fuzz/*.c \
	tests/vm/*.c bench/*.c

check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

format:
	$(Q)clang-format -i $(FORMAT_FILES)

# libFuzzer targets for every parser and the engine; FUZZ_SECONDS each
FUZZ_TARGETS := expect alert tracker record
FUZZ_SECONDS ?= 60

$(OUTPUT)/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRCS) | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(CORE_INC) $(CPPFLAGS) $< $(CORE_SRCS) -lm -o $@

fuzz: $(patsubst %,$(OUTPUT)/fuzz_%,$(FUZZ_TARGETS))
	$(Q)for t in $(FUZZ_TARGETS); do \
		echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
		mkdir -p $(OUTPUT)/corpus/$$t; \
		$(OUTPUT)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(OUTPUT)/ \
			$(OUTPUT)/corpus/$$t tests/fuzz/corpus/$$t 2>$(OUTPUT)/fuzz_$$t.log || \
			{ tail -40 $(OUTPUT)/fuzz_$$t.log; exit 1; }; \
		grep -E '^#[0-9]+.*DONE' $(OUTPUT)/fuzz_$$t.log | tail -1; \
	done

# A static synfin for other kernels (make vmtest), without the metrics endpoint,
# with the VM's test helpers; static-arm64 cross-builds the same with Debian's
# cross toolchain and arm64 libraries (scripts/install-deps.sh vmtest)
# (-lm in LDFLAGS too: the scen rule links no library of its own)
STATIC_MAKE = $(MAKE) --no-print-directory CPPFLAGS_EXTRA=-DSF_NO_METRICS LDFLAGS="-static -lm" \
	LIBS="-lbpf -lelf -lz -lzstd -ljson-c -lpthread -lm"
static:
	$(Q)$(STATIC_MAKE) OUTPUT=$(OUTPUT)/static BINARY=$(OUTPUT)/static/synfin \
		$(addprefix $(OUTPUT)/static/,synfin scen sockhold)

.PHONY: static-arm64
static-arm64:
	$(Q)$(STATIC_MAKE) OUTPUT=$(OUTPUT)/static-arm64 BINARY=$(OUTPUT)/static-arm64/synfin \
		ARCH=aarch64 CC=aarch64-linux-gnu-gcc \
		$(addprefix $(OUTPUT)/static-arm64/,synfin scen sockhold)

$(OUTPUT)/sockhold: tests/vm/sockhold.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LDFLAGS) -o $@

# CO-RE on Debian's kernels 5.10 to 6.12, x86_64 and arm64, under QEMU. A failed
# cross build leaves no arm64 synfin: vmtest then fails that kernel, not the rest.
vmtest: static
	$(Q)scripts/install-deps.sh vmtest
	$(Q)$(MAKE) --no-print-directory static-arm64 || rm -f $(OUTPUT)/static-arm64/synfin
	$(Q)scripts/vmtest.sh $(OUTPUT)/static $(OUTPUT)/static-arm64

.PHONY: completions deb
# bash, zsh and fish completions, generated from synfin's own --help
completions: $(BINARY)
	$(call msg,GEN,$(OUTPUT)/completions)
	$(Q)scripts/gen-completions.py $(abspath $(BINARY)) $(OUTPUT)/completions

# the Debian package: dpkg-buildpackage on debian/ in a copy of the tree, then
# lintian; $(OUTPUT)/deb/synfin_VERSION_ARCH.deb
deb:
	$(Q)scripts/build-deb.sh $(OUTPUT)/deb

PREFIX ?= /usr/local
DESTDIR ?=

install: synfin completions
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 synfin $(DESTDIR)$(PREFIX)/sbin/synfin
	$(Q)install -D -m 0644 docs/synfin.8 $(DESTDIR)$(PREFIX)/share/man/man8/synfin.8
	$(Q)install -D -m 0644 $(OUTPUT)/completions/synfin \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/synfin
	$(Q)install -D -m 0644 $(OUTPUT)/completions/_synfin \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_synfin
	$(Q)install -D -m 0644 $(OUTPUT)/completions/synfin.fish \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/synfin.fish
	$(Q)sed 's|/usr/local/sbin/synfin|$(PREFIX)/sbin/synfin|' scripts/synfin-watch.service > \
		$(OUTPUT)/synfin-watch.service
	$(Q)install -D -m 0644 $(OUTPUT)/synfin-watch.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/synfin-watch.service
	$(Q)install -D -m 0644 docs/lifecycle.md $(DESTDIR)$(PREFIX)/share/doc/synfin/lifecycle.md
	$(Q)install -D -m 0644 docs/prometheus-alerts.yml \
		$(DESTDIR)$(PREFIX)/share/doc/synfin/prometheus-alerts.yml

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT) synfin

-include $(shell find $(OUTPUT) -name '*.d' -type f 2>/dev/null)
