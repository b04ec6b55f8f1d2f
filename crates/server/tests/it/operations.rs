//! Operating the server (issue 12): production guards, secrets from files, unknown keys,
//! the data directory of administration commands, Prometheus metrics and webhook-delivery
//! retention — each through the real binary or the real server.

use crate::helpers::*;
use crate::webhooks::Receiver;
use reqwest::Method;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PEPPER: &str = "0123456789abcdef0123456789abcdef-ops";
/// A valid credentials key (base64 of 32 bytes).
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kc-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The binary with a clean environment: no `KRYPTOS__…` from the test runner, run in `cwd`.
fn bare(cwd: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kryptos-connect"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KRYPTOS__") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(cwd)
        .env("KRYPTOS__LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs a command that must exit by itself within 60 s.
async fn run(mut cmd: tokio::process::Command) -> Run {
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the command exits within 60 s")
        .expect("the binary starts");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Starts `serve` and returns the child and the announced base URL (or panics with its output).
async fn serve_until_listening(mut cmd: tokio::process::Command) -> (tokio::process::Child, String, Vec<String>) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("start the binary");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line.clone());
            if let Some((_, b)) = line.split_once("Kryptos Connect is listening on ") {
                return Some(b.trim().to_owned());
            }
        }
        None
    })
    .await
    .expect("the server announces itself within 60 s");
    let Some(base) = base else {
        let out = child.wait_with_output().await.expect("output");
        panic!("the server exited before listening: {seen:?}\n{}", String::from_utf8_lossy(&out.stderr));
    };
    // Keep reading so the announcement of the metrics port is captured and the pipe never fills.
    let more = tokio::time::timeout(Duration::from_millis(300), lines.next_line()).await;
    if let Ok(Ok(Some(line))) = more {
        seen.push(line);
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base, seen)
}

/// Environment of a production node that passes every guard, on a SQLite file in `dir`.
fn production_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("KRYPTOS__ENVIRONMENT", "production".to_owned()),
        ("KRYPTOS__DATA_DIR", dir.display().to_string()),
        ("KRYPTOS__MAIL__TRANSPORT", "smtp".to_owned()),
        ("KRYPTOS__DEMO__ENABLED", "false".to_owned()),
        ("KRYPTOS__SECURITY__PEPPER", PEPPER.to_owned()),
        ("KRYPTOS__SECURITY__CREDENTIALS_KEYS__K1", KEY.to_owned()),
        ("KRYPTOS__SECURITY__CREDENTIALS_ACTIVE_KEY", "k1".to_owned()),
        ("KRYPTOS__SERVER__PUBLIC_URL", "https://connect.example.com".to_owned()),
    ]
}

// ---------------------------------------------------------------------------------------
// Production guards.

#[tokio::test]
async fn production_refuses_to_start_with_development_settings_and_lists_every_problem() {
    let dir = temp_dir("prod");
    let mut cmd = bare(&dir);
    cmd.env("KRYPTOS__ENVIRONMENT", "production").args(["serve", "--listen", "127.0.0.1:0"]);
    let r = run(cmd).await;
    assert_ne!(r.code, Some(0), "refused: {}", r.stderr);
    assert!(r.code.is_some(), "exited, not killed");
    assert!(r.stderr.contains("refusing to start with environment = \"production\""), "{}", r.stderr);
    for problem in [
        "mail.transport is \"log\"",
        "demo.enabled is true",
        "security.pepper is not configured",
        "security.credentials_keys is empty",
        "server.public_url is \"http://127.0.0.1:8080\"",
    ] {
        assert!(r.stderr.contains(problem), "`{problem}` listed: {}", r.stderr);
    }
    assert!(!r.stdout.contains("listening"), "{}", r.stdout);
    assert!(!dir.join("data").exists(), "nothing was created: {:?}", std::fs::read_dir(&dir).map(|d| d.count()));
}

