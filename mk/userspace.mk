# SPDX-License-Identifier: LGPL-2.1 OR MIT
# Userspace half of hftmon: libhftmon, the hftmon CLI, the cmocka unit
# tests and the drain benchmark. Included by the top-level Makefile, which
# defines O (build directory), PREFIX and DESTDIR.
#
#   make lib            $(O)/lib/libhftmon.so.$(HFTMON_VERSION) + links,
#                       $(O)/lib/libhftmon.a, $(O)/lib/hftmon.pc
#   make cli            $(O)/hftmon (linked against the static library)
#   make install-lib    library, headers, pkg-config file and CLI
#   make test-unit      build and run every cmocka test (ASan + UBSan)
#   make test-unit-tsan the ring's and the drain thread's concurrency tests under
#                       ThreadSanitizer
#   make bench-drain    build and run the drain benchmark
#   make bench-drain-callgrind  instructions per record, with callgrind
#   make static-tools   $(VM_STATIC_TOOLS): -static tools for the VM
#   make cppcheck       static analysis of the userspace sources
#   make shellcheck     lint of every shell script (make lint: both)
#
# Userspace compiles against the system's /usr/include/linux plus
# -Iinclude -Iinclude/uapi, so <linux/hftmon.h> is the tree's own header.

# The soname takes the major part of HFTMON_VERSION (the top Makefile).
HFTMON_SOVERSION := $(firstword $(subst ., ,$(HFTMON_VERSION)))

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
LIB_SO := $(O)/lib/libhftmon.so.$(HFTMON_VERSION)
LIB_A := $(O)/lib/libhftmon.a
LIB_PC := $(O)/lib/hftmon.pc
LIB_SRCS := $(wildcard lib/*.c)
LIB_HDRS := include/hftmon.h include/uapi/linux/hftmon.h
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
# The drain thread. (No libm: the VM's static programs link $(LIB_A) with
# -pthread alone.)
LIB_LIBS := -pthread

CLI := $(O)/hftmon
VM_STATIC_TOOLS := $(O)/static/hftmon

UNIT_HELPERS := tests/unit/ring_producer.c tests/unit/fake_sys.c \
		tests/unit/fake_records.c
UNIT_SRCS := $(filter-out $(UNIT_HELPERS),$(wildcard tests/unit/*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
UNIT_LIB_OBJS := $(LIB_SRCS:%.c=$(O)/tests/obj/%.o)
UNIT_HELPER_OBJS := $(UNIT_HELPERS:%.c=$(O)/tests/obj/%.o)
UNIT_TSAN_BINS := $(O)/tests/tsan/test_ring $(O)/tests/tsan/test_drain_thread

BENCH := $(O)/bench/drain_bench
BENCH_OBJS := $(O)/obj/tools/bench/drain_bench.o \
	      $(O)/obj/tests/unit/ring_producer.o
BENCH_CALLGRIND_RECORDS ?= 2000000

.PHONY: lib cli install-lib test-unit test-unit-tsan bench-drain \
	bench-drain-callgrind static-tools cppcheck shellcheck lint FORCE

lib: $(LIB_SO) $(O)/lib/$(LIB_SONAME) $(O)/lib/libhftmon.so $(LIB_A) $(LIB_PC)

cli: $(CLI)

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

$(CLI): $(O)/obj/tools/hftmon.o $(LIB_A)
	$(CC) $(USER_LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(VM_STATIC_TOOLS): $(O)/obj/tools/hftmon.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) -static $(USER_LDFLAGS) -o $@ $^ $(LIB_LIBS)

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

# ---- unit tests (host, cmocka, ASan + UBSan) -----------------------------

$(O)/tests/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(USER_BASE) $(USER_DEPS) -O1 -g $(SAN_FLAGS) -Ilib -Itests/unit \
		-c $< -o $@

$(O)/tests/unit/%: $(O)/tests/obj/tests/unit/%.o $(UNIT_HELPER_OBJS) \
		   $(UNIT_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $^ -lcmocka $(LIB_LIBS) -lm

test-unit: $(UNIT_BINS)
	@sh tests/unit/run.sh $(UNIT_BINS)

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
		lib tools/hftmon.c tools/bench/drain_bench.c tests/unit

# Every shell script in the tree, host and guest (busybox sh) alike.
shellcheck:
	git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck

lint: cppcheck shellcheck

FORCE:

-include $(LIB_OBJS:.o=.d) $(UNIT_LIB_OBJS:.o=.d) $(UNIT_HELPER_OBJS:.o=.d) \
	 $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/obj/tests/unit/%.d) \
	 $(O)/obj/tools/hftmon.d $(BENCH_OBJS:.o=.d)
