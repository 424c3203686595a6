use super::*;

#[test]
fn debug_never_shows_a_key_or_a_password() {
    let text = DEMO.replace(
        "store = \"sled:./portal-data\"",
        "store = \"postgres://app:hunter2hunter2@db.internal/billing?password=hunter3\"",
    );
    let config = parse("<demo>", &text).unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{config:?}");
    assert!(shown.contains("db.internal"), "{shown}");
    for secret in ["hunter2", "hunter3", "mf_sk_test_demo", "mf_pk_"] {
        assert!(!shown.contains(secret), "Debug shows {secret}: {shown}");
    }
    assert_eq!(
        redact_url("postgres://app:pw@db/x?sslmode=require&password=p2&user=u"),
        "postgres://app:***@db/x?sslmode=require&password=***&user=u"
    );
}

#[test]
fn the_demo_is_valid() {
    let config = parse("<demo>", DEMO).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.orgs.len(), 1);
    assert_eq!(config.store, StoreSpec::Sled("./portal-data".into()));
    assert_eq!(config.orgs[0].customers[0].1.invoices.len(), 3);
}

#[test]
fn metrics_are_for_this_machine_and_connections_shared_unless_configured() {
    let config = parse("<demo>", DEMO).unwrap_or_else(|e| panic!("{e}"));
    let allowed = |ip: &str| {
        let ip: std::net::IpAddr = ip.parse().unwrap_or_else(|e| panic!("{e}"));
        config.metrics_allow.iter().any(|net| net.contains(&ip))
    };
    assert!(allowed("127.0.0.1") && allowed("127.9.9.9") && allowed("::1"));
    assert!(!allowed("10.0.0.1") && !allowed("::2") && !allowed("192.0.2.1"));
    assert_eq!(config.http.max_connections_per_client, 256);
    let none = format!("metrics_allow = []\n{DEMO}");
    let config = parse("<demo>", &none).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.metrics_allow.is_empty());
}

#[test]
fn the_default_locale_is_english_unless_configured() {
    let config = parse("<demo>", DEMO).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.default_locale, Locale::ENGLISH);
    let text = format!("default_locale = \"de-ch\"\n{DEMO}");
    let config = parse("x.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.default_locale.to_string(), "de-CH");
}

#[test]
fn webhooks_and_events_are_checked_and_never_echo_a_secret() {
    let secret = "whsec_7f3a9c1e5b0d2f4a6c8e1b3d5f7a";
    let with = |webhooks: &str, events: &str| format!("{DEMO}\n{webhooks}\n{events}");
    let hook = format!(
        "[[orgs.webhooks]]\nurl = \"https://hooks.example.com/portal\"\nsecret = \"{secret}\"\n"
    );
    let config = parse("x.toml", &with(&hook, "")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.orgs[0].webhooks.len(), 1);
    assert_eq!(config.orgs[0].webhooks[0].host(), "hooks.example.com");
    assert_eq!(config.events, EventSettings::default());
    let shown = format!("{config:?}");
    assert!(
        shown.contains("hooks.example.com") && !shown.contains(secret),
        "{shown}"
    );

    let events = "[events]\npoll_interval_seconds = 0.05\nlease_seconds = 2\nmax_in_flight = 4\n\
                  request_timeout_seconds = 0.5\nretry_base_seconds = 0.05\nretry_max_seconds = 0.5";
    let config = parse("x.toml", &with(&hook, events)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.events.poll_interval, Duration::from_millis(50));
    assert_eq!(config.events.max_in_flight, 4);
    assert_eq!(config.events.retry_max, Duration::from_millis(500));

    let cases: &[(String, &str, &str, &str)] = &[
        (
            hook.replace("https://hooks.example.com/portal", "ftp://x"),
            "",
            "orgs[0].webhooks[0].url",
            "http",
        ),
        (
            hook.replace(secret, "whsec_tooshort"),
            "",
            "orgs[0].webhooks[0].secret",
            "24",
        ),
        (
            hook.replace(secret, &secret.replace("whsec_", "wh_")),
            "",
            "orgs[0].webhooks[0].secret",
            "whsec_",
        ),
        (
            format!("{hook}{hook}"),
            "",
            "orgs[0].webhooks[1].url",
            "twice",
        ),
        (
            hook.replace("secret = ", "secrt = "),
            "",
            "orgs[0].webhooks[0].secret",
            "is required",
        ),
        (
            hook.clone(),
            "[events]\nlease_seconds = 5\nrequest_timeout_seconds = 5",
            "events.request_timeout_seconds",
            "less than",
        ),
        (
            hook.clone(),
            "[events]\nretry_base_seconds = 10\nretry_max_seconds = 5",
            "events.retry_max_seconds",
            "at least",
        ),
        (
            hook.clone(),
            "[events]\nmax_in_flight = 0",
            "events.max_in_flight",
            "between",
        ),
        (
            hook.clone(),
            "[events]\npoll_interval_seconds = -1",
            "events.poll_interval_seconds",
            "between",
        ),
        (
            hook.clone(),
            "[events]\nbatch = 3",
            "events.batch",
            "unknown key",
        ),
    ];
    for (webhooks, events, key, reason) in cases {
        let error = parse("x.toml", &with(webhooks, events))
            .err()
            .unwrap_or_else(|| panic!("{webhooks} {events} was accepted"));
        assert_eq!(error.key, *key, "{webhooks} {events}: {error}");
        assert!(
            error.reason.contains(reason),
            "{webhooks} {events}: {error}"
        );
        assert!(
            !error.to_string().contains(&secret[6..]),
            "an error echoed the secret: {error}"
        );
    }
}

