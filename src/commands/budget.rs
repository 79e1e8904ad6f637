//! Fair chat handling: each user and each group chat has a budget of
//! commands per minute; beyond it their messages are dropped with one
//! notice, so no chat can hold up another. Admins are always answered.
//! The free-text hint goes to one user at most once per [`HINT_EVERY`].
//!
//! Pure and in memory (one daemon answers a bot at a time); the time is a
//! parameter.

use super::UserId;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How often one user may get the free-text hint.
pub const HINT_EVERY: Duration = Duration::minutes(5);
/// Budgets are counted per minute.
const WINDOW: Duration = Duration::minutes(1);
/// Above this many tracked keys, those idle for a window are forgotten.
const MAX_TRACKED: usize = 10_000;

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Within budget: handle it.
    Handle,
    /// The first message over budget in this minute: answer with the notice only.
    Notice,
    /// Over budget and already told: drop it.
    Drop,
}

/// The notice a user (or a group) gets once a minute when over budget.
pub const OVER_BUDGET_NOTICE: &str = "消息发送过于频繁：本分钟内的其余消息已忽略，请一分钟后再试。";

#[derive(Debug, Clone, Copy)]
struct Window {
    started_at: DateTime<Utc>,
    count: u32,
    is_noticed: bool,
}

/// Per-user and per-group-chat counters, and when each user last got the hint.
#[derive(Debug, Default)]
pub struct ChatBudget {
    windows: Mutex<HashMap<String, Window>>,
    hints: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl ChatBudget {
    /// Counts one message of `user` (in `group`, when it came from a group)
    /// against `per_user` and `per_group` messages a minute.
    pub fn admit(
        &self,
        user: &UserId,
        group: Option<&str>,
        per_user: u32,
        per_group: u32,
        now: DateTime<Utc>,
    ) -> Admission {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > MAX_TRACKED {
            windows.retain(|_, w| now - w.started_at < WINDOW);
        }
        let user_key = format!("user:{user}");
        let user_admission = count(&mut windows, &user_key, per_user, now);
        if user_admission != Admission::Handle {
            return user_admission;
        }
        match group {
            Some(chat) => count(&mut windows, &format!("chat:{chat}"), per_group, now),
            None => Admission::Handle,
        }
    }

    /// Whether `user` may get the free-text hint now (and records it when so).
    pub fn is_hint_due(&self, user: &UserId, now: DateTime<Utc>) -> bool {
        let mut hints = self.hints.lock().unwrap_or_else(|e| e.into_inner());
        if hints.len() > MAX_TRACKED {
            hints.retain(|_, at| now - *at < HINT_EVERY);
        }
        let key = user.to_string();
        match hints.get(&key) {
            Some(at) if now - *at < HINT_EVERY && now >= *at => false,
            _ => {
                hints.insert(key, now);
                true
            }
        }
    }
}

fn count(
    windows: &mut HashMap<String, Window>,
    key: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> Admission {
    let window = windows.entry(key.to_string()).or_insert(Window {
        started_at: now,
        count: 0,
        is_noticed: false,
    });
    // A clock that went back starts a new window too.
    if now - window.started_at >= WINDOW || now < window.started_at {
        *window = Window {
            started_at: now,
            count: 0,
            is_noticed: false,
        };
    }
    if window.count < limit {
        window.count += 1;
        return Admission::Handle;
    }
    if window.is_noticed {
        Admission::Drop
    } else {
        window.is_noticed = true;
        Admission::Notice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid time")
    }

    #[test]
    fn a_user_over_budget_gets_one_notice_then_silence_until_the_next_minute() {
        let budget = ChatBudget::default();
        let user = UserId::Telegram(7);
        let admitted: Vec<Admission> = (0..25)
            .map(|i| budget.admit(&user, None, 20, 60, at(i)))
            .collect();
        assert!(admitted[..20].iter().all(|a| *a == Admission::Handle));
        assert_eq!(admitted[20], Admission::Notice);
        assert!(admitted[21..].iter().all(|a| *a == Admission::Drop));
        assert_eq!(budget.admit(&user, None, 20, 60, at(61)), Admission::Handle);
        // Another user is not held up by the first one.
        assert_eq!(
            budget.admit(&UserId::Telegram(8), None, 20, 60, at(5)),
            Admission::Handle
        );
    }

    #[test]
    fn a_group_has_its_own_budget_across_its_users() {
        let budget = ChatBudget::default();
        let admitted: Vec<Admission> = (0..7)
            .map(|i| budget.admit(&UserId::Telegram(i), Some("-100"), 20, 5, at(1)))
            .collect();
        assert_eq!(&admitted[..5], &[Admission::Handle; 5]);
        assert_eq!(admitted[5], Admission::Notice);
        assert_eq!(admitted[6], Admission::Drop);
        assert_eq!(
            budget.admit(&UserId::Telegram(1), Some("-200"), 20, 5, at(1)),
            Admission::Handle,
            "another group is not held up"
        );
    }

    #[test]
    fn the_hint_goes_to_a_user_once_every_five_minutes() {
        let budget = ChatBudget::default();
        let user = UserId::Dingtalk("staff".into());
        assert!(budget.is_hint_due(&user, at(0)));
        assert!(!budget.is_hint_due(&user, at(60)));
        assert!(!budget.is_hint_due(&user, at(299)));
        assert!(budget.is_hint_due(&user, at(300)));
        assert!(budget.is_hint_due(&UserId::Feishu("ou_x".into()), at(1)));
    }
}
