//! Purging long-expired sessions on a schedule: [`Purger`].

use std::sync::Arc;
use std::time::Duration;

use portal_sessions::{Engine, ErrorChain, SessionStore};

/// How long after expiry a session is kept by default (so that lists with `includeExpired` still
/// show it, and its webhook events are retried for at least a day): a day.
pub const PURGE_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// How often expired sessions are purged by default: every ten minutes.
pub const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Purges the sessions that expired more than a grace ago
/// ([`Engine::purge_expired`]), every interval, on a task of its own: once at start, then every
/// [`every`](Self::every). Logs each purge through `tracing` (how many, or why it failed: a failed
/// purge is tried again at the next interval).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use portal_sessions::{Engine, StaticDirectory};
/// use portal_sessions_axum::Purger;
/// use portal_sessions_memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let engine = Arc::new(Engine::new(MemoryStore::new(), StaticDirectory::default()));
/// let purger = Purger::new(engine)
///     .every(Duration::from_secs(600))
///     .grace(Duration::from_secs(24 * 60 * 60))
///     .spawn();
/// // ... serve, then at shutdown:
/// purger.stop();
/// # }
/// ```
#[derive(Debug)]
pub struct Purger<S> {
    engine: Arc<Engine<S>>,
    every: Duration,
    grace: Duration,
}

impl<S: SessionStore> Purger<S> {
    /// A purger of `engine`'s store, every [`PURGE_EVERY`] with a grace of [`PURGE_GRACE`].
    pub fn new(engine: Arc<Engine<S>>) -> Purger<S> {
        Purger {
            engine,
            every: PURGE_EVERY,
            grace: PURGE_GRACE,
        }
    }

    /// How often to purge (at least a millisecond: shorter is taken as one).
    pub fn every(mut self, every: Duration) -> Purger<S> {
        self.every = every.max(Duration::from_millis(1));
        self
    }

    /// How long after its expiry a session is kept.
    pub fn grace(mut self, grace: Duration) -> Purger<S> {
        self.grace = grace;
        self
    }

    /// Starts purging, on a task of its own. Dropping the returned handle leaves the task
    /// running: [`PurgeTask::stop`] stops it.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (as `tokio::spawn` does).
    pub fn spawn(self) -> PurgeTask {
        let Purger {
            engine,
            every,
            grace,
        } = self;
        PurgeTask {
            task: tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                loop {
                    ticks.tick().await;
                    match engine.purge_expired(grace).await {
                        Ok(purged) => tracing::info!(purged, "purged long-expired sessions"),
                        Err(error) => tracing::warn!(
                            error = %ErrorChain(&error),
                            "purging expired sessions failed"
                        ),
                    }
                }
            }),
        }
    }
}

/// The running [`Purger`].
#[derive(Debug)]
pub struct PurgeTask {
    task: tokio::task::JoinHandle<()>,
}

impl PurgeTask {
    /// Stops purging. A purge under way is dropped where it stands: what it deleted stays deleted,
    /// the rest is another purge's.
    pub fn stop(self) {
        self.task.abort();
    }
}
