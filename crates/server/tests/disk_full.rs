//! A full disk under the embedded store, on the real binary: a small tmpfs holds the sled store
//! while four clients create, redeem and revoke links, until the file system is full, filled either
//! by the store's own writes or by another process (`dd`) writing beside it. Then space comes
//! back, the server is restarted (SIGTERM or SIGKILL, alternately), and every acknowledged write is
//! checked.
//!
//! What must hold, every round: no acknowledged write is lost (a 201 create is found, a 303 redeem
//! is used, a 204 revoke is revoked), no link opens twice, writes are refused with 503 and never
//! 500, `/healthz` answers 503 while the disk is full, and once space is back writes resume within
//! 10 s or `/healthz` holds 503 (a store that failed closed, for a supervisor to restart). Every
//! other round of the second mode also restarts the server while the disk is still full: it must
//! open, and refuse writes until space is back.
//!
//! Mounting a tmpfs needs root: without it the test skips loudly, unless
//! `PORTAL_SESSIONS_REQUIRE_ROOT=1`. `PORTAL_SESSIONS_TEST_DISK_FULL_ROUNDS` sets the rounds of each
//! mode (2 by default; the figures in the docs come from 20).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{KEY, config, free_port, http};

/// The tmpfs: small, so that it fills in a second or two.
const TMPFS_BYTES: u64 = 48 << 20;
/// The store's free-space floor in this test: above its 8 MiB reserve, so that a store opened on
/// a full disk, with its reserve released, still refuses writes.
const FLOOR: u64 = 12 << 20;
/// How far above the floor the store's own writes start, in the first mode.
const HEADROOM: u64 = 2 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The store's own writes fill the file system.
    OwnWrites,
    /// `dd` fills it while the clients write.
    OtherProcess,
}

/// What the clients were told, by session id.
#[derive(Debug, Default, Clone)]
struct Acknowledged {
    /// Session id → its link's path, for every 201.
    created: BTreeMap<String, String>,
    /// Ids whose link answered 303.
    redeemed: Vec<String>,
    /// Ids whose revocation answered 204.
    revoked: Vec<String>,
}

