//! Response headers → caching hints and the body's charset. Pure: header
//! text (and `now` for HTTP dates) in, values out.
//!
//! Numbers come from servers and are never trusted: a count of seconds too
//! large for a `u64` saturates, and nothing here adds or multiplies. The
//! schedule clamps every hint to its bounds (`poll::schedule`).

use chrono::{DateTime, Utc};
use std::time::Duration;

/// `max-age` (or `s-maxage`) of a `Cache-Control` value.
pub fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|part| {
        let part = part.trim();
        let seconds = part
            .strip_prefix("max-age=")
            .or_else(|| part.strip_prefix("s-maxage="))?;
        delta_seconds(seconds.trim_matches('"'))
    })
}

/// The wait a `Retry-After` value asks for: seconds, or an HTTP date after `now`.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Some(wait) = delta_seconds(value) {
        return Some(wait);
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    when.with_timezone(&Utc)
        .signed_duration_since(now)
        .to_std()
        .ok()
}

/// The `charset` parameter of a `Content-Type` value.
pub fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// RFC 9111 delta-seconds: digits only; a value too large to hold is the
/// largest one can hold (the schedule clamps it anyway).
fn delta_seconds(text: &str) -> Option<Duration> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Duration::from_secs(text.parse::<u64>().unwrap_or(u64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid")
    }

    #[test]
    fn hostile_cache_control_values_parse_without_panicking() {
        let huge = Some(Duration::from_secs(u64::MAX));
        let cases: [(&str, Option<Duration>); 10] = [
            ("public, max-age=300", Some(Duration::from_secs(300))),
            ("s-maxage=\"60\"", Some(Duration::from_secs(60))),
            ("max-age=18446744073709551615", huge),
            ("max-age=18446744073709551616", huge),
            ("max-age=99999999999999999999999999999", huge),
            (
                "max-age=10000000000000",
                Some(Duration::from_secs(10_000_000_000_000)),
            ),
            ("max-age=1e11", None),
            ("max-age=-1", None),
            ("max-age=", None),
            ("no-store", None),
        ];
        for (value, expected) in cases {
            assert_eq!(max_age(value), expected, "{value}");
        }
    }

    #[test]
    fn hostile_retry_after_values_parse_without_panicking() {
        let cases: [(&str, Option<Duration>); 7] = [
            ("120", Some(Duration::from_secs(120))),
            ("18446744073709551615", Some(Duration::from_secs(u64::MAX))),
            ("184467440737095516150", Some(Duration::from_secs(u64::MAX))),
            (
                "Fri, 15 Jan 2027 08:00:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Thu, 01 Jan 1970 00:00:00 GMT", None),
            (
                "Fri, 31 Dec 9999 23:59:59 GMT",
                Some(Duration::from_secs(253_402_300_799 - 1_800_000_000)),
            ),
            ("soon", None),
        ];
        for (value, expected) in cases {
            assert_eq!(retry_after(value, now()), expected, "{value}");
        }
    }

    #[test]
    fn the_charset_is_read_from_content_type() {
        let cases: [(&str, Option<&str>); 5] = [
            ("application/rss+xml; charset=GBK", Some("GBK")),
            ("text/xml;Charset=\"gb2312\"", Some("gb2312")),
            ("text/xml; q=1; charset = utf-8 ", Some("utf-8")),
            ("text/xml; charset=", None),
            ("charset=gbk", None),
        ];
        for (value, expected) in cases {
            assert_eq!(charset(value).as_deref(), expected, "{value}");
        }
    }
}
