//! Who is calling: client credentials, link tokens and request metadata.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::net::IpAddr;

/// `X-Client-Id` + `X-Client-Secret`, as presented by a client backend.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The client id as sent (not yet validated).
    pub client_id: String,
    /// The client secret as sent.
    pub client_secret: SecretString,
}

impl ClientCredentials {
    /// Credentials from their two parts.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self { client_id: client_id.into(), client_secret: SecretString::from(client_secret.into()) }
    }

    /// The secret, for the one place that checks or sends it.
    pub fn secret(&self) -> &str {
        self.client_secret.expose_secret()
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish()
    }
}

/// The `X-LINK-TOKEN` a widget call carries.
#[derive(Clone)]
pub struct LinkTokenCredential(SecretString);

impl LinkTokenCredential {
    /// Wraps the raw header value.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(SecretString::from(raw.into()))
    }

    /// The raw value, for the one place that checks or sends it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for LinkTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkTokenCredential([REDACTED])")
    }
}

/// Facts about the request that the audit trail and origin checks need.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The caller's IP address, when known.
    pub ip: Option<IpAddr>,
    /// The request id echoed in `X-Request-Id`.
    pub request_id: Option<String>,
    /// The `Origin` of a cross-origin browser request (absent for same-origin and server calls).
    pub origin: Option<String>,
}
