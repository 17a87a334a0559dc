// SPDX-License-Identifier: GPL-2.0

//! rs-bench-report DIR: reads DIR/records.jsonl (what rs-bench printed in
//! each clock mode), DIR/size.txt and the disassemblies, and writes
//! DIR/results.json, DIR/results.md, DIR/ratio.svg (Rust/C per cell, icount)
//! and DIR/throughput.svg (all four targets, log axis, icount).

mod stats;

use plotters::prelude::*;
use serde_json::{
    json,
    Value, //
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

const TARGETS: [&str; 4] = ["rust_sample", "c_sample", "pipe", "zero_null"];

fn get<'a>(r: &'a Value, k: &str) -> &'a Value {
    &r[k]
}

fn s(r: &Value, k: &str) -> String {
    get(r, k).as_str().unwrap_or_default().to_string()
}

fn n(r: &Value, k: &str) -> f64 {
    get(r, k).as_f64().unwrap_or(f64::NAN)
}

fn values(r: &Value) -> Vec<f64> {
    get(r, "values")
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// A cell: everything but the mode and the target.
type Cell = (String, u64, u64, u64, String);

fn cell_of(r: &Value) -> Cell {
    (
        s(r, "workload"),
        get(r, "block_size").as_u64().unwrap_or(0),
        get(r, "writers").as_u64().unwrap_or(0),
        get(r, "readers").as_u64().unwrap_or(0),
        s(r, "unit"),
    )
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// One mode's records: cell -> target -> record.
type Table<'a> = BTreeMap<Cell, BTreeMap<String, &'a Value>>;

fn table<'a>(records: &'a [Value], mode: &str) -> Table<'a> {
    let mut t: Table<'a> = BTreeMap::new();
    for r in records.iter().filter(|r| s(r, "mode") == mode) {
        t.entry(cell_of(r)).or_default().insert(s(r, "target"), r);
    }
    t
}

/// The relocations of a call (or a tail call) on each architecture the
/// modules are built for: x86_64's `call`/`jmp` through the PLT, arm64's
/// `bl` and `b`.
const CALL_RELOCATIONS: [&str; 3] = ["R_X86_64_PLT32", "R_AARCH64_CALL26", "R_AARCH64_JUMP26"];

