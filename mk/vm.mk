# Everything that runs inside qemu: the KUnit tier, the VM integration
# tier, the demo and the VM half of the benchmark. Included by the
# top-level Makefile (KVER, KDIR, O, KMOD_BUILD defined there; LIB_A and
# VM_STATIC_TOOLS by mk/userspace.mk). The one VM boot step is
# tools/vm/vm.sh; tools/vm/deps.sh installs what a fresh machine lacks.

VM_KERNEL ?= /boot/vmlinuz-$(KVER)
VM_CFLAGS := -std=gnu11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
	     -Iinclude -Iinclude/uapi \
	     -pthread -static
# The static programs once ($(VM_BIN)); a payload (and logs) per kernel,
# which holds that kernel's modules.
VM_BIN := $(O)/vm/bin
VM_DIR := $(O)/vm/$(KVER)
WORKLOAD_SRCS := tools/workload/pingpong.c
WORKLOAD_HDRS := tools/workload/pingpong.h

VM_TEST_BINS := $(patsubst tests/vm/%.c,$(VM_BIN)/%,$(wildcard tests/vm/t_*.c))
VM_TOOL_BINS := $(VM_BIN)/pingpong $(VM_BIN)/vm_bench $(VM_BIN)/spike_latency \
		$(VM_BIN)/numa_bench $(VM_BIN)/fault_bench $(VM_BIN)/tick_bench
