//! No secret is ever written down: a full flow through the router (mint, open, redeem, view, log
//! out, revoke, and refused requests carrying wrong keys and tokens), with every tracing event of
//! every crate captured at TRACE level, then the raw sled files and a PostgreSQL table dump, searched
//! for each link token, verifier, viewer secret and API key in every form they could take.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use portal_sessions::{CustomerId, CustomerSnapshot, Engine, OrgId, SessionStore, StaticDirectory};
use portal_sessions_axum::{PortalService, StaticApiKeys, StaticPortalData};
use portal_sessions_postgres::testing as pg;
use portal_sessions_sled::SledStore;
use tower::ServiceExt;
use tracing_subscriber::fmt::MakeWriter;

const KEY: &str = "mf_sk_test_secret_scan_7d3a91c4e2";
const WRONG_KEY: &str = "mf_sk_test_wrong_key_5b8e0f2d6a";

/// Every log line of the process, at TRACE.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut all) = self.0.lock() {
            all.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(captured.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        captured
    })
}

/// The forms a secret could be written in: its text, its text without prefix, its raw bytes (for
/// binary files), and their hex and base64 spellings.
struct Secret {
    text: String,
    raw: Vec<u8>,
}

impl Secret {
    fn token(text: &str) -> Secret {
        let body = text.get(4..).unwrap_or_default();
        let decoded = URL_SAFE_NO_PAD.decode(body).unwrap_or_default();
        // selector (16) ‖ secret (32) ‖ checksum (4): the secret is what must never be stored.
        let raw = decoded.get(16..48).map(<[u8]>::to_vec).unwrap_or_default();
        assert_eq!(raw.len(), 32, "not a token");
        Secret {
            text: text.to_owned(),
            raw,
        }
    }

    fn key(text: &str) -> Secret {
        Secret {
            text: text.to_owned(),
            raw: text.as_bytes().to_vec(),
        }
    }

    fn spellings(&self) -> Vec<String> {
        let hex: String = self.raw.iter().map(|b| format!("{b:02x}")).collect();
        let mut spellings = vec![
            self.text.clone(),
            self.text.get(4..).unwrap_or_default().to_owned(),
            hex,
            URL_SAFE_NO_PAD.encode(&self.raw),
            base64::engine::general_purpose::STANDARD.encode(&self.raw),
            format!("{:?}", self.raw),
        ];
        spellings.retain(|s| s.len() >= 16);
        spellings
    }

    fn assert_absent_from_text(&self, what: &str, haystack: &str) {
        for spelling in self.spellings() {
            assert!(
                !haystack.contains(&spelling),
                "{what} contains a secret ({} chars of it)",
                spelling.len()
            );
        }
    }

    fn assert_absent_from_bytes(&self, what: &str, haystack: &[u8]) {
        for needle in [self.raw.as_slice(), self.text.as_bytes()] {
            assert!(
                !haystack
                    .windows(needle.len())
                    .any(|window| window == needle),
                "{what} holds a secret in plain form"
            );
        }
    }
}

fn router<S: SessionStore>(store: S) -> Router {
    let org = OrgId::from_bytes([0x5e; 16]);
    let mut directory = StaticDirectory::default();
    let customer = CustomerSnapshot {
        id: CustomerId::from_bytes([0x5f; 16]),
        external_id: "secret-scan".into(),
        name: "Scan Customer".into(),
        email: Some("scan@example.test".into()),
        locale: None,
    };
    if let Err(error) = directory.insert(org, customer) {
        panic!("{error}");
    }
    let mut keys = StaticApiKeys::default();
    keys.add_secret(KEY, org);
    PortalService::new(
        Arc::new(Engine::new(store, directory)),
        keys,
        StaticPortalData::default(),
    )
    .public_url("http://127.0.0.1:8080")
    .router()
}

