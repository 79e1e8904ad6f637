//! Checks on what people type into the register (names, proxy routes, feed
//! URLs), shared by `accounts.toml` loading, chat `/register` and polling.
//! The reasons are in Chinese: a clerk reads them in the chat.

use super::Platform;
use std::fmt;

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong {
        chars: usize,
    },
    /// A control or text-direction character, at this 1-based position.
    ControlCharacter {
        position: usize,
        code: u32,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => f.write_str("名称不能为空"),
            NameError::TooLong { chars } => write!(
                f,
                "名称过长：共 {chars} 个字符，最多 {MAX_NAME_CHARS} 个字符"
            ),
            NameError::ControlCharacter { position, code } => write!(
                f,
                "名称第 {position} 个字符是控制字符（U+{code:04X}），请删除后重试"
            ),
        }
    }
}

/// A unit, contact or account name: not blank, at most 64 characters, no
/// control characters (line breaks, escapes) and no text-direction overrides.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    if let Some((i, ch)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| is_hidden_control(*c))
    {
        return Err(NameError::ControlCharacter {
            position: i + 1,
            code: u32::from(ch),
        });
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong { chars });
    }
    Ok(())
}

pub use crate::domain::is_hidden_control;

/// Why a proxy route was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotAPath,
    /// `?` or `#`: the query is the proxy's (its key), never the route's.
    QueryOrFragment,
    Backslash,
    Whitespace,
    /// A `.` or `..` segment, possibly percent-encoded.
    DotSegment,
    /// `://` or `@`: another host written into the path.
    Authority,
    /// Longer than [`MAX_SOURCE_CHARS`].
    TooLong,
}

/// The longest route or feed URL kept (an Excel cell holds 32,767).
pub const MAX_SOURCE_CHARS: usize = 2000;
/// The longest 备注 kept.
pub const MAX_NOTE_CHARS: usize = 500;

/// A 备注 as kept: trimmed, line breaks and tabs (Alt+Enter in Excel) made
/// spaces; `Err` says why it is refused (hidden control characters, length).
pub fn checked_note(text: &str) -> Result<Option<String>, String> {
    let text: String = text
        .trim()
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    if let Some((i, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| is_hidden_control(*c))
    {
        return Err(format!(
            "备注第 {} 个字符是控制字符（U+{:04X}），请删除后重试",
            i + 1,
            u32::from(c)
        ));
    }
    let count = text.chars().count();
    if count > MAX_NOTE_CHARS {
        return Err(format!(
            "备注过长：共 {count} 个字符，最多 {MAX_NOTE_CHARS} 个字符"
        ));
    }
    Ok((!text.is_empty()).then_some(text))
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::NotAPath => "路由必须是以 / 开头的路径",
            RouteError::QueryOrFragment => "路由不能含 ? 或 #（查询参数由代理配置提供）",
            RouteError::Backslash => "路由不能含反斜杠 \\",
            RouteError::Whitespace => "路由不能含空格或控制字符",
            RouteError::DotSegment => "路由不能含 . 或 .. 路径段（包括 %2e 等编码形式）",
            RouteError::Authority => "路由不能含 :// 或 @",
            RouteError::TooLong => "路由过长（最多 2000 个字符）",
        })
    }
}

/// A route on a proxy: a plain path that stays under the proxy's base path
/// however it is decoded.
pub fn check_route(route: &str) -> Result<(), RouteError> {
    if route.chars().count() > MAX_SOURCE_CHARS {
        return Err(RouteError::TooLong);
    }
    if !route.starts_with('/') {
        return Err(RouteError::NotAPath);
    }
    if route.contains(['?', '#']) {
        return Err(RouteError::QueryOrFragment);
    }
    if route.contains("://") || route.contains('@') {
        return Err(RouteError::Authority);
    }
    // Decode until stable: a proxy may decode again what we pass on.
    let mut decoded = route.to_string();
    for _ in 0..4 {
        let next = percent_decode(&decoded);
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if decoded.contains('\\') {
        return Err(RouteError::Backslash);
    }
    if decoded.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RouteError::Whitespace);
    }
    if decoded.contains(['?', '#']) {
        return Err(RouteError::QueryOrFragment);
    }
    if decoded
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(RouteError::DotSegment);
    }
    Ok(())
}

