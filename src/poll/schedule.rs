//! When to check an account next. Pure: the outcome and hints in, a time out.

use crate::fetch::Outcome;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Longest wait after repeated failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// First wait after a failure; doubles with each consecutive failure.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// Wait when the proxy asked to come back soon without saying when.
pub const RETRY_SOON: Duration = Duration::from_secs(60);

/// What the schedule of one account depends on.
#[derive(Debug, Clone)]
pub struct ScheduleInput<'a> {
    pub account_id: &'a str,
    pub outcome: Outcome,
    pub consecutive_failures: u32,
    /// The platform's interval between checks.
    pub interval: Duration,
    /// The proxy's minimum interval (zero for plain feeds).
    pub min_interval: Duration,
    pub max_age: Option<Duration>,
    pub ttl: Option<Duration>,
    pub retry_after: Option<Duration>,
}

/// The next check time after an attempt at `now`.
pub fn next_check_at(input: &ScheduleInput<'_>, now: DateTime<Utc>) -> DateTime<Utc> {
    let hint = input
        .max_age
        .into_iter()
        .chain(input.ttl)
        .chain(input.retry_after)
        .max()
        .unwrap_or_default();
    let wait = match input.outcome {
        Outcome::Ok | Outcome::NotModified => {
            let base = input.interval.max(input.min_interval).max(hint);
            base + jitter(input.account_id, base)
        }
        Outcome::RetrySoon => input.retry_after.unwrap_or(RETRY_SOON).min(MAX_BACKOFF),
        _ => {
            let exponent = input.consecutive_failures.saturating_sub(1).min(16);
            let backoff = FIRST_BACKOFF.saturating_mul(1 << exponent).min(MAX_BACKOFF);
            let base = backoff.max(input.min_interval).max(hint).min(MAX_BACKOFF);
            base + jitter(input.account_id, base)
        }
    };
    now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::days(1))
}

/// A stable offset of up to a tenth of `base`, different per account, so
/// accounts registered together do not fire together.
pub fn jitter(account_id: &str, base: Duration) -> Duration {
    let digest = Sha256::digest(account_id.as_bytes());
    let fraction = f64::from(u16::from_be_bytes([digest[0], digest[1]])) / f64::from(u16::MAX);
    base.mul_f64(0.1 * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(outcome: Outcome, failures: u32) -> ScheduleInput<'static> {
        ScheduleInput {
            account_id: "a1",
            outcome,
            consecutive_failures: failures,
            interval: Duration::from_secs(3600),
            min_interval: Duration::from_secs(300),
            max_age: None,
            ttl: None,
            retry_after: None,
        }
    }

    fn wait(input: &ScheduleInput<'_>) -> Duration {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        (next_check_at(input, now) - now)
            .to_std()
            .expect("in the future")
    }

    #[test]
    fn success_waits_the_interval_plus_at_most_a_tenth_of_jitter() {
        let w = wait(&input(Outcome::Ok, 0));
        assert!(
            w >= Duration::from_secs(3600) && w <= Duration::from_secs(3960),
            "{w:?}"
        );
    }

    #[test]
    fn cache_hints_are_never_undercut() {
        let mut i = input(Outcome::Ok, 0);
        i.max_age = Some(Duration::from_secs(7200));
        assert!(wait(&i) >= Duration::from_secs(7200));
        i.ttl = Some(Duration::from_secs(3 * 3600));
        assert!(wait(&i) >= Duration::from_secs(3 * 3600));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_a_day() {
        let first = wait(&input(Outcome::Network, 1));
        let third = wait(&input(Outcome::Network, 3));
        assert!(first >= FIRST_BACKOFF && first < FIRST_BACKOFF * 2);
        assert!(third >= FIRST_BACKOFF * 4 && third < FIRST_BACKOFF * 5);
        let many = wait(&input(Outcome::Gone, 40));
        assert!(
            many >= MAX_BACKOFF && many <= MAX_BACKOFF + MAX_BACKOFF / 10,
            "{many:?}"
        );
    }

    #[test]
    fn retry_soon_honours_retry_after() {
        let mut i = input(Outcome::RetrySoon, 1);
        assert_eq!(wait(&i), RETRY_SOON);
        i.retry_after = Some(Duration::from_secs(90));
        assert_eq!(wait(&i), Duration::from_secs(90));
    }

    #[test]
    fn jitter_differs_between_accounts_and_is_stable() {
        let base = Duration::from_secs(3600);
        assert_eq!(jitter("a", base), jitter("a", base));
        assert_ne!(jitter("a", base), jitter("b", base));
    }
}