#[test]
fn every_mistake_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("listen = \"nowhere\"", "listen", "address"),
        ("session_ttl_seconds = 0", "session_ttl_seconds", "between"),
        (
            "session_ttl_seconds = 86401",
            "session_ttl_seconds",
            "between",
        ),
        ("store = \"mysql://x\"", "store", "memory"),
        ("store = \"sled:\"", "store", "path"),
        (
            "store = \"postgres://u:s3cretPW@[bad\"",
            "store",
            "malformed PostgreSQL connection string",
        ),
        (
            "store = \"postgresql://u:s3cretPW@db/x?sslmode=always\"",
            "store",
            "sslmode",
        ),
        ("public_url = \"ftp://x\"", "public_url", "http"),
        ("colour = \"red\"", "colour", "unknown key"),
        ("default_locale = \"pt-BR\"", "default_locale", "fr-CA"),
        (
            "default_locale = \"fr_CA\"",
            "default_locale",
            "en, fr, de or es",
        ),
        (
            "session_ttl_seconds = \"an hour\"",
            "session_ttl_seconds",
            "must be an integer, not a string",
        ),
    ];
    for (line, key, reason) in cases {
        let text = format!("{line}\n{}", &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..]);
        let error = parse("x.toml", &text)
            .err()
            .unwrap_or_else(|| panic!("{line} was accepted"));
        assert_eq!(error.file, "x.toml");
        assert_eq!(error.line, Some(1), "{line}: {error}");
        assert_eq!(error.key, *key, "{line}: {error}");
        assert!(error.reason.contains(reason), "{line}: {error}");
        assert!(!error.to_string().contains("s3cretPW"), "{error}");
    }
    let org_cases: &[(&str, &str, &str, &str)] = &[
        (
            "id = \"3f1c2a9e-4b7d-4e21-9a55-0c6d8e7f1a23\"",
            "id = \"nope\"",
            "orgs[0].id",
            "UUID",
        ),
        (
            "secret_keys = [\"mf_sk_test_demo_5f1e8c2a9b7d4e63\"]",
            "secret_keys = [\"sk_short\"]",
            "orgs[0].secret_keys[0]",
            "mf_sk_",
        ),
        (
            "secret_keys = [\"mf_sk_test_demo_5f1e8c2a9b7d4e63\"]",
            "secret_keys = []",
            "orgs[0].secret_keys",
            "at least one",
        ),
        (
            "brand_color = \"#4f46e5\"",
            "brand_color = \"blue\"",
            "orgs[0].brand_color",
            "#rrggbb",
        ),
        (
            "external_id = \"acme-001\"",
            "external_id = \"\"",
            "orgs[0].customers[0].external_id",
            "between 1 and 255",
        ),
        (
            "email = \"billing@acme.test\"",
            "email = \"nobody\"",
            "orgs[0].customers[0].email",
            "email",
        ),
        (
            "status = \"active\"",
            "status = \"sleeping\"",
            "orgs[0].customers[0].subscription.status",
            "one of",
        ),
        (
            "issued_on = \"2026-11-13\"",
            "issued_on = \"13/11/2026\"",
            "orgs[0].customers[0].invoices[0].issued_on",
            "YYYY-MM-DD",
        ),
        (
            "currency = \"USD\"\nstatus = \"open\"",
            "currency = \"usd\"\nstatus = \"open\"",
            "orgs[0].customers[0].invoices[0].currency",
            "ISO 4217",
        ),
        (
            "pay_url = \"https://pay.example.com/invoices/INV-2026-0011\"",
            "pay_url = \"http://pay.example.com/invoices/INV-2026-0011\"",
            "orgs[0].customers[0].invoices[0].pay_url",
            "https",
        ),
        (
            "pdf_url = \"https://files.example.com/invoices/INV-2026-0011.pdf\"",
            "pdf_url = \"javascript:alert(1)\"",
            "orgs[0].customers[0].invoices[0].pdf_url",
            "https",
        ),
        (
            "brand_color = \"#4f46e5\"",
            "brand_color = \"#4f46e5\"\nframe_ancestors = [\"https://*.example.com\"]",
            "orgs[0].frame_ancestors[0]",
            "origin",
        ),
        (
            "brand_color = \"#4f46e5\"",
            "brand_color = \"#4f46e5\"\nframe_ancestors = [\"https://app.example.com/billing\"]",
            "orgs[0].frame_ancestors[0]",
            "no path",
        ),
        (
            "quantity = 42",
            "quantity = -42",
            "orgs[0].customers[0].usage[1].quantity",
            "negative",
        ),
    ];
    for (from, to, key, reason) in org_cases {
        let text = DEMO.replacen(from, to, 1);
        assert_ne!(text, DEMO, "{from} is not in the demo");
        let error = parse("x.toml", &text)
            .err()
            .unwrap_or_else(|| panic!("{to} was accepted"));
        assert_eq!(error.key, *key, "{to}: {error}");
        assert!(error.reason.contains(reason), "{to}: {error}");
        assert!(
            !error.to_string().contains("mf_sk_test_demo"),
            "an error echoed a key"
        );
    }
    // Framing needs a public URL whose pages can keep a Secure cookie in a frame.
    let framed = DEMO.replacen(
        "brand_color = \"#4f46e5\"",
        "brand_color = \"#4f46e5\"\nframe_ancestors = [\"https://app.example.com\"]",
        1,
    );
    assert!(
        parse("x.toml", &framed).is_ok(),
        "the demo's public URL is on 127.0.0.1"
    );
    let remote = format!("public_url = \"http://billing.example.com\"\n{framed}");
    let error = parse("x.toml", &remote)
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error.key, "orgs[0].frame_ancestors");
    assert!(error.reason.contains("https public_url"), "{error}");
    let doubled = format!("{DEMO}\n{}", &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..]);
    let error = parse("x.toml", &doubled).err().map(|e| e.key);
    assert_eq!(error.as_deref(), Some("orgs[1].id"));
}

