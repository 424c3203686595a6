//! Webhooks from the real binary to a real receiver in the test process: every lifecycle step
//! arrives signed and in order per session; a receiver that fails, then vanishes, then comes back
//! gets every event; the events of acknowledged changes survive a SIGKILL of a sled server; two
//! servers on one PostgreSQL, one of them SIGKILLed mid-stream, deliver every event at least once.
//!
//! Intervals are shortened through `[events]` so that each test takes seconds.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/receiver.rs"]
mod receiver;
mod support;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::process::ChildStderr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portal_sessions::webhook::{self, SignatureError};
use portal_sessions_postgres::testing;
use receiver::{Received, Receiver, accepted_by_session};
use support::{KEY, Server, http, start_with};

const SECRET: &str = "whsec_test_4f9a2c7e1b8d3f6a0c5e9b2d";

/// Short intervals: poll every 50 ms, retry from 50 ms up to half a second.
const FAST: &str = "[events]\npoll_interval_seconds = 0.05\nlease_seconds = 5\n\
                    request_timeout_seconds = 1\nretry_base_seconds = 0.05\nretry_max_seconds = 0.5\n";

const CREATED: &str = "portal_session.created";
const REDEEMED: &str = "portal_session.redeemed";
const LOGGED_OUT: &str = "portal_session.logged_out";
const REVOKED: &str = "portal_session.revoked";

fn hook(url: &str) -> String {
    format!("[[orgs.webhooks]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n")
}

/// The server and what it logged so far (read off its stderr as it goes, so that a busy server
/// never blocks on a full pipe).
struct Running {
    server: Server,
    logs: Arc<Mutex<String>>,
}

impl Running {
    fn start(dir: &std::path::Path, extra: &str, args: &[&str]) -> Running {
        let mut server = start_with(extra, args, dir);
        let logs = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = server.child.stderr.take() {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || drain(stderr, &logs));
        }
        if let Some(mut stdout) = server.child.stdout.take() {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            });
        }
        Running { server, logs }
    }

    fn port(&self) -> u16 {
        self.server.port
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
    }

    /// SIGTERM, wait for the exit, and the logs.
    fn stop(&mut self) -> String {
        let pid = self.server.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        assert!(sent.is_ok_and(|s| s.success()));
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.server.child.try_wait().ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.logs()
    }
}

