//! The mailer port: how sign-in codes reach users.

use async_trait::async_trait;

/// A message could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

/// Sends sign-in codes. Adapters: [`LogMailer`] (development) and the SMTP adapter of the
/// server binary.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `code` to `to` on behalf of the client app `app_name`.
    async fn send_sign_in_code(&self, to: &str, code: &str, app_name: &str) -> Result<(), MailError>;

    /// Sends a plain-text message (the developer console's sign-in codes and invitations).
    /// Adapters that cannot send arbitrary messages refuse.
    async fn send_message(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let _ = (to, subject, body);
        Err(MailError("this mailer sends sign-in codes only".to_owned()))
    }
}

/// A development mailer that writes the code to the log instead of sending it.
/// Never use it in production: the log then holds sign-in codes.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send_sign_in_code(&self, to: &str, code: &str, app_name: &str) -> Result<(), MailError> {
        tracing::info!(target: "dev_mailer", %to, %code, %app_name, "DEV MAILER: sign-in code (not sent)");
        Ok(())
    }

    async fn send_message(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        tracing::info!(target: "dev_mailer", %to, %subject, %body, "DEV MAILER: message (not sent)");
        Ok(())
    }
}

/// The subject and plain-text body of a sign-in code message.
pub fn sign_in_message(code: &str, app_name: &str) -> (String, String) {
    (
        format!("{code} is your Kryptos Connect code"),
        format!(
            "Your code to connect your portfolio to {app_name} is:\n\n    {code}\n\n\
             It expires in 10 minutes. If you did not ask for it, ignore this message.\n"
        ),
    )
}
