//! HTTP: one shared client, conditional GET, caps and timeouts, and the
//! outcome class of every attempt.
//!
//! In: a URL built from the register (proxy + route, or a feed URL) and the
//! validators from the last fetch. Out: a body with caching hints, or a
//! [`FetchFailure`] with its [`Outcome`] and a message a person can act on.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod classify;
mod client;
pub mod hints;

pub use classify::{Patterns, classify_failure};
pub use client::{Fetched, Fetcher, http_error_text};

use chrono::{DateTime, Utc};
use std::time::Duration;

/// The class of a fetch attempt; the ids are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Ok,
    NotModified,
    /// The account no longer exists on the platform.
    Gone,
    /// WAF, captcha, expired cookies: the proxy cannot see the account now.
    Blocked,
    /// The proxy asked to come back shortly.
    RetrySoon,
    /// The proxy failed for its own reasons.
    ProxyError,
    /// Refused, timed out, DNS, or a server error from a plain feed.
    Network,
    /// Not a feed, too large, malformed, or a redirect that was refused.
    Invalid,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Ok,
        Outcome::NotModified,
        Outcome::Gone,
        Outcome::Blocked,
        Outcome::RetrySoon,
        Outcome::ProxyError,
        Outcome::Network,
        Outcome::Invalid,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotModified => "not_modified",
            Outcome::Gone => "gone",
            Outcome::Blocked => "blocked",
            Outcome::RetrySoon => "retry_soon",
            Outcome::ProxyError => "proxy_error",
            Outcome::Network => "network",
            Outcome::Invalid => "invalid",
        }
    }

    pub fn from_id(id: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.id() == id)
    }

    /// The Chinese word a clerk reads ("成功", "代理故障" …).
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "成功",
            Outcome::NotModified => "未变化",
            Outcome::Gone => "账号不存在",
            Outcome::Blocked => "被拦截",
            Outcome::RetrySoon => "稍后重试",
            Outcome::ProxyError => "代理故障",
            Outcome::Network => "网络错误",
            Outcome::Invalid => "格式错误",
        }
    }

    /// What a failure means for the unit that reads it, in Chinese (the
    /// technical detail stays in the logs, the JSON and the admins' view).
    pub fn explain(self) -> &'static str {
        match self {
            Outcome::Ok | Outcome::NotModified => "抓取正常",
            Outcome::Gone => "平台上找不到该账号，可能已注销、改名或被封禁，请核实账号状态",
            Outcome::Blocked => {
                "监测代理被平台拦截，暂时无法读取该账号；非贵单位原因，管理员将处理"
            }
            Outcome::RetrySoon => "监测代理繁忙，稍后自动重试；非贵单位原因",
            Outcome::ProxyError => "监测代理暂时无法访问该账号；非贵单位原因，管理员将处理",
            Outcome::Network => "无法连接到订阅地址，网络或对方服务器故障；非贵单位原因",
            Outcome::Invalid => "订阅地址返回的内容不是可识别的订阅源，请管理员核对订阅地址",
        }
    }

    /// True for every class except `ok` and `not_modified`.
    pub fn is_failure(self) -> bool {
        !matches!(self, Outcome::Ok | Outcome::NotModified)
    }

    /// Failures that say more about the proxy than about the account.
    pub fn is_proxy_trouble(self) -> bool {
        matches!(self, Outcome::Network | Outcome::ProxyError)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A failed attempt: its class, a useful message and any hint when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    pub outcome: Outcome,
    pub message: String,
    pub http_status: Option<u16>,
    pub retry_after: Option<Duration>,
}

impl FetchFailure {
    pub fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        FetchFailure {
            outcome,
            message: message.into(),
            http_status: None,
            retry_after: None,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(self.outcome, Outcome::Gone | Outcome::Invalid)
    }
}

/// What is kept between fetches of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchState {
    pub account_id: String,
    pub next_check_at: Option<DateTime<Utc>>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The first successful fetch: undated items seen then are not "new".
    pub first_success_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub message: Option<String>,
    pub http_status: Option<u16>,
    pub consecutive_failures: u32,
    /// Consecutive `gone` outcomes, and when the first of them was seen.
    pub gone_streak: u32,
    pub gone_since: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The account name the feed shows.
    pub feed_title: Option<String>,
    /// The posts the last successful fetch listed, as [`feed_keys`] wrote
    /// them: each was stored with this state (in its transaction), and posts
    /// are never deleted, so a post listed here is stored already.
    pub feed_keys: Option<String>,
}

