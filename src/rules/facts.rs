//! What the rules look at: a post summary per account, the check's time
//! windows, and thresholds resolved per platform and account.

use crate::calendar::{Calendar, Week, assessable_weeks, local_date, start_of_day};
use crate::config::RuleSettings;
use crate::fetch::FetchState;
use crate::registry::{Account, Platform, ThresholdOverrides, Unit};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

/// Posts of one kind breakdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub total: u64,
    pub original: u64,
    pub repost: u64,
    pub unknown: u64,
}

impl KindCounts {
    /// Posts whose kind is known (original or repost).
    pub fn classified(&self) -> u64 {
        self.original + self.repost
    }
}

/// One account's posts, summarised for a check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostSummary {
    /// The newest post that counts as activity: feed-dated, or undated but
    /// first seen after the first successful fetch.
    pub last_post_at: Option<DateTime<Utc>>,
    pub total: u64,
    /// Posts in the repost window (the last `repost_window_days`).
    pub window: KindCounts,
    /// Posts in the last complete calendar month.
    pub last_month: KindCounts,
    /// Posts in the most recent assessable week.
    pub last_week: u64,
    /// For deregistered accounts: posts dated after the deregistration date.
    pub after_deregistration: u64,
    pub first_after_deregistration: Option<DateTime<Utc>>,
}

/// Time windows shared by every account in one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckWindow {
    pub now: DateTime<Utc>,
    pub repost_since: DateTime<Utc>,
    /// The last complete calendar month: first day and the first day after.
    pub month: (NaiveDate, NaiveDate),
    /// The most recent assessable week that has ended, if any in the last 8 weeks.
    pub week: Option<Week>,
}

impl CheckWindow {
    pub fn new(now: DateTime<Utc>, calendar: &Calendar, rules: &RuleSettings) -> CheckWindow {
        let today = local_date(now);
        let this_month = today.with_day(1).expect("day 1 exists");
        let last_month = this_month
            .checked_sub_months(chrono::Months::new(1))
            .expect("a month before exists");
        let yesterday = today - Duration::days(1);
        let week = assessable_weeks(calendar, today - Duration::days(56), yesterday)
            .last()
            .copied();
        CheckWindow {
            now,
            repost_since: now - Duration::days(i64::from(rules.repost_window_days)),
            month: (last_month, this_month),
            week,
        }
    }

    /// The week as a UTC half-open range.
    pub fn week_range(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.week.map(|w| {
            (
                start_of_day(w.monday),
                start_of_day(w.sunday() + Duration::days(1)),
            )
        })
    }

    pub fn month_range(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (start_of_day(self.month.0), start_of_day(self.month.1))
    }
}

/// Day thresholds for one account after platform and account overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    pub warning_days: u32,
    pub stale_days: u32,
    pub stale_1m_days: u32,
    pub zombie_days: u32,
    pub stale_6m_days: u32,
}

impl Thresholds {
    /// Global ← platform ← account.
    pub fn resolve(
        rules: &RuleSettings,
        platform: Platform,
        account: &ThresholdOverrides,
    ) -> Thresholds {
        let platform = rules.platforms.get(platform.id());
        let pick = |key: &str, global: u32| {
            account
                .get(key)
                .or_else(|| platform.and_then(|p| p.get(key)))
                .unwrap_or(global)
        };
        Thresholds {
            warning_days: pick("warning_days", rules.warning_days),
            stale_days: pick("stale_days", rules.stale_days),
            stale_1m_days: pick("stale_1m_days", rules.stale_1m_days),
            zombie_days: pick("zombie_days", rules.zombie_days),
            stale_6m_days: pick("stale_6m_days", rules.stale_6m_days),
        }
    }
}

/// Everything known about one account at a check.
#[derive(Debug, Clone)]
pub struct AccountFacts<'a> {
    pub account: &'a Account,
    pub unit: Option<&'a Unit>,
    pub posts: &'a PostSummary,
    pub fetch: Option<&'a FetchState>,
    /// The account's proxy is known to be down.
    pub is_proxy_down: bool,
    pub registered_at: DateTime<Utc>,
    /// Other active accounts of the same unit on the same platform.
    pub siblings: Vec<&'a Account>,
    /// What the content checks know (findings, tasks, 停更公告).
    pub content: &'a super::ContentInputs,
}

impl AccountFacts<'_> {
    /// 区市政管理局「市政兰山」(微信订阅号)
    pub fn who(&self) -> String {
        let unit = self
            .unit
            .map_or(self.account.unit.as_str(), |u| u.name.as_str());
        format!(
            "{unit}「{}」({})",
            self.account.name,
            self.account.platform.label()
        )
    }
}

/// One stored post, as much as the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostFact {
    pub published_at: DateTime<Utc>,
    pub first_seen_at: DateTime<Utc>,
    pub is_date_estimated: bool,
    pub kind: crate::parse::PostKind,
}

impl PostSummary {
    /// Summarises posts known at the check (first seen no later than `now`).
    /// Storage computes the same in SQL; this is the reference.
    pub fn from_posts(
        posts: &[PostFact],
        window: &CheckWindow,
        first_success_at: Option<DateTime<Utc>>,
        deregistered_on: Option<NaiveDate>,
    ) -> PostSummary {
        use crate::parse::PostKind;
        let mut s = PostSummary::default();
        let (month_start, month_end) = window.month_range();
        let week = window.week_range();
        let after = deregistered_on.map(|d| start_of_day(d + Duration::days(1)));
        for p in posts.iter().filter(|p| p.first_seen_at <= window.now) {
            s.total += 1;
            let is_initial_undated = p.is_date_estimated
                && p.first_seen_at <= first_success_at.unwrap_or(p.first_seen_at);
            if !is_initial_undated && s.last_post_at.is_none_or(|last| p.published_at > last) {
                s.last_post_at = Some(p.published_at);
            }
            let count = |counts: &mut KindCounts| {
                counts.total += 1;
                match p.kind {
                    PostKind::Original => counts.original += 1,
                    PostKind::Repost => counts.repost += 1,
                    PostKind::Unknown => counts.unknown += 1,
                }
            };
            if p.published_at >= window.repost_since {
                count(&mut s.window);
            }
            if p.published_at >= month_start && p.published_at < month_end {
                count(&mut s.last_month);
            }
            if week.is_some_and(|(start, end)| p.published_at >= start && p.published_at < end) {
                s.last_week += 1;
            }
            if after.is_some_and(|a| p.published_at >= a) {
                s.after_deregistration += 1;
                if s.first_after_deregistration
                    .is_none_or(|first| p.published_at < first)
                {
                    s.first_after_deregistration = Some(p.published_at);
                }
            }
        }
        s
    }
}
