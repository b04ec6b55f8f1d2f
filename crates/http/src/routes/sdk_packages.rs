//! `GET /sdk/{name}.tgz`: the client SDK npm packages, served by the server they talk to.
//!
//! Self-hosters cannot take `@kryptos_connect/*` from the public registry, so every server
//! serves them: `npm install https://connect.example.com/sdk/web-sdk.tgz`. Each package's
//! built output (`sdk/<pkg>/dist`, committed, so `cargo build` needs no node) is embedded at
//! compile time; the tarball is made here, laid out as `npm pack` does (`package/…`), with the
//! placeholder [`BASE_URL_PLACEHOLDER`] in its text files replaced by this server's public URL,
//! so the package's default `baseUrl` is the server it was downloaded from.
//!
//! EXTENSION POINT: one [`SdkPackage`] entry in [`PACKAGES`] per package.

use crate::envelope::ErrorResponse;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flate2::{Compression, GzBuilder};
use include_dir::{include_dir, Dir};
use kc_api::ErrorCode;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// Replaced, in every text file of a served package, by the server's public URL.
pub const BASE_URL_PLACEHOLDER: &str = "%%KRYPTOS_CONNECT_BASE_URL%%";

/// The modification time of every entry: the one `npm pack` uses (1985-10-26T08:15:00Z), so
/// the tarball depends only on its contents.
const NPM_PACK_MTIME: u64 = 499_162_500;

/// One npm package served under `/sdk/`.
pub struct SdkPackage {
    /// The download name under `/sdk/`, e.g. `web-sdk.tgz`.
    pub file: &'static str,
    /// Single files at the package root: `(path in the package, content)`; `package.json` first.
    pub files: &'static [(&'static str, &'static [u8])],
    /// Directories shipped whole: `(path in the package, embedded directory)`.
    pub dirs: &'static [(&'static str, &'static Dir<'static>)],
}

static WEB_SDK_DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/web/dist");
static MOBILE_SDK_DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../sdk/mobile/dist");

/// Every package the server serves.
pub static PACKAGES: &[SdkPackage] = &[
    SdkPackage {
        file: "web-sdk.tgz",
        files: &[
            ("package.json", include_bytes!("../../../../sdk/web/package.json")),
            ("README.md", include_bytes!("../../../../sdk/web/README.md")),
        ],
        dirs: &[("dist", &WEB_SDK_DIST)],
    },
    SdkPackage {
        file: "mobile-sdk.tgz",
        files: &[
            ("package.json", include_bytes!("../../../../sdk/mobile/package.json")),
            ("README.md", include_bytes!("../../../../sdk/mobile/README.md")),
        ],
        dirs: &[("dist", &MOBILE_SDK_DIST)],
    },
];

