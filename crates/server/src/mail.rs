//! The SMTP adapter of the service's mailer port.

use async_trait::async_trait;
use kc_service::config::MailSettings;
use kc_service::mailer::{sign_in_message, LogMailer, MailError, Mailer};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// Sends sign-in codes through an SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `settings` (does not connect until the first message).
    pub fn new(settings: &MailSettings) -> Result<Self, String> {
        let from: Mailbox = settings.from.parse().map_err(|e| format!("mail.from: {e}"))?;
        let host = settings.smtp_host.as_str();
        let mut builder = match settings.smtp_security.as_str() {
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| e.to_string())?,
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(|e| e.to_string())?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        builder = builder.port(settings.smtp_port).timeout(Some(Duration::from_secs(10)));
        if !settings.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.smtp_username.clone(),
                settings.smtp_password.expose_secret().to_owned(),
            ));
        }
        Ok(Self { transport: builder.build(), from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send_sign_in_code(&self, to: &str, code: &str, app_name: &str) -> Result<(), MailError> {
        let (subject, body) = sign_in_message(code, app_name);
        let to: Mailbox = to.parse().map_err(|e| MailError(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|e| MailError(e.to_string()))?;
        self.transport.send(message).await.map_err(|e| MailError(e.to_string()))?;
        Ok(())
    }

    async fn send_message(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_owned())
            .map_err(|e| MailError(e.to_string()))?;
        self.transport.send(message).await.map_err(|e| MailError(e.to_string()))?;
        Ok(())
    }
}

/// The mailer `settings` ask for.
pub fn mailer_from(settings: &MailSettings) -> Result<Arc<dyn Mailer>, String> {
    Ok(match settings.transport.as_str() {
        "smtp" => Arc::new(SmtpMailer::new(settings)?),
        _ => {
            tracing::warn!("mail.transport = \"log\": sign-in codes are written to the log (development only)");
            Arc::new(LogMailer)
        }
    })
}
