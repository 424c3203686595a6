//! An SMTP server on loopback that keeps what it is sent, for tests of code that mails: point a
//! mailer at [`SmtpSink::url`], then read the messages back decoded ([`ReceivedMail`]).
//!
//! It speaks enough SMTP for a plain client such as lettre's: the greeting, `EHLO` (no `STARTTLS`
//! or `AUTH` offered) and `HELO`, `MAIL FROM`, `RCPT TO`, `DATA` (dot-unstuffed), `RSET`, `NOOP`
//! and `QUIT`. It can hold each message before accepting it ([`SinkOptions::delay`]), to show that
//! a caller does not wait for mail, and refuse recipients permanently (550) or for now (451)
//! ([`SinkReply`]), with a reply text that repeats the address as real servers do.
//!
//! It is bounded so that a test cannot hang on it: it accepts at most
//! [`SinkOptions::max_connections`] connections, drops one that stays silent for
//! [`SinkOptions::read_timeout`], refuses lines over 4 KiB and messages over 1 MiB, and stops when
//! dropped.
//!
//! ```ignore
//! let sink = SmtpSink::start(SinkOptions::default()).await;
//! let mailer = SmtpMailer::from_url(&sink.url(), "billing@example.com")?;
//! mailer.send(&email).await?;
//! let [mail] = sink.wait_for(1, Duration::from_secs(5)).await.try_into().unwrap();
//! assert_eq!(mail.to(), ["ada@example.com"]);
//! assert!(mail.text_body().unwrap().contains("https://"));
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The longest command or data line the sink reads (SMTP allows 1000 bytes).
const MAX_LINE: u64 = 4_096;
/// The largest message the sink keeps.
const MAX_MESSAGE: usize = 1 << 20;

/// How the sink answers `RCPT TO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SinkReply {
    /// `250`: every recipient is taken, and so is every message.
    #[default]
    Accept,
    /// `550 5.1.1 <address>: Recipient address rejected: User unknown`: a permanent refusal.
    Reject,
    /// `451 4.3.0 <address>: Temporary lookup failure`: a transient refusal.
    Defer,
}

/// How an [`SmtpSink`] behaves; [`Default`] accepts everything at once.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    delay: Duration,
    reply: SinkReply,
    max_connections: usize,
    read_timeout: Duration,
}

impl Default for SinkOptions {
    fn default() -> SinkOptions {
        SinkOptions {
            delay: Duration::ZERO,
            reply: SinkReply::Accept,
            max_connections: 64,
            read_timeout: Duration::from_secs(10),
        }
    }
}

impl SinkOptions {
    /// Waits `delay` after a message's data before accepting it (`250`), and before it shows in
    /// [`SmtpSink::messages`].
    pub fn delay(mut self, delay: Duration) -> SinkOptions {
        self.delay = delay;
        self
    }

    /// Answers `RCPT TO` this way.
    pub fn reply(mut self, reply: SinkReply) -> SinkOptions {
        self.reply = reply;
        self
    }

    /// Accepts this many connections in all (64 by default), then refuses more.
    pub fn max_connections(mut self, max: usize) -> SinkOptions {
        self.max_connections = max;
        self
    }

    /// Drops a connection that sends nothing for this long (10 seconds by default).
    pub fn read_timeout(mut self, timeout: Duration) -> SinkOptions {
        self.read_timeout = timeout;
        self
    }
}

/// One message as the sink received it: its envelope and its data, dot-unstuffed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    envelope_from: String,
    recipients: Vec<String>,
    data: String,
}

impl ReceivedMail {
    /// The envelope's sender (`MAIL FROM`), without its angle brackets.
    pub fn envelope_from(&self) -> &str {
        &self.envelope_from
    }

    /// The envelope's recipients (`RCPT TO`), without their angle brackets.
    pub fn to(&self) -> &[String] {
        &self.recipients
    }

    /// The message as sent: headers and encoded body, lines ending in CRLF.
    pub fn raw(&self) -> &str {
        &self.data
    }

