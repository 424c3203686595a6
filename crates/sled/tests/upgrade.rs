//! Upgrading a database written by the previous layout (marker 1: the records and five index trees,
//! changed together in sled transactions) to today's (marker 2: the records alone). The fixture is
//! built at test time, byte for byte as the previous code wrote it, from the same record encoding.
//! Then: the upgrade keeps every record and answers lists as before; and a SIGKILL at any of
//! several moments spread over the conversion leaves a database that opens and holds every record.
//! `PORTAL_SESSIONS_TEST_UPGRADE_KILLS` sets how many kills, each on a fresh copy (default 4; 12
//! by hand).
//!
//! The child that is killed is this same test binary, re-run with an environment variable naming
//! the database.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use portal_sessions::{
    Change, ListFilter, ListQuery, MAX_TTL, SessionId, SessionRecord, SessionStore,
};
use portal_sessions_conformance::fixture::{issued_record, new_customer, new_org, start_time};
use portal_sessions_sled::{SledStore, codec};

const CHILD_DB: &str = "PORTAL_SESSIONS_SLED_UPGRADE_CHILD_DB";

/// The previous layout's index keys (its `keys` module): big-endian, newest first.
mod layout1 {
    use portal_sessions::{SessionId, SessionRecord, Timestamp};

    pub(crate) fn ascending_time(time: Timestamp) -> [u8; 8] {
        (time.as_millis().cast_unsigned() ^ (1 << 63)).to_be_bytes()
    }

    fn descending_time(time: Timestamp) -> [u8; 8] {
        (!(time.as_millis().cast_unsigned() ^ (1 << 63))).to_be_bytes()
    }

    fn descending_id(id: &SessionId) -> [u8; 16] {
        id.as_bytes().map(|b| !b)
    }

    pub(crate) fn org_key(record: &SessionRecord) -> Vec<u8> {
        let mut key = record.org_id.as_bytes().to_vec();
        key.extend_from_slice(&descending_time(record.created_at));
        key.extend_from_slice(&descending_id(&record.id));
        key
    }

    pub(crate) fn customer_key(record: &SessionRecord) -> Vec<u8> {
        let mut key = record.org_id.as_bytes().to_vec();
        key.extend_from_slice(record.customer.id.as_bytes());
        key.extend_from_slice(&descending_time(record.created_at));
        key.extend_from_slice(&descending_id(&record.id));
        key
    }

    pub(crate) fn expiry_key(record: &SessionRecord) -> Vec<u8> {
        let mut key = ascending_time(record.expires_at).to_vec();
        key.extend_from_slice(record.id.as_bytes());
        key
    }
}

/// `sled::open`, waiting up to half a second for the lock a just-dropped store's background threads
/// may still hold.
fn raw_open(path: &Path) -> sled::Db {
    for _ in 0..50 {
        if let Ok(db) = sled::open(path) {
            return db;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    sled::open(path).unwrap()
}

/// Writes `records` as the previous layout did: marker 1, the `records` tree, and every index entry.
fn write_layout1(path: &Path, records: &[SessionRecord]) {
    let db = sled::open(path).unwrap();
    db.insert(b"portal-sessions/format", &[1u8]).unwrap();
    let tree = |name: &str| db.open_tree(name).unwrap();
    let (all, by_org, by_customer, open_org, open_customer, by_expiry) = (
        tree("records"),
        tree("by_org"),
        tree("by_customer"),
        tree("open_by_org"),
        tree("open_by_customer"),
        tree("by_expiry"),
    );
    for record in records {
        all.insert(record.id.as_bytes(), codec::encode(record).unwrap())
            .unwrap();
        by_org.insert(layout1::org_key(record), &[]).unwrap();
        by_customer
            .insert(layout1::customer_key(record), &[])
            .unwrap();
        if record.used_at.is_none() && record.revoked_at.is_none() {
            let expires = layout1::ascending_time(record.expires_at);
            open_org.insert(layout1::org_key(record), &expires).unwrap();
            open_customer
                .insert(layout1::customer_key(record), &expires)
                .unwrap();
        }
        by_expiry.insert(layout1::expiry_key(record), &[]).unwrap();
    }
    db.flush().unwrap();
}

/// `n` sessions of one organisation, a second apart, every third one revoked.
fn fixture(n: usize) -> Vec<SessionRecord> {
    let org = new_org();
    let customer = new_customer("Upgraded");
    (0..n)
        .map(|i| {
            let at = start_time()
                .checked_add(Duration::from_secs(u64::try_from(i).unwrap()))
                .unwrap();
            let (record, _) = issued_record(org, &customer, at);
            if i % 3 == 0 {
                record.apply(Change::Revoke, at).unwrap()
            } else {
                record
            }
        })
        .collect()
}

fn all_of(records: &[SessionRecord]) -> ListQuery {
    ListQuery {
        org_id: records[0].org_id,
        customer_id: None,
        limit: 100,
        filter: ListFilter::All,
        after: None,
        max_lifetime: MAX_TTL,
    }
}

#[tokio::test]
async fn a_previous_layout_database_is_converted_and_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let records = fixture(300);
    write_layout1(&path, &records);

    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.len(), records.len());
    for record in &records {
        assert_eq!(store.get(&record.id).await.unwrap().as_ref(), Some(record));
    }
    let newest: Vec<SessionId> = records.iter().rev().take(100).map(|r| r.id).collect();
    let listed: Vec<SessionId> = store
        .list(&all_of(&records))
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, newest, "lists answer as before the upgrade");
    let now = start_time().checked_add(Duration::from_secs(400)).unwrap();
    let open = store
        .list(&ListQuery {
            filter: ListFilter::OpenAt(now),
            after: None,
            ..all_of(&records)
        })
        .await
        .unwrap();
    assert!(open.iter().all(|r| r.revoked_at.is_none()) && !open.is_empty());
    drop(store);

    // Converted: only the records tree is left, and the marker says so.
    let db = raw_open(&path);
    let names: HashSet<Vec<u8>> = db.tree_names().iter().map(|n| n.to_vec()).collect();
    for old in [
        "by_org",
        "by_customer",
        "open_by_org",
        "open_by_customer",
        "by_expiry",
    ] {
        assert!(!names.contains(old.as_bytes()), "{old} was not dropped");
    }
    assert_eq!(
        db.get(b"portal-sessions/format").unwrap().as_deref(),
        Some(&[2u8][..])
    );
}