async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Body::from(body.to_owned()))
        .unwrap_or_default();
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(error) => match error {},
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A full flow; returns every secret it saw.
async fn flow(router: &Router) -> Vec<Secret> {
    let json = [("x-api-key", KEY), ("Content-Type", "application/json")];
    let (status, _, body) = send(
        router,
        "POST",
        "/v1/portal-sessions",
        &json,
        r#"{"customerExternalId":"secret-scan"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let token = created["token"].as_str().unwrap_or_default().to_owned();
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let link = format!("/r/{token}");

    assert_eq!(send(router, "GET", &link, &[], "").await.0, 200);
    let (status, headers, _) = send(router, "POST", &link, &[("User-Agent", "scan/1")], "").await;
    assert_eq!(status, 303);
    let cookie = headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.split(';').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let viewer = cookie
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    assert_eq!(
        send(
            router,
            "GET",
            "/portal",
            &[(header::COOKIE.as_str(), &cookie)],
            ""
        )
        .await
        .0,
        200
    );
    assert_eq!(send(router, "POST", &link, &[], "").await.0, 410);

    // Refused requests that carry secrets, right and wrong.
    let stranger = portal_sessions::LinkToken::generate()
        .map(|t| t.expose_secret())
        .unwrap_or_default();
    assert_eq!(
        send(
            router,
            "GET",
            "/v1/portal-sessions",
            &[("x-api-key", WRONG_KEY)],
            ""
        )
        .await
        .0,
        401
    );
    assert_eq!(
        send(router, "POST", &format!("/r/{stranger}"), &[], "")
            .await
            .0,
        404
    );
    let mangled = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(
        send(router, "GET", &format!("/r/{mangled}"), &[], "")
            .await
            .0,
        404
    );
    assert_eq!(
        send(
            router,
            "GET",
            "/v1/portal-sessions?includeExpired=true",
            &[("x-api-key", KEY)],
            ""
        )
        .await
        .0,
        200
    );

    assert_eq!(
        send(
            router,
            "POST",
            "/portal/logout",
            &[(header::COOKIE.as_str(), &cookie)],
            ""
        )
        .await
        .0,
        200
    );
    let second = {
        let (_, _, body) = send(
            router,
            "POST",
            "/v1/portal-sessions",
            &json,
            r#"{"customerExternalId":"secret-scan"}"#,
        )
        .await;
        let created: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        created["token"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(
        send(
            router,
            "DELETE",
            &format!("/v1/portal-sessions/{id}"),
            &[("x-api-key", KEY)],
            ""
        )
        .await
        .0,
        204
    );

    vec![
        Secret::token(&token),
        Secret::token(&second),
        Secret::token(&viewer),
        Secret::token(&stranger),
        Secret::key(KEY),
        Secret::key(WRONG_KEY),
    ]
}

fn files_under(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                all.extend_from_slice(&bytes);
            }
        }
    }
    all
}

#[test]
fn no_secret_reaches_the_logs_the_sled_files_or_the_database() {
    let logs = logs();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("{error}"),
    };
    let all_secrets = runtime.block_on(async {
        // sled: the flow, then every byte of every file.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = SledStore::open(dir.path().join("db")).unwrap_or_else(|e| panic!("{e}"));
        let secrets = flow(&router(store.clone())).await;
        if let Err(error) = store.flush().await {
            panic!("{error}");
        }
        drop(store);
        let bytes = files_under(dir.path());
        assert!(bytes.len() > 1_000, "the sled files were not found");
        for secret in &secrets {
            secret.assert_absent_from_bytes("the sled files", &bytes);
        }

        // PostgreSQL: the flow, then the table as text.
        let mut all_secrets = secrets;
        if let Some(store) = pg::migrated(pg::test_config()).await {
            let secrets_pg = flow(&router(store.clone())).await;
            let client = pg::admin_client().await;
            let rows = client
                .query(
                    &format!(
                        "SELECT t::text FROM \"{}\".portal_sessions t",
                        store.schema().as_str()
                    ),
                    &[],
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let dump: String = rows
                .iter()
                .filter_map(|row| row.try_get::<_, String>(0).ok())
                .collect::<Vec<_>>()
                .join("\n");
            assert!(dump.contains("Scan Customer"), "the dump is empty");
            for secret in &secrets_pg {
                secret.assert_absent_from_text("the PostgreSQL table", &dump);
            }
            pg::drop_schema(&store).await;
            all_secrets.extend(secrets_pg);
        }
        all_secrets
    });
    let captured = logs
        .0
        .lock()
        .map(|all| String::from_utf8_lossy(&all).into_owned())
        .unwrap_or_default();
    // The subscriber records every level down to TRACE; these INFO and DEBUG events prove the
    // capture saw the flow (the dependencies here emit nothing at TRACE themselves).
    assert!(
        captured.contains("portal link redeemed")
            && captured.contains("DEBUG")
            && captured.contains("sled session store opened"),
        "nothing was captured:\n{captured}"
    );
    for secret in &all_secrets {
        secret.assert_absent_from_text("the TRACE logs", &captured);
    }
    // And no token of any kind, nor either key, in any form that starts with its prefix.
    for marker in ["mgl_", "mgv_", KEY, WRONG_KEY] {
        assert!(!captured.contains(marker), "the logs contain {marker}...");
    }
}
