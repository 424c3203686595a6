//! The real binary against PostgreSQL through a proxy that breaks the network
//! (`crates/postgres/tests/common/fault_proxy.rs`).
//!
//! Two servers on one schema, a few clients creating, redeeming and revoking through both, while
//! the proxy delays, blackholes, resets, partitions and silences the servers' connections in turn,
//! each fault healed before the next. Every acknowledged write (201 create, 303 redeem, 204 revoke)
//! is read back at the end: none lost, and no link redeemed twice. The longest request and each
//! fault's time to recover are printed; no request may take longer than 15 s, and after every
//! pooled connection has gone silent, creates succeed again within 20 s, with the store's defaults.
//!
//! Start-up: a server started while the database cannot be reached keeps trying, a line per
//! attempt, and serves once it can; with a short `startup_timeout_seconds` it gives up with a plain
//! sentence; a refused login or an unknown database stops it at once.
//!
//! `PORTAL_SESSIONS_TEST_FAULT_ROUNDS` (default 1) repeats the five faults.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

#[path = "../../postgres/tests/common/fault_proxy.rs"]
mod fault_proxy;
mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fault_proxy::FaultProxy;
use portal_sessions_postgres::testing;
use support::{KEY, Reply, free_port, http_within};

/// The longest any request may take, and the longest to serve again after a fault.
const REQUEST_LIMIT: Duration = Duration::from_secs(15);
const RECOVERY_LIMIT: Duration = Duration::from_secs(20);
/// How long a client waits for an answer before calling it lost (longer than the limit, so that
/// a request over it is seen, not cut).
const CLIENT_WAIT: Duration = Duration::from_secs(30);
const CLIENTS: usize = 4;
/// How long each fault lasts before it is healed.
const FAULT: Duration = Duration::from_millis(2_500);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The proxy's upstream, when a PostgreSQL answers on loopback (else a loud skip, or a failure
/// when PostgreSQL is required).
fn postgres_on_loopback(runtime: &tokio::runtime::Runtime) -> Option<std::net::SocketAddr> {
    let upstream = fault_proxy::upstream_of(&testing::database_url());
    if upstream.is_none() {
        assert!(
            !testing::required(),
            "the fault proxy needs a loopback postgres:// test database URL"
        );
        eprintln!("\n!!! SKIPPING a fault-proxy test: the test database is not on loopback\n");
        return None;
    }
    runtime
        .block_on(testing::connect(
            testing::test_config().ssl_mode(portal_sessions_postgres::SslMode::Disable),
        ))
        .map(drop)?;
    upstream
}

/// The configuration of a server on `port` whose store is `url`.
fn config(port: u16, url: &str, postgres: &str) -> String {
    format!(
        "{}\n[limits]\nenabled = false\n\n[postgres]\n{postgres}\n",
        support::config(port).replace("store = \"memory\"", &format!("store = \"{url}\""))
    )
}

/// A running server whose standard error is read (so that its logging never blocks on a full
/// pipe) and kept.
struct Server {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the binary with `config(port)`, without waiting for it.
    fn spawn(dir: &std::path::Path, name: &str, text: impl FnOnce(u16) -> String) -> Server {
        let port = free_port();
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text(port)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Server { child, port, log }
    }

    fn lines_with(&self, text: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(text))
            .cloned()
            .collect()
    }

    /// Waits for the process to end, at most `limit`.
    fn exit_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread may still hold the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server still runs after {limit:?}:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A small deterministic generator, one per client.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// What the servers acknowledged, and how long requests took.
#[derive(Default)]
struct Ledger {
    /// Created sessions: id → link path.
    created: HashMap<String, String>,
    /// 303s per session id.
    redeemed: HashMap<String, u32>,
    revoked: HashSet<String>,
    /// The longest request of each phase.
    longest: HashMap<usize, Duration>,
    /// Answers by status, over the whole run.
    statuses: HashMap<u16, u32>,
}

struct Run {
    ports: [u16; 2],
    ledger: Mutex<Ledger>,
    phase: AtomicUsize,
    stop: AtomicBool,
}

