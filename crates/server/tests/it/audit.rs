//! The audit trail (SPEC §8, issue 7): `kryptos-connect audit` lists a client's
//! authentication events — time, client, grant and user ids, IP and outcome, never a secret —
//! and events older than the configured retention are purged by the server process.

use crate::helpers::*;
use kc_domain::Clock;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Runs `kryptos-connect audit ARGS` against the app's database; returns (success, stdout, stderr).
async fn audit_cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut cmd = binary_command(&app.database_url, &app.data_dir);
    cmd.arg("audit").args(args);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("`audit` finishes within 60 s")
        .expect("the binary starts");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a JSON line ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn the_audit_command_lists_a_clients_authentication_events_without_secrets() {
    let app = spawn_app(Db::Sqlite).await;
    let creds = app.client().await;
    let other = app.client().await;

    let link = app.consented_link(&creds).await;
    let done = app.send(Method::POST, "/widget/complete", None, Some(&link), None).await;
    let public = done.data()["public_token"].as_str().expect("public_token").to_owned();
    let exchanged = app.exchange(&creds, &public).await;
    let (access, grant) = {
        let d = exchanged.data();
        (d["access_token"].as_str().expect("token").to_owned(), d["grant_id"].as_str().expect("grant").to_owned())
    };
    app.exchange(&creds, &public).await.assert_error(400, "TOKEN_ALREADY_USED");
    let wrong = Creds { id: creds.id.clone(), secret: "kcs_not-the-secret".to_owned() };
    app.post("/link-token", &wrong, json!({})).await.assert_error(401, "INVALID_CLIENT");
    let revoked = app.post("/token/revoke", &creds, json!({ "grant_id": grant })).await;
    assert_eq!(revoked.status.as_u16(), 200, "{}", revoked.body);
    let (_, other_grant) = app.access_token(&other).await;

    let (ok, out, err) = audit_cli(&app, &["--client", &creds.id, "--json"]).await;
    assert!(ok, "audit --json: {out}\n{err}");
    let events = json_lines(&out);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in [
        "link_token.create",
        "widget.auth.anonymous",
        "widget.consent",
        "widget.complete",
        "token.exchange",
        "client.auth",
        "grant.revoke",
    ] {
        assert!(kinds.contains(&kind), "a `{kind}` event: {kinds:?}");
    }
    for e in &events {
        assert_eq!(e["client_id"], json!(creds.id), "only this client's events: {e}");
        let at = e["at"].as_str().unwrap_or_else(|| panic!("a time: {e}"));
        assert!(OffsetDateTime::parse(at, &Rfc3339).is_ok(), "RFC 3339 time: {e}");
        assert!(["success", "failure", "security"].contains(&e["outcome"].as_str().unwrap_or("")), "outcome: {e}");
    }
    let find = |kind: &str, outcome: &str| {
        events
            .iter()
            .find(|e| e["kind"] == json!(kind) && e["outcome"] == json!(outcome))
            .unwrap_or_else(|| panic!("a {outcome} `{kind}` event: {events:?}"))
            .clone()
    };
    let exchange = find("token.exchange", "success");
    assert_eq!(exchange["grant_id"], json!(grant), "{exchange}");
    assert!(exchange["user_id"].as_str().is_some_and(|u| !u.is_empty()), "{exchange}");
    assert_eq!(exchange["ip"], json!("127.0.0.1"), "{exchange}");
    let replay = find("token.exchange", "security");
    assert_eq!(replay["detail"], json!("TOKEN_ALREADY_USED"), "a replay is a security event: {replay}");
    let failed = find("client.auth", "failure");
    assert_eq!(failed["ip"], json!("127.0.0.1"), "{failed}");
    let revoke = find("grant.revoke", "success");
    assert_eq!((revoke["grant_id"].clone(), revoke["user_id"].clone()), (json!(grant), exchange["user_id"].clone()));

    for secret in [creds.secret.as_str(), wrong.secret.as_str(), &access, &public, &link] {
        assert!(!out.contains(secret), "no secret or token in the audit trail");
    }
    assert!(!out.contains(&other_grant) && !out.contains(&other.id), "another client's events are not listed");

    // Human-readable output.
    let (ok, text, _) = audit_cli(&app, &["--client", &creds.id]).await;
    assert!(ok);
    assert_eq!(text.lines().count(), events.len(), "{text}");
    assert!(
        text.contains("token.exchange") && text.contains(&format!("grant={grant}")) && text.contains("ip=127.0.0.1")
    );
    assert!(!text.contains(&creds.secret));

    // --since filters by time; a malformed time is an error.
    let now = app.clock.now();
    let later = (now + time::Duration::hours(1)).format(&Rfc3339).expect("format");
    let (ok, out, _) = audit_cli(&app, &["--client", &creds.id, "--since", &later, "--json"]).await;
    assert!(ok && out.trim().is_empty(), "nothing after the future: {out}");
    let earlier = (now - time::Duration::hours(1)).format(&Rfc3339).expect("format");
    let (ok, out, _) = audit_cli(&app, &["--client", &creds.id, "--since", &earlier, "--json"]).await;
    assert!(ok && json_lines(&out).len() == events.len(), "{out}");
    let (ok, _, err) = audit_cli(&app, &["--client", &creds.id, "--since", "yesterday"]).await;
    assert!(!ok && err.contains("RFC 3339"), "{err}");
    let (ok, out, _) = audit_cli(&app, &["--client", &creds.id, "--json", "--limit", "2"]).await;
    assert!(ok && json_lines(&out).len() == 2, "--limit: {out}");
}

#[tokio::test]
async fn audit_events_past_the_retention_are_purged_by_the_server() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.audit.retention_days = 1;
        s.audit.purge_interval_secs = 1;
    })
    .await;
    let creds = app.client().await;
    let wrong = Creds { id: creds.id.clone(), secret: "kcs_wrong".to_owned() };
    app.post("/link-token", &wrong, json!({})).await.assert_error(401, "INVALID_CLIENT");
    app.post("/link-token", &creds, json!({})).await.data();
    let old = app.service.audit_events(Some(creds.id.clone()), None, 100).await.expect("events");
    assert!(old.len() >= 2, "{old:?}");

    // Two days later, one new event: the old ones go, the new one stays.
    app.clock.advance(time::Duration::days(2));
    app.post("/link-token", &creds, json!({})).await.data();
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let now = app.service.audit_events(Some(creds.id.clone()), None, 100).await.expect("events");
        if now.len() == 1 {
            assert_eq!(now[0].kind, "link_token.create");
            assert!(now[0].at > old[old.len() - 1].at, "{now:?}");
            break;
        }
        assert!(Instant::now() < until, "events older than a day should be purged: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_retention_of_zero_keeps_events_forever() {
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, |s| {
        s.audit.retention_days = 0;
        s.audit.purge_interval_secs = 1;
    })
    .await;
    let creds = app.client().await;
    app.post("/link-token", &creds, json!({})).await.data();
    app.clock.advance(time::Duration::days(3650));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let events = app.service.audit_events(Some(creds.id.clone()), None, 100).await.expect("events");
    assert!(events.iter().any(|e| e.kind == "link_token.create"), "{events:?}");
}