#[derive(Debug, Default)]
struct Tally {
    acknowledged: Mutex<Acknowledged>,
    refused: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_BYTES}")])
            .arg("tmpfs")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs failed");
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes available to an unprivileged writer.
    fn available(&self) -> u64 {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(self.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|line| line.trim().parse().ok())
            .unwrap_or_else(|| panic!("df said {:?}", out))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The real binary on the sled store at `db`, its logs in `logs`.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(db: &Path, logs: &Path, round: usize) -> Server {
        let port = free_port();
        let text = config(port)
            .replace(
                "store = \"memory\"",
                &format!("store = \"sled:{}\"", db.display()),
            )
            .replace(
                "[[orgs]]",
                &format!(
                    "[sled]\nmin_free_bytes = {FLOOR}\n\n[limits]\nenabled = false\n\n[[orgs]]"
                ),
            );
        let config_path = logs.join(format!("portal-{round}.toml"));
        std::fs::write(&config_path, text).unwrap();
        let out = File::create(logs.join(format!("out-{round}-{port}.log"))).unwrap();
        let err_path = logs.join(format!("err-{round}-{port}.log"));
        let err = File::create(&err_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap();
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the server did not come up on port {port}: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
    }

    fn healthz(&self) -> u16 {
        http(self.port, "GET", "/healthz", &[], "").status
    }

    /// Stops the server: SIGTERM (and waits for it to exit) or SIGKILL.
    fn stop(mut self, kill: bool) {
        if kill {
            let _ = self.child.kill();
        } else {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create(port: u16) -> (u16, Option<(String, String)>) {
    let reply = http(
        port,
        "POST",
        "/v1/portal-sessions",
        &[("x-api-key", KEY), ("Content-Type", "application/json")],
        r#"{"customerExternalId":"cust-1"}"#,
    );
    if reply.status != 201 {
        return (reply.status, None);
    }
    let json = reply.json();
    let url = json["url"].as_str().unwrap().to_owned();
    let path = url[url.find("/r/").unwrap()..].to_owned();
    (
        reply.status,
        Some((json["id"].as_str().unwrap().to_owned(), path)),
    )
}

/// One client: create, then redeem every second link and revoke every third, until told to stop.
fn client(port: u16, n: usize, stop: &AtomicBool, tally: &Tally) {
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let (status, created) = create(port);
        let Some((id, link)) = created else {
            note(tally, "create", status);
            continue;
        };
        tally
            .acknowledged
            .lock()
            .unwrap()
            .created
            .insert(id.clone(), link.clone());
        if (i + n).is_multiple_of(2) {
            let status = http(port, "POST", &link, &[], "").status;
            if status == 303 {
                tally.acknowledged.lock().unwrap().redeemed.push(id.clone());
            } else {
                note(tally, "redeem", status);
            }
        }
        if (i + n).is_multiple_of(3) {
            let status = http(
                port,
                "DELETE",
                &format!("/v1/portal-sessions/{id}"),
                &[("x-api-key", KEY)],
                "",
            )
            .status;
            if status == 204 {
                tally.acknowledged.lock().unwrap().revoked.push(id);
            } else {
                note(tally, "revoke", status);
            }
        }
    }
}

fn note(tally: &Tally, what: &str, status: u16) {
    if status == 503 {
        tally.refused.fetch_add(1, Ordering::SeqCst);
    } else {
        tally
            .failures
            .lock()
            .unwrap()
            .push(format!("{what} answered {status}, not 503"));
    }
}

/// What one round saw, for the report.
#[derive(Debug)]
struct Round {
    acknowledged: usize,
    refused: usize,
    resumed_in: Option<Duration>,
}

fn round(mode: Mode, n: usize, logs: &Path) -> Round {
    let tmpfs = Tmpfs::mount();
    let db = tmpfs.path().join("db");
    let server = Server::start(&db, logs, n);
    assert_eq!(server.healthz(), 200, "a fresh store is healthy");
    let ballast = tmpfs.path().join("ballast");
    if mode == Mode::OwnWrites {
        // Leave the store a little room above its floor: its own writes fill the rest.
        let size = tmpfs.available().saturating_sub(FLOOR + HEADROOM);
        fill(&ballast, Some(size));
    }

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (tally, stop, port) = (tally.clone(), stop.clone(), server.port);
            std::thread::spawn(move || client(port, c, &stop, &tally))
        })
        .collect();
    if mode == Mode::OtherProcess {
        std::thread::sleep(Duration::from_millis(300));
        fill(&ballast, None);
    }
    // Full: writes are refused, the health check says so.
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.refused.load(Ordering::SeqCst) < 50 {
        assert!(
            Instant::now() < deadline,
            "{mode:?} round {n}: the disk did not fill within a minute"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.healthz(), 503, "/healthz while the disk is full");
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let failures = tally.failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{mode:?} round {n}: writes on a full disk answered other than 503: {failures:?}"
    );

    // Every other round of the second mode, a supervisor restarts the server on the full disk:
    // the store opens (its reserve gives sled room) and refuses writes while the disk is full.
    let server = if mode == Mode::OtherProcess && n.is_multiple_of(2) {
        server.stop(true);
        let restarted = Server::start(&db, logs, n + 500);
        assert_eq!(restarted.healthz(), 503, "opened on a full disk: /healthz");
        let (status, _) = create(restarted.port);
        assert_eq!(status, 503, "opened on a full disk: a create");
        restarted
    } else {
        server
    };

    // Space comes back: writes resume within 10 s, or the store failed closed and /healthz holds
    // 503 for a supervisor to restart it.
    std::fs::remove_file(&ballast).unwrap();
    let freed = Instant::now();
    let mut resumed_in = None;
    while freed.elapsed() < Duration::from_secs(10) {
        if server.healthz() == 200 {
            let (status, created) = create(server.port);
            assert_eq!(status, 201, "healthy again, a create succeeds");
            let (id, link) = created.unwrap();
            tally.acknowledged.lock().unwrap().created.insert(id, link);
            resumed_in = Some(freed.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if resumed_in.is_none() {
        assert_eq!(server.healthz(), 503, "not resumed: /healthz holds 503");
    }

    server.stop(!n.is_multiple_of(2));
    let server = Server::start(&db, logs, n + 1000);
    let acknowledged = tally.acknowledged.lock().unwrap().clone();
    check(&server, &acknowledged, mode, n);
    server.stop(false);
    Round {
        acknowledged: acknowledged.created.len()
            + acknowledged.redeemed.len()
            + acknowledged.revoked.len(),
        refused: tally.refused.load(Ordering::SeqCst),
        resumed_in,
    }
}

/// Writes zeros to `path`: `size` bytes, or until the file system is full.
fn fill(path: &Path, size: Option<u64>) {
    let mut dd = Command::new("dd");
    dd.arg("if=/dev/zero")
        .arg(format!("of={}", path.display()))
        .arg("bs=65536")
        .stderr(Stdio::null());
    if let Some(size) = size {
        dd.arg(format!("count={}", size / 65536));
    }
    // Without a count, dd stops at "No space left on device", which is the point.
    let _ = dd.status().unwrap();
}

/// Every acknowledged write is there after the restart, and no redeemed link opens again.
fn check(server: &Server, acknowledged: &Acknowledged, mode: Mode, n: usize) {
    let mut items = BTreeMap::new();
    for id in acknowledged.created.keys() {
        let reply = http(
            server.port,
            "GET",
            &format!("/v1/portal-sessions/{id}"),
            &[("x-api-key", KEY)],
            "",
        );
        assert_eq!(
            reply.status, 200,
            "{mode:?} round {n}: an acknowledged create is gone: {}",
            reply.body
        );
        items.insert(id.clone(), reply.json());
    }
    for id in &acknowledged.redeemed {
        assert_eq!(
            items[id]["isUsed"], true,
            "{mode:?} round {n}: an acknowledged redeem is gone"
        );
        let link = &acknowledged.created[id];
        let again = http(server.port, "POST", link, &[], "").status;
        assert_ne!(again, 303, "{mode:?} round {n}: a used link opened again");
    }
    for id in &acknowledged.revoked {
        assert_eq!(
            items[id]["isRevoked"], true,
            "{mode:?} round {n}: an acknowledged revocation is gone"
        );
    }
}

fn rounds() -> usize {
    std::env::var("PORTAL_SESSIONS_TEST_DISK_FULL_ROUNDS")
        .ok()
        .map(|rounds| rounds.parse().unwrap())
        .unwrap_or(2)
}

fn run(mode: Mode) {
    if !is_root() {
        assert!(
            std::env::var("PORTAL_SESSIONS_REQUIRE_ROOT").as_deref() != Ok("1"),
            "PORTAL_SESSIONS_REQUIRE_ROOT=1, but the disk-full test needs root to mount a tmpfs"
        );
        eprintln!("SKIPPED: the disk-full test needs root to mount a tmpfs");
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for n in 0..rounds() {
        report.push(round(mode, n, logs.path()));
    }
    let checked: usize = report.iter().map(|round| round.acknowledged).sum();
    let refused: usize = report.iter().map(|round| round.refused).sum();
    let resumed: Vec<String> = report
        .iter()
        .map(|round| match round.resumed_in {
            Some(after) => format!("{} ms", after.as_millis()),
            None => "held 503".to_owned(),
        })
        .collect();
    println!(
        "{mode:?}: {} rounds, {checked} acknowledged writes checked after restarts, 0 lost; \
         {refused} writes refused with 503; resumed after space came back: {resumed:?}",
        report.len()
    );
}

#[test]
fn the_stores_own_writes_fill_the_disk() {
    run(Mode::OwnWrites);
}

#[test]
fn another_process_fills_the_disk() {
    run(Mode::OtherProcess);
}
