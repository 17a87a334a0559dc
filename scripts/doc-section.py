#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""doc-section.py PAGE NAME FILE

Replaces what lies between "<!-- NAME:begin -->" and "<!-- NAME:end -->" in
PAGE with the contents of FILE: how `make bench` and `make profile` keep
their generated part of Documentation/benchmarks.md current.
"""

import sys

page, name, gen_file = sys.argv[1:4]
gen = open(gen_file).read()
text = open(page).read()
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(page, "w").write(head + begin + "\n" + gen + "\n" + end + tail)
