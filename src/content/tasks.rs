//! 转载任务 (repost tasks) and 停更公告 (closing notices): which posts do them.

use crate::registry::{Account, Platform};
use chrono::{DateTime, NaiveDate, Utc};

/// A repost task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepostTask {
    pub id: i64,
    pub title: String,
    /// Further phrases a repost may carry instead of the title.
    pub matches: Vec<String>,
    pub url: Option<String>,
    /// Posts published from this time count.
    pub starts_at: DateTime<Utc>,
    /// The last day (local) a post counts as on time.
    pub due_on: NaiveDate,
    /// Units targeted; empty: every unit.
    pub units: Vec<String>,
    /// Platforms targeted; empty: every platform.
    pub platforms: Vec<Platform>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When the day-before reminder went out.
    pub reminded_at: Option<DateTime<Utc>>,
}

/// True when `account` must carry `task`: active, of a targeted unit and platform.
pub fn is_targeted(task: &RepostTask, account: &Account) -> bool {
    account.state == crate::registry::AccountState::Active
        && !matches!(account.source, crate::registry::Source::Manual {})
        && (task.units.is_empty() || task.units.contains(&account.unit))
        && (task.platforms.is_empty() || task.platforms.contains(&account.platform))
}

/// Text without punctuation, symbols and blanks: "《关于…的通知》" and
/// "关于…的通知" compare equal.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // ASCII and the CJK ideographs (U+4E00–U+9FFF), nearly every
        // character of a post, without Unicode's table searches: they took
        // most of matching a task against 200,000 stored posts.
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            }
        } else if ('\u{4e00}'..='\u{9fff}').contains(&c) {
            out.push(c);
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// True when a post carries the task: its title or text contains the task's
/// title or one of its phrases (punctuation aside), or it links the URL.
pub fn matches_task(task: &RepostTask, title: &str, text: &str, link: Option<&str>) -> bool {
    if let Some(url) = task.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        if link.is_some_and(|l| l.trim() == url) || text.contains(url) {
            return true;
        }
    }
    let post = normalize(&format!("{title} {text}"));
    std::iter::once(&task.title)
        .chain(&task.matches)
        .map(|p| normalize(p))
        .filter(|p| p.chars().count() >= 4)
        .any(|p| post.contains(&p))
}

/// 停更公告: the title or text says the account stops (停更, 停止更新, 暂停更新,
/// 关停) and calls itself a 公告, 说明 or 声明.
pub fn is_closing_notice(title: &str, text: &str) -> bool {
    const STOP: [&str; 4] = ["停更", "停止更新", "暂停更新", "关停"];
    const NOTICE: [&str; 3] = ["公告", "说明", "声明"];
    // Every STOP word has 停: one quick pass rules out nearly every post
    // (with a searcher built once: building one took as long as the pass).
    static STOP_CHAR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("停".as_bytes()));
    [title, text].iter().any(|part| {
        STOP_CHAR.find(part.as_bytes()).is_some()
            && STOP.iter().any(|s| part.contains(s))
            && NOTICE.iter().any(|n| part.contains(n))
    })
}

/// An account not active: since when, and its newest 停更公告.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClosingState {
    pub since: Option<DateTime<Utc>>,
    pub notice_at: Option<DateTime<Utc>>,
}
