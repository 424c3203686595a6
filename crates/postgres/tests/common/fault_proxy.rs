//! A TCP proxy that breaks the network on request, between the code under test and PostgreSQL, on
//! loopback only. Shared by this crate's tests and the server's (which include this file by path).
//!
//! The faults, each until [`FaultProxy::heal`]:
//!
//! - [`delay`](FaultProxy::delay): every chunk, both ways, is forwarded after a pause.
//! - [`blackhole`](FaultProxy::blackhole): nothing is forwarded either way and nothing is closed,
//!   on existing and new connections alike; healing resumes them all where they stopped (an
//!   outage that TCP's retransmissions ride out).
//! - [`silence`](FaultProxy::silence): a failover or a NAT that forgot its flows. Every existing
//!   connection goes silent for good (never closed, never forwarded again, even after healing);
//!   new ones are accepted and stay silent until healing, then work. A silenced connection still
//!   notices when its client closes, and closes its other side then, so that PostgreSQL's backends
//!   do not pile up across a test.
//! - [`reset`](FaultProxy::reset): every existing connection is reset (an RST both ways, `SO_LINGER`
//!   0); new ones work.
//! - [`partition`](FaultProxy::partition): existing connections are closed and new ones refused
//!   (the proxy stops listening; healing listens again on the same port).

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to traffic now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Forward,
    Delay(Duration),
    Blackhole,
    Silent,
}

#[derive(Debug, Clone, Default)]
struct State {
    mode: Mode,
    partitioned: bool,
    /// Connections numbered below these were silenced for good, reset, or closed.
    silent_below: u64,
    reset_below: u64,
    close_below: u64,
}

/// What a pump does with the next chunk.
enum Verdict {
    Forward(Duration),
    Drop,
}

/// What ends a connection from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Reset,
    Close,
}

impl State {
    /// `None`: hold (read nothing, forward nothing) until the state changes.
    fn verdict(&self, id: u64) -> Option<Verdict> {
        if id < self.silent_below {
            return Some(Verdict::Drop);
        }
        match self.mode {
            Mode::Forward => Some(Verdict::Forward(Duration::ZERO)),
            Mode::Delay(by) => Some(Verdict::Forward(by)),
            Mode::Blackhole | Mode::Silent => None,
        }
    }

    fn fate(&self, id: u64) -> Option<Fate> {
        if id < self.reset_below {
            Some(Fate::Reset)
        } else if id < self.close_below {
            Some(Fate::Close)
        } else {
            None
        }
    }
}

/// The proxy: listens on `127.0.0.1:{port}` and forwards to a loopback upstream, on its own
/// runtime (so it works the same under a test's runtime or none).
pub struct FaultProxy {
    runtime: Option<tokio::runtime::Runtime>,
    control: watch::Sender<State>,
    next_id: Arc<AtomicU64>,
    open: Arc<Mutex<HashSet<u64>>>,
    listening: Arc<AtomicBool>,
    address: SocketAddr,
}

