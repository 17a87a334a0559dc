#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# profile-report.py RESULTS_LOG OUT_DIR DEMANGLER
#
# Turns the perf reports that `make profile` collects in the guest (between
# RS-PROFILE-BEGIN/END markers on the result port) into instructions per
# operation, by function and by layer, for rust_sample and its C twin.
#
# Under QEMU's -icount shift=0 one guest nanosecond is one instruction. The
# total per operation is exact: rs-bench times ITERS operations on that
# clock, without perf (EXACT on the BEGIN line). perf samples cpu-clock
# every PERIOD ns, so samples fall in proportion to instructions; a
# function's instructions per operation are its share of the samples times
# the exact total. (Counting samples x PERIOD instead would also count
# perf's own interrupt handling, which is charged to whatever it
# interrupted.) Only samples of the rs-bench process count (perf report
# --comm), user and kernel alike.
#
# Writes OUT_DIR/profile.json and OUT_DIR/profile.md.

import json
import re
import subprocess
import sys

# The module's own code is one row: the abstraction layer's trampolines
# inline the driver's methods (and what they call of the kernel crate), so
# after inlining the two are one function and samples cannot tell them
# apart. The core kernel and user space are one row too: cpu-clock fires
# from a timer interrupt, so a sample that falls where interrupts are off
# (spin_lock_irqsave sections, the system call exit path) is taken where
# they come back on, which moves samples between kernel functions and into
# the first user instruction after the system call. The module's code runs
# with interrupts on, so its row is not blurred that way.
LAYERS = [
    "module code (driver + layer)",
    "kernel crate, out of line",
    "C helpers",
    "core kernel + user space",
]

LINE = re.compile(r"^\s*([\d.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$")


def parse(log):
    runs, cur = [], None
    for line in open(log, errors="replace"):
        line = line.rstrip("\r\n")
        if line.startswith("RS-PROFILE-BEGIN "):
            _, op, target, iters, period, exact = line.split()
            cur = {"op": op, "target": target, "iters": int(iters),
                   "period": int(period), "exact": float(exact), "rows": []}
        elif line.startswith("RS-PROFILE-END"):
            runs.append(cur)
            cur = None
        elif cur is not None:
            m = LINE.match(line)
            if m:
                _, samples, dso, where, sym = m.groups()
                cur["rows"].append((int(samples), dso, where, sym))
    return runs