const ORG_ID: &str = "3f1c2a9e-4b7d-4e21-9a55-0c6d8e7f1a23";
const KEY: &str = "mf_sk_test_demo_5f1e8c2a9b7d4e63";

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn load(text: &str, env: &[(&str, &str)], overrides: &Overrides) -> Result<Config, ConfigErrors> {
    load_config(
        ConfigSource::File {
            path: "x.toml",
            text,
        },
        &vars(env),
        overrides,
    )
}

fn errors(result: Result<Config, ConfigErrors>) -> Vec<ConfigError> {
    match result {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(errors) => errors.into_iter().collect(),
    }
}

/// (file, line, key, a part of the reason) of each error.
fn assert_errors(found: &[ConfigError], expected: &[(&str, Option<usize>, &str, &str)]) {
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found.len(), expected.len(), "{shown:#?}");
    for (error, (file, line, key, reason)) in found.iter().zip(expected) {
        assert_eq!(
            (error.file.as_str(), error.line, error.key.as_str()),
            (*file, *line, *key),
            "{shown:#?}"
        );
        assert!(error.reason.contains(reason), "{error}: {shown:#?}");
    }
}

#[test]
fn every_error_of_a_file_is_reported_with_its_line() {
    let text = format!(
        r#"listen = "127.0.0.1:8080"
storr = "memory"
session_ttl_seconds = 0
trusted_proxies = ["10.0.0.0/8", "not-a-network"]

[[orgs]]
id = "{ORG_ID}"
name = "Demo Co"
secret_keys = ["{KEY}"]

[[orgs.webhooks]]
url = "ftp://hooks.example.com/portal"
secret = "whsec_7f3a9c1e5b0d2f4a6c8e1b3d5f7a"

[[orgs.customers]]
id = "550e8400-e29b-41d4-a716-446655440000"
external_id = "acme-001"
name = "Acme Corp"
nickname = "Acme"
"#
    );
    let found = errors(load(&text, &[], &Overrides::default()));
    assert_errors(
        &found,
        &[
            ("x.toml", Some(2), "storr", "did you mean store?"),
            (
                "x.toml",
                Some(3),
                "session_ttl_seconds",
                "between 1 and 86400",
            ),
            ("x.toml", Some(4), "trusted_proxies[1]", "CIDR"),
            (
                "x.toml",
                Some(12),
                "orgs[0].webhooks[0].url",
                "http or https",
            ),
            (
                "x.toml",
                Some(19),
                "orgs[0].customers[0].nickname",
                "unknown key",
            ),
        ],
    );
    assert_eq!(
        found[0].to_string(),
        "x.toml: line 2: storr: unknown key (did you mean store?)"
    );
    let all = ConfigErrors {
        errors: found.clone(),
    };
    let shown = all.to_string();
    assert_eq!(shown.lines().count(), 5, "{shown}");
    assert!(
        shown
            .lines()
            .nth(3)
            .is_some_and(|line| line.starts_with("x.toml: line 12: "))
    );
    // parse keeps giving the first.
    assert_eq!(parse("x.toml", &text).err(), Some(found[0].clone()));
    for secret in ["not-a-network", "ftp://", "whsec_7f3a", "Acme\""] {
        assert!(!shown.contains(secret), "{secret} echoed: {shown}");
    }
}

