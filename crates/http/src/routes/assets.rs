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
/// Built from `sdk/web/src` by the web SDK's build (`sdk/web/dist`, committed, drift-checked).
const SDK_JS: &str = include_str!("../../../../sdk/web/dist/connect.js");
const SDK_DTS: &str = include_str!("../../assets/connect.d.ts");
const DEMO_HTML: &str = include_str!("../../assets/demo.html");
const DEMO_JS: &str = include_str!("../../assets/demo.js");
const DEMO_CSS: &str = include_str!("../../assets/demo.css");

/// The provider logos shipped with the server (simple marks of each chain and exchange of
/// the catalogue), by provider id.
const LOGOS: &[(&str, &str)] = &[
    ("arbitrum", include_str!("../../assets/logos/arbitrum.svg")),
    ("avalanche", include_str!("../../assets/logos/avalanche.svg")),
    ("base", include_str!("../../assets/logos/base.svg")),
    ("binance", include_str!("../../assets/logos/binance.svg")),
    ("bitcoin", include_str!("../../assets/logos/bitcoin.svg")),
    ("bsc", include_str!("../../assets/logos/bsc.svg")),
    ("bybit", include_str!("../../assets/logos/bybit.svg")),
    ("coinbase", include_str!("../../assets/logos/coinbase.svg")),
    ("ethereum", include_str!("../../assets/logos/ethereum.svg")),
    ("kraken", include_str!("../../assets/logos/kraken.svg")),
    ("kucoin", include_str!("../../assets/logos/kucoin.svg")),
    ("okx", include_str!("../../assets/logos/okx.svg")),
    ("optimism", include_str!("../../assets/logos/optimism.svg")),
    ("polygon", include_str!("../../assets/logos/polygon.svg")),
    ("solana", include_str!("../../assets/logos/solana.svg")),
];

/// The policy of every page we serve; `frame-ancestors` is added per page.
const BASE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'";

fn asset(content_type: &'static str, body: &'static str, cache: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    (headers, body).into_response()
}

/// An HTML page of ours under the base path (see `crate::base_path`): as it is at the root.
fn page(state: &AppState, body: &'static str, frame_ancestors: &str) -> Response {
    let base = state.base_path();
    let mut res = if base.is_empty() {
        asset("text/html; charset=utf-8", body, "no-store")
    } else {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        (headers, crate::base_path::prefix_html(body, base)).into_response()
    };
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
    page(&state, WIDGET_HTML, &ancestors)
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
pub(super) async fn demo_page(State(state): State<AppState>) -> Response {
    page(&state, DEMO_HTML, "'none'")
}

pub(super) async fn demo_js() -> Response {
    asset("text/javascript; charset=utf-8", DEMO_JS, "no-store")
}

pub(super) async fn demo_css() -> Response {
    asset("text/css; charset=utf-8", DEMO_CSS, "no-store")
}

/// `GET /logos/{id}.svg`: the provider's logo shipped with the server (no third-party CDN);
/// a generated monogram for an id without one.
pub(super) async fn logo(Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".svg").filter(|id| {
        !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some((_, svg)) = LOGOS.iter().find(|(known, _)| *known == id) {
        return asset("image/svg+xml", svg, "public, max-age=86400");
    }
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
    use super::{LOGOS, SDK_DTS, SDK_JS};

    /// The message keys of one language of the widget's catalogue.
    fn widget_keys(lang: &str) -> std::collections::BTreeSet<String> {
        let js = super::WIDGET_JS;
        let start =
            js.find(&format!("\n    {lang}: {{\n")).unwrap_or_else(|| panic!("widget.js has `{lang}` messages"));
        let body = &js[start..];
        let end = body.find("\n    }").expect("the language block ends");
        body[..end]
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"')?.split_once("\": ").map(|(k, _)| k.to_owned()))
            .collect()
    }

    #[test]
    fn the_widget_speaks_french_wherever_it_speaks_english() {
        let (en, fr) = (widget_keys("en"), widget_keys("fr"));
        assert!(en.len() > 150, "found the English catalogue: {}", en.len());
        let missing: Vec<_> = en.difference(&fr).collect();
        assert!(missing.is_empty(), "French lacks {missing:?}");
        let extra: Vec<_> = fr.difference(&en).collect();
        assert!(extra.is_empty(), "French has keys English lacks: {extra:?}");
    }

    #[test]
    fn every_shipped_logo_is_a_titled_svg_mark_without_text_or_script() {
        assert!(LOGOS.len() >= 15);
        for (id, svg) in LOGOS {
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{id}.svg is an SVG document");
            assert!(svg.contains("<title>"), "{id}.svg names its provider");
            for banned in ["<script", "<text", "href=\"http", "onload"] {
                assert!(
                    !svg.contains(banned),
                    "{id}.svg has no {banned}: a drawn mark, not initials or active content"
                );
            }
        }
    }

    /// `connect.js` is generated from `sdk/web/src` (the React package's core); the vitest suite
    /// checks that `connect.d.ts` declares every member and option of the built global.
    #[test]
    fn the_served_sdk_is_the_build_of_the_shared_typescript_core() {
        assert!(SDK_JS.starts_with("/*! Kryptos Connect browser SDK"), "connect.js is the tsup build");
        assert!(SDK_JS.contains("Generated from sdk/web/src"), "and says where it comes from");
        assert!(SDK_JS.contains("win.KryptosConnect = api"), "it defines the global");
        assert!(SDK_DTS.contains("interface KryptosConnectSDK"), "connect.d.ts types the global");
    }
}
