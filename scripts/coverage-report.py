#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""coverage-report.py: the line coverage of rust_sample from KCOV's PCs.

  coverage-report.py --ko KO --kcov DIR --llvm SUFFIX --root DIR
                     --tests TEXT --out OUT.rst
  coverage-report.py --splice PAGE --out OUT.rst

KCOV records, for each instrumented basic block a task runs, the return
address of its call to __sanitizer_cov_trace_pc. The module's own
relocations name every such call, so every PC the module could record is
known from the .ko: the call's relocation offset plus 4 (the end of the
call instruction). Left out: the blocks of out-of-line copies nothing in
the module calls, and the blocks that only panic (counted apart). Each
instruction of .text belongs to a basic block of its function's control
flow graph (from the disassembly); a block with a site ran when its site
was recorded, and the run of a block the instrumentation left implied is
inferred from the graph. Each instruction maps, with llvm-addr2line and
the module's line tables, to the innermost frame of its inline chain that
lies in a reported file: a line has code when an instruction of a known
block is on it, and is hit when one of them ran.

DIR holds what the guest wrote (tests/userspace/src/kcov.rs): suite/PID
and fuzz/PID, the .text offsets each rs-devtest process reached (one hex
number a line, then "overflows N"), and fuzz/fuzz-MODULE-MODE-PID, the
blocks a fuzzer run reached in the order it found them ("calls N", then
"CALL OFFSET" lines), from which come the coverage-over-time figures.

--splice puts OUT.rst between the ".. coverage:begin" and ".. coverage:end"
comments of PAGE.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys

# The files reported: the driver, the layer and the crate root; not the
# KUnit suites (device/tests.rs), which are test code, and which KUnit runs
# in kthreads of its own, where no test's KCOV records.
REPORTED = re.compile(r"(^|/)(device/[^/]+\.rs|abstractions/[^/]+\.(rs|c|h)|rust_sample\.rs)$")
UNREPORTED = re.compile(r"(^|/)device/tests\.rs$")
# Sections whose relocations name functions without calling them.
NOT_CALLERS = re.compile(r"\.debug_|\.orc_unwind|\.eh_frame")
# What a block that only panics calls: the checks rustc inserts (overflow,
# bounds, slice ranges) and failed assertions.
PANICS = re.compile(r"core\d+panicking|slice_index_fail|slice_\w*_fail|panic_bounds_check"
                    r"|unwrap_failed|expect_failed|assert_failed")


def call_sites(ko, llvm):
    """The PCs (offsets into .text) that KCOV can record for this module,
    and what refers to functions: the names relocations give, and the .text
    offsets they point at (a local function pointer, or a call)."""
    out = subprocess.run(
        [f"llvm-objdump{llvm}", "-r", ko],
        check=True, capture_output=True, text=True).stdout
    sites, section, named, at = [], None, set(), set()
    for line in out.splitlines():
        if line.startswith("RELOCATION RECORDS FOR ["):
            section = line[len("RELOCATION RECORDS FOR ["):].rstrip("]:")
            continue
        f = line.split()
        if len(f) < 3:
            continue
        # "000000000000001b R_X86_64_PLT32 __sanitizer_cov_trace_pc-0x4"
        if section == ".text" and f[2].startswith("__sanitizer_cov_trace_pc"):
            sites.append(int(f[0], 16) + 4)
        # Debug info and the unwinder's tables name every function; they
        # call none.
        if section is None or NOT_CALLERS.match(section):
            continue
        m = re.fullmatch(r"(.+?)(?:([+-])0x([0-9a-f]+))?", f[2])
        if m.group(1) == ".text":
            off = int(m.group(3) or "0", 16) * (-1 if m.group(2) == "-" else 1)
            # A call's addend is the target less 4; data's is the target.
            at.update((off, off + 4))
        else:
            named.add(m.group(1))
    return sorted(set(sites)), named, at


