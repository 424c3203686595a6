//! The last pass: from the [schema](super::schema)'s values to a [`Config`], checking what a type
//! cannot say (ranges, formats, keys that must be there, and the rules between keys) and
//! reporting every error. A value left out by an earlier pass is not checked again, nor is what
//! depends on it, so that one mistake is reported once.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use ipnet::IpNet;
use portal_sessions::{CustomerId, CustomerSnapshot, Locale, OrgId};
use portal_sessions_axum::{
    AttemptLimit, Branding, CustomerBilling, FrameAncestor, HttpsUrl, Invoice, OrgRecovery,
    Subscription, UsageLine,
};

use super::report::{Report, join};
use super::schema;
use super::shape::Shape;
use super::{
    Config, DEFAULT_STARTUP_TIMEOUT, EmailSettings, Limits, LogFormat, Org, PostgresSettings,
    SledSettings, StoreSpec, is_strong_secret_key,
};
use crate::http::HttpLimits;
use crate::webhooks::{EventSettings, Webhook, WebhookError};

/// A field of a schema table, with its path: `key!(at, table.field)`. The path is spelled by the
/// field itself, so that it cannot drift from the schema.
macro_rules! key {
    ($at:expr, $table:ident . $field:ident) => {
        (join($at, stringify!($field)), $table.$field)
    };
}

/// A value of a schema table, with its path.
type Field<T> = (String, Option<T>);

/// A webhook secret that passes the check, to check a webhook's URL on its own when its secret is
/// wrong or missing (so that both are reported). Never used to sign anything.
const PROBE_WEBHOOK_SECRET: &str = "whsec_0123456789abcdefghijklmn";

/// The clients that may read `/metrics` on `listen` unless `metrics_allow` says otherwise.
const LOOPBACK: [IpNet; 2] = [
    IpNet::V4(ipnet::Ipv4Net::new_assert(
        std::net::Ipv4Addr::new(127, 0, 0, 0),
        8,
    )),
    IpNet::V6(ipnet::Ipv6Net::new_assert(
        std::net::Ipv6Addr::LOCALHOST,
        128,
    )),
];

