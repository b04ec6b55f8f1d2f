//! The widget page, the browser SDK, the demo site and provider logos — embedded in the
//! binary at build time, served with a strict Content-Security-Policy.

use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

const WIDGET_HTML: &str = include_str!("../../assets/widget.html");
const WIDGET_JS: &str = include_str!("../../assets/widget.js");
const WIDGET_CSS: &str = include_str!("../../assets/widget.css");
const SDK_JS: &str = include_str!("../../assets/connect.js");
const SDK_DTS: &str = include_str!("../../assets/connect.d.ts");
const DEMO_HTML: &str = include_str!("../../assets/demo.html");
const DEMO_JS: &str = include_str!("../../assets/demo.js");
const DEMO_CSS: &str = include_str!("../../assets/demo.css");

/// The policy of every page we serve; `frame-ancestors` is added per page.
const BASE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'";

fn asset(content_type: &'static str, body: &'static str, cache: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    (headers, body).into_response()
}

fn page(body: &'static str, frame_ancestors: &str) -> Response {
    let mut res = asset("text/html; charset=utf-8", body, "no-store");
    let csp = format!("{BASE_CSP}; frame-ancestors {frame_ancestors}");
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Query of `GET /connect`.
#[derive(Deserialize)]
pub(super) struct ConnectQuery {
    client_id: Option<String>,
}

/// `GET /connect`: the widget page. Only the client's registered origins (and this server)
/// may frame it, so no other site can clickjack the consent screen.
pub(super) async fn widget_page(State(state): State<AppState>, Query(q): Query<ConnectQuery>) -> Response {
    let origins = match q.client_id.as_deref() {
        Some(id) => state.api.client_origins(id).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let ancestors = std::iter::once("'self'".to_owned())
        .chain(origins.into_iter().filter(|o| o.chars().all(|c| c.is_ascii_graphic() && c != ';' && c != ',')))
        .collect::<Vec<_>>()
        .join(" ");
    page(WIDGET_HTML, &ancestors)
}

pub(super) async fn widget_js() -> Response {
    asset("text/javascript; charset=utf-8", WIDGET_JS, "public, max-age=300")
}

pub(super) async fn widget_css() -> Response {
    asset("text/css; charset=utf-8", WIDGET_CSS, "public, max-age=300")
}

/// `GET /sdk/connect.js`: the browser SDK, loadable from any site.
pub(super) async fn sdk_js() -> Response {
    let mut res = asset("text/javascript; charset=utf-8", SDK_JS, "public, max-age=300");
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res.headers_mut().insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    res
}

pub(super) async fn sdk_dts() -> Response {
    asset("application/typescript; charset=utf-8", SDK_DTS, "public, max-age=300")
}

/// `GET /demo`: the development demo site (only when the demo is enabled).
pub(super) async fn demo_page() -> Response {
    page(DEMO_HTML, "'none'")
}

pub(super) async fn demo_js() -> Response {
    asset("text/javascript; charset=utf-8", DEMO_JS, "no-store")
}

pub(super) async fn demo_css() -> Response {
    asset("text/css; charset=utf-8", DEMO_CSS, "no-store")
}

/// `GET /logos/{id}.svg`: a generated monogram for each provider (no third-party CDN).
pub(super) async fn logo(Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".svg").filter(|id| {
        !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let hue = id.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 360;
    let initials: String = id.chars().take(2).collect::<String>().to_uppercase();
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\" viewBox=\"0 0 64 64\">\
<circle cx=\"32\" cy=\"32\" r=\"32\" fill=\"hsl({hue},62%,46%)\"/>\
<text x=\"32\" y=\"40\" text-anchor=\"middle\" font-family=\"system-ui,sans-serif\" font-size=\"24\" \
font-weight=\"600\" fill=\"#fff\">{initials}</text></svg>"
    );
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    (headers, svg).into_response()
}

#[cfg(test)]
mod tests {
    use super::{SDK_DTS, SDK_JS};

    /// The keys of the object literal that starts at the line `marker` in `source`.
    fn object_keys(source: &str, marker: &str) -> Vec<String> {
        let start = source.find(marker).unwrap_or_else(|| panic!("connect.js has `{marker}`"));
        let body = &source[start + marker.len()..];
        let end = body.find("\n  };").expect("the object literal ends");
        body[..end]
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let (key, _) = l.split_once(':')?;
                (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| key.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_type_declarations_describe_every_public_member_of_the_sdk() {
        let members = object_keys(SDK_JS, "var api = {");
        assert!(members.len() >= 6, "found the SDK surface: {members:?}");
        for m in members.iter().filter(|m| !m.starts_with("__")) {
            let declared = SDK_DTS.contains(&format!("  {m}(")) || SDK_DTS.contains(&format!("readonly {m}:"));
            assert!(declared, "connect.d.ts declares KryptosConnect.{m}");
        }
    }

    #[test]
    fn the_type_declarations_describe_every_configuration_option() {
        let options = object_keys(SDK_JS, "var config = {");
        assert!(options.len() >= 6, "found the configuration: {options:?}");
        let config_decl = &SDK_DTS[SDK_DTS.find("export interface KryptosConnectConfig").expect("config interface")..];
        let config_decl = &config_decl[..config_decl.find("\n}").expect("interface ends")];
        for o in options {
            assert!(
                config_decl.contains(&format!("  {o}:")) || config_decl.contains(&format!("  {o}?:")),
                "KryptosConnectConfig declares `{o}`"
            );
        }
    }
}
