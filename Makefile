# SPDX-License-Identifier: GPL-2.0
#
# The two commands a newcomer needs:
#
#   make run     provision, build, boot a test VM, show the device working
#   make test    every check and test on Linux 7.3 and 7.2 (x86_64) and 7.3
#                (arm64, 16K pages), ending in "N passed, M failed"
#                (KVER=7.2 or ARCH=arm64 for one kernel only)
#
# And the pieces they are made of:
#
#   make              build rust_sample.ko against KDIR (never builds a kernel);
#                     KUNIT=y adds the KUnit suites (the test build), TRACE=n
#                     leaves the trace events out (make bench measures both)
#   make kernel       provision the test kernel (idempotent, cached)
#   make check        clippy (W=e), rustfmt, unsafe boundary, rust-analyzer,
#                     the unstable features the module needs
#   make doctor       can KDIR (default: the running kernel's) build a Rust
#                     module? Each problem in one sentence, with its fix
#   make test-debug   the reliability run on the debug kernel (part of test)
#   make bench        Rust vs the C twin (tests/c_twin), pipe(2), /dev/zero
#   make profile      instructions per hot operation, by function (perf, icount),
#                     and exact per-instruction Rust/C diffs; UPSTREAM=y with
#                     the kernel-crate patches of Documentation/patches/
#   make upstream-patches  those patches applied to a copy of the 7.3 tree:
#                     they apply, build, and remove what they say they do
#   make coverage     the suite, the fault sweeps and both fuzzers (random,
#                     KCOV-guided) on a KCOV kernel: lines of device/ and
#                     abstractions/ the tests run, every line they miss,
#                     and coverage over time (Documentation/testing.rst)
#   make clean
#
# Variables: KDIR (a Rust-enabled kernel build; defaults to the provisioned
# one), ARCH (x86_64 or arm64; default x86_64, or KDIR's), KERNEL_SRC (a
# kernel source tree to provision from instead of Debian's), KVER (7.3 or
# 7.2; default 7.3), RUST_TOOLCHAIN (host, 1.85 or 1.96; default host), LLVM
# (default: -N for rustc's LLVM N), RUST_SAMPLE_CACHE (the cache directory).
#
# Kbuild reads ./Kbuild, not this file.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

KVER ?= 7.3
export KVER
# The Rust toolchain for the kernel and the module: host (the rustc on PATH),
# 1.85 or 1.96 (Debian's rustc-web, unpacked under the cache; scripts/lib.sh).
# Exported only when set: `make test` pairs each kernel with a toolchain of
# its own unless told one.
ifneq ($(origin RUST_TOOLCHAIN),undefined)
export RUST_TOOLCHAIN
endif
TC := $(if $(RUST_TOOLCHAIN),RUST_TOOLCHAIN=$(RUST_TOOLCHAIN))
# ARCH: x86_64 (the default) or arm64, a 7.3 kernel cross-built with the
# same LLVM and booted under qemu-system-aarch64 (16K pages). Exported only
# when set; with a KDIR of the user's and no ARCH, the tree's .config
# decides (scripts/lib.sh), and Kbuild is told.
ifneq ($(ARCH),)
export ARCH
endif
ARCHV := $(if $(ARCH),ARCH=$(ARCH))

# LLVM: the user's setting, else the major of rustc's LLVM (scripts/lib.sh),
# so that CONFIG_RUST_INLINE_HELPERS can inline the C helpers. Exported only
# when the user set it: the scripts then take it as an override.
ifeq ($(origin LLVM),undefined)
LLVM := $(shell $(ARCHV) $(TC) scripts/kernel-env.sh llvm)
else
export LLVM
endif

ifeq ($(origin KDIR),undefined)
KDIR := $(shell KVER=$(KVER) $(ARCHV) $(TC) scripts/kernel-env.sh kdir)
PROVISIONED_KDIR := 1
endif
ifeq ($(ARCH),)
ARCH := $(shell KDIR=$(KDIR) scripts/kernel-env.sh arch)
endif

# KUNIT=y builds the test module, with the KUnit suites compiled in; the
# default is the production module, without them.
KUNIT ?= n

# Objects go to build/kbuild/<kernel>[-kunit]/ (MO=), one directory per
# kernel and build, so the source tree stays clean and switching rebuilds
# nothing twice.
# TRACE=n builds both drivers without their trace events, for make bench's
# measurement of what the events cost while disabled.
TRACE ?= y
# COVERAGE=y instruments the module for KCOV, with line tables (make coverage).
COVERAGE ?= n
LINES ?= n
OUT := $(CURDIR)/build/kbuild/$(notdir $(KDIR))$(if $(filter y,$(KUNIT)),-kunit)$(if $(filter y,$(COVERAGE)),-kcov)$(if $(filter n,$(TRACE)),-notrace)$(if $(filter y,$(LINES)),-lines)
export KDIR

