//! Who the client is: its address, straight or through trusted proxies.
//!
//! The address is the connection's peer (from `ConnectInfo<SocketAddr>`), unless the peer is one of
//! the trusted proxies. Then the proxies' own record of the request's path decides: the
//! `X-Forwarded-For` list (or, without it, the `for=` parameters of `Forwarded`), read from the
//! right, skipping trusted proxies; the first address that is not a trusted proxy is the client. A
//! client can write anything into those headers, but only at their left end: the right end is what
//! the trusted proxies appended. A peer that is not trusted gets no say at all, whatever it sends.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The networks whose forwarding headers are believed, and the client of a request as the limits
/// see it (the module docs say how). [`PortalService::trusted_proxies`](crate::PortalService::trusted_proxies)
/// sets the service's; a host that decides something else per client (the server's `/metrics`
/// allow-list) builds one from the same networks, to resolve clients the same way.
///
/// # Examples
///
/// ```
/// use std::net::IpAddr;
/// use axum::http::{HeaderMap, HeaderValue};
/// use portal_sessions_axum::{IpNet, TrustedProxies};
///
/// let ip = |text: &str| text.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
/// let proxies = TrustedProxies::new(["10.0.0.0/8".parse::<IpNet>().unwrap_or_else(|e| panic!("{e}"))]);
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 198.51.100.7"));
/// // Through a trusted proxy: the right-most address it did not write itself.
/// assert_eq!(proxies.client(ip("10.0.0.1"), &headers), ip("198.51.100.7"));
/// // From anyone else: the peer, whatever it forwards.
/// assert_eq!(proxies.client(ip("203.0.113.9"), &headers), ip("203.0.113.9"));
/// assert!(proxies.trusts(ip("::ffff:10.1.2.3")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts `networks` (none: every peer is its own client).
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> TrustedProxies {
        TrustedProxies(networks.into_iter().collect())
    }

    /// Whether `ip` (an IPv4-mapped IPv6 address as its IPv4 address) is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// The client address of a request, or `None` when the server was not given connection
    /// information (then nothing is known of the client).
    pub(crate) fn client_of(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| canonical(addr.ip()))?;
        Some(self.client(peer, &parts.headers))
    }

    /// The client behind `peer` (the connection's address), given the request's headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut hops = forwarded_for(headers);
        let mut nearest = peer;
        while let Some(hop) = hops.pop() {
            match hop {
                Some(ip) if self.trusts(ip) => nearest = ip,
                Some(ip) => return ip,
                // Garbage where a proxy should have written an address: nothing left of it can be
                // believed, so the client is the last proxy that wrote sensibly.
                None => return nearest,
            }
        }
        nearest
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The hops of `X-Forwarded-For` (every instance, in order), else of `Forwarded`'s `for=`; `None`
/// for a hop that is not an address.
///
/// Hops are split on the raw bytes, so a byte that is not text in one hop (which the client wrote,
/// at the left) spoils that hop only, not the ones the proxies appended after it.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let hops = |name: &str| -> Vec<&[u8]> {
        headers
            .get_all(name)
            .iter()
            .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
            .collect()
    };
    let xff = hops("x-forwarded-for");
    if !xff.is_empty() {
        return xff
            .into_iter()
            .map(|hop| hop_text(hop).and_then(parse_hop))
            .collect();
    }
    hops("forwarded")
        .into_iter()
        .map(|element| {
            hop_text(element)?
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_hop(value.trim().trim_matches('"')))
        })
        .collect()
}

/// A hop's text, trimmed, or `None` when its bytes are not text.
fn hop_text(hop: &[u8]) -> Option<&str> {
    std::str::from_utf8(hop).ok().map(str::trim)
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                *name,
                HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        map
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::new(["10.0.0.0/8", "2001:db8:ffff::/48"].map(|net| {
            net.parse::<IpNet>()
                .unwrap_or_else(|e| panic!("{net}: {e}"))
        }))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let forged = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(
            proxies().client(ip("203.0.113.9"), &forged),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &forged),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let p = proxies();
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(p.client(ip("10.0.0.1"), &chain), ip("198.51.100.7"));
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7:4711"),
        ]);
        assert_eq!(p.client(ip("10.0.0.1"), &split), ip("198.51.100.7"));
        let v6 = headers(&[("x-forwarded-for", "[2001:db8:1::5]:80, 2001:db8:ffff::1")]);
        assert_eq!(p.client(ip("10.0.0.1"), &v6), ip("2001:db8:1::5"));
        let forwarded = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:1::9]:4711\";proto=https, for=10.2.2.2",
        )]);
        assert_eq!(
            p.client(ip("::ffff:10.0.0.1"), &forwarded),
            ip("2001:db8:1::9")
        );
        assert_eq!(p.client(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        let garbage = headers(&[("x-forwarded-for", "6.6.6.6, not-an-ip, 10.3.3.3")]);
        assert_eq!(p.client(ip("10.0.0.1"), &garbage), ip("10.3.3.3"));
        let all_trusted = headers(&[("x-forwarded-for", "10.9.9.9, 10.8.8.8")]);
        assert_eq!(p.client(ip("10.0.0.1"), &all_trusted), ip("10.9.9.9"));
        // A byte that is not text, in the hop the client wrote, spoils that hop only.
        let mut binary = HeaderMap::new();
        binary.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"6.6.\xff6.6, 198.51.100.9").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(p.client(ip("10.0.0.1"), &binary), ip("198.51.100.9"));
    }
}
