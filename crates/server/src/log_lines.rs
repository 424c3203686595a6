//! Log lines written by a thread of their own, so that a request never waits on standard error.
//!
//! The server logs one line a request. Written straight to standard error, each line is a `write`
//! system call made on the request's own task, under standard error's lock. Here a line is
//! appended to a shared buffer (a short lock, no system call, nobody woken), and a writer thread
//! takes the whole buffer every [`WRITE_EVERY`] (sooner once it holds [`WRITE_AT`] bytes) and
//! writes it with one call: under load many lines share one `write`, and a line is out within
//! [`WRITE_EVERY`] when idle. Each line arrives whole (the formatter writes one event in one
//! call), so lines never interleave. No line is dropped: past [`MAX_BUFFERED`] bytes waiting, a
//! logger waits for the writer. A first version handed each line over a channel and woke the
//! writer for it; the wake-ups cost more than the writes they saved (`cargo bench -p
//! portal-sessions-benches --bench layers`).
//!
//! [`LogLines::finish`] (or dropping the handle) waits until everything logged before it is
//! written, which `main` does before the process exits.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How often the writer thread writes what is waiting.
pub const WRITE_EVERY: Duration = Duration::from_millis(20);
/// Bytes waiting that wake the writer before its time.
pub const WRITE_AT: usize = 64 * 1024;
/// Bytes waiting past which a logger waits for the writer.
pub const MAX_BUFFERED: usize = 8 * 1024 * 1024;
/// How long [`LogLines::finish`] waits for the lines before it to be written.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// What the loggers and the writer thread share.
struct Queue {
    state: Mutex<State>,
    /// Wakes the writer: a full buffer, or a finish.
    wake_writer: Condvar,
    /// Wakes those waiting for the buffer to be written: loggers past the limit, a finish.
    written: Condvar,
}

#[derive(Default)]
struct State {
    /// Lines waiting.
    buffer: Vec<u8>,
    /// Increases each time the writer has taken and written the buffer.
    rounds: u64,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A logger that panicked mid-append leaves whole lines before it: go on with them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one line; waits for the writer first when too much is waiting.
    fn push(&self, line: &[u8]) {
        let mut state = self.lock();
        while state.buffer.len() > MAX_BUFFERED {
            self.wake_writer.notify_one();
            let (next, _) = self
                .written
                .wait_timeout(state, WRITE_EVERY)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
        }
        state.buffer.extend_from_slice(line);
        if state.buffer.len() >= WRITE_AT {
            self.wake_writer.notify_one();
        }
    }
}

/// The logger's side: a [`tracing_subscriber::fmt::MakeWriter`] whose writers append whole lines.
#[derive(Clone)]
pub struct LineSender(Arc<Queue>);

/// One event's writer: the bytes the formatter writes, appended as one line when it is dropped.
pub struct Line {
    bytes: Vec<u8>,
    queue: Arc<Queue>,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            self.queue.push(&self.bytes);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LineSender {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            bytes: Vec::new(),
            queue: Arc::clone(&self.0),
        }
    }
}

/// The writer thread's handle: [`finish`](Self::finish) (or drop) waits until every line logged
/// before it is written.
pub struct LogLines(Arc<Queue>);

impl LogLines {
    /// Starts the writer thread over `out`; returns the sender for the subscriber and the handle.
    ///
    /// # Errors
    ///
    /// The operating system's error when the thread cannot be started.
    pub fn start(out: impl Write + Send + 'static) -> io::Result<(LineSender, LogLines)> {
        let queue = Arc::new(Queue {
            state: Mutex::new(State::default()),
            wake_writer: Condvar::new(),
            written: Condvar::new(),
        });
        let writer = Arc::clone(&queue);
        std::thread::Builder::new()
            .name("log-lines".to_owned())
            .spawn(move || write_lines(&writer, out))?;
        Ok((LineSender(Arc::clone(&queue)), LogLines(queue)))
    }

    /// Waits (up to a few seconds) until every line logged so far is written: what `main` does
    /// before the process exits, since the global subscriber never lets the thread end.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for LogLines {
    fn drop(&mut self) {
        let queue = &self.0;
        let mut state = queue.lock();
        // Two rounds of the writer: the one that may have taken lines before these (and still be
        // writing them), and the next, which takes whatever waits now.
        let until = state.rounds + 2;
        let deadline = std::time::Instant::now() + FINISH_WAIT;
        while state.rounds < until {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            queue.wake_writer.notify_one();
            let (next, _) = queue
                .written
                .wait_timeout(state, left.min(WRITE_EVERY))
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
        }
    }
}

/// The writer thread: every [`WRITE_EVERY`], or when woken, takes the whole buffer and writes it.
fn write_lines(queue: &Queue, mut out: impl Write) {
    let mut taken = Vec::new();
    loop {
        {
            let mut state = queue.lock();
            if state.buffer.is_empty() {
                let (next, _) = queue
                    .wake_writer
                    .wait_timeout(state, WRITE_EVERY)
                    .unwrap_or_else(PoisonError::into_inner);
                state = next;
            }
            std::mem::swap(&mut state.buffer, &mut taken);
        }
        if !taken.is_empty() {
            // Nowhere to say that standard error failed: the lines are lost, the server goes on.
            let _ = out.write_all(&taken);
            let _ = out.flush();
            taken.clear();
        }
        let mut state = queue.lock();
        state.rounds += 1;
        queue.written.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_finish() {
        let out = Shared::default();
        let (sender, lines) = LogLines::start(out.clone()).unwrap_or_else(|e| panic!("{e}"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sender = sender.clone();
                std::thread::spawn(move || {
                    for n in 0..5_000 {
                        let mut line = tracing_subscriber::fmt::MakeWriter::make_writer(&sender);
                        let _ = writeln!(line, "thread {t} line {n} {}", "x".repeat(n % 300));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .unwrap_or_else(|_| panic!("a logger panicked"));
        }
        lines.finish();
        let written = out.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let text = String::from_utf8(written).unwrap_or_else(|e| panic!("{e}"));
        let mut next = [0usize; 4];
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let (t, n): (usize, usize) = (
                words[1].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
                words[3].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
            );
            assert_eq!(n, next[t], "thread {t}'s lines in order, none lost");
            assert_eq!(words.get(4).map_or(0, |x| x.len()), n % 300, "{line}");
            next[t] += 1;
        }
        assert_eq!(
            next, [5_000; 4],
            "every line written before finish returned"
        );
    }
}
