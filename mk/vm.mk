# Everything that runs inside qemu: the KUnit tier, the VM integration
# tier, the demo and the VM half of the benchmark. Included by the
# top-level Makefile (KVER, KDIR, O, KMOD_BUILD defined there; LIB_A and
# VM_STATIC_TOOLS by mk/userspace.mk). The one VM boot step is
# tools/vm/vm.sh; tools/vm/deps.sh installs what a fresh machine lacks.

VM_KERNEL ?= /boot/vmlinuz-$(KVER)
VM_CONTROL_MODULE ?= /lib/modules/$(KVER)/kernel/lib/crc7.ko
VM_CFLAGS := -std=gnu11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
	     -Iinclude -Iinclude/uapi \
	     -pthread -static
VM_DIR := $(O)/vm
WORKLOAD_SRCS := tools/workload/pingpong.c
WORKLOAD_HDRS := tools/workload/pingpong.h

VM_TEST_BINS := $(patsubst tests/vm/%.c,$(VM_DIR)/bin/%,$(wildcard tests/vm/t_*.c))
VM_TOOL_BINS := $(VM_DIR)/bin/pingpong $(VM_DIR)/bin/vm_bench
include mk/inject.mk

.PHONY: deps vm-payload test-vm test-vm-debug test-kunit demo bench bench-vm

deps:
	tools/vm/deps.sh

$(VM_DIR)/bin/t_%: tests/vm/t_%.c tests/vm/vmtest.h $(WORKLOAD_SRCS) \
		$(WORKLOAD_HDRS) $(LIB_A) include/hftmon.h include/uapi/linux/hftmon.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(WORKLOAD_SRCS) $(LIB_A)

$(VM_DIR)/bin/pingpong: tools/workload/pingpong_main.c $(WORKLOAD_SRCS) $(WORKLOAD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(WORKLOAD_SRCS)

$(VM_DIR)/bin/vm_bench: tools/bench/vm_bench.c $(WORKLOAD_SRCS) $(WORKLOAD_HDRS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(WORKLOAD_SRCS) $(LIB_A)

# The guest's /hftmon: the module, static programs, guest scripts.
vm-payload: module static-tools $(VM_TEST_BINS) $(VM_TOOL_BINS)
	rm -rf $(VM_DIR)/payload
	mkdir -p $(VM_DIR)/payload/bin
	cp $(KMOD_BUILD)/kmod/hftmon.ko $(VM_DIR)/payload/
	@# a stock module: the control of the load/unload leak test
	cp $(VM_CONTROL_MODULE) $(VM_DIR)/payload/crc7.ko
	cp $(VM_TEST_BINS) $(VM_TOOL_BINS) $(VM_STATIC_TOOLS) $(VM_DIR)/payload/bin/
	cp tests/vm/guest.sh tests/vm/t_*.sh tools/demo/guest-demo.sh \
		tools/bench/guest-bench.sh $(VM_DIR)/payload/

test-vm: vm-payload
	tests/vm/run.sh $(VM_DIR)/payload $(VM_KERNEL) $(VM_DIR)/test.log

test-kunit:
	tests/kunit/run.sh

# The same integration programs on the KUnit kernel, whose lockdep,
# atomic-sleep and preempt checks watch the probes in their real
# tracepoint contexts (a splat fails the run).
test-vm-debug: vm-payload
	tests/vm/run-debug.sh $(VM_DIR)/payload $(VM_DIR)/debug

demo: deps
	$(MAKE) vm-payload
	tools/vm/vm.sh run --kernel $(VM_KERNEL) --payload $(VM_DIR)/payload \
		--script guest-demo.sh --timeout 300 --log $(VM_DIR)/demo.log >/dev/null
	@tools/vm/vm.sh extract $(VM_DIR)/demo.log

bench-vm: vm-payload
	tools/vm/vm.sh run --kernel $(VM_KERNEL) --payload $(VM_DIR)/payload \
		--script guest-bench.sh --timeout 1200 --log $(VM_DIR)/bench.log >/dev/null
	@tools/vm/vm.sh extract $(VM_DIR)/bench.log

bench: bench-drain bench-vm
