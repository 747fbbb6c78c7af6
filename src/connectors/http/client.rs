//! One request, done properly: rate limit, concurrency limit, credentials, timeouts and
//! retries, with every attempt logged (`tracing`, target `sluice::http`, with node, method,
//! URL, attempt and status).
//!
//! The rate limit is `governor`'s GCRA limiter rather than a hand-made token bucket: it is
//! well kept, exact for fractional rates (`0.5` per second) and bursts, and waits
//! asynchronously without a background task. Concurrency is a tokio `Semaphore`; a permit
//! is held for one attempt only, so a request waiting out its backoff lets others go.
//! Retries wait between attempts as [`super::retry`] says. A 401 with OAuth2 auth fetches a
//! new token and tries once more without spending a retry.

use super::auth::{Auth, Credential};
use super::config::{AuthConfig, LimitsConfig, RetryConfig};
use super::retry::{is_retryable_status, retry_after, RetryPolicy};
use crate::nodes::ConfigProblem;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// A request to send (possibly several times).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: reqwest::Method,
    pub url: reqwest::Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body and its content type.
    pub body: Option<(Vec<u8>, &'static str)>,
}

impl RequestSpec {
    pub fn new(method: reqwest::Method, url: reqwest::Url) -> Self {
        RequestSpec { method, url, headers: Vec::new(), body: None }
    }

    pub fn json_body(mut self, v: &serde_json::Value) -> Self {
        self.body = Some((serde_json::to_vec(v).expect("JSON values serialise"), "application/json"));
        self
    }

    /// `METHOD url`, for messages (auth in the query is never part of `url`).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Where the answer came from (after redirects): relative links resolve against it.
    pub url: reqwest::Url,
    /// Requests sent for it, retries and token refreshes included.
    pub attempts: u32,
}

/// Why a request gave no 2xx answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No answer: connection refused or reset, DNS, TLS, a broken body.
    Network,
    /// No complete answer within `limits/timeout_ms`.
    Timeout,
    /// An answer with a status other than 2xx.
    Status,
    /// The token endpoint refused the client's credentials: every request would fail
    /// the same way, so the node stops.
    Auth,
    /// The run is stopping.
    Cancelled,
}

/// A failed request, after its retries.
#[derive(Debug, Clone)]
pub struct HttpFailure {
    pub kind: FailureKind,
    pub message: String,
    pub status: Option<u16>,
    /// The last answer's body, if there was one.
    pub body: Option<Vec<u8>>,
    pub attempts: u32,
}

impl HttpFailure {
    pub(crate) fn network(what: &str, e: &reqwest::Error, attempts: u32) -> Self {
        let kind = if e.is_timeout() { FailureKind::Timeout } else { FailureKind::Network };
        // reqwest's own message is terse ("error sending request"); the causes say why.
        let mut causes = Vec::new();
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = src {
            let text = s.to_string();
            if !causes.contains(&text) {
                causes.push(text);
            }
            src = s.source();
        }
        let why = if kind == FailureKind::Timeout {
            "timed out".to_string()
        } else if e.is_connect() && !causes.is_empty() {
            // The innermost cause says it plainly ("Connection refused", a DNS failure).
            format!("cannot connect: {}", causes.last().expect("not empty"))
        } else if causes.is_empty() {
            // reqwest's own text would repeat the URL, query included.
            "no answer".to_string()
        } else {
            causes.join(": ")
        };
        HttpFailure { kind, message: format!("{what}: {why}"), status: None, body: None, attempts }
    }

    /// Whether the node must stop (rather than report the row and go on).
    pub fn is_fatal(&self) -> bool {
        matches!(self.kind, FailureKind::Auth | FailureKind::Cancelled)
    }

    fn retryable(&self) -> bool {
        match self.kind {
            FailureKind::Network | FailureKind::Timeout => true,
            FailureKind::Status => self.status.is_some_and(is_retryable_status),
            FailureKind::Auth | FailureKind::Cancelled => false,
        }
    }

