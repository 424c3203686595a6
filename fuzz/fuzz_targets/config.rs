//! The server's TOML configuration: never a panic, and an accepted configuration is valid whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_sessions_server::config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::parse("fuzz.toml", text) {
        Ok(config) => {
            assert!(!config.orgs.is_empty());
            assert!((1..=86_400).contains(&config.session_ttl.as_secs()));
            for org in &config.orgs {
                assert!(org.secret_keys.iter().all(|key| key.starts_with("mf_sk_")));
            }
        }
        Err(error) => {
            assert_eq!(error.file, "fuzz.toml");
            assert!(!error.reason.is_empty());
        }
    }
});
