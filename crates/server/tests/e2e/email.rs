//! Email sign-in with the code the server really sent over SMTP.

use crate::browser::{Browser, Viewport};
use crate::flows::*;
use crate::server::DemoServer;
use crate::smtp::Mail;
use std::time::Duration;

/// The 6-digit code of a sign-in message (its subject starts with it; the body repeats it).
fn sign_in_code(mail: &Mail) -> String {
    let subject = mail.header("Subject").unwrap_or_else(|| panic!("a Subject header:\n{}", mail.data));
    let code = subject.split_whitespace().next().unwrap_or("").to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "a 6-digit code in `{subject}`");
    assert!(mail.body().contains(&code), "the body repeats the code:\n{}", mail.body());
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_sign_in_uses_the_code_delivered_over_smtp() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let sink = server.smtp.as_ref().expect("the SMTP sink");
    let b = Browser::start("email_sign_in", Viewport::Desktop).await;
    let email = "ada.lovelace@example.com";

    open_demo(&b, &server).await;
    open_widget(&b).await;
    b.visible("step-auth").await;
    b.click("auth-email").await;
    b.type_into("email-input", email).await;
    b.shot("email").await;
    b.click("email-submit").await;
    b.visible("code-input").await;

    let mail = sink.wait_for(email, Duration::from_secs(15)).await;
    assert!(mail.to.iter().any(|t| t == email), "sent to {email}: {:?}", mail.to);
    let code = sign_in_code(&mail);
    let lead = b.text("step-auth").await;
    assert!(lead.contains(email), "the code screen names the address: {lead}");
    b.type_into("code-input", &code).await;
    b.shot("code").await;
    b.click("code-submit").await;

    b.visible("step-consent").await;
    let consent = b.text("step-consent").await;
    assert!(consent.contains(email), "consent shows who is signed in: {consent}");
    b.shot("consent").await;
    b.click("consent-allow").await;
    add_ethereum(&b, SANDBOX_ETH).await;
    finish_widget(&b).await;
    wait_overlay_gone(&b).await;

    b.text_until("demo-status", "the connected message", |t| t.contains("Connected!")).await;
    let grant = demo_grant_id(&b).await;
    demo_session_valid(&b).await;
    assert_eq!(active_grants(&server).await, vec![grant], "one grant for the email user");
    assert_eq!(sink.mails().len(), 1, "exactly one message was sent");
    b.shot("demo-connected").await;
    b.assert_clean_console().await;
    b.close().await;
}
