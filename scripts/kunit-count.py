#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kunit-count.py KSRC JSON

Reads the JSON that `kunit.py parse --json` wrote and prints one line per
test case, "ok kunit:SUITE.CASE" or "fail kunit:SUITE.CASE WHY", so the caller can
count them with the other layers. Exits 1 when no case ran at all.
"""

import json
import sys


def cases(group, prefix=None):
    # The root group is the whole log ("KUnit Test Group"), not a suite.
    name = group.get("name") or ""
    path = "" if prefix is None else f"{prefix}{name.replace(' ', '_')}."
    for case in group.get("test_cases", []):
        yield path + case["name"], case["status"]
    for sub in group.get("sub_groups", []):
        yield from cases(sub, path)


def main():
    with open(sys.argv[1]) as f:
        root = json.load(f)
    found = 0
    for name, status in cases(root):
        found += 1
        if status in ("PASS",):
            print(f"ok kunit:{name}")
        elif status == "SKIP":
            # A skipped case is not a pass; only count what really ran.
            print(f"skip kunit:{name}")
        else:
            print(f"fail kunit:{name} {status}")
    errors = root.get("misc", {}).get("errors", 0)
    if errors:
        print(f"fail kunit:parser {errors} error(s) in the KTAP output")
    if found == 0:
        print("fail kunit:none no KUnit case ran")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
