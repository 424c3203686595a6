//! Token, id and timestamp parsing: never a panic, and whatever parses prints back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portal_sessions::{CustomerId, LinkToken, OrgId, SessionId, Timestamp, ViewerToken};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(link) = text.parse::<LinkToken>() {
        assert_eq!(link.expose_secret(), text);
        assert_eq!(
            link.session_id().to_string().parse::<SessionId>().ok(),
            Some(link.session_id())
        );
        assert!(!format!("{link:?}").contains(&text[26..]));
    }
    if let Ok(viewer) = text.parse::<ViewerToken>() {
        assert_eq!(viewer.expose_secret(), text);
    }
    if let Ok(id) = text.parse::<SessionId>() {
        assert_eq!(id.to_string(), text);
    }
    if let Ok(org) = text.parse::<OrgId>() {
        assert_eq!(org.to_string(), text.to_ascii_lowercase());
    }
    if let Ok(customer) = text.parse::<CustomerId>() {
        assert_eq!(
            customer.to_string().parse::<CustomerId>().ok(),
            Some(customer)
        );
    }
    if let Some(time) = Timestamp::parse_rfc3339(text) {
        assert_eq!(time.to_string(), text);
    }
    let _ = portal_sessions::validate_return_url(text);
    let _ = portal_sessions::validate_external_id(text);
});
