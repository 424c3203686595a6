//! A driver for profilers: runs one engine operation over the memory store many times, with nothing
//! else in the process worth counting.
//!
//! ```sh
//! cargo build --release -p portal-sessions-benches --example hot_paths
//! valgrind --tool=callgrind --callgrind-out-file=target/create.callgrind \
//!     target/release/examples/hot_paths create 20000
//! callgrind_annotate --inclusive=yes target/create.callgrind | head -60
//! ```
//!
//! Operations: `create`, `redeem` (parse the link text, then redeem, as the HTTP layer does),
//! `authenticate`. The store is filled with `count` sessions first; only the named operation runs
//! after that, `count` times, so the profile's inclusive costs divided by `count` are per operation.

use std::process::ExitCode;

use portal_sessions::{ClientInfo, LinkToken};
use portal_sessions_benches::{create, engine};
use portal_sessions_memory::MemoryStore;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(op), count) = (args.next(), args.next()) else {
        eprintln!("usage: hot_paths <create|redeem|authenticate> [count]");
        return ExitCode::from(2);
    };
    let count: usize = match count.as_deref().map(str::parse).unwrap_or(Ok(20_000)) {
        Ok(count) => count,
        Err(error) => {
            eprintln!("count: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let engine = engine(MemoryStore::new());
    runtime.block_on(async {
        match op.as_str() {
            "create" => {
                for _ in 0..count {
                    std::hint::black_box(create(&engine).await);
                }
            }
            "redeem" => {
                let mut links = Vec::with_capacity(count);
                for _ in 0..count {
                    links.push(create(&engine).await.link.expose_secret());
                }
                for text in &links {
                    let redeemed = match text.parse::<LinkToken>() {
                        Ok(link) => engine.redeem(&link, ClientInfo::default()).await.is_ok(),
                        Err(_) => false,
                    };
                    assert!(redeemed, "a fresh link must redeem");
                }
            }
            "authenticate" => {
                let link = create(&engine).await.link;
                let viewer = match engine.redeem(&link, ClientInfo::default()).await {
                    Ok(redemption) => redemption.viewer,
                    Err(error) => panic!("redeem: {error}"),
                };
                for _ in 0..count {
                    assert!(engine.authenticate(&viewer).await.is_ok());
                }
            }
            other => panic!("unknown operation {other:?}"),
        }
    });
    ExitCode::SUCCESS
}
