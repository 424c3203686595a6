//! Pages in the session's locale, else the browser's, else English, with amounts and dates written
//! for it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portal_sessions::SessionStore;
use serde_json::{Value, json};

use super::host::{App, Mounted, Reply, app};

/// A page request with an `Accept-Language` header (or none), and a cookie (or none).
async fn page_in(
    app: &App,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    accept_language: Option<&str>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(accept_language) = accept_language {
        request = request.header(header::ACCEPT_LANGUAGE, accept_language);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// Asserts that a page is written in `tag`: `<html lang>`, `Content-Language`, `Vary`, and each of
/// `texts` in its body.
fn assert_speaks(page: &Reply, tag: &str, texts: &[&str]) {
    assert!(
        page.body.contains(&format!("<html lang=\"{tag}\">")),
        "not <html lang=\"{tag}\">: {}",
        page.body
    );
    assert_eq!(page.header("content-language"), tag);
    assert!(
        page.header("vary")
            .to_ascii_lowercase()
            .contains("accept-language"),
        "Vary: {}",
        page.header("vary")
    );
    for text in texts {
        assert!(
            page.body.contains(text),
            "{text:?} missing from {}",
            page.body
        );
    }
}

/// Pages speak the session's `locale`; without one, what `Accept-Language` asks for; without that,
/// English. Amounts and dates are written for the locale.
pub async fn localized_pages<S: SessionStore>(store: S, mounted: Mounted) {
    let app = app(store, mounted);
    let nbsp = '\u{a0}';

    // A French session stays French whatever the browser asks for.
    let french = app
        .create(json!({"customerExternalId": "acme-001", "locale": "fr"}))
        .await;
    let french_link = app.path_of(french["url"].as_str().unwrap());
    let shown = page_in(&app, "GET", &french_link, None, Some("de-DE,de;q=0.9")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_speaks(
        &shown,
        "fr",
        &[
            "Ouverture de votre portail de facturation…",
            "vous connecte pour 1 heure au maximum",
            "Ouvrir mon portail de facturation",
            "Portail de facturation sécurisé",
        ],
    );
    assert!(!shown.body.contains("Open my billing portal"));
    let cookie = app.redeem(&french).await;
    let portal = page_in(
        &app,
        "GET",
        "/portal",
        Some(&cookie),
        Some("de-DE,de;q=0.9"),
    )
    .await;
    assert_eq!(portal.status, StatusCode::OK);
    assert_speaks(
        &portal,
        "fr",
        &[
            "Facturation · Demo Co",
            "Votre facturation chez Demo Co.",
            // The session expires an hour after the suite's clock start, 13 May 2026 16:30 UTC.
            "vous déconnectera le 13 mai 2026 à 17:30 UTC.",
            "<h2>Factures</h2>",
            "<th>Facture</th>",
            "<th class=\"num\">Montant</th>",
            "INV-2026-0042",
            "1 mai 2026",
            &format!("49,00{nbsp}$"),
            ">payée</span>",
            "<h2>Abonnement</h2>",
            "Aucun abonnement actif.",
            "Aucune consommation mesurée sur cette période.",
            "<dt>Identifiant client</dt>",
            "expirent au bout de 1 heure.",
            "Se déconnecter",
        ],
    );
    for english in [
        "Invoices",
        "$49.00",
        "2026-05-01",
        "Sign out",
        "Secure billing portal",
    ] {
        assert!(
            !portal.body.contains(english),
            "{english} on a French portal"
        );
    }
    app.revoke(&french).await;
    let ended = page_in(&app, "GET", "/portal", Some(&cookie), Some("es")).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    assert_speaks(
        &ended,
        "fr",
        &["Session terminée", "demandez un nouveau lien", "Demo Co"],
    );
    assert!(!ended.body.contains("INV-2026-0042"));
    for method in ["GET", "POST"] {
        let gone = page_in(&app, method, &french_link, None, Some("en")).await;
        assert_eq!(gone.status, StatusCode::GONE, "{method}");
        assert_speaks(&gone, "fr", &["Lien révoqué", "Demo Co"]);
    }

    // A session without a locale follows the browser, region included.
    let plain = app.create(json!({"customerExternalId": "acme-001"})).await;
    let plain_link = app.path_of(plain["url"].as_str().unwrap());
    let german = Some("de-DE,de;q=0.9");
    let shown = page_in(&app, "GET", &plain_link, None, german).await;
    assert_speaks(
        &shown,
        "de-DE",
        &[
            "Ihr Abrechnungsportal wird geöffnet",
            "meldet Sie für bis zu 1 Stunde an",
            "Mein Abrechnungsportal öffnen",
        ],
    );
    let cookie = app.redeem(&plain).await;
    let portal = page_in(&app, "GET", "/portal", Some(&cookie), german).await;
    assert_speaks(
        &portal,
        "de-DE",
        &[
            "Ihre Abrechnung bei Demo Co.",
            "meldet diese Seite Sie am 13. Mai 2026 um 17:30 UTC ab.",
            "<h2>Rechnungen</h2>",
            "1. Mai 2026",
            &format!("49,00{nbsp}$"),
            ">bezahlt</span>",
            "Abmelden",
        ],
    );
    // ...and without Accept-Language, the default: English, as it always read.
    let portal = page_in(&app, "GET", "/portal", Some(&cookie), None).await;
    assert_speaks(
        &portal,
        "en",
        &[
            "Your billing with Demo Co. For your security this page signs you out at 13 May \
             2026, 17:30 UTC.",
            "<h2>Invoices</h2>",
            "1 May 2026",
            "$49.00",
            ">paid</span>",
            "Sign out",
        ],
    );
    // A language the portal does not speak is no language at all.
    let portal = page_in(
        &app,
        "GET",
        "/portal",
        Some(&cookie),
        Some("pt-BR, ja;q=0.5"),
    )
    .await;
    assert_speaks(&portal, "en", &["$49.00"]);

    // Pages that know no session follow the browser.
    let unknown = format!(
        "/r/{}",
        portal_sessions_conformance::fixture::new_link().expose_secret()
    );
    let invalid = page_in(&app, "GET", &unknown, None, Some("es-MX, en;q=0.5")).await;
    assert_eq!(invalid.status, StatusCode::NOT_FOUND);
    assert_speaks(
        &invalid,
        "es-MX",
        &["Enlace no válido", "Portal de facturación"],
    );
    let ended = page_in(&app, "GET", "/portal", None, Some("fr-CA")).await;
    assert_speaks(&ended, "fr-CA", &["Session terminée"]);

    // A regional locale is kept and echoed as given.
    let latin = app
        .create(json!({"customerExternalId": "acme-001", "locale": "es-419"}))
        .await;
    let shown = page_in(
        &app,
        "GET",
        &app.path_of(latin["url"].as_str().unwrap()),
        None,
        Some("de"),
    )
    .await;
    assert_speaks(&shown, "es-419", &["Abriendo su portal de facturación…"]);
    let items = app.everything().await;
    let locale_of = |id: &Value| {
        items
            .iter()
            .find(|item| item["id"] == *id)
            .map(|item| item["locale"].clone())
    };
    assert_eq!(locale_of(&latin["id"]), Some(json!("es-419")));
    assert_eq!(locale_of(&french["id"]), Some(json!("fr")));
    assert_eq!(locale_of(&plain["id"]), Some(Value::Null));
}