/// Calls from the named functions to symbols matching `callee`, counted by
/// their relocations in an `objdump -dr` listing.
fn calls_in(dis: &str, function: &str, callee: &str) -> (usize, Vec<String>) {
    let mut inside = false;
    let mut count = 0;
    let mut names = BTreeMap::new();
    for line in dis.lines() {
        if line.ends_with(">:") {
            inside = line.contains(function);
            continue;
        }
        if inside && CALL_RELOCATIONS.iter().any(|r| line.contains(r)) && line.contains(callee) {
            count += 1;
            let sym = line.split_whitespace().last().unwrap_or_default();
            let sym = sym.split('-').next().unwrap_or(sym).to_string();
            *names.entry(sym).or_insert(0) += 1;
        }
    }
    (
        count,
        names
            .into_iter()
            .map(|(k, v)| format!("{k} ×{v}"))
            .collect(),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: rs-bench-report DIR")?;
    let dir = Path::new(&dir);
    let records: Vec<Value> = std::fs::read_to_string(dir.join("records.jsonl"))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;

    let mut md = String::new();
    let mut comparisons = Vec::new();
    let modes: Vec<String> = {
        let mut m: Vec<String> = records.iter().map(|r| s(r, "mode")).collect();
        m.sort();
        m.dedup();
        m
    };

    // icount: exact once it reproduces; the repeat run shows that it does,
    // cell by cell, and a ratio inside that band is a tie.
    let icount = table(&records, "icount");
    let repeat = table(&records, "icount_repeat");
    if !icount.is_empty() {
        writeln!(
            md,
            "\n**icount clock** (instructions; one vCPU; median of the rounds; repeat: how far a second run's Rust and C medians moved)\n"
        )?;
        writeln!(
            md,
            "| workload | block | W×R | unit | rust_sample | c_sample | pipe | zero_null | Rust/C | repeat | verdict |"
        )?;
        writeln!(md, "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")?;
        for (cell, by) in &icount {
            let v = |t: &str| by.get(t).map(|r| n(r, "median")).unwrap_or(f64::NAN);
            let again = |t: &str| {
                repeat
                    .get(cell)
                    .and_then(|b| b.get(t))
                    .map(|r| n(r, "median"))
                    .unwrap_or(f64::NAN)
            };
            let hib = by
                .values()
                .next()
                .and_then(|r| get(r, "higher_is_better").as_bool())
                .unwrap_or(true);
            let ratio = v("rust_sample") / v("c_sample");
            let band = ["rust_sample", "c_sample"]
                .iter()
                .map(|t| (again(t) / v(t) - 1.0).abs())
                .fold(0.0, f64::max);
            let verdict = if ratio.is_nan() {
                "–"
            } else if (ratio - 1.0).abs() <= band {
                "tie"
            } else if (ratio > 1.0) == hib {
                "Rust better"
            } else {
                "C better ✗"
            };
            let (w, b, wr, rd, unit) = cell;
            writeln!(
                md,
                "| {w} | {b} | {wr}×{rd} | {unit}{} | {} | {} | {} | {} | {:.3} | {} | {verdict} |",
                if hib { " ↑" } else { " ↓" },
                fmt(v("rust_sample")),
                fmt(v("c_sample")),
                fmt(v("pipe")),
                fmt(v("zero_null")),
                ratio,
                if band.is_nan() {
                    "–".to_string()
                } else {
                    format!("{:.2}%", band * 100.0)
                },
            )?;
            comparisons.push(json!({
                "mode": "icount", "workload": w, "block_size": b, "writers": wr,
                "readers": rd, "unit": unit, "higher_is_better": hib,
                "rust_c_ratio": ratio, "repeat_band": band, "verdict": verdict,
            }));
        }
        if !repeat.is_empty() {
            let mut worst = (0.0f64, String::new());
            for (cell, by) in &icount {
                for (t, r) in by
                    .iter()
                    .filter(|(t, _)| *t == "rust_sample" || *t == "c_sample")
                {
                    let again = repeat
                        .get(cell)
                        .and_then(|b| b.get(t))
                        .map(|r| n(r, "median"))
                        .unwrap_or(f64::NAN);
                    let dev = (again / n(r, "median") - 1.0).abs();
                    if dev.is_nan() || dev > worst.0 {
                        worst = (dev, format!("{} {} {t}", cell.0, cell.1));
                    }
                }
            }
            writeln!(
                md,
                "\nReproducibility: a second icount run of the same build moves a driver's median by at most {:.2}% in any cell ({}).",
                worst.0 * 100.0,
                if worst.1.is_empty() {
                    "none".into()
                } else {
                    format!("largest: {}", worst.1)
                }
            )?;
        }
    }

    // Trace events: what they cost per write+read, from modules built
    // without them, with them built in and disabled, and enabled.
    let trace_cell = |label: &str| -> Cell { (format!("trace_{label}"), 1, 1, 1, "ns".into()) };
    if icount.contains_key(&trace_cell("absent")) {
        writeln!(
            md,
            "\n**Trace events** (icount: instructions per 1-byte write+read; each driver built without its events, with them built in and disabled, and with them enabled)\n"
        )?;
        writeln!(
            md,
            "| driver | without | disabled | enabled | disabled − without | enabled − without |\n|---|---:|---:|---:|---:|---:|"
        )?;
        for t in ["rust_sample", "c_sample"] {
            let v = |label: &str| {
                icount
                    .get(&trace_cell(label))
                    .and_then(|b| b.get(t))
                    .map(|r| n(r, "median"))
                    .unwrap_or(f64::NAN)
            };
            let (absent, off, on) = (v("absent"), v("off"), v("on"));
            writeln!(
                md,
                "| {t} | {} | {} | {} | {:+.0} ({:+.2}%) | {:+.0} |",
                fmt(absent),
                fmt(off),
                fmt(on),
                off - absent,
                (off / absent - 1.0) * 100.0,
                on - absent,
            )?;
        }
    }

    // Wall clock: noisy, so the comparison is an interval.
    let wall = table(&records, "wall");
    if !wall.is_empty() {
        writeln!(
            md,
            "\n**wall clock** (host time; 2 vCPUs; Rust and C alternate, medians, and (R−C)/C with its 95% interval over the paired rounds)\n"
        )?;
        writeln!(
            md,
            "| workload | block | W×R | unit | rust_sample | c_sample | pipe | zero_null | (R−C)/C | 95% interval | verdict |"
        )?;
        writeln!(md, "|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|")?;
        for (cell, by) in &wall {
            let v = |t: &str| by.get(t).map(|r| n(r, "median")).unwrap_or(f64::NAN);
            let hib = by
                .values()
                .next()
                .and_then(|r| get(r, "higher_is_better").as_bool())
                .unwrap_or(true);
            let (rs, c) = (
                by.get("rust_sample").map(|r| values(r)).unwrap_or_default(),
                by.get("c_sample").map(|r| values(r)).unwrap_or_default(),
            );
            let ci = stats::relative_difference(&rs, &c);
            let (w, b, wr, rd, unit) = cell;
            let (mean, lo, hi, verdict) = match ci {
                Some(ci) => {
                    let verdict = stats::verdict(&ci, hib);
                    (
                        format!("{:+.1}%", ci.mean * 100.0),
                        format!("[{:+.1}%, {:+.1}%]", ci.low * 100.0, ci.high * 100.0),
                        ci,
                        verdict,
                    )
                }
                None => (
                    "–".into(),
                    "–".into(),
                    stats::Interval::default(),
                    "too few rounds",
                ),
            };
            writeln!(
                md,
                "| {w} | {b} | {wr}×{rd} | {unit}{} | {} | {} | {} | {} | {mean} | {lo} | {verdict} |",
                if hib { " ↑" } else { " ↓" },
                fmt(v("rust_sample")),
                fmt(v("c_sample")),
                fmt(v("pipe")),
                fmt(v("zero_null")),
            )?;
            comparisons.push(json!({
                "mode": "wall", "workload": w, "block_size": b, "writers": wr,
                "readers": rd, "unit": unit, "higher_is_better": hib,
                "rel_diff_mean": hi.mean, "rel_diff_ci95_low": hi.low,
                "rel_diff_ci95_high": hi.high, "pairs": hi.n, "verdict": verdict,
            }));
        }
    }

    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&json!({
            "modes": modes,
            "records": records,
            "comparisons": comparisons,
        }))?,
    )?;

    // Module sizes: production builds of both drivers.
    let size = std::fs::read_to_string(dir.join("size.txt"))?;
    writeln!(
        md,
        "\n**Module size** (`size`, bytes; production builds, no KUnit suites)\n"
    )?;
    writeln!(md, "| module | text | data | bss |\n|---|---:|---:|---:|")?;
    let mut sizes = BTreeMap::new();
    for line in size.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 6 {
            let name = Path::new(f[5])
                .file_name()
                .and_then(|x| x.to_str())
                .unwrap_or(f[5])
                .to_string();
            let num = |i: usize| f[i].parse::<f64>().unwrap_or(f64::NAN);
            sizes.insert(name.clone(), (num(0), num(1), num(2)));
            writeln!(md, "| {name} | {} | {} | {} |", f[0], f[1], f[2])?;
        }
    }
    let (r, c) = (
        sizes
            .get("rust_sample.ko")
            .copied()
            .unwrap_or((f64::NAN, f64::NAN, f64::NAN)),
        sizes
            .get("c_sample.ko")
            .copied()
            .unwrap_or((f64::NAN, f64::NAN, f64::NAN)),
    );
    writeln!(
        md,
        "\nRust/C: text {}, data {}, bss {}.",
        fmt(r.0 / c.0),
        fmt(r.1 / c.1),
        fmt(r.2 / c.2)
    )?;
    let nm = std::fs::read_to_string(dir.join("rust_sample.nm"))?;
    let kunit = nm
        .lines()
        .filter(|l| l.contains("5tests") || l.to_lowercase().contains("kunit"))
        .count();
    writeln!(
        md,
        "\nKUnit symbols in the production rust_sample.ko: {kunit}."
    )?;
    // Where the text goes: every function of each module, by size
    // (`llvm-nm -S --demangle`, text symbols).
    for (module, file) in [
        ("rust_sample.ko", "rust_sample.nm.txt"),
        ("c_sample.ko", "c_sample.nm.txt"),
    ] {
        let Ok(list) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        let mut funcs: Vec<(u64, String)> = list
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(4, ' ');
                let (_, size, kind, name) = (f.next()?, f.next()?, f.next()?, f.next()?);
                let size = u64::from_str_radix(size, 16).ok()?;
                matches!(kind, "t" | "T").then(|| (size, name.to_string()))
            })
            .collect();
        funcs.sort_by(|a, b| b.0.cmp(&a.0));
        let total: u64 = funcs.iter().map(|f| f.0).sum();
        writeln!(
            md,
            "\n{module}: {} functions, {total} bytes; the largest:\n\n| bytes | function |\n|---:|---|",
            funcs.len()
        )?;
        for (size, name) in funcs.iter().take(12) {
            let short: String = name.chars().take(120).collect();
            writeln!(md, "| {size} | `{short}` |")?;
        }
    }

    let rdis = std::fs::read_to_string(dir.join("rust_sample.dis"))?;
    let cdis = std::fs::read_to_string(dir.join("c_sample.dis"))?;
    writeln!(
        md,
        "\n**Calls out of the hot path** (relocations in `objdump -dr`)\n"
    )?;
    for (label, dis, func) in [
        // The layer's trampolines, which inline the driver's methods.
        ("rust_sample read_iter", &rdis, "12SampleDeviceE9read_iter"),
        (
            "rust_sample write_iter",
            &rdis,
            "12SampleDeviceE10write_iter",
        ),
        ("c_sample read_iter", &cdis, "c_sample_read_iter"),
        ("c_sample write_iter", &cdis, "c_sample_write_iter"),
    ] {
        let (all, names) = calls_in(dis, func, "");
        let (helpers, _) = calls_in(dis, func, "rust_helper_");
        writeln!(
            md,
            "- {label}: {all} calls, {helpers} to `rust_helper_*`: {}",
            names.join(", ")
        )?;
    }
    std::fs::write(dir.join("results.md"), &md)?;

    ratio_chart(&dir.join("ratio.svg"), &icount)?;
    throughput_chart(&dir.join("throughput.svg"), &icount)?;
    print!("{md}");
    Ok(())
}

