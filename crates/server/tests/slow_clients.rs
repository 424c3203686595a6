//! The real binary against slow and idle clients: 300 half-sent request heads and 20 bodies that
//! trickle do not keep it from answering `/healthz` at once, the server closes them when their
//! time is up, and SIGTERM ends it within its grace period although they are still connected.
//! The intervals are the test's own, short ones (`[http]` in the config). The slow clients come
//! from several loopback addresses (127.0.0.2 to 127.0.0.9), so that what is checked is the
//! timeouts, not the cap on connections per client.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use support::{KEY, connect_from, http, start_with};

const HTTP: &str = "[http]
header_timeout_seconds = 2
body_timeout_seconds = 2
max_connections = 1024
shutdown_grace_seconds = 1.5
";

/// The `n`th slow client's address: eight of them, each below the cap per client.
fn client(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (n % 8) as u8)
}

fn half_open(port: u16, n: usize) -> TcpStream {
    let mut stream = connect_from(client(n), port);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap_or_else(|e| panic!("{e}"));
    stream
}

fn slow_body(port: u16, n: usize) -> TcpStream {
    let mut stream = connect_from(client(n), port);
    let head = format!(
        "POST /v1/portal-sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream
        .write_all(head.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    stream
}

/// Whether the server has ended the connection (EOF or reset) within `wait`, having perhaps
/// answered first.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn slow_clients_cannot_hold_the_server() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = start_with(HTTP, &[], dir.path());
    let port = server.port;

    let mut heads: Vec<TcpStream> = (0..300).map(|n| half_open(port, n)).collect();
    let mut bodies: Vec<TcpStream> = (0..20).map(|n| slow_body(port, n)).collect();
    std::thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    let health = http(port, "GET", "/healthz", &[], "");
    let took = started.elapsed();
    assert_eq!(health.status, 200);
    assert!(
        took < Duration::from_secs(1),
        "/healthz took {took:?} beside slow clients"
    );

    // Their time is up: the server closes them (after answering the bodies that never came).
    assert!(
        closed_within(&mut heads[0], Duration::from_secs(5)),
        "a half-sent head was still open after the header timeout"
    );
    assert!(
        closed_within(&mut bodies[0], Duration::from_secs(5)),
        "a trickling body was still open after the body timeout"
    );
    let closed = heads
        .iter_mut()
        .chain(bodies.iter_mut())
        .map(|stream| closed_within(stream, Duration::from_millis(300)))
        .filter(|closed| *closed)
        .count();
    assert_eq!(closed, 320, "every slow connection is closed");

    // A body that trickles in, a byte every 300 ms (inside each 2 s wait), is cut off at the 2 s
    // deadline of the whole request.
    let mut trickle = slow_body(port, 0);
    let started = Instant::now();
    let mut cut_off = false;
    while started.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(300));
        if trickle.write_all(b" ").is_err()
            || closed_within(&mut trickle, Duration::from_millis(10))
        {
            cut_off = true;
            break;
        }
    }
    assert!(
        cut_off,
        "a trickling body was served for {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // New slow clients, then SIGTERM: the server is gone within its grace period.
    let _heads: Vec<TcpStream> = (0..50).map(|n| half_open(port, n)).collect();
    let _bodies: Vec<TcpStream> = (0..5).map(|n| slow_body(port, n)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.child.id().to_string();
    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    loop {
        if let Some(exit) = server.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            assert!(exit.success(), "the server exited with {exit}");
            break;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(4),
            "still running {:?} after SIGTERM (grace 1.5 s)",
            signalled.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("exited {:?} after SIGTERM", signalled.elapsed());
}
