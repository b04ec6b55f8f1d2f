//! The whole link → public → access token flow, on SQLite and PostgreSQL.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

async fn whole_flow(db: Db) {
    let app = spawn_app(db).await;
    let creds = app.client().await;

    let created = app.post("/link-token", &creds, json!({})).await;
    let data = created.data();
    let link = data["link_token"].as_str().expect("link token");
    assert!(link.starts_with("link_"), "{link}");
    assert!(data["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{data}");
    assert!(data.get("has_existing_grant").is_none(), "a fresh session has no grant: {data}");

    let session = app.send(Method::GET, "/widget/session", None, Some(link), None).await;
    assert_eq!(session.data()["is_authorized"], json!(false));
    assert_eq!(session.data()["client"]["mode"], json!("sandbox"));

    let guest = app.send(Method::POST, "/widget/auth/anonymous", None, Some(link), None).await;
    let workspace_id = guest.data()["workspace_id"].as_str().expect("workspace").to_owned();
    app.send(Method::POST, "/widget/consent", None, Some(link), Some(json!({"approve": true}))).await.data();
    let done = app.send(Method::POST, "/widget/complete", None, Some(link), None).await;
    let public = done.data()["public_token"].as_str().expect("public token").to_owned();
    assert!(public.starts_with("public_"));

    let again = app.send(Method::GET, "/widget/session", None, Some(link), None).await;
    again.assert_error(400, "TOKEN_ALREADY_USED");

    let exchanged = app.exchange(&creds, &public).await;
    let d = exchanged.data();
    assert!(d["access_token"].as_str().is_some_and(|t| t.starts_with("cat_")), "{d}");
    assert!(d["grant_id"].as_str().is_some_and(|t| t.starts_with("cgrant_")), "{d}");
    assert_eq!(d["token_type"], json!("Bearer"));
    assert_eq!(d["expires_in"], json!(473_040_000));
    assert_eq!(d["scope"], json!(kc_domain::DEFAULT_CLIENT_SCOPES));
    assert_eq!(d["workspace_id"], json!(workspace_id));
    let access = d["access_token"].as_str().expect("token").to_owned();
    let grant = d["grant_id"].as_str().expect("grant").to_owned();

    app.exchange(&creds, &public).await.assert_error(400, "TOKEN_ALREADY_USED");

    let check = app.post("/link-token/check-session", &creds, json!({"access_token": access})).await;
    assert_eq!(check.data()["has_valid_session"], json!(true));
    assert_eq!(check.data()["grant_id"], json!(grant));
    assert_eq!(check.data()["workspace_name"], json!("Personal workspace"));

    let grants = app.send(Method::GET, "/token/grants", Some(&creds), None, None).await;
    assert_eq!(grants.data()["count"], json!(1));
    assert_eq!(grants.data()["grants"][0]["grant_id"], json!(grant));

    let revoked = app.post("/token/revoke", &creds, json!({"grant_id": grant})).await;
    assert_eq!(revoked.body, json!({"success": true, "message": "Grant revoked successfully"}));
    let check = app.post("/link-token/check-session", &creds, json!({"access_token": access})).await;
    assert_eq!(check.data()["has_valid_session"], json!(false));
    assert_eq!(check.data()["reason"], json!("token_revoked"));
    app.stop().await;
}

#[tokio::test]
async fn the_whole_flow_works_on_sqlite() {
    whole_flow(Db::Sqlite).await;
}

#[tokio::test]
async fn the_whole_flow_works_on_postgres() {
    whole_flow(Db::Postgres).await;
}
