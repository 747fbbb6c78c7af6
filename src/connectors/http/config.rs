//! Settings every HTTP node shares: method, auth, retries, limits and timeouts. The doc
//! comments are the user docs (they reach the designer's forms and `docs/nodes.md`).
//!
//! `auth` is one flat object with a `type` rather than a tagged union so that its `secret`
//! is an ordinary property the planner's secret check sees (`x-secret`: only
//! `${env:NAME}` is accepted in a flow file).

use super::retry::RetryPolicy;
use crate::nodes::ConfigProblem;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_reqwest(self) -> reqwest::Method {
        match self {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        }
    }
}

/// How requests prove who is calling.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `api_key`: a key in a header or query parameter; `bearer`: `Authorization: Bearer
    /// <secret>`; `basic`: user name and password; `oauth2`: OAuth2 client credentials (a
    /// token fetched from `token_url`, kept until it expires and fetched again when the API
    /// answers 401).
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// The secret: the API key, the bearer token, the basic password or the OAuth2 client
    /// secret. Written as `${env:NAME}`; a secret typed into the flow file is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-secret" = true))]
    pub secret: Option<String>,
    /// Instead of `secret`: the account under which the secret is kept in the OS keychain
    /// (service `sluice`). Store it with `sluice connections set-password ACCOUNT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_keyring: Option<String>,
    /// For `api_key`: the header or query parameter that carries the key (default
    /// `X-API-Key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For `api_key`: send the key as a `header` (default) or as a `query` parameter.
    #[serde(default)]
    pub location: KeyLocation,
    /// For `basic`: the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// For `oauth2`: the token endpoint, e.g. `https://login.example.com/oauth2/token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// For `oauth2`: the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// For `oauth2`: scopes to ask for, separated by spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For `oauth2`: how the client id and secret reach the token endpoint: in the form
    /// `body` (default) or as HTTP `basic` auth.
    #[serde(default)]
    pub client_auth: ClientAuth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    ApiKey,
    Bearer,
    Basic,
    Oauth2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyLocation {
    #[default]
    Header,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    Body,
    Basic,
}

impl AuthConfig {
    /// Problems a flow can have before anything is sent, under `auth/…`.
    pub fn check(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        match (&self.secret, &self.secret_keyring) {
            (Some(_), Some(_)) => {
                out.push(ConfigProblem::new("auth/secret_keyring", "give secret or secret_keyring, not both"))
            }
            (None, None) => out.push(
                ConfigProblem::new("auth/secret", "no secret given")
                    .hint("set \"secret\": \"${env:NAME}\", or \"secret_keyring\" to an account stored in the OS keychain"),
            ),
            _ => {}
        }
        let need = |v: &Option<String>, field: &str, kind: &str, out: &mut Vec<ConfigProblem>| {
            if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
                out.push(ConfigProblem::new(format!("auth/{field}"), format!("{kind} auth needs {field}")));
            }
        };
        match self.kind {
            AuthKind::Basic => need(&self.username, "username", "basic", &mut out),
            AuthKind::Oauth2 => {
                need(&self.token_url, "token_url", "oauth2", &mut out);
                need(&self.client_id, "client_id", "oauth2", &mut out);
                if let Some(u) = &self.token_url {
                    if let Err(e) = reqwest::Url::parse(u) {
                        out.push(ConfigProblem::new("auth/token_url", format!("not a URL: {e}")));
                    }
                }
            }
            AuthKind::ApiKey | AuthKind::Bearer => {}
        }
        out
    }
}

/// When and how often a failed request is tried again.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per request in all, the first one included (`1`: never retry). Network
    /// errors, timeouts, 429 and 5xx answers are retried; other 4xx answers are not.
    #[serde(default = "default_max_attempts")]
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// Wait before the first retry, in milliseconds. Each further retry waits about twice as
    /// long, with random jitter so that many clients do not retry in step.
    #[serde(default = "default_base_delay_ms")]
    #[schemars(range(min = 0))]
    pub base_delay_ms: u64,
    /// Longest wait between two attempts, in milliseconds.
    #[serde(default = "default_max_delay_ms")]
    #[schemars(range(min = 0))]
    pub max_delay_ms: u64,
    /// Longest `Retry-After` (seconds or a date, sent with 429 and 503) that is waited for,
    /// in milliseconds; a longer one is cut to this.
    #[serde(default = "default_max_retry_after_ms")]
    #[schemars(range(min = 0))]
    pub max_retry_after_ms: u64,
}