impl Run {
    /// One request, timed and counted.
    fn request(&self, port: u16, method: &str, path: &str, body: &str) -> Reply {
        let headers = [("x-api-key", KEY), ("Content-Type", "application/json")];
        let headers: &[(&str, &str)] = if path.starts_with("/v1/") {
            &headers
        } else {
            &[]
        };
        // A request counts in the phase it started in.
        let phase = self.phase.load(Ordering::SeqCst);
        let began = Instant::now();
        let reply = http_within(CLIENT_WAIT, port, method, path, headers, body);
        let took = began.elapsed();
        let mut ledger = self.ledger.lock().unwrap();
        let longest = ledger.longest.entry(phase).or_default();
        *longest = (*longest).max(took);
        *ledger.statuses.entry(reply.status).or_default() += 1;
        reply
    }

    fn create(&self, port: u16) -> Option<(String, String)> {
        let reply = self.request(
            port,
            "POST",
            "/v1/portal-sessions",
            r#"{"customerExternalId":"cust-1"}"#,
        );
        if reply.status != 201 {
            return None;
        }
        let created = reply.json();
        let id = created["id"].as_str().unwrap().to_owned();
        let url = created["url"].as_str().unwrap();
        let path = url[url.find("/r/").unwrap()..].to_owned();
        self.ledger
            .lock()
            .unwrap()
            .created
            .insert(id.clone(), path.clone());
        Some((id, path))
    }

