//! `GET /sdk/mobile-sdk.tgz`: the `@kryptos_connect/mobile-sdk` React Native package, served
//! by the server it talks to, defaulting to it, and installable with `npm install <url>`.

use crate::helpers::*;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the served copy has in place of the base URL placeholder.
const PLACEHOLDER: &str = "%%KRYPTOS_CONNECT_BASE_URL%%";

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_the_mobile_sdk_as_an_npm_package_that_defaults_to_itself() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let app = spawn_app_on(&url, &dir, |s| {
        s.server.listen = format!("127.0.0.1:{port}");
        s.server.public_url = public.clone();
    })
    .await;

    let tarball = format!("{public}/sdk/mobile-sdk.tgz");
    let res = app.http.get(&tarball).send().await.expect("download");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some("application/gzip"));
    let tgz = res.bytes().await.expect("tarball bytes").to_vec();
    let again = app.http.get(&tarball).send().await.expect("again").bytes().await.expect("bytes");
    assert_eq!(tgz, again.to_vec(), "the same bytes each time (npm lockfile integrity stays valid)");

    let entries = unpack(&tgz);
    let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    for want in [
        "package/package.json",
        "package/README.md",
        "package/dist/index.js",
        "package/dist/index.mjs",
        "package/dist/index.d.ts",
        "package/dist/index.d.mts",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    let file = |name: &str| -> &Vec<u8> {
        &entries.iter().find(|(p, _)| p == name).unwrap_or_else(|| panic!("{name} in the tarball")).1
    };
    let manifest: Value = serde_json::from_slice(file("package/package.json")).expect("package.json");
    let source: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("sdk/mobile/package.json")).expect("sdk/mobile/package.json"),
    )
    .expect("JSON");
    assert_eq!(manifest["name"], "@kryptos_connect/mobile-sdk");
    assert_eq!(manifest["version"], source["version"]);
    for peer in ["react", "react-native", "react-native-webview"] {
        assert!(manifest["peerDependencies"][peer].is_string(), "peer dependency {peer}");
    }
    for entry in ["package/dist/index.js", "package/dist/index.mjs"] {
        let js = String::from_utf8(file(entry).clone()).expect("utf-8");
        assert!(js.contains(&format!("\"{public}\"")), "{entry}: the default baseUrl is this server's public URL");
        assert!(!js.contains(PLACEHOLDER), "{entry}: no placeholder left");
    }

    // `npm install <url>` into an empty project (peers are the app's business: not installed).
    let project = dir.join("mobile-consumer");
    std::fs::create_dir_all(&project).expect("project dir");
    std::fs::write(project.join("package.json"), r#"{"name":"consumer","version":"1.0.0","private":true}"#)
        .expect("package.json");
    let cache = dir.join("npm-cache");
    let out = tokio::task::spawn_blocking({
        let (project, tarball) = (project.clone(), tarball.clone());
        move || {
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--ignore-scripts", "--legacy-peer-deps", "--cache"])
                .arg(&cache)
                .arg(&tarball)
                .current_dir(&project)
                .output()
        }
    })
    .await
    .expect("npm install task")
    .unwrap_or_else(|e| panic!("npm install: cannot start ({e}); node and npm are required"));
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "npm install <served tarball> failed:\n{log}");
    let installed = project.join("node_modules/@kryptos_connect/mobile-sdk");
    let esm = std::fs::read_to_string(installed.join("dist/index.mjs")).expect("the installed ESM build");
    assert!(esm.contains(&format!("\"{public}\"")), "the installed copy defaults to this server");
    assert!(installed.join("dist/index.d.ts").exists(), "types installed");
    let deps: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("package.json")).expect("package.json after install"),
    )
    .expect("JSON");
    assert!(deps["dependencies"]["@kryptos_connect/mobile-sdk"]
        .as_str()
        .is_some_and(|d| d.ends_with("/sdk/mobile-sdk.tgz")));
    app.stop().await;
}
