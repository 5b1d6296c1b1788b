# SPDX-License-Identifier: LGPL-2.1 OR MIT
# Userspace half of hftmon: libhftmon, the hftmon CLI, the cmocka unit
# tests and the drain benchmark. Included by the top-level Makefile, which
# defines O (build directory), PREFIX and DESTDIR.
#
#   make lib            $(O)/lib/libhftmon.so.$(LIBHFTMON_VERSION) + links,
#                       $(O)/lib/libhftmon.a, $(O)/lib/hftmon.pc
#   make cli            $(O)/hftmon (linked against the static library), and
#                       the same objects linked against libhftmon.so: the
#                       CLI uses the exported API only
#   make install-lib    library, headers, pkg-config file and CLI
#   make test-unit      build and run every cmocka test (ASan + UBSan)
#   make test-unit-tsan the ring's and the drain thread's concurrency tests under
#                       ThreadSanitizer
#   make bench-drain    build and run the drain benchmark
#   make bench-drain-callgrind  instructions per record, with callgrind
#   make examples       examples/*.c against the public headers and the shared
#                       library alone (make test-unit builds them)
#   make static-tools   $(VM_STATIC_TOOLS): -static tools for the VM
#   make cppcheck       static analysis of the userspace sources
#   make shellcheck     lint of every shell script
#   make man-check-cli  hftmon(1) names every command and option, renders
#                       (make lint: all three)
#
# Userspace compiles against the system's /usr/include/linux plus
# -Iinclude -Iinclude/uapi, so <linux/hftmon.h> is the tree's own header.
# The library and its white-box tests add -Ilib; the CLI does not.

# The library's ABI version, apart from the package's HFTMON_VERSION (the
# module and the tools share that one): its major is the soname and only
# moves on an incompatible change (and with it the first node of
# lib/libhftmon.map); the minor moves with each release that adds a node.
# 2: options checked from the end of the last known field, output structs
# with a size, the wake-up latency query in an options struct (1 was the
# wildcard-exported first ABI).
LIBHFTMON_VERSION := 2.1.0
HFTMON_SOVERSION := $(firstword $(subst ., ,$(LIBHFTMON_VERSION)))

LIBDIR ?= $(PREFIX)/lib
BINDIR ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include

USER_CFLAGS ?= -O2 -g
USER_LDFLAGS ?=
USER_CPPFLAGS := -Iinclude -Iinclude/uapi -D_GNU_SOURCE \
		 -DHFTMON_VERSION_STRING='"$(HFTMON_VERSION)"'
USER_WARN := -Wall -Wextra -Werror
USER_BASE := -std=c11 $(USER_WARN) $(USER_CPPFLAGS)
USER_DEPS := -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer

