//! Opening something that is not this store's database is a clear error, never a panic, and never a
//! silent takeover.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use portal_sessions::{SessionStore, StoreError};
use portal_sessions_conformance::fixture::{issued_record, new_customer, new_org, start_time};
use portal_sessions_sled::SledStore;

const HOLDER_DB: &str = "PORTAL_SESSIONS_SLED_HOLDER_DB";

/// `sled::open`, waiting up to half a second for the lock a just-dropped store's background threads
/// may still hold.
fn raw_open(path: &std::path::Path) -> sled::Db {
    let mut waited = 0;
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(error) if waited < 50 => {
                let _ = error;
                std::thread::sleep(std::time::Duration::from_millis(10));
                waited += 1;
            }
            Err(error) => panic!("{error}"),
        }
    }
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("temporary directory: {error}"),
    }
}

fn config_error(result: Result<SledStore, StoreError>) -> String {
    match result {
        Err(error @ StoreError::Config { .. }) => error.to_string(),
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(_) => panic!("expected a configuration error, the store opened"),
    }
}

#[test]
fn a_file_is_not_a_database() {
    let dir = tempdir();
    let file = dir.path().join("file");
    if let Err(error) = std::fs::write(&file, b"hello") {
        panic!("{error}");
    }
    let message = config_error(SledStore::open(&file));
    assert!(message.contains("not a directory"), "{message}");
}

#[test]
fn a_directory_of_other_files_is_not_a_database() {
    let dir = tempdir();
    if let Err(error) = std::fs::write(dir.path().join("notes.txt"), b"mine") {
        panic!("{error}");
    }
    let message = config_error(SledStore::open(dir.path()));
    assert!(message.contains("not a sled database"), "{message}");
    assert_eq!(
        std::fs::read(dir.path().join("notes.txt")).ok(),
        Some(b"mine".to_vec())
    );
}

#[test]
fn another_applications_sled_database_is_refused() {
    let dir = tempdir();
    let path = dir.path().join("db");
    {
        let db = raw_open(&path);
        let _ = db.insert(b"their-key", b"their-value");
        let _ = db.flush();
    }
    let message = config_error(SledStore::open(&path));
    assert!(message.contains("another application"), "{message}");
}

#[test]
fn an_unknown_format_is_refused() {
    let dir = tempdir();
    let path = dir.path().join("db");
    drop(SledStore::open(&path));
    {
        let db = raw_open(&path);
        let _ = db.insert(b"portal-sessions/format", &[99u8]);
        let _ = db.flush();
    }
    let message = config_error(SledStore::open(&path));
    assert!(message.contains("unknown version"), "{message}");
}

#[test]
fn damaged_database_files_are_an_error_not_a_panic() {
    let dir = tempdir();
    let path = dir.path().join("db");
    drop(SledStore::open(&path));
    let conf = path.join("conf");
    if let Err(error) = std::fs::write(&conf, b"this is not sled's configuration") {
        panic!("{error}");
    }
    match SledStore::open(&path) {
        Err(StoreError::Config { .. } | StoreError::Corrupt { .. }) => {}
        other => panic!("expected a clear error for a damaged database, got {other:?}"),
    }
}

#[tokio::test]
async fn a_corrupt_record_is_a_corrupt_error() {
    let dir = tempdir();
    let path = dir.path().join("db");
    let org = new_org();
    let (record, _) = issued_record(org, &new_customer("Corrupt"), start_time());
    {
        let store = match SledStore::open(&path) {
            Ok(store) => store,
            Err(error) => panic!("{error}"),
        };
        if let Err(error) = store.insert(&record).await {
            panic!("{error}");
        }
    }
    {
        let db = raw_open(&path);
        let records = match db.open_tree("records") {
            Ok(tree) => tree,
            Err(error) => panic!("{error}"),
        };
        let _ = records.insert(record.id.as_bytes(), &[1u8, 2, 3]);
        let _ = db.flush();
    }
    let store = match SledStore::open(&path) {
        Ok(store) => store,
        Err(error) => panic!("{error}"),
    };
    assert!(matches!(
        store.get(&record.id).await,
        Err(StoreError::Corrupt { .. })
    ));
    let query = portal_sessions::ListQuery {
        max_lifetime: portal_sessions::MAX_TTL,
        org_id: org,
        customer_id: None,
        limit: 10,
        filter: portal_sessions::ListFilter::All,
        after: None,
    };
    // An undecodable record cannot be indexed when the store opens: it is left out of lists (and
    // logged), and reading it is the corrupt-data error above, never a panic.
    match store.list(&query).await {
        Ok(listed) => assert!(listed.iter().all(|listed| listed.id != record.id)),
        Err(error) => panic!("a list fails on a record it never indexed: {error}"),
    }
}

/// The holder: opens the database and keeps it open until killed. Not a test when run normally.
#[test]
fn holder_child() {
    let Ok(path) = std::env::var(HOLDER_DB) else {
        return;
    };
    let _store = SledStore::open(&path);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\nopened");
    let _ = out.flush();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_database_held_by_another_process_is_refused() {
    let dir = tempdir();
    let path = dir.path().join("db");
    drop(SledStore::open(&path));
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => panic!("{error}"),
    };
    let mut holder = match Command::new(exe)
        .args(["--exact", "holder_child", "--nocapture", "--test-threads=1"])
        .env(HOLDER_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => panic!("{error}"),
    };
    let mut output = String::new();
    if let Some(stdout) = holder.stdout.as_mut() {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stdout);
        while !output.contains("opened") {
            let mut line = String::new();
            if !matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                break;
            }
            output.push_str(&line);
        }
    }
    let result = SledStore::open(&path);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        output.contains("opened"),
        "the holder never opened the database"
    );
    let message = config_error(result);
    assert!(message.contains("in use by another process"), "{message}");
}
