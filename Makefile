# hftmon top-level build.
#   make            module (against Debian's linux-headers-amd64, or KVER=,
#                   KDIR=), libhftmon (shared + static + pkg-config), the CLI
#   make test       the Debian packages it needs (make deps: tools/vm/deps.sh),
#                   then lint (cppcheck, shellcheck), the three test tiers:
#                   unit (cmocka, host; again under TSan for the threaded
#                   ones), kunit (qemu), vm (qemu, module loaded, on each of
#                   Debian's four kernels: test-vm-kernels; again on the
#                   lockdep kernel; on Debian's arm64 kernel under
#                   qemu-system-aarch64 with a counting PMU: test-vm-arm64),
#                   and the DKMS rebuild for every kernel
#   make arm64      the module, library, CLI and VM payload cross-built for
#                   Debian's arm64 kernel (mk/arm64.mk)
#   make demo       make deps, then boot the VM, load the module, monitor a
#                   workload
#   make bench      print drain throughput and VM overhead ratios (x86,
#                   and hardware counters on arm64)
#   make install    DESTDIR= PREFIX= (module into /lib/modules/KVER/extra)
# Userspace rules live in mk/userspace.mk, VM rules in mk/vm.mk.

# The kernel the VM boots unless told: the one linux-image-amd64 depends on
# (6.1 generic), whatever other headers are installed. Evaluated once; empty
# on a machine without it (make test and make demo install it first, then
# run their steps in a sub-make, which looks again).
ifeq ($(origin KVER),undefined)
KVER := $(shell tools/vm/vm.sh debian-abi 2>/dev/null)
endif
KDIR ?= /usr/src/linux-headers-$(KVER)
O    ?= build

# O names our build directory, but kbuild reads O too (its output tree), and
# a sub-make inherits command-line variables through MAKEFLAGS: every
# kbuild call overrides it empty. kbuild DIR: build the module in DIR
# (a copy of its sources) against $(KDIR).
kbuild = $(MAKE) -C $(KDIR) M=$(abspath $(1)) O= W=1 modules
PREFIX ?= /usr/local
DESTDIR ?=

# The one version number, written once: PACKAGE_VERSION in kmod/dkms.conf.
HFTMON_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' kmod/dkms.conf)
DKMS_SRC := /usr/src/hftmon-$(HFTMON_VERSION)

# kbuild M= writes objects beside the sources: build from a copy.
KMOD_BUILD := $(O)/kmod-$(KVER)

.PHONY: all module ctlmod clean install install-module test test-steps lint \
	test-unit test-unit-tsan test-dkms test-kunit test-vm test-vm-kernels \
	demo bench

all: module lib cli

module: $(KMOD_BUILD)/kmod/hftmon.ko

KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/probes/*.c kmod/probes/*.h kmod/Kbuild \
	     kmod/Makefile) kmod/dkms.conf \
	     include/uapi/linux/hftmon.h
$(KMOD_BUILD)/kmod/hftmon.ko: $(KMOD_SRCS)
	@test -n "$(KVER)" || { echo "hftmon: no Debian kernel (linux-image-amd64): run make deps, or give KVER=" >&2; exit 1; }
	@test -d "$(KDIR)" || { echo "hftmon: no kernel headers at $(KDIR) (make deps, or KDIR=)" >&2; exit 1; }
	mkdir -p $(KMOD_BUILD)
	rsync -a --delete kmod include $(KMOD_BUILD)/
	$(call kbuild,$(KMOD_BUILD)/kmod)

# The VM tier's control module (tests/vm/ctlmod), for the same kernel.
CTLMOD := $(KMOD_BUILD)/ctlmod/hftmon_ctl.ko
ctlmod: $(CTLMOD)
$(CTLMOD): $(wildcard tests/vm/ctlmod/*)
	@test -d "$(KDIR)" || { echo "hftmon: no kernel headers at $(KDIR) (make deps, or KDIR=)" >&2; exit 1; }
	mkdir -p $(@D)
	rsync -a --delete tests/vm/ctlmod/ $(@D)/
	$(call kbuild,$(@D))

install-module: module
	install -D -m 0644 $(KMOD_BUILD)/kmod/hftmon.ko \
		$(DESTDIR)/lib/modules/$(KVER)/extra/hftmon.ko
	install -D -m 0644 kmod/dkms.conf $(DESTDIR)$(DKMS_SRC)/dkms.conf
	cp -r kmod include $(DESTDIR)$(DKMS_SRC)/

# Keep the objects pattern rules chain through (the unit tests'): make
# would otherwise delete them after each run and rebuild them next time.
.SECONDARY:

include mk/userspace.mk
include mk/vm.mk
include mk/python.mk
include mk/mutate.mk
include mk/arm64.mk

install: install-module install-lib

# The packages first, then every step in a sub-make (which finds the kernel
# the packages brought: KVER above). -k: every tier runs, make fails if one did.
test: deps
	$(MAKE) -k test-steps

test-steps: lint test-unit test-unit-tsan test-dkms test-kunit test-vm-kernels \
	test-vm-debug test-vm-arm64

# An operator's DKMS rebuild for every kernel with headers installed (as
# dkms.conf promises), with every tree under $(O)/dkms.
DKMS_KERNELS ?= $(notdir $(patsubst %/build,%,$(wildcard /lib/modules/*/build)))
test-dkms: module
	tests/dkms/run.sh $(O)/dkms $(DKMS_KERNELS)

clean:
	rm -rf $(O)
