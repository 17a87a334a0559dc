#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kunit-count.py JSON [KTAP_LOG]

Reads the JSON that `kunit.py parse --json` wrote and prints one line per
test case, "ok kunit:SUITE.CASE", "skip kunit:SUITE.CASE" or
"fail kunit:SUITE.CASE WHY", so the caller can count them with the other
layers. With the KTAP log too, a suite that reported "not ok" although none
of its cases failed (its init or exit failed) is a failure of its own: the
JSON has no status for suites. Exits 1 when no case ran at all.
"""

import json
import re
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
    if len(sys.argv) > 2:
        failed = {n.split(".")[0] for n, st in cases(root) if st not in ("PASS", "SKIP")}
        with open(sys.argv[2], errors="replace") as f:
            for line in f:
                # Suite results are the log's top level: no indentation
                # after the timestamp.
                m = re.match(r"^\[[^\]]*\] not ok \d+ (\S+)", line)
                if m and m.group(1) not in failed:
                    print(f"fail kunit:{m.group(1)} the suite reported not ok")
    errors = root.get("misc", {}).get("errors", 0)
    if errors:
        print(f"fail kunit:parser {errors} error(s) in the KTAP output")
    if found == 0:
        print("fail kunit:none no KUnit case ran")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