/// The child: opens (and so converts) the database given, then waits to be killed.
#[test]
fn upgrade_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    match SledStore::open(&path) {
        Ok(_store) => {
            println!("opened");
            std::thread::sleep(Duration::from_secs(30));
        }
        Err(error) => {
            println!("open-failed {error}");
            std::process::exit(3);
        }
    }
}

/// Starts the child on the layout-1 database at `path`.
fn spawn_child(path: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "upgrade_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// How far the conversion got: the index trees of layout 1 still there, and the marker.
fn progress(path: &Path) -> (usize, u8) {
    let db = raw_open(path);
    let names: Vec<Vec<u8>> = db.tree_names().iter().map(|n| n.to_vec()).collect();
    let left = [
        "by_org",
        "by_customer",
        "open_by_org",
        "open_by_customer",
        "by_expiry",
    ]
    .iter()
    .filter(|old| names.iter().any(|name| name == old.as_bytes()))
    .count();
    let marker = db
        .get(b"portal-sessions/format")
        .unwrap()
        .map_or(0, |value| value[0]);
    (left, marker)
}

/// How many times [`a_kill_during_the_conversion_loses_nothing`] kills a conversion.
fn kills() -> u32 {
    std::env::var("PORTAL_SESSIONS_TEST_UPGRADE_KILLS")
        .ok()
        .map(|kills| kills.parse().unwrap())
        .unwrap_or(4)
}

/// Copies the directory `from` (a closed sled database) to `to`, file by file.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_kill_during_the_conversion_loses_nothing() {
    let records = fixture(20_000);
    let ids: Vec<SessionId> = records.iter().map(|r| r.id).collect();
    // The layout-1 database is written once and copied for each run: writing it (120 000 inserts)
    // took most of this test's time when every round wrote its own.
    let template = tempfile::tempdir().unwrap();
    write_layout1(&template.path().join("db"), &records);
    // Opened and closed once more (so that no thread of the writer's is left to touch the files),
    // to check it is the previous layout whole.
    assert_eq!(progress(&template.path().join("db")), (5, 1));
    // How long the child takes, from spawn to an open, converted store: the kills are spread over it.
    let calibration = tempfile::tempdir().unwrap();
    copy_dir(&template.path().join("db"), &calibration.path().join("db"));
    let started = std::time::Instant::now();
    let mut child = spawn_child(&calibration.path().join("db"));
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("opened") {
        line.clear();
        let read = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(read > 0, "the child ended without opening the store");
    }
    let full = started.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();

    let kills = kills();
    let mut outcomes = Vec::new();
    for round in 1..=kills {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        copy_dir(&template.path().join("db"), &path);
        let mut child = spawn_child(&path);
        // Spread over the open, densest at its start: the conversion comes first, then the load
        // of the records into the index, which takes most of the time (with kills spread evenly,
        // four of them all landed after the conversion had finished).
        std::thread::sleep(full * (round * round) / (kills * kills));
        child.kill().unwrap();
        child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let (left, marker) = progress(&path);
        outcomes.push((left, marker));
        let store = SledStore::open(&path)
            .unwrap_or_else(|e| panic!("round {round}: the database does not open: {e}"));
        assert_eq!(store.len(), ids.len(), "round {round}: records lost");
        for id in ids.iter().step_by(97) {
            assert!(
                store.get(id).await.unwrap().is_some(),
                "round {round}: lost {id}"
            );
        }
        drop(store);
        assert_eq!(
            progress(&path),
            (0, 2),
            "round {round}: the conversion resumed"
        );
    }
    let mid = outcomes
        .iter()
        .filter(|(left, marker)| *marker == 1 && (1..5).contains(left))
        .count();
    println!(
        "child open in {full:?}; after each kill (index trees left, marker): {outcomes:?}; {mid} \
         kills landed between two steps of the conversion"
    );
    assert!(
        outcomes.iter().any(|(_, marker)| *marker == 1),
        "no kill landed before the conversion finished: the test proved nothing"
    );
}
