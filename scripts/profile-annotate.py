#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# profile-annotate.py RESULTS_LOG TRACE_LOG OUT_DIR
#
# The per-instruction diff of `make profile`: for each hot operation, how
# many times per operation each instruction of the drivers' own code runs,
# with the source line it came from, Rust and C side by side.
#
# Exact counts, not samples. The guest's `trace` mode (tests/vm/guest.sh)
# runs each operation N1 and then N2 times under QEMU with -singlestep and
# -d exec,nochain limited to the module area (scripts/vm.sh --trace), so
# TRACE_LOG lists every module instruction executed, in order. (A block is logged twice when an interrupt makes
# QEMU leave it before it runs; at the timer's rate that adds well under
# 0.001 per operation.) A read of a device file's fdinfo marks the boundary
# between runs (show_fdinfo runs nowhere else); an instruction's count per
# operation is its count in the N2 run minus that in the N1 run, over
# N2 - N1, so whatever rs-bench does around its loop cancels. (perf's
# samples cannot give this: under TCG a timer interrupt is taken at the
# start of a translation block, so samples pile up on the instruction
# after each branch or call.)
#
# OUT_DIR holds rust_sample.lines.dis and c_sample.lines.dis: `llvm-objdump
# -dl` of a build with line tables whose code profile.sh checked is the
# code that ran. Each instruction gets the innermost source line the line
# table gives (for Rust, inside whatever was inlined: a bounds check shows
# the slice index, not the caller).
#
# Only the modules: what differs outside them (which kernel functions
# each driver calls, and what those do) is profile-report.py's table.
#
# Writes OUT_DIR/annotate.md (the `annotate` section of
# Documentation/benchmarks.md) and OUT_DIR/annotate.json.

import json
import os
import re
import subprocess
import sys

# What the page shows: for each operation, the function each driver enters.
OPS = [
    ("write", "write_iter", "10write_iter", "c_sample_write_iter"),
    ("read", "read_iter", "9read_iter", "c_sample_read_iter"),
    ("ioctl", "ioctl", "5ioctl", "c_sample_ioctl"),
    ("poll", "poll", "4poll", "c_sample_poll"),
]

# The listings show instructions that run at least once in this many
# operations (a branch taken on some calls only shows its share).
HOT = 0.01

FUNC = re.compile(r"^[0-9a-f]+ <(.+)>:$")
INSN = re.compile(r"^\s+([0-9a-f]+):\s+(.*)$")
SRC = re.compile(r"^; (/.*):(\d+)$")


def parse_results(log):
    """The modules' .text addresses and the runs, in order."""
    bases, runs = {}, []
    for line in open(log, errors="replace"):
        f = line.split()
        if len(f) == 3 and f[0] == "RS-TRACE-TEXT":
            bases[f[1]] = int(f[2], 16)

        elif len(f) == 5 and f[0] == "RS-TRACE-RUN":
            runs.append((f[1], f[2], int(f[3]), int(f[4])))
    return bases, runs


def segments(trace, marker):
    """The trace cut at each entry to `marker` (an absolute address): a list
    of {pc: executions}, the first one before the first marker."""
    segs, cur, last = [], {}, None
    for line in open(trace, errors="replace"):
        if not line.startswith("Trace "):
            continue
        pc = int(line.split("[", 1)[1].split("/", 2)[1], 16)
        # A block is logged again when an interrupt made QEMU leave it
        # before it ran: one entry, not two.
        if pc == marker and last != marker:
            segs.append(cur)
            cur = {}
        cur[pc] = cur.get(pc, 0) + 1
        last = pc
    segs.append(cur)
    return segs


def parse_dis(path):
    """symbol -> [(offset, instruction, (file, line))], in address order,
    symbol -> its address in .text, and the size of .text, for the
    functions of .text (where everything that runs after load is)."""
    funcs, starts, cur, start, src, section, end = {}, {}, None, 0, None, None, 0
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("Disassembly of section "):
            section, cur = line.split()[-1].rstrip(":"), None
            continue
        m = FUNC.match(line)
        if m and section != ".text":
            cur = None
            continue
        if m:
            cur, start, src = m.group(1), int(line.split()[0], 16), None
            funcs[cur] = []
            starts[cur] = start
            continue
        m = SRC.match(line)
        if m:
            src = (m.group(1), int(m.group(2)))
            continue
        m = INSN.match(line)
        if m and cur is not None:
            insn = re.sub(r"\s+", " ", m.group(2)).strip()
            # Call and jump targets: the offset within the function is enough.
            insn = re.sub(r"<[^>]*\+(0x[0-9a-f]+)>", r"<+\1>", insn)
            funcs[cur].append((int(m.group(1), 16) - start, insn, src))
            end = max(end, int(m.group(1), 16) + 1)
    return funcs, starts, end


