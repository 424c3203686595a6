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
    println!(
        "| variant | median µs a request | ratio to {} (q1, median, q3) |",
        variants[0].0
    );
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

/// The first quartile, the median and the third quartile of `values` (sorted in place).
fn quartiles(values: &mut [f64]) -> [f64; 3] {
    values.sort_by(f64::total_cmp);
    let at = |fraction: f64| {
        let last = values.len().saturating_sub(1);
        // Nearest rank: the sample count is small, and a rank is a real measurement.
        let rank = (fraction * last as f64).round() as usize;
        values.get(rank).copied().unwrap_or(f64::NAN)
    };
    [at(0.25), at(0.5), at(0.75)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_are_nearest_ranks() {
        let mut values = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(quartiles(&mut values), [2.0, 3.0, 4.0]);
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
