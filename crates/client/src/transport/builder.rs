//! [`ClientBuilder`]: base URL checks (https, or http to loopback only), timeouts, retries.

use super::*;

/// The base URL or the HTTP stack could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not an absolute `http(s)://` URL, or is plain `http` to a host that is not
    /// loopback without [`ClientBuilder::allow_insecure_http`].
    #[error("invalid base URL `{url}`: {reason}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("cannot build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

/// Configures a [`Client`]. Start with [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
    allow_insecure_http: bool,
}

impl ClientBuilder {
    /// The defaults: 30 s per attempt, 5 s to connect, the default retry policy.
    pub(super) fn new(base_url: String) -> Self {
        Self {
            base_url,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            user_agent: concat!("kc-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
        }
    }

    /// The whole-request timeout of one attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The TCP + TLS connect timeout (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How failed calls are repeated (default: [`RetryPolicy::default`]). See [`RetryPolicy`] for
    /// which calls are ever repeated.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The `User-Agent` header (default `kc-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Allows a plain `http://` base URL to a host that is not loopback. Client secrets and
    /// access tokens then cross the network unencrypted: only for a private network you trust.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Builds the client (rustls, no redirects followed, no cookies).
    pub fn build(self) -> Result<Client, BuildError> {
        let refuse = |reason: &str| BuildError::BaseUrl { url: self.base_url.clone(), reason: reason.to_owned() };
        let mut base = Url::parse(&self.base_url).map_err(|e| refuse(&e.to_string()))?;
        match base.scheme() {
            "https" => {}
            "http" if self.allow_insecure_http || is_loopback(&base) => {}
            "http" => {
                return Err(refuse(
                    "plain http is only allowed to loopback hosts; use https or allow_insecure_http(true)",
                ))
            }
            _ => return Err(refuse("the scheme must be http or https")),
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(refuse("not an absolute URL with a host"));
        }
        if !base.username().is_empty()
            || base.password().is_some()
            || base.query().is_some()
            || base.fragment().is_some()
        {
            return Err(refuse("the base URL must not carry credentials, a query or a fragment"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
            // Never replay client secrets or bearer tokens to wherever a redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
            .build()
            .map_err(BuildError::Http)?;
        Ok(Client { inner: Arc::new(Inner { http, base, retry: self.retry, timeout: self.timeout }) })
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