def demangle(names, tool):
    names = sorted(set(names))
    try:
        out = subprocess.run([tool], input="\n".join(names), capture_output=True,
                             text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {n: n for n in names}
    return dict(zip(names, out)) if len(out) == len(names) else {n: n for n in names}


def strip_hash(name):
    # "kernel::sync::foo::h0123456789abcdef" and v0's "[1a2b3c]" crate ids.
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    return re.sub(r"\[[0-9a-f]+\]", "", name)


def layer(where, dso, name):
    if where == ".":
        return "core kernel + user space"
    first = name.lstrip("<")
    if first.startswith("rust_helper_"):
        return "C helpers"
    if first.startswith(("rust_sample::", "c_sample_")) or dso in ("[rust_sample]", "[c_sample]"):
        if first.startswith(("kernel::", "pin_init::", "core::", "alloc::")):
            return "kernel crate, out of line"
        return "module code (driver + layer)"
    if first.startswith(("kernel::", "pin_init::", "core::", "alloc::", "ffi::")):
        return "kernel crate, out of line"
    return "core kernel + user space"


def main():
    log, out_dir, tool = sys.argv[1:4]
    runs = parse(log)
    if not runs:
        sys.exit("profile-report: no RS-PROFILE records in " + log)
    names = demangle([sym for r in runs for (_, _, _, sym) in r["rows"]], tool)

    def split(rows, exact):
        """Instructions per operation by layer and by function, from the
        samples' shares of the exact total."""
        total = sum(s for (s, _, _, _) in rows)
        layers = {k: 0.0 for k in LAYERS}
        funcs = {}
        for samples, dso, where, sym in rows:
            name = strip_hash(names.get(sym, sym))
            lay = layer(where, dso, name)
            ins = samples * exact / total
            layers[lay] += ins
            funcs[(lay, name)] = funcs.get((lay, name), 0.0) + ins
        return total, layers, funcs

    # One entry per (operation, target): the periods' samples pooled, and
    # each period's own split, for the spread.
    grouped = {}
    for r in runs:
        if not r["rows"]:
            sys.exit(f"profile-report: no samples for {r['op']} {r['target']}")
        grouped.setdefault((r["op"], r["target"]), []).append(r)
    result = {}
    for (op, target), rs in grouped.items():
        exact = rs[0]["exact"]
        pooled = [row for r in rs for row in r["rows"]]
        total, layers, funcs = split(pooled, exact)
        per_period = {k: [] for k in LAYERS}
        for r in rs:
            _, lay_r, _ = split(r["rows"], exact)
            for k in LAYERS:
                per_period[k].append(lay_r[k])
        result.setdefault(op, {})[target] = {
            "iters": rs[0]["iters"],
            "periods": [r["period"] for r in rs],
            "samples": total,
            "total": exact,
            "layers": layers,
            "layer_range": {k: [min(v), max(v)] for k, v in per_period.items()},
            "functions": sorted(([n, l, v] for (l, n), v in funcs.items()),
                                key=lambda x: -x[2]),
        }
    json.dump(result, open(f"{out_dir}/profile.json", "w"), indent=1)

    md = []
    md.append("Instructions per operation: the total is exact (rs-bench timed on "
              "the icount clock, without perf); the split follows perf's "
              "cpu-clock samples of the same run under perf. Each operation "
              "moves one byte or none, non-blocking, on one thread "
              "(`rs-bench op`).")
    md.append("")
    md.append("Samples of all periods pooled; in brackets, the range of the "
              "single periods' estimates, which shows how much one period "
              "alone could be off.")
    md.append("")
    md.append("| operation | layer | rust_sample | c_sample | Rust − C |")
    md.append("|---|---|---:|---:|---:|")
    for op, t in result.items():
        rs, c = t.get("rust_sample"), t.get("c_sample")
        if not rs or not c:
            continue
        for lay in LAYERS + ["total"]:
            a = rs["total"] if lay == "total" else rs["layers"][lay]
            b = c["total"] if lay == "total" else c["layers"][lay]
            if lay != "total" and a < 0.5 and b < 0.5:
                continue
            label = f"**{lay}**" if lay == "total" else lay
            if lay == "total":
                md.append(f"| {op} | {label} | **{a:.0f}** | **{b:.0f}** | **{a - b:+.0f}** |")
            else:
                ra, rb = rs["layer_range"][lay], c["layer_range"][lay]
                md.append(f"| {op} | {label} | {a:.0f} [{ra[0]:.0f}–{ra[1]:.0f}] "
                          f"| {b:.0f} [{rb[0]:.0f}–{rb[1]:.0f}] | {a - b:+.0f} |")
    md.append("")
    md.append("The functions behind each row (instructions per operation, "
              "at least 5; user space left out):")
    for op, t in result.items():
        for target in ("rust_sample", "c_sample"):
            if target not in t:
                continue
            rows = [f for f in t[target]["functions"]
                    if f[2] >= 5 and not f[0].startswith("0x")]
            md.append("")
            md.append(f"`{op}`, {target} ({t[target]['samples']} samples over "
                      f"{len(t[target]['periods'])} periods, {t[target]['iters']} "
                      f"operations per period):")
            md.append("")
            md.append("| function | layer | instr/op |")
            md.append("|---|---|---:|")
            for name, lay, v in rows:
                md.append(f"| `{name[:110]}` | {lay} | {v:.0f} |")
    open(f"{out_dir}/profile.md", "w").write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
