//! Serving under a path prefix: the router nested at `/kryptos` in a host app (or reached
//! through a proxy that strips `/kryptos`).
//!
//! The prefix is the path of [`HttpOptions::public_url`](crate::HttpOptions::public_url) —
//! the URL browsers reach this server at. Routes are matched without it (axum's `nest` and
//! a stripping proxy both remove it), but every URL handed to a browser carries it:
//!
//! - the HTML pages (`/connect`, `/demo`, `/docs`) get it in their root-relative `href`,
//!   `src` and `action` attributes and in `<meta name="kc-base">`, from which their scripts
//!   build every `fetch` path;
//! - the console's pages, redirects (`Location`) and session cookie (`Path`) are written as
//!   if mounted at `/` and mapped under the prefix by [`console_under_base`];
//! - URLs the service builds (the OIDC issuer and endpoints, provider logos, redirects to
//!   `/connect`) start with `public_url` itself.
//!
//! With no path in `public_url` nothing is rewritten: the pages are served byte for byte.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The characters a base path may hold: unreserved URL characters, `%` escapes and `/`. No
/// quote, angle bracket, backslash, space, `?` or `#`, so it is safe in HTML attributes,
/// headers and scripts as it is.
fn is_safe_base_path(path: &str) -> bool {
    path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~' | b'%'))
        && !path.contains("//")
        && path.split('/').all(|seg| seg != "." && seg != "..")
}

/// The path prefix of `public_url` without its trailing slash (`http://h:8080/kryptos/` →
/// `/kryptos`; no path → `""`), and whether it was refused (see [`is_safe_base_path`]).
pub(crate) fn base_path_of(public_url: &str) -> (&str, bool) {
    let Some((_, rest)) = public_url.split_once("://") else {
        return ("", false);
    };
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => return ("", false),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    if is_safe_base_path(path) {
        (path, false)
    } else {
        ("", true)
    }
}

/// The path prefix browsers reach a server at `public_url` under, as
/// [`HttpOptions::base_path`](crate::HttpOptions::base_path) computes it: for routes a host
/// app serves beside the router (e.g. a cookie `Path`).
pub fn base_path(public_url: &str) -> &str {
    base_path_of(public_url).0
}

/// The attributes whose root-relative values are URLs of this server.
const URL_ATTRIBUTES: [&str; 4] = ["href", "src", "action", "formaction"];

