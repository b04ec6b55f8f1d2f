//! What the web SDK needs from the server: `GET /widget/origin-check` (an unregistered page
//! origin is reported instead of a silently blocked iframe) and `GET /sdk/web-sdk.tgz` (the
//! `@kryptos_connect/web-sdk` npm package, defaulting to this server).

use crate::helpers::*;
use kc_service::NewClient;
use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, ORIGIN};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const APP_ORIGIN: &str = "https://app.example.com";

/// `GET /widget/origin-check?client_id=…` with `origin` as the `Origin` header (if any).
async fn origin_check(app: &TestApp, client_id: Option<&str>, origin: Option<&str>) -> (Answer, Option<String>) {
    let path = match client_id {
        Some(id) => format!("/widget/origin-check?client_id={id}"),
        None => "/widget/origin-check".to_owned(),
    };
    let mut req = app.http.get(format!("{}{path}", app.base));
    if let Some(o) = origin {
        req = req.header(ORIGIN, o);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status();
    let headers = res.headers().clone();
    let acao = headers.get(ACCESS_CONTROL_ALLOW_ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (Answer { status, body, headers }, acao)
}

#[tokio::test]
async fn the_origin_check_answers_whether_the_calling_origin_may_frame_the_clients_widget() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client_with(NewClient { origins: vec![APP_ORIGIN.into()], ..NewClient::sandbox("Web app") }).await;
    let other =
        app.client_with(NewClient { origins: vec!["https://other.example".into()], ..NewClient::sandbox("O") }).await;

    let (a, acao) = origin_check(&app, Some(&creds.id), Some(APP_ORIGIN)).await;
    assert_eq!(a.data(), &json!({ "origin": APP_ORIGIN, "allowed": true }));
    assert_eq!(acao.as_deref(), Some("*"), "any page may ask (no credentials involved)");
    assert_eq!(a.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    assert!(
        a.headers.get_all("vary").iter().any(|v| v.to_str().is_ok_and(|v| v.contains("Origin"))),
        "varies by Origin"
    );

    let (a, acao) = origin_check(&app, Some(&creds.id), Some("https://evil.example")).await;
    assert_eq!(a.data(), &json!({ "origin": "https://evil.example", "allowed": false }));
    assert_eq!(acao.as_deref(), Some("*"), "the refusal is readable by the page, so the SDK can explain it");

    // Another client's origin is not this client's; an unknown client has none.
    let (a, _) = origin_check(&app, Some(&creds.id), Some("https://other.example")).await;
    assert_eq!(a.data()["allowed"], json!(false));
    let (a, _) = origin_check(&app, Some(&other.id), Some("https://other.example")).await;
    assert_eq!(a.data()["allowed"], json!(true));
    let (a, _) = origin_check(&app, Some("kc_nope"), Some(APP_ORIGIN)).await;
    assert_eq!(a.data(), &json!({ "origin": APP_ORIGIN, "allowed": false }), "nothing else is revealed");

    let (a, _) = origin_check(&app, Some(&creds.id), None).await;
    a.assert_error(400, "INVALID_REQUEST");
    let (a, _) = origin_check(&app, None, Some(APP_ORIGIN)).await;
    a.assert_error(400, "INVALID_REQUEST");
    app.stop().await;
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("workspace root").to_path_buf()
}

/// `(path, content)` of every entry of a `.tgz`.
fn unpack(tgz: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    archive
        .entries()
        .expect("a gzipped tar")
        .map(|e| {
            let mut e = e.expect("an entry");
            let path = e.path().expect("a path").display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).expect("entry data");
            (path, data)
        })
        .collect()
}

/// Runs `cmd`, failing the test with its output if it fails (or cannot start).
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot start ({e}); node and npm are required"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}):\n{text}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_the_web_sdk_as_an_npm_package_that_defaults_to_itself() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let app = spawn_app_on(&url, &dir, |s| {
        s.server.listen = format!("127.0.0.1:{port}");
        s.server.public_url = format!("{public}/");
    })
    .await;

    let res = app.http.get(format!("{public}/sdk/web-sdk.tgz")).send().await.expect("download");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/gzip"));
    let tgz = res.bytes().await.expect("tarball bytes").to_vec();
    let again =
        app.http.get(format!("{public}/sdk/web-sdk.tgz")).send().await.expect("again").bytes().await.expect("b");
    assert_eq!(tgz, again.to_vec(), "the same bytes each time (npm lockfile integrity stays valid)");

    let entries = unpack(&tgz);
    assert!(entries.iter().all(|(p, _)| p.starts_with("package/")), "laid out as npm pack does");
    let file = |name: &str| -> &Vec<u8> {
        &entries.iter().find(|(p, _)| p == name).unwrap_or_else(|| panic!("{name} in the tarball")).1
    };
    let manifest: Value = serde_json::from_slice(file("package/package.json")).expect("package.json");
    let source: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("sdk/web/package.json")).expect("sdk/web/package.json"),
    )
    .expect("JSON");
    assert_eq!(manifest["name"], "@kryptos_connect/web-sdk");
    assert_eq!(manifest["version"], source["version"], "the version of sdk/web/package.json");
    for entry in ["package/dist/index.js", "package/dist/index.cjs"] {
        let js = String::from_utf8(file(entry).clone()).expect("utf-8");
        assert!(js.contains(&format!("\"{public}\"")), "{entry}: the default baseUrl is this server's public URL");
        assert!(!js.contains("%%KRYPTOS_CONNECT_BASE_URL%%"), "{entry}: no placeholder left");
    }
    for entry in ["package/dist/index.d.ts", "package/dist/styles/index.css", "package/README.md"] {
        file(entry);
    }

    let missing = app.http.get(format!("{public}/sdk/nope.tgz")).send().await.expect("404");
    assert_eq!(missing.status(), 404);

    // `npm install <url>` into an empty project, then the CommonJS entry reports its default
    // server (React comes from the SDK workspace's node_modules: it is a peer dependency).
    let project = dir.join("consumer");
    std::fs::create_dir_all(&project).expect("project dir");
    std::fs::write(project.join("package.json"), r#"{"name":"consumer","version":"1.0.0","private":true}"#)
        .expect("package.json");
    let react = repo_root().join("sdk/node_modules");
    assert!(react.join("react").exists(), "{} has react: run `npm ci` in sdk/ (cargo xtask ci does)", react.display());
    let tarball = format!("{public}/sdk/web-sdk.tgz");
    let cache = dir.join("npm-cache");
    let npm = tokio::task::spawn_blocking({
        let project = project.clone();
        move || {
            run(
                Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--ignore-scripts", "--legacy-peer-deps", "--cache"])
                    .arg(&cache)
                    .arg(&tarball)
                    .current_dir(&project),
                "npm install <served tarball>",
            )
        }
    })
    .await
    .expect("npm install task");
    assert!(project.join("node_modules/@kryptos_connect/web-sdk/dist/index.js").exists(), "installed: {npm}");
    let installed: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("package.json")).expect("package.json after install"),
    )
    .expect("JSON");
    assert!(installed["dependencies"]["@kryptos_connect/web-sdk"]
        .as_str()
        .is_some_and(|d| d.contains("/sdk/web-sdk.tgz")));
    let out = run(
        Command::new("node")
            .args(["-e", "const s = require('@kryptos_connect/web-sdk'); console.log(JSON.stringify([s.KryptosConnect.getConfig().baseUrl, typeof s.KryptosConnectButton, typeof s.KryptosConnectProvider]))"])
            .env("NODE_PATH", &react)
            .current_dir(&project),
        "require the installed package",
    );
    assert_eq!(out.trim(), json!([public, "function", "function"]).to_string());
    app.stop().await;
}