#[test]
fn every_syntax_error_is_reported_and_its_value_left_out() {
    let text = format!(
        "listen = \"127.0.0.1:8080\nstore = \"memory\"\n[limits]\nenabled = tru\n\
         [[orgs]]\nid = \"{ORG_ID}\"\nname = \"Demo Co\"\nsecret_keys = [\"{KEY}\"]\n"
    );
    let found = errors(load(&text, &[], &Overrides::default()));
    assert_errors(
        &found,
        &[
            ("x.toml", Some(1), "syntax", ""),
            ("x.toml", Some(4), "syntax", "true"),
        ],
    );
    // Two errors on one line, and one on the last line without a newline.
    let text = "a = 1 b = 2\nlisten = ";
    let found = errors(load(text, &[], &Overrides::default()));
    let lines: Vec<Option<usize>> = found.iter().map(|error| error.line).collect();
    assert!(
        lines.contains(&Some(1)) && lines.contains(&Some(2)),
        "{found:#?}"
    );
}

#[test]
fn a_wrong_value_is_reported_once_and_what_depends_on_it_is_skipped() {
    let orgs = &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..];
    let cases: &[(&str, &str, &str)] = &[
        // public_url defaults to http://{listen}: not checked without a listen.
        ("listen = \"nowhere\"", "listen", "address"),
        // [postgres] is only for a postgres store: not checked without a store.
        (
            "store = \"mysql://x\"\n[postgres]\nschema = \"s\"",
            "store",
            "memory",
        ),
        // Not a list: neither "at least one" nor the key itself.
        (
            "listen = \"127.0.0.1:8080\"",
            "orgs[0].secret_keys",
            "must be a list, not a string",
        ),
        (
            "[events]\nlease_seconds = -1\nrequest_timeout_seconds = 5",
            "events.lease_seconds",
            "between",
        ),
        ("orgs = 3", "orgs", "must be a list, not an integer"),
    ];
    for (head, key, reason) in cases {
        let text = if key.starts_with("orgs[0]") {
            format!(
                "{head}\n{}",
                orgs.replace(&format!("[\"{KEY}\"]"), &format!("\"{KEY}\""))
            )
        } else if *key == "orgs" {
            (*head).to_owned()
        } else {
            format!("{head}\n{orgs}")
        };
        let found = errors(load(&text, &[], &Overrides::default()));
        assert_eq!(found.len(), 1, "{head}: {found:#?}");
        assert_eq!(found[0].key, *key, "{head}: {found:#?}");
        assert!(found[0].reason.contains(reason), "{head}: {found:#?}");
        assert!(!found[0].to_string().contains(KEY), "{}", found[0]);
    }
    // A missing key is required where its table starts.
    let text = DEMO.replacen(&format!("id = \"{ORG_ID}\"\n"), "", 1);
    let found = errors(load(&text, &[], &Overrides::default()));
    assert_errors(&found, &[("x.toml", Some(8), "orgs[0].id", "is required")]);
}