/// `html` with `base` before every root-relative URL attribute (`href="/x"` →
/// `href="{base}/x"`; `href="//host"`, `href="#frag"` and absolute URLs are left alone) and
/// in `<meta name="kc-base" content="">`. `base` must pass [`is_safe_base_path`].
///
/// Sound for our own pages: they are ours (the static assets) or maud's output, in which a
/// `"` inside any value is escaped, so `attr="/` only ever starts an attribute value.
pub(crate) fn prefix_html(html: &str, base: &str) -> String {
    if base.is_empty() {
        return html.to_owned();
    }
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(i) = rest.find("=\"/") {
        let (before, after) = rest.split_at(i + 2); // up to and including the quote
        out.push_str(before);
        let name = before[..before.len() - 2].rsplit(|c: char| c.is_ascii_whitespace()).next().unwrap_or_default();
        let root_relative = !after.starts_with("//");
        if root_relative && URL_ATTRIBUTES.iter().any(|a| name.eq_ignore_ascii_case(a)) {
            out.push_str(base);
        }
        rest = after;
    }
    out.push_str(rest);
    out.replace(r#"<meta name="kc-base" content="">"#, &format!(r#"<meta name="kc-base" content="{base}">"#))
}

/// `location` under `base` when it is a root-relative path of ours.
fn prefix_location(location: &str, base: &str) -> Option<String> {
    (location.starts_with('/') && !location.starts_with("//")).then(|| format!("{base}{location}"))
}

/// A `Set-Cookie` value whose `Path=/` is moved to `Path={base}` (so the cookie is sent to
/// this server's pages and API only, not to the host app's).
fn prefix_cookie_path(cookie: &str, base: &str) -> String {
    cookie
        .split(';')
        .enumerate()
        .map(|(i, attr)| match attr.split_once('=') {
            // The first pair is the cookie itself, whatever its name.
            Some((k, v)) if i > 0 && k.trim().eq_ignore_ascii_case("path") && v.trim().starts_with('/') => {
                let v = v.trim();
                format!(" Path={base}{}", if v == "/" { "" } else { v })
            }
            _ => attr.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The longest console page mapped under the base path (larger answers pass unchanged).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Maps the console's answers under the base path: `Location`, the cookie `Path` and the
/// root-relative URLs of its HTML pages (which the handlers write as if mounted at `/`).
pub(crate) async fn console_under_base(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let base = state.base_path();
    if base.is_empty() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    if let Some(to) = parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) {
        if let Some(v) = prefix_location(to, base).and_then(|l| HeaderValue::from_str(&l).ok()) {
            parts.headers.insert(header::LOCATION, v);
        }
    }
    let cookies: Vec<HeaderValue> = parts
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| HeaderValue::from_str(&prefix_cookie_path(c, base)).ok())
        .collect();
    if !cookies.is_empty() {
        parts.headers.remove(header::SET_COOKIE);
        for c in cookies {
            parts.headers.append(header::SET_COOKIE, c);
        }
    }
    let html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !html {
        return Response::from_parts(parts, body);
    }
    match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => match std::str::from_utf8(&bytes) {
            Ok(text) => {
                parts.headers.remove(header::CONTENT_LENGTH);
                Response::from_parts(parts, axum::body::Body::from(prefix_html(text, base)))
            }
            Err(_) => Response::from_parts(parts, axum::body::Body::from(bytes)),
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot read a console page to map it under the base path");
            crate::envelope::ErrorResponse::new(kc_api::ErrorCode::InternalError, "Internal server error")
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_path_is_the_path_of_the_public_url() {
        assert_eq!(base_path_of("http://127.0.0.1:8080"), ("", false));
        assert_eq!(base_path_of("http://127.0.0.1:8080/"), ("", false));
        assert_eq!(base_path_of("https://connect.example.com/kryptos"), ("/kryptos", false));
        assert_eq!(base_path_of("https://connect.example.com/kryptos/"), ("/kryptos", false));
        assert_eq!(base_path_of("https://example.com/a/b-c_d.e~f%20/?x=1#y"), ("/a/b-c_d.e~f%20", false));
        assert_eq!(base_path_of(""), ("", false), "unset: taken from each request");
        for unsafe_url in ["http://h/a\"b", "http://h/<x>", "http://h/a b", "http://h/a//b", "http://h/a/../b"] {
            assert_eq!(base_path_of(unsafe_url), ("", true), "{unsafe_url}");
        }
    }

    #[test]
    fn root_relative_url_attributes_get_the_base() {
        let html = r##"<head><meta name="kc-base" content=""><link rel="stylesheet" href="/connect/widget.css">
<script src="/connect/widget.js" defer></script></head><body><use href="#i-x"></use>
<a href="//cdn.example/x">x</a><a href="https://example.com/">y</a><form method="post" action="/console/sign-in">
<input placeholder="/not-a-url"><button formaction="/console/x">go</button><p>href="/text" is text</p></form>"##;
        let out = prefix_html(html, "/kryptos");
        assert!(out.contains(r#"<meta name="kc-base" content="/kryptos">"#), "{out}");
        assert!(out.contains(r#"href="/kryptos/connect/widget.css""#), "{out}");
        assert!(out.contains(r#"src="/kryptos/connect/widget.js""#), "{out}");
        assert!(out.contains(r#"action="/kryptos/console/sign-in""#), "{out}");
        assert!(out.contains(r#"formaction="/kryptos/console/x""#), "{out}");
        assert!(out.contains(r##"href="#i-x""##), "fragments stay: {out}");
        assert!(out.contains(r#"href="//cdn.example/x""#), "protocol-relative URLs stay: {out}");
        assert!(out.contains(r#"href="https://example.com/""#), "absolute URLs stay: {out}");
        assert!(out.contains(r#"placeholder="/not-a-url""#), "other attributes stay: {out}");
        assert_eq!(prefix_html(html, ""), html, "no base: the page as it is");
    }

    #[test]
    fn redirects_and_cookie_paths_move_under_the_base() {
        assert_eq!(prefix_location("/console/sign-in", "/k").as_deref(), Some("/k/console/sign-in"));
        assert_eq!(prefix_location("//evil.example/x", "/k"), None);
        assert_eq!(prefix_location("https://example.com/x", "/k"), None);
        assert_eq!(
            prefix_cookie_path("kc_console=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60", "/k"),
            "kc_console=abc; Path=/k; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert_eq!(prefix_cookie_path("v=1; Path=/demo; HttpOnly", "/k"), "v=1; Path=/k/demo; HttpOnly");
        assert_eq!(prefix_cookie_path("v=1; HttpOnly", "/k"), "v=1; HttpOnly");
        assert_eq!(prefix_cookie_path("path=/x; Path=/", "/k"), "path=/x; Path=/k", "a cookie named path");
    }
}