/// `%XX` → the byte; anything else as it is (invalid UTF-8 replaced).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A feed URL: absolute http(s) with a host, and no `user:password@`
/// (the register is exported and shown in the chat).
pub fn check_feed_url(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_SOURCE_CHARS {
        return Err(format!("地址过长（最多 {MAX_SOURCE_CHARS} 个字符）"));
    }
    let url = url::Url::parse(text).map_err(|e| format!("无法解析：{e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("协议必须是 http 或 https，而不是 {}", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("缺少主机名".to_string());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("不能含用户名或密码（user:pass@）".to_string());
    }
    if text.contains('\\') || text.chars().any(char::is_control) {
        return Err("不能含反斜杠或控制字符".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_control_characters_or_over_64_characters_are_refused() {
        assert_eq!(check_name("兰山发布"), Ok(()));
        assert_eq!(check_name(&"义".repeat(64)), Ok(()));
        assert_eq!(
            check_name(&"义".repeat(65)),
            Err(NameError::TooLong { chars: 65 })
        );
        assert_eq!(
            check_name(&"x".repeat(100_000)),
            Err(NameError::TooLong { chars: 100_000 })
        );
        for (name, position, code) in [
            ("兰山\n发布", 3, 0x0A),
            ("\u{1b}[31m红", 1, 0x1B),
            ("兰山\u{202E}布发", 3, 0x202E),
            ("a\u{0}", 2, 0),
        ] {
            assert_eq!(
                check_name(name),
                Err(NameError::ControlCharacter { position, code }),
                "{name:?}"
            );
        }
        assert_eq!(check_name("   "), Err(NameError::Empty));
        assert!(check_name(&"义".repeat(65)).is_err_and(|e| e.to_string().contains("最多 64")));
    }

    #[test]
    fn routes_that_could_leave_the_prefix_or_set_the_query_are_refused() {
        for good in [
            "/weibo/user/1234567",
            "/wechat/mp/兰山",
            "/feeds/MP_WXS_123.atom",
            "/bilibili/user/video/2267573",
            "/weibo/user/a..b",
        ] {
            assert_eq!(check_route(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("weibo/user/1", RouteError::NotAPath),
            ("/weibo/../admin", RouteError::DotSegment),
            ("/weibo/%2e%2e/admin", RouteError::DotSegment),
            ("/weibo/.%2e/admin", RouteError::DotSegment),
            ("/weibo/%2E%2E/admin", RouteError::DotSegment),
            ("/weibo/%2E/x", RouteError::DotSegment),
            ("/weibo/%252e%252e/admin", RouteError::DotSegment),
            ("/weibo/./x", RouteError::DotSegment),
            ("/weibo/..", RouteError::DotSegment),
            ("/weibo/user/1?key=mine", RouteError::QueryOrFragment),
            ("/weibo/user/1%3Fkey=mine", RouteError::QueryOrFragment),
            ("/weibo/user/1#x", RouteError::QueryOrFragment),
            ("/weibo\\..\\admin", RouteError::Backslash),
            ("/weibo/%5c..%5cadmin", RouteError::Backslash),
            ("/weibo/user 1", RouteError::Whitespace),
            ("/weibo/%0a", RouteError::Whitespace),
            ("/x/http://evil/", RouteError::Authority),
            ("/x/@evil", RouteError::Authority),
        ] {
            assert_eq!(check_route(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes_and_never_panics() {
        assert_eq!(percent_decode("%2e%2E%"), "..%");
        assert_eq!(percent_decode("%zz%2"), "%zz%2");
        assert_eq!(percent_decode("%e5%85%b0义"), "兰义");
        assert_eq!(percent_decode("%ff"), "\u{FFFD}");
    }

    #[test]
    fn feed_urls_with_credentials_are_refused() {
        assert_eq!(check_feed_url("https://www.lanshan.gov.cn/rss.xml"), Ok(()));
        for bad in [
            "https://user:pass@www.lanshan.gov.cn/rss.xml",
            "https://user@www.lanshan.gov.cn/rss.xml",
            "https://:pass@www.lanshan.gov.cn/rss.xml",
            "ftp://www.lanshan.gov.cn/rss.xml",
            "not a url",
        ] {
            assert!(check_feed_url(bad).is_err(), "{bad}");
        }
    }
}

pub use crate::domain::suggest;

/// "，是否为「微博」？" for a platform name that is a near miss; empty otherwise.
pub fn platform_hint(text: &str) -> String {
    let names = Platform::ALL
        .iter()
        .flat_map(|p| [p.label(), p.id()])
        .collect::<Vec<_>>();
    match suggest(text, names) {
        Some(near) => {
            let label = Platform::from_name(near).map_or(near, |p| p.label());
            format!("，是否为「{label}」？")
        }
        None => String::new(),
    }
}

/// "，是否为「义堂镇」（lsq-yitang）？" for a unit id or name that is a near
/// miss; empty otherwise.
pub fn unit_hint<'a>(text: &str, units: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let units: Vec<(&str, &str)> = units.into_iter().collect();
    let names = units.iter().flat_map(|(id, name)| [*id, *name]);
    match suggest(text, names) {
        Some(near) => {
            let (id, name) = units
                .iter()
                .find(|(id, name)| *id == near || *name == near)
                .copied()
                .unwrap_or((near, near));
            format!("，是否为「{name}」（{id}）？")
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod suggest_tests {
    use super::*;

    #[test]
    fn notes_keep_line_breaks_as_spaces_and_refuse_hidden_characters_and_length() {
        assert_eq!(
            checked_note(" 主账号\n每月报送\t截图 "),
            Ok(Some("主账号 每月报送 截图".to_string()))
        );
        assert_eq!(checked_note("  "), Ok(None));
        assert!(checked_note("a\u{1b}[2J").is_err_and(|e| e.contains("U+001B")));
        assert!(checked_note("a\u{202E}b").is_err());
        assert!(checked_note(&"备".repeat(501)).is_err_and(|e| e.contains("备注过长")));
        assert_eq!(
            check_route(&format!("/{}", "a".repeat(2000))),
            Err(RouteError::TooLong)
        );
        assert!(check_feed_url(&format!("https://a.gov.cn/{}", "a".repeat(2000))).is_err());
        assert!(!crate::registry::is_valid_id(&"a".repeat(65)));
    }

    #[test]
    fn near_misses_get_a_suggestion_and_far_ones_none() {
        assert_eq!(platform_hint("微薄"), "，是否为「微博」？");
        assert_eq!(platform_hint("weiboo"), "，是否为「微博」？");
        assert_eq!(platform_hint("小红薯"), "，是否为「小红书」？");
        assert_eq!(platform_hint("传真"), "");
        let units = [("lsq-yitang", "义堂镇"), ("lsq-liuqing", "柳青街道")];
        assert_eq!(
            unit_hint("义唐镇", units),
            "，是否为「义堂镇」（lsq-yitang）？"
        );
        assert_eq!(
            unit_hint("lsq-yitan", units),
            "，是否为「义堂镇」（lsq-yitang）？"
        );
        assert_eq!(unit_hint("教育局", units), "");
        assert_eq!(suggest("", ["a"]), None);
    }
}
