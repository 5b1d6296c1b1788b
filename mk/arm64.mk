# The arm64 target: the module cross-built against Debian's arm64 headers
# with the host's kbuild tools, and the library, CLI and VM programs with
# aarch64-linux-gnu-gcc, all by the ordinary rules in a sub-make with
# O=$(O)/arm64 (tools/vm/arm64-cache.sh unpacked the kernel and headers;
# make deps runs it). Included by the top-level Makefile.
#
#   make arm64          module, library, CLI and the VM payload for arm64
#   make test-vm-arm64  the VM tier in qemu-system-aarch64 -M virt -cpu max
#                       -icount shift=0 on Debian's arm64 kernel, whose
#                       emulated PMUv3 counts instructions exactly
#   make bench-vm-arm64 what hardware counters read at every switch cost
#                       the ping-pong there (tools/bench/guest-bench-arm64.sh)

ARM64_CROSS ?= aarch64-linux-gnu-
ARM64_TREE = $(shell tools/vm/arm64-cache.sh --dir 2>/dev/null)
ARM64_KVER = $(notdir $(ARM64_TREE))
# The VM tier there: one boot (icount runs every vCPU in one host thread
# anyway, so the x86 loop boot's reason is moot) of the tests that make
# sense on arm64 and fit make test's time: the whole set takes over 300 s
# under -icount (t_irq's x86 vectors do not exist there).
ARM64_VM_TESTS ?= t_pingpong t_fields t_sched t_errors t_pmu.sh
# Then a boot with one vCPU for the tests that count instructions through
# hftmon: QEMU's INST_RETIRED is its global icount, so with two vCPUs a
# thread's slice on one also counts what the other ran meanwhile (its
# ticks and wakeups: 0.05 to 0.12% of a tracked loop, measured), which
# one vCPU rules out.
ARM64_VM_TESTS_UP ?= t_pmu_hw
ARM64_VM_DIR = $(O)/arm64/vm/$(ARM64_KVER)

arm64_make = $(MAKE) O=$(O)/arm64 KVER=$(ARM64_KVER) \
	KDIR=$(ARM64_TREE)/usr/src/linux-headers-$(ARM64_KVER) \
	VM_KERNEL=$(ARM64_TREE)/boot/vmlinuz-$(ARM64_KVER) \
	CC=$(ARM64_CROSS)gcc AR=$(ARM64_CROSS)ar CROSS_COMPILE=$(ARM64_CROSS)

# arm64_up_boot PAYLOAD LOG: one boot with one vCPU (tests/vm/run.sh
# boots two), passed on the guest's summary line as run.sh does.
arm64_up_boot = { HFTMON_VM_ARCH=arm64 tools/vm/vm.sh run \
		--kernel $(ARM64_TREE)/boot/vmlinuz-$(ARM64_KVER) --payload $(1) \
		--script guest.sh --timeout 300 --log $(2) --smp 1 \
		--cmdline "slub_nomerge softlockup_panic=1 hung_task_panic=1 panic_print=0x60" \
		>/dev/null; up_rc=$$?; tools/vm/vm.sh extract $(2); \
	grep -E '^vm: [0-9]+ passed, 0 failed, 0 skipped' $(2) | tail -n 1 | \
		sed 's/$$/ ($(ARM64_KVER): one vCPU)/' | grep . && [ $$up_rc = 0 ]; }

.PHONY: arm64 test-vm-arm64 bench-vm-arm64 arm64-tree
arm64-tree:
	@test -n "$(ARM64_TREE)" || { echo "hftmon: no arm64 kernel tree (run make deps)" >&2; exit 1; }

arm64: arm64-tree
	$(arm64_make) module lib cli vm-payload

# The payload cut down to ARM64_VM_TESTS, booted by the x86 tier's runner.
test-vm-arm64: arm64
	rm -rf $(ARM64_VM_DIR)/tier
	cp -r $(ARM64_VM_DIR)/payload $(ARM64_VM_DIR)/tier
	cd $(ARM64_VM_DIR)/tier && for t in bin/t_* t_*.sh; do \
		case " $(ARM64_VM_TESTS) " in *" $${t#bin/} "*) ;; *) rm -f $$t ;; esac; \
	done
	rm -rf $(ARM64_VM_DIR)/tier-up
	cp -r $(ARM64_VM_DIR)/payload $(ARM64_VM_DIR)/tier-up
	cd $(ARM64_VM_DIR)/tier-up && for t in bin/t_* t_*.sh; do \
		case " $(ARM64_VM_TESTS_UP) " in *" $${t#bin/} "*) ;; *) rm -f $$t ;; esac; \
	done
	rc=0; HFTMON_VM_ARCH=arm64 tests/vm/run.sh --kernel-name $(ARM64_KVER) --parts main \
		$(ARM64_VM_DIR)/tier $(ARM64_TREE)/boot/vmlinuz-$(ARM64_KVER) \
		$(ARM64_VM_DIR)/test.log || rc=1; \
	$(call arm64_up_boot,$(ARM64_VM_DIR)/tier-up,$(ARM64_VM_DIR)/test-up.log) || rc=1; \
	exit $$rc

bench-vm-arm64: arm64
	HFTMON_VM_ARCH=arm64 tools/vm/vm.sh run \
		--kernel $(ARM64_TREE)/boot/vmlinuz-$(ARM64_KVER) \
		--payload $(ARM64_VM_DIR)/payload --script guest-bench-arm64.sh \
		--timeout 1200 --log $(ARM64_VM_DIR)/bench.log >/dev/null
	@tools/vm/vm.sh extract $(ARM64_VM_DIR)/bench.log
