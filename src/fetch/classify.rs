//! HTTP status + body → [`Outcome`], with the message that explains it.
//!
//! RSSHub answers 503 for almost every error (404 `NotFoundError`, 403
//! `RejectError`), with the message in a JSON body (`?format=json`) or an HTML
//! page; so "gone" and "blocked" are recognised by message patterns.

use super::{FetchFailure, Outcome};
use regex::Regex;

/// Built-in patterns: what RSSHub and the WeChat bridges really say.
const GONE: &[&str] = &[
    r"reading 'userInfo'",
    r"reading 'screen_name'",
    r"暂未发表作品",
    r"不存在该feed",
    r"用户不存在",
    r"账号已注销",
    r"该账号(?:已被封禁|因违反)",
    r"(?i)user (?:does not exist|not found)",
    r"(?i)account (?:does not exist|not found|has been (?:deleted|suspended))",
];
const BLOCKED: &[&str] = &[
    r"\bWAF\b",
    r"(?i)captcha",
    r"验证码",
    r"(?i)cookie",
    r"风控",
    r"(?i)login required|请登录|登录后",
    r"(?i)access denied by the target site",
];
const RETRY: &[&str] = &[
    r"RequestInProgressError",
    r"(?i)too many requests",
    r"(?i)rate limit",
    r"请求过于频繁",
];

/// Compiled message patterns; the settings may add to each list.
#[derive(Debug, Clone)]
pub struct Patterns {
    gone: Vec<Regex>,
    blocked: Vec<Regex>,
    retry: Vec<Regex>,
}

impl Patterns {
    pub fn new(extra_gone: &[String], extra_blocked: &[String]) -> Result<Patterns, regex::Error> {
        let compile = |builtin: &[&str], extra: &[String]| -> Result<Vec<Regex>, regex::Error> {
            builtin
                .iter()
                .map(|p| Regex::new(p))
                .chain(extra.iter().map(|p| Regex::new(p)))
                .collect()
        };
        Ok(Patterns {
            gone: compile(GONE, extra_gone)?,
            blocked: compile(BLOCKED, extra_blocked)?,
            retry: compile(RETRY, &[])?,
        })
    }

    fn find(list: &[Regex], text: &str) -> Option<String> {
        list.iter()
            .find(|r| r.is_match(text))
            .map(|r| r.as_str().to_string())
    }

    /// True when the text looks like a WAF or captcha page.
    pub fn is_blocked(&self, text: &str) -> bool {
        Self::find(&self.blocked, text).is_some()
    }
}

/// Classifies a non-2xx response (or a 2xx that is no feed) from its status and body.
pub fn classify_failure(
    status: u16,
    body: &[u8],
    is_proxy: bool,
    patterns: &Patterns,
) -> FetchFailure {
    let message = error_message(body);
    let shown = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    };
    let outcome = if Patterns::find(&patterns.retry, &message).is_some() || status == 429 {
        Outcome::RetrySoon
    } else if Patterns::find(&patterns.gone, &message).is_some() {
        Outcome::Gone
    } else if Patterns::find(&patterns.blocked, &message).is_some() {
        Outcome::Blocked
    } else if !is_proxy && matches!(status, 404 | 410) {
        Outcome::Gone
    } else if !is_proxy && matches!(status, 401 | 403) {
        Outcome::Blocked
    } else if !is_proxy && status >= 500 {
        Outcome::Network
    } else if is_proxy {
        Outcome::ProxyError
    } else {
        Outcome::Invalid
    };
    FetchFailure {
        outcome,
        message: shown,
        http_status: Some(status),
        retry_after: None,
    }
}

/// The error message in an RSSHub JSON error, an HTML error page or plain text.
pub fn error_message(body: &[u8]) -> String {
    let head = body.get(..body.len().min(64 * 1024)).unwrap_or(body);
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(trimmed) {
            let message = json
                .pointer("/error/message")
                .or_else(|| json.pointer("/message"))
                .or_else(|| json.pointer("/error"))
                .and_then(|m| m.as_str());
            if let Some(message) = message {
                return crate::parse::truncate(message.trim(), 300);
            }
        }
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return html_text(trimmed);
    }
    crate::parse::truncate(
        &trimmed.split_whitespace().collect::<Vec<_>>().join(" "),
        300,
    )
}

/// The readable text of an HTML error page: `<code>` first (RSSHub), else the
/// title and the visible text.
fn html_text(html: &str) -> String {
    let tag = Regex::new(r"(?s)<script.*?</script>|<style.*?</style>|<[^>]*>")
        .expect("the tag pattern is valid");
    let code = html.find("<code").and_then(|start| html.get(start..));
    if let Some(code) = code {
        if let Some(code) = code.find("</code>").and_then(|end| code.get(..end)) {
            let inner = tag.replace_all(code, " ");
            let inner = inner.split_whitespace().collect::<Vec<_>>().join(" ");
            if !inner.is_empty() {
                return crate::parse::truncate(&inner, 300);
            }
        }
    }
    let text = tag.replace_all(html, " ");
    crate::parse::truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 300)
}
