//! The real binary against one client that opens thousands of connections: 3,000 connections
//! from 127.0.0.2, each sending half a request head and holding on, while another client
//! (127.0.0.1) mints sessions. The flood keeps at most `max_connections_per_client` (256 by
//! default) of them; the rest are closed at once, unanswered; and every create of the other
//! client is answered within 2 s. Without the cap per client the flood takes every connection
//! slot (1024) and fills the kernel's backlog, and the other client waits for the header timeout.

// Tests unwrap plainly: a value they cannot get is a failure, said loudly.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{KEY, ensure_open_files, http, start_with};

const FLOOD: usize = 3_000;
const FLOODER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The defaults of `[http]`, but a header timeout long enough that the flood's half-sent heads
/// are not closed by it while the test runs: only the cap per client may close them.
const HTTP: &str = "[http]
header_timeout_seconds = 60
";

/// What became of the flood's connections.
#[derive(Default)]
struct Flood {
    connected: AtomicUsize,
    failed: AtomicUsize,
    /// Closed by the server without a byte of answer.
    closed_unanswered: AtomicUsize,
    /// Answered (it should never be).
    answered: AtomicUsize,
}

impl Flood {
    fn open(&self) -> usize {
        self.connected.load(Ordering::SeqCst)
            - self.closed_unanswered.load(Ordering::SeqCst)
            - self.answered.load(Ordering::SeqCst)
    }

    fn settled(&self) -> usize {
        self.connected.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }
}

/// One connection of the flood: connects from [`FLOODER`], sends half a head, and holds on until
/// the server closes it or `stop` is told.
async fn hold(port: u16, flood: Arc<Flood>, stop: Arc<tokio::sync::Notify>) {
    let connect = async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind((FLOODER, 0).into())?;
        socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
    };
    let stream = match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(stream)) => stream,
        _ => {
            flood.failed.fetch_add(1, Ordering::SeqCst);
            return;
        }
    };
    flood.connected.fetch_add(1, Ordering::SeqCst);
    if stream.writable().await.is_ok() {
        let _ = stream.try_write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ");
    }
    let ended = async {
        let mut buf = [0u8; 1024];
        loop {
            if stream.readable().await.is_err() {
                return false;
            }
            match stream.try_read(&mut buf) {
                Ok(0) => return false,
                Ok(_) => return true,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
        }
    };
    tokio::select! {
        answered = ended => {
            let counter = if answered { &flood.answered } else { &flood.closed_unanswered };
            counter.fetch_add(1, Ordering::SeqCst);
        }
        () = stop.notified() => {}
    }
}

#[test]
fn one_client_with_thousands_of_connections_does_not_starve_the_others() {
    ensure_open_files(FLOOD as u64 + 1_000);
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(HTTP, &[], dir.path());
    let port = server.port;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let flood = Arc::new(Flood::default());
    let stop = Arc::new(tokio::sync::Notify::new());
    let tasks: Vec<_> = (0..FLOOD)
        .map(|_| runtime.spawn(hold(port, flood.clone(), stop.clone())))
        .collect();
    let started = Instant::now();
    while flood.settled() < FLOOD && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "flood: {} connected, {} failed in {:?}; {} still open",
        flood.connected.load(Ordering::SeqCst),
        flood.failed.load(Ordering::SeqCst),
        started.elapsed(),
        flood.open()
    );

    // The other client, while the flood holds what it can.
    let mut latencies = Vec::new();
    for n in 0..20 {
        let sent = Instant::now();
        let created = http(
            port,
            "POST",
            "/v1/portal-sessions",
            &[("x-api-key", KEY), ("Content-Type", "application/json")],
            r#"{"customerExternalId":"cust-1"}"#,
        );
        let took = sent.elapsed();
        assert_eq!(created.status, 201, "create {n}: {}", created.body);
        assert!(
            took < Duration::from_secs(2),
            "create {n} took {took:?} beside the flood"
        );
        latencies.push(took);
    }
    latencies.sort();
    println!(
        "creates from 127.0.0.1 beside {FLOOD} connections from 127.0.0.2: median {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );

    // The flood got no more than its share, and nothing was answered past it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while flood.open() > 256 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(flood.failed.load(Ordering::SeqCst), 0, "connects failed");
    assert_eq!(
        flood.answered.load(Ordering::SeqCst),
        0,
        "a connection over the cap was answered"
    );
    assert_eq!(
        flood.open(),
        256,
        "the flood holds max_connections_per_client connections, no more"
    );
    assert_eq!(flood.closed_unanswered.load(Ordering::SeqCst), FLOOD - 256);
    stop.notify_waiters();
    runtime.block_on(async {
        for task in tasks {
            let _ = task.await;
        }
    });
}
