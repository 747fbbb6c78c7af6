//! HTTP APIs as sources, sinks and lookups: the client pieces `http_source`, `http_sink` and
//! `http_call` share.
//!
//! - [`config`]: the typed settings every HTTP node has (auth, retries, limits, timeouts),
//!   with their JSON Schema and user docs.
//! - [`auth`]: API key, bearer, basic and OAuth2 client credentials (token cached, fetched
//!   again when it expires or when the API answers 401).
//! - [`retry`]: which outcomes are worth another attempt and how long to wait (exponential
//!   backoff with jitter, `Retry-After` honoured).
//! - [`client`]: one request through rate limit, concurrency limit, timeouts, auth and
//!   retries, every attempt logged.
//! - [`template`]: `{field}` placeholders in URLs, headers, query values and JSON bodies.
//! - [`request`]: a node's configured request, parsed once and filled in per row.
//! - [`records`]: records out of a JSON or CSV response, by path, into typed rows.
//! - [`pagination`]: page number, offset/limit, cursor, `Link` header and next-URL paging.
//!
//! Left out on purpose: cookies and sessions, multipart uploads, response compression,
//! HTTP/2, and listening for webhooks (a different node). Secrets never come from the flow
//! file: they are `${env:NAME}` references or OS keychain entries.

pub mod auth;
pub mod client;
pub mod config;
pub mod pagination;
pub mod records;
pub mod request;
pub mod retry;
pub mod template;

pub use client::{install_crypto_provider, FailureKind, HttpClient, HttpFailure, HttpResponse, RequestSpec};
pub use config::{AuthConfig, AuthKind, HttpMethod, LimitsConfig, RetryConfig};
pub use request::RequestTemplate;

/// At most this much of a response body goes into an error message.
pub const BODY_IN_MESSAGE: usize = 300;
/// At most this much of a response body is kept in a failed row's `_error_raw`.
pub const BODY_KEPT: usize = 64 * 1024;

/// The first `max` bytes of a body as text (cut at a character boundary), for messages.
pub fn body_excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_at_a_character_boundary() {
        assert_eq!(body_excerpt(b"  short  ", 10), "short");
        assert_eq!(body_excerpt("工单工单".as_bytes(), 4), "工…");
    }
}
