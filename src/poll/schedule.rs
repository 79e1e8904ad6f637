//! When to check an account next. Pure: the outcome and hints in, a time out.
//!
//! Every interval a server gives (`max-age`, `<ttl>`, `Retry-After`) is held
//! to [`MAX_HINT`] above and to the proxy's minimum interval below (or
//! [`RETRY_SOON`] when a proxy asks to come back soon), and every sum
//! saturates: no server can make a check overflow or wait for centuries.

use crate::fetch::Outcome;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Longest wait after repeated failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// First wait after a failure; doubles with each consecutive failure.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// Wait when the proxy asked to come back soon without saying when; also
/// the shortest wait a `Retry-After` can ask for.
pub const RETRY_SOON: Duration = Duration::from_secs(60);
/// Longest wait a server-given interval can impose.
pub const MAX_HINT: Duration = Duration::from_secs(24 * 3600);

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
        .map_or(Duration::ZERO, |hint| clamp_hint(hint, input.min_interval));
    let wait = match input.outcome {
        Outcome::Ok | Outcome::NotModified => {
            let base = input.interval.max(input.min_interval).max(hint);
            base.saturating_add(jitter(input.account_id, base))
        }
        // The proxy's own request to come back soon may undercut its minimum.
        Outcome::RetrySoon => input
            .retry_after
            .map_or(RETRY_SOON, |wait| clamp_hint(wait, RETRY_SOON)),
        _ => {
            let exponent = input.consecutive_failures.saturating_sub(1).min(16);
            let backoff = FIRST_BACKOFF
                .saturating_mul(1_u32.checked_shl(exponent).unwrap_or(u32::MAX))
                .min(MAX_BACKOFF);
            let base = backoff.max(input.min_interval).max(hint).min(MAX_BACKOFF);
            base.saturating_add(jitter(input.account_id, base))
        }
    };
    after(now, wait)
}

/// A count of minutes (from settings or a feed's `<ttl>`) as a duration.
pub fn minutes(count: u32) -> Duration {
    Duration::from_secs(u64::from(count).saturating_mul(60))
}

/// A server-given interval held to `[floor, MAX_HINT]`.
pub fn clamp_hint(hint: Duration, floor: Duration) -> Duration {
    hint.min(MAX_HINT).max(floor.min(MAX_HINT))
}

/// `now + wait`, at most a day later when `wait` cannot be represented, and
/// `now` itself at the end of time.
fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .or_else(|| now.checked_add_signed(chrono::Duration::days(1)))
        .unwrap_or(now)
}

/// A stable offset of up to a tenth of `base`, different per account, so
/// accounts registered together do not fire together.
pub fn jitter(account_id: &str, base: Duration) -> Duration {
    let digest = Sha256::digest(account_id.as_bytes());
    let (Some(high), Some(low)) = (digest.first(), digest.get(1)) else {
        return Duration::ZERO;
    };
    let fraction = f64::from(u16::from_be_bytes([*high, *low])) / f64::from(u16::MAX);
    // At most a tenth of `base`, so it cannot overflow; `try_` keeps it so.
    Duration::try_from_secs_f64(base.as_secs_f64() * 0.1 * fraction).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
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

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod hostile_hints {
    use super::*;
    use crate::fetch::hints;

    const DAY: Duration = MAX_HINT;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    fn input(outcome: Outcome) -> ScheduleInput<'static> {
        ScheduleInput {
            account_id: "a1",
            outcome,
            consecutive_failures: 1,
            interval: Duration::from_secs(3600),
            min_interval: Duration::from_secs(300),
            max_age: None,
            ttl: None,
            retry_after: None,
        }
    }

    /// The wait, which must be within a day and its jitter.
    fn wait(input: &ScheduleInput<'_>) -> Duration {
        let wait = (next_check_at(input, now()) - now())
            .to_std()
            .expect("in the future");
        assert!(wait <= DAY + DAY / 10, "{wait:?} for {input:?}");
        wait
    }

    #[test]
    fn huge_cache_control_max_age_waits_at_most_a_day() {
        let values = [
            "max-age=18446744073709551615",
            "max-age=18446744073709551616",
            "max-age=10000000000000",
            "max-age=100000000000",
            "max-age=1e11",
            "max-age=86401",
        ];
        for value in values {
            for outcome in [Outcome::Ok, Outcome::NotModified, Outcome::Network] {
                let mut i = input(outcome);
                i.max_age = hints::max_age(value);
                let w = wait(&i);
                if value != "max-age=1e11" {
                    assert!(w >= DAY, "{value} {outcome}: {w:?}");
                }
            }
        }
    }

    #[test]
    fn huge_retry_after_waits_at_most_a_day() {
        let values = ["18446744073709551615", "10000000000000", "86401"];
        for value in values {
            for outcome in [Outcome::RetrySoon, Outcome::Ok, Outcome::ProxyError] {
                let mut i = input(outcome);
                i.retry_after = hints::retry_after(value, now());
                assert!(i.retry_after.is_some(), "{value}");
                assert!(wait(&i) >= DAY, "{value} {outcome}");
            }
        }
    }

    #[test]
    fn huge_feed_ttl_waits_at_most_a_day() {
        for minutes in [u32::MAX, 4_294_967_295, 1_441] {
            let mut i = input(Outcome::Ok);
            i.ttl = Some(super::minutes(minutes));
            assert!(wait(&i) >= DAY, "{minutes}");
        }
    }

    #[test]
    fn tiny_hints_never_undercut_the_floors() {
        let mut retry = input(Outcome::RetrySoon);
        retry.retry_after = Some(Duration::ZERO);
        assert_eq!(wait(&retry), RETRY_SOON);
        let mut ok = input(Outcome::Ok);
        ok.max_age = Some(Duration::ZERO);
        ok.interval = Duration::ZERO;
        assert!(wait(&ok) >= ok.min_interval);
    }

    #[test]
    fn a_huge_configured_interval_cannot_overflow_either() {
        let mut i = input(Outcome::Ok);
        i.interval = Duration::MAX;
        i.min_interval = Duration::MAX;
        assert_eq!(next_check_at(&i, now()), now() + chrono::Duration::days(1));
        assert_eq!(
            next_check_at(&i, DateTime::<Utc>::MAX_UTC),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
