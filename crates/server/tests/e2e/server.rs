//! The server under test: in-process, on a fresh SQLite database, with the demo site on and
//! its public URL set to the port it really listens on (the demo client registers that
//! origin, and the widget only talks to registered origins).

use crate::browser::free_port;
use crate::helpers::{fresh_database, spawn_app_on, Creds, Db, TestApp};
use crate::smtp::SmtpSink;

/// A running demo server (and, when asked, the SMTP sink its mailer sends to).
pub struct DemoServer {
    pub app: TestApp,
    pub smtp: Option<SmtpSink>,
}

impl DemoServer {
    /// Starts the server; with `smtp`, sign-in codes go to a local SMTP sink.
    pub async fn start(smtp: bool) -> Self {
        Self::start_with(smtp, |_| {}).await
    }

    /// Like [`DemoServer::start`], with more settings adjusted by `adjust`.
    pub async fn start_with(smtp: bool, adjust: impl FnOnce(&mut kc_service::config::Settings)) -> Self {
        let smtp = if smtp { Some(SmtpSink::start().await) } else { None };
        let (url, dir) = fresh_database(Db::Sqlite).await;
        // The public URL must name the real port before the build (the demo client's
        // registered origin comes from it): pick a free port, release it, then bind it.
        let port = free_port();
        let sink_port = smtp.as_ref().map(|s| s.port);
        let app = spawn_app_on(&url, &dir, |s| {
            s.server.listen = format!("127.0.0.1:{port}");
            s.server.public_url = format!("http://127.0.0.1:{port}");
            s.demo.enabled = true;
            if let Some(sink) = sink_port {
                s.mail.transport = "smtp".to_owned();
                s.mail.smtp_host = "127.0.0.1".to_owned();
                s.mail.smtp_port = sink;
                s.mail.smtp_security = "none".to_owned();
            }
            adjust(s);
        })
        .await;
        assert_eq!(app.base, format!("http://127.0.0.1:{port}"), "the server listens where its public URL says");
        Self { app, smtp }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    /// The demo client's credentials, as the server saved them in its data directory.
    pub fn demo_creds(&self) -> Creds {
        let file = self.app.data_dir.join("demo-client.json");
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let v: serde_json::Value = serde_json::from_str(&text).expect("demo-client.json is JSON");
        Creds {
            id: v["client_id"].as_str().expect("client_id").to_owned(),
            secret: v["client_secret"].as_str().expect("client_secret").to_owned(),
        }
    }
}
