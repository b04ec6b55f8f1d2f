//! The caller's IP address: the TCP peer, or — only when the peer is a trusted proxy — the
//! rightmost untrusted hop of `X-Forwarded-For` or `Forwarded`.
//!
//! A client can write anything into these headers, but each proxy *appends* the address it
//! received the request from. Reading from the right and passing over our own proxies, the first
//! address that is not one of them was written by a trusted proxy about its peer: that is the
//! client. Anything further left is the client's own claim and is ignored. From a peer that is
//! not a trusted proxy both headers are ignored entirely.

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// Which header the trusted proxies write the client address into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, Caddy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("unknown forwarded header `{other}` (use `x-forwarded-for` or `forwarded`)")),
        }
    }
}

/// Parses `server.trusted_proxies`: CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses.
pub fn parse_trusted_proxies(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| {
            let e = e.trim();
            IpNet::from_str(e)
                .or_else(|_| IpAddr::from_str(e).map(IpNet::from))
                .map_err(|_| format!("server.trusted_proxies: `{e}` is not an IP address or CIDR"))
        })
        .collect()
}

/// The TCP peer of the request: [`ConnectInfo`] as `kc_http::serve` inserts it, and as
/// `axum::serve` does with `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// Without it (a host app serving the router with plain `into_make_service()`, or a test
/// calling it with `oneshot`) the caller is unknown: every such request shares the one
/// `unknown` failure budget — the limiter still refuses a flood of bad secrets, but a
/// client's budget is spent by everyone's failures — and the audit trail has no address.
/// The first such request of the process logs it as a misconfiguration.
fn peer(parts: &Parts) -> Option<IpAddr> {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(c) => Some(canonical(c.0.ip())),
        None => {
            warn_missing_peer();
            None
        }
    }
}

/// Whether the missing [`ConnectInfo`] was logged already.
static MISSING_PEER_LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn warn_missing_peer() {
    if !MISSING_PEER_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::error!(
            "misconfiguration: a request without ConnectInfo<SocketAddr>; serve the router with \
             `kc_http::serve` or `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`. \
             Until then every caller shares one failed-authentication budget and audit events carry no IP"
        );
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, from dual-stack sockets) as plain IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One hop of `X-Forwarded-For` (`1.2.3.4`, `1.2.3.4:567`, `2001:db8::1`, `[2001:db8::1]:567`).
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = IpAddr::from_str(s) {
        return Some(canonical(ip));
    }
    if let Ok(sa) = SocketAddr::from_str(s) {
        return Some(canonical(sa.ip()));
    }
    let bracketed = s.strip_prefix('[').and_then(|r| r.split(']').next())?;
    IpAddr::from_str(bracketed).ok().map(canonical)
}

/// The hops a header lists, left to right (`None` for one that is not an address, such as
/// `unknown` or an obfuscated `Forwarded` identifier).
fn hops(headers: &HeaderMap, which: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match which {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        let Ok(value) = value.to_str() else {
            out.push(None);
            continue;
        };
        for element in value.split(',') {
            match which {
                ForwardedHeader::XForwardedFor => out.push(parse_hop(element)),
                ForwardedHeader::Forwarded => {
                    let node = element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then_some(v)
                    });
                    out.push(node.and_then(parse_hop));
                }
            }
        }
    }
    out
}

/// The client address of a request (see the module docs); `None` without a known peer.
pub(crate) fn client_ip(parts: &Parts, trusted: &[IpNet], header: ForwardedHeader) -> Option<IpAddr> {
    let peer = peer(parts)?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for hop in hops(&parts.headers, header).into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return Some(ip),
            // Not an address: nothing to its left can be trusted; the last trusted hop stands.
            None => break,
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder();
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let (mut parts, ()) = b.body(()).expect("request").into_parts();
        parts.extensions.insert(ConnectInfo(SocketAddr::from_str(peer).expect("peer")));
        parts
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        parse_trusted_proxies(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).expect("valid")
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(IpAddr::from_str(s).expect("ip"))
    }

    #[test]
    fn without_a_peer_the_caller_is_unknown_and_that_is_logged_once() {
        let (p, ()) = Request::builder().header("x-forwarded-for", "1.1.1.1").body(()).expect("request").into_parts();
        assert_eq!(client_ip(&p, &nets(&["0.0.0.0/0"]), ForwardedHeader::XForwardedFor), None, "no header is believed");
        assert!(MISSING_PEER_LOGGED.load(std::sync::atomic::Ordering::Relaxed), "the misconfiguration is logged");
        assert_eq!(client_ip(&p, &[], ForwardedHeader::XForwardedFor), None, "and stays unknown");
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = parts("203.0.113.9:4000", &[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=1.1.1.1")]);
        assert_eq!(client_ip(&p, &[], ForwardedHeader::XForwardedFor), ip("203.0.113.9"));
        assert_eq!(client_ip(&p, &nets(&["10.0.0.0/8"]), ForwardedHeader::Forwarded), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1"]);
        let p = parts("10.0.0.5:4000", &[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 192.168.1.1")]);
        assert_eq!(client_ip(&p, &trusted, ForwardedHeader::XForwardedFor), ip("198.51.100.7"), "6.6.6.6 is a spoof");
        let two_lines = parts("10.0.0.5:4000", &[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(client_ip(&two_lines, &trusted, ForwardedHeader::XForwardedFor), ip("198.51.100.8"));
        let none = parts("10.0.0.5:4000", &[]);
        assert_eq!(client_ip(&none, &trusted, ForwardedHeader::XForwardedFor), ip("10.0.0.5"), "no header: the peer");
    }

    #[test]
    fn the_configured_header_is_the_only_one_read() {
        let trusted = nets(&["10.0.0.0/8"]);
        let p = parts(
            "10.0.0.5:4000",
            &[
                ("x-forwarded-for", "198.51.100.7"),
                ("forwarded", r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https"#),
            ],
        );
        assert_eq!(client_ip(&p, &trusted, ForwardedHeader::XForwardedFor), ip("198.51.100.7"));
        assert_eq!(client_ip(&p, &trusted, ForwardedHeader::Forwarded), ip("2001:db8::1"));
    }

    #[test]
    fn garbage_and_mapped_addresses() {
        let trusted = nets(&["10.0.0.0/8"]);
        let p = parts("10.0.0.5:4000", &[("x-forwarded-for", "198.51.100.7, unknown, 10.0.0.9")]);
        assert_eq!(client_ip(&p, &trusted, ForwardedHeader::XForwardedFor), ip("10.0.0.9"), "stop at garbage");
        let mapped = parts("[::ffff:10.0.0.5]:4000", &[("x-forwarded-for", "198.51.100.7:5555")]);
        assert_eq!(client_ip(&mapped, &trusted, ForwardedHeader::XForwardedFor), ip("198.51.100.7"));
        assert!(parse_trusted_proxies(&["nope".to_owned()]).is_err());
    }
}
