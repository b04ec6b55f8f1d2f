//! The email code screen: plain messages for wrong codes, a lockout that disables Verify and
//! says when Resend is available, and a resend that clears the field and says so.

use crate::browser::{Browser, Viewport};
use crate::design::open_page_widget;
use crate::server::DemoServer;
use crate::smtp::Mail;
use serde_json::json;
use std::time::{Duration, Instant};

/// The 6-digit code at the start of a sign-in message's subject.
fn code_of(mail: &Mail) -> String {
    let subject = mail.header("Subject").unwrap_or_default();
    let code = subject.split_whitespace().next().unwrap_or_default().to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "a code in `{subject}`");
    code
}

/// A 6-digit code different from `code`.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_lock_verify_until_a_resend_which_clears_the_field_and_says_so() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let sink = server.smtp.as_ref().expect("the SMTP sink");
    let b = Browser::start("email_code", Viewport::Desktop).await;
    let email = "katherine.johnson@example.com";

    open_page_widget(&b, &server, "theme=light").await;
    b.click("auth-email").await;
    b.type_into("email-input", email).await;
    b.click("email-submit").await;
    b.visible("code-input").await;
    let first = code_of(&sink.wait_for(email, Duration::from_secs(15)).await);
    let bad = wrong(&first);

    // Four wrong codes: a plain message with the attempts left, no "Please check your input:".
    for left in (1..=4).rev() {
        b.type_into("code-input", &bad).await;
        b.click("code-submit").await;
        let msg = b.text_until("error", "the wrong-code message", |t| t.contains(&format!("{left} attempt"))).await;
        assert!(!msg.contains("Please check your input"), "no technical prefix: {msg}");
        assert!(msg.starts_with("That code isn’t right."), "a plain sentence: {msg}");
        if left == 4 {
            b.shot("wrong-code").await;
        }
    }
    // The fifth: locked. Verify is disabled; the message says when Resend is available.
    b.type_into("code-input", &bad).await;
    b.click("code-submit").await;
    let msg = b.text_until("error", "the lockout message", |t| t.contains("Too many wrong codes")).await;
    assert!(msg.contains("Resend"), "it points at Resend: {msg}");
    let disabled = b.js("return document.querySelector('[data-testid=\"code-submit\"]').disabled;", vec![]).await;
    assert_eq!(disabled, json!(true), "Verify is disabled after the lockout");
    let resend_disabled =
        b.js("return document.querySelector('[data-testid=\"code-resend\"]').disabled;", vec![]).await;
    if resend_disabled == json!(true) {
        assert!(
            msg.contains(" s ") || msg.contains(" s("),
            "while Resend counts down, the message says in how many seconds: {msg}"
        );
    }
    b.shot("locked").await;
    // Clicking Verify (or pressing Enter) does nothing while locked.
    b.js("document.getElementById('auth-code-form').requestSubmit(); return true;", vec![]).await;
    assert_eq!(sink.mails().len(), 1, "still one code sent");

    // A page whose countdown is off (forced here) asks too early: the server's 429 (and its
    // Retry-After) restart the countdown, and the message says when Resend is available.
    b.js(
        "var r = document.querySelector('[data-testid=\"code-resend\"]'); r.removeAttribute('data-locked'); \
         r.disabled = false; r.click(); return true;",
        vec![],
    )
    .await;
    let msg =
        b.text_until("error", "the wait from the server", |t| t.contains("in 30 s") || t.contains("in 29 s")).await;
    assert!(msg.contains("Too many wrong codes"), "still the lockout, now with the server's wait: {msg}");
    let resend_disabled =
        b.js("return document.querySelector('[data-testid=\"code-resend\"]').disabled;", vec![]).await;
    assert_eq!(resend_disabled, json!(true), "Resend waits again");
    assert_eq!(sink.mails().len(), 1, "no code was sent too early");
    b.shot("too-early").await;

    // The server's clock is a test clock: let its 30 s pass, and wait for the page's countdown.
    server.app.clock.advance(time::Duration::seconds(31));
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let enabled = b.js("return !document.querySelector('[data-testid=\"code-resend\"]').disabled;", vec![]).await;
        if enabled == json!(true) {
            break;
        }
        assert!(Instant::now() < deadline, "Resend became available within 45 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let msg = b.text("error").await;
    assert!(
        msg.contains("Ask for a new code with Resend code"),
        "the lockout message now says Resend is available: {msg}"
    );
    b.shot("resend-available").await;

    b.click("code-resend").await;
    let note = b.text_until("code-note", "the resend note", |t| t.contains("New code sent")).await;
    assert!(note.contains(email) && note.contains("previous code"), "a visible note: {note}");
    let field = b.js("return document.querySelector('[data-testid=\"code-input\"]').value;", vec![]).await;
    assert_eq!(field, json!(""), "the field is cleared for the new code");
    let enabled = b.js("return !document.querySelector('[data-testid=\"code-submit\"]').disabled;", vec![]).await;
    assert_eq!(enabled, json!(true), "Verify works again");
    let error = b.js("return document.querySelector('[data-testid=\"error\"]').textContent;", vec![]).await;
    assert_eq!(error, json!(""), "the lockout message is gone");
    b.shot("resent").await;

    let second = b
        .until("the second code to arrive", || async {
            let mails = sink.mails();
            (mails.len() >= 2).then(|| code_of(&mails[1]))
        })
        .await;
    b.type_into("code-input", &second).await;
    b.click("code-submit").await;
    b.visible("step-consent").await;
    b.shot("signed-in").await;
    b.assert_clean_console().await;
    b.close().await;
}
