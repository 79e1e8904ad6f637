//! The CPU part of polling one account: parse the fetched body, decide
//! its outcome and next check. Pure apart from the clock passed in; run on a
//! parse thread (see `job::ParsePool`), off the runtime's threads, so that
//! parsing never stalls the I/O.

use super::schedule::{ScheduleInput, minutes, next_check_at};
use super::{PollReport, Prepared, Via};
use crate::config::{Redactor, Settings};
use crate::fetch::FetchState;
use crate::fetch::{FetchFailure, Fetched, Outcome, Patterns};
use crate::parse::{Classifier, ParseError, parse_feed_knowing};
use crate::registry::{Account, Source};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What parsing and scheduling need, shared by the parse threads.
pub(super) struct Preparer {
    pub(super) classifier: Classifier,
    pub(super) patterns: Patterns,
    pub(super) redactor: Redactor,
    pub(super) settings: Settings,
}

impl Preparer {
    /// Parses and schedules the result of one attempt (CPU work, run off
    /// the runtime's threads). A post the last successful fetch listed is
    /// stored already and comes back without its text (see
    /// [`parse_feed_knowing`]) unless `recheck` names its key: an open
    /// finding of it, which this fetch may show fixed.
    pub(super) fn prepare(
        &self,
        account: &Account,
        state: FetchState,
        fetched: Result<Fetched, FetchFailure>,
        now: DateTime<Utc>,
        recheck: &dyn Fn(&str) -> bool,
    ) -> Prepared {
        let listed = crate::fetch::Listed::new(state.feed_keys.as_deref());
        let is_known = |key: &str| listed.contains(key) && !recheck(key);
        let mut posts = Vec::new();
        let mut ttl = None;
        let (outcome, message, http_status, hints) = match fetched {
            Ok(f) if f.outcome == Outcome::NotModified => {
                (Outcome::NotModified, None, Some(304), Some(f))
            }
            Ok(f) => match parse_feed_knowing(
                &f.body,
                f.charset.as_deref(),
                account.platform,
                &self.classifier,
                now,
                &is_known,
            ) {
                Ok(feed) => {
                    posts = feed.posts;
                    ttl = feed.ttl_minutes.map(minutes);
                    let mut f = f;
                    f.body = Vec::new();
                    let title = feed.title;
                    (Outcome::Ok, title, None, Some(f))
                }
                Err(err) => {
                    let outcome = match &err {
                        ParseError::Html(_)
                            if self.patterns.is_blocked(&String::from_utf8_lossy(&f.body)) =>
                        {
                            Outcome::Blocked
                        }
                        _ => Outcome::Invalid,
                    };
                    (outcome, Some(err.to_string()), None, None)
                }
            },
            Err(failure) => {
                let hints = failure.retry_after.map(|r| Fetched {
                    outcome: failure.outcome,
                    body: Vec::new(),
                    etag: None,
                    last_modified: None,
                    max_age: None,
                    retry_after: Some(r),
                    charset: None,
                });
                (
                    failure.outcome,
                    Some(failure.message),
                    failure.http_status,
                    hints,
                )
            }
        };
        let message = message.map(|m| self.redactor.redact(&m));
        // Posts the last successful fetch listed are stored already.
        let stored: Vec<bool> = posts
            .iter()
            .map(|p| listed.contains(&p.dedup_key))
            .collect();
        let mut next = state.after(outcome, now);
        if outcome == Outcome::Ok {
            next.feed_title = message.clone().or(next.feed_title);
            next.feed_keys = Some(crate::fetch::feed_keys(
                posts.iter().map(|p| p.dedup_key.as_str()),
            ));
        } else if outcome.is_failure() {
            next.message = message.clone();
            next.http_status = http_status;
        }
        if let Some(h) = &hints {
            if !outcome.is_failure() {
                next.etag = h.etag.clone();
                next.last_modified = h.last_modified.clone();
            }
        }
        let min_interval = match &account.source {
            Source::Proxy { proxy, .. } => self
                .settings
                .proxies
                .get(proxy)
                .map_or(Duration::ZERO, |p| minutes(p.min_interval_minutes)),
            Source::Feed { .. } | Source::Manual {} => Duration::ZERO,
        };
        let schedule = ScheduleInput {
            account_id: &account.id,
            outcome,
            consecutive_failures: next.consecutive_failures,
            interval: minutes(self.settings.poll.interval_minutes_for(account.platform)),
            min_interval,
            max_age: hints.as_ref().and_then(|h| h.max_age),
            ttl,
            retry_after: hints.as_ref().and_then(|h| h.retry_after),
        };
        next.next_check_at = Some(next_check_at(&schedule, now));
        let items = posts.len();
        let via = Via::of(account);
        Prepared {
            report: PollReport {
                account_id: account.id.clone(),
                outcome,
                items,
                new_posts: 0,
                message: if outcome.is_failure() { message } else { None },
                next_check_at: next.next_check_at.unwrap_or(now),
                source: via.label,
                is_proxied: via.is_proxied,
                is_unsaved: false,
            },
            save: Some((next, posts)),
            stored,
        }
    }
}