    /// The first top-level header called `name` (in any case), unfolded, not decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = split_entity(&self.data);
        header(&headers, name).map(str::to_owned)
    }

    /// The subject, its RFC 2047 encoded words (`=?utf-8?b?...?=`) decoded.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(|subject| decode_words(&subject))
    }

    /// The first `text/plain` part's body, decoded from its transfer encoding, lines ending in
    /// `\n`.
    pub fn text_body(&self) -> Option<String> {
        self.body_of("text/plain")
    }

    /// The first `text/html` part's body, decoded from its transfer encoding, lines ending in
    /// `\n`.
    pub fn html_body(&self) -> Option<String> {
        self.body_of("text/html")
    }

    fn body_of(&self, content_type: &str) -> Option<String> {
        leaves(&self.data).into_iter().find_map(|(headers, body)| {
            let kind = header(&headers, "Content-Type").unwrap_or("text/plain");
            let kind = kind.split(';').next().unwrap_or_default().trim();
            kind.eq_ignore_ascii_case(content_type).then(|| {
                let encoding = header(&headers, "Content-Transfer-Encoding").unwrap_or("7bit");
                decode_body(body, encoding.trim())
            })
        })
    }
}

/// An SMTP server on `127.0.0.1`, on a port of its own, keeping every message it accepts. It stops
/// when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    mails: watch::Sender<Vec<ReceivedMail>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts a sink on a free loopback port.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub async fn start(options: SinkOptions) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("the SMTP sink's address");
        let (mails, _) = watch::channel(Vec::new());
        let task = tokio::spawn(accept(listener, options, mails.clone()));
        SmtpSink { addr, mails, task }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its plain SMTP URL: `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.mails.borrow().clone()
    }

    /// The messages, once there are at least `count`.
    ///
    /// # Panics
    ///
    /// When fewer than `count` arrive within `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let mut mails = self.mails.subscribe();
        let arrived = tokio::time::timeout(timeout, mails.wait_for(|mails| mails.len() >= count))
            .await
            .map(|mails| mails.map(|mails| mails.clone()));
        match arrived {
            Ok(Ok(mails)) => mails,
            _ => panic!(
                "the SMTP sink received {} of {count} message(s) in {timeout:?}",
                self.mails.borrow().len()
            ),
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // The connections are in the accept task's JoinSet: they go with it.
        self.task.abort();
    }
}

