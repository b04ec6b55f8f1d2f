//! [`Client`]: one configured HTTP transport to a Kryptos Connect server, and the single place
//! that sends requests, repeats them when that is safe, and decodes answers.

use crate::error::{code_for_status, data_api_code};
use crate::retry::{Idempotency, RetryPolicy};
use crate::{ClientError, ConnectClient};
use kc_api::{BearerToken, ClientCredentials, ErrorCode, LinkTokenCredential, RequestMeta};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

mod builder;
mod decode;

pub use builder::{BuildError, ClientBuilder};
pub(crate) use decode::{decode, error_from, Answer, Shape};

/// An HTTP client for one Kryptos Connect server.
///
/// It implements the `kc-api` traits ([`kc_api::ConnectApi`], [`kc_api::WidgetApi`],
/// [`kc_api::DataApi`], [`kc_api::DeveloperApi`], [`kc_api::HealthApi`],
/// [`kc_api::ProvidersApi`]), so code written against them runs unchanged against a remote
/// server. A backend that always uses the same credentials is better served by
/// [`Client::with_credentials`].
///
/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    retry: RetryPolicy,
    timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with default settings for `base_url`, e.g. `https://connect.example.com`.
    pub fn new(base_url: impl Into<String>) -> Result<Self, BuildError> {
        Self::builder(base_url).build()
    }

    /// A builder for `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url.into())
    }

    /// The server's base URL (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// This client bound to one app's credentials: what a client backend uses.
    pub fn with_credentials(&self, credentials: ClientCredentials) -> ConnectClient {
        ConnectClient::new(self.clone(), credentials)
    }

    /// Sends `call`, repeating it when that is safe, and decodes the answer as `shape`.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: Call<'_>, shape: Shape) -> Result<T, ClientError> {
        let answer = self.exchange(&call).await?;
        decode(&answer, shape)
    }

    /// Sends `call` and returns the raw answer, whatever its status.
    pub(crate) async fn exchange(&self, call: &Call<'_>) -> Result<Answer, ClientError> {
        let request = self.build(call)?;
        let policy = &self.inner.retry;
        let mut attempt = 1;
        loop {
            let req = request.try_clone().ok_or_else(|| ClientError::Decode {
                status: 0,
                message: "request body cannot be repeated".to_owned(),
            })?;
            let outcome = self.attempt(req).await;
            let retry_after = match &outcome {
                Attempt::Answer(a) => a.retry_after(),
                _ => None,
            };
            let again = attempt < policy.max_attempts.max(1) && outcome.may_repeat(call.idempotency);
            if !again {
                return outcome.finish();
            }
            let wait = policy.delay(attempt, retry_after);
            tracing::debug!(method = %call.method, path = %call.path(), attempt, ?wait, why = outcome.describe(), "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, req: reqwest::Request) -> Attempt {
        let res = match self.inner.http.execute(req).await {
            Ok(res) => res,
            Err(e) => return Attempt::Failed(e),
        };
        let status = res.status();
        let headers = res.headers().clone();
        match res.bytes().await {
            Ok(body) => Attempt::Answer(Answer { status, headers, body: body.to_vec() }),
            Err(e) => Attempt::Failed(e),
        }
    }

    fn build(&self, call: &Call<'_>) -> Result<reqwest::Request, ClientError> {
        let mut url = self.inner.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| ClientError::Decode { status: 0, message: "base URL cannot carry a path".to_owned() })?;
            segments.pop_if_empty();
            segments.extend(call.segments.iter().map(String::as_str));
        }
        if let Some(q) = &call.query {
            url.set_query(Some(q));
        }
        let mut headers = HeaderMap::new();
        if let Some(c) = call.client {
            headers.insert("x-client-id", header_value(&c.client_id, ErrorCode::InvalidClient, "client id")?);
            headers.insert("x-client-secret", sensitive(c.secret(), ErrorCode::InvalidClient, "client secret")?);
        }
        if let Some(l) = call.link {
            headers.insert("x-link-token", sensitive(l.expose(), ErrorCode::InvalidToken, "link token")?);
        }
        if let Some(b) = call.bearer {
            let v = format!("Bearer {}", b.expose());
            headers.insert(reqwest::header::AUTHORIZATION, sensitive(&v, ErrorCode::InvalidToken, "access token")?);
        }
        if let Some(meta) = call.meta {
            if let Some(id) = meta.request_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert("x-request-id", id);
            }
            if let Some(o) = meta.origin.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(reqwest::header::ORIGIN, o);
            }
        }
        for (name, value) in &call.headers {
            headers.insert(name.clone(), value.clone());
        }
        let mut req = self.inner.http.request(call.method.clone(), url).headers(headers);
        if let Some(body) = &call.body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
        }
        req.build().map_err(ClientError::Transport)
    }
}

fn header_value(v: &str, code: ErrorCode, what: &str) -> Result<HeaderValue, ClientError> {
    HeaderValue::from_str(v).map_err(|_| ClientError::InvalidInput {
        code,
        message: format!("The {what} contains characters not allowed in an HTTP header"),
    })
}

