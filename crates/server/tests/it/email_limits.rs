//! Email sign-in throttling (issue 12): codes are limited per (address, IP) and per address
//! over a short window, so a third party cannot lock an address out for long, and never
//! out of an IP that already proved it owns the address; every 429 says when to retry.

use crate::errors::{assert_envelope, Call};
use crate::helpers::*;
use crate::smtp::SmtpSink;
use serde_json::json;
use std::net::IpAddr;
use std::time::Duration;

const OWNER: &str = "owner@example.com";

fn http_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::from(ip)).build().expect("client with a source address")
}

/// `POST /widget/auth/email/start` for `email` on `link`, from `ip`.
async fn start_on(app: &TestApp, link: &str, ip: [u8; 4], email: &str) -> Answer {
    Call::post("/widget/auth/email/start")
        .link(link)
        .json(json!({ "email": email }))
        .send_with(&http_from(ip), &app.base)
        .await
}

/// A code request in a fresh widget session.
async fn start(app: &TestApp, creds: &Creds, ip: [u8; 4], email: &str) -> Answer {
    let link = app.link_token(creds).await;
    start_on(app, &link, ip, email).await
}

#[track_caller]
fn assert_sent(answer: &Answer, what: &str) {
    assert_eq!(answer.status.as_u16(), 202, "{what}: a code is sent; body {}", answer.body);
}

/// A 429 with `Retry-After` of at most `max_secs`, whose message says the same; returns it.
#[track_caller]
fn assert_throttled(answer: &Answer, max_secs: u64, what: &str) -> u64 {
    assert_envelope(answer, 429, "RATE_LIMITED", what);
    let retry = answer.headers.get("retry-after").and_then(|v| v.to_str().ok()).unwrap_or_else(|| {
        panic!("{what}: a Retry-After header; headers {:?}", answer.headers);
    });
    let secs: u64 = retry.parse().unwrap_or_else(|_| panic!("{what}: Retry-After in whole seconds, got {retry:?}"));
    assert!((1..=max_secs).contains(&secs), "{what}: Retry-After {secs} within {max_secs} s");
    let message = answer.body["error"].as_str().unwrap_or("");
    assert!(message.contains(&format!("try again in {secs} s")), "{what}: the message says when: {message}");
    secs
}

async fn code_for(sink: &SmtpSink, to: &str) -> String {
    let mail = sink.wait_for(to, Duration::from_secs(10)).await;
    let subject = mail.header("Subject").unwrap_or_else(|| panic!("a Subject header in {}", mail.data));
    subject.split_whitespace().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_third_party_cannot_lock_an_address_out_of_email_sign_in() {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let (url, dir) = fresh_database(Db::Sqlite).await;
    let app = spawn_app_on(&url, &dir, move |s| {
        s.mail.transport = "smtp".into();
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.smtp_security = "none".into();
    })
    .await;
    let creds = app.client().await;
    let (owner_ip, attacker, accomplice, newcomer) = ([127, 0, 0, 3], [127, 0, 0, 2], [127, 0, 0, 4], [127, 0, 0, 6]);

    // The owner signs in once from their usual address.
    let link = app.link_token(&creds).await;
    assert_sent(&start_on(&app, &link, owner_ip, OWNER).await, "the owner's first code");
    let code = code_for(&sink, OWNER).await;
    let verified = Call::post("/widget/auth/email/verify")
        .link(&link)
        .json(json!({ "email": OWNER, "code": code }))
        .send_with(&http_from(owner_ip), &app.base)
        .await;
    assert_eq!(verified.status.as_u16(), 200, "the owner verifies: {}", verified.body);

    // A stranger asks for codes for the owner's address: 5 per 15 minutes from one IP.
    for n in 1..=5 {
        assert_sent(&start(&app, &creds, attacker, OWNER).await, &format!("the stranger's code #{n}"));
    }
    assert_throttled(&start(&app, &creds, attacker, OWNER).await, 15 * 60, "the stranger's 6th code");
    // A second stranger fills the per-address cap (10 codes in 15 minutes, all IPs together).
    for n in 1..=4 {
        assert_sent(&start(&app, &creds, accomplice, OWNER).await, &format!("the accomplice's code #{n}"));
    }
    assert_throttled(&start(&app, &creds, accomplice, OWNER).await, 15 * 60, "past the per-address cap");
    let wait = assert_throttled(&start(&app, &creds, newcomer, OWNER).await, 15 * 60, "a new IP past the cap");

    // The owner, from the IP that verified the address, still gets a code.
    let link = app.link_token(&creds).await;
    assert_sent(&start_on(&app, &link, owner_ip, OWNER).await, "the verified owner while the address is flooded");
    // A resend in the same session waits 30 s, and then works.
    assert_throttled(&start_on(&app, &link, owner_ip, OWNER).await, 30, "an immediate resend");
    app.clock.advance(time::Duration::seconds(31));
    assert_sent(&start_on(&app, &link, owner_ip, OWNER).await, "the owner's resend after 30 s");

    // The cap is short: once its window has passed, anyone can ask again.
    app.clock.advance(time::Duration::seconds(i64::try_from(wait).expect("seconds")));
    assert_sent(&start(&app, &creds, newcomer, OWNER).await, "a new IP once the window has passed");
    // Other addresses were never affected.
    assert_sent(&start(&app, &creds, attacker, "someone.else@example.com").await, "another address");
    app.stop().await;
}
