//! A page on an origin the client did not register: the browser refuses to frame the widget
//! (`frame-ancestors`), which the page cannot observe. `connect.js` (the same core as the
//! React package) asks `GET /widget/origin-check`, shows a clear message in its modal within
//! 2 s, and reports `ORIGIN_NOT_ALLOWED` with the command that registers the origin.

use crate::browser::{Browser, Viewport};
use crate::flows::demo_link_token;
use crate::server::DemoServer;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-page HTTP server on 127.0.0.1 (another origin than the Kryptos Connect server) that
/// answers every request with `html`.
struct HostPage {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl HostPage {
    async fn start(html: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the host page server");
        let base = format!("http://{}", listener.local_addr().expect("host page address"));
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let html = html.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let favicon = head.lines().next().is_some_and(|l| l.contains("/favicon"));
                    let (status, body) = if favicon { ("404 Not Found", String::new()) } else { ("200 OK", html) };
                    let res = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(res.as_bytes()).await;
                });
            }
        });
        Self { base, task }
    }
}

impl Drop for HostPage {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The integrator's page: `connect.js` from the server, a button, the error kept for the test.
fn page(server: &str, client_id: &str, link_token: &str, language: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unregistered app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="{server}/sdk/connect.js"></script></head>
<body style="font:16px system-ui,sans-serif;padding:2rem"><h1>An app on an unregistered origin</h1>
<div id="slot"></div><p id="result" data-testid="result"></p>
<script>
  KryptosConnect.init({{ clientId: "{client_id}", appName: "Unregistered App", language: "{language}" }});
  var button = KryptosConnect.createButton({{
    generateLinkToken: function () {{ window.__kcClicked = performance.now(); return {{ link_token: "{link_token}" }}; }},
    onConnectSuccess: function () {{ document.getElementById("result").textContent = "success"; }},
    onConnectError: function (e) {{
      window.__kcErrorAfterMs = performance.now() - window.__kcClicked;
      window.__kcErrors = (window.__kcErrors || []).concat([{{ code: e.code, message: e.message, isError: e instanceof Error }}]);
      document.getElementById("result").textContent = e.code;
    }}
  }});
  button.setAttribute("data-testid", "connect");
  document.getElementById("slot").appendChild(button);
</script></body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_page_origin_gets_a_clear_message_and_origin_not_allowed_within_two_seconds() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let creds = server.demo_creds();

    for (language, title) in [("en", "not set up for this site"), ("fr", "n’est pas configuré pour ce site")] {
        let link = demo_link_token(&server).await;
        let host = HostPage::start(page(&server.app.base, &creds.id, &link, language)).await;
        let b = Browser::start(&format!("unregistered_origin_{language}"), Viewport::Desktop).await;
        b.goto(&format!("{}/", host.base)).await;
        b.visible("connect").await;
        b.shot("page").await;

        let started = Instant::now();
        b.click("connect").await;
        let notice = b
            .until("the SDK's message in its modal", || async {
                let v = b
                    .js(
                        "var n = document.querySelector('[data-kryptos-connect=notice]'); \
                         return n ? [n.getAttribute('data-code'), n.innerText] : null;",
                        vec![],
                    )
                    .await;
                (!v.is_null()).then_some(v)
            })
            .await;
        let seen_after = started.elapsed();
        assert_eq!(notice[0], json!("ORIGIN_NOT_ALLOWED"), "{notice}");
        let text = notice[1].as_str().expect("notice text");
        assert!(text.contains(title), "a clear title in {language}: {text}");
        let command = format!("kryptos-connect clients update {} --add-origin {}", creds.id, host.base);
        assert!(text.contains(&command), "the command to register the origin: {text}");
        assert!(seen_after < Duration::from_secs(2), "shown within 2 s (took {seen_after:?})");
        b.shot("notice").await;

        let errors = b.js("return window.__kcErrors || [];", vec![]).await;
        let errors = errors.as_array().expect("a list");
        assert_eq!(errors.len(), 1, "onConnectError exactly once: {errors:?}");
        assert_eq!(errors[0]["code"], json!("ORIGIN_NOT_ALLOWED"));
        assert_eq!(errors[0]["isError"], json!(true));
        let message = errors[0]["message"].as_str().expect("message");
        assert!(
            message.contains(&host.base) && message.contains(&command),
            "the developer learns what to register: {message}"
        );
        let after = b.js("return window.__kcErrorAfterMs;", vec![]).await.as_f64().expect("a duration");
        assert!(after < 2000.0, "onConnectError within 2 s of the click ({after} ms)");
        eprintln!("{language}: message shown {seen_after:?} after the click, onConnectError after {after:.0} ms");
        let frames = b.js("return document.querySelectorAll('iframe').length;", vec![]).await;
        assert_eq!(frames, json!(0), "no broken frame left behind the message");

        // Closing the message removes the overlay and reports nothing more.
        b.client
            .find(fantoccini::Locator::Css("[data-kryptos-connect=notice-close]"))
            .await
            .expect("the close button")
            .click()
            .await
            .expect("click close");
        let (overlays, _) = b.overlay_count().await;
        assert_eq!(overlays, 0, "the overlay is gone");
        let errors = b.js("return (window.__kcErrors || []).length;", vec![]).await;
        assert_eq!(errors, json!(1), "closing the message does not report a second error");
        let console = b.console().await;
        assert!(!console.iter().any(|l| l.contains("Uncaught")), "no script error: {console:#?}");
        b.close().await;
    }
}
