# SPDX-License-Identifier: LGPL-2.1 OR MIT
# The Python binding (python/: hft_resource_monitor, and hftmon, the same
# package under the project's name), pure Python over libhftmon.so.2 with
# ctypes. Included by the top-level Makefile after mk/vm.mk.
#
#   make test-python     its host tests (python/tests/host, pytest): the
#                        ctypes structs against the C header, and the
#                        binding over the unit tests' fake device, linked
#                        with the library into $(PY_FAKE_LIB)
#   make install-python  the two packages into $(PYTHON_SITEDIR), told
#                        where install-lib put the library (make install)
#   vm-payload           also carries py/ (tools/vm/python-bundle.sh: the
#                        host's python3, the stdlib and pytest modules the
#                        tests import) and python/ for tests/vm/t_python.sh

# Debian's interpreter, the one python3-pytest (make deps) installs into.
PYTHON ?= /usr/bin/python3
PYTHON_VER = $(shell $(PYTHON) -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
PYTHON_SITEDIR ?= $(PREFIX)/lib/$(PYTHON_VER)/dist-packages
PY_PACKAGES := hft_resource_monitor hftmon
PY_SRCS := $(wildcard $(PY_PACKAGES:%=python/%/*.py))

# The real library's objects, the fake device and the shim that lets
# ctypes drive it, as one shared object without a version script.
PY_FAKE_LIB := $(O)/python/libhftmon-fake.so
PY_FAKE_OBJS := $(LIB_OBJS) $(UNIT_HELPERS:%.c=$(O)/obj/%.o) \
		$(O)/obj/python/tests/host/fake_shim.o

$(PY_FAKE_LIB): $(PY_FAKE_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared $(USER_LDFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: test-python install-python
test-python: $(PY_FAKE_LIB) $(O)/lib/$(LIB_SONAME)
	cd python && HFTMON_LIBRARY=$(abspath $(O)/lib/$(LIB_SONAME)) \
		HFTMON_FAKE_LIBRARY=$(abspath $(PY_FAKE_LIB)) \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/host

test-steps: test-python

install: install-python
install-python: install-lib
	install -d $(PY_PACKAGES:%=$(DESTDIR)$(PYTHON_SITEDIR)/%)
	for p in $(PY_PACKAGES); do \
		install -m 0644 python/$$p/*.py $(DESTDIR)$(PYTHON_SITEDIR)/$$p/ || exit 1; \
	done
	printf '# written by make install-python\nLIBDIR = "%s"\n' '$(LIBDIR)' \
		>$(DESTDIR)$(PYTHON_SITEDIR)/hft_resource_monitor/_config.py

# ---- the VM's python ---------------------------------------------------------
# Built once for every kernel's payload; not for a cross build (arm64),
# whose payload has no use for the host's x86 interpreter.
VM_PYTHON := $(if $(CROSS_COMPILE),,$(O)/vm/python)
PY_VM_TESTS := $(wildcard python/tests/vm/*.py)
ifneq ($(VM_PYTHON),)
vm-payload: $(VM_PYTHON)/python.sh
$(VM_PYTHON)/python.sh: tools/vm/python-bundle.sh $(O)/lib/$(LIB_SONAME) $(PY_SRCS) \
			$(PY_VM_TESTS) $(wildcard python/tests/host/*.py) \
			$(PY_FAKE_LIB)
	HFTMON_FAKE_LIBRARY=$(abspath $(PY_FAKE_LIB)) \
	PYTHONPATH=$(abspath python) sh tools/vm/python-bundle.sh $(VM_PYTHON) \
		$(PYTHON) $(abspath $(O)/lib/$(LIB_SONAME)) \
		$(abspath python/tests/host) $(abspath python/tests/vm)
endif
