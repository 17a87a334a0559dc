# SPDX-License-Identifier: GPL-2.0
#
# The two commands a newcomer needs:
#
#   make run     provision, build, boot a test VM, show the device working
#   make test    every check and test, ending in "N passed, M failed"
#
# And the pieces they are made of:
#
#   make              build rust_sample.ko against KDIR (never builds a kernel)
#   make kernel       provision the test kernel (idempotent, cached)
#   make check        clippy (W=e), rustfmt, unsafe boundary, rust-analyzer
#   make clean
#
# Variables: KDIR (a Rust-enabled kernel build; defaults to the provisioned
# one), KERNEL_SRC (a kernel source tree to provision from instead of
# Debian's), KVER (7.3), LLVM (-19), RUST_SAMPLE_CACHE (the cache directory).
#
# Kbuild reads ./Kbuild, not this file.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

KVER ?= 7.3
LLVM ?= -19
export KVER LLVM

ifeq ($(origin KDIR),undefined)
KDIR := $(shell scripts/kernel-env.sh kdir)
PROVISIONED_KDIR := 1
endif

KBUILD := $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM)

.PHONY: all modules kernel run test check rust-analyzer clean

all: modules

modules:
	@scripts/check-kdir.sh $(KDIR)
	$(KBUILD) modules

kernel:
ifdef PROVISIONED_KDIR
	@scripts/provision-kernel.sh
else
	@echo "KDIR is set to $(KDIR): using that kernel, not provisioning one."
endif

run: kernel
	@scripts/run.sh

test: kernel
	@scripts/test.sh

check: kernel
	@scripts/check.sh

rust-analyzer:
	@scripts/check-kdir.sh $(KDIR)
	$(KBUILD) rust-analyzer

clean:
	@if [ -f $(KDIR)/Makefile ]; then $(KBUILD) clean; fi
	rm -rf build rust-project.json
