# hftmon top-level build.
#   make            module (against Debian's linux-headers-amd64, or KDIR=),
#                   libhftmon (shared + static + pkg-config), the hftmon CLI
#   make test       lint (cppcheck, shellcheck), the three test tiers: unit
#                   (cmocka, host; again under TSan for the threaded ones),
#                   kunit (qemu), vm (qemu, Debian's kernel, module loaded;
#                   again on the lockdep kernel), and the DKMS rebuild
#   make demo       boot the VM, load the module, monitor a workload
#   make bench      print drain throughput and VM overhead ratios
#   make install    DESTDIR= PREFIX= (module into /lib/modules/KVER/extra)
# Userspace rules live in mk/userspace.mk, VM rules in mk/vm.mk.

# Debian's headers for the newest installed -amd64 kernel unless told.
KVER ?= $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | \
	  sed 's|.*/linux-headers-||' | sort -V | tail -n 1)
KDIR ?= /usr/src/linux-headers-$(KVER)
O    ?= build
PREFIX ?= /usr/local
DESTDIR ?=

# The one version number, written once: PACKAGE_VERSION in kmod/dkms.conf.
HFTMON_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' kmod/dkms.conf)
DKMS_SRC := /usr/src/hftmon-$(HFTMON_VERSION)

# kbuild M= writes objects beside the sources: build from a copy.
KMOD_BUILD := $(O)/kmod-$(KVER)

.PHONY: all module clean install install-module test lint test-unit \
	test-unit-tsan test-dkms test-kunit test-vm demo bench

all: module lib cli

module: $(KMOD_BUILD)/kmod/hftmon.ko

KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/Kbuild kmod/Makefile) kmod/dkms.conf \
	     include/uapi/linux/hftmon.h
$(KMOD_BUILD)/kmod/hftmon.ko: $(KMOD_SRCS)
	@test -d "$(KDIR)" || { echo "hftmon: no kernel headers at $(KDIR) (apt-get install linux-headers-amd64, or KDIR=)" >&2; exit 1; }
	mkdir -p $(KMOD_BUILD)
	rsync -a --delete kmod include $(KMOD_BUILD)/
	$(MAKE) -C $(KDIR) M=$(abspath $(KMOD_BUILD))/kmod W=1 modules

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
include mk/mutate.mk

install: install-module install-lib

test: lint test-unit test-unit-tsan test-dkms test-kunit test-vm test-vm-debug

# An operator's DKMS rebuild, with every tree under $(O)/dkms.
test-dkms: module
	tests/dkms/run.sh $(KVER) $(O)/dkms

clean:
	rm -rf $(O)
