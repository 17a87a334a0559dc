# SPDX-License-Identifier: GPL-2.0
#
# The two commands a newcomer needs:
#
#   make run     provision, build, boot a test VM, show the device working
#   make test    every check and test on Linux 7.3 and 7.2, ending in
#                "N passed, M failed" (KVER=7.2 for one kernel only)
#
# And the pieces they are made of:
#
#   make              build rust_sample.ko against KDIR (never builds a kernel);
#                     KUNIT=y adds the KUnit suites (the test build)
#   make kernel       provision the test kernel (idempotent, cached)
#   make check        clippy (W=e), rustfmt, unsafe boundary, rust-analyzer,
#                     the unstable features the module needs
#   make test-debug   the reliability run on the debug kernel (part of test)
#   make bench        Rust vs the C twin (tests/c_twin), pipe(2), /dev/zero
#   make profile      instructions per hot operation, by function (perf, icount)
#   make clean
#
# Variables: KDIR (a Rust-enabled kernel build; defaults to the provisioned
# one), KERNEL_SRC (a kernel source tree to provision from instead of
# Debian's), KVER (7.3 or 7.2; default 7.3), LLVM (default: -N for rustc's LLVM N),
# RUST_SAMPLE_CACHE
# (the cache directory).
#
# Kbuild reads ./Kbuild, not this file.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

KVER ?= 7.3
export KVER
# LLVM: the user's setting, else the major of rustc's LLVM (scripts/lib.sh),
# so that CONFIG_RUST_INLINE_HELPERS can inline the C helpers. Exported only
# when the user set it: the scripts then take it as an override.
ifeq ($(origin LLVM),undefined)
LLVM := $(shell scripts/kernel-env.sh llvm)
else
export LLVM
endif

ifeq ($(origin KDIR),undefined)
KDIR := $(shell KVER=$(KVER) scripts/kernel-env.sh kdir)
PROVISIONED_KDIR := 1
endif

# KUNIT=y builds the test module, with the KUnit suites compiled in; the
# default is the production module, without them.
KUNIT ?= n

# Objects go to build/kbuild/<kernel>[-kunit]/ (MO=), one directory per
# kernel and build, so the source tree stays clean and switching rebuilds
# nothing twice.
OUT := $(CURDIR)/build/kbuild/$(notdir $(KDIR))$(if $(filter y,$(KUNIT)),-kunit)
export KDIR

KBUILD := $(MAKE) -C $(KDIR) M=$(CURDIR) MO=$(OUT) LLVM=$(LLVM) $(if $(filter y,$(KUNIT)),RS_KUNIT=y)

.PHONY: all modules kernel run test test-debug bench profile check rust-analyzer clean

all: modules

modules:
	@scripts/check-kdir.sh $(KDIR)
	@mkdir -p $(OUT)
	$(KBUILD) modules
	@echo "Built $(OUT)/rust_sample.ko"

kernel:
ifdef PROVISIONED_KDIR
	@scripts/provision-kernel.sh
else
	@echo "KDIR is set to $(KDIR): using that kernel, not provisioning one."
endif

run: kernel
	@scripts/run.sh

# KVER on the command line tests that kernel only; otherwise every
# supported one. KDIR on the command line tests that build only.
ifeq ($(origin KVER),command line)
test: export KVERS := $(KVER)
endif
test: kernel
	@$(if $(PROVISIONED_KDIR),env -u KDIR) scripts/test.sh

# The reliability run on the debug kernel alone (it is part of `make test`).
test-debug:
	@env -u KDIR SUITES=debug scripts/test.sh

# rust_sample against its C twin, pipe(2) and /dev/zero -> /dev/null, in
# wall-clock and icount mode (Documentation/benchmarks.rst).
bench:
	@env -u KDIR scripts/bench.sh

# Instructions per hot operation, by function and layer, Rust and C
# (perf under icount; Documentation/benchmarks.md).
profile:
	@env -u KDIR scripts/profile.sh

check: kernel
	@scripts/check.sh

rust-analyzer:
	@scripts/check-kdir.sh $(KDIR)
	@mkdir -p $(OUT)
	$(KBUILD) rust-analyzer

clean:
	rm -rf build rust-project.json
	@# Objects of an in-tree build (plain M= without MO=), if someone ran one.
	rm -f *.o .module-common.o *.ko *.mod *.mod.c .*.cmd .*.d Module.symvers modules.order