/// Accepts up to `options.max_connections` connections, serving each in its own task, then waits
/// for them to finish.
async fn accept(
    listener: TcpListener,
    options: SinkOptions,
    mails: watch::Sender<Vec<ReceivedMail>>,
) {
    let mut connections = JoinSet::new();
    for _ in 0..options.max_connections {
        let Ok((stream, _)) = listener.accept().await else {
            break;
        };
        let (options, mails) = (options.clone(), mails.clone());
        connections.spawn(async move {
            if let Err(error) = serve(stream, &options, &mails).await {
                tracing::debug!(%error, "SMTP sink connection ended");
            }
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One SMTP conversation.
async fn serve(
    stream: TcpStream,
    options: &SinkOptions,
    mails: &watch::Sender<Vec<ReceivedMail>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write
        .write_all(b"220 sink.test ESMTP test sink\r\n")
        .await?;
    let mut envelope_from: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    while let Some(line) = read_line(&mut reader, options.read_timeout).await? {
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, argument) = line.split_once(' ').unwrap_or((line, ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned(),
            "HELO" => "250 sink.test".to_owned(),
            "MAIL" => {
                envelope_from = Some(angle_address(argument));
                recipients.clear();
                "250 2.1.0 Ok".to_owned()
            }
            "RCPT" if envelope_from.is_none() => "503 5.5.1 Error: need MAIL command".to_owned(),
            "RCPT" => {
                let address = angle_address(argument);
                match options.reply {
                    SinkReply::Accept => {
                        recipients.push(address);
                        "250 2.1.5 Ok".to_owned()
                    }
                    SinkReply::Reject => {
                        format!("550 5.1.1 <{address}>: Recipient address rejected: User unknown")
                    }
                    SinkReply::Defer => {
                        format!("451 4.3.0 <{address}>: Temporary lookup failure")
                    }
                }
            }
            "DATA" if recipients.is_empty() => "503 5.5.1 Error: need RCPT command".to_owned(),
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let data = read_data(&mut reader, options.read_timeout).await?;
                tokio::time::sleep(options.delay).await;
                let mail = ReceivedMail {
                    envelope_from: envelope_from.take().unwrap_or_default(),
                    recipients: std::mem::take(&mut recipients),
                    data,
                };
                mails.send_modify(|mails| mails.push(mail));
                "250 2.0.0 Ok: queued".to_owned()
            }
            "RSET" => {
                envelope_from = None;
                recipients.clear();
                "250 2.0.0 Ok".to_owned()
            }
            "NOOP" => "250 2.0.0 Ok".to_owned(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Error: command not recognized".to_owned(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
    Ok(())
}

/// The next line, its line break included; `None` at the end of the stream.
async fn read_line(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    timeout: Duration,
) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = tokio::time::timeout(
        timeout,
        (&mut *reader).take(MAX_LINE).read_until(b'\n', &mut line),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client went silent"))??;
    if read == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long or cut short",
        ));
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

/// A message's data up to the line with a lone `.`, dot-unstuffed, lines ending in CRLF.
async fn read_data(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    timeout: Duration,
) -> std::io::Result<String> {
    let mut data = String::new();
    loop {
        let Some(line) = read_line(reader, timeout).await? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        let content = line.trim_end_matches(['\r', '\n']);
        if content == "." {
            return Ok(data);
        }
        data.push_str(content.strip_prefix('.').unwrap_or(content));
        data.push_str("\r\n");
        if data.len() > MAX_MESSAGE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "message too large",
            ));
        }
    }
}

/// The address in `FROM:<a@b> BODY=8BITMIME` or `TO:<a@b>`.
fn angle_address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |at| at + 1);
    let end = argument[start..]
        .find('>')
        .map_or(argument.len(), |at| start + at);
    argument[start..end].to_owned()
}

/// An entity's headers (name and unfolded value) and its body.
fn split_entity(entity: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match entity.find("\r\n\r\n") {
        Some(at) => (&entity[..at], &entity[at + 4..]),
        None if entity.starts_with("\r\n") => ("", &entity[2..]),
        None => (entity, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

/// The value of the first header called `name`, in any case.
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// A parameter of a header value: `boundary` of `multipart/alternative; boundary="x"`.
fn parameter<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"'))
    })
}

