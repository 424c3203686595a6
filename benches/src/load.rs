//! A minimal HTTP/1.1 load generator on loopback, for the benches that compare a router with a
//! bare handler in one run.
//!
//! [`CONNECTIONS`] keep-alive connections each send their share of the requests one after another:
//! a client that writes a request and reads one `Content-Length` response, so that as little of the
//! machine as possible goes to generating load.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The connections a [`drive`] opens.
pub const CONNECTIONS: u64 = 16;

/// One keep-alive connection that sends a request and reads its whole response.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(address: SocketAddr) -> Connection {
        let stream = match TcpStream::connect(address).await {
            Ok(stream) => stream,
            Err(error) => panic!("connect: {error}"),
        };
        if let Err(error) = stream.set_nodelay(true) {
            panic!("nodelay: {error}");
        }
        Connection {
            stream,
            buffer: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends `request`; returns the response's status code.
    async fn send(&mut self, request: &[u8]) -> u16 {
        if let Err(error) = self.stream.write_all(request).await {
            panic!("write: {error}");
        }
        self.buffer.clear();
        let mut searched = 0;
        let head_end = loop {
            if let Some(end) = head_end(&self.buffer, searched) {
                break end;
            }
            // The end of the head may straddle two reads.
            searched = self.buffer.len().saturating_sub(3);
            self.read_more().await;
        };
        let head = &self.buffer[..head_end];
        let Some((status, length)) = parse_head(head) else {
            panic!(
                "not an HTTP response with a content-length: {}",
                head_names(head)
            );
        };
        let Some(end) = head_end.checked_add(length) else {
            panic!("a content-length past the address space: {length}");
        };
        while self.buffer.len() < end {
            self.read_more().await;
        }
        status
    }

    /// Reads into the buffer's spare capacity: no zeroed chunk per read (zeroing an 8 KiB chunk
    /// was a tenth of the whole process's instructions in the profile, all of it load generator).
    async fn read_more(&mut self) {
        self.buffer.reserve(8192);
        match self.stream.read_buf(&mut self.buffer).await {
            Ok(0) => panic!("the server closed the connection"),
            Ok(_) => {}
            Err(error) => panic!("read: {error}"),
        }
    }
}

/// Where the head of the response in `buffer` ends (after its blank line), searching from
/// `from`: a search resumed after a read need not scan again what it scanned before.
fn head_end(buffer: &[u8], from: usize) -> Option<usize> {
    find(buffer.get(from..)?, b"\r\n\r\n").map(|at| from + at + 4)
}

/// The status code and the `Content-Length` of a response's head, read in place: the answer's
/// head is parsed on the load generator's share of the machine, so a longer head (a redeem's
/// security headers) must cost the generator no more than a scan, not a lower-cased copy.
fn parse_head(head: &[u8]) -> Option<(u16, usize)> {
    if !head.starts_with(b"HTTP/1.") || head.get(12) != Some(&b' ') {
        return None;
    }
    let code = head.get(9..12)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = std::str::from_utf8(code).ok()?.parse().ok()?;
    let length = head.split(|&byte| byte == b'\n').find_map(|line| {
        let (name, value) = line.split_at_checked(b"content-length:".len())?;
        if !name.eq_ignore_ascii_case(b"content-length:") {
            return None;
        }
        std::str::from_utf8(value).ok()?.trim().parse().ok()
    })?;
    Some((status, length))
}

