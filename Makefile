# SPDX-License-Identifier: GPL-2.0
# ipgate: `make` builds, `make test` runs every suite, `make demo` shows it.

ARCH_INC  := /usr/include/$(shell uname -m)-linux-gnu
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc
B         := build

CFLAGS_COMMON := -std=gnu11 -g -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-Iinclude -Iuser/lib -I$(B) -D_GNU_SOURCE
# Each object records the headers it includes (build/**/*.d), so a header
# change rebuilds exactly what uses it.
DEPFLAGS  := -MMD -MP
CFLAGS    ?= -O2
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDLIBS    := -lbpf -lelf -lz -lcrypto -lpthread
# Only ipgated serves HTTP.
HTTP_LIBS := -lmicrohttpd -ljansson
# The etcd client (user/lib/etcd*.c): ipgated and the tests that use it.
STORE_LIBS := -lcurl -ljansson

BPF_SRC   := bpf/ipgate.bpf.c
BPF_HDRS  := $(wildcard bpf/*.h) $(wildcard include/ipgate/*.h)
SKEL      := $(B)/ipgate.skel.h
LIB_SRC   := $(wildcard user/lib/*.c)
LIB_OBJ   := $(patsubst user/%.c,$(B)/obj/%.o,$(LIB_SRC))
SLIB_OBJ  := $(patsubst user/%.c,$(B)/san/obj/%.o,$(LIB_SRC))
# The daemon and the CLI: one folder each, one object per concern.
IPGATED_OBJ := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/ipgated/*.c)) \
	$(B)/obj/ipgated/page.o
IPGATE_OBJ  := $(patsubst user/%.c,$(B)/obj/%.o,$(wildcard user/ipgate/*.c))
TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(patsubst %.c,$(B)/san/obj/%.o,$(TESTLIB_SRC))

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS  := $(patsubst tests/bpf/%.c,$(B)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
NET_TESTS  := $(wildcard tests/net/test_*.sh)
FUZZERS    := $(patsubst tests/fuzz/%.c,$(B)/tests/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECS  ?= 30
BINS       := $(B)/ipgated $(B)/ipgate

PREFIX    ?= /usr/local
DESTDIR   ?=
MANDIR    ?= $(PREFIX)/share/man
# The manual pages, mdoc(7); tests/lint/man.sh lints them.
MAN8      := man/ipgate.8 man/ipgated.8
MAN5      := man/ipgate.conf.5

# A recipe that fails leaves no half-written target behind.
.DELETE_ON_ERROR:
# Objects made on the way to a test or a benchmark are kept for the next
# build.
.SECONDARY:
.PHONY: all deps test tests-build fuzz demo clean format lint install uninstall bench \
	bench-quick
all: $(B)/ipgate.bpf.o $(B)/libipgate.a $(BINS)

deps:
	@scripts/deps.sh

$(B)/ipgate.bpf.o: $(BPF_SRC) $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) -target bpf -O2 -g -Wall -Werror -Iinclude -Ibpf -I$(ARCH_INC) \
		-c $< -o $@

# Test-only programs for the namespace suites (tests/net).
$(B)/testprogs.bpf.o: tests/net/testprogs.bpf.c
	@mkdir -p $(@D)
	$(CLANG) -target bpf -O2 -g -Wall -Werror -I$(ARCH_INC) -c $< -o $@

$(B)/ipgate.skel.h: $(B)/ipgate.bpf.o
	$(BPFTOOL) gen skeleton $< name ipgate > $@.tmp && mv $@.tmp $@

# Userspace objects; the skeleton must exist before the first compile
# (later ones know from their .d files which objects include it).
$(B)/obj/%.o: user/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(DEPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/san/obj/%.o: user/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(DEPFLAGS) $(SAN_FLAGS) -c $< -o $@

# The settings and break-glass pages' files, embedded by .incbin.
$(B)/obj/ipgated/page.o $(B)/san/obj/ipgated/page.o: user/ipgated/page.S \
		$(wildcard user/ipgated/page/*)
	@mkdir -p $(@D)
	$(CC) -c $< -o $@

$(B)/libipgate.a: $(LIB_OBJ)
	ar rcs $@ $^

$(B)/san/libipgate.a: $(SLIB_OBJ)
	ar rcs $@ $^

$(B)/ipgated: $(IPGATED_OBJ) $(B)/libipgate.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) $(HTTP_LIBS) $(STORE_LIBS) -o $@

$(B)/ipgate: $(IPGATE_OBJ) $(B)/libipgate.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The namespace suites run these: the binaries again, with sanitizers.
$(B)/san/ipgated: $(patsubst $(B)/obj/%,$(B)/san/obj/%,$(IPGATED_OBJ)) $(B)/san/libipgate.a
	$(CC) $(SAN_FLAGS) $^ $(LDLIBS) $(HTTP_LIBS) $(STORE_LIBS) -o $@

$(B)/san/ipgate: $(patsubst $(B)/obj/%,$(B)/san/obj/%,$(IPGATE_OBJ)) $(B)/san/libipgate.a
	$(CC) $(SAN_FLAGS) $^ $(LDLIBS) -o $@

# Benchmarks: contenders and generator in BPF, drivers in C, without
# sanitizers.
$(B)/bench.bpf.o: tests/bench/bench.bpf.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) -target bpf -O2 -g -Wall -Werror -Iinclude -I$(ARCH_INC) -c $< -o $@

$(B)/bench.skel.h: $(B)/bench.bpf.o
	$(BPFTOOL) gen skeleton $< name bench > $@.tmp && mv $@.tmp $@

$(B)/obj/bench/%.o: tests/bench/%.c $(B)/bench.skel.h | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(DEPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/bench/%: $(B)/obj/bench/%.o $(B)/libipgate.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

BENCH_BINS := $(patsubst tests/bench/%.c,$(B)/bench/%,$(wildcard tests/bench/bench_*.c))

bench: deps
	@$(MAKE) --no-print-directory all $(B)/bench.bpf.o $(B)/testprogs.bpf.o $(BENCH_BINS)
	@scripts/bench.sh

bench-quick: deps
	@$(MAKE) --no-print-directory all $(B)/bench.bpf.o $(B)/testprogs.bpf.o $(BENCH_BINS)
	@scripts/bench.sh --quick

# Tests build with AddressSanitizer and UndefinedBehaviorSanitizer.
$(B)/san/obj/tests/%.o: tests/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) $(DEPFLAGS) $(SAN_FLAGS) -Itests/lib -c $< -o $@

$(B)/tests/%: $(B)/san/obj/tests/%.o $(TESTLIB_OBJ) $(B)/san/libipgate.a
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) $^ $(LDLIBS) $(STORE_LIBS) -lpthread -o $@

# libFuzzer targets, with the library sources compiled in by clang.
$(B)/tests/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(wildcard user/lib/*.h) $(BPF_HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(CLANG) -std=gnu11 -g -O1 -Iinclude -Iuser/lib -I$(B) -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined $< $(LIB_SRC) $(LDLIBS) \
		$(STORE_LIBS) -o $@

tests-build: all $(B)/testprogs.bpf.o $(B)/bench.bpf.o $(BENCH_BINS) $(B)/san/ipgated $(B)/san/ipgate $(UNIT_TESTS) $(BPF_TESTS) $(FUZZERS)

test:
	@scripts/deps.sh --test
	@$(MAKE) --no-print-directory tests-build
	@scripts/run-tests.sh scripts/lint-suite.sh "tests/lint/man.sh $(B)" $(UNIT_TESTS) $(BPF_TESTS) $(NET_TESTS) \
		$(foreach f,$(FUZZERS),"scripts/fuzz-suite.sh $(f) $(FUZZ_SECS)")

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZERS)
	@scripts/run-tests.sh $(foreach f,$(FUZZERS),"scripts/fuzz-suite.sh $(f) $${FUZZ_SECS:-300}")

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

install: all
	install -D -m 0755 $(B)/ipgated $(DESTDIR)$(PREFIX)/sbin/ipgated
	install -D -m 0755 $(B)/ipgate $(DESTDIR)$(PREFIX)/sbin/ipgate
	install -D -m 0644 dist/ipgated.service \
		$(DESTDIR)/etc/systemd/system/ipgated.service
	sed -i 's|@SBINDIR@|$(PREFIX)/sbin|' \
		$(DESTDIR)/etc/systemd/system/ipgated.service
	[ -e $(DESTDIR)/etc/ipgate/ipgate.conf ] || install -D -m 0644 \
		dist/ipgate.conf $(DESTDIR)/etc/ipgate/ipgate.conf
	install -D -m 0644 -t $(DESTDIR)$(MANDIR)/man8 $(MAN8)
	install -D -m 0644 -t $(DESTDIR)$(MANDIR)/man5 $(MAN5)
	@# The socket's group. A staged install (DESTDIR) leaves this host's
	@# groups alone: the package's own scripts make it where it lands.
	@if [ -n "$(DESTDIR)" ]; then \
		echo "install: DESTDIR set; create the group there:" \
			"groupadd --system ipgate"; \
	else \
		getent group ipgate >/dev/null || groupadd --system ipgate; \
	fi

# Removes what install added except the config; the logs, the state and
# the group ipgate stay too.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/ipgated $(DESTDIR)$(PREFIX)/sbin/ipgate \
		$(DESTDIR)/etc/systemd/system/ipgated.service \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5)))
	@echo "uninstall: kept $(DESTDIR)/etc/ipgate, /var/log/ipgate," \
		"/var/lib/ipgate and the group ipgate"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	@scripts/lint-suite.sh

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