#[tokio::test]
async fn each_production_problem_alone_is_refused_and_a_complete_configuration_starts() {
    let cases: &[(&str, &str, &str)] = &[
        ("KRYPTOS__MAIL__TRANSPORT", "log", "mail.transport is \"log\""),
        ("KRYPTOS__DEMO__ENABLED", "true", "demo.enabled is true"),
        ("KRYPTOS__SECURITY__PEPPER", "", "security.pepper is not configured"),
        ("KRYPTOS__SECURITY__PEPPER", "too-short", "security.pepper is shorter than 32"),
        (
            "KRYPTOS__SERVER__PUBLIC_URL",
            "http://connect.example.com",
            "server.public_url is \"http://connect.example.com\"",
        ),
    ];
    for (var, value, problem) in cases {
        let dir = temp_dir("prod1");
        let mut cmd = bare(&dir);
        cmd.envs(production_env(&dir)).env(var, value).args(["serve", "--listen", "127.0.0.1:0"]);
        let r = run(cmd).await;
        assert!(r.code.is_some_and(|c| c != 0), "{var}={value} refused: {:?} {}", r.code, r.stderr);
        assert!(r.stderr.contains(problem), "{var}={value}: `{problem}` in {}", r.stderr);
        assert_eq!(r.stderr.matches("\n  - ").count(), 1, "exactly one problem for {var}={value}: {}", r.stderr);
    }
    // Without credentials keys.
    let dir = temp_dir("prod2");
    let mut cmd = bare(&dir);
    cmd.envs(production_env(&dir).into_iter().filter(|(k, _)| !k.contains("CREDENTIALS"))).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    let r = run(cmd).await;
    assert!(r.code.is_some_and(|c| c != 0) && r.stderr.contains("security.credentials_keys is empty"), "{}", r.stderr);

    // Everything in order: it starts and says it is in production.
    let dir = temp_dir("prod3");
    let mut cmd = bare(&dir);
    cmd.envs(production_env(&dir));
    let (mut child, base, _) = serve_until_listening(cmd).await;
    let health: serde_json::Value =
        reqwest::get(format!("{base}/api/health")).await.expect("health").json().await.expect("json");
    assert_eq!(health["environment"], json!("production"), "{health}");
    assert!(!dir.join("pepper").exists() && !dir.join("credentials.key").exists(), "no generated secrets");
    let _ = child.start_kill();
}

// ---------------------------------------------------------------------------------------
// Secrets from files.

#[tokio::test]
async fn secrets_are_read_from_files_without_their_trailing_newline() {
    let dir = temp_dir("secrets");
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).expect("mkdir");
    let db = format!("sqlite://{}?mode=rwc", dir.join("kc.db").display());
    std::fs::write(secrets.join("pepper"), format!("{PEPPER}\n")).expect("write");
    std::fs::write(secrets.join("database_url"), format!("{db}\n")).expect("write");
    std::fs::write(secrets.join("key"), format!("{KEY}\n")).expect("write");
    let file_env = |cmd: &mut tokio::process::Command| {
        cmd.env("KRYPTOS__SECURITY__PEPPER_FILE", secrets.join("pepper"))
            .env("KRYPTOS__DATABASE__URL_FILE", secrets.join("database_url"))
            .env("KRYPTOS__SECURITY__CREDENTIALS_KEYS__K1_FILE", secrets.join("key"))
            .env("KRYPTOS__SECURITY__CREDENTIALS_ACTIVE_KEY", "k1")
            .env("KRYPTOS__DEMO__ENABLED", "false");
    };
    let mut cmd = bare(&dir);
    file_env(&mut cmd);
    let (mut child, base, _) = serve_until_listening(cmd).await;

    // A client created with the pepper given inline (no newline) authenticates against the
    // server that read it from the file: the newline was dropped.
    let mut cmd = bare(&dir);
    cmd.env("KRYPTOS__SECURITY__PEPPER", PEPPER).args([
        "--database-url",
        &db,
        "clients",
        "create",
        "--name",
        "F",
        "--json",
    ]);
    let r = run(cmd).await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json");
    let creds = Creds {
        id: v["client_id"].as_str().expect("id").to_owned(),
        secret: v["client_secret"].as_str().expect("secret").to_owned(),
    };
    Node::new(&base).link_token(&creds).await;
    assert!(!dir.join("pepper").exists(), "the pepper file was used, none generated");
    let _ = child.start_kill();

    // A missing secret file stops the start with a clear message.
    let mut cmd = bare(&dir);
    file_env(&mut cmd);
    cmd.env("KRYPTOS__MAIL__SMTP_PASSWORD_FILE", secrets.join("missing")).args(["serve", "--listen", "127.0.0.1:0"]);
    let r = run(cmd).await;
    assert!(r.code.is_some_and(|c| c != 0), "{}", r.stderr);
    assert!(
        r.stderr.contains("mail.smtp_password_file")
            && r.stderr.contains(&secrets.join("missing").display().to_string()),
        "{}",
        r.stderr
    );
    // So does a configured pepper file that does not exist (it is never generated).
    let mut cmd = bare(&dir);
    file_env(&mut cmd);
    cmd.env("KRYPTOS__SECURITY__PEPPER_FILE", secrets.join("nope")).args(["serve", "--listen", "127.0.0.1:0"]);
    let r = run(cmd).await;
    assert!(r.code.is_some_and(|c| c != 0) && r.stderr.contains("pepper file"), "{}", r.stderr);
    assert!(!secrets.join("nope").exists());
}