fn sensitive(v: &str, code: ErrorCode, what: &str) -> Result<HeaderValue, ClientError> {
    let mut h = header_value(v, code, what)?;
    h.set_sensitive(true);
    Ok(h)
}

/// One request to make: method, path, query, body and who is calling.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    segments: Vec<String>,
    query: Option<String>,
    body: Option<Vec<u8>>,
    client: Option<&'a ClientCredentials>,
    link: Option<&'a LinkTokenCredential>,
    bearer: Option<&'a BearerToken>,
    meta: Option<&'a RequestMeta>,
    headers: Vec<(HeaderName, HeaderValue)>,
    idempotency: Idempotency,
}

impl<'a> Call<'a> {
    fn new(method: Method, segments: &[&str], idempotency: Idempotency) -> Self {
        Self {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: None,
            body: None,
            client: None,
            link: None,
            bearer: None,
            meta: None,
            headers: Vec::new(),
            idempotency,
        }
    }

    /// A `GET` of the path made of `segments` (each percent-encoded); safe to repeat.
    pub(crate) fn get(segments: &[&str]) -> Self {
        Self::new(Method::GET, segments, Idempotency::Safe)
    }

    /// A `POST` with a JSON body; not repeated once sent unless marked [`Call::safe`].
    pub(crate) fn post(segments: &[&str], body: &impl Serialize) -> Result<Self, ClientError> {
        Self::new(Method::POST, segments, Idempotency::Unsafe).json(body)
    }

    /// A `POST` without a body; not repeated once sent.
    pub(crate) fn post_empty(segments: &[&str]) -> Self {
        Self::new(Method::POST, segments, Idempotency::Unsafe)
    }

    /// A `PATCH` with a JSON body; not repeated once sent.
    pub(crate) fn patch(segments: &[&str], body: &impl Serialize) -> Result<Self, ClientError> {
        Self::new(Method::PATCH, segments, Idempotency::Unsafe).json(body)
    }

    /// A `PUT` with a JSON body; it sets a state, so repeating it is safe.
    pub(crate) fn put(segments: &[&str], body: &impl Serialize) -> Result<Self, ClientError> {
        Self::new(Method::PUT, segments, Idempotency::Safe).json(body)
    }

    /// A `DELETE` without a body; not repeated once sent (a repeat would answer 404).
    pub(crate) fn delete(segments: &[&str]) -> Self {
        Self::new(Method::DELETE, segments, Idempotency::Unsafe)
    }

