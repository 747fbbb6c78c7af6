//! Credentials on each request: a static header or query parameter (API key, bearer,
//! basic), or an OAuth2 client-credentials token.
//!
//! The OAuth2 token is fetched on first use and kept until shortly before it expires
//! (`expires_in`); concurrent requests wait for one fetch instead of each fetching their
//! own. When the API still answers 401, the client drops the token it used (only that one:
//! a token another request already replaced stays) and tries once more with a fresh one.
//! A token endpoint that refuses the client's credentials is a configuration error that
//! stops the node, since every further request would fail the same way.

use super::client::{FailureKind, HttpFailure};
use super::config::{AuthConfig, AuthKind, ClientAuth, KeyLocation};
use crate::nodes::ConfigProblem;
use base64::Engine;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Tokens are taken as expired this long before the server says, so a request never
/// leaves with a token that dies on the way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// What a request carries to prove who is calling.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    Header { name: HeaderName, value: HeaderValue },
    Query { name: String, value: String },
    /// An OAuth2 token; `generation` identifies it for [`Auth::token_refused`].
    Token { value: HeaderValue, generation: u64 },
}

/// A node's resolved auth settings.
pub enum Auth {
    Static(Credential),
    OAuth2(OAuth2),
}

pub struct OAuth2 {
    token_url: reqwest::Url,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    client_auth: ClientAuth,
    cached: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    token: Option<(HeaderValue, Option<Instant>)>,
    generation: u64,
}

impl Auth {
    /// Resolves the config, reading the secret from the OS keychain when asked. Problems
    /// name `auth/…` fields.
    pub fn from_config(config: Option<&AuthConfig>) -> Result<Auth, ConfigProblem> {
        let Some(c) = config else { return Ok(Auth::Static(Credential::None)) };
        if let Some(p) = c.check().into_iter().next() {
            return Err(p);
        }
        let secret = match (&c.secret, &c.secret_keyring) {
            (Some(s), None) => s.clone(),
            (None, Some(account)) => keyring_secret(account)?,
            _ => unreachable!("checked above"),
        };
        let header_value = |text: String, field: &str| {
            let mut v = HeaderValue::from_str(&text)
                .map_err(|_| ConfigProblem::new(format!("auth/{field}"), "contains characters a header cannot carry (line breaks?)"))?;
            v.set_sensitive(true);
            Ok::<_, ConfigProblem>(v)
        };
        Ok(match c.kind {
            AuthKind::Bearer => Auth::Static(Credential::Header { name: AUTHORIZATION, value: header_value(format!("Bearer {secret}"), "secret")? }),
            AuthKind::Basic => {
                let user = c.username.clone().unwrap_or_default();
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
                Auth::Static(Credential::Header { name: AUTHORIZATION, value: header_value(format!("Basic {encoded}"), "secret")? })
            }
            AuthKind::ApiKey => {
                let name = c.name.clone().unwrap_or_else(|| "X-API-Key".into());
                match c.location {
                    KeyLocation::Header => Auth::Static(Credential::Header {
                        name: HeaderName::from_bytes(name.as_bytes())
                            .map_err(|_| ConfigProblem::new("auth/name", format!("'{name}' is not a valid header name")))?,
                        value: header_value(secret, "secret")?,
                    }),
                    KeyLocation::Query => Auth::Static(Credential::Query { name, value: secret }),
                }
            }
            AuthKind::Oauth2 => {
                let url = c.token_url.as_deref().unwrap_or_default();
                Auth::OAuth2(OAuth2 {
                    token_url: reqwest::Url::parse(url).map_err(|e| ConfigProblem::new("auth/token_url", format!("'{url}' is not a URL: {e}")))?,
                    client_id: c.client_id.clone().unwrap_or_default(),
                    client_secret: secret,
                    scope: c.scope.clone().filter(|s| !s.trim().is_empty()),
                    client_auth: c.client_auth,
                    cached: Mutex::new(TokenState::default()),
                })
            }
        })
    }

    /// Whether a 401 may be cured by fetching a new token.
    pub fn can_refresh(&self) -> bool {
        matches!(self, Auth::OAuth2(_))
    }

    /// The credential for the next request (fetching a token when there is none or it
    /// expired).
    pub async fn credential(&self, http: &reqwest::Client, timeout: Duration) -> Result<Credential, HttpFailure> {
        match self {
            Auth::Static(c) => Ok(c.clone()),
            Auth::OAuth2(o) => o.credential(http, timeout).await,
        }
    }

    /// The API refused `used` with 401: forget that token so the next request fetches one.
    pub async fn token_refused(&self, used: &Credential) {
        if let (Auth::OAuth2(o), Credential::Token { generation, .. }) = (self, used) {
            let mut state = o.cached.lock().await;
            if state.generation == *generation {
                state.token = None;
            }
        }
    }
}

