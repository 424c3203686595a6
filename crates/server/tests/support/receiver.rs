//! A webhook receiver for the server's tests: a hyper server on 127.0.0.1 in the test process that
//! records every request, can answer 500 instead of 200, and can stop listening (its connections
//! cut) and start again on the same port.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the receiver answered (or was about to).
    pub status: u16,
    /// Whether the answer was sent: false when the connection was cut while the receiver waited
    /// (see [`Receiver::set_delay`]).
    pub answered: bool,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e})"))
    }

    /// The event's `data.id`, `type` and `id`.
    pub fn event(&self) -> (String, String, String) {
        let json = self.json();
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        (
            text(&json["data"]["id"]),
            text(&json["type"]),
            text(&json["id"]),
        )
    }
}

#[derive(Default)]
struct State {
    failing: AtomicBool,
    /// How long to wait, after recording a request, before answering it.
    delay_millis: AtomicU64,
    received: Mutex<Vec<Received>>,
}

pub struct Receiver {
    runtime: tokio::runtime::Runtime,
    pub port: u16,
    state: Arc<State>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A receiver on a free port, answering 200.
    pub fn start() -> Receiver {
        Receiver::on_port(0)
    }

    /// A receiver that will listen on `port` once [`resume`](Self::resume)d (not listening yet).
    pub fn stopped_on(port: u16) -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        Receiver {
            runtime,
            port,
            state: Arc::new(State::default()),
            server: None,
        }
    }

    fn on_port(port: u16) -> Receiver {
        let mut receiver = Receiver::stopped_on(port);
        receiver.resume();
        receiver
    }

    /// Listens (again) on the receiver's port.
    pub fn resume(&mut self) {
        assert!(self.server.is_none(), "already listening");
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let listener = self.runtime.block_on(async {
            // The port was ours a moment ago; a listening socket needs no TIME_WAIT to pass, but
            // retry briefly in case the kernel is slow to release it.
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match TcpListener::bind(address).await {
                    Ok(listener) => break listener,
                    Err(error) if Instant::now() < deadline => {
                        eprintln!("receiver: bind {address}: {error}, retrying");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(error) => panic!("receiver: bind {address}: {error}"),
                }
            }
        });
        self.port = listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let state = Arc::clone(&self.state);
        self.server = Some(self.runtime.spawn(accept(listener, state)));
    }

    /// Stops listening and cuts every open connection (the server's pooled ones too).
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = self.runtime.block_on(server);
        }
    }

    /// Answers 500 (true) or 200 (false) from now on.
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// Answers each request `delay` after it arrived (it is recorded at once).
    pub fn set_delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delay_millis.store(millis, Ordering::SeqCst);
    }

    /// Every request so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The requests answered 2xx, in order.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Waits until `done` holds of the requests received, for at most `within`.
    pub fn wait_until(&self, within: Duration, done: impl Fn(&[Received]) -> bool) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if done(&self.received()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        self.url_for("portal")
    }

    /// A URL of this receiver whose requests arrive on `/hooks/{name}`.
    pub fn url_for(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/hooks/{name}", self.port)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Accepts connections until aborted; dropping the set of connections (when aborted) cuts them.
async fn accept(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(answer(&state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn answer(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let status = if state.failing.load(Ordering::SeqCst) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let index = {
        let mut received = state.received.lock().unwrap_or_else(|e| e.into_inner());
        let index = received.len();
        received.push(Received {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            body,
            status: status.as_u16(),
            answered: false,
        });
        index
    };
    let delay = state.delay_millis.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    // Dropped before this line when the connection is cut while waiting.
    if let Some(request) = state
        .received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(index)
    {
        request.answered = true;
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
    *response.status_mut() = status;
    response
}

/// Per session (by `data.id`), the event types in the order their requests arrived, counting only
/// requests answered 2xx.
pub fn accepted_by_session(received: &[Received]) -> HashMap<String, Vec<String>> {
    let mut sessions: HashMap<String, Vec<String>> = HashMap::new();
    for request in received.iter().filter(|r| (200..300).contains(&r.status)) {
        let (session, kind, _) = request.event();
        sessions.entry(session).or_default().push(kind);
    }
    sessions
}
