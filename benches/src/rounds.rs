//! Ratios measured in alternating rounds: the figure a goal is judged by, on a shared machine.
//!
//! Criterion measures one function after another, several seconds each. On the shared two-core
//! machines these benches run on, the speed of the whole machine drifts by a third over such
//! spans (three runs of the `layers` bench gave its bare handler 15.7, 13.8 and 11.9 µs), so two
//! figures taken a minute apart can differ more than the two things measured do. [`alternate`]
//! runs every variant once per round, one after the other, many rounds over, and reports each
//! variant's ratio against the baseline *within* each round: a drift slower than a round slows the
//! baseline and the variant alike and leaves their ratio alone. The median of those ratios is the
//! figure; the spread of the middle half shows how far to trust it.

use std::time::Duration;

/// A variant: its name and a function that runs one round of it and returns the round's wall
/// time for `n` requests.
pub type Variant<'a> = (&'a str, Box<dyn FnMut(u64) -> Duration + 'a>);

/// How many rounds and requests a round [`alternate`] runs: `PORTAL_SESSIONS_BENCH_ROUNDS`
/// (default 15) and `PORTAL_SESSIONS_BENCH_ROUND_REQUESTS` (default 20 000).
///
/// # Panics
///
/// When either is set to something other than a positive integer.
pub fn from_env() -> (usize, u64) {
    fn read(name: &str, default: u64) -> u64 {
        match std::env::var(name) {
            Err(_) => default,
            Ok(text) => match text.parse::<u64>() {
                Ok(value) if value > 0 => value,
                _ => panic!("{name}: {text:?} is not a positive integer"),
            },
        }
    }
    let rounds = read("PORTAL_SESSIONS_BENCH_ROUNDS", 15);
    (
        usize::try_from(rounds).unwrap_or(usize::MAX),
        read("PORTAL_SESSIONS_BENCH_ROUND_REQUESTS", 20_000),
    )
}

/// Runs `rounds` rounds of `requests` requests of every variant, in order, after one untimed
/// warm-up round; prints, for each, the median time a request and the median over rounds of the
/// first variant's time divided by its own (1.0 for the first; above 1 is faster than it), with
/// the first and third quartiles of that ratio. Returns the median ratios, in order.
pub fn alternate(
    title: &str,
    rounds: usize,
    requests: u64,
    variants: &mut [Variant<'_>],
) -> Vec<f64> {
    let Some(baseline) = variants.first().map(|&(name, _)| name) else {
        return Vec::new();
    };
    for (_, run) in variants.iter_mut() {
        run(requests.min(2_000));
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); variants.len()];
    for _ in 0..rounds {
        for (index, (_, run)) in variants.iter_mut().enumerate() {
            let per_request = run(requests).as_secs_f64() / requests as f64;
            times[index].push(per_request);
        }
    }
    println!("\n{title}: {rounds} alternating rounds of {requests} requests");
    println!("| variant | median µs a request | ratio to {baseline} (q1, median, q3) |");
    println!("|---|---|---|");
    let mut medians = Vec::with_capacity(variants.len());
    for (index, (name, _)) in variants.iter().enumerate() {
        let mut ratios: Vec<f64> = times[0]
            .iter()
            .zip(&times[index])
            .map(|(base, own)| base / own)
            .collect();
        let [q1, median, q3] = quartiles(&mut ratios);
        let [_, time, _] = quartiles(&mut times[index].clone());
        println!(
            "| {name} | {:.2} | {q1:.2}, **{median:.2}**, {q3:.2} |",
            time * 1e6
        );
        medians.push(median);
    }
    medians
}

/// The first quartile, the median and the third quartile of `values` (sorted in place), each by
/// the nearest-rank rule (the value at rank ⌈p·n⌉, counting from one): the sample count is small,
/// and a rank is a real measurement. Of 15 values, the 4th, 8th and 12th.
fn quartiles(values: &mut [f64]) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let at = |fraction: f64| {
        let rank = (fraction * values.len() as f64).ceil() as usize;
        values
            .get(rank.saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    [at(0.25), at(0.5), at(0.75)]
}

/// Whether this run of the bench `group` should print its rounds: under `cargo bench` (criterion
/// is given `--bench`), not when it only lists or tests its benchmarks (`--list`, `--test`,
/// `--profile-time`), and, when a filter is given (`cargo bench --bench layers -- server`), only
/// if the filter is part of `<group>/rounds`: a filter that names one of criterion's functions
/// runs that function alone.
pub fn wanted(group: &str) -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    wanted_by(group, &args)
}

/// [`wanted`], for the arguments `args`.
fn wanted_by(group: &str, args: &[String]) -> bool {
    /// Criterion's options that take the next argument as their value.
    const WITH_VALUE: &[&str] = &[
        "--baseline",
        "--baseline-lenient",
        "--color",
        "--confidence-level",
        "--format",
        "--load-baseline",
        "--measurement-time",
        "--noise-threshold",
        "--nresamples",
        "--output-format",
        "--plotting-backend",
        "--sample-size",
        "--save-baseline",
        "--significance-level",
        "--warm-up-time",
    ];
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    if !has("--bench") || has("--list") || has("--test") || has("--profile-time") {
        return false;
    }
    let name = format!("{group}/rounds");
    let mut after_option = false;
    for arg in args {
        if arg.starts_with('-') {
            after_option = WITH_VALUE.contains(&arg.as_str());
            continue;
        }
        if !after_option && !name.contains(arg.as_str()) {
            return false;
        }
        after_option = false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_are_nearest_ranks() {
        let mut values = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(quartiles(&mut values), [2.0, 3.0, 4.0]);
        let mut fifteen: Vec<f64> = (1..=15).rev().map(f64::from).collect();
        assert_eq!(quartiles(&mut fifteen), [4.0, 8.0, 12.0]);
        let mut four = [4.0, 3.0, 2.0, 1.0];
        assert_eq!(quartiles(&mut four), [1.0, 2.0, 3.0]);
    }

    #[test]
    fn rounds_run_under_cargo_bench_unless_filtered_out() {
        let run = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
            wanted_by("layers", &args)
        };
        assert!(run(&["--bench"]));
        assert!(run(&["--bench", "rounds"]));
        assert!(run(&["--bench", "layers/rounds"]));
        assert!(run(&["--bench", "--save-baseline", "before"]));
        assert!(!run(&[]), "cargo test --benches");
        assert!(!run(&["--bench", "server"]), "one criterion function");
        assert!(!run(&["--bench", "--list"]));
        assert!(!run(&["--bench", "--profile-time", "5"]));
    }

    #[test]
    fn no_variants_no_ratios() {
        assert!(alternate("none", 3, 10, &mut []).is_empty());
    }

    #[test]
    fn a_variant_twice_as_slow_has_ratio_one_half() {
        let mut variants: Vec<Variant<'_>> = vec![
            ("fast", Box::new(|n| Duration::from_nanos(n * 10))),
            ("slow", Box::new(|n| Duration::from_nanos(n * 20))),
        ];
        let ratios = alternate("test", 3, 100, &mut variants);
        assert_eq!(ratios, [1.0, 0.5]);
    }
}