# examples/, built static for the guest (tests/vm/t_examples.sh runs them).
VM_EXAMPLE_BINS := $(patsubst examples/%.c,$(VM_BIN)/ex_%,$(wildcard examples/*.c))
include mk/inject.mk
include mk/pmu.mk

.PHONY: deps vm-payload test-vm test-vm-debug test-kunit demo bench bench-vm

deps:
	tools/vm/deps.sh

$(VM_BIN)/t_%: tests/vm/t_%.c tests/vm/vmtest.h tests/vm/irqproc.h tests/inject/inject_user.h $(WORKLOAD_SRCS) \
		$(WORKLOAD_HDRS) $(LIB_A) include/hftmon.h include/uapi/linux/hftmon.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(WORKLOAD_SRCS) $(LIB_A)

$(VM_BIN)/pingpong: tools/workload/pingpong_main.c $(WORKLOAD_SRCS) $(WORKLOAD_HDRS)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(WORKLOAD_SRCS)

$(VM_BIN)/vm_bench: tools/bench/vm_bench.c $(WORKLOAD_SRCS) $(WORKLOAD_HDRS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(WORKLOAD_SRCS) $(LIB_A)

$(VM_BIN)/spike_latency: tools/bench/spike_latency.c tests/inject/inject_user.h $(LIB_A) include/hftmon.h \
		include/uapi/linux/hftmon.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(LIB_A)

$(VM_BIN)/numa_bench: tools/bench/numa_bench.c $(LIB_A) include/hftmon.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(LIB_A)

$(VM_BIN)/fault_bench: tools/bench/fault_bench.c $(LIB_A) include/hftmon.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(LIB_A)

$(VM_BIN)/tick_bench: tools/bench/tick_bench.c $(LIB_A) include/hftmon.h
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -o $@ $< $(LIB_A)

# Against the public headers only, as make examples builds them.
$(VM_BIN)/ex_%: examples/%.c $(LIB_A) include/hftmon.h include/uapi/linux/hftmon.h
	@mkdir -p $(@D)
	$(CC) -std=c11 $(USER_WARN) -Iinclude -Iinclude/uapi -O2 -g -static \
		-o $@ $< $(LIB_A) -pthread

# The guest's /hftmon: the module, static programs, guest scripts.
vm-payload: module ctlmod static-tools $(VM_TEST_BINS) $(VM_TOOL_BINS) \
	    $(VM_EXAMPLE_BINS)
	rm -rf $(VM_DIR)/payload
	mkdir -p $(VM_DIR)/payload/bin
	cp $(KMOD_BUILD)/kmod/hftmon.ko $(VM_DIR)/payload/
	@# a module that does nothing: the control of the load/unload leak test
	cp $(CTLMOD) $(VM_DIR)/payload/
	cp $(VM_TEST_BINS) $(VM_TOOL_BINS) $(VM_EXAMPLE_BINS) $(VM_STATIC_TOOLS) \
		$(VM_DIR)/payload/bin/
	cp tests/vm/guest.sh tests/vm/t_*.sh tools/demo/guest-demo.sh \
		tools/bench/guest-bench*.sh $(VM_DIR)/payload/
	@# the Python binding and its interpreter (mk/python.mk)
	$(if $(VM_PYTHON),cp -a $(VM_PYTHON) $(VM_DIR)/payload/py && \
		rsync -a --exclude=__pycache__ --exclude='*.c' python $(VM_DIR)/payload/ && \
		mkdir -p $(VM_DIR)/payload/python/examples && \
		cp examples/*.py $(VM_DIR)/payload/python/examples/)

# VM_PARTS: the boots to run (main: the integration programs with both
# vCPUs; loop: the load/unload loop under single-threaded TCG; onenode:
# the NUMA programs on a machine of one node).
VM_PARTS ?= main loop onenode
# VM_DROP: tests left out of this run's payload (each-kernel.sh runs the
# ones whose subject is user space over the library on one kernel only).
VM_DROP ?=
test-vm: vm-payload
	$(if $(strip $(VM_DROP)),cd $(VM_DIR)/payload && rm -f $(VM_DROP) $(addprefix bin/,$(VM_DROP)))
	tests/vm/run.sh --kernel-name $(KVER) --parts "$(VM_PARTS)" \
		$(VM_DIR)/payload $(VM_KERNEL) $(VM_DIR)/test.log

# The VM tier on each Debian 12 kernel hftmon supports (tools/vm/vm.sh
# debian-kernels), the module and the control built against its headers,
# both boots each; VM_KERNELS="ABI[=PARTS] ..." picks kernels and boots.
# Says per kernel what ran and how it ended; fails if any kernel failed.
VM_KERNELS ?=
test-vm-kernels:
	tools/vm/each-kernel.sh $(VM_KERNELS)

test-kunit:
	tests/kunit/run.sh

# The same integration programs on the KUnit kernel, whose lockdep,
# atomic-sleep and preempt checks watch the probes in their real
# tracepoint contexts (a splat fails the run).
test-vm-debug: vm-payload
	tests/vm/run-debug.sh $(VM_DIR)/payload $(O)/vm/debug

# Line and branch coverage of kmod/*.c (not part of make test): the
# KUnit suites and the integration programs on the gcov variant of the
# KUnit kernel (tests/kunit/coverage-kmod.sh, which takes the VM lock
# for each boot itself). COV_KMOD_PARTS="kunit" or "vm" for one part.
COV_KMOD_PARTS ?= kunit vm
.PHONY: coverage-kmod
coverage-kmod: vm-payload
	tests/kunit/coverage-kmod.sh $(VM_DIR)/payload $(O)/cov-kmod \
		"$(COV_KMOD_PARTS)"

demo: deps
	$(MAKE) vm-payload
	tools/vm/vm.sh run --kernel $(VM_KERNEL) --payload $(VM_DIR)/payload \
		--script guest-demo.sh --timeout 300 --log $(VM_DIR)/demo.log >/dev/null
	@tools/vm/vm.sh extract $(VM_DIR)/demo.log

bench-vm: vm-payload
	tools/bench/perf-bundle.sh $(VM_DIR)/payload/perf || \
		echo "bench-vm: without perf: vm_bench measures no perf modes"
	tools/vm/vm.sh run --kernel $(VM_KERNEL) --payload $(VM_DIR)/payload \
		--script guest-bench.sh --timeout 1200 --log $(VM_DIR)/bench.log >/dev/null
	@tools/vm/vm.sh extract $(VM_DIR)/bench.log

bench: bench-drain bench-vm bench-vm-arm64