SOURCES = {}


def source_text(where):
    """The source line itself, trimmed, if the file is on this machine."""
    if where is None:
        return ""
    path, line = where
    if path not in SOURCES:
        try:
            SOURCES[path] = open(path, errors="replace").read().splitlines()
        except OSError:
            SOURCES[path] = []
    lines = SOURCES[path]
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return text if len(text) <= 70 else text[:67] + "..."


def short(where):
    """A source position as the page prints it: repository-relative for the
    module, kernel-tree-relative for the kernel, `core/...` for Rust's
    library."""
    if where is None:
        return "?"
    path, line = where
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "/"
    if path.startswith(root):
        path = path[len(root):]
    else:
        for mark in ("/library/", "/linux-", "/rust/kernel/"):
            if mark in path:
                path = path.split(mark, 1)[1]
                if mark == "/linux-":
                    path = path.split("/", 1)[1]
                elif mark == "/rust/kernel/":
                    path = "rust/kernel/" + path
                break
    return f"{path}:{line}"


def origin(where):
    """Which layer a source line belongs to."""
    if where is None:
        return "unknown"
    p = where[0]
    if "/device/" in p or p.endswith("rust_sample.rs"):
        return "driver (device/)"
    if "/abstractions/" in p:
        return "layer (abstractions/)"
    if "/tests/c_twin/" in p:
        return "C driver"
    if "/rust/kernel/" in p or "/rust/pin-init/" in p:
        return "kernel crate"
    if "/library/core/" in p or "/library/alloc/" in p:
        return "Rust core library"
    if "/include/" in p or "/arch/" in p:
        return "kernel headers (inline C)"
    return "other"