fn drain(mut stderr: ChildStderr, logs: &Mutex<String>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        logs.lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// The portal API of one server.
struct Api {
    port: u16,
}

impl Api {
    /// Mints a session: its id and its link's path.
    fn create(&self) -> (String, String) {
        let reply = http(
            self.port,
            "POST",
            "/v1/portal-sessions",
            &[("x-api-key", KEY), ("Content-Type", "application/json")],
            r#"{"customerExternalId":"cust-1"}"#,
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        let json = reply.json();
        let url = json["url"].as_str().unwrap().to_owned();
        let path = url[url.find("/r/").unwrap()..].to_owned();
        (json["id"].as_str().unwrap().to_owned(), path)
    }

    /// Redeems a link: the viewer cookie.
    fn redeem(&self, link: &str) -> String {
        let reply = http(self.port, "POST", link, &[], "");
        assert_eq!(reply.status, 303, "{}", reply.body);
        reply
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned()
    }

    fn logout(&self, cookie: &str) {
        let reply = http(
            self.port,
            "POST",
            "/portal/logout",
            &[("Cookie", cookie)],
            "",
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    fn revoke(&self, id: &str) {
        let reply = http(
            self.port,
            "DELETE",
            &format!("/v1/portal-sessions/{id}"),
            &[("x-api-key", KEY)],
            "",
        );
        assert_eq!(reply.status, 204, "{}", reply.body);
    }
}

fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The expected events, as (session id, type) pairs.
type Expected = Vec<(String, &'static str)>;

/// Whether every expected event was accepted at least once.
fn all_accepted(received: &[Received], expected: &Expected) -> bool {
    let got: HashSet<(String, String)> = received
        .iter()
        .filter(|r| (200..300).contains(&r.status))
        .map(|r| {
            let (session, kind, _) = r.event();
            (session, kind)
        })
        .collect();
    expected
        .iter()
        .all(|(session, kind)| got.contains(&(session.clone(), (*kind).to_owned())))
}

/// Checks that, per session, the accepted events came in the order of `expected` (a repeat of an
/// event only before the next one), and that nothing unexpected came; returns how many accepted
/// requests repeated an event already accepted.
fn check_order(received: &[Received], expected: &Expected) -> usize {
    let mut order: HashMap<&str, Vec<&str>> = HashMap::new();
    for (session, kind) in expected {
        order.entry(session.as_str()).or_default().push(kind);
    }
    let mut duplicates = 0;
    for (session, kinds) in accepted_by_session(received) {
        let want = order
            .get(session.as_str())
            .unwrap_or_else(|| panic!("events of an unknown session {session}: {kinds:?}"));
        let mut seen: Vec<&str> = Vec::new();
        for kind in &kinds {
            if seen.last() == Some(&kind.as_str()) {
                duplicates += 1;
            } else {
                seen.push(kind);
            }
        }
        assert_eq!(&seen, want, "session {session} got {kinds:?}");
    }
    duplicates
}

/// Every accepted request is a POST of JSON to the hook's path, signed with the secret (within
/// five minutes of now), and carries no token.
fn check_signed(received: &[Received]) {
    for request in received.iter().filter(|r| (200..300).contains(&r.status)) {
        assert_eq!(request.method, "POST");
        assert!(request.path.starts_with("/hooks/"), "{}", request.path);
        assert_eq!(request.header("content-type"), Some("application/json"));
        let signature = request.header("portal-signature").unwrap();
        assert_eq!(
            webhook::verify(
                SECRET,
                signature,
                &request.body,
                unix_now(),
                Duration::from_secs(300)
            ),
            Ok(()),
            "{signature}"
        );
        let text = String::from_utf8_lossy(&request.body);
        assert!(
            !text.contains("mgl_") && !text.contains("mgv_") && !text.contains("token"),
            "{text}"
        );
    }
}

#[test]
fn every_lifecycle_step_arrives_once_in_order_and_signed() {
    let started = Instant::now();
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Running::start(
        dir.path(),
        &format!("{}\n{FAST}", hook(&receiver.url())),
        &[],
    );
    let api = Api {
        port: server.port(),
    };

    let (first, link) = api.create();
    let cookie = api.redeem(&link);
    api.logout(&cookie);
    let (second, _) = api.create();
    api.revoke(&second);
    let expected: Expected = vec![
        (first.clone(), CREATED),
        (first.clone(), REDEEMED),
        (first.clone(), LOGGED_OUT),
        (second.clone(), CREATED),
        (second.clone(), REVOKED),
    ];
    assert!(
        receiver.wait_until(Duration::from_secs(20), |r| all_accepted(r, &expected)),
        "not every event arrived: {:?}",
        receiver
            .received()
            .iter()
            .map(Received::event)
            .collect::<Vec<_>>()
    );
    // Nothing more comes (a few poll intervals later).
    std::thread::sleep(Duration::from_millis(300));
    let received = receiver.received();
    assert_eq!(received.len(), 5, "each event once");
    assert_eq!(check_order(&received, &expected), 0);
    check_signed(&received);

    let ids: HashSet<String> = received.iter().map(|r| r.event().2).collect();
    assert_eq!(ids.len(), 5, "five different event ids");
    for request in &received {
        let json = request.json();
        let object = json.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5, "{json}");
        for key in ["id", "object", "type", "createdAt", "data"] {
            assert!(object.contains_key(key), "{key} in {json}");
        }
        assert!(json["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(json["object"], "event");
        assert_eq!(json["data"]["object"], "portal_session");
        assert_eq!(json["data"]["customerName"], "Binary Customer");
        let created_at = json["createdAt"].as_str().unwrap();
        match json["type"].as_str().unwrap() {
            CREATED => {
                assert_eq!(json["data"]["createdAt"], created_at);
                assert_eq!(json["data"]["isUsed"], false);
            }
            REDEEMED => {
                assert_eq!(json["data"]["usedAt"], created_at);
                assert_eq!(json["data"]["isUsed"], true);
            }
            LOGGED_OUT => assert_eq!(json["data"]["isUsed"], true),
            REVOKED => {
                assert_eq!(json["data"]["revokedAt"], created_at);
                assert_eq!(json["data"]["isRevoked"], true);
            }
            other => panic!("unexpected type {other}"),
        }
    }
    // The list item of the revoked session, as the API shows it, is the revoked event's data.
    let listed = http(
        api.port,
        "GET",
        &format!("/v1/portal-sessions/{second}"),
        &[("x-api-key", KEY)],
        "",
    )
    .json();
    let revoked = received
        .iter()
        .find(|r| r.event().1 == REVOKED)
        .unwrap()
        .json();
    assert_eq!(revoked["data"], listed);

    // A receiver's check: a changed body, another secret, an old delivery are refused.
    let genuine = &received[0];
    let signature = genuine.header("portal-signature").unwrap();
    let mut tampered = genuine.body.clone();
    let at = tampered.iter().position(|b| *b == b'e').unwrap();
    tampered[at] = b'E';
    let five_minutes = Duration::from_secs(300);
    assert_eq!(
        webhook::verify(SECRET, signature, &tampered, unix_now(), five_minutes),
        Err(SignatureError::NoMatch)
    );
    assert_eq!(
        webhook::verify(
            "whsec_some_other_secret_0123456789",
            signature,
            &genuine.body,
            unix_now(),
            five_minutes
        ),
        Err(SignatureError::NoMatch)
    );
    assert!(matches!(
        webhook::verify(
            SECRET,
            signature,
            &genuine.body,
            unix_now() + 3600,
            five_minutes
        ),
        Err(SignatureError::OutsideTolerance { .. })
    ));

    let logs = server.stop();
    for id in &ids {
        assert!(logs.contains(id.as_str()), "{id} is not logged:\n{logs}");
    }
    assert!(
        logs.contains("webhook delivered")
            && logs.contains("host=\"127.0.0.1\"")
            && logs.contains("status=200")
            && logs.contains("attempt=1")
            && logs.contains("event_type=\"portal_session.logged_out\""),
        "{logs}"
    );
    assert!(!logs.contains(&SECRET[6..]), "the secret reached the logs");
    assert!(
        !logs.contains("\"object\":\"event\""),
        "a body reached the logs"
    );
    assert!(logs.contains("webhook deliveries stopped"), "{logs}");
    println!("lifecycle: {:?}", started.elapsed());
}

#[test]
fn a_receiver_that_fails_then_vanishes_then_returns_gets_every_event_in_order() {
    let started = Instant::now();
    let mut receiver = Receiver::start();
    receiver.set_failing(true);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Running::start(
        dir.path(),
        &format!("{}\n{FAST}", hook(&receiver.url())),
        &[],
    );
    let api = Api {
        port: server.port(),
    };
    let mut expected: Expected = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..6 {
        let (id, link) = api.create();
        expected.push((id.clone(), CREATED));
        sessions.push((id, link));
    }
    for (i, (id, link)) in sessions.iter().enumerate() {
        if i < 4 {
            let cookie = api.redeem(link);
            expected.push((id.clone(), REDEEMED));
            if i < 2 {
                api.logout(&cookie);
                expected.push((id.clone(), LOGGED_OUT));
            }
        }
        if i == 2 || i == 4 {
            api.revoke(id);
            expected.push((id.clone(), REVOKED));
        }
    }
    // Answered 500 for a while: every session is retried, with backoff.
    assert!(
        receiver.wait_until(Duration::from_secs(20), |r| r.len() >= 30),
        "too few attempts: {}",
        receiver.received().len()
    );
    assert!(receiver.accepted().is_empty());
    // Then gone: connections refused.
    receiver.stop();
    let refused_from = server.logs().matches("webhook delivery failed").count();
    // A change while it is away.
    api.revoke(&sessions[5].0);
    expected.push((sessions[5].0.clone(), REVOKED));
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.logs().matches("webhook delivery failed").count() < refused_from + 6 {
        assert!(
            Instant::now() < deadline,
            "no refused deliveries were logged"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Back, answering 200.
    receiver.set_failing(false);
    receiver.resume();
    assert!(
        receiver.wait_until(Duration::from_secs(30), |r| all_accepted(r, &expected)),
        "not every event arrived after the receiver came back"
    );
    std::thread::sleep(Duration::from_millis(300));
    let received = receiver.received();
    let duplicates = check_order(&received, &expected);
    check_signed(&received);
    let failed = received.iter().filter(|r| r.status == 500).count();
    let logs = server.stop();
    assert!(logs.contains("status=500") && logs.contains("webhook refused the event"));
    assert!(
        logs.contains("webhook delivery failed") && logs.contains("Connection refused"),
        "{logs}"
    );
    assert!(logs.contains("webhook delivery will be retried"));
    let most_attempts = logs
        .match_indices("attempt=")
        .filter_map(|(at, _)| {
            logs[at + 8..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse::<u32>().ok())
        })
        .max()
        .unwrap_or(0);
    assert!(most_attempts >= 5, "attempts were counted: {most_attempts}");
    assert!(!logs.contains(&SECRET[6..]));
    println!(
        "failing receiver: {} events, {failed} requests answered 500, most attempts for one event \
         {most_attempts}, {duplicates} duplicates, {:?}",
        expected.len(),
        started.elapsed()
    );
}

#[test]
fn sled_events_of_acknowledged_changes_survive_sigkill() {
    let started = Instant::now();
    let port = support::free_port();
    let mut receiver = Receiver::stopped_on(port);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sessions");
    let store = format!("sled:{}", data.display());
    let extra = format!("{}\n{FAST}", hook(&receiver.url()));
    let mut server = Running::start(dir.path(), &extra, &["--store", &store]);
    let api = Api {
        port: server.port(),
    };
    // 200 acknowledged changes: 100 creates, 50 redeems, 50 revokes (25 of redeemed sessions).
    let mut expected: Expected = Vec::new();
    let mut changes = 0;
    for i in 0..100 {
        let (id, link) = api.create();
        expected.push((id.clone(), CREATED));
        changes += 1;
        if i % 2 == 0 {
            api.redeem(&link);
            expected.push((id.clone(), REDEEMED));
            changes += 1;
        }
        if i % 4 < 2 {
            api.revoke(&id);
            expected.push((id, REVOKED));
            changes += 1;
        }
    }
    assert_eq!(changes, 200);
    server.kill();
    let killed_at = started.elapsed();
    assert!(
        receiver.received().is_empty(),
        "nothing was delivered before the kill"
    );

    receiver.resume();
    let restarted = Instant::now();
    let server = Running::start(dir.path(), &extra, &["--store", &store]);
    assert!(
        receiver.wait_until(Duration::from_secs(60), |r| all_accepted(r, &expected)),
        "after the restart, {} of {} events arrived",
        receiver.accepted().len(),
        expected.len()
    );
    let delivered_in = restarted.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let received = receiver.received();
    let duplicates = check_order(&received, &expected);
    check_signed(&received);
    drop(server);
    println!(
        "sled: 200 changes then SIGKILL at {killed_at:?}; after the restart all {} events in \
         {delivered_in:?} ({} requests, {duplicates} duplicates)",
        expected.len(),
        received.len()
    );
}

/// Whether a PostgreSQL answers (skipping loudly, or failing when it is required).
fn postgres_here(runtime: &tokio::runtime::Runtime) -> bool {
    runtime
        .block_on(testing::connect(
            testing::test_config().ssl_mode(portal_sessions_postgres::SslMode::Disable),
        ))
        .is_some()
}

#[test]
fn two_servers_on_one_postgres_deliver_every_event_though_one_is_killed() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if !postgres_here(&runtime) {
        return;
    }
    let started = Instant::now();
    let schema = testing::fresh_schema();
    let receiver = Receiver::start();
    // Answers take a moment, so that deliveries lag behind the changes; each server posts to its
    // own path, so that the test sees which one has a delivery in flight.
    receiver.set_delay(Duration::from_millis(300));
    let extra = |name: &str| {
        format!(
            "[postgres]\nschema = \"{schema}\"\n{}\n[events]\npoll_interval_seconds = 0.05\n\
             lease_seconds = 1.5\nrequest_timeout_seconds = 1\nretry_base_seconds = 0.05\n\
             retry_max_seconds = 0.5\nmax_in_flight = 16\n",
            hook(&receiver.url_for(name))
        )
    };
    let url = testing::database_url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = Running::start(dir_a.path(), &extra("a"), &["--store", &url]);
    let b = Running::start(dir_b.path(), &extra("b"), &["--store", &url]);
    let (api_a, api_b) = (Api { port: a.port() }, Api { port: b.port() });

    let mut expected: Expected = Vec::new();
    let mut killed = None;
    for i in 0..80 {
        // Both servers take changes until A is killed halfway; B takes the rest.
        let (mint, other) = if killed.is_none() && i % 2 == 0 {
            (&api_a, &api_b)
        } else {
            (&api_b, &api_a)
        };
        let other = if killed.is_some() { mint } else { other };
        let (id, link) = mint.create();
        expected.push((id.clone(), CREATED));
        if i % 4 != 3 {
            other.redeem(&link);
            expected.push((id.clone(), REDEEMED));
        }
        if i % 3 == 0 {
            mint.revoke(&id);
            expected.push((id, REVOKED));
        }
        if i == 40 {
            // Mid-stream: A has delivered, and has a POST waiting for its answer.
            assert!(
                receiver.wait_until(Duration::from_secs(10), |r| {
                    let a: Vec<_> = r.iter().filter(|r| r.path == "/hooks/a").collect();
                    a.iter().any(|r| r.answered) && a.iter().any(|r| !r.answered)
                }),
                "server A never had a delivery in flight after one answered"
            );
            a.kill();
            killed = Some(Instant::now());
        }
    }
    assert!(
        receiver.wait_until(Duration::from_secs(60), |r| all_accepted(r, &expected)),
        "{} of {} events arrived",
        receiver.accepted().len(),
        expected.len()
    );
    std::thread::sleep(Duration::from_millis(500));
    let all_in = killed.map(|at| at.elapsed()).unwrap_or_default();
    let received = receiver.received();
    let duplicates = check_order(&received, &expected);
    check_signed(&received);
    let ids: HashSet<String> = received.iter().map(|r| r.event().2).collect();
    assert_eq!(ids.len(), expected.len(), "one id per event");
    // The requests whose connection was cut before the answer: the killed server's, in flight.
    let cut = received.iter().filter(|r| !r.answered).count();
    assert!(cut > 0, "the killed server had no delivery in flight");
    assert!(received.iter().all(|r| r.answered || r.path == "/hooks/a"));
    let by_b = received.iter().filter(|r| r.path == "/hooks/b").count();
    let logs_a = a.logs();
    drop(b);
    runtime.block_on(async {
        let client = testing::admin_client().await;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await
            .unwrap();
    });
    // What A delivered is seen by the receiver (its own log of a delivery may be cut by the kill,
    // which can land between the receiver's answer and A's reading it).
    assert!(
        received.iter().any(|r| r.path == "/hooks/a" && r.answered),
        "the killed server delivered some before it died"
    );
    assert!(
        !logs_a.contains("whsec_"),
        "a webhook secret reached the logs"
    );
    println!(
        "postgres: {} events from 2 servers; A SIGKILLed with {cut} deliveries in flight; every \
         event delivered {all_in:?} after the kill, {} requests ({by_b} by B), {duplicates} \
         duplicates (same event id twice), {:?} in all",
        expected.len(),
        received.len(),
        started.elapsed()
    );
}