/// Hex digits of a dedup key kept in [`FetchState::feed_keys`] (64 bits).
const FEED_KEY_DIGITS: usize = 16;

/// The [`FetchState::feed_keys`] of a fetch that listed posts with these
/// dedup keys (SHA-256 in hex): the first 16 digits of each, concatenated.
pub fn feed_keys<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for key in keys {
        if let Some(prefix) = key.get(..FEED_KEY_DIGITS) {
            out.push_str(prefix);
        }
    }
    out
}

/// The keys a state's [`FetchState::feed_keys`] lists: the posts stored
/// already.
pub struct Listed<'a>(std::collections::HashSet<&'a str>);

impl<'a> Listed<'a> {
    pub fn new(listed: Option<&'a str>) -> Listed<'a> {
        Listed(
            listed
                .unwrap_or_default()
                .as_bytes()
                .chunks_exact(FEED_KEY_DIGITS)
                .filter_map(|chunk| std::str::from_utf8(chunk).ok())
                .collect(),
        )
    }

    /// Whether `key` is listed (stored already); never for a key that is
    /// not 64 hex digits.
    pub fn contains(&self, key: &str) -> bool {
        key.len() == 64
            && key
                .get(..FEED_KEY_DIGITS)
                .is_some_and(|prefix| self.0.contains(prefix))
    }
}

impl FetchState {
    /// The state after an attempt at `now` ended in `outcome`.
    pub fn after(&self, outcome: Outcome, now: DateTime<Utc>) -> FetchState {
        let mut next = self.clone();
        next.last_checked_at = Some(now);
        next.outcome = Some(outcome);
        if outcome.is_failure() {
            next.consecutive_failures = self.consecutive_failures.saturating_add(1);
        } else {
            next.consecutive_failures = 0;
            next.last_success_at = Some(now);
            next.first_success_at = self.first_success_at.or(Some(now));
            next.message = None;
            next.http_status = None;
        }
        match outcome {
            Outcome::Gone => {
                next.gone_streak = self.gone_streak.saturating_add(1);
                next.gone_since = self.gone_since.or(Some(now));
            }
            Outcome::Ok | Outcome::NotModified => {
                next.gone_streak = 0;
                next.gone_since = None;
            }
            // Other failures neither confirm nor deny that the account is gone.
            _ => {}
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }

    fn listed_keys<'a>(listed: Option<&str>, keys: impl Iterator<Item = &'a str>) -> Vec<bool> {
        let listed = Listed::new(listed);
        keys.map(|key| listed.contains(key)).collect()
    }

    #[test]
    fn a_fetch_lists_its_posts_and_the_next_fetch_finds_them_listed() {
        let (a, b, c) = (key(0xa1), key(0xb2), key(0xc3));
        let listed = feed_keys([a.as_str(), b.as_str()].into_iter());
        assert_eq!(listed.len(), 32);
        assert_eq!(
            listed_keys(
                Some(&listed),
                [b.as_str(), c.as_str(), a.as_str()].into_iter()
            ),
            [true, false, true]
        );
        // A key listed only by its first 16 digits is not another key's.
        let near = format!("{}{}", "a1".repeat(7), "f".repeat(50));
        assert_eq!(
            listed_keys(Some(&listed), [near.as_str()].into_iter()),
            [false]
        );
        // Nothing listed, an empty list, a list cut short, a key that is
        // not a dedup key: nothing is taken as stored.
        let short = "a1".repeat(8);
        let keys = [a.as_str(), short.as_str(), ""];
        assert_eq!(listed_keys(None, keys.into_iter()), [false, false, false]);
        assert_eq!(
            listed_keys(Some(""), keys.into_iter()),
            [false, false, false]
        );
        assert_eq!(
            listed_keys(listed.get(..20), keys.into_iter()),
            [true, false, false]
        );
        assert_eq!(
            listed_keys(Some("一二三四五六"), keys.into_iter()),
            [false; 3]
        );
    }
}