def unreferenced(functions, named, at, insns):
    """The functions of .text nothing refers to, as {name: (start, end)}.

    rustc may keep an out-of-line copy of a function every caller inlined
    (a pub(crate) fn of the crate, say): its blocks can never run. A
    function is referred to when a relocation anywhere in the module names
    it or points at its start, or a call or jump in .text goes to its start
    (calls to a local function need no relocation)."""
    targets = at | {insn[3] for insn in insns if insn[3] is not None}
    return {name: (a, b) for name, (a, b) in functions.items()
            if name not in named and a not in targets}


def disassemble(ko, llvm):
    """The instructions of .text: [address, mnemonic, symbol named (a
    call's relocation, else objdump's <symbol+off>), direct target or None]."""
    code = subprocess.run(
        [f"llvm-objdump{llvm}", "-d", "-r", "--no-show-raw-insn", "-j", ".text", ko],
        check=True, capture_output=True, text=True).stdout.splitlines()
    insns = []
    for line in code:
        r = re.match(r"\s+[0-9a-f]+:\s+R_X86_64_\w+\s+(\S+?)(?:[+-]0x[0-9a-f]+)?$", line)
        if r:
            if insns and insns[-1][1].startswith("call"):
                insns[-1][2] = r.group(1)
            continue
        m = re.match(r"\s+([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if m:
            target = re.search(r"<([^>+]+)", m.group(3))
            jt = re.match(r"0x([0-9a-f]+) <", m.group(3))
            insns.append([int(m.group(1), 16), m.group(2), target.group(1) if target else "",
                          int(jt.group(1), 16) if jt else None])
    return insns


def ends_block(op):
    return op.startswith(("j", "ret", "ud2"))


def panic_blocks(insns, sites):
    """The sites whose block goes straight to a panic: the first call or
    branch after the KCOV hook is a call to core's panic functions (or a
    ud2). Such a block runs only when a check fails, which would oops."""
    index = {insn[0]: i for i, insn in enumerate(insns)}
    out = set()
    for pc in sites:
        i = index.get(pc)
        while i is not None and i < len(insns):
            _, op, target, _ = insns[i]
            if op == "ud2" or (op.startswith("call") and PANICS.search(target)):
                out.add(pc)
            if op.startswith("call") or ends_block(op):
                break
            i += 1
    return out


def text_functions(ko, llvm):
    """The functions of .text: {name: (start, end)}."""
    syms = subprocess.run(
        [f"llvm-objdump{llvm}", "-t", ko],
        check=True, capture_output=True, text=True).stdout
    out = {}
    for line in syms.splitlines():
        # "0000000000002a40 g     F .text  000000000000007a NAME"
        m = re.fullmatch(r"([0-9a-f]+) [^F]*F \.text\s+([0-9a-f]+) (\S+)", line)
        if m:
            start = int(m.group(1), 16)
            out[m.group(3)] = (start, start + int(m.group(2), 16))
    return out


def ran_blocks(insns, functions, sites, hits):
    """Which basic blocks ran: {instruction address: True, False or None}.

    The instrumentation puts a KCOV call in a block unless its run is
    implied by others (LLVM's SanitizerCoverage prunes, in the IR, a block
    that dominates all its successors or post-dominates all its
    predecessors; code generation then reshapes the blocks). So a block
    with a site ran exactly when its site was recorded, and the run of a
    block without one is inferred from the machine code's own control flow
    graph where that is sound; None where it cannot be. Also returns, for each
    instruction, its block's site (None for a pruned block)."""
    sites = set(sites)
    ran, site_of = {}, {}
    by_addr = {insn[0]: i for i, insn in enumerate(insns)}
    for start, end in functions.values():
        if start not in by_addr:
            continue
        first = by_addr[start]
        fi = [insn for insn in insns[first:] if insn[0] < end]
        if not fi:
            continue
        # Leaders: the entry, jump targets, and what follows a branch or a
        # call that does not return.
        leaders = {start}
        for k, (addr, op, target, jt) in enumerate(fi):
            if op.startswith("j") and jt is not None and start <= jt < end:
                leaders.add(jt)
            noreturn = op.startswith("call") and PANICS.search(target)
            if (ends_block(op) or noreturn) and k + 1 < len(fi):
                leaders.add(fi[k + 1][0])
        blocks, cur = [], []
        for insn in fi:
            if insn[0] in leaders and cur:
                blocks.append(cur)
                cur = []
            cur.append(insn)
        blocks.append(cur)
        head = {b[0][0]: n for n, b in enumerate(blocks)}
        succ = [[] for _ in blocks]
        for n, b in enumerate(blocks):
            addr, op, target, jt = b[-1]
            fall = n + 1 if n + 1 < len(blocks) else None
            if op.startswith("jmp"):
                if jt is not None and jt in head:
                    succ[n].append(head[jt])
            elif op.startswith("j"):
                if jt is not None and jt in head:
                    succ[n].append(head[jt])
                if fall is not None:
                    succ[n].append(fall)
            elif op.startswith(("ret", "ud2")) or (op.startswith("call") and PANICS.search(target)):
                pass
            elif fall is not None:
                succ[n].append(fall)
        pred = [[] for _ in blocks]
        for n, ss in enumerate(succ):
            for m in ss:
                pred[m].append(n)
        dom = dominators(len(blocks), 0, succ, pred)
        exits = [n for n in range(len(blocks)) if not succ[n]]
        pdom = dominators(len(blocks), exits, pred, succ)
        state, block_site = [], []
        for b in blocks:
            # The site is the return address of the block's KCOV call.
            site = next((a + 5 for a, _, t, _ in b
                         if a + 5 in sites and t.startswith("__sanitizer_cov_trace_pc")), None)
            block_site.append(site)
            state.append(None if site is None else site in hits)
        # A block with no site of its own: it ran if it dominates or
        # post-dominates a block that ran (every path to that block, or
        # from it to the exit, goes through it); it did not if it has
        # predecessors and none ran, or successors and none ran.
        changed = True
        while changed:
            changed = False
            for n in range(len(blocks)):
                if state[n] is not None:
                    continue
                v = None
                if any(state[x] and (n in dom[x] or n in pdom[x]) for x in range(len(blocks))):
                    v = True
                elif (n != 0 and pred[n] and all(state[m] is False for m in pred[n])) or \
                        (succ[n] and all(state[m] is False for m in succ[n])):
                    v = False
                if v is not None:
                    state[n], changed = v, True
        for n, b in enumerate(blocks):
            for insn in b:
                ran[insn[0]] = state[n]
                site_of[insn[0]] = block_site[n]
    return ran, site_of


def dominators(count, roots, succ, pred):
    """Dominator sets over `count` blocks from `roots` (one root, or the
    list of exits for post-dominators, whose graph is the reverse)."""
    roots = [roots] if isinstance(roots, int) else roots
    full = set(range(count))
    dom = [set(full) for _ in range(count)]
    for r in roots:
        dom[r] = {r}
    changed = True
    while changed:
        changed = False
        for n in range(count):
            if n in roots:
                continue
            ps = [dom[p] for p in pred[n]]
            new = (set.intersection(*ps) if ps else set()) | {n}
            if new != dom[n]:
                dom[n], changed = new, True
    return dom


def unsafe_blocks(root):
    """Every `unsafe { ... }` of abstractions/*.rs: (file, first, last line)."""
    out = []
    d = os.path.join(root, "abstractions")
    for name in sorted(os.listdir(d)):
        if not name.endswith(".rs"):
            continue
        lines = open(os.path.join(d, name)).read().split("\n")
        for i, line in enumerate(lines):
            code = line.split("//")[0]
            for m in re.finditer(r"\bunsafe\s*\{", code):
                depth, j, col = 0, i, m.end() - 1
                while j < len(lines):
                    text = lines[j].split("//")[0]
                    for c in text[col:]:
                        depth += {"{": 1, "}": -1}.get(c, 0)
                        if depth == 0:
                            break
                    if depth == 0:
                        break
                    j, col = j + 1, 0
                out.append((f"abstractions/{name}", i + 1, j + 1))
    return out


def unsafe_report(blocks, insns, chains, ran, excluded):
    """Which unsafe blocks of abstractions/ ran: those with an instruction
    in a basic block that ran."""
    state = {b: "no code" for b in blocks}
    by_file = collections.defaultdict(list)
    for b in blocks:
        by_file[b[0]].append(b)
    order = {"no code": 0, "unknown": 1, "not run": 2, "ran": 3}
    for insn, chain in zip(insns, chains):
        if insn[0] in excluded:
            continue
        r = ran.get(insn[0])
        now = "unknown" if r is None else ("ran" if r else "not run")
        for path, line in chain:
            for b in by_file.get(path, ()):
                if b[1] <= line <= b[2] and order[now] > order[state[b]]:
                    state[b] = now
    count = collections.Counter(state.values())
    out = [f"Unsafe blocks in ``abstractions/``: {len(blocks)}; {count['ran']} ran "
           "(an instruction of the block is in a basic block that ran)."]
    what = {"not run": "did not run",
            "unknown": "are only in basic blocks whose run the report cannot tell",
            "no code": "compiled to no instruction of their own (a pointer cast "
                       "or a borrow; or a callback the driver does not implement, "
                       "such as compat_ioctl, which is never compiled)"}
    for kind in ("not run", "unknown", "no code"):
        left = [b for b in blocks if state[b] == kind]
        if left:
            out.append(f"{len(left)} {what[kind]}: " +
                       ", ".join(f"``{f}:{a}``" for f, a, _ in left) + ".")
    return out


def frames_of(ko, llvm, addrs, root):
    """For each address, its inline chain, innermost first, as (file
    relative to root, line) pairs."""
    res = subprocess.run(
        [f"llvm-addr2line{llvm}", "-e", ko, "--inlines", "--output-style=JSON"],
        input="".join(f"0x{a:x}\n" for a in addrs),
        check=True, capture_output=True, text=True).stdout.splitlines()
    if len(res) != len(addrs):
        sys.exit(f"llvm-addr2line gave {len(res)} answers for {len(addrs)} addresses")
    root = os.path.realpath(root) + "/"
    out = []
    for r in res:
        chain = []
        for frame in json.loads(r)["Symbol"]:
            path = frame["FileName"]
            path = os.path.realpath(path) if os.path.isabs(path) else path
            chain.append((path[len(root):] if path.startswith(root) else path, frame["Line"]))
        out.append(chain)
    return out


def reported_line(chain):
    """The innermost frame in a reported file: a block of the kernel crate
    or of core inlined into the driver counts for the driver's line that
    called it."""
    for path, line in chain:
        if line and REPORTED.search(path):
            return None if UNREPORTED.search(path) else (path, line)
    return None


def ranges(nums):
    """'3, 7-9, 12' from [3, 7, 8, 9, 12]."""
    out, start, prev = [], None, None
    for n in sorted(nums):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = n
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out)