/// All of them, or `None` when one is missing (each is looked at: none is skipped).
fn all<T>(items: Vec<Option<T>>) -> Option<Vec<T>> {
    items.into_iter().collect()
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// The rules a value's type cannot say.
impl Report<'_> {
    fn text(&self, path: &str, value: String, max: usize) -> Option<String> {
        if value.trim().is_empty() {
            self.fail(path, "must not be empty")
        } else if value.len() > max {
            self.fail(path, format!("must be at most {max} bytes"))
        } else if value.chars().any(char::is_control) {
            self.fail(path, "must not contain control characters")
        } else {
            Some(value)
        }
    }

    /// A text that must be there.
    fn required_text(&self, (path, value): Field<String>, max: usize) -> Option<String> {
        self.required(&path, value)
            .and_then(|value| self.text(&path, value, max))
    }

    fn date(&self, path: &str, value: String) -> Option<String> {
        let ok = value.len() == 10
            && portal_sessions::Timestamp::parse_rfc3339(&format!("{value}T00:00:00.000Z"))
                .is_some();
        if ok {
            Some(value)
        } else {
            self.fail(path, "must be a date, YYYY-MM-DD")
        }
    }

    fn currency(&self, (path, value): Field<String>) -> Option<String> {
        let value = self.required(&path, value)?;
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
            Some(value)
        } else {
            self.fail(
                &path,
                "must be a three-letter ISO 4217 code in capitals, like USD",
            )
        }
    }

    /// A number of seconds in `range` (`default` when absent), as a duration.
    fn seconds(
        &self,
        (path, value): &Field<f64>,
        default: f64,
        range: RangeInclusive<f64>,
    ) -> Option<Duration> {
        let value = self.or(path, *value, default)?;
        if value.is_finite() && range.contains(&value) {
            Some(Duration::from_secs_f64(value))
        } else {
            self.fail(
                path,
                format!(
                    "must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            )
        }
    }

    /// A whole number in `range` (`default` when absent).
    fn count(
        &self,
        (path, value): Field<i64>,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Option<u64> {
        let value = self.or(&path, value, default)?;
        self.in_range(&path, value, range)
    }

    fn in_range(&self, path: &str, value: i64, range: RangeInclusive<i64>) -> Option<u64> {
        if range.contains(&value) {
            Some(value.unsigned_abs())
        } else {
            self.fail(
                path,
                format!("must be between {} and {}", range.start(), range.end()),
            )
        }
    }

    fn not_negative(&self, (path, value): Field<i64>) -> Option<i64> {
        let value = self.required(&path, value)?;
        if value < 0 {
            self.fail(&path, "must not be negative")
        } else {
            Some(value)
        }
    }

    /// Whether any key of a table of this shape is given at `at` (rightly or not).
    fn any_given(&self, at: &str, shape: &Shape) -> bool {
        shape.keys().iter().any(|key| self.is_given(&join(at, key)))
    }
}

/// The configuration, when it is valid whole.
pub(super) fn config(r: &Report<'_>, file: schema::File) -> Option<Config> {
    let (path, listen) = key!("", file.listen);
    let listen = r
        .or(&path, listen, "127.0.0.1:8080".to_owned())
        .and_then(|text| {
            text.parse::<SocketAddr>()
                .ok()
                .or_else(|| r.fail(&path, "must be an address and port, like 127.0.0.1:8080"))
        });
    let (path, public_url) = key!("", file.public_url);
    let public_url = match r.read(&path, public_url) {
        Ok(Some(url)) => Some(url),
        Ok(None) => listen.map(|listen| format!("http://{listen}")),
        Err(_) => None,
    }
    .and_then(|url| {
        let url = url.trim_end_matches('/').to_owned();
        if portal_sessions::validate_return_url(&url).is_err() || url.contains(['?', '#']) {
            r.fail(
                &path,
                "must be an absolute http or https URL without a query",
            )
        } else {
            Some(url)
        }
    });
    let ttl = r.count(key!("", file.session_ttl_seconds), 3600, 1..=86_400);
    let (path, store) = key!("", file.store);
    let store = r
        .or(&path, store, "sled:./portal-data".to_owned())
        .and_then(|text| {
            StoreSpec::parse(&text)
                .map_err(|reason| r.error(&path, reason))
                .ok()
        });
    let (path, show_all_sections) = key!("", file.show_all_sections);
    let show_all_sections = r.or(&path, show_all_sections, false);
    let (path, trusted_proxies) = key!("", file.trusted_proxies);
    let trusted_proxies = networks(r, &path, trusted_proxies).map(Option::unwrap_or_default);
    let (path, metrics_allow) = key!("", file.metrics_allow);
    let metrics_allow =
        networks(r, &path, metrics_allow).map(|allow| allow.unwrap_or_else(|| LOOPBACK.to_vec()));
    let (path, default_locale) = key!("", file.default_locale);
    let default_locale = r
        .read(&path, default_locale)
        .ok()
        .and_then(|text| match text {
            None => Some(Locale::ENGLISH),
            Some(text) => text.parse().ok().or_else(|| {
                r.fail(
                    &path,
                    "must be en, fr, de or es, optionally with a region such as fr-CA",
                )
            }),
        });
    let (path, log_format) = key!("", file.log_format);
    let log_format = r.or(&path, log_format, LogFormat::Text);
    let (path, metrics_listen) = key!("", file.metrics_listen);
    let metrics_listen = r
        .read(&path, metrics_listen)
        .ok()
        .and_then(|text| match text {
            None => Some(None),
            Some(text) => text
                .parse::<SocketAddr>()
                .ok()
                .map(Some)
                .or_else(|| r.fail(&path, "must be an address and port, like 127.0.0.1:9090")),
        });
    let limits = limits(r, file.limits.unwrap_or_default());
    let http = http(r, file.http.unwrap_or_default());
    let sled = sled(r, file.sled.unwrap_or_default(), store.as_ref());
    let postgres = postgres(r, file.postgres.unwrap_or_default(), store.as_ref());
    let events = events(r, file.events.unwrap_or_default());
    let email = email(r, file.email);
    // Whether pages may be framed at all: a frame keeps the portal cookie only when it is Secure,
    // which a browser takes from https, or from a loopback host in development.
    let framing_allowed = public_url.as_deref().map(allows_framing);
    let orgs = orgs(
        r,
        file.orgs,
        email.as_ref().map(Option::is_some),
        framing_allowed,
    );
    Some(Config {
        listen: listen?,
        public_url: public_url?,
        session_ttl: Duration::from_secs(ttl?),
        store: store?,
        show_all_sections: show_all_sections?,
        trusted_proxies: trusted_proxies?,
        default_locale: default_locale?,
        log_format: log_format?,
        metrics_listen: metrics_listen?,
        metrics_allow: metrics_allow?,
        limits: limits?,
        http: http?,
        sled: sled?,
        postgres: postgres?,
        events: events?,
        email: email?,
        orgs: orgs?,
    })
}

/// `[email]`: how the server sends mail, when it does.
fn email(r: &Report<'_>, table: Option<schema::Email>) -> Option<Option<EmailSettings>> {
    let at = "email";
    let Some(table) = r.read(at, table).ok()? else {
        return Some(None);
    };
    let (url_path, smtp_url) = key!(at, table.smtp_url);
    let (from_path, from) = key!(at, table.from);
    let smtp_url = r.required(&url_path, smtp_url);
    let from = r.required(&from_path, from).and_then(|from| {
        crate::mail::check_sender(&from)
            .map(|()| from)
            .map_err(|reason| r.error(&from_path, reason))
            .ok()
    });
    let smtp_url = smtp_url.and_then(|url| {
        // Built once to check it (no connection is made); the error never repeats the URL.
        crate::mail::check_smtp_url(&url)
            .map(|()| url)
            .map_err(|reason| r.error(&url_path, reason))
            .ok()
    });
    Some(Some(EmailSettings {
        smtp_url: smtp_url?,
        from: from?,
    }))
}

/// `[orgs.recovery]`: `None` when absent or not enabled. `has_email` is whether `[email]` is
/// configured (`None` when it was itself wrong, so that the org is not blamed for it).
fn recovery(
    r: &Report<'_>,
    at: &str,
    table: Option<schema::Recovery>,
    has_email: Option<bool>,
) -> Option<Option<OrgRecovery>> {
    let Some(table) = r.read(at, table).ok()? else {
        return Some(None);
    };
    let (enabled_path, enabled) = key!(at, table.enabled);
    let enabled = r.or(&enabled_path, enabled, false);
    let window_days = r.count(key!(at, table.window_days), 7, 1..=90);
    let (path, login_page) = key!(at, table.login_page);
    let login_page = r.or(&path, login_page, false);
    let max_emails = r.count(key!(at, table.max_emails_per_hour), 5, 1..=1_000);
    let (path, from) = key!(at, table.from);
    let from = r.read(&path, from).ok().and_then(|from| match from {
        None => Some(None),
        Some(from) => crate::mail::check_sender(&from)
            .map(|()| Some(from))
            .map_err(|reason| r.error(&path, reason))
            .ok(),
    });
    let enabled = enabled?;
    if enabled && has_email == Some(false) {
        return r.fail(
            &enabled_path,
            "needs [email] (smtp_url and from): recovery sends links by email",
        );
    }
    let recovery = OrgRecovery {
        policy: portal_sessions::RecoveryPolicy {
            window: Duration::from_secs(window_days? * 24 * 60 * 60),
            max_emails_per_hour: u32::try_from(max_emails?).unwrap_or(u32::MAX),
        },
        login_page: login_page?,
        from: from?,
    };
    Some(enabled.then_some(recovery))
}

/// A list of networks (`10.0.0.0/8`, or an address alone): `Some(None)` when absent.
fn networks(r: &Report<'_>, path: &str, list: Option<Vec<String>>) -> Option<Option<Vec<IpNet>>> {
    let Some(list) = r.read(path, list).ok()? else {
        return Some(None);
    };
    all(r
        .items(path, list)
        .into_iter()
        .map(|(path, text)| {
            let text = text?;
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .ok()
                .or_else(|| {
                    r.fail(
                        &path,
                        "must be an IP address or a network in CIDR form, like 10.0.0.0/8",
                    )
                })
        })
        .collect())
    .map(Some)
}

fn limits(r: &Report<'_>, table: schema::Limits) -> Option<Limits> {
    let at = "limits";
    let window = r.seconds(&key!(at, table.window_seconds), 60.0, 1.0..=86_400.0);
    let max_clients = r.count(key!(at, table.max_clients), 100_000, 1..=10_000_000);
    let (path, enabled) = key!(at, table.enabled);
    let enabled = r.or(&path, enabled, true);
    let failures = |field| r.count(field, 20, 0..=1_000_000);
    let links = failures(key!(at, table.link_failures));
    let cookies = failures(key!(at, table.cookie_failures));
    let api_keys = failures(key!(at, table.api_key_failures));
    let login_posts = r.count(key!(at, table.login_posts), 10, 0..=1_000_000);
    let (window, max_clients, enabled) = (window?, max_clients?, enabled?);
    let limit = |failures: u64| {
        (enabled && failures > 0).then(|| AttemptLimit {
            max_failures: u32::try_from(failures).unwrap_or(u32::MAX),
            window,
            max_clients: to_usize(max_clients),
        })
    };
    Some(Limits {
        links: limit(links?),
        cookies: limit(cookies?),
        api_keys: limit(api_keys?),
        login_posts: limit(login_posts?),
    })
}

fn http(r: &Report<'_>, table: schema::Http) -> Option<HttpLimits> {
    let at = "http";
    let header_timeout = r.seconds(
        &key!(at, table.header_timeout_seconds),
        10.0,
        0.05..=3_600.0,
    );
    let body_timeout = r.seconds(&key!(at, table.body_timeout_seconds), 30.0, 0.05..=3_600.0);
    let max_connections = r.count(key!(at, table.max_connections), 1024, 1..=1_000_000);
    let per_client = r.count(
        key!(at, table.max_connections_per_client),
        256,
        1..=1_000_000,
    );
    let shutdown_grace = r.seconds(&key!(at, table.shutdown_grace_seconds), 10.0, 0.0..=3_600.0);
    Some(HttpLimits {
        header_timeout: header_timeout?,
        body_timeout: body_timeout?,
        max_connections: to_usize(max_connections?),
        max_connections_per_client: to_usize(per_client?),
        shutdown_grace: shutdown_grace?,
    })
}

fn events(r: &Report<'_>, table: schema::Events) -> Option<EventSettings> {
    let at = "events";
    let defaults = EventSettings::default();
    let seconds = |field, default: Duration, range| r.seconds(field, default.as_secs_f64(), range);
    let poll_interval = key!(at, table.poll_interval_seconds);
    let poll_interval = seconds(&poll_interval, defaults.poll_interval, 0.01..=3_600.0);
    let lease_field = key!(at, table.lease_seconds);
    let lease = seconds(&lease_field, defaults.lease, 0.1..=86_400.0);
    let max_in_flight = r.count(key!(at, table.max_in_flight), 32, 1..=10_000);
    let request_timeout_field = key!(at, table.request_timeout_seconds);
    let request_timeout = seconds(
        &request_timeout_field,
        defaults.request_timeout,
        0.05..=3_600.0,
    );
    let retry_base_field = key!(at, table.retry_base_seconds);
    let retry_base = seconds(&retry_base_field, defaults.retry_base, 0.01..=86_400.0);
    let retry_max_field = key!(at, table.retry_max_seconds);
    let retry_max = seconds(&retry_max_field, defaults.retry_max, 0.01..=86_400.0);
    let mut ok = true;
    if let (Some(request_timeout), Some(lease)) = (request_timeout, lease) {
        if request_timeout >= lease {
            r.error(
                &request_timeout_field.0,
                format!(
                    "must be less than {} (a delivery must end while its session is still this \
                     server's)",
                    lease_field.0
                ),
            );
            ok = false;
        }
    }
    if let (Some(retry_base), Some(retry_max)) = (retry_base, retry_max) {
        if retry_max < retry_base {
            r.error(
                &retry_max_field.0,
                format!("must be at least {}", retry_base_field.0),
            );
            ok = false;
        }
    }
    let settings = EventSettings {
        poll_interval: poll_interval?,
        lease: lease?,
        max_in_flight: to_usize(max_in_flight?),
        request_timeout: request_timeout?,
        retry_base: retry_base?,
        retry_max: retry_max?,
    };
    ok.then_some(settings)
}

fn sled(r: &Report<'_>, table: schema::Sled, store: Option<&StoreSpec>) -> Option<SledSettings> {
    let at = "sled";
    let mut ok = true;
    let given = r.any_given(at, &Shape::of::<schema::Sled>());
    if given && store.is_some_and(|store| !matches!(store, StoreSpec::Sled(_))) {
        r.error(at, "is only for a sled: store");
        ok = false;
    }
    let default = i64::try_from(SledSettings::default().min_free_bytes).unwrap_or(i64::MAX);
    let min_free_bytes = r.count(key!(at, table.min_free_bytes), default, 0..=i64::MAX);
    let settings = SledSettings {
        min_free_bytes: min_free_bytes?,
    };
    ok.then_some(settings)
}

fn postgres(
    r: &Report<'_>,
    table: schema::Postgres,
    store: Option<&StoreSpec>,
) -> Option<PostgresSettings> {
    let at = "postgres";
    let mut ok = true;
    let given = r.any_given(at, &Shape::of::<schema::Postgres>());
    if given && store.is_some_and(|store| !matches!(store, StoreSpec::Postgres(_))) {
        r.error(at, "is only for a postgres:// store");
        ok = false;
    }
    let (path, schema) = key!(at, table.schema);
    let schema = r.read(&path, schema).ok().and_then(|schema| match schema {
        None => Some(None),
        Some(schema) => match portal_sessions_postgres::SchemaName::new(&schema) {
            Ok(_) => Some(Some(schema)),
            Err(error) => r.fail(&path, error.to_string()),
        },
    });
    let (path, max_connections) = key!(at, table.max_connections);
    let max_connections = r
        .read(&path, max_connections)
        .ok()
        .and_then(|max| match max {
            None => Some(None),
            Some(max) => r
                .in_range(&path, max, 1..=10_000)
                .map(|max| Some(to_usize(max))),
        });
    let (path, root_certificates) = key!(at, table.root_certificates);
    let root_certificates = r
        .read(&path, root_certificates)
        .ok()
        .and_then(|file| match file {
            Some(file) if !std::path::Path::new(&file).is_file() => {
                r.fail(&path, "must be a readable PEM file")
            }
            file => Some(file),
        });
    let startup_timeout = r.seconds(
        &key!(at, table.startup_timeout_seconds),
        DEFAULT_STARTUP_TIMEOUT.as_secs_f64(),
        1.0..=86_400.0,
    );
    let settings = PostgresSettings {
        schema: schema?,
        max_connections: max_connections?,
        root_certificates: root_certificates?,
        startup_timeout: startup_timeout?,
    };
    ok.then_some(settings)
}

/// Whether a public URL can serve pages that other sites frame: https, or http on a loopback host.
fn allows_framing(public_url: &str) -> bool {
    let lower = public_url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return true;
    }
    let host = lower
        .strip_prefix("http://")
        .unwrap_or_default()
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = if host.starts_with('[') {
        host.find(']').map_or(host, |end| &host[..=end])
    } else {
        host.split(':').next().unwrap_or_default()
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn orgs(
    r: &Report<'_>,
    list: Option<Vec<schema::Org>>,
    has_email: Option<bool>,
    framing_allowed: Option<bool>,
) -> Option<Vec<Org>> {
    let path = "orgs";
    let list = r.read(path, list).ok()?.unwrap_or_default();
    if list.is_empty() {
        return r.fail(path, "at least one organisation is needed");
    }
    let mut org_ids = HashSet::new();
    let mut all_keys = HashSet::new();
    all(r
        .items(path, list)
        .into_iter()
        .map(|(at, table)| {
            org(
                r,
                &at,
                table?,
                (&mut org_ids, &mut all_keys),
                has_email,
                framing_allowed,
            )
        })
        .collect())
}

fn org(
    r: &Report<'_>,
    at: &str,
    table: schema::Org,
    (org_ids, all_keys): (&mut HashSet<OrgId>, &mut HashSet<String>),
    has_email: Option<bool>,
    framing_allowed: Option<bool>,
) -> Option<Org> {
    let (path, id) = key!(at, table.id);
    let id = r.required(&path, id).and_then(|text| {
        let id = text
            .parse::<OrgId>()
            .ok()
            .or_else(|| r.fail(&path, "must be a UUID"))?;
        if org_ids.insert(id) {
            Some(id)
        } else {
            r.fail(&path, "is used by another organisation")
        }
    });
    let name = r.required_text(key!(at, table.name), 200);
    let (path, secret_keys) = key!(at, table.secret_keys);
    let secret_keys = r.read(&path, secret_keys).ok().and_then(|keys| {
        let keys = keys.unwrap_or_default();
        if keys.is_empty() {
            return r.fail(&path, "at least one secret key is needed");
        }
        all(r
            .items(&path, keys)
            .into_iter()
            .map(|(path, key)| {
                let key = key?;
                if !is_strong_secret_key(&key) {
                    r.fail(
                        &path,
                        "must be mf_sk_ followed by at least 20 printable characters without \
                         spaces, at least 10 of them different (generate one; never reuse a \
                         published key)",
                    )
                } else if !all_keys.insert(key.clone()) {
                    r.fail(&path, "is configured twice")
                } else {
                    Some(key)
                }
            })
            .collect())
    });
    let (path, publishable_keys) = key!(at, table.publishable_keys);
    let publishable_keys = r.read(&path, publishable_keys).ok().and_then(|keys| {
        all(r
            .items(&path, keys.unwrap_or_default())
            .into_iter()
            .map(|(path, key)| {
                let key = key?;
                if !key.starts_with("mf_pk_") || key.bytes().any(|b| !b.is_ascii_graphic()) {
                    r.fail(&path, "must start with mf_pk_ and have no spaces")
                } else if !all_keys.insert(key.clone()) {
                    r.fail(&path, "is configured twice")
                } else {
                    Some(key)
                }
            })
            .collect())
    });
    let (path, logo_url) = key!(at, table.logo_url);
    let logo_url = r.read(&path, logo_url).ok().and_then(|url| match url {
        Some(url)
            if !url.starts_with("https://")
                || portal_sessions::validate_return_url(&url).is_err() =>
        {
            r.fail(&path, "must be an https URL")
        }
        url => Some(url),
    });
    let (path, brand_color) = key!(at, table.brand_color);
    let brand_color = r
        .read(&path, brand_color)
        .ok()
        .and_then(|color| match color {
            Some(color) if !Branding::is_hex_color(&color) => {
                r.fail(&path, "must be a colour as #rrggbb")
            }
            color => Some(color),
        });
    let (path, webhooks) = key!(at, table.webhooks);
    let webhooks = r.read(&path, webhooks).ok().and_then(|tables| {
        let mut urls = HashSet::new();
        all(r
            .items(&path, tables.unwrap_or_default())
            .into_iter()
            .map(|(at, table)| webhook(r, &at, table?, &mut urls))
            .collect())
    });
    let (path, customers) = key!(at, table.customers);
    let customers = r.read(&path, customers).ok().and_then(|tables| {
        let (mut ids, mut external_ids) = (HashSet::new(), HashSet::new());
        all(r
            .items(&path, tables.unwrap_or_default())
            .into_iter()
            .map(|(at, table)| customer(r, &at, table?, &mut ids, &mut external_ids))
            .collect())
    });
    let recovery = recovery(r, &join(at, "recovery"), table.recovery, has_email);
    let (path, frame_ancestors) = key!(at, table.frame_ancestors);
    let frame_ancestors = r.read(&path, frame_ancestors).ok().and_then(|origins| {
        let origins = origins.unwrap_or_default();
        if !origins.is_empty() && framing_allowed == Some(false) {
            return r.fail(
                &path,
                "needs an https public_url (or http on localhost): a frame keeps the portal's \
                 cookie only when it is Secure",
            );
        }
        all(r
            .items(&path, origins)
            .into_iter()
            .map(|(path, origin)| {
                FrameAncestor::new(&origin?)
                    .map_err(|error| r.error(&path, error.to_string()))
                    .ok()
            })
            .collect())
    });
    Some(Org {
        id: id?,
        branding: {
            let mut branding = Branding::new(name?).with_frame_ancestors(frame_ancestors?);
            branding.logo_url = logo_url?;
            branding.brand_color = brand_color?;
            branding
        },
        secret_keys: secret_keys?,
        publishable_keys: publishable_keys?,
        customers: customers?,
        webhooks: webhooks?,
        recovery: recovery?,
    })
}

fn webhook(
    r: &Report<'_>,
    at: &str,
    table: schema::Webhook,
    urls: &mut HashSet<axum::http::Uri>,
) -> Option<Webhook> {
    let (url_path, url) = key!(at, table.url);
    let (secret_path, secret) = key!(at, table.secret);
    let url = r.required(&url_path, url);
    let secret = r.required(&secret_path, secret).and_then(|secret| {
        if crate::webhooks::is_strong_webhook_secret(&secret) {
            Some(secret)
        } else {
            r.fail(&secret_path, WebhookError::Secret.to_string())
        }
    });
    let url = url?;
    let webhook = Webhook::new(&url, secret.as_deref().unwrap_or(PROBE_WEBHOOK_SECRET))
        .map_err(|error| match error {
            WebhookError::Url => r.error(&url_path, error.to_string()),
            WebhookError::Secret => r.error(&secret_path, error.to_string()),
        })
        .ok()?;
    if !urls.insert(webhook.url().clone()) {
        return r.fail(&url_path, "is configured twice for this organisation");
    }
    secret.map(|_| webhook)
}

fn customer(
    r: &Report<'_>,
    at: &str,
    table: schema::Customer,
    ids: &mut HashSet<CustomerId>,
    external_ids: &mut HashSet<String>,
) -> Option<(CustomerSnapshot, CustomerBilling)> {
    let (path, id) = key!(at, table.id);
    let id = r.required(&path, id).and_then(|text| {
        let id = text
            .parse::<CustomerId>()
            .ok()
            .or_else(|| r.fail(&path, "must be a UUID"))?;
        if ids.insert(id) {
            Some(id)
        } else {
            r.fail(&path, "is used by another customer of this organisation")
        }
    });
    let (path, external_id) = key!(at, table.external_id);
    let external_id = r.required(&path, external_id).and_then(|external_id| {
        if let Err(error) = portal_sessions::validate_external_id(&external_id) {
            r.fail(&path, error.to_string())
        } else if !external_ids.insert(external_id.clone()) {
            r.fail(&path, "is used by another customer of this organisation")
        } else {
            Some(external_id)
        }
    });
    let name = r.required_text(key!(at, table.name), portal_sessions::MAX_NAME_BYTES);
    let (path, email) = key!(at, table.email);
    let email = r.read(&path, email).ok().and_then(|email| match email {
        None => Some(None),
        Some(email) => {
            let email = r.text(&path, email, portal_sessions::MAX_EMAIL_BYTES)?;
            if email.contains('@') {
                Some(Some(email))
            } else {
                r.fail(&path, "must be an email address")
            }
        }
    });
    let (path, locale) = key!(at, table.locale);
    let locale = r.read(&path, locale).ok().and_then(|text| match text {
        None => Some(None),
        Some(text) => text.parse::<Locale>().ok().map(Some).or_else(|| {
            r.fail(
                &path,
                "must be en, fr, de or es, optionally with a region such as fr-CA",
            )
        }),
    });
    let (path, sub) = key!(at, table.subscription);
    let subscription = r.read(&path, sub).ok().and_then(|sub| match sub {
        None => Some(None),
        Some(sub) => subscription(r, &path, sub).map(Some),
    });
    let (path, invoices) = key!(at, table.invoices);
    let invoices = r.read(&path, invoices).ok().and_then(|tables| {
        all(r
            .items(&path, tables.unwrap_or_default())
            .into_iter()
            .map(|(at, table)| invoice(r, &at, table?))
            .collect())
    });
    let (path, usage) = key!(at, table.usage);
    let usage = r.read(&path, usage).ok().and_then(|tables| {
        all(r
            .items(&path, tables.unwrap_or_default())
            .into_iter()
            .map(|(at, table)| usage_line(r, &at, table?))
            .collect())
    });
    let snapshot = CustomerSnapshot {
        id: id?,
        external_id: external_id?,
        name: name?,
        email: email?,
        locale: locale?,
    };
    let billing = CustomerBilling::new(subscription?, invoices?, usage?);
    Some((snapshot, billing))
}

fn subscription(r: &Report<'_>, at: &str, table: schema::Subscription) -> Option<Subscription> {
    let plan = r.required_text(key!(at, table.plan), 200);
    let (path, status) = key!(at, table.status);
    let status = r.required(&path, status);
    let amount_cents = r.not_negative(key!(at, table.amount_cents));
    let currency = r.currency(key!(at, table.currency));
    let (path, interval) = key!(at, table.interval);
    let interval = r.required(&path, interval);
    let (path, renews_on) = key!(at, table.renews_on);
    let renews_on = r.read(&path, renews_on).ok().and_then(|date| match date {
        None => Some(None),
        Some(date) => r.date(&path, date).map(Some),
    });
    let mut subscription = Subscription::new(plan?, status?, amount_cents?, currency?, interval?);
    subscription.renews_on = renews_on?;
    Some(subscription)
}

fn invoice(r: &Report<'_>, at: &str, table: schema::Invoice) -> Option<Invoice> {
    let number = r.required_text(key!(at, table.number), 100);
    let (path, issued_on) = key!(at, table.issued_on);
    let issued_on = r
        .required(&path, issued_on)
        .and_then(|date| r.date(&path, date));
    let (path, amount_cents) = key!(at, table.amount_cents);
    let amount_cents = r.required(&path, amount_cents);
    let currency = r.currency(key!(at, table.currency));
    let (path, status) = key!(at, table.status);
    let status = r.required(&path, status);
    let link = |(path, url): Field<String>| {
        r.read(&path, url).ok().and_then(|url| match url {
            None => Some(None),
            Some(url) => HttpsUrl::new(url)
                .map(Some)
                .map_err(|error| r.error(&path, error.to_string()))
                .ok(),
        })
    };
    let pay_url = link(key!(at, table.pay_url));
    let pdf_url = link(key!(at, table.pdf_url));
    let mut invoice = Invoice::new(number?, issued_on?, amount_cents?, currency?, status?);
    invoice.pay_url = pay_url?;
    invoice.pdf_url = pdf_url?;
    Some(invoice)
}

fn usage_line(r: &Report<'_>, at: &str, table: schema::Usage) -> Option<UsageLine> {
    let metric = r.required_text(key!(at, table.metric), 200);
    let quantity = r.not_negative(key!(at, table.quantity));
    let unit = r.required_text(key!(at, table.unit), 50);
    let period = r.required_text(key!(at, table.period), 100);
    Some(UsageLine::new(metric?, quantity?, unit?, period?))
}
