// SPDX-License-Identifier: GPL-2.0

//! The wall-clock comparison: (R−C)/C with a 95% confidence interval.
//!
//! Rust and C alternate within each round (rs-bench), so round i gives a
//! pair (R_i, C_i) that shared the host's conditions. The relative
//! difference of each pair, d_i = (R_i − C_i) / C_i, is one observation; the
//! interval is Student's t over them: mean ± t(0.975, n−1) · s / √n.

/// A mean relative difference and its 95% interval, as fractions.
#[derive(Clone, Copy, Default, Debug)]
pub struct Interval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub n: usize,
}

/// Student's t quantile at 0.975 for `df` degrees of freedom.
fn t975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        // The normal quantile plus the first term of its expansion in 1/df.
        _ => 1.960 + 2.4 / df as f64,
    }
}

/// The paired relative difference of `rust` against `c`, or `None` with
/// fewer than two pairs.
pub fn relative_difference(rust: &[f64], c: &[f64]) -> Option<Interval> {
    let d: Vec<f64> = rust
        .iter()
        .zip(c)
        .filter(|(_, c)| **c != 0.0)
        .map(|(r, c)| (r - c) / c)
        .collect();
    let n = d.len();
    if n < 2 {
        return None;
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    Some(Interval {
        mean,
        low: mean - half,
        high: mean + half,
        n,
    })
}

/// Whether the interval meets the target: it contains 0, or it lies on
/// Rust's side (above 0 for rates, below 0 for times).
pub fn verdict(ci: &Interval, higher_is_better: bool) -> &'static str {
    if ci.low <= 0.0 && ci.high >= 0.0 {
        "tie"
    } else if (ci.low > 0.0) == higher_is_better {
        "Rust better"
    } else {
        "C better ✗"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_series_tie() {
        let v = [1.0, 2.0, 3.0];
        let ci = relative_difference(&v, &v).unwrap();
        assert_eq!((ci.mean, ci.low, ci.high), (0.0, 0.0, 0.0));
        assert_eq!(verdict(&ci, true), "tie");
    }

    #[test]
    fn a_clear_difference_is_not_a_tie() {
        let r = [110.0, 111.0, 109.0, 110.0];
        let c = [100.0, 100.0, 100.0, 100.0];
        let ci = relative_difference(&r, &c).unwrap();
        assert!((ci.mean - 0.10).abs() < 1e-9);
        assert!(ci.low > 0.08 && ci.high < 0.12);
        assert_eq!(verdict(&ci, true), "Rust better");
        assert_eq!(verdict(&ci, false), "C better ✗");
    }

    #[test]
    fn the_t_quantile_shrinks_to_the_normal_one() {
        assert!((t975(29) - 2.045).abs() < 1e-9);
        assert!(t975(1000) < 1.97 && t975(1000) > 1.96);
    }

    #[test]
    fn one_pair_has_no_interval() {
        assert!(relative_difference(&[1.0], &[1.0]).is_none());
    }
}