/// A head's status line and header names, for a panic: never its values (a redeem's head
/// carries the viewer's cookie).
fn head_names(head: &[u8]) -> String {
    let mut lines = head.split(|&byte| byte == b'\n');
    let status = lines.next().unwrap_or_default();
    let names: Vec<_> = lines
        .filter_map(|line| line.split(|&byte| byte == b':').next())
        .filter(|name| !name.trim_ascii().is_empty())
        .map(String::from_utf8_lossy)
        .collect();
    format!(
        "{:?}, headers {names:?}",
        String::from_utf8_lossy(status.trim_ascii())
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A server that [`serve`] started: it stops when this is dropped, unless
/// [detached](Served::detach).
pub struct Served {
    /// Where it listens.
    pub address: SocketAddr,
    task: tokio::task::AbortHandle,
}

impl Served {
    /// Stops the server and waits until its accept loop has ended (its connections' tasks end
    /// when the client closes them).
    pub async fn stop(self) {
        self.task.abort();
        while !self.task.is_finished() {
            tokio::task::yield_now().await;
        }
    }

    /// Lets the server run as long as the runtime does; returns its address.
    pub fn detach(self) -> SocketAddr {
        let address = self.address;
        std::mem::forget(self);
        address
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` with `axum::serve` on a fresh loopback port, in the current runtime.
pub async fn serve(router: Router) -> Served {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("bind: {error}"),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => panic!("local address: {error}"),
    };
    let task = tokio::spawn(async move {
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, app).await {
            panic!("serve: {error}");
        }
    });
    Served {
        address,
        task: task.abort_handle(),
    }
}

/// Sends `requests[i]` for every `i`, spread over [`CONNECTIONS`] connections, each expecting
/// `status`; returns the wall time.
pub fn drive(
    runtime: &tokio::runtime::Runtime,
    address: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    status: u16,
) -> Duration {
    runtime.block_on(async move {
        let mut connections = Vec::new();
        for _ in 0..CONNECTIONS {
            connections.push(Connection::open(address).await);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (lane, mut connection) in (0u64..).zip(connections) {
            let requests = requests.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = lane;
                while let Some(request) = usize::try_from(i).ok().and_then(|i| requests.get(i)) {
                    let got = connection.send(request).await;
                    assert_eq!(got, status, "unexpected status");
                    i += CONNECTIONS;
                }
            }));
        }
        for task in tasks {
            if let Err(error) = task.await {
                panic!("connection task: {error}");
            }
        }
        started.elapsed()
    })
}

#[cfg(test)]
mod tests {
    use super::{head_end, head_names, parse_head};

    #[test]
    fn a_head_gives_its_status_and_length_whatever_the_names_case() {
        let head = b"HTTP/1.1 303 See Other\r\nlocation: /portal\r\nContent-Length: 12\r\n\r\n";
        assert_eq!(parse_head(head), Some((303, 12)));
        let head = b"HTTP/1.1 200 OK\r\ncontent-length:0\r\n\r\n";
        assert_eq!(parse_head(head), Some((200, 0)));
        let head = b"HTTP/1.1 200 OK\r\nx-content-length: 9\r\ncontent-length-x: 8\r\n\
                     content-length: 5 \r\n\r\n";
        assert_eq!(parse_head(head), Some((200, 5)));
    }

    #[test]
    fn a_head_without_a_length_or_a_status_is_refused() {
        for head in [
            &b"HTTP/1.1 200 OK\r\nx-length: 3\r\n\r\n"[..],
            b"HTTP/1.1 2x0 OK\r\ncontent-length: 3\r\n\r\n",
            b"HTTP/1.1 +20 OK\r\ncontent-length: 3\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\ncontent-length: 3\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: -3\r\n\r\n",
            b"HTTX/1.1 200 OK\r\ncontent-length: 3\r\n\r\n",
            b"HTTP",
        ] {
            assert_eq!(
                parse_head(head),
                None,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn the_end_of_a_head_is_found_wherever_a_read_cut_it() {
        let response = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        let end = response.len() - 2;
        for cut in 0..response.len() {
            // What the loop in `send` does: search what one read brought, then resume three
            // bytes before its end once the rest has come.
            let first = head_end(&response[..cut], 0);
            let found = first.or_else(|| head_end(response, cut.saturating_sub(3)));
            assert_eq!(found, Some(end), "cut at {cut}");
        }
        assert_eq!(head_end(response, response.len() + 1), None);
    }

    #[test]
    fn a_refused_head_is_described_without_its_values() {
        let head = b"HTTP/1.1 303 See Other\r\nset-cookie: portal_session=mgv_secret\r\n\r\n";
        let described = head_names(head);
        assert!(!described.contains("mgv_secret"), "{described}");
        assert!(described.contains("HTTP/1.1 303 See Other"), "{described}");
        assert!(described.contains("set-cookie"), "{described}");
    }
}
