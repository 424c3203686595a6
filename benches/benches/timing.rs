//! A dudect-style timing test of token verification (`cargo bench -p portal-sessions-benches --bench
//! timing`).
//!
//! Two classes of input are measured in random interleaved order, and Welch's t-test asks whether
//! their timing distributions differ. |t| < 5 over at least 10^6 measurements per class means no
//! leak is detectable (dudect's threshold for "no evidence of a leak"; a real leak in a naive
//! byte-by-byte comparison shows |t| in the hundreds quickly). Each measurement times a batch of
//! calls, to rise above the clock's resolution; t is reported on all measurements and on the ones
//! below the 50th and 90th percentiles (dudect's cropping, which removes interrupts and preemption).
//!
//! * link: `SessionRecord::check_link` with a verifier that differs from the stored one in its
//!   first byte, against one that differs in its last byte;
//! * viewer: the comparison of a presented viewer hash with the stored one (`SecretHash::matches`),
//!   valid against invalid.
//!
//! A control proves the harness can see a leak: an early-exit byte comparison measured the same way
//! must show |t| ≥ 5, or the run fails (exit 2) rather than report a silence it cannot vouch for.
//! It exits 1 when any |t| of the real checks reaches 5.

// A bench binary: no public API to document.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use portal_sessions::{
    CustomerId, CustomerSnapshot, Features, LinkToken, MintedBy, OrgId, SecretHash, SessionRecord,
    Timestamp,
};

const MEASUREMENTS: usize = 1_000_000;
const BATCH: usize = 8;

/// A small xorshift generator for the class order (it must not be predictable by the CPU's branch
/// predictor in a way that correlates with the class; it need not be cryptographic).
struct Rng(u64);

impl Rng {
    fn bit(&mut self) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 & 1 == 1
    }
}

#[derive(Default)]
struct Welch {
    samples: [Vec<f64>; 2],
}

impl Welch {
    fn t(a: &[f64], b: &[f64]) -> f64 {
        let stats = |xs: &[f64]| {
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (mean, var, n)
        };
        let ((ma, va, na), (mb, vb, nb)) = (stats(a), stats(b));
        let spread = (va / na + vb / nb).sqrt();
        if spread > 0.0 {
            (ma - mb) / spread
        } else if ma == mb {
            // Both classes took exactly the same time on every measurement kept.
            0.0
        } else {
            f64::INFINITY
        }
    }

    /// t on everything, and on the samples below the combined 50th and 90th percentiles.
    fn report(&self, name: &str) -> bool {
        let mut all: Vec<f64> = self.samples.iter().flatten().copied().collect();
        all.sort_by(f64::total_cmp);
        let mut ok = true;
        println!(
            "{name}: {} + {} measurements of {BATCH} calls",
            self.samples[0].len(),
            self.samples[1].len()
        );
        for (label, cut) in [
            ("all", f64::INFINITY),
            ("p90", all[all.len() * 9 / 10]),
            ("p50", all[all.len() / 2]),
        ] {
            let crop = |xs: &Vec<f64>| xs.iter().copied().filter(|x| *x <= cut).collect::<Vec<_>>();
            let (a, b) = (crop(&self.samples[0]), crop(&self.samples[1]));
            let t = Welch::t(&a, &b);
            let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64 / BATCH as f64;
            println!(
                "  {label:>3}: t = {t:+.2}  (class A {:.1} ns/call over {}, class B {:.1} ns/call over {})",
                mean(&a),
                a.len(),
                mean(&b),
                b.len()
            );
            ok &= t.abs() < 5.0;
        }
        ok
    }
}

/// Measures `run` on `inputs[class]`, copied before each measurement into one fixed buffer, so both
/// classes are read from the same address: only their contents differ, which is what a timing leak
/// would depend on (different addresses alone can differ in cache-line placement).
fn measure<T: Copy>(rng: &mut Rng, inputs: [T; 2], mut run: impl FnMut(&T)) -> Welch {
    let mut welch = Welch::default();
    let mut presented;
    // Warm up caches and the branch predictor.
    for _ in 0..10_000 {
        presented = inputs[usize::from(rng.bit())];
        run(black_box(&presented));
    }
    for _ in 0..2 * MEASUREMENTS {
        let class = usize::from(rng.bit());
        presented = inputs[class];
        let input = black_box(&presented);
        let started = Instant::now();
        for _ in 0..BATCH {
            run(input);
        }
        welch.samples[class].push(started.elapsed().as_nanos() as f64);
    }
    welch
}

/// A deliberately leaky comparison: returns at the first differing byte.
fn leaky_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in 0..32 {
        if black_box(a[i]) != black_box(b[i]) {
            return false;
        }
    }
    true
}

fn main() {
    // cargo bench passes --bench; this harness takes no options.
    let link = LinkToken::generate().unwrap_or_else(|e| panic!("{e}"));
    let now = Timestamp::from_millis(1_778_689_800_000).unwrap_or(Timestamp::UNIX_EPOCH);
    let record = SessionRecord {
        id: link.session_id(),
        org_id: OrgId::from_bytes([1; 16]),
        customer: Arc::new(CustomerSnapshot {
            id: CustomerId::from_bytes([2; 16]),
            external_id: "timing".into(),
            name: "Timing".into(),
            email: None,
            locale: None,
        }),
        features: Features::ALL,
        return_url: None,
        locale: None,
        verifier_hash: link.secret_hash(),
        viewer_hash: None,
        created_at: now,
        expires_at: Timestamp::from_millis(now.as_millis() + 3_600_000).unwrap_or(now),
        used_at: None,
        revoked_at: None,
        logged_out_at: None,
        redeemed_by: None,
        recovery: true,
        recovery_ended_at: None,
        minted_by: MintedBy::Api,
        chain_started_at: now,
        deep_link: None,
        version: 0,
    };
    // Presented hashes that differ from the stored one in the first byte, or in the last.
    let stored = record.verifier_hash.to_bytes();
    let differing = |index: usize| {
        let mut bytes = stored;
        bytes[index] ^= 0x01;
        SecretHash::from_bytes(bytes)
    };
    let (first, last) = (differing(0), differing(31));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let link_test = measure(&mut rng, [first, last], |presented| {
        black_box(
            black_box(&record)
                .check_link(black_box(presented), now)
                .is_err(),
        );
    });
    let viewer_stored = SecretHash::from_bytes([0x5a; 32]);
    let (valid, invalid) = (viewer_stored, differing(0));
    let viewer_test = measure(&mut rng, [valid, invalid], |presented| {
        black_box(black_box(&viewer_stored).matches(black_box(presented)));
    });

    // The control: a comparison that leaks (it stops at the first differing byte), measured the
    // same way. If the harness cannot see this, its silence about the others proves nothing.
    let stored_bytes = stored;
    let control = measure(&mut rng, [first.to_bytes(), last.to_bytes()], |presented| {
        black_box(leaky_eq(black_box(&stored_bytes), black_box(presented)));
    });

    let link_ok =
        link_test.report("link verifier differing in the first byte (A) vs the last byte (B)");
    let viewer_ok = viewer_test.report("viewer hash valid (A) vs invalid (B)");
    let control_quiet =
        control.report("control: an early-exit byte comparison, first (A) vs last (B) byte");
    if control_quiet {
        eprintln!("the control leak was not detected: this harness cannot be trusted here");
        std::process::exit(2);
    }
    if !(link_ok && viewer_ok) {
        eprintln!("|t| reached 5: a timing difference is detectable");
        std::process::exit(1);
    }
    println!("no timing difference detectable (|t| < 5), and the control leak was detected");
}
