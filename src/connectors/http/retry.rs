//! Which outcomes of a request deserve another attempt, and how long to wait first.
//!
//! Retried: network errors and timeouts, 429 Too Many Requests and every 5xx. Not retried:
//! other 4xx answers, which say the request itself is wrong (sending it again changes
//! nothing). The waits grow exponentially with random jitter (`backon`'s exponential
//! backoff: well kept, and it gives the delays as a plain iterator, so the loop in
//! [`super::client`] stays ours and can honour `Retry-After` and refresh a token on a 401,
//! which a closure-wrapping retry helper would hide). A `Retry-After` header (seconds or an
//! HTTP date) is waited for when it asks for longer than the backoff, up to a cap.

use backon::BackoffBuilder;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// The resolved retry settings of one node.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (≥ 1).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        super::config::RetryConfig::default().policy()
    }
}

impl RetryPolicy {
    /// The waits before the second, third, … attempt (one fewer than `max_attempts`).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
            // Jitter adds up to one more delay; the cap holds for the sum.
            .map({
                let max = self.max_delay;
                move |d| d.min(max)
            })
    }

    /// The wait before the next attempt: the backoff's, or the server's `Retry-After` when
    /// that is longer (cut to `max_retry_after`).
    pub fn wait(&self, backoff: Duration, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(ra) => backoff.max(ra.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// Whether an HTTP status is worth another attempt.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The `Retry-After` of an answer as a wait from `now`: delta seconds or an HTTP date (a
/// date in the past means no wait). Unreadable values are ignored.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = text.parse::<f64>() {
        // Not in the RFC, but some APIs send fractions.
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn delays_grow_with_jitter_and_stop_after_the_last_attempt() {
        let d: Vec<Duration> = policy(6).delays().collect();
        assert_eq!(d.len(), 5);
        // With jitter each delay lies between the plain exponential value and twice it,
        // capped at max_delay.
        for (i, got) in d.iter().enumerate() {
            let plain = Duration::from_millis(100 * 2u64.pow(i as u32)).min(Duration::from_millis(1000));
            // (backon computes in f32: allow a millisecond of rounding.)
            let slack = Duration::from_millis(1);
            assert!(*got + slack >= plain && *got <= (plain * 2).min(Duration::from_millis(1000)) + slack, "delay {i}: {got:?}");
        }
        assert_eq!(policy(1).delays().count(), 0);
    }

    #[test]
    fn retry_after_takes_seconds_and_dates_and_is_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&httpdate::fmt_http_date(now + Duration::from_secs(30))).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&httpdate::fmt_http_date(now - Duration::from_secs(30))).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);

        let p = policy(3);
        assert_eq!(p.wait(Duration::from_millis(100), Some(Duration::from_secs(5))), Duration::from_secs(5));
        assert_eq!(p.wait(Duration::from_millis(100), Some(Duration::from_secs(3600))), Duration::from_secs(60));
        assert_eq!(p.wait(Duration::from_millis(100), Some(Duration::ZERO)), Duration::from_millis(100));
    }

    #[test]
    fn only_throttling_and_server_errors_are_retried() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(500));
        assert!(is_retryable_status(503));
        assert!(!is_retryable_status(400));
        assert!(!is_retryable_status(401));
        assert!(!is_retryable_status(404));
        assert!(!is_retryable_status(200));
    }
}