/// Whether `path` is text in which the base URL placeholder is replaced.
fn is_text(path: &str) -> bool {
    [".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".json", ".md", ".css", ".map"].iter().any(|ext| path.ends_with(ext))
}

/// `url` without trailing slashes, if it is safe inside a JavaScript string literal and a
/// plausible http(s) base URL.
fn safe_base_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && url.len() <= 2048
        && url.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\' | b'`' | b'<' | b'>'));
    ok.then(|| url.to_owned())
}

/// Every `(path in the package, content)` of `pkg`, sorted by path (a stable tarball).
fn entries(pkg: &SdkPackage) -> Vec<(String, &'static [u8])> {
    fn walk(prefix: &str, dir: &'static Dir<'static>, out: &mut Vec<(String, &'static [u8])>) {
        for file in dir.files() {
            out.push((format!("{prefix}/{}", file.path().display()), file.contents()));
        }
        for sub in dir.dirs() {
            walk(prefix, sub, out);
        }
    }
    let mut out: Vec<(String, &'static [u8])> = pkg.files.iter().map(|(p, c)| ((*p).to_owned(), *c)).collect();
    for (prefix, dir) in pkg.dirs {
        walk(prefix, dir, &mut out);
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The `.tgz` of `pkg` with `base_url` substituted: `package/<path>` entries, mode 0644, the
/// `npm pack` timestamp, gzip without a name or time — the same bytes for the same input.
pub fn tarball(pkg: &SdkPackage, base_url: &str) -> std::io::Result<Vec<u8>> {
    let gz = GzBuilder::new().mtime(0).write(Vec::new(), Compression::best());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, content) in entries(pkg) {
        let data: std::borrow::Cow<'_, [u8]> = match std::str::from_utf8(content) {
            Ok(text) if is_text(&path) && text.contains(BASE_URL_PLACEHOLDER) => {
                std::borrow::Cow::Owned(text.replace(BASE_URL_PLACEHOLDER, base_url).into_bytes())
            }
            _ => std::borrow::Cow::Borrowed(content),
        };
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(NPM_PACK_MTIME);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("package/{path}"), data.as_ref())?;
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()
}

/// The base URL a downloaded package defaults to: the configured public URL, else what the
/// request says this server is (`X-Forwarded-Proto` and `Host`).
fn base_url_for(state: &AppState, headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(url) = safe_base_url(&state.options.public_url) {
        return Some((url, true));
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    safe_base_url(&format!("{proto}://{host}")).map(|u| (u, false))
}

/// Tarballs already made for the configured public URL, by file name.
fn cache() -> &'static Mutex<HashMap<&'static str, Bytes>> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Bytes>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// `GET /sdk/{file}`: a package tarball, or 404.
pub(super) async fn download(State(state): State<AppState>, headers: HeaderMap, Path(file): Path<String>) -> Response {
    let Some(pkg) = PACKAGES.iter().find(|p| p.file == file) else {
        return ErrorResponse::new(ErrorCode::InvalidRequest, format!("No such SDK package: {file}"))
            .with_status(ErrorCode::InvalidRequest, StatusCode::NOT_FOUND)
            .into_response();
    };
    let Some((base, configured)) = base_url_for(&state, &headers) else {
        return ErrorResponse::new(ErrorCode::InvalidRequest, "Cannot tell this server's URL (set server.public_url)")
            .into_response();
    };
    let cached = if configured { cache().lock().ok().and_then(|c| c.get(pkg.file).cloned()) } else { None };
    let body = match cached {
        Some(b) => b,
        None => match tarball(pkg, &base) {
            Ok(bytes) => {
                let bytes = Bytes::from(bytes);
                if configured {
                    if let Ok(mut c) = cache().lock() {
                        c.insert(pkg.file, bytes.clone());
                    }
                }
                bytes
            }
            Err(e) => {
                tracing::error!(error = %e, package = pkg.file, "cannot build the SDK tarball");
                return ErrorResponse::new(ErrorCode::InternalError, "Internal server error").into_response();
            }
        },
    };
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", pkg.file)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    (h, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn unpack(tgz: &[u8]) -> Vec<(String, Vec<u8>, u32, u64)> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
        archive
            .entries()
            .expect("a tar archive")
            .map(|e| {
                let mut e = e.expect("an entry");
                let path = e.path().expect("a path").display().to_string();
                let mode = e.header().mode().expect("a mode");
                let mtime = e.header().mtime().expect("a mtime");
                let mut data = Vec::new();
                e.read_to_end(&mut data).expect("its data");
                (path, data, mode, mtime)
            })
            .collect()
    }

    #[test]
    fn the_web_sdk_tarball_is_laid_out_like_npm_pack_with_the_base_url_substituted() {
        let pkg = PACKAGES.iter().find(|p| p.file == "web-sdk.tgz").expect("the web SDK is served");
        let tgz = tarball(pkg, "https://connect.example.com").expect("a tarball");
        assert_eq!(tgz, tarball(pkg, "https://connect.example.com").expect("again"), "deterministic");
        let entries = unpack(&tgz);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        for want in ["package/package.json", "package/README.md", "package/dist/index.js", "package/dist/index.cjs"] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        assert!(names.contains(&"package/dist/index.d.ts") && names.contains(&"package/dist/styles/index.css"));
        assert!(entries.iter().all(|e| e.2 == 0o644 && e.3 == NPM_PACK_MTIME), "plain files, npm's timestamp");
        let manifest = &entries.iter().find(|e| e.0 == "package/package.json").expect("manifest").1;
        let manifest: serde_json::Value = serde_json::from_slice(manifest).expect("package.json is JSON");
        assert_eq!(manifest["name"], "@kryptos_connect/web-sdk");
        let js = String::from_utf8(entries.iter().find(|e| e.0 == "package/dist/index.js").expect("esm").1.clone())
            .expect("utf-8");
        assert!(js.contains("\"https://connect.example.com\""), "the default base URL is the server's");
        assert!(
            !entries.iter().any(|e| String::from_utf8_lossy(&e.1).contains(BASE_URL_PLACEHOLDER)),
            "no placeholder left"
        );
    }

    #[test]
    fn only_plain_http_urls_become_the_base_url() {
        assert_eq!(safe_base_url("https://connect.example.com/").as_deref(), Some("https://connect.example.com"));
        assert_eq!(safe_base_url("http://127.0.0.1:8080/kc").as_deref(), Some("http://127.0.0.1:8080/kc"));
        assert_eq!(safe_base_url("https://x.example\";alert(1)//"), None);
        assert_eq!(safe_base_url("javascript:alert(1)"), None);
        assert_eq!(safe_base_url(""), None);
    }
}
