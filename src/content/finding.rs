//! A content finding as kept: the hit, its post, and where it stands.

use super::Level;
use crate::domain::Rule;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingState {
    /// Counts against the account.
    Open,
    /// 误报: an admin said it is no problem (the allow list learnt it).
    Dismissed,
    /// 已整改: the post was corrected or deleted, or the clerk confirmed it.
    Fixed,
}

impl FindingState {
    pub fn id(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Dismissed => "dismissed",
            FindingState::Fixed => "fixed",
        }
    }

    pub fn from_id(id: &str) -> Option<FindingState> {
        [
            FindingState::Open,
            FindingState::Dismissed,
            FindingState::Fixed,
        ]
        .into_iter()
        .find(|s| s.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            FindingState::Open => "待整改",
            FindingState::Dismissed => "误报",
            FindingState::Fixed => "已整改",
        }
    }
}

/// One kept finding (错敏信息 or personal data in one post).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentFinding {
    pub id: i64,
    pub account_id: String,
    pub post_id: i64,
    pub rule: Rule,
    #[serde(serialize_with = "level_label")]
    pub level: Level,
    pub category: String,
    pub matched: String,
    pub suggestion: String,
    pub context: String,
    #[serde(skip)]
    pub key: String,
    /// The post's dedup key (a later fetch finds it by this).
    #[serde(skip)]
    pub dedup_key: String,
    pub is_in_title: bool,
    #[serde(serialize_with = "local_time")]
    pub published_at: DateTime<Utc>,
    pub post_title: Option<String>,
    pub post_link: Option<String>,
    #[serde(serialize_with = "local_time")]
    pub found_at: DateTime<Utc>,
    pub state: FindingState,
    #[serde(serialize_with = "local_time_or_null")]
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub reason: Option<String>,
}

/// Times as the other JSON outputs write them: Asia/Shanghai, RFC 3339.
fn local_time<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::calendar::to_local(*at).to_rfc3339())
}

fn local_time_or_null<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => local_time(at, s),
        None => s.serialize_none(),
    }
}

fn level_label<S: serde::Serializer>(level: &Level, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level.label())
}

impl ContentFinding {
    /// "错敏信息#12 11月3日《标题》：「台湾总统」应为「台湾地区领导人」（严重）"
    pub fn line(&self) -> String {
        let title = self
            .post_title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| format!("《{}》", short(t.trim(), 30)))
            .unwrap_or_else(|| "（无标题）".to_string());
        format!(
            "#{} {}{}{}：「{}」{}（{}，{}）",
            self.id,
            crate::calendar::date_cn(crate::calendar::local_date(self.published_at)),
            title,
            if self.is_in_title { "标题" } else { "" },
            self.matched,
            self.suggestion_text(),
            self.category,
            self.level.label()
        )
    }

    /// "，应为「…」" or "，…" (the suggestion joined to the match).
    pub fn suggestion_text(&self) -> String {
        if self.suggestion.is_empty() {
            String::new()
        } else {
            format!("，{}", self.suggestion)
        }
    }
}

/// At most `max` characters, "…" marking a cut.
fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_string(),
    }
}