impl FaultProxy {
    /// A proxy to `upstream` (a loopback address) on a fresh loopback port.
    ///
    /// # Panics
    ///
    /// When `upstream` is not a loopback address, or the runtime or the listener cannot start.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        assert!(
            upstream.ip().is_loopback(),
            "the fault proxy forwards to loopback only, not {upstream}"
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("fault proxy runtime: {error}"));
        // Bound here, without the runtime (which may not block inside a test's own runtime).
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .unwrap_or_else(|error| panic!("fault proxy listener: {error}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("fault proxy address: {error}"));
        let (control, watching) = watch::channel(State::default());
        let next_id = Arc::<AtomicU64>::default();
        let open = Arc::<Mutex<HashSet<u64>>>::default();
        let listening = Arc::new(AtomicBool::new(true));
        runtime.spawn(serve(
            listener,
            upstream,
            watching,
            next_id.clone(),
            open.clone(),
            listening.clone(),
        ));
        FaultProxy {
            runtime: Some(runtime),
            control,
            next_id,
            open,
            listening,
            address,
        }
    }

    /// The port the proxy listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Forwards every chunk after `by`, until healed.
    pub fn delay(&self, by: Duration) {
        self.control
            .send_modify(|state| state.mode = Mode::Delay(by));
    }

    /// Forwards nothing and closes nothing, until healed.
    pub fn blackhole(&self) {
        self.control
            .send_modify(|state| state.mode = Mode::Blackhole);
    }

    /// Every existing connection goes silent for good; new ones are silent until healed.
    pub fn silence(&self) {
        let below = self.next_id.load(Ordering::SeqCst);
        self.control.send_modify(|state| {
            state.mode = Mode::Silent;
            state.silent_below = below;
        });
    }

    /// Resets every existing connection.
    pub fn reset(&self) {
        let below = self.next_id.load(Ordering::SeqCst);
        self.control.send_modify(|state| state.reset_below = below);
    }

    /// Closes every existing connection and refuses new ones, until healed. Returns once the
    /// proxy no longer listens.
    pub fn partition(&self) {
        let below = self.next_id.load(Ordering::SeqCst);
        self.control.send_modify(|state| {
            state.partitioned = true;
            state.close_below = below;
        });
        self.wait_listening(false);
    }

    /// Ends every fault: forwards again, listens again (returning once it does). Connections
    /// silenced for good stay silent.
    pub fn heal(&self) {
        self.control.send_modify(|state| {
            state.mode = Mode::Forward;
            state.partitioned = false;
        });
        self.wait_listening(true);
    }

    /// How many connections the proxy holds open.
    pub fn open_connections(&self) -> usize {
        self.open.lock().map(|open| open.len()).unwrap_or(0)
    }

    /// How many connections silenced for good are still open (their client has not closed them).
    pub fn silenced_still_open(&self) -> usize {
        let below = self.control.borrow().silent_below;
        self.open
            .lock()
            .map(|open| open.iter().filter(|id| **id < below).count())
            .unwrap_or(0)
    }

    fn wait_listening(&self, listening: bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.listening.load(Ordering::SeqCst) != listening {
            assert!(
                Instant::now() < deadline,
                "the fault proxy did not {} listening on {}",
                if listening { "start" } else { "stop" },
                self.address
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Allowed inside another runtime, unlike dropping it.
            runtime.shutdown_background();
        }
    }
}

/// Accepts while not partitioned; drops the listener while partitioned, and binds the same address
/// again after.
async fn serve(
    listener: std::net::TcpListener,
    upstream: SocketAddr,
    mut control: watch::Receiver<State>,
    next_id: Arc<AtomicU64>,
    open: Arc<Mutex<HashSet<u64>>>,
    listening: Arc<AtomicBool>,
) {
    let address = listener.local_addr().ok();
    let mut listener = TcpListener::from_std(listener).ok();
    loop {
        let Some(bound) = listener.take() else {
            if control.wait_for(|state| !state.partitioned).await.is_err() {
                return;
            }
            let Some(address) = address else { return };
            match TcpListener::bind(address).await {
                Ok(bound) => {
                    listening.store(true, Ordering::SeqCst);
                    listener = Some(bound);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
            continue;
        };
        tokio::select! {
            accepted = bound.accept() => {
                listener = Some(bound);
                let Ok((client, _)) = accepted else { continue };
                let id = next_id.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay(id, client, upstream, control.clone(), open.clone()));
            }
            partitioned = async { control.wait_for(|state| state.partitioned).await.is_ok() } => {
                drop(bound);
                listening.store(false, Ordering::SeqCst);
                if !partitioned {
                    return;
                }
            }
        }
    }
}

async fn relay(
    id: u64,
    mut client: TcpStream,
    upstream: SocketAddr,
    control: watch::Receiver<State>,
    open: Arc<Mutex<HashSet<u64>>>,
) {
    let connected =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream)).await;
    let Ok(Ok(mut server)) = connected else {
        let _ = client.set_zero_linger();
        return;
    };
    if let Ok(mut open) = open.lock() {
        open.insert(id);
    }
    let fate = {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        let pumps = async {
            tokio::join!(
                pump(id, &mut client_read, &mut server_write, control.clone()),
                pump(id, &mut server_read, &mut client_write, control.clone()),
            )
        };
        tokio::select! {
            _ = pumps => None,
            fate = fate_of(id, control.clone()) => fate,
        }
    };
    if fate == Some(Fate::Reset) {
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
    if let Ok(mut open) = open.lock() {
        open.remove(&id);
    }
    // Dropped: closed (an RST after a zero linger).
}

/// Forwards `from` to `to` as the state allows, until either side closes.
async fn pump(
    id: u64,
    from: &mut ReadHalf<'_>,
    to: &mut WriteHalf<'_>,
    mut control: watch::Receiver<State>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        // Held connections read nothing: their bytes wait in the kernel, as unacknowledged
        // packets would.
        if allowed(id, &mut control).await.is_none() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        match allowed(id, &mut control).await {
            None => return,
            Some(Verdict::Drop) => continue,
            Some(Verdict::Forward(by)) => {
                if !by.is_zero() {
                    tokio::time::sleep(by).await;
                }
                if to.write_all(&buffer[..read]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// Waits until the state lets connection `id` move; `None` when the proxy is gone.
async fn allowed(id: u64, control: &mut watch::Receiver<State>) -> Option<Verdict> {
    loop {
        if let Some(verdict) = control.borrow_and_update().verdict(id) {
            return Some(verdict);
        }
        control.changed().await.ok()?;
    }
}

/// Resolves when connection `id` is to be reset or closed.
async fn fate_of(id: u64, mut control: watch::Receiver<State>) -> Option<Fate> {
    loop {
        if let Some(fate) = control.borrow_and_update().fate(id) {
            return Some(fate);
        }
        if control.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// The loopback address of a `postgres://` URL's server (port 5432 unless given); `None` for any
/// other form, or a host that is not loopback.
pub fn upstream_of(url: &str) -> Option<SocketAddr> {
    let (_, authority, _) = split_authority(url)?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => 5432,
    };
    let ip: std::net::IpAddr = match host {
        "localhost" => Ipv4Addr::LOCALHOST.into(),
        host => host.parse().ok()?,
    };
    ip.is_loopback().then_some(SocketAddr::new(ip, port))
}

/// `url` with its server replaced by `127.0.0.1:{port}`, and `sslmode=disable` unless it names
/// one.
pub fn through(url: &str, port: u16) -> Option<String> {
    let (scheme, authority, rest) = split_authority(url)?;
    let user = authority
        .rsplit_once('@')
        .map_or(String::new(), |(user, _)| format!("{user}@"));
    let separator = if rest.contains('?') { '&' } else { '?' };
    let tls = if rest.contains("sslmode=") {
        String::new()
    } else {
        format!("{separator}sslmode=disable")
    };
    Some(format!("{scheme}{user}127.0.0.1:{port}{rest}{tls}"))
}

/// `postgres://user@host:port/db?x` as (`postgres://`, `user@host:port`, `/db?x`).
fn split_authority(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = ["postgres://", "postgresql://"]
        .iter()
        .find(|scheme| url.starts_with(**scheme))?
        .len();
    let rest = &url[scheme_end..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some((&url[..scheme_end], &rest[..end], &rest[end..]))
}
