//! Proving who sent a webhook: a shared token (in a header or a query parameter) or an HMAC
//! signature of the body (GitHub, Zendesk, Shopify and Slack style), optionally over a
//! timestamp that must be recent so a captured request cannot be replayed later.
//!
//! The settings are one flat object with a `type` (like the HTTP nodes' `auth`), so the
//! `secret` is an ordinary property the planner's secret check sees. Comparisons are
//! constant-time. Nothing here logs: the caller logs the [`Rejection`] reason, which never
//! holds the secret, the token sent or the body.

use crate::nodes::ConfigProblem;
use axum::http::HeaderMap;
use base64::Engine;
use hmac::{Hmac, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How callers prove they may send events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookAuth {
    /// `token`: the caller sends a shared secret as is, in a header (default
    /// `X-Webhook-Token`) or a query parameter. `hmac`: the caller signs the body with the
    /// shared secret (HMAC-SHA256) and sends the signature in a header (default
    /// `X-Signature`); the secret itself never travels.
    #[serde(rename = "type")]
    pub kind: WebhookAuthKind,
    /// The shared secret, written as `${env:NAME}` (a secret typed into the flow file is
    /// refused). It is read when the flow is planned, so `sluice validate` and `sluice run`
    /// need the variable too; use `secret_env` where they must work without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-secret" = true))]
    pub secret: Option<String>,
    /// Instead of `secret`: the name of the environment variable holding the secret (e.g.
    /// `TICKETS_WEBHOOK_SECRET`), read only when `sluice listen` starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// The header carrying the token or the signature. Default: `X-Webhook-Token` for
    /// `token`, `X-Signature` for `hmac` (GitHub: `X-Hub-Signature-256`; Zendesk:
    /// `X-Zendesk-Webhook-Signature`; Slack: `X-Slack-Signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// For `token`: take the token from this query parameter instead of a header (for
    /// senders that cannot set headers). The query is never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Text before the token or signature in the header, removed before comparing:
    /// `Bearer ` for a token in `Authorization`, `sha256=` for GitHub, `v0=` for Slack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// For `hmac`: the hash function. Only `sha256`.
    #[serde(default)]
    pub algorithm: HmacAlgorithm,
    /// For `hmac`: how the signature is written: `hex` (GitHub, Slack) or `base64`
    /// (Zendesk, Shopify).
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// For `hmac`: a header holding the time the request was signed (Unix seconds or an
    /// RFC 3339 time), e.g. `X-Zendesk-Webhook-Signature-Timestamp`. The timestamp is part
    /// of the signed text and must be within `tolerance_seconds` of now, and the same
    /// signed request is taken only once within that window: a captured request cannot be
    /// replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
    /// For `timestamp_header`: how far the timestamp may be from this machine's clock.
    #[serde(default = "default_tolerance")]
    #[schemars(range(min = 1, max = 86400))]
    pub tolerance_seconds: u64,
    /// For `hmac`: the text that is signed, with `{body}` for the raw body and
    /// `{timestamp}` for the timestamp header's value. Default: `{timestamp}{body}` with a
    /// timestamp header (Zendesk), `{body}` without (GitHub). Slack: `v0:{timestamp}:{body}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_payload: Option<String>,
}

fn default_tolerance() -> u64 {
    300
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookAuthKind {
    Token,
    Hmac,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HmacAlgorithm {
    #[default]
    Sha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

const DEFAULT_TOKEN_HEADER: &str = "X-Webhook-Token";
const DEFAULT_SIGNATURE_HEADER: &str = "X-Signature";

impl WebhookAuth {
    /// The header the token or signature arrives in (none for a token in the query).
    pub fn credential_header(&self) -> Option<String> {
        match self.kind {
            WebhookAuthKind::Token if self.query.is_some() => None,
            WebhookAuthKind::Token => Some(self.header.clone().unwrap_or_else(|| DEFAULT_TOKEN_HEADER.into())),
            WebhookAuthKind::Hmac => Some(self.header.clone().unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.into())),
        }
    }

    fn payload_template(&self) -> String {
        match (&self.signed_payload, &self.timestamp_header) {
            (Some(t), _) => t.clone(),
            (None, Some(_)) => "{timestamp}{body}".into(),
            (None, None) => "{body}".into(),
        }
    }

    /// Problems found without a request, under `auth/…`.
    pub fn check(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        match (&self.secret, &self.secret_env) {
            (Some(_), Some(_)) => out.push(ConfigProblem::new("auth/secret_env", "give secret or secret_env, not both")),
            (None, None) => out.push(
                ConfigProblem::new("auth/secret", "no secret given")
                    .hint("set \"secret\": \"${env:NAME}\", or \"secret_env\": \"NAME\" to read it only when listening"),
            ),
            (Some(s), None) if s.is_empty() => out.push(ConfigProblem::new("auth/secret", "the secret is empty")),
            (None, Some(name)) if !is_env_name(name) => out.push(
                ConfigProblem::new("auth/secret_env", format!("{name:?} is not an environment variable name"))
                    .hint("letters, digits and '_', e.g. TICKETS_WEBHOOK_SECRET"),
            ),
            _ => {}
        }
        for (field, value) in [("header", &self.header), ("timestamp_header", &self.timestamp_header)] {
            if let Some(h) = value {
                if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                    out.push(ConfigProblem::new(format!("auth/{field}"), format!("{h:?} is not a valid header name")));
                }
            }
        }
        match self.kind {
            WebhookAuthKind::Token => {
                if self.query.is_some() && self.header.is_some() {
                    out.push(ConfigProblem::new("auth/query", "a token comes in a header or in the query, not both"));
                }
                if self.query.as_deref().is_some_and(|q| q.trim().is_empty()) {
                    out.push(ConfigProblem::new("auth/query", "the query parameter name is empty"));
                }
                for f in ["timestamp_header", "signed_payload"] {
                    let set = if f == "timestamp_header" { self.timestamp_header.is_some() } else { self.signed_payload.is_some() };
                    if set {
                        out.push(ConfigProblem::new(format!("auth/{f}"), format!("{f} applies to hmac auth only")));
                    }
                }
            }
            WebhookAuthKind::Hmac => {
                if self.query.is_some() {
                    out.push(ConfigProblem::new("auth/query", "a signature comes in a header; query applies to token auth only"));
                }
                let template = self.payload_template();
                if !template.contains("{body}") {
                    out.push(ConfigProblem::new("auth/signed_payload", "the signed text must include {body}"));
                }
                if template.contains("{timestamp}") && self.timestamp_header.is_none() {
                    out.push(
                        ConfigProblem::new("auth/signed_payload", "{timestamp} is used but no timestamp_header is given")
                            .hint("set timestamp_header to the header carrying the signing time"),
                    );
                }
            }
        }
        out
    }
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Why a request was refused (401). Safe to log and to send back: it names headers and
/// what was wrong with them, never their values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

/// What a verified request leaves for replay protection: a key that must not be seen
/// twice before `expires_at` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayKey {
    pub key: String,
    pub expires_at: i64,
}

/// A node's auth, ready to check requests: the settings plus the secret itself.
#[derive(Clone)]
pub struct Verifier {
    auth: WebhookAuth,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("kind", &self.auth.kind).field("secret", &"***").finish()
    }
}

impl Verifier {
    /// Resolves the secret (`secret` as planned, or the variable `secret_env` names).
    pub fn new(auth: &WebhookAuth) -> Result<Self, String> {
        let secret = match (&auth.secret, &auth.secret_env) {
            (Some(s), _) => s.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                format!("environment variable {var} (auth/secret_env) is not set; set it to the webhook's shared secret before listening")
            })?,
            (None, None) => return Err("no secret given (auth/secret or auth/secret_env)".into()),
        };
        if secret.is_empty() {
            return Err("the webhook secret is empty".into());
        }
        Ok(Verifier { auth: auth.clone(), secret: secret.into_bytes() })
    }

    pub fn kind(&self) -> WebhookAuthKind {
        self.auth.kind
    }

    /// Whether the request can be checked before its body is read (a token can).
    pub fn needs_body(&self) -> bool {
        self.auth.kind == WebhookAuthKind::Hmac
    }

    /// Checks a token request. `query` is the raw query string.
    pub fn verify_token(&self, headers: &HeaderMap, query: Option<&str>) -> Result<(), Rejection> {
        let given = match &self.auth.query {
            Some(param) => {
                let found = query
                    .into_iter()
                    .flat_map(|q| url::form_urlencoded::parse(q.as_bytes()))
                    .find(|(k, _)| k == param.as_str())
                    .map(|(_, v)| v.into_owned());
                found.ok_or_else(|| Rejection(format!("missing query parameter '{param}'")))?
            }
            None => {
                let name = self.auth.credential_header().expect("a header token has a header");
                let value = header_text(headers, &name)?;
                strip_prefix(&value, self.auth.prefix.as_deref(), &name)?.to_string()
            }
        };
        if bool::from(given.as_bytes().ct_eq(&self.secret)) {
            Ok(())
        } else {
            Err(Rejection("wrong token".into()))
        }
    }

    /// Checks an HMAC request against its raw body, at `now` (Unix seconds).
    pub fn verify_signature(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Option<ReplayKey>, Rejection> {
        let name = self.auth.credential_header().expect("hmac has a header");
        let value = header_text(headers, &name)?;
        let sig_text = strip_prefix(&value, self.auth.prefix.as_deref(), &name)?.trim();
        let given = match self.auth.encoding {
            SignatureEncoding::Hex => hex::decode(sig_text).ok(),
            SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.decode(sig_text).ok(),
        }
        .ok_or_else(|| {
            let enc = match self.auth.encoding {
                SignatureEncoding::Hex => "hex",
                SignatureEncoding::Base64 => "base64",
            };
            Rejection(format!("header {name} is not a {enc} signature"))
        })?;
        let timestamp = match &self.auth.timestamp_header {
            Some(ts_header) => {
                let text = header_text(headers, ts_header)?;
                let at = parse_timestamp(&text).ok_or_else(|| Rejection(format!("header {ts_header} is not a time")))?;
                let tolerance = self.auth.tolerance_seconds as i64;
                if (now - at).abs() > tolerance {
                    return Err(Rejection(format!(
                        "header {ts_header} is {}s from this machine's clock (at most {tolerance}s allowed): an old or replayed request",
                        (now - at).abs()
                    )));
                }
                Some((text, at))
            }
            None => None,
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        let template = self.auth.payload_template();
        let mut rest = template.as_str();
        while !rest.is_empty() {
            let next = [("{body}", 0), ("{timestamp}", 1)].into_iter().filter_map(|(p, w)| rest.find(p).map(|i| (i, p, w))).min();
            match next {
                Some((i, p, which)) => {
                    mac.update(&rest.as_bytes()[..i]);
                    if which == 0 {
                        mac.update(body);
                    } else {
                        mac.update(timestamp.as_ref().map(|(t, _)| t.as_bytes()).unwrap_or_default());
                    }
                    rest = &rest[i + p.len()..];
                }
                None => {
                    mac.update(rest.as_bytes());
                    rest = "";
                }
            }
        }
        mac.verify_slice(&given).map_err(|_| Rejection(format!("the signature in {name} does not match the body")))?;
        Ok(timestamp.map(|(_, at)| ReplayKey { key: hex::encode(&given), expires_at: at + self.auth.tolerance_seconds as i64 }))
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Result<String, Rejection> {
    let v = headers.get(name).ok_or_else(|| Rejection(format!("missing header {name}")))?;
    v.to_str().map(|s| s.trim().to_string()).map_err(|_| Rejection(format!("header {name} is not text")))
}

fn strip_prefix<'a>(value: &'a str, prefix: Option<&str>, name: &str) -> Result<&'a str, Rejection> {
    match prefix {
        None => Ok(value),
        Some(p) => {
            // Schemes like `Bearer` are case-insensitive; compare the prefix that way.
            if value.len() >= p.len() && value.is_char_boundary(p.len()) && value[..p.len()].eq_ignore_ascii_case(p) {
                Ok(&value[p.len()..])
            } else {
                Err(Rejection(format!("header {name} does not start with {p:?}")))
            }
        }
    }
}

/// Unix seconds (milliseconds when the number is that large) or an RFC 3339 time.
fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = t.parse().ok()?;
        return Some(if n > 100_000_000_000 { n / 1000 } else { n });
    }
    chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn auth(kind: WebhookAuthKind) -> WebhookAuth {
        WebhookAuth {
            kind,
            secret: Some("s3cret".into()),
            secret_env: None,
            header: None,
            query: None,
            prefix: None,
            algorithm: HmacAlgorithm::Sha256,
            encoding: SignatureEncoding::Hex,
            timestamp_header: None,
            tolerance_seconds: 300,
            signed_payload: None,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn sign(secret: &str, text: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(text);
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn tokens_in_headers_and_queries() {
        let v = Verifier::new(&WebhookAuth { prefix: Some("Bearer ".into()), header: Some("Authorization".into()), ..auth(WebhookAuthKind::Token) })
            .unwrap();
        assert!(v.verify_token(&headers(&[("authorization", "bearer s3cret")]), None).is_ok());
        assert_eq!(v.verify_token(&headers(&[("authorization", "Bearer nope")]), None), Err(Rejection("wrong token".into())));
        assert!(v.verify_token(&headers(&[]), None).unwrap_err().0.contains("missing header Authorization"));

        let q = Verifier::new(&WebhookAuth { query: Some("key".into()), ..auth(WebhookAuthKind::Token) }).unwrap();
        assert!(q.verify_token(&headers(&[]), Some("a=1&key=s3cret")).is_ok());
        assert!(q.verify_token(&headers(&[]), Some("key=x")).is_err());
        assert!(q.verify_token(&headers(&[]), None).unwrap_err().0.contains("missing query parameter"));
    }

    #[test]
    fn github_style_signatures() {
        let v = Verifier::new(&WebhookAuth {
            header: Some("X-Hub-Signature-256".into()),
            prefix: Some("sha256=".into()),
            ..auth(WebhookAuthKind::Hmac)
        })
        .unwrap();
        let body = br#"{"id":1}"#;
        let good = format!("sha256={}", hex::encode(sign("s3cret", body)));
        assert_eq!(v.verify_signature(&headers(&[("x-hub-signature-256", &good)]), body, 0), Ok(None));
        let bad = format!("sha256={}", hex::encode(sign("other", body)));
        assert!(v.verify_signature(&headers(&[("x-hub-signature-256", &bad)]), body, 0).unwrap_err().0.contains("does not match"));
        assert!(v.verify_signature(&headers(&[("x-hub-signature-256", "sha256=zz")]), body, 0).unwrap_err().0.contains("not a hex"));
        assert!(v.verify_signature(&headers(&[("x-hub-signature-256", &good)]), b"{\"id\":2}", 0).is_err());
    }

    #[test]
    fn zendesk_and_slack_style_signatures_with_timestamps() {
        let zendesk = Verifier::new(&WebhookAuth {
            header: Some("X-Zendesk-Webhook-Signature".into()),
            timestamp_header: Some("X-Zendesk-Webhook-Signature-Timestamp".into()),
            encoding: SignatureEncoding::Base64,
            ..auth(WebhookAuthKind::Hmac)
        })
        .unwrap();
        let body = b"{\"ticket\":7}";
        let ts = "2024-03-05T10:00:00Z";
        let now = chrono::DateTime::parse_from_rfc3339(ts).unwrap().timestamp();
        let sig = base64::engine::general_purpose::STANDARD.encode(sign("s3cret", &[ts.as_bytes(), body].concat()));
        let h = headers(&[("x-zendesk-webhook-signature", &sig), ("x-zendesk-webhook-signature-timestamp", ts)]);
        let key = zendesk.verify_signature(&h, body, now + 10).unwrap().unwrap();
        assert_eq!(key.expires_at, now + 300);
        assert!(zendesk.verify_signature(&h, body, now + 301).unwrap_err().0.contains("replayed"));

        let slack = Verifier::new(&WebhookAuth {
            header: Some("X-Slack-Signature".into()),
            prefix: Some("v0=".into()),
            timestamp_header: Some("X-Slack-Request-Timestamp".into()),
            signed_payload: Some("v0:{timestamp}:{body}".into()),
            ..auth(WebhookAuthKind::Hmac)
        })
        .unwrap();
        let sig = format!("v0={}", hex::encode(sign("s3cret", b"v0:1709632800:token=x")));
        let h = headers(&[("x-slack-signature", &sig), ("x-slack-request-timestamp", "1709632800")]);
        assert!(slack.verify_signature(&h, b"token=x", 1709632800).is_ok());
    }

    #[test]
    fn config_problems_name_their_field() {
        let mut a = auth(WebhookAuthKind::Hmac);
        a.secret = None;
        a.signed_payload = Some("{timestamp}".into());
        a.query = Some("sig".into());
        let fields: Vec<String> = a.check().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, vec!["auth/secret", "auth/query", "auth/signed_payload", "auth/signed_payload"]);
        let mut t = auth(WebhookAuthKind::Token);
        t.secret = None;
        t.secret_env = Some("1BAD".into());
        assert_eq!(t.check()[0].field, "auth/secret_env");
        assert!(Verifier::new(&WebhookAuth { secret: None, secret_env: Some("SLUICE_SURELY_UNSET_SECRET".into()), ..t }).is_err());
    }
}