LIB_SONAME := libhftmon.so.$(HFTMON_SOVERSION)
LIB_SO := $(O)/lib/libhftmon.so.$(LIBHFTMON_VERSION)
LIB_A := $(O)/lib/libhftmon.a
LIB_PC := $(O)/lib/hftmon.pc
LIB_SRCS := $(wildcard lib/*.c)
LIB_HDRS := include/hftmon.h include/uapi/linux/hftmon.h
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
# The drain thread. (No libm: the VM's static programs link $(LIB_A) with
# -pthread alone.)
LIB_LIBS := -pthread

# tools/hftmon/: main.c (dispatch), one cmd-*.c per command, the helpers
# they share, and what only the CLI uses (symbols.c, threads.c).
CLI_DIR := tools/hftmon
CLI_SRCS := $(wildcard $(CLI_DIR)/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(O)/obj/%.o)
CLI := $(O)/hftmon
# Not installed: proves at every build that the CLI links against the
# shared library's exported symbols alone.
CLI_SHARED := $(O)/check/hftmon-shared
VM_STATIC_TOOLS := $(O)/static/hftmon
MANDIR ?= $(PREFIX)/share/man

UNIT_HELPERS := tests/unit/ring_producer.c tests/unit/fake_sys.c \
		tests/unit/fake_records.c
UNIT_SRCS := $(filter-out $(UNIT_HELPERS),$(wildcard tests/unit/*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
UNIT_LIB_OBJS := $(LIB_SRCS:%.c=$(O)/tests/obj/%.o)
UNIT_HELPER_OBJS := $(UNIT_HELPERS:%.c=$(O)/tests/obj/%.o)
# The CLI's code under the unit tests' flags; test_cli.c compiles main.c
# in itself (main renamed).
UNIT_CLI_OBJS := $(filter-out %/main.o,$(CLI_SRCS:%.c=$(O)/tests/obj/%.o))
UNIT_TSAN_BINS := $(O)/tests/tsan/test_ring $(O)/tests/tsan/test_drain_thread \
		  $(O)/tests/tsan/test_spike $(O)/tests/tsan/test_numaline

# Heap and mlock'd footprint of hftmon_configure(), measured from outside
# the library (tests/unit/mem/footprint.c), without sanitizers.
FOOTPRINT := $(O)/tests/footprint
FOOTPRINT_OBJS := $(O)/obj/tests/unit/mem/footprint.o \
		  $(O)/obj/tests/unit/fake_sys.o $(O)/obj/tests/unit/ring_producer.o

BENCH := $(O)/bench/drain_bench
BENCH_OBJS := $(O)/obj/tools/bench/drain_bench.o \
	      $(O)/obj/tests/unit/ring_producer.o \
	      $(O)/obj/$(CLI_DIR)/threads.o
BENCH_CALLGRIND_RECORDS ?= 2000000

.PHONY: lib cli install-lib test-unit test-unit-tsan bench-drain \
	bench-drain-callgrind static-tools cppcheck shellcheck lint examples \
	FORCE

lib: $(LIB_SO) $(O)/lib/$(LIB_SONAME) $(O)/lib/libhftmon.so $(LIB_A) $(LIB_PC)

cli: $(CLI) $(CLI_SHARED)

static-tools: $(VM_STATIC_TOOLS)

# ---- library ---------------------------------------------------------------

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(USER_BASE) $(USER_DEPS) $(USER_CFLAGS) -fPIC -fvisibility=hidden \
		-Ilib -Itests/unit -c $< -o $@

$(LIB_SO): $(LIB_OBJS) lib/libhftmon.map
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=lib/libhftmon.map -Wl,--no-undefined \
		$(USER_LDFLAGS) -o $@ $(LIB_OBJS) $(LIB_LIBS)

$(O)/lib/$(LIB_SONAME): $(LIB_SO)
	ln -sf $(notdir $<) $@

$(O)/lib/libhftmon.so: $(O)/lib/$(LIB_SONAME)
	ln -sf $(notdir $<) $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# Regenerated every run, replaced only when PREFIX or the version changed.
$(LIB_PC): lib/hftmon.pc.in FORCE
	@mkdir -p $(@D)
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@VERSION@|$(HFTMON_VERSION)|' $< > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; \
	 else mv -f $@.tmp $@; echo "  GEN     $@"; fi

# ---- CLI ---------------------------------------------------------------------

# Like any program built against the installed library: the public
# headers (-Iinclude -Iinclude/uapi) and no -Ilib, so a private header is
# a build error.
$(O)/obj/$(CLI_DIR)/%.o: $(CLI_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(USER_BASE) $(USER_DEPS) $(USER_CFLAGS) -I$(CLI_DIR) -c $< -o $@

$(CLI): $(CLI_OBJS) $(LIB_A)
	$(CC) $(USER_LDFLAGS) -o $@ $^ $(LIB_LIBS)

# Against libhftmon.so, so a function the library does not export (by the
# version script and its visibility) fails the link.
$(CLI_SHARED): $(CLI_OBJS) $(O)/lib/libhftmon.so
	@mkdir -p $(@D)
	$(CC) $(USER_LDFLAGS) -o $@ $(CLI_OBJS) -L$(O)/lib -lhftmon $(LIB_LIBS)

$(VM_STATIC_TOOLS): $(CLI_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) -static $(USER_LDFLAGS) -o $@ $^ $(LIB_LIBS)

# hftmon(1): installed with the library by install-lib, and checked by
# make lint against the commands and options of the CLI's sources.
.PHONY: install-man-cli man-check-cli
install-lib: install-man-cli
install-man-cli:
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 man/hftmon.1 $(DESTDIR)$(MANDIR)/man1/hftmon.1

lint: man-check-cli
man-check-cli:
	sh man/check-hftmon-1.sh $(CLI_DIR) man/hftmon.1

install-lib: lib cli
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/linux $(DESTDIR)$(BINDIR)
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libhftmon.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/hftmon.h $(DESTDIR)$(INCLUDEDIR)/hftmon.h
	install -m 0644 include/uapi/linux/hftmon.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/hftmon.h
	install -m 0644 $(LIB_PC) $(DESTDIR)$(LIBDIR)/pkgconfig/hftmon.pc
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/hftmon
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 0644 man/libhftmon.3 $(DESTDIR)$(MANDIR)/man3/libhftmon.3

# ---- examples: docs that compile --------------------------------------------
# Only what a caller has: the two installed headers (include/ and
# include/uapi/, no -Ilib) and the shared library through its version
# script, so a symbol the examples need and the map does not export fails
# the link. -std=c11 without _GNU_SOURCE: the public header must not need it.

EXAMPLES := $(patsubst examples/%.c,$(O)/examples/%,$(wildcard examples/*.c))

examples: $(EXAMPLES)

$(O)/examples/%: examples/%.c $(LIB_HDRS) $(O)/lib/libhftmon.so
	@mkdir -p $(@D)
	$(CC) -std=c11 $(USER_WARN) -Iinclude -Iinclude/uapi $(USER_CFLAGS) \
		-o $@ $< -L$(O)/lib -lhftmon

# ---- unit tests (host, cmocka, ASan + UBSan) -----------------------------

$(O)/tests/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(USER_BASE) $(USER_DEPS) -O1 -g $(SAN_FLAGS) -Ilib -Itests/unit \
		-I$(CLI_DIR) -c $< -o $@

$(O)/tests/unit/%: $(O)/tests/obj/tests/unit/%.o $(UNIT_HELPER_OBJS) \
		   $(UNIT_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $^ -lcmocka $(LIB_LIBS) -lm

# The tests of the CLI's own code link it (the library's objects come
# with every test).
$(O)/tests/unit/test_cli: $(UNIT_CLI_OBJS)
$(O)/tests/unit/test_symbols: $(O)/tests/obj/$(CLI_DIR)/symbols.o
$(O)/tests/unit/test_threads: $(O)/tests/obj/$(CLI_DIR)/threads.o

# test_cli reads hftmon export's traces with DevTools' trace engine
# (tests/export/engine.sh installs it, pinned, into ~/.cache/hftmon).
test-unit: $(UNIT_BINS) $(FOOTPRINT) $(EXAMPLES)
	@engine=$$(sh tests/export/engine.sh) && \
		HFTMON_TRACE_ENGINE=$$engine sh tests/unit/run.sh $(UNIT_BINS)
	$(FOOTPRINT) --raw-only

$(FOOTPRINT): $(FOOTPRINT_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(USER_LDFLAGS) -o $@ $^ $(LIB_LIBS)

# The concurrent tests again, where ThreadSanitizer checks that the ring's
# acquire/release pairs order every byte the reader looks at, and that the
# drain thread and the caller's queries share the aggregator only under
# its lock.
$(O)/tests/tsan/%: tests/unit/%.c $(UNIT_HELPERS) $(LIB_SRCS) \
		   $(wildcard lib/*.h tests/unit/*.h) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(USER_BASE) -O1 -g -fsanitize=thread -Ilib -Itests/unit \
		-o $@ $(filter-out $(KSHIM_DEPS),$(filter %.c,$^)) -lcmocka \
		$(LIB_LIBS) -lm

# The kernel's own ring (kmod/hftmon_ring.c) is compiled into
# tests/unit/ring_producer.c over the userspace shim in tests/unit/kshim/:
# the tests and the drain benchmark run the module's producer, not a copy.
KSHIM_FLAGS := -Itests/unit/kshim
KSHIM_DEPS := kmod/hftmon_ring.c kmod/hftmon_internal.h kmod/compat.h \
	      $(shell find tests/unit/kshim -name '*.h')
$(O)/tests/obj/tests/unit/ring_producer.o $(O)/obj/tests/unit/ring_producer.o \
	$(UNIT_TSAN_BINS): USER_BASE += $(KSHIM_FLAGS)
$(UNIT_TSAN_BINS): $(KSHIM_DEPS)

test-unit-tsan: $(UNIT_TSAN_BINS)
	@sh tests/unit/run.sh $(UNIT_TSAN_BINS)

# ---- drain benchmark ---------------------------------------------------------

# White-box: the ring reader and aggregator (-Ilib) feeding the CLI's
# per-thread table (-I$(CLI_DIR)).
$(O)/obj/tools/bench/%.o: tools/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(USER_BASE) $(USER_DEPS) $(USER_CFLAGS) -Ilib -Itests/unit \
		-I$(CLI_DIR) -c $< -o $@

$(BENCH): $(BENCH_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(USER_LDFLAGS) -o $@ $^ $(LIB_LIBS)

bench-drain: $(BENCH)
	$(BENCH)

# Counts instructions only inside the drain pass (the producer's filling
# is excluded), then divides by the records drained. The pass includes
# the query aggregator (lib/agg.c), as hftmon_drain() does. Fails if any
# heap allocator ran inside the pass (draining and aggregating must
# never allocate), or if the aggregator did not run in it.
BENCH_CALLGRIND_OUT := $(O)/bench/callgrind.out
bench-drain-callgrind: $(BENCH)
	valgrind --tool=callgrind --callgrind-out-file=$(BENCH_CALLGRIND_OUT) \
		--compress-strings=no --toggle-collect=bench_drain_pass \
		$(BENCH) --mode inline --records $(BENCH_CALLGRIND_RECORDS)
	@if grep -Eq '^c?fn=.*\<(malloc|calloc|realloc|free)\>' \
		$(BENCH_CALLGRIND_OUT); then \
		echo "bench-drain-callgrind: the drain pass called the heap allocator" >&2; \
		exit 1; fi
	@for f in hftmon_agg_record hftmon_agg_flush; do \
		grep -Eq "^c?fn=.*\<$$f\>" $(BENCH_CALLGRIND_OUT) || { \
		echo "bench-drain-callgrind: $$f did not run in the drain pass" >&2; \
		exit 1; }; done
	@awk '/^(summary|totals):/ { ir = $$2 } END { \
		if (!ir) { print "bench-drain-callgrind: no totals" > "/dev/stderr"; exit 1 } \
		printf "callgrind: %d instructions in the drain pass (aggregator included), %.1f instructions/record, no heap allocation\n", \
		ir, ir / $(BENCH_CALLGRIND_RECORDS) }' $(BENCH_CALLGRIND_OUT)

# ---- static analysis ---------------------------------------------------------
# kmod/ is kernel code (checkpatch's): cppcheck sees it only through
# tests/unit/ring_producer.c, which compiles the kernel ring, and does not
# judge it.

cppcheck:
	cppcheck --quiet --error-exitcode=1 --std=c11 \
		--enable=warning,performance,portability \
		--suppress=missingIncludeSystem --inline-suppr \
		--suppress='*:kmod/*' \
		-D__GNUC__ -D_GNU_SOURCE -Iinclude -Iinclude/uapi -Ilib -Itests/unit \
		-I$(CLI_DIR) lib $(CLI_DIR) tools/bench/drain_bench.c tools/bench/vm_bench.c \
		tools/bench/spike_latency.c tools/bench/numa_bench.c tools/bench/fault_bench.c tools/bench/tick_bench.c tests/unit \
		examples

# Every shell script in the tree, host and guest (busybox sh) alike.
shellcheck:
	git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck

lint: cppcheck shellcheck

FORCE:

-include $(LIB_OBJS:.o=.d) $(UNIT_LIB_OBJS:.o=.d) $(UNIT_HELPER_OBJS:.o=.d) \
	 $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/obj/tests/unit/%.d) \
	 $(CLI_OBJS:.o=.d) $(UNIT_CLI_OBJS:.o=.d) $(BENCH_OBJS:.o=.d) \
	 $(FOOTPRINT_OBJS:.o=.d)
