# SPDX-License-Identifier: LGPL-2.1 OR MIT
# Mutation testing. Included by the top-level
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
#   make mutate-unit    the unit tier (make test runs it)

MUTANTS ?= tests/mutate/mutants.txt
MUTATE_TIERS ?= unit
MUTATE_IDS ?=
MUTATE_DIR := $(O)/mutate

.PHONY: mutate mutate-unit mutate-unit-bins mutate-unit-list

mutate:
	sh tests/mutate/run.sh $(MUTANTS) $(MUTATE_DIR) "$(MUTATE_TIERS)" \
		$(MUTATE_IDS)

mutate-unit:
	sh tests/mutate/run.sh $(MUTANTS) $(MUTATE_DIR) unit $(MUTATE_IDS)

test: mutate-unit

# For the harness, inside its copy: what the unit tier builds and runs
# (the same programs as make test-unit, one per line).
mutate-unit-bins: $(UNIT_BINS) $(FOOTPRINT) $(EXAMPLES)

mutate-unit-list:
	@printf '%s\n' $(UNIT_BINS) "$(FOOTPRINT) --raw-only"