/// Rust/C per cell of the icount run, one point each, with 1.0 marked:
/// above the line Rust is faster (rates) or slower (times), so times are
/// plotted as C/Rust to make "above 1.0" always mean "Rust is better".
fn ratio_chart(path: &Path, icount: &Table<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let mut pts = Vec::new();
    for (cell, by) in icount {
        let (Some(r), Some(c)) = (by.get("rust_sample"), by.get("c_sample")) else {
            continue;
        };
        if cell.4 == "ops/s" {
            continue; // the same runs as MB/s
        }
        let hib = get(r, "higher_is_better").as_bool().unwrap_or(true);
        let ratio = if hib {
            n(r, "median") / n(c, "median")
        } else {
            n(c, "median") / n(r, "median")
        };
        let label = if cell.0 == "scaling" {
            format!("scaling {}×{}", cell.2, cell.3)
        } else if cell.0 == "throughput" {
            format!("throughput {} B", cell.1)
        } else {
            cell.0.clone()
        };
        pts.push((label, ratio));
    }
    if pts.is_empty() {
        return Ok(());
    }
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (lo, hi) = pts.iter().fold((0.9f64, 1.1f64), |(lo, hi), p| {
        (lo.min(p.1 - 0.02), hi.max(p.1 + 0.02))
    });
    let labels: Vec<String> = pts.iter().map(|p| p.0.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Rust vs C per cell (icount: instructions). Above 1.0: Rust is better",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(130)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..(pts.len() as f64 - 0.5), lo..hi)?;
    chart
        .configure_mesh()
        .x_labels(pts.len())
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_label_style(
            ("sans-serif", 13)
                .into_font()
                .transform(FontTransform::Rotate90),
        )
        .y_desc("C time / Rust time, or Rust rate / C rate")
        .draw()?;
    chart.draw_series(LineSeries::new(
        vec![(-0.5, 1.0), (pts.len() as f64 - 0.5, 1.0)],
        BLACK.stroke_width(2),
    ))?;
    chart.draw_series(pts.iter().enumerate().map(|(i, p)| {
        let c = if p.1 >= 1.0 { GREEN } else { RED };
        Circle::new((i as f64, p.1), 6, c.filled())
    }))?;
    root.present()?;
    Ok(())
}

/// Throughput against block size for all four targets, both axes log.
fn throughput_chart(path: &Path, icount: &Table<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let pts = |t: &str| -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = icount
            .iter()
            .filter(|(cell, _)| cell.0 == "throughput" && cell.4 == "MB/s")
            .filter_map(|(cell, by)| by.get(t).map(|r| (cell.1 as f64, n(r, "median"))))
            .collect();
        v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        v
    };
    let all: Vec<f64> = TARGETS
        .iter()
        .flat_map(|t| pts(t))
        .map(|p| p.1)
        .filter(|v| *v > 0.0)
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    let ymin = all.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
    let ymax = all.iter().copied().fold(0.0, f64::max) * 1.5;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Throughput, 1 writer + 1 reader (icount clock, log axes)",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d((0.8f64..80000.0).log_scale(), (ymin..ymax).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("block size (bytes)")
        .y_desc("MB/s")
        .x_label_formatter(&|x| format!("{}", x.round()))
        .draw()?;
    let colors = [RED, BLUE, GREEN, BLACK];
    for (t, c) in TARGETS.iter().zip(colors) {
        let p = pts(t);
        chart
            .draw_series(LineSeries::new(p.clone(), c.stroke_width(2)))?
            .label(*t)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(p.into_iter().map(|xy| Circle::new(xy, 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::calls_in;

    /// Both architectures' call relocations count, and only inside the
    /// function asked for.
    #[test]
    fn calls_in_counts_x86_64_and_arm64_calls() {
        let x86 = "0000000000000010 <f_read_iter>:
      1c: callq 0x21 <f_read_iter+0x11>
\t\t000000000000001d:  R_X86_64_PLT32\tmutex_lock-0x4
      2c: jmp 0x31 <f_read_iter+0x21>
\t\t000000000000002d:  R_X86_64_PLT32\trust_helper_x-0x4
0000000000000040 <other>:
\t\t0000000000000041:  R_X86_64_PLT32\tmutex_lock-0x4
";
        let (n, names) = calls_in(x86, "f_read_iter", "");
        assert_eq!(n, 2);
        assert_eq!(names, ["mutex_lock ×1", "rust_helper_x ×1"]);
        assert_eq!(calls_in(x86, "f_read_iter", "rust_helper_").0, 1);

        let arm64 = "0000000000000010 <f_read_iter>:
      1c: bl 0x1c <f_read_iter+0xc>
\t\t000000000000001c:  R_AARCH64_CALL26\tmutex_lock
      2c: b 0x2c <f_read_iter+0x1c>
\t\t000000000000002c:  R_AARCH64_JUMP26\tmutex_unlock
      30: adrp x0, 0x0
\t\t0000000000000030:  R_AARCH64_ADR_PREL_PG_HI21\tmutex_lock
";
        let (n, names) = calls_in(arm64, "f_read_iter", "");
        assert_eq!(n, 2);
        assert_eq!(names, ["mutex_lock ×1", "mutex_unlock ×1"]);
    }
}