#[test]
fn every_kind_of_value_comes_from_the_environment() {
    let orgs = format!(
        r#"[{{ id = "{ORG_ID}", name = "Env Co", secret_keys = ["{KEY}"], customers = [
            {{ id = "550e8400-e29b-41d4-a716-446655440000", external_id = "e-1", name = "E",
               subscription = {{ plan = "P", status = "active", amount_cents = 1,
                                 currency = "EUR", interval = "year" }} }} ] }}]"#
    );
    let env = [
        ("PORTAL_SESSIONS_LISTEN", "127.0.0.1:9999"),
        ("PORTAL_SESSIONS_PUBLIC_URL", "https://portal.example.com/"),
        ("PORTAL_SESSIONS_SESSION_TTL_SECONDS", "600"),
        ("PORTAL_SESSIONS_STORE", "memory"),
        ("PORTAL_SESSIONS_SHOW_ALL_SECTIONS", "true"),
        (
            "PORTAL_SESSIONS_TRUSTED_PROXIES",
            r#"["10.0.0.0/8", "192.0.2.1"]"#,
        ),
        ("PORTAL_SESSIONS_DEFAULT_LOCALE", "fr-CA"),
        ("PORTAL_SESSIONS_LOG_FORMAT", "json"),
        ("PORTAL_SESSIONS_METRICS_LISTEN", "127.0.0.1:9090"),
        ("PORTAL_SESSIONS_METRICS_ALLOW", r#"["10.1.0.0/16"]"#),
        ("PORTAL_SESSIONS_LIMITS", "{ enabled = false }"),
        (
            "PORTAL_SESSIONS_HTTP",
            "{ max_connections = 8, max_connections_per_client = 2, body_timeout_seconds = 2.5 }",
        ),
        ("PORTAL_SESSIONS_EVENTS", "{ max_in_flight = 4 }"),
        ("PORTAL_SESSIONS_ORGS", &orgs),
        ("PATH", "/usr/bin"),
    ];
    let config = load(DEMO, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.listen,
        "127.0.0.1:9999".parse().unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!(config.public_url, "https://portal.example.com");
    assert_eq!(config.session_ttl, Duration::from_secs(600));
    assert_eq!(config.store, StoreSpec::Memory);
    assert!(config.show_all_sections);
    assert_eq!(config.trusted_proxies.len(), 2);
    assert_eq!(config.default_locale.to_string(), "fr-CA");
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(config.metrics_listen.map(|a| a.port()), Some(9090));
    assert_eq!(config.metrics_allow.len(), 1);
    assert_eq!(config.limits.links, None);
    assert_eq!(config.http.max_connections, 8);
    assert_eq!(config.http.max_connections_per_client, 2);
    assert_eq!(config.http.body_timeout, Duration::from_millis(2500));
    assert_eq!(config.events.max_in_flight, 4);
    assert_eq!(config.orgs.len(), 1);
    assert_eq!(config.orgs[0].branding.name, "Env Co");
    let billing = &config.orgs[0].customers[0].1;
    assert_eq!(
        billing.subscription.as_ref().map(|s| s.interval.as_str()),
        Some("year")
    );

    let env = [
        ("PORTAL_SESSIONS_STORE", "postgres://app@db.internal/portal"),
        (
            "PORTAL_SESSIONS_POSTGRES",
            "{ schema = \"tenant_a\", max_connections = 4 }",
        ),
    ];
    let config = load(DEMO, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.postgres.schema.as_deref(), Some("tenant_a"));
    assert_eq!(config.postgres.max_connections, Some(4));
    assert_eq!(config.postgres.startup_timeout, DEFAULT_STARTUP_TIMEOUT);
}

#[test]
fn the_startup_timeout_is_seconds_within_a_day() {
    let store = ("PORTAL_SESSIONS_STORE", "postgres://app@db.internal/portal");
    let env = [
        store,
        (
            "PORTAL_SESSIONS_POSTGRES",
            "{ startup_timeout_seconds = 2.5 }",
        ),
    ];
    let config = load(DEMO, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.postgres.startup_timeout,
        Duration::from_millis(2_500)
    );
    for wrong in ["0", "86401", "\"soon\""] {
        let table = format!("{{ startup_timeout_seconds = {wrong} }}");
        let env = [store, ("PORTAL_SESSIONS_POSTGRES", table.as_str())];
        let error = load(DEMO, &env, &Overrides::default()).err();
        assert!(
            error.is_some_and(|e| e.to_string().contains("startup_timeout_seconds")),
            "{wrong} was accepted"
        );
    }
}

#[test]
fn a_bad_variable_is_named_and_never_echoed() {
    let secret = "hunter2hunter2";
    let env_cases: &[(&str, String, &str, &str)] = &[
        (
            "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
            secret.to_owned(),
            "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
            "TOML value",
        ),
        (
            "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
            format!("\"{secret}\""),
            "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
            "must be an integer, not a string",
        ),
        (
            "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
            "0".to_owned(),
            "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
            "between",
        ),
        (
            "PORTAL_SESSIONS_STORE",
            format!("mysql://app:{secret}@db"),
            "PORTAL_SESSIONS_STORE",
            "memory",
        ),
        (
            "PORTAL_SESSIONS_LISTEN",
            secret.to_owned(),
            "PORTAL_SESSIONS_LISTEN",
            "address",
        ),
        (
            "PORTAL_SESSIONS_TRUSTED_PROXIES",
            format!("[\"{secret}\"]"),
            "PORTAL_SESSIONS_TRUSTED_PROXIES[0]",
            "CIDR",
        ),
        (
            "PORTAL_SESSIONS_LIMITS",
            "{ window_seconds = 0 }".to_owned(),
            "PORTAL_SESSIONS_LIMITS.window_seconds",
            "between",
        ),
        (
            "PORTAL_SESSIONS_ORGS",
            format!("[{{ id = \"{ORG_ID}\", name = \"N\", secret_keys = [\"mf_sk_{secret}\"] }}]"),
            "PORTAL_SESSIONS_ORGS[0].secret_keys[0]",
            "mf_sk_",
        ),
        (
            "PORTAL_SESSIONS_ORGS",
            format!("[{{ id = \"{secret}\""),
            "PORTAL_SESSIONS_ORGS",
            "TOML value",
        ),
    ];
    for (name, value, key, reason) in env_cases {
        let found = errors(load(DEMO, &[(name, value)], &Overrides::default()));
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found[0].file, "environment", "{value}: {shown:#?}");
        assert_eq!(found[0].line, None);
        assert_eq!(found[0].key, *key, "{value}: {shown:#?}");
        assert!(found[0].reason.contains(reason), "{value}: {shown:#?}");
        assert_eq!(found.len(), 1, "{value}: {shown:#?}");
        assert!(
            !shown.concat().contains(secret),
            "{name} echoed its value: {shown:#?}"
        );
    }
}