    /// A client: creates, redeems (some links twice, through either server) and revokes.
    fn client(&self, seed: u64) {
        let mut rng = Rng(seed);
        let mut links: Vec<(String, String)> = Vec::new();
        while !self.stop.load(Ordering::SeqCst) {
            let port = self.ports[rng.below(2)];
            if let Some(link) = self.create(port) {
                links.push(link);
            }
            if !links.is_empty() {
                let (id, path) = links[rng.below(links.len())].clone();
                let port = self.ports[rng.below(2)];
                if rng.below(5) == 0 {
                    let reply =
                        self.request(port, "DELETE", &format!("/v1/portal-sessions/{id}"), "");
                    if reply.status == 204 {
                        self.ledger.lock().unwrap().revoked.insert(id);
                    }
                } else {
                    let reply = self.request(port, "POST", &path, "");
                    if reply.status == 303 {
                        *self.ledger.lock().unwrap().redeemed.entry(id).or_default() += 1;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// How long after now each server takes to answer a create with 201 (the longer of the two).
    fn recovery(&self) -> Duration {
        let healed = Instant::now();
        std::thread::scope(|scope| {
            let probes: Vec<_> = self
                .ports
                .iter()
                .map(|port| {
                    scope.spawn(move || {
                        while healed.elapsed() < RECOVERY_LIMIT * 2 {
                            if self.create(*port).is_some() {
                                return healed.elapsed();
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        healed.elapsed()
                    })
                })
                .collect();
            probes
                .into_iter()
                .map(|probe| probe.join().unwrap())
                .max()
                .unwrap_or_default()
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Delay,
    Blackhole,
    Reset,
    Partition,
    Silence,
}

impl Fault {
    fn inject(self, proxy: &FaultProxy) {
        match self {
            Fault::Delay => proxy.delay(Duration::from_millis(300)),
            Fault::Blackhole => proxy.blackhole(),
            Fault::Reset => proxy.reset(),
            Fault::Partition => proxy.partition(),
            Fault::Silence => proxy.silence(),
        }
    }
}

#[test]
fn acknowledged_writes_survive_every_network_fault() {
    let runtime = runtime();
    let Some(upstream) = postgres_on_loopback(&runtime) else {
        return;
    };
    let rounds: usize = std::env::var("PORTAL_SESSIONS_TEST_FAULT_ROUNDS")
        .ok()
        .map(|rounds| rounds.parse().unwrap())
        .unwrap_or(1);
    let proxy = FaultProxy::start(upstream);
    let url = fault_proxy::through(&testing::database_url(), proxy.port()).unwrap();
    let schema = testing::fresh_schema();
    let dir = tempfile::tempdir().unwrap();
    let servers = ["a", "b"].map(|name| {
        Server::spawn(dir.path(), name, |port| {
            config(port, &url, &format!("schema = \"{schema}\""))
        })
    });
    for server in &servers {
        support::wait_until_healthy(server.port);
    }
    let run = Run {
        ports: [servers[0].port, servers[1].port],
        ledger: Mutex::default(),
        phase: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    };
    let faults = [
        Fault::Delay,
        Fault::Blackhole,
        Fault::Reset,
        Fault::Partition,
        Fault::Silence,
    ];
    let mut report = Vec::new();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let run = &run;
            scope.spawn(move || run.client(0x9e37_79b9_7f4a_7c15 ^ (client as u64 + 1)));
        }
        for round in 0..rounds {
            for (i, fault) in faults.iter().enumerate() {
                // A steady second, then the fault, then healed.
                run.phase
                    .store(round * faults.len() + i + 1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_secs(1));
                let pool_before = proxy.open_connections();
                fault.inject(&proxy);
                std::thread::sleep(FAULT);
                proxy.heal();
                let recovered = run.recovery();
                std::thread::sleep(Duration::from_millis(500));
                report.push((round, *fault, pool_before, recovered));
            }
        }
        run.stop.store(true, Ordering::SeqCst);
    });
    let faulted = started.elapsed();

    // Every acknowledged write, read back through the servers.
    let ledger = run.ledger.into_inner().unwrap();
    let mut lost = Vec::new();
    for (n, id) in ledger.created.keys().enumerate() {
        let reply = http_within(
            CLIENT_WAIT,
            servers[n % 2].port,
            "GET",
            &format!("/v1/portal-sessions/{id}"),
            &[("x-api-key", KEY)],
            "",
        );
        if reply.status != 200 {
            lost.push(format!("create of {id} (GET: {})", reply.status));
            continue;
        }
        let session = reply.json();
        if ledger.redeemed.contains_key(id) && session["isUsed"] != true {
            lost.push(format!("redeem of {id}"));
        }
        if ledger.revoked.contains(id) && session["isRevoked"] != true {
            lost.push(format!("revoke of {id}"));
        }
    }
    let doubles: Vec<_> = ledger
        .redeemed
        .iter()
        .filter(|(_, wins)| **wins > 1)
        .collect();

    println!(
        "\n{} round(s) of faults in {faulted:.1?}; acknowledged: {} creates, {} redeems, {} revokes; \
         answers by status: {:?}",
        rounds,
        ledger.created.len(),
        ledger.redeemed.len(),
        ledger.revoked.len(),
        {
            let mut statuses: Vec<_> = ledger.statuses.iter().collect();
            statuses.sort();
            statuses
        }
    );
    for (n, (round, fault, pool_before, recovered)) in report.iter().enumerate() {
        let longest = ledger.longest.get(&(n + 1)).copied().unwrap_or_default();
        println!(
            "round {round} {fault:?}: {pool_before} proxied connections before; longest request \
             {longest:.2?}; served again {recovered:.2?} after healing"
        );
    }
    let longest = ledger.longest.values().max().copied().unwrap_or_default();
    println!(
        "longest request overall {longest:.2?}; lost acknowledged writes: {}; double redeems: {}",
        lost.len(),
        doubles.len()
    );

    assert!(
        ledger.created.len() > 50 && !ledger.redeemed.is_empty() && !ledger.revoked.is_empty(),
        "too little traffic to prove anything"
    );
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(doubles.is_empty(), "links redeemed twice: {doubles:?}");
    assert!(
        longest <= REQUEST_LIMIT,
        "a request took {longest:?}, past {REQUEST_LIMIT:?}"
    );
    for (round, fault, _, recovered) in &report {
        assert!(
            *recovered <= RECOVERY_LIMIT,
            "round {round} {fault:?}: creates failed for {recovered:?} after healing"
        );
    }
    assert!(
        !ledger.statuses.contains_key(&500),
        "a store fault answered 500, not 503"
    );
    drop(servers);
    runtime.block_on(async {
        testing::admin_client()
            .await
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .unwrap();
    });
}

/// The start-up's warnings: one a failed attempt.
const RETRY_LINE: &str = "the database cannot be reached yet";

#[test]
fn a_server_started_before_its_database_waits_for_it() {
    let runtime = runtime();
    let Some(upstream) = postgres_on_loopback(&runtime) else {
        return;
    };
    let proxy = FaultProxy::start(upstream);
    let url = fault_proxy::through(&testing::database_url(), proxy.port()).unwrap();
    let schema = testing::fresh_schema();
    let dir = tempfile::tempdir().unwrap();

    // Refused, then accepted but never answered, then healed: it serves.
    proxy.partition();
    let server = Server::spawn(dir.path(), "waits", |port| {
        config(
            port,
            &url,
            &format!("schema = \"{schema}\"\nstartup_timeout_seconds = 60"),
        )
    });
    let began = Instant::now();
    let wait_for_lines = |count: usize, limit: Duration| {
        let deadline = Instant::now() + limit;
        while server.lines_with(RETRY_LINE).len() < count {
            assert!(
                Instant::now() < deadline,
                "fewer than {count} retry lines:\n{}",
                server.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for_lines(2, Duration::from_secs(10));
    proxy.heal();
    proxy.blackhole();
    let refused = server.lines_with(RETRY_LINE).len();
    wait_for_lines(refused + 1, Duration::from_secs(15));
    proxy.heal();
    support::wait_until_healthy(server.port);
    let lines = server.lines_with(RETRY_LINE);
    println!(
        "served {:.1?} after starting, once healed; its retries:\n{}",
        began.elapsed(),
        lines.join("\n")
    );
    assert!(lines.iter().any(|line| line.contains("Connection refused")));
    assert!(
        lines
            .iter()
            .any(|line| line.contains("did not complete a new connection"))
    );
    for line in server.log.lock().unwrap().iter() {
        assert!(!line.contains("postgres://"), "a URL was logged: {line}");
    }
    drop(server);

    // Never answered for longer than its startup timeout: it gives up, in a plain sentence.
    proxy.blackhole();
    let mut server = Server::spawn(dir.path(), "gives-up", |port| {
        config(
            port,
            &url,
            &format!("schema = \"{schema}\"\nstartup_timeout_seconds = 3"),
        )
    });
    let began = Instant::now();
    let status = server.exit_within(Duration::from_secs(10));
    let gave_up = began.elapsed();
    let said = server.log.lock().unwrap().join("\n");
    println!("gave up after {gave_up:.1?}:\n{said}");
    assert!(!status.success());
    assert!(
        gave_up >= Duration::from_secs(3) && gave_up < Duration::from_secs(6),
        "{gave_up:?}"
    );
    assert!(
        said.contains("error: the database could not be reached in 3 s of trying"),
        "{said}"
    );
    assert!(
        !said.contains("Timeout occurred") && !said.contains("object"),
        "pool jargon: {said}"
    );
    proxy.heal();

    // A login the server refuses, and a database that does not exist: at once.
    for (url, expected) in [
        (
            with_user(&url, "portal_sessions_no_such_role"),
            "refused the login",
        ),
        (
            with_database(&url, "portal_sessions_no_such_database"),
            "does not exist",
        ),
    ] {
        let mut server = Server::spawn(dir.path(), "refused", |port| {
            config(
                port,
                &url,
                &format!("schema = \"{schema}\"\nstartup_timeout_seconds = 60"),
            )
        });
        let began = Instant::now();
        let status = server.exit_within(Duration::from_secs(10));
        let said = server.log.lock().unwrap().join("\n");
        println!("{expected}: stopped after {:.1?}: {said}", began.elapsed());
        assert!(!status.success());
        assert!(began.elapsed() < Duration::from_secs(5));
        assert!(said.contains(expected), "{said}");
        assert!(server.lines_with(RETRY_LINE).is_empty(), "{said}");
    }
}

/// `url` (`postgres://user@host:port/db?query`) naming another database.
fn with_database(url: &str, database: &str) -> String {
    let after_scheme = url.find("://").unwrap() + 3;
    let slash = after_scheme + url[after_scheme..].find('/').unwrap();
    let end = url[slash..].find('?').map_or(url.len(), |q| slash + q);
    format!("{}/{database}{}", &url[..slash], &url[end..])
}

/// `url` (`postgres://[user@]host:port/db?query`) logging in as another user.
fn with_user(url: &str, user: &str) -> String {
    let after_scheme = url.find("://").unwrap() + 3;
    let authority_end = after_scheme + url[after_scheme..].find('/').unwrap();
    let host = match url[after_scheme..authority_end].rfind('@') {
        Some(at) => after_scheme + at + 1,
        None => after_scheme,
    };
    format!("{}{user}@{}", &url[..after_scheme], &url[host..])
}