def demangle(names):
    """Rust v0 names demangled by llvm-cxxfilt (the LLVM suffix of
    $RS_LLVM), with the crate hashes dropped; others as they are."""
    names = sorted(set(names))
    tool = "llvm-cxxfilt" + os.environ.get("RS_LLVM", "")
    try:
        out = subprocess.run([tool], input="\n".join(names), capture_output=True,
                             text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {}
    if len(out) != len(names):
        return {}
    return {n: re.sub(r"\[[0-9a-f]+\]", "", d) for n, d in zip(names, out)}


def find(funcs, needle, c_name):
    """The C function by name; the layer's trampoline by its mangled
    method name (`...MiscVTable<...SampleDevice>E10write_iter...`)."""
    if c_name in funcs:
        return c_name
    hits = [f for f in funcs if "MiscVTable" in f and ("E" + needle) in f]
    return hits[0] if hits else None


def main():
    log, trace, out = sys.argv[1:4]
    bases, runs = parse_results(log)
    dis, starts = {}, {}
    for target in ("rust_sample", "c_sample"):
        funcs, st, _end = parse_dis(os.path.join(out, target + ".lines.dis"))
        dis[target] = funcs
        starts.update({(target, sym): a for sym, a in st.items()})
    fdinfo = find(dis["rust_sample"], "11show_fdinfo", "")
    if fdinfo is None or "rust_sample" not in bases or not runs:
        sys.exit("profile-annotate: no trace records, or no show_fdinfo to cut at")
    segs = segments(trace, bases["rust_sample"] + starts[("rust_sample", fdinfo)])
    # segs[0] precedes the first marker; run i has segments 2i+1 (N1) and
    # 2i+2 (N2).
    if len(segs) < 2 * len(runs) + 2:
        sys.exit(f"profile-annotate: {len(segs) - 1} markers for {len(runs)} runs")
    counts = {}
    for i, (op, target, n1, n2) in enumerate(runs):
        a, b = segs[2 * i + 1], segs[2 * i + 2]
        counts[(op, target)] = {pc: (b.get(pc, 0) - a.get(pc, 0)) / (n2 - n1)
                                for pc in set(a) | set(b)}
    md, js = [], {}
    md.append(
        "Executions per operation of each instruction of the function each "
        "driver enters: exact counts from QEMU's trace of every instruction "
        "the modules ran, each operation run N1 and N2 times (see above). "
        "Source lines are the innermost the line tables give: inside "
        "inlined kernel-crate and core-library code for Rust, inside "
        "inlined kernel headers for C.\n"
    )
    names = demangle([sym for funcs in dis.values() for sym in funcs])
    for op, label, rust_needle, c_name in OPS:
        sides, funcs_run = {}, {}
        for target, needle in (("rust_sample", rust_needle), ("c_sample", c_name)):
            entry = find(dis[target], needle, c_name if target == "c_sample" else "")
            if entry is None or (op, target) not in counts:
                continue
            per = counts[(op, target)]
            # Every function of the module that ran, the entry first.
            rows, run = [], []
            order = [entry] + sorted((f for f in dis[target] if f != entry),
                                     key=lambda f: starts[(target, f)])
            for sym in order:
                base = bases[target] + starts[(target, sym)]
                mine = [(off, insn, where, per.get(base + off, 0.0))
                        for off, insn, where in dis[target][sym]]
                total = sum(r[3] for r in mine)
                if total >= HOT:
                    rows += mine
                    run.append((names.get(sym, sym), total))
            sides[target], funcs_run[target] = rows, run
        if len(sides) < 2:
            continue
        totals = {t: sum(r[3] for r in rows) for t, rows in sides.items()}
        js[op] = {
            t: [{"offset": off, "insn": insn, "source": short(w), "per_op": round(n, 3)}
                for off, insn, w, n in rows if n > 0]
            for t, rows in sides.items()
        }
        md.append(f"\n### `{op}`: `{label}`, Rust against C\n")
        md.append(
            f"Instructions per operation in the drivers' own code: "
            f"rust_sample {totals['rust_sample']:.1f}, c_sample {totals['c_sample']:.1f}, "
            f"Rust − C {totals['rust_sample'] - totals['c_sample']:+.1f}. Functions that ran:\n"
        )
        for t in ("rust_sample", "c_sample"):
            for name, n in funcs_run[t]:
                md.append(f"- {t}: `{name}` {n:.2f}")
        md.append("")
        # By origin: where the difference comes from.
        md.append("| origin | rust_sample | c_sample |")
        md.append("|---|---:|---:|")
        layers = {}
        for t, rows in sides.items():
            for _, _, w, n in rows:
                layers.setdefault(origin(w), {}).setdefault(t, 0.0)
                layers[origin(w)][t] += n
        for name in sorted(layers, key=lambda k: -max(layers[k].values())):
            r, c = layers[name].get("rust_sample", 0.0), layers[name].get("c_sample", 0.0)
            if r > 0 or c > 0:
                md.append(f"| {name} | {r:.1f} | {c:.1f} |")
        # By source line, each driver, in code order.
        for t in ("rust_sample", "c_sample"):
            lines = {}
            for _, _, w, n in sides[t]:
                lines[w] = lines.get(w, 0.0) + n
            md.append(f"\n{t}, by source line (code order):\n")
            md.append("| source | instr/op | line |")
            md.append("|---|---:|---|")
            seen = set()
            for _, _, w, _ in sides[t]:
                if w in seen or lines.get(w, 0.0) < HOT:
                    continue
                seen.add(w)
                text = source_text(w).replace("|", "\\|")
                md.append(f"| `{short(w)}` | {lines[w]:.2f} | `{text}` |")
        # Every instruction that ran, side by side.
        md.append(f"\n<details><summary>{op}: every instruction that ran, side by side</summary>\n")
        md.append("| Rust | n | source | C | n | source |")
        md.append("|---|---:|---|---|---:|---|")
        hot = {t: [r for r in sides[t] if r[3] >= HOT] for t in sides}
        for i in range(max(len(hot["rust_sample"]), len(hot["c_sample"]))):
            cells = []
            for t in ("rust_sample", "c_sample"):
                if i < len(hot[t]):
                    off, insn, w, n = hot[t][i]
                    cells += [f"`+{off:#x} {insn}`".replace("|", "\\|"), f"{n:.2f}", f"`{short(w)}`"]
                else:
                    cells += ["", "", ""]
            md.append("| " + " | ".join(cells) + " |")
        md.append("\n</details>\n")
    open(os.path.join(out, "annotate.md"), "w").write("\n".join(md) + "\n")
    json.dump(js, open(os.path.join(out, "annotate.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
