# The test-only PMU module (tests/pmu/), built like hftmon.ko against KDIR
# from a copy that also holds kmod/hftmon_pmu.[ch], the wrapper it proves,
# shipped in the VM payload's bin/ (tests/vm/t_pmu.sh loads it). Included
# by mk/vm.mk after VM_TOOL_BINS is defined.
PMU_TEST_BUILD := $(O)/pmu-test-$(KVER)
PMU_TEST_KO := $(PMU_TEST_BUILD)/hftmon_pmu_test.ko

$(PMU_TEST_KO): tests/pmu/pmu_test.c tests/pmu/Kbuild kmod/hftmon_pmu.c \
		kmod/hftmon_pmu.h
	@test -d "$(KDIR)" || { echo "hftmon: no kernel headers at $(KDIR)" >&2; exit 1; }
	mkdir -p $(PMU_TEST_BUILD)
	rsync -a --delete tests/pmu/ $(PMU_TEST_BUILD)/
	cp kmod/hftmon_pmu.c kmod/hftmon_pmu.h $(PMU_TEST_BUILD)/
	$(call kbuild,$(PMU_TEST_BUILD))

.PHONY: pmu-test-module
pmu-test-module: $(PMU_TEST_KO)
vm-payload: $(PMU_TEST_KO)
VM_TOOL_BINS += $(PMU_TEST_KO)
