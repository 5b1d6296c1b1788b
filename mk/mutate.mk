# SPDX-License-Identifier: LGPL-2.1 OR MIT
# Mutation testing and coverage of the library. Included by the top-level
# Makefile after mk/userspace.mk, whose variables (UNIT_BINS, FOOTPRINT,
# EXAMPLES, LIB_SRCS...) it uses.
#
#   make mutate         plants each mutant of tests/mutate/mutants.txt in
#                       a scratch copy of the tree ($(O)/mutate/tree) and
#                       runs the tier that should catch it; prints
#                       killed/survived/does-not-apply per mutant and a
#                       score per tier. MUTATE_TIERS="unit kunit vm" runs
#                       the VM tiers too (each boot under the VM lock);
#                       MUTATE_IDS="id ..." only those mutants.
#   make mutate-unit    the unit tier (make test runs it), in MUTATE_JOBS
#                       scratch copies at once (default: the host's CPUs,
#                       at most 4), each $(O)/mutate/jN
#   make coverage       the unit tests built with --coverage, then line and
#                       branch coverage of lib/*.c (gcovr if installed,
#                       else gcov's own summary)

MUTANTS ?= tests/mutate/mutants.txt
MUTATE_TIERS ?= unit
MUTATE_IDS ?=
MUTATE_DIR := $(O)/mutate
MUTATE_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: mutate mutate-unit mutate-unit-bins mutate-unit-list coverage

mutate:
	sh tests/mutate/run.sh $(MUTANTS) $(MUTATE_DIR) "$(MUTATE_TIERS)" \
		$(MUTATE_IDS)

mutate-unit:
	sh tests/mutate/parallel.sh $(MUTANTS) $(MUTATE_DIR) $(MUTATE_JOBS) \
		$(MUTATE_IDS)

# make test runs the unit tier of the mutants after the packages are in.
test-steps: mutate-unit

# For the harness, inside its copy: what the unit tier builds and runs
# (the same programs as make test-unit, one per line).
mutate-unit-bins: $(UNIT_BINS) $(FOOTPRINT) $(EXAMPLES)

mutate-unit-list:
	@printf '%s\n' $(UNIT_BINS) "$(FOOTPRINT) --raw-only"

# ---- coverage ----------------------------------------------------------------
# Separate objects ($(O)/cov), no sanitizers: gcov counts every line and
# branch of lib/*.c that the unit tests run.
COV_DIR := $(O)/cov
COV_CFLAGS := -O0 -g --coverage
COV_LIB_OBJS := $(LIB_SRCS:%.c=$(COV_DIR)/obj/%.o)
COV_HELPER_OBJS := $(UNIT_HELPERS:%.c=$(COV_DIR)/obj/%.o)
COV_CLI_OBJS := $(filter-out %/main.o,$(CLI_SRCS:%.c=$(COV_DIR)/obj/%.o))
COV_BINS := $(UNIT_SRCS:tests/unit/%.c=$(COV_DIR)/tests/unit/%)

$(COV_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(USER_BASE) $(USER_DEPS) $(COV_CFLAGS) -Ilib -Itests/unit \
		-I$(CLI_DIR) -c $< -o $@

$(COV_DIR)/tests/unit/%: $(COV_DIR)/obj/tests/unit/%.o $(COV_HELPER_OBJS) \
			 $(COV_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) --coverage -o $@ $^ -lcmocka $(LIB_LIBS) -lm

# The test producer may compile kernel code over a shim (KSHIM_FLAGS, set
# by mk/userspace.mk where it does; empty otherwise).
$(COV_DIR)/obj/tests/unit/ring_producer.o: USER_BASE += $(KSHIM_FLAGS)

$(COV_DIR)/tests/unit/test_cli: $(COV_CLI_OBJS)
$(COV_DIR)/tests/unit/test_symbols: $(COV_DIR)/obj/$(CLI_DIR)/symbols.o
$(COV_DIR)/tests/unit/test_threads: $(COV_DIR)/obj/$(CLI_DIR)/threads.o

coverage: $(COV_BINS)
	@find $(COV_DIR) -name '*.gcda' -delete
	@sh tests/unit/run.sh $(COV_BINS) >$(COV_DIR)/tests.log 2>&1 || { \
		tail -n 20 $(COV_DIR)/tests.log; \
		echo "coverage: the unit tests failed (log: $(COV_DIR)/tests.log)" >&2; \
		exit 1; }
	@if command -v gcovr >/dev/null 2>&1; then \
		gcovr --root . --filter 'lib/.*\.c' --branches \
			$(COV_DIR) && \
		gcovr --root . --filter 'lib/.*\.c' $(COV_DIR); \
	else \
		echo "coverage: gcovr is not installed (Debian package gcovr): per-file figures from gcov alone"; \
		sh tests/mutate/gcov-summary.sh $(COV_DIR)/obj/lib $(LIB_SRCS); \
	fi

-include $(COV_LIB_OBJS:.o=.d) $(COV_HELPER_OBJS:.o=.d) $(COV_CLI_OBJS:.o=.d) \
	 $(UNIT_SRCS:tests/unit/%.c=$(COV_DIR)/obj/tests/unit/%.d)
