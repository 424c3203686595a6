//! Whether the session store can take a write: [`store_health`] and the route [`health_check`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use portal_sessions::{Engine, ErrorChain, SessionStore};

/// `200 OK` when `store` can take a write now ([`SessionStore::check_writable`]),
/// `503 Service Unavailable` when it cannot: a database that does not answer or is a read-only
/// standby, a file system under the sled store's free-space floor, or a sled store that failed
/// closed after an I/O error (which stays so until the process restarts, so that a supervisor
/// restarts it). A failure is logged through `tracing` at `WARN`, with its cause.
///
/// # Examples
///
/// ```
/// use axum::http::StatusCode;
/// use portal_sessions_axum::store_health;
/// use portal_sessions_memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(store_health(&MemoryStore::new()).await, StatusCode::OK);
/// # }
/// ```
pub async fn store_health<S: SessionStore + ?Sized>(store: &S) -> StatusCode {
    match store.check_writable().await {
        Ok(()) => StatusCode::OK,
        Err(error) => {
            tracing::warn!(
                error = %ErrorChain(&error),
                "health check: the session store cannot take writes"
            );
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// A `GET` (and `HEAD`) route for your health check over `engine`'s store ([`store_health`]):
/// `200 ok` or `503 store unavailable`, as plain text. It fits a router of any state.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use portal_sessions::{Engine, StaticDirectory};
/// use portal_sessions_axum::health_check;
/// use portal_sessions_memory::MemoryStore;
///
/// let engine = Arc::new(Engine::new(MemoryStore::new(), StaticDirectory::default()));
/// let app: axum::Router = axum::Router::new().route("/healthz", health_check(engine));
/// ```
pub fn health_check<S, T>(engine: Arc<Engine<S>>) -> MethodRouter<T>
where
    S: SessionStore,
    T: Clone + Send + Sync + 'static,
{
    get(answer::<S>).with_state(engine)
}

async fn answer<S: SessionStore>(State(engine): State<Arc<Engine<S>>>) -> Response {
    match store_health(engine.store()).await {
        StatusCode::OK => (StatusCode::OK, "ok\n").into_response(),
        status => (status, "store unavailable\n").into_response(),
    }
}