    /// The body kept with a failed row (cut to [`super::BODY_KEPT`]).
    pub fn body_text(&self) -> Option<String> {
        self.body.as_deref().filter(|b| !b.is_empty()).map(|b| super::body_excerpt(b, super::BODY_KEPT))
    }
}

/// Counters for a node's closing log line.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub retries: AtomicU64,
    pub failed: AtomicU64,
}

/// The HTTP side of one node: shared by all its requests.
pub struct HttpClient {
    http: reqwest::Client,
    auth: Auth,
    retry: RetryPolicy,
    timeout: Duration,
    limiter: Option<DefaultDirectRateLimiter>,
    permits: Semaphore,
    cancel: CancellationToken,
    node_id: String,
    pub stats: Stats,
}

/// rustls needs one crypto provider per process; Sluice uses ring (as sqlx does). Another
/// part of the process may have installed one first, which is fine. Any code of this
/// process that builds a `reqwest::Client` (tests included) calls this first.
pub fn install_crypto_provider() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl HttpClient {
    /// Builds the client of a node. Problems name the config field.
    pub fn new(node_id: &str, auth: Option<&AuthConfig>, retry: &RetryConfig, limits: &LimitsConfig) -> Result<Self, ConfigProblem> {
        if let Some(p) = limits.check().into_iter().next() {
            return Err(p);
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(limits.connect_timeout_ms))
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigProblem::new("", format!("cannot set up the HTTP client: {e}")))?;
        let limiter = match limits.requests_per_second {
            Some(rps) => {
                let period = Duration::from_secs_f64(1.0 / rps);
                let quota = Quota::with_period(period)
                    .ok_or_else(|| ConfigProblem::new("limits/requests_per_second", "too high a rate"))?
                    .allow_burst(NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN));
                Some(RateLimiter::direct(quota))
            }
            None => None,
        };
        Ok(HttpClient {
            http,
            auth: Auth::from_config(auth)?,
            retry: retry.policy(),
            timeout: Duration::from_millis(limits.timeout_ms),
            limiter,
            permits: Semaphore::new(limits.concurrency.max(1) as usize),
            cancel: CancellationToken::new(),
            node_id: node_id.to_string(),
            stats: Stats::default(),
        })
    }

    /// Stops waits and requests when `cancel` fires (the run's stop).
    pub fn set_cancel(&mut self, cancel: CancellationToken) {
        self.cancel = cancel;
    }

    /// `"N requests, M retries, K failed"` for a closing log line.
    pub fn summary(&self) -> String {
        format!(
            "{} requests, {} retries, {} failed",
            self.stats.sent.load(Relaxed),
            self.stats.retries.load(Relaxed),
            self.stats.failed.load(Relaxed)
        )
    }

    async fn cancellable<F: std::future::Future>(&self, f: F, attempts: u32) -> Result<F::Output, HttpFailure> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(HttpFailure {
                kind: FailureKind::Cancelled,
                message: "stopped".into(),
                status: None,
                body: None,
                attempts,
            }),
            out = f => Ok(out),
        }
    }

    /// Sends `req` until it gets a 2xx answer, a failure not worth retrying, or runs out of
    /// attempts.
    pub async fn send(&self, req: &RequestSpec) -> Result<HttpResponse, HttpFailure> {
        let mut delays = self.retry.delays();
        let mut sent = 0u32;
        let mut refreshed = false;
        loop {
            sent += 1;
            let (failure, wait_hint) = match self.attempt(req, sent).await {
                Ok((resp, _)) if (200..300).contains(&resp.status) => {
                    tracing::debug!(target: "sluice::http", node = %self.node_id, method = %req.method, url = %req.url, attempt = sent, status = resp.status, "answered");
                    return Ok(HttpResponse { attempts: sent, ..resp });
                }
                Ok((resp, used)) if resp.status == 401 && self.auth.can_refresh() && !refreshed => {
                    tracing::info!(target: "sluice::http", node = %self.node_id, method = %req.method, url = %req.url, attempt = sent, status = 401, "token refused; fetching a new one and trying again");
                    refreshed = true;
                    self.auth.token_refused(&used).await;
                    continue;
                }
                Ok((resp, _)) => {
                    let wait = retry_after(&resp.headers, SystemTime::now());
                    let excerpt = super::body_excerpt(&resp.body, super::BODY_IN_MESSAGE);
                    let reason = reqwest::StatusCode::from_u16(resp.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
                    let mut message = format!("{} answered {} {reason}", req.describe(), resp.status);
                    if !excerpt.is_empty() {
                        message.push_str(&format!(": {excerpt}"));
                    }
                    (HttpFailure { kind: FailureKind::Status, message, status: Some(resp.status), body: Some(resp.body), attempts: sent }, wait)
                }
                Err(f) => (f, None),
            };
            if !failure.retryable() {
                tracing::warn!(target: "sluice::http", node = %self.node_id, method = %req.method, url = %req.url, attempt = sent, status = failure.status, "{}; not retried", failure.message);
                self.stats.failed.fetch_add(1, Relaxed);
                return Err(failure);
            }
            let Some(backoff) = delays.next() else {
                tracing::warn!(target: "sluice::http", node = %self.node_id, method = %req.method, url = %req.url, attempt = sent, status = failure.status, "{}; giving up", failure.message);
                self.stats.failed.fetch_add(1, Relaxed);
                let message = if sent > 1 { format!("{} (after {sent} attempts)", failure.message) } else { failure.message };
                return Err(HttpFailure { message, attempts: sent, ..failure });
            };
            let wait = self.retry.wait(backoff, wait_hint);
            tracing::warn!(target: "sluice::http", node = %self.node_id, method = %req.method, url = %req.url, attempt = sent, status = failure.status, wait_ms = wait.as_millis() as u64, "{}; retrying", failure.message);
            self.stats.retries.fetch_add(1, Relaxed);
            self.cancellable(tokio::time::sleep(wait), sent).await?;
        }
    }

    /// One attempt: waits for the rate limit and a permit, then sends and reads the answer.
    async fn attempt(&self, req: &RequestSpec, n: u32) -> Result<(HttpResponse, Credential), HttpFailure> {
        if let Some(limiter) = &self.limiter {
            self.cancellable(limiter.until_ready(), n).await?;
        }
        let _permit = self.cancellable(self.permits.acquire(), n).await?.expect("the semaphore is never closed");
        let credential = self.cancellable(self.auth.credential(&self.http, self.timeout), n).await?.map_err(|f| HttpFailure { attempts: n, ..f })?;
        let mut url = req.url.clone();
        let mut headers = HeaderMap::new();
        for (k, v) in &req.headers {
            headers.append(k.clone(), v.clone());
        }
        match &credential {
            Credential::None => {}
            Credential::Header { name, value } => {
                headers.insert(name.clone(), value.clone());
            }
            Credential::Token { value, .. } => {
                headers.insert(reqwest::header::AUTHORIZATION, value.clone());
            }
            Credential::Query { name, value } => {
                url.query_pairs_mut().append_pair(name, value);
            }
        }
        let mut builder = self.http.request(req.method.clone(), url).timeout(self.timeout);
        if let Some((body, content_type)) = &req.body {
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            builder = builder.body(body.clone());
        }
        let builder = builder.headers(headers);
        self.stats.sent.fetch_add(1, Relaxed);
        let what = req.describe();
        let resp = self.cancellable(builder.send(), n).await?.map_err(|e| HttpFailure::network(&what, &e, n))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let final_url = resp.url().clone();
        let body = self.cancellable(resp.bytes(), n).await?.map_err(|e| HttpFailure::network(&what, &e, n))?;
        Ok((HttpResponse { status, headers, body: body.to_vec(), url: final_url, attempts: n }, credential))
    }
}