# RUSTC=, RUSTDOC= and CLIPPY_DRIVER= for a Debian toolchain; none for host.
RUST_VARS := $(shell $(TC) scripts/kernel-env.sh rustvars)

KBUILD := $(MAKE) -C $(KDIR) M=$(CURDIR) MO=$(OUT) ARCH=$(ARCH) LLVM=$(LLVM) $(RUST_VARS) $(if $(filter y,$(KUNIT)),RS_KUNIT=y) $(if $(filter n,$(TRACE)),RS_TRACE=n) $(if $(filter y,$(COVERAGE)),RS_KCOV=y) $(if $(filter y,$(LINES)),RS_LINES=y)

.PHONY: all modules kernel run test test-debug bench profile upstream-patches coverage check doctor rust-analyzer clean

all: modules

modules:
	@scripts/doctor.sh --quiet $(KDIR)
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

# KVER or ARCH on the command line tests that kernel only (with the host
# tests; not the doctor's broken trees, made from the x86_64 7.3 tree, nor
# the debug kernel); otherwise every supported one. KDIR on the command
# line tests that build only.
ifeq ($(origin KVER),command line)
test: export KVERS := $(KVER)$(if $(filter arm64,$(ARCH)),/arm64)
test: export SUITES ?= host kernels
else ifeq ($(origin ARCH),command line)
test: export KVERS := 7.3/$(ARCH)
test: export SUITES ?= host kernels
endif
test: kernel
	@$(if $(PROVISIONED_KDIR),env -u KDIR) scripts/test.sh

# The reliability run on the debug kernel alone (it is part of `make test`).
test-debug:
	@$(if $(filter x86 x86_64,$(ARCH)),,echo "error: the debug kernel is x86_64's; ARCH=$(ARCH) has make test's suite." >&2; exit 1)
	@env -u KDIR SUITES=debug scripts/test.sh

# rust_sample against its C twin, pipe(2) and /dev/zero -> /dev/null, in
# wall-clock and icount mode (Documentation/benchmarks.rst).
bench:
	@env -u KDIR scripts/bench.sh

# Instructions per hot operation, by function and layer, Rust and C
# (perf under icount; Documentation/benchmarks.md).
# UPSTREAM=y measures the module built against the kernel-crate patches of
# Documentation/patches/ (make upstream-patches).
profile:
	@env -u KDIR $(if $(filter y,$(UPSTREAM)),PROFILE_UPSTREAM=y) scripts/profile.sh

# The kernel-crate patches we propose, applied to a copy of the provisioned
# 7.3 tree: they apply, build, and do what they say (part of make test).
upstream-patches:
	@$(if $(filter x86 x86_64,$(ARCH)),,echo "error: the upstream patches are checked on the x86_64 7.3 tree; drop ARCH=$(ARCH)." >&2; exit 1)
	@$(if $(PROVISIONED_KDIR),scripts/provision-kernel.sh)
	@scripts/upstream-patches.sh

# The whole guest suite on a KCOV kernel; per-file line coverage of device/
# and abstractions/ (Documentation/testing.rst, "Coverage").
coverage:
	@env -u KDIR scripts/coverage.sh

check: kernel
	@scripts/check.sh

# Can KDIR build a Rust module? One sentence per check, each problem with
# its fix. KDIR defaults here to the running kernel's build directory.
# With ARCH= of another architecture than the host's, the default is the
# provisioned tree for it (make kernel ARCH=...): a cross tree.
HOST_ARCH := $(subst aarch64,arm64,$(shell uname -m))
doctor:
	@scripts/doctor.sh $(if $(PROVISIONED_KDIR),$(if $(filter-out $(HOST_ARCH) $(if $(filter x86_64,$(HOST_ARCH)),x86),$(ARCH)),$(KDIR),/lib/modules/$(shell uname -r)/build),$(KDIR))

rust-analyzer:
	@scripts/doctor.sh --quiet $(KDIR)
	@mkdir -p $(OUT)
	$(KBUILD) rust-analyzer

clean:
	rm -rf build rust-project.json
	@# Objects of an in-tree build (plain M= without MO=), if someone ran one.
	rm -f *.o .module-common.o *.ko *.mod *.mod.c .*.cmd .*.d Module.symvers modules.order