/// The single parts of `entity`, its multiparts opened, in order.
fn leaves(entity: &str) -> Vec<(Vec<(String, String)>, &str)> {
    let (headers, body) = split_entity(entity);
    let boundary = header(&headers, "Content-Type")
        .filter(|kind| {
            kind.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
        .and_then(|kind| parameter(kind, "boundary"));
    let Some(boundary) = boundary else {
        return vec![(headers, body)];
    };
    // A delimiter line starts the body or follows a CRLF, which belongs to the delimiter.
    let open = format!("--{boundary}");
    let marker = format!("\r\n{open}");
    let mut delimiters: Vec<(usize, usize)> = body
        .match_indices(marker.as_str())
        .map(|(at, _)| (at, at + marker.len()))
        .collect();
    if body.starts_with(open.as_str()) {
        delimiters.insert(0, (0, open.len()));
    }
    let mut parts = Vec::new();
    for pair in delimiters.windows(2) {
        let segment = &body[pair[0].1..pair[1].0];
        if segment.starts_with("--") {
            break;
        }
        // What follows the delimiter on its own line (white space) is not the part's.
        if let Some((_, part)) = segment.split_once("\r\n") {
            parts.extend(leaves(part));
        }
    }
    parts
}

/// A body decoded from its `Content-Transfer-Encoding`, as UTF-8, lines ending in `\n`.
fn decode_body(body: &str, encoding: &str) -> String {
    let bytes = if encoding.eq_ignore_ascii_case("quoted-printable") {
        quoted_printable(body)
    } else if encoding.eq_ignore_ascii_case("base64") {
        let compact: String = body.split_whitespace().collect();
        BASE64.decode(compact).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
}

/// Quoted-printable (RFC 2045) decoded: `=XX` is a byte, `=` at a line's end joins it to the next.
fn quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes[i + 1..].starts_with(b"\r\n") {
            i += 3;
        } else if bytes[i + 1..].starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = hex_byte(&bytes[i + 1..]) {
            out.push(byte);
            i += 3;
        } else {
            out.push(b'=');
            i += 1;
        }
    }
    out
}

/// The byte written by the first two hex digits of `digits`.
fn hex_byte(digits: &[u8]) -> Option<u8> {
    let digits = std::str::from_utf8(digits.get(..2)?).ok()?;
    u8::from_str_radix(digits, 16).ok()
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) decoded;
/// white space between two encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut rest = value;
    let mut after_word = false;
    while !rest.is_empty() {
        let Some(start) = rest.find("=?") else {
            out.extend_from_slice(rest.as_bytes());
            break;
        };
        let (before, word) = rest.split_at(start);
        match encoded_word(word) {
            Some((bytes, length)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.extend_from_slice(before.as_bytes());
                }
                out.extend(bytes);
                rest = &word[length..];
                after_word = true;
            }
            None => {
                out.extend_from_slice(&rest.as_bytes()[..start + 2]);
                rest = &word[2..];
                after_word = false;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The bytes of the encoded word at the start of `text` and its length, when it is one.
fn encoded_word(text: &str) -> Option<(Vec<u8>, usize)> {
    let inner = text.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let encoded = &inner[..end];
    let bytes = match encoding {
        "b" | "B" => BASE64.decode(encoded).ok()?,
        "q" | "Q" => quoted_printable(&encoded.replace('_', " ")),
        _ => return None,
    };
    let length = text.len() - inner.len() + end + 2;
    Some((bytes, length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(decode_words("plain"), "plain");
        assert_eq!(
            decode_words("=?utf-8?b?Vm90cmUgbGllbiB2ZXJzIHZvdHJlIHBvcnRhaWwgw6k=?="),
            "Votre lien vers votre portail é"
        );
        assert_eq!(
            decode_words("Votre =?utf-8?q?lien_d=C3=A9j=C3=A0?= =?utf-8?q?_l=C3=A0?= ok"),
            "Votre lien déjà là ok"
        );
        assert_eq!(decode_words("a =?x b"), "a =?x b");
    }

    #[test]
    fn quoted_printable_is_decoded() {
        assert_eq!(
            quoted_printable("Voil=C3=A0 un tr=C3=A8=\r\ns long =3D texte="),
            "Voilà un très long = texte=".as_bytes()
        );
    }

    #[test]
    fn multiparts_are_opened() {
        let data = "Subject: x\r\nContent-Type: multipart/alternative;\r\n boundary=\"b1\"\r\n\r\n\
                    --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\
                    Content-Transfer-Encoding: quoted-printable\r\n\r\nh=C3=A9\r\n\
                    --b1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                    PHA+aMOpPC9wPg==\r\n--b1--\r\n";
        let mail = ReceivedMail {
            envelope_from: String::new(),
            recipients: Vec::new(),
            data: data.to_owned(),
        };
        assert_eq!(
            mail.header("content-type").as_deref(),
            Some("multipart/alternative; boundary=\"b1\"")
        );
        assert_eq!(mail.text_body().as_deref(), Some("hé"));
        assert_eq!(mail.html_body().as_deref(), Some("<p>hé</p>"));
    }
}