def offsets(path):
    """The .text offsets one process reached, and its overflow count."""
    hits, overflows = set(), 0
    for line in open(path):
        line = line.strip()
        if line.startswith("overflows "):
            overflows += int(line.split()[1])
        elif line:
            hits.add(int(line, 16))
    return hits, overflows


def timelines(kcov):
    """{(module, mode): (calls, [(call, offset), ...])} of the fuzzer runs."""
    out = {}
    d = os.path.join(kcov, "fuzz")
    for name in sorted(os.listdir(d)):
        m = re.fullmatch(r"fuzz-(\w+?)-(random|guided)-\d+", name)
        if not m:
            continue
        lines = open(os.path.join(d, name)).read().split("\n")
        calls = int(lines[0].split()[1])
        found = [(int(a), int(b, 16)) for a, b in (l.split() for l in lines[1:] if l)]
        out[(m.group(1), m.group(2))] = (calls, found)
    return out


def checkpoints(calls):
    """10, 100, ... up to the run's calls, and the run's calls."""
    out, c = [], 10
    while c < calls:
        out.append(c)
        c *= 10
    return out + [calls]


def fuzz_table(runs, suite, sites):
    """Coverage over time: blocks each fuzzer run reached by call N; for
    rust_sample, how much of the suite's blocks that is."""
    if not runs:
        return []
    calls = max(c for c, _ in runs.values())
    cps = checkpoints(calls)
    sites = set(sites)
    suite = suite & sites
    out = [
        "Coverage over time: module blocks each fuzzer run had reached after N "
        f"calls (random: one random call after another; guided: KCOV-guided, "
        "tests/userspace/src/fuzz.rs). For rust_sample, in brackets, the share "
        f"of the {len(suite)} blocks the suite (everything but fuzzing) reached.",
        "",
    ]
    head = ["run"] + [f"{c:,}" for c in cps] + ["last new block at call"]
    rows = []
    for (module, mode), (n, found) in sorted(runs.items()):
        row = [f"{module} {mode}"]
        for c in cps:
            got = {off for i, off in found if i < c}
            cell = f"{len(got)}"
            if module == "rust_sample" and suite:
                cell += f" ({100.0 * len(got & suite) / len(suite):.0f}%)"
            row.append(cell)
        # The call that found the run's last new block.
        row.append(f"{found[-1][0] + 1:,}" if found else "-")
        rows.append(row)
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    bar = "  ".join("=" * x for x in w)
    out.append(bar)
    out.append("  ".join(f"{h:<{x}}" for h, x in zip(head, w)))
    out.append(bar)
    for r in rows:
        out.append("  ".join(f"{c:<{x}}" for c, x in zip(r, w)))
    out.append(bar)
    if "rust_sample" in {m for m, _ in runs} and suite:
        for mode in ("random", "guided"):
            if ("rust_sample", mode) not in runs:
                continue
            _, found = runs[("rust_sample", mode)]
            reached = {off for _, off in found}
            beyond = len((reached & sites) - suite)
            missing = len(suite - reached)
            out.append("")
            out.append(f"rust_sample {mode}: {len(reached & suite)} of the suite's "
                       f"{len(suite)} blocks, {missing} not reached (sleeping and waking, "
                       f"signals and SIGIO, io_uring, debugfs and fdinfo: what the fuzzer does not do), "
                       f"{beyond} the suite did not reach.")
    return out


