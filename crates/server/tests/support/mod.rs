//! Shared by the server's tests: a minimal HTTP client and a way to start the real binary.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const KEY: &str = "mf_sk_test_binary_0123456789";

/// A minimal HTTP/1.1 exchange: one request, `Connection: close`, the whole response.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    http_within(Duration::from_secs(10), port, method, path, headers, body)
}

/// [`http`], waiting at most `wait` for each read of the answer (then status 0).
pub fn http_within(
    wait: Duration,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = stream.set_read_timeout(Some(wait));
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    if let Err(error) = stream.write_all(request.as_bytes()) {
        panic!("write: {error}");
    }
    // Read the head, then exactly Content-Length bytes of body (or to EOF without one): a server
    // may keep the connection open after answering, whatever the request said.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break raw.len(),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let body_start = (head_end + 4).min(raw.len());
    let mut body = raw[body_start..].to_vec();
    while length.is_none_or(|length| body.len() < length) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    if let Some(length) = length {
        body.truncate(length);
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body,
    }
}

/// A blocking connection to the server on `port` from the loopback address `local` (any of
/// 127.0.0.0/8 is this machine), so that a test can be several clients: the server counts
/// connections per client address.
pub fn connect_from(local: std::net::Ipv4Addr, port: u16) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind((local, 0).into())?;
            let stream = socket
                .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                .await?;
            let stream = stream.into_std()?;
            stream.set_nonblocking(false)?;
            Ok::<_, std::io::Error>(stream)
        })
        .unwrap_or_else(|e| panic!("connect from {local}: {e}"))
}

/// Makes sure this process may open `needed` files: raises its soft limit (never above the hard
/// one) with `prlimit` when it is lower, and fails loudly when it cannot.
pub fn ensure_open_files(needed: u64) {
    let limits = || -> (u64, u64) {
        let text = std::fs::read_to_string("/proc/self/limits").unwrap_or_else(|e| panic!("{e}"));
        let line = text
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .unwrap_or_else(|| panic!("no open-file limit in /proc/self/limits"));
        // "Max open files  <soft>  <hard>  files", either of them possibly "unlimited".
        let mut numbers = line
            .split_whitespace()
            .skip(3)
            .map(|word| word.parse().unwrap_or(u64::MAX));
        let soft = numbers.next().unwrap_or_else(|| panic!("{line}"));
        let hard = numbers.next().unwrap_or_else(|| panic!("{line}"));
        (soft, hard)
    };
    let (soft, hard) = limits();
    if soft >= needed {
        return;
    }
    assert!(
        hard >= needed,
        "this test needs {needed} open files and the hard limit is {hard}"
    );
    let raised = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={needed}:{hard}"))
        .status();
    assert!(
        raised.is_ok_and(|status| status.success()) && limits().0 >= needed,
        "could not raise the open-file limit from {soft} to {needed}"
    );
}

/// A port nobody listens on now, and that no other test of this process was given: the
/// operating system may hand a just-released port to the next `bind(0)`, and two tests of one
/// binary run at once, so without the record two servers could be started on one port, one of
/// them failing to bind while the other answers its test's requests.
/// Runs the binary to completion with `args` and extra environment variables, in `dir`.
pub fn run(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"))
}

/// What a finished run printed, standard output and error together.
pub fn said(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut given = GIVEN.lock().unwrap_or_else(|e| panic!("{e}"));
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn config(port: u16) -> String {
    format!(
        r##"
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
session_ttl_seconds = 600
store = "memory"

[[orgs]]
id = "11111111-2222-4333-8444-555555555555"
name = "Binary Test Co"
secret_keys = ["{KEY}"]
brand_color = "#0f766e"

[[orgs.customers]]
id = "66666666-7777-4888-9999-000000000000"
external_id = "cust-1"
name = "Binary Customer"

[orgs.customers.subscription]
plan = "Scale"
status = "active"
amount_cents = 12900
currency = "EUR"
interval = "month"
renews_on = "2026-12-01"

[[orgs.customers.invoices]]
number = "INV-BIN-2"
issued_on = "2026-11-01"
amount_cents = 14230
currency = "EUR"
status = "open"

[[orgs.customers.invoices]]
number = "INV-BIN-1"
issued_on = "2026-11-01"
amount_cents = 1250
currency = "EUR"
status = "paid"

[[orgs.customers.usage]]
metric = "Messages sent"
quantity = 1204511
unit = "messages"
period = "November 2026"
"##
    )
}

pub fn start(args: &[&str], dir: &std::path::Path) -> Server {
    start_with("", args, dir)
}

/// [`start`], with `extra` TOML appended to the configuration (whole tables, such as `[http]`).
pub fn start_with(extra: &str, args: &[&str], dir: &std::path::Path) -> Server {
    start_configured(
        |port| format!("{}\n{extra}\n", config(port)),
        args,
        &[],
        dir,
    )
}

/// Starts the binary on a fresh port with the configuration `text(port)` makes (top-level keys
/// first, then tables), extra arguments, and extra environment variables; waits until it answers.
pub fn start_configured(
    text: impl FnOnce(u16) -> String,
    args: &[&str],
    env: &[(&str, &str)],
    dir: &std::path::Path,
) -> Server {
    let port = free_port();
    let path = dir.join("portal.toml");
    if let Err(error) = std::fs::write(&path, text(port)) {
        panic!("{error}");
    }
    let child = Command::new(env!("CARGO_BIN_EXE_portal-sessions-server"))
        .arg("--config")
        .arg(&path)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let server = Server { child, port };
    wait_until_healthy(port);
    server
}

/// Waits for `/healthz` on `port` to answer 200, for at most 20 seconds.
pub fn wait_until_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/healthz", &[], "").status == 200
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not come up on port {port}");
}