#[test]
fn an_unknown_variable_is_refused_and_the_projects_own_are_ignored() {
    for (name, meant) in [
        ("PORTAL_SESSIONS_STORRE", "PORTAL_SESSIONS_STORE"),
        ("PORTAL_SESSIONS_store", "PORTAL_SESSIONS_STORE"),
        (
            "PORTAL_SESSIONS_SESSION_TTL",
            "PORTAL_SESSIONS_SESSION_TTL_SECONDS",
        ),
        ("PORTAL_SESSIONS_LISTN", "PORTAL_SESSIONS_LISTEN"),
    ] {
        let found = errors(load(DEMO, &[(name, "memory")], &Overrides::default()));
        assert_errors(&found, &[("environment", None, name, meant)]);
    }
    let found = errors(load(
        DEMO,
        &[("PORTAL_SESSIONS_", "x")],
        &Overrides::default(),
    ));
    assert_errors(
        &found,
        &[("environment", None, "PORTAL_SESSIONS_", "unknown variable")],
    );

    let ignored = [
        (
            "PORTAL_SESSIONS_TEST_DATABASE_URL",
            "postgres://postgres@127.0.0.1/postgres",
        ),
        ("PORTAL_SESSIONS_REQUIRE_POSTGRES", "1"),
        ("PORTAL_SESSIONS_REQUIRE_BROWSER", "1"),
        ("PORTAL_SESSIONS_REQUIRE_OPENAPI_VALIDATOR", "1"),
        ("PORTAL_SESSIONS_REQUIRE_PROMTOOL", "1"),
        ("PORTAL_SESSIONS_BENCH_BACKENDS", "sled"),
        ("PORTAL_SESSIONS_BENCH_SIZES", "1000"),
        ("PORTAL_SESSIONS_BENCH_OPEN_N", "10"),
        ("PORTAL_SESSIONS_BENCH_OPEN_LIST_N", "10"),
        ("PORTAL_SESSIONS_BENCH_ROUNDS", "3"),
        ("PORTAL_SESSIONS_BENCH_ROUND_REQUESTS", "100"),
        ("PORTAL_SESSIONS_SLED_UPGRADE_CHILD_DB", "/tmp/x"),
        ("PORTAL_SESSIONS_SLED_CRASH_CHILD_DB", "/tmp/x"),
        ("PORTAL_SESSIONS_SLED_HOLDER_DB", "/tmp/x"),
        ("HOME", "/root"),
        ("portal_sessions_store", "bogus"),
    ];
    let config = load(DEMO, &ignored, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.store, StoreSpec::Sled("./portal-data".into()));
}

