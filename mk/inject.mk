# The test-only disturbance module (tests/inject/), built like hftmon.ko
# against KDIR from a copy, shipped in the VM payload's bin/. Included by
# mk/vm.mk after VM_TOOL_BINS is defined.
INJECT_BUILD := $(O)/inject-$(KVER)
INJECT_KO := $(INJECT_BUILD)/hftmon_inject.ko

$(INJECT_KO): tests/inject/hftmon_inject.c tests/inject/Kbuild
	@test -d "$(KDIR)" || { echo "hftmon: no kernel headers at $(KDIR)" >&2; exit 1; }
	mkdir -p $(INJECT_BUILD)
	rsync -a --delete tests/inject/ $(INJECT_BUILD)/
	$(call kbuild,$(INJECT_BUILD))

.PHONY: inject-module
inject-module: $(INJECT_KO)
vm-payload: $(INJECT_KO)
VM_TOOL_BINS += $(INJECT_KO)
