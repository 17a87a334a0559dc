// SPDX-License-Identifier: GPL-2.0

//! rs-bench-report DIR: reads DIR/records.jsonl (what rs-bench printed in
//! each clock mode), DIR/size.txt and the disassemblies, and writes
//! DIR/results.json, DIR/results.md and DIR/throughput.svg.

use plotters::prelude::*;
use serde_json::Value;
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

/// The row a record belongs to: everything but the target.
fn row_key(r: &Value) -> (String, String, u64, u64, u64, String) {
    (
        s(r, "mode"),
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
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

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
        if inside && line.contains("R_X86_64_PLT32") && line.contains(callee) {
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
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&records)?,
    )?;

    // Rows: every (mode, workload, block, writers, readers, unit), a column
    // per target, and the Rust/C ratio.
    let mut rows: BTreeMap<_, (BTreeMap<String, f64>, bool)> = BTreeMap::new();
    for r in &records {
        let e = rows
            .entry(row_key(r))
            .or_insert_with(|| (BTreeMap::new(), true));
        e.0.insert(s(r, "target"), n(r, "median"));
        e.1 = get(r, "higher_is_better").as_bool().unwrap_or(true);
    }
    let mut md = String::new();
    writeln!(
        md,
        "Medians of 5 runs. Rust/C > 1 is better for rates, < 1 for times.\n"
    )?;
    let mut mode_now = String::new();
    for ((mode, workload, block, w, rd, unit), (vals, hib)) in &rows {
        if *mode != mode_now {
            mode_now = mode.clone();
            writeln!(md, "\n**{mode} clock**\n")?;
            writeln!(md, "| workload | block | W×R | unit | rust_sample | c_sample | pipe | zero_null | Rust/C |")?;
            writeln!(md, "|---|---:|---:|---|---:|---:|---:|---:|---:|")?;
        }
        let v = |t: &str| vals.get(t).copied().unwrap_or(f64::NAN);
        let ratio = v("rust_sample") / v("c_sample");
        let better = if *hib { ratio >= 1.0 } else { ratio <= 1.0 };
        writeln!(
            md,
            "| {workload} | {block} | {w}×{rd} | {unit}{} | {} | {} | {} | {} | {}{} |",
            if *hib { " ↑" } else { " ↓" },
            fmt(v("rust_sample")),
            fmt(v("c_sample")),
            fmt(v("pipe")),
            fmt(v("zero_null")),
            fmt(ratio),
            if ratio.is_nan() || better { "" } else { " ✗" }
        )?;
    }

    // Module sizes and hot-path calls.
    let size = std::fs::read_to_string(dir.join("size.txt"))?;
    writeln!(md, "\n**Module size** (`size`, bytes)\n")?;
    writeln!(md, "| module | text | data | bss |\n|---|---:|---:|---:|")?;
    let mut text = BTreeMap::new();
    for line in size.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 6 {
            let name = Path::new(f[5])
                .file_name()
                .and_then(|x| x.to_str())
                .unwrap_or(f[5])
                .to_string();
            text.insert(name.clone(), f[0].parse::<f64>().unwrap_or(f64::NAN));
            writeln!(md, "| {name} | {} | {} | {} |", f[0], f[1], f[2])?;
        }
    }
    let tr = text.get("rust_sample.ko").copied().unwrap_or(f64::NAN)
        / text.get("c_sample.ko").copied().unwrap_or(f64::NAN);
    writeln!(md, "\nText Rust/C: {}", fmt(tr))?;
    // The KUnit suites are compiled into the module (CONFIG_KUNIT=y): their
    // functions' share of .text, from the symbol sizes.
    let nm = std::fs::read_to_string(dir.join("rust_sample.nm"))?;
    let (mut all, mut kunit) = (0u64, 0u64);
    for line in nm.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 4 && (f[2] == "t" || f[2] == "T") {
            let size = u64::from_str_radix(f[1], 16).unwrap_or(0);
            all += size;
            if f[3].contains("5tests") || f[3].to_lowercase().contains("kunit") {
                kunit += size;
            }
        }
    }
    writeln!(
        md,
        "\nrust_sample.ko function bytes: {all}, of which KUnit suites {kunit}; without them {}.",
        all - kunit
    )?;
    let rdis = std::fs::read_to_string(dir.join("rust_sample.dis"))?;
    let cdis = std::fs::read_to_string(dir.join("c_sample.dis"))?;
    writeln!(
        md,
        "\n**Calls out of the hot path** (relocations in `objdump -dr`)\n"
    )?;
    for (label, dis, func) in [
        ("rust_sample read (trampoline)", &rdis, "9read_iter"),
        (
            "rust_sample read (SampleFile::read)",
            &rdis,
            "MiscFile4read",
        ),
        ("rust_sample write (trampoline)", &rdis, "10write_iter"),
        (
            "rust_sample write (SampleFile::write)",
            &rdis,
            "MiscFile5write",
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

    // Chart: throughput (MB/s) against block size, one line per target,
    // from the wall-clock run if there is one.
    let mode = if records.iter().any(|r| s(r, "mode") == "wall") {
        "wall"
    } else {
        "icount"
    };
    let pts = |t: &str| -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = records
            .iter()
            .filter(|r| {
                s(r, "mode") == mode
                    && s(r, "workload") == "throughput"
                    && s(r, "unit") == "MB/s"
                    && s(r, "target") == t
            })
            .map(|r| ((n(r, "block_size")).log2(), n(r, "median")))
            .collect();
        v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        v
    };
    let ymax = TARGETS
        .iter()
        .flat_map(|t| pts(t))
        .map(|p| p.1)
        .fold(1.0, f64::max)
        * 1.1;
    let path = dir.join("throughput.svg");
    let root = SVGBackend::new(&path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Throughput, 1 writer + 1 reader ({mode} clock)"),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..16.5, 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_desc("block size (bytes, log2 scale)")
        .y_desc("MB/s")
        .x_label_formatter(&|x| format!("{}", 2f64.powf(*x).round()))
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
    print!("{md}");
    Ok(())
}