// ---------------------------------------------------------------------------------------
// Unknown configuration keys.

#[tokio::test]
async fn unknown_configuration_keys_are_reported_with_where_they_came_from() {
    let dir = temp_dir("unknown");
    let config = dir.join("kc.toml");
    std::fs::write(&config, "[server]\nlisten = \"127.0.0.1:0\"\nlistn = \"x\"\n[mail]\ntransprot = \"smtp\"\n")
        .expect("write");
    let mut cmd = bare(&dir);
    cmd.env("KRYPTOS__SERVER__BODY_LIMIT", "1")
        .env("KRYPTOS__DATA_DIR", dir.join("data"))
        .arg("--config")
        .arg(&config)
        .arg("migrate");
    let r = run(cmd).await;
    assert_eq!(r.code, Some(0), "unknown keys are warnings, not errors: {}", r.stderr);
    let file = format!("file {}", config.display());
    for (key, source) in [
        ("server.listn", file.as_str()),
        ("mail.transprot", file.as_str()),
        ("server.body_limit", "environment KRYPTOS__SERVER__BODY_LIMIT"),
    ] {
        let line =
            r.stderr.lines().find(|l| l.contains(&format!("`{key}`"))).unwrap_or_else(|| panic!("{key}: {}", r.stderr));
        assert!(line.contains("WARN") && line.contains(source), "{line}");
    }
    assert!(!r.stderr.contains("`server.listen`"), "known keys are not reported: {}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// The data directory.

#[tokio::test]
async fn administration_commands_never_create_a_database_or_secrets_and_follow_the_database_file() {
    let elsewhere = temp_dir("cwd");
    // From a directory without a database: a clear error, nothing created.
    let r = run({
        let mut c = bare(&elsewhere);
        c.args(["clients", "list"]);
        c
    })
    .await;
    assert!(r.code.is_some_and(|c| c != 0), "{}", r.stderr);
    assert!(r.stderr.contains("no database at ./data/kryptos.db"), "{}", r.stderr);
    assert!(r.stderr.contains(&elsewhere.display().to_string()), "names the working directory: {}", r.stderr);
    assert_eq!(std::fs::read_dir(&elsewhere).expect("dir").count(), 0, "nothing created in the working directory");

    // The server on a database file elsewhere keeps its pepper and key next to it.
    let home = temp_dir("home");
    let db = format!("sqlite://{}?mode=rwc", home.join("kc.db").display());
    let r = run({
        let mut c = bare(&elsewhere);
        c.args(["--database-url", &db, "clients", "list"]);
        c
    })
    .await;
    assert!(r.code.is_some_and(|c| c != 0) && r.stderr.contains("no database at"), "{}", r.stderr);
    let mut cmd = bare(&elsewhere);
    cmd.args(["--database-url", &db]).env("KRYPTOS__DEMO__ENABLED", "false");
    let (mut child, base, _) = serve_until_listening(cmd).await;
    assert!(home.join("pepper").exists() && home.join("credentials.key").exists(), "secrets next to the database");
    assert!(!elsewhere.join("data").exists(), "no ./data in the working directory");

    // From yet another directory, the command finds the database, pepper and key.
    let third = temp_dir("third");
    let r = run({
        let mut c = bare(&third);
        c.args(["--database-url", &db, "clients", "create", "--name", "D", "--json"]);
        c
    })
    .await;
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json");
    let creds = Creds {
        id: v["client_id"].as_str().expect("id").to_owned(),
        secret: v["client_secret"].as_str().expect("secret").to_owned(),
    };
    Node::new(&base).link_token(&creds).await;
    assert_eq!(std::fs::read_dir(&third).expect("dir").count(), 0, "nothing created in the working directory");
    let _ = child.start_kill();

    // A database without its pepper (another data_dir): refused, no pepper invented.
    let r = run({
        let mut c = bare(&third);
        c.args(["--database-url", &db, "clients", "list"]).env("KRYPTOS__DATA_DIR", third.join("other"));
        c
    })
    .await;
    assert!(r.code.is_some_and(|c| c != 0) && r.stderr.contains("pepper"), "{}", r.stderr);
    assert!(!third.join("other").exists(), "no pepper generated: {:?}", std::fs::read_dir(&third).map(|d| d.count()));
}

// ---------------------------------------------------------------------------------------
// Metrics.

/// `GET url` as text.
async fn text(url: &str) -> (u16, String) {
    let res = reqwest::get(url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (res.status().as_u16(), res.text().await.expect("body"))
}

/// The value of the first sample of `series` whose line contains every one of `labels`.
fn sample(metrics: &str, series: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            (l.starts_with(&format!("{series}{{")) || l.starts_with(&format!("{series} ")))
                && labels.iter().all(|x| l.contains(x))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_on_the_main_listener_count_requests_per_route_template_and_status() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| s.server.metrics_listen = "main".to_owned()).await;
    let creds = app.client().await;
    let metrics_url = format!("{}/metrics", app.base);
    let before = text(&metrics_url).await.1;
    let count = |m: &str, route: &str, status: &str| {
        sample(m, "kc_http_requests_total", &[&format!("route=\"{route}\""), &format!("status=\"{status}\"")])
            .unwrap_or(0.0)
    };

    let link = app.link_token(&creds).await;
    app.send(Method::DELETE, "/widget/integrations/wal_does_not_exist", None, Some(&link), None).await;
    let wrong = Creds { id: creds.id.clone(), secret: "kcs_wrong".to_owned() };
    app.post("/link-token", &wrong, json!({})).await.assert_error(401, "INVALID_CLIENT");
    app.send(Method::GET, "/no/such/path", None, None, None).await;

    let (status, after) = text(&metrics_url).await;
    assert_eq!(status, 200);
    assert_eq!(count(&after, "/link-token", "200") - count(&before, "/link-token", "200"), 1.0, "{after}");
    assert_eq!(count(&after, "/link-token", "401") - count(&before, "/link-token", "401"), 1.0, "{after}");
    assert!(after.contains("route=\"/widget/integrations/{wallet_id}\""), "route template, not the raw path: {after}");
    assert!(!after.contains("wal_does_not_exist") && !after.contains("/no/such/path"), "no raw paths: {after}");
    assert!(count(&after, "unmatched", "404") >= 1.0, "{after}");
    assert!(
        sample(
            &after,
            "kc_http_request_duration_seconds_bucket",
            &["route=\"/link-token\"", "status=\"401\"", "le=\"+Inf\""]
        )
        .is_some_and(|n| n >= 1.0),
        "latency histogram per route: {after}"
    );
    assert!(sample(&after, "kc_http_auth_failures_total", &["route=\"/link-token\""]).is_some_and(|n| n >= 1.0));
    assert!(
        sample(&after, "kc_auth_events_total", &["kind=\"client.auth\"", "outcome=\"failure\""])
            .is_some_and(|n| n >= 1.0),
        "{after}"
    );
    assert!(after.contains("# HELP kc_http_requests_total"), "described: {after}");

    // Store gauges are refreshed in the background.
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let m = text(&metrics_url).await.1;
        let ok = [
            "kc_db_pool_connections",
            "kc_db_pool_max_connections",
            "kc_sync_queue_depth",
            "kc_webhook_outbox_depth",
            "kc_webhook_outbox_oldest_age_seconds",
            "kc_db_pool_acquire_seconds_count",
            "kc_db_up",
        ]
        .iter()
        .all(|s| sample(&m, s, &[]).is_some());
        if ok {
            assert_eq!(sample(&m, "kc_db_up", &[]), Some(1.0), "{m}");
            assert_eq!(sample(&m, "kc_db_pool_max_connections", &[]), Some(10.0), "{m}");
            break;
        }
        assert!(Instant::now() < until, "store gauges within 15 s: {m}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_separate_metrics_listener_serves_metrics_and_the_main_one_does_not() {
    let (url, _dir) = fresh_database(Db::Postgres).await;
    let creds = cli_create_client(&url, "Metrics app").await;
    let dir = temp_dir("metrics");
    let mut cmd = binary_command(&url, &dir);
    cmd.env("KRYPTOS__SERVER__METRICS_LISTEN", "127.0.0.1:0");
    let (mut child, base, seen) = serve_until_listening(cmd).await;
    let metrics_url = seen
        .iter()
        .find_map(|l| l.split_once("Prometheus metrics on ").map(|(_, u)| u.trim().to_owned()))
        .unwrap_or_else(|| panic!("the metrics address is announced: {seen:?}"));
    let node = Node::new(&base);
    node.access_token(&creds).await;
    let a = node.send(Method::GET, "/api/v1/holdings", Some(&creds), None, None).await;
    assert_eq!(a.status.as_u16(), 401, "no bearer: {}", a.body);
    let (status, body) = text(&format!("{base}/metrics")).await;
    assert_eq!(status, 404, "not on the public listener: {body}");
    let (status, m) = text(&metrics_url).await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(&m, "kc_http_requests_total", &["route=\"/token/exchange\"", "status=\"200\""]),
        Some(1.0),
        "{m}"
    );
    assert!(sample(&m, "kc_http_requests_total", &["route=\"/api/v1/holdings\"", "status=\"401\""]).is_some(), "{m}");
    // Webhook outcomes and the outbox gauge appear once there is something to report.
    let until = Instant::now() + Duration::from_secs(15);
    while sample(&text(&metrics_url).await.1, "kc_webhook_outbox_depth", &[]).is_none() {
        assert!(Instant::now() < until, "outbox gauge");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = child.start_kill();
}

// ---------------------------------------------------------------------------------------
// Webhook-delivery retention.

#[tokio::test]
async fn delivered_webhook_deliveries_are_purged_after_their_retention_and_failed_ones_later() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.webhooks.poll_interval_ms = 20;
        s.webhooks.delivered_retention_days = 1;
        s.webhooks.failed_retention_days = 3;
        s.webhooks.purge_interval_secs = 1;
    })
    .await;
    let ok = Receiver::start().await;
    let refusing = Receiver::start().await;
    refusing.always(400);
    let (a, b) = (app.client().await, app.client().await);
    app.service.add_webhook(&a.id, &ok.url, &[]).await.expect("add a");
    app.service.add_webhook(&b.id, &refusing.url, &[]).await.expect("add b");
    app.access_token(&a).await;
    app.access_token(&b).await;
    let statuses = |client: String| {
        let service = app.service.clone();
        async move {
            service
                .webhook_deliveries(&client, 50)
                .await
                .expect("deliveries")
                .into_iter()
                .map(|d| d.status)
                .collect::<Vec<_>>()
        }
    };
    let wait = |client: String, want: Vec<&'static str>, what: &'static str| async move {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let now = statuses(client.clone()).await;
            if now == want {
                return;
            }
            assert!(Instant::now() < until, "{what}: {now:?}, want {want:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    wait(a.id.clone(), vec!["delivered"], "delivered").await;
    wait(b.id.clone(), vec!["failed"], "failed at once on 400").await;

    // Half a day later nothing goes.
    app.clock.advance(time::Duration::hours(12));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(statuses(a.id.clone()).await, ["delivered"]);
    // Two days later the delivered one is gone, the failed one stays.
    app.clock.advance(time::Duration::hours(36));
    wait(a.id.clone(), vec![], "delivered purged after a day").await;
    assert_eq!(statuses(b.id.clone()).await, ["failed"], "failed deliveries are kept longer");
    // Past three days the failed one goes too.
    app.clock.advance(time::Duration::days(2));
    wait(b.id.clone(), vec![], "failed purged after three days").await;
    app.stop().await;
}

#[tokio::test]
async fn a_delivery_retention_of_zero_keeps_deliveries_forever() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.webhooks.poll_interval_ms = 20;
        s.webhooks.delivered_retention_days = 0;
        s.webhooks.failed_retention_days = 0;
        s.webhooks.purge_interval_secs = 1;
    })
    .await;
    let ok = Receiver::start().await;
    let a = app.client().await;
    app.service.add_webhook(&a.id, &ok.url, &[]).await.expect("add");
    app.access_token(&a).await;
    ok.wait_for(1, Duration::from_secs(15), "one delivery").await;
    let until = Instant::now() + Duration::from_secs(15);
    while app.service.webhook_deliveries(&a.id, 10).await.expect("list").first().is_none_or(|d| d.status != "delivered")
    {
        assert!(Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.clock.advance(time::Duration::days(3650));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.service.webhook_deliveries(&a.id, 10).await.expect("list").len(), 1);
    app.stop().await;
}