#[test]
fn a_bad_flag_is_blamed_on_the_flag() {
    let store = Overrides {
        store: Some("bogus".into()),
        ..Overrides::default()
    };
    let listen = Overrides {
        listen: Some("nowhere".into()),
        ..Overrides::default()
    };
    for source in [
        ConfigSource::Demo,
        ConfigSource::File {
            path: "x.toml",
            text: DEMO,
        },
    ] {
        let found = errors(load_config(source, &[], &store));
        assert_errors(&found, &[("--store", None, "store", "memory")]);
        assert_eq!(
            found[0].to_string(),
            "--store: store: must be \"memory\", \"sled:<path>\" or a postgres:// URL"
        );
        let found = errors(load_config(source, &[], &listen));
        assert_errors(&found, &[("--listen", None, "listen", "address")]);
    }
    // A flag hides the environment's mistake, and the file's.
    let text = DEMO.replace("store = \"sled:./portal-data\"", "store = \"bogus\"");
    let config = load(
        &text,
        &[("PORTAL_SESSIONS_STORE", "nope")],
        &Overrides {
            store: Some("memory".into()),
            ..Overrides::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.store, StoreSpec::Memory);
}

#[test]
fn the_environment_alone_configures_the_demo() {
    let env = vars(&[
        ("PORTAL_SESSIONS_LISTEN", "127.0.0.1:18080"),
        ("PORTAL_SESSIONS_STORE", "memory"),
        ("PORTAL_SESSIONS_SESSION_TTL_SECONDS", "900"),
    ]);
    let config = load_config(ConfigSource::Demo, &env, &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.listen.port(), 18080);
    assert_eq!(config.public_url, "http://127.0.0.1:18080");
    assert_eq!(config.store, StoreSpec::Memory);
    assert_eq!(config.session_ttl, Duration::from_secs(900));
    assert_eq!(config.orgs[0].secret_keys, vec![KEY.to_owned()]);
    // The demo's own errors are named after it, the environment's after their variable.
    let env = vars(&[("PORTAL_SESSIONS_LIMITS", "{ enabled = 1 }")]);
    let found = errors(load_config(ConfigSource::Demo, &env, &Overrides::default()));
    assert_errors(
        &found,
        &[(
            "environment",
            None,
            "PORTAL_SESSIONS_LIMITS.enabled",
            "must be true or false, not an integer",
        )],
    );
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file() {
    let text = DEMO.replace("127.0.0.1:8080", "127.0.0.1:1001");
    let env = [
        ("PORTAL_SESSIONS_LISTEN", "127.0.0.1:1002"),
        ("PORTAL_SESSIONS_STORE", "memory"),
    ];
    let flag = Overrides {
        listen: Some("127.0.0.1:1003".into()),
        store: None,
    };
    let port = |env: &[(&str, &str)], overrides: &Overrides| {
        let config = load(&text, env, overrides).unwrap_or_else(|e| panic!("{e}"));
        (config.listen.port(), config.store)
    };
    let sled = StoreSpec::Sled("./portal-data".into());
    assert_eq!(port(&[], &Overrides::default()), (1001, sled.clone()));
    assert_eq!(port(&env, &Overrides::default()), (1002, StoreSpec::Memory));
    assert_eq!(port(&env, &flag), (1003, StoreSpec::Memory));
    assert_eq!(port(&[], &flag), (1003, sled));
    // The default, under all three.
    let config = load(
        &DEMO.replace("listen = \"127.0.0.1:8080\"\n", ""),
        &[],
        &Overrides::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.listen.port(), 8080);
    // A variable replaces the file's value whole, mistakes included.
    let text = format!("{DEMO}\n[limits]\nwindow_seconds = 0\n");
    let env = [("PORTAL_SESSIONS_LIMITS", "{ max_clients = 10 }")];
    let config = load(&text, &env, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config
            .limits
            .links
            .map(|limit| (limit.window, limit.max_clients)),
        Some((Duration::from_secs(60), 10))
    );
}

#[test]
fn the_sled_table_is_checked() {
    let orgs = &DEMO[DEMO.find("[[orgs]]").unwrap_or(0)..];
    let config = parse(
        "x.toml",
        &format!("store = \"sled:./d\"\n[sled]\nmin_free_bytes = 0\n{orgs}"),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.sled.min_free_bytes, 0);
    let config = parse("x.toml", &format!("store = \"sled:./d\"\n{orgs}"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.sled.min_free_bytes, 64 << 20, "the default floor");
    for (text, key, reason) in [
        (
            "store = \"sled:./d\"\n[sled]\nmin_free_bytes = -1",
            "sled.min_free_bytes",
            "between",
        ),
        (
            "store = \"sled:./d\"\n[sled]\nmin_free = 1",
            "sled.min_free",
            "unknown key",
        ),
        (
            "store = \"memory\"\n[sled]\nmin_free_bytes = 1",
            "sled",
            "only for a sled: store",
        ),
    ] {
        let error = parse("x.toml", &format!("{text}\n{orgs}"))
            .err()
            .unwrap_or_else(|| panic!("{text} was accepted"));
        assert_eq!(error.key, key, "{text}: {error}");
        assert!(error.reason.contains(reason), "{text}: {error}");
    }
}

/// Every key's path in a TOML table, a list's items as `[]` (as [`Shape::paths`] names them).
fn paths_in(table: &DeTable<'_>, at: &str, paths: &mut std::collections::BTreeSet<String>) {
    for (key, value) in table {
        let path = report::join(at, key.get_ref());
        paths.insert(path.clone());
        match value.get_ref() {
            toml::de::DeValue::Table(table) => paths_in(table, &path, paths),
            toml::de::DeValue::Array(items) => {
                for item in items.iter() {
                    if let toml::de::DeValue::Table(table) = item.get_ref() {
                        paths_in(table, &format!("{path}[]"), paths);
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_reference_names_every_key_and_variable() {
    let shape = Shape::of::<schema::File>();
    let declared: std::collections::BTreeSet<String> = shape.paths("").into_iter().collect();
    assert!(declared.contains("orgs[].customers[].invoices[].status"));

    // The module docs: their TOML example has exactly the keys the schema declares.
    let docs: Vec<&str> = include_str!("mod.rs")
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .map(|line| {
            line.trim_start_matches("//!")
                .strip_prefix(' ')
                .unwrap_or("")
        })
        .collect();
    let example: Vec<&str> = docs
        .iter()
        .skip_while(|line| **line != "```toml")
        .skip(1)
        .take_while(|line| **line != "```")
        .copied()
        .collect();
    let example = example.join("\n");
    let parsed = DeTable::parse(&example).unwrap_or_else(|e| panic!("the example: {e}"));
    let mut documented = std::collections::BTreeSet::new();
    paths_in(parsed.get_ref(), "", &mut documented);
    assert_eq!(documented, declared, "the module docs' example");
    let docs = docs.join("\n");
    for key in shape.keys() {
        let variable = format!("`{ENV_PREFIX}{}`", key.to_ascii_uppercase());
        assert!(docs.contains(&variable), "{variable} is not documented");
    }

    // docs/http-api.md: a row for each top-level key and each table, naming the table's keys.
    let reference = include_str!("../../../../docs/http-api.md");
    let rows: Vec<(&str, &str)> = reference
        .lines()
        .skip_while(|line| !line.starts_with("| Key | Meaning |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let (name, meaning) = line.trim_matches('|').split_once('|')?;
            Some((name.trim().trim_matches('`'), meaning))
        })
        .collect();
    let mut expected = Vec::new();
    let mut tables = vec![(String::new(), &shape)];
    while let Some((at, table)) = tables.pop() {
        let Shape::Table(fields) = table else {
            continue;
        };
        for (key, field) in fields {
            let path = report::join(&at, key);
            match field {
                Shape::Table(_) => {
                    expected.push((format!("[{path}]"), field));
                    tables.push((path, field));
                }
                Shape::List(item) if matches!(**item, Shape::Table(_)) => {
                    expected.push((format!("[[{path}]]"), &**item));
                    tables.push((path, &**item));
                }
                _ if at.is_empty() => expected.push((path, field)),
                _ => {}
            }
        }
    }
    let named: std::collections::BTreeSet<&str> = rows.iter().map(|(name, _)| *name).collect();
    let wanted: std::collections::BTreeSet<&str> =
        expected.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(named, wanted, "the rows of docs/http-api.md's key table");
    for (name, table) in &expected {
        let Some((_, meaning)) = rows.iter().find(|(row, _)| row == name) else {
            continue;
        };
        for key in table.keys() {
            assert!(
                meaning.contains(&format!("`{key}`")),
                "docs/http-api.md: the {name} row does not name {key}"
            );
        }
    }
}