fn default_max_attempts() -> u32 {
    4
}
fn default_base_delay_ms() -> u64 {
    500
}
fn default_max_delay_ms() -> u64 {
    30_000
}
fn default_max_retry_after_ms() -> u64 {
    120_000
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: default_max_attempts(),
            base_delay_ms: default_base_delay_ms(),
            max_delay_ms: default_max_delay_ms(),
            max_retry_after_ms: default_max_retry_after_ms(),
        }
    }
}

impl RetryConfig {
    pub fn is_default(&self) -> bool {
        self.max_attempts == default_max_attempts()
            && self.base_delay_ms == default_base_delay_ms()
            && self.max_delay_ms == default_max_delay_ms()
            && self.max_retry_after_ms == default_max_retry_after_ms()
    }

    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            base_delay: Duration::from_millis(self.base_delay_ms),
            max_delay: Duration::from_millis(self.max_delay_ms.max(self.base_delay_ms)),
            max_retry_after: Duration::from_millis(self.max_retry_after_ms),
        }
    }
}

/// How hard the API is pushed: requests in flight, requests per second, timeouts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Requests in flight at the same time (`http_call` and `http_sink`; a source reads its
    /// pages one after another).
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 256))]
    pub concurrency: u32,
    /// At most this many requests per second, retries included (e.g. `10`, or `0.5` for
    /// one every two seconds). Empty: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// With `requests_per_second`: how many requests may go at once after a quiet spell
    /// before the rate applies (default 1: evenly spaced).
    #[serde(default = "default_burst")]
    #[schemars(range(min = 1))]
    pub burst: u32,
    /// Longest time for one attempt, from connecting to the last byte of the answer, in
    /// milliseconds. A slower answer counts as a failed attempt and is retried.
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// Longest time to open the connection, in milliseconds.
    #[serde(default = "default_connect_timeout_ms")]
    #[schemars(range(min = 1))]
    pub connect_timeout_ms: u64,
}

fn default_concurrency() -> u32 {
    4
}
fn default_burst() -> u32 {
    1
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_connect_timeout_ms() -> u64 {
    10_000
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            concurrency: default_concurrency(),
            requests_per_second: None,
            burst: default_burst(),
            timeout_ms: default_timeout_ms(),
            connect_timeout_ms: default_connect_timeout_ms(),
        }
    }
}

impl LimitsConfig {
    pub fn check(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        if self.concurrency == 0 {
            out.push(ConfigProblem::new("limits/concurrency", "at least 1 request at a time"));
        }
        if let Some(r) = self.requests_per_second {
            if !(r.is_finite() && r > 0.0) {
                out.push(ConfigProblem::new("limits/requests_per_second", "a number of requests per second above 0, e.g. 10 or 0.5"));
            }
        }
        if self.burst == 0 {
            out.push(ConfigProblem::new("limits/burst", "at least 1"));
        }
        if self.timeout_ms == 0 {
            out.push(ConfigProblem::new("limits/timeout_ms", "at least 1 millisecond"));
        }
        if self.connect_timeout_ms == 0 {
            out.push(ConfigProblem::new("limits/connect_timeout_ms", "at least 1 millisecond"));
        }
        out
    }
}

/// Whether a URL (after `${…}` substitution, before `{field}` placeholders are filled) is
/// usable: http or https with a host.
pub fn check_url(field: &str, url: &str) -> Option<ConfigProblem> {
    // Placeholders may sit in the path or query; the scheme and host must be literal.
    let probe = super::template::Template::parse(url).map(|t| t.render_with(|_| Some("x".into()))).unwrap_or_else(|_| url.to_string());
    match reqwest::Url::parse(&probe) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => None,
        Ok(u) => Some(ConfigProblem::new(field, format!("'{url}' is not an http or https URL (scheme {})", u.scheme()))),
        Err(e) => Some(
            ConfigProblem::new(field, format!("'{url}' is not a URL: {e}"))
                .hint("write the full address, e.g. https://api.example.com/v1/tickets"),
        ),
    }
}
