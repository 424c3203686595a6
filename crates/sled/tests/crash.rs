//! Crash safety: a child process mints, redeems and revokes links on a sled store, printing each
//! operation once it is acknowledged; the parent kills it with SIGKILL at random moments, reopens
//! the database, and checks that every acknowledged write is still there.
//!
//! The child is this same test binary, re-run with an environment variable naming the database.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portal_sessions::{
    ClientInfo, Clock, CreateRequest, CustomerId, CustomerSnapshot, Engine, OrgId, SessionId,
    SessionStore, StaticDirectory, Status, SystemClock,
};
use portal_sessions_sled::SledStore;

const CHILD_DB: &str = "PORTAL_SESSIONS_SLED_CRASH_CHILD_DB";
const ROUNDS: usize = 24;

fn org() -> OrgId {
    OrgId::from_bytes([0x11; 16])
}

fn customer() -> CustomerSnapshot {
    CustomerSnapshot {
        id: CustomerId::from_bytes([0x22; 16]),
        external_id: "crash-001".into(),
        name: "Crash Test Dummy".into(),
        email: None,
        locale: None,
    }
}

/// The child's workload: eight writers, forever (until killed). Not a test when run normally.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = match SledStore::open(&path) {
        Ok(store) => store,
        Err(error) => {
            println!("open-failed {error}");
            std::process::exit(3);
        }
    };
    // The parent times half of its kills from here: opening grows with the records of earlier
    // rounds, and a kill that always lands during the open would test nothing but the open.
    ack("ready -");
    let mut directory = StaticDirectory::default();
    if directory.insert(org(), customer()).is_err() {
        std::process::exit(4);
    }
    let engine = Arc::new(Engine::new(store, directory));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => std::process::exit(5),
    };
    runtime.block_on(async move {
        let mut writers = Vec::new();
        for writer in 0..8u64 {
            let engine = engine.clone();
            writers.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let created = match engine
                        .create(org(), CreateRequest::for_external_id("crash-001"))
                        .await
                    {
                        Ok(created) => created,
                        Err(error) => {
                            println!("error create {error}");
                            std::process::exit(6);
                        }
                    };
                    ack(&format!("created {}", created.record.id));
                    if (n + writer) % 2 == 0 {
                        match engine.redeem(&created.link, ClientInfo::default()).await {
                            Ok(_) => ack(&format!("redeemed {}", created.record.id)),
                            Err(error) => {
                                println!("error redeem {error}");
                                std::process::exit(7);
                            }
                        }
                    }
                    if (n + writer) % 3 == 0 {
                        match engine.revoke(org(), &created.record.id).await {
                            Ok(_) => ack(&format!("revoked {}", created.record.id)),
                            Err(error) => {
                                println!("error revoke {error}");
                                std::process::exit(8);
                            }
                        }
                    }
                }
            }));
        }
        for writer in writers {
            let _ = writer.await;
        }
    });
}

/// Prints one acknowledged operation as a whole line.
fn ack(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ack {line}");
    let _ = out.flush();
}

/// A small xorshift generator seeded from the OS, for the kill delays.
fn delays() -> impl FnMut() -> Duration {
    let mut state = u64::from_le_bytes(
        SessionId::generate()
            .map(|id| id.as_bytes()[..8].try_into().unwrap_or([7; 8]))
            .unwrap_or([7; 8]),
    ) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // 30 ms (often before the database is even open) to 800 ms.
        Duration::from_millis(30 + state % 770)
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    };
    let db = dir.path().join("db");
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => panic!("current exe: {error}"),
    };
    let mut next_delay = delays();
    let mut created: HashSet<SessionId> = HashSet::new();
    let mut redeemed: HashSet<SessionId> = HashSet::new();
    let mut revoked: HashSet<SessionId> = HashSet::new();
    let mut per_round = Vec::new();
    for round in 0..ROUNDS {
        let mut child = match Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => panic!("spawn child: {error}"),
        };
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let lines = lines.clone();
            let stdout = child.stdout.take();
            std::thread::spawn(move || {
                let Some(stdout) = stdout else { return };
                // `lines()` yields only complete lines; a line cut by the kill has no newline and
                // is dropped with the rest of the pipe.
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                    if line.ends_with('\n') {
                        if let Ok(mut lines) = lines.lock() {
                            lines.push(line.trim_end().to_owned());
                        }
                    }
                    line.clear();
                }
            })
        };
        if round % 2 == 0 {
            // Half the kills are timed from the store's being open, half from the spawn (often
            // landing in the middle of opening).
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while !lines
                .lock()
                .is_ok_and(|lines| lines.iter().any(|line| line.contains("ack ready")))
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "round {round}: the child never opened the store"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        std::thread::sleep(next_delay());
        // `kill` sends SIGKILL on Unix: no destructor, no flush, no goodbye.
        if let Err(error) = child.kill() {
            panic!("round {round}: kill: {error}");
        }
        let _ = child.wait();
        let _ = reader.join();
        let lines = lines.lock().map(|lines| lines.clone()).unwrap_or_default();
        let mut acked = 0;
        for line in &lines {
            // libtest writes "test crash_child ... " with no newline before the child's first line.
            let line = line
                .find("ack ")
                .map_or(line.as_str(), |start| &line[start..]);
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("ack"), Some("ready"), _) => {}
                (Some("ack"), Some(op), Some(id)) => {
                    let id: SessionId = match id.parse() {
                        Ok(id) => id,
                        Err(error) => panic!("round {round}: bad id in {line:?}: {error}"),
                    };
                    acked += 1;
                    match op {
                        "created" => created.insert(id),
                        "redeemed" => redeemed.insert(id),
                        "revoked" => revoked.insert(id),
                        _ => panic!("round {round}: unknown ack {line:?}"),
                    };
                }
                _ if line.contains("open-failed") || line.contains("error ") => {
                    panic!("round {round}: the child failed: {line}")
                }
                _ => {}
            }
        }
        per_round.push(acked);

        // The database always reopens, and every acknowledged write holds.
        let store = match SledStore::open(&db) {
            Ok(store) => store,
            Err(error) => panic!("round {round}: the database did not reopen: {error}"),
        };
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => panic!("{error}"),
        };
        let now = SystemClock.now();
        let records: HashMap<SessionId, portal_sessions::SessionRecord> = runtime.block_on(async {
            let mut records = HashMap::new();
            for id in &created {
                match store.get(id).await {
                    Ok(Some(record)) => {
                        records.insert(*id, record);
                    }
                    Ok(None) => panic!("round {round}: acknowledged create of {id} was lost"),
                    Err(error) => panic!("round {round}: reading {id}: {error}"),
                }
            }
            records
        });
        for id in &redeemed {
            let record = &records[id];
            assert!(
                record.used_at.is_some(),
                "round {round}: acknowledged redeem of {id} was lost"
            );
            assert_ne!(
                record.status(now),
                Status::Issued,
                "round {round}: a used link is openable again"
            );
        }
        for id in &revoked {
            assert!(
                records[id].revoked_at.is_some(),
                "round {round}: acknowledged revoke of {id} was lost"
            );
        }
        drop(store);
    }
    let rounds_with_writes = per_round.iter().filter(|&&n| n > 0).count();
    println!(
        "{ROUNDS} kills; acknowledged operations per round: {per_round:?}; {} creates, {} redeems, {} revokes checked",
        created.len(),
        redeemed.len(),
        revoked.len()
    );
    assert!(
        rounds_with_writes >= ROUNDS / 2,
        "too few rounds got as far as writing ({per_round:?}): the test would prove nothing"
    );
}