    /// Any other method, safe to repeat.
    pub(crate) fn other(method: Method, segments: &[&str]) -> Self {
        Self::new(method, segments, Idempotency::Safe)
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::InvalidInput {
            code: ErrorCode::InvalidRequest,
            message: format!("The request body cannot be encoded: {e}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Marks a state-changing call as safe to repeat (e.g. check-session).
    pub(crate) fn safe(mut self) -> Self {
        self.idempotency = Idempotency::Safe;
        self
    }

    /// Adds a query string.
    pub(crate) fn query(mut self, query: &impl Serialize) -> Result<Self, ClientError> {
        let q = serde_urlencoded_string(query)?;
        self.query = (!q.is_empty()).then_some(q);
        Ok(self)
    }

    /// Sends the client credentials.
    pub(crate) fn client(mut self, client: &'a ClientCredentials) -> Self {
        self.client = Some(client);
        self
    }

    /// Sends the link token.
    pub(crate) fn link(mut self, link: &'a LinkTokenCredential) -> Self {
        self.link = Some(link);
        self
    }

    /// Sends the access token.
    pub(crate) fn bearer(mut self, bearer: &'a BearerToken) -> Self {
        self.bearer = Some(bearer);
        self
    }

    /// Forwards the request id and origin.
    pub(crate) fn meta(mut self, meta: &'a RequestMeta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn path(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }
}

/// A query string from a serializable value (`None` fields are left out).
fn serde_urlencoded_string(query: &impl Serialize) -> Result<String, ClientError> {
    let v = serde_json::to_value(query).map_err(|e| ClientError::InvalidInput {
        code: ErrorCode::InvalidRequest,
        message: format!("The query cannot be encoded: {e}"),
    })?;
    let serde_json::Value::Object(map) = v else {
        return Err(ClientError::InvalidInput {
            code: ErrorCode::InvalidRequest,
            message: "The query must be a struct".to_owned(),
        });
    };
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in map {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => {
                out.append_pair(&k, &s);
            }
            other => {
                out.append_pair(&k, &other.to_string());
            }
        }
    }
    Ok(out.finish())
}

/// What one attempt produced.
enum Attempt {
    Answer(Answer),
    Failed(reqwest::Error),
}

impl Attempt {
    /// Whether another attempt may follow this one.
    fn may_repeat(&self, idempotency: Idempotency) -> bool {
        match self {
            // The connection was never established: the request did not leave.
            Attempt::Failed(e) if e.is_connect() => true,
            Attempt::Failed(_) => idempotency == Idempotency::Safe,
            Attempt::Answer(a) => {
                idempotency == Idempotency::Safe
                    && matches!(
                        a.status,
                        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                    )
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Attempt::Failed(e) if e.is_timeout() => "timeout".to_owned(),
            Attempt::Failed(e) if e.is_connect() => "connect error".to_owned(),
            Attempt::Failed(_) => "transport error".to_owned(),
            Attempt::Answer(a) => format!("HTTP {}", a.status.as_u16()),
        }
    }

    fn finish(self) -> Result<Answer, ClientError> {
        match self {
            Attempt::Answer(a) => Ok(a),
            Attempt::Failed(e) if e.is_timeout() => Err(ClientError::Timeout),
            Attempt::Failed(e) => Err(ClientError::Transport(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn envelopes_decode_to_their_data() {
        let v: Vec<u32> = decode(&answer(200, r#"{"success":true,"data":[1,2]}"#), Shape::Envelope).expect("data");
        assert_eq!(v, vec![1, 2]);
        let (): () = decode(&answer(200, r#"{"success":true,"message":"Grant revoked successfully"}"#), Shape::Ack)
            .expect("ack");
        let e = decode::<u32>(&answer(200, r#"{"success":false,"data":1}"#), Shape::Envelope).expect_err("not success");
        assert!(matches!(e, ClientError::Decode { status: 200, .. }), "{e:?}");
        let e = decode::<u32>(&answer(200, "<html>"), Shape::Bare).expect_err("not JSON");
        assert!(matches!(e, ClientError::Decode { status: 200, .. }), "{e:?}");
    }

    #[test]
    fn error_bodies_become_typed_errors() {
        let cases: &[(u16, &str, Option<ErrorCode>, &str)] = &[
            (
                400,
                r#"{"success":false,"error":"Public token already used","code":"TOKEN_ALREADY_USED"}"#,
                Some(ErrorCode::TokenAlreadyUsed),
                "Public token already used",
            ),
            (
                401,
                r#"{"error":"unauthorized","message":"Invalid or revoked access token","details":[]}"#,
                Some(ErrorCode::InvalidToken),
                "Invalid or revoked access token",
            ),
            (
                403,
                r#"{"error":"forbidden","message":"Insufficient scopes. Required scopes not met","details":[]}"#,
                Some(ErrorCode::InsufficientPermissions),
                "Insufficient scopes. Required scopes not met",
            ),
            (418, r#"{"success":false,"error":"new","code":"BRAND_NEW_CODE"}"#, Some(ErrorCode::InvalidRequest), "new"),
            (503, "Service Unavailable", Some(ErrorCode::ServiceUnavailable), ""),
            (500, "<html>oops</html>", None, ""),
        ];
        for (status, body, code, message) in cases {
            let e = decode::<u32>(&answer(*status, body), Shape::Envelope).expect_err("an error");
            assert_eq!(e.status(), Some(*status), "status of {body}");
            assert_eq!(e.code(), *code, "code of {body}");
            if let ClientError::Api { message: m, .. } = &e {
                if !message.is_empty() {
                    assert_eq!(m, message, "message of {body}");
                }
            }
        }
    }

    #[test]
    fn queries_leave_out_absent_fields_and_encode_the_rest() {
        #[derive(Serialize)]
        struct Q {
            limit: Option<u32>,
            cursor: Option<String>,
            search: Option<String>,
        }
        let q = serde_urlencoded_string(&Q { limit: Some(5), cursor: None, search: Some("a b&c".into()) }).expect("q");
        assert_eq!(q, "limit=5&search=a+b%26c");
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        for ok in ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://connect.example.com/base"]
        {
            assert!(Client::new(ok).is_ok(), "{ok} is accepted");
        }
        for bad in ["http://connect.example.com", "ftp://x", "not a url", "https://u:p@host", "https://host/?q=1"] {
            assert!(matches!(Client::new(bad), Err(BuildError::BaseUrl { .. })), "{bad} is refused");
        }
        assert!(Client::builder("http://kryptos:8080").allow_insecure_http(true).build().is_ok());
    }

    #[test]
    fn paths_are_joined_under_the_base_and_segments_encoded() {
        let c = Client::new("https://host/prefix").expect("client");
        let call = Call::get(&["developer", "grants", "a/b c", "transaction-limit"]);
        let req = c.build(&call).expect("request");
        assert_eq!(req.url().as_str(), "https://host/prefix/developer/grants/a%2Fb%20c/transaction-limit");
    }

    #[test]
    fn debug_output_shows_no_secrets() {
        let c = Client::new("http://127.0.0.1:1").expect("client");
        let creds = ClientCredentials::new("client-id", "super-secret-value");
        let bound = c.with_credentials(creds.clone());
        let token = BearerToken::new("cat_very-secret-token");
        let call = Call::get(&["api", "v1", "holdings"]).client(&creds).bearer(&token);
        let req = c.build(&call).expect("request");
        let all = format!("{c:?} {bound:?} {token:?} {req:?}");
        assert!(!all.contains("super-secret-value"), "{all}");
        assert!(!all.contains("very-secret-token"), "{all}");
        assert!(all.contains("client-id"), "the client id is not a secret: {all}");
    }
}