impl OAuth2 {
    async fn credential(&self, http: &reqwest::Client, timeout: Duration) -> Result<Credential, HttpFailure> {
        let mut state = self.cached.lock().await;
        if let Some((value, expires)) = &state.token {
            if expires.is_none_or(|at| Instant::now() < at) {
                return Ok(Credential::Token { value: value.clone(), generation: state.generation });
            }
        }
        let (token, lifetime) = self.fetch(http, timeout).await?;
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| HttpFailure {
            kind: FailureKind::Auth,
            message: format!("the token from {} holds characters a header cannot carry", self.token_url),
            status: None,
            body: None,
            attempts: 1,
        })?;
        value.set_sensitive(true);
        state.generation += 1;
        let expires = lifetime.map(|l| Instant::now() + l.saturating_sub(EXPIRY_MARGIN));
        state.token = Some((value.clone(), expires));
        tracing::debug!(token_url = %self.token_url, expires_in = ?lifetime, "fetched an OAuth2 token");
        Ok(Credential::Token { value, generation: state.generation })
    }

    async fn fetch(&self, http: &reqwest::Client, timeout: Duration) -> Result<(String, Option<Duration>), HttpFailure> {
        let mut req = http.post(self.token_url.clone()).timeout(timeout).header(reqwest::header::ACCEPT, "application/json");
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(s) = &self.scope {
                form.append_pair("scope", s);
            }
            match self.client_auth {
                ClientAuth::Body => {
                    form.append_pair("client_id", &self.client_id);
                    form.append_pair("client_secret", &self.client_secret);
                }
                ClientAuth::Basic => req = req.basic_auth(&self.client_id, Some(&self.client_secret)),
            }
            form.finish()
        };
        let req = req.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(form);
        let what = format!("the OAuth2 token request to {}", self.token_url);
        let resp = req.send().await.map_err(|e| HttpFailure::network(&what, &e, 1))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| HttpFailure::network(&what, &e, 1))?;
        if !(200..300).contains(&status) {
            let excerpt = super::body_excerpt(&body, super::BODY_IN_MESSAGE);
            // 5xx and 429 may pass; anything else means the credentials or the request
            // are wrong and will stay wrong.
            let retryable = super::retry::is_retryable_status(status);
            return Err(HttpFailure {
                kind: if retryable { FailureKind::Status } else { FailureKind::Auth },
                message: if retryable {
                    format!("{what} answered {status}: {excerpt}")
                } else {
                    format!("{what} was refused ({status}): {excerpt}; check auth/client_id and the client secret")
                },
                status: Some(status),
                body: Some(body.to_vec()),
                attempts: 1,
            });
        }
        let parsed: serde_json::Value = serde_json::from_slice(&body).map_err(|e| HttpFailure {
            kind: FailureKind::Auth,
            message: format!("{what} answered with something other than JSON ({e})"),
            status: Some(status),
            body: Some(body.to_vec()),
            attempts: 1,
        })?;
        let token = parsed.get("access_token").and_then(|t| t.as_str()).ok_or_else(|| HttpFailure {
            kind: FailureKind::Auth,
            message: format!("{what} answered without an access_token"),
            status: Some(status),
            body: Some(body.to_vec()),
            attempts: 1,
        })?;
        let lifetime = parsed.get("expires_in").and_then(|e| e.as_u64().or_else(|| e.as_str().and_then(|s| s.parse().ok()))).map(Duration::from_secs);
        Ok((token.to_string(), lifetime))
    }
}

#[cfg(feature = "keychain")]
fn keyring_secret(account: &str) -> Result<String, ConfigProblem> {
    let hint = format!("store it with `sluice connections set-password {account}`");
    let entry = keyring::Entry::new("sluice", account)
        .map_err(|e| ConfigProblem::new("auth/secret_keyring", format!("the OS keychain is not available ({e})")).hint(hint.clone()))?;
    entry.get_password().map_err(|e| match e {
        keyring::Error::NoEntry => {
            ConfigProblem::new("auth/secret_keyring", format!("the OS keychain has no secret for service 'sluice', account '{account}'"))
                .hint(hint.clone())
        }
        other => ConfigProblem::new("auth/secret_keyring", format!("cannot read the secret of '{account}' from the OS keychain: {other}"))
            .hint(hint.clone()),
    })
}

#[cfg(not(feature = "keychain"))]
fn keyring_secret(_account: &str) -> Result<String, ConfigProblem> {
    Err(ConfigProblem::new("auth/secret_keyring", "this build of Sluice has no OS keychain support (feature `keychain`)")
        .hint("use \"secret\": \"${env:NAME}\" instead"))
}