def report(args):
    hits, overflows, suite = set(), 0, set()
    for part in ("suite", "fuzz"):
        d = os.path.join(args.kcov, part)
        for name in sorted(os.listdir(d)):
            if not name.isdigit():
                continue
            h, o = offsets(os.path.join(d, name))
            hits |= h
            overflows += o
            if part == "suite":
                suite |= h
    sites, named, at = call_sites(args.ko, args.llvm)
    if not sites:
        sys.exit(f"{args.ko} has no __sanitizer_cov_trace_pc call: not built for KCOV")
    insns = disassemble(args.ko, args.llvm)
    functions = text_functions(args.ko, args.llvm)
    dead_fns = {n: r for n, r in unreferenced(functions, named, at, insns).items()
                if any(r[0] <= pc < r[1] for pc in sites)}
    dead = {pc for pc in sites for a, b in dead_fns.values() if a <= pc < b}
    sites = [pc for pc in sites if pc not in dead]
    panics = panic_blocks(insns, sites)
    panics_ran = len(panics & hits)
    ran, site_of = ran_blocks(insns, functions, sites, hits)
    # Left out: the dead copies, and the blocks that only panic.
    excluded = {i[0] for i in insns if any(a <= i[0] < b for a, b in dead_fns.values())
                or site_of.get(i[0]) in panics}
    chains = frames_of(args.ko, args.llvm, [i[0] for i in insns], args.root)
    have = collections.defaultdict(set)
    hit = collections.defaultdict(set)
    unknown = 0
    for insn, chain in zip(insns, chains):
        loc = reported_line(chain)
        if loc is None or insn[0] in excluded:
            continue
        r = ran.get(insn[0])
        if r is None:
            unknown += 1
            continue
        have[loc[0]].add(loc[1])
        if r:
            hit[loc[0]].add(loc[1])
    # The lines only the fuzzers reached: hit, but not by the suite.
    ran_suite, _ = ran_blocks(insns, functions, sites, suite)
    suite_hit = collections.defaultdict(set)
    for insn, chain in zip(insns, chains):
        loc = reported_line(chain)
        if loc is not None and insn[0] not in excluded and ran_suite.get(insn[0]):
            suite_hit[loc[0]].add(loc[1])
    live = [pc for pc in sites if pc not in panics]
    stray = len(hits - set(sites) - dead)
    # Blocks per file: the file of the block's KCOV call (5 bytes before
    # its site).
    chain_at = {insn[0]: chain for insn, chain in zip(insns, chains)}
    blocks = collections.Counter()
    blocks_ran = collections.Counter()
    for pc in live:
        loc = reported_line(chain_at.get(pc - 5, []))
        if loc is not None:
            blocks[loc[0]] += 1
            blocks_ran[loc[0]] += pc in hits

    rows = []
    for f in sorted(have):
        n, h = len(have[f]), len(hit[f])
        rows.append((f, n, h, n - h, 100.0 * h / n, blocks[f], blocks_ran[f]))
    total_n = sum(r[1] for r in rows)
    total_h = sum(r[2] for r in rows)
    total_b = sum(r[5] for r in rows)
    total_br = sum(r[6] for r in rows)

    w = max(len(r[0]) for r in rows + [("total",)])
    bar = f"{'=' * w}  =====  =====  ======  ======  ======  ======"
    out = [
        f"From ``make coverage``: {args.tests} under KCOV. "
        f"{len(hits & set(live))} of the module's {len(live)} instrumented "
        "blocks ran (blocks: the file of each block's KCOV call; a line with "
        "a success and an error path is hit when either ran, a block only "
        f"when it did); {len(dead)} more sit in {len(dead_fns)} out-of-line copies "
        "that nothing in the module calls (rustc keeps them for functions "
        "every caller inlined) and are left out, as are the "
        f"{len(panics)} blocks that only panic (rustc's overflow and bounds "
        f"checks, failed assertions), of which {panics_ran} ran. "
        f"{overflows} task(s) recorded more PCs than their buffer held; "
        f"{stray} recorded PCs were not a block's call site (tail calls to "
        "the KCOV hook, whose PC is the caller's; the other module's text). "
        "A line has code when an instruction of a reachable block is on it, "
        "and counts as hit when any of its instructions ran (the run of a "
        "block without a KCOV call of its own, which the instrumentation "
        "left implied, is inferred from the control flow graph); "
        f"{unknown} instructions are in blocks whose run cannot be inferred.",
        "",
        bar,
        f"{'file':<{w}}  lines  hit    missed  hit %   blocks  ran",
        bar,
    ]
    for f, n, h, m, p, b, br in rows:
        out.append(f"{f:<{w}}  {n:>5}  {h:>5}  {m:>6}  {p:>6.1f}  {b:>6}  {br:>6}")
    out.append(f"{'total':<{w}}  {total_n:>5}  {total_h:>5}  {total_n - total_h:>6}  "
               f"{100.0 * total_h / total_n:>6.1f}  {total_b:>6}  {total_br:>6}")
    out += [bar, "", "Lines with code that no test ran:", ""]
    for f in sorted(have):
        missed = have[f] - hit[f]
        if missed:
            out.append(f"- ``{f}``: {ranges(missed)}")
    fuzz_only = {f: hit[f] - suite_hit[f] for f in hit if hit[f] - suite_hit[f]}
    if fuzz_only:
        out += ["", "Lines only the fuzzers ran (the suite alone misses them):", ""]
        for f in sorted(fuzz_only):
            out.append(f"- ``{f}``: {ranges(fuzz_only[f])}")
    out.append("")
    out += unsafe_report(unsafe_blocks(args.root), insns, chains, ran, excluded)
    out.append("")
    out += fuzz_table(timelines(args.kcov), suite, live)
    open(args.out, "w").write("\n".join(out) + "\n")


def splice(args):
    page = open(args.splice).read()
    begin, end = ".. coverage:begin", ".. coverage:end"
    head, rest = page.split(begin, 1)
    _, tail = rest.split(end, 1)
    gen = open(args.out).read()
    open(args.splice, "w").write(head + begin + "\n\n" + gen + "\n" + end + tail)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ko")
    p.add_argument("--kcov")
    p.add_argument("--llvm", default="")
    p.add_argument("--root", default=".")
    p.add_argument("--tests", default="")
    p.add_argument("--splice")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if args.splice:
        splice(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
