//! One-time sign-in links: made by `xunjian login-link` and `/登录`, used once
//! within their minutes at `/login/TOKEN`, then a session cookie.

use crate::config::Settings;
use crate::domain::Signin;
use crate::storage::Store;
use chrono::{DateTime, Duration, Utc};

/// How long a link works unless told otherwise.
pub const LINK_MINUTES: i64 = 10;
/// The longest a link may be made to work (`--minutes`).
pub const MAX_LINK_MINUTES: i64 = 7 * 24 * 60;
/// A session ends after this long without a request.
pub const IDLE_HOURS: i64 = 8;

/// 32 random bytes from the OS, URL-safe base64 (43 characters).
pub fn new_token() -> anyhow::Result<String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("无法从操作系统取得随机数：{e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The console's address as links name it: `[server] public_url`, else
/// `http://` and the listen address.
pub fn base_url(settings: &Settings) -> String {
    let public = settings.server.public_url.trim().trim_end_matches('/');
    if public.is_empty() {
        format!("http://{}", settings.server.listen.trim())
    } else {
        public.to_string()
    }
}

/// Whether the console is served over https (cookies then carry `Secure`).
pub fn is_https(settings: &Settings) -> bool {
    settings
        .server
        .public_url
        .trim()
        .to_ascii_lowercase()
        .starts_with("https://")
}

/// A new link for `signin`, working once for `minutes`.
pub async fn issue_link(
    store: &Store,
    settings: &Settings,
    signin: &Signin,
    created_by: &str,
    minutes: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    if !(1..=MAX_LINK_MINUTES).contains(&minutes) {
        anyhow::bail!("链接有效期应在 1 到 {MAX_LINK_MINUTES} 分钟之间（收到 {minutes}）");
    }
    let token = new_token()?;
    store
        .create_web_link(
            &token_hash(&token),
            signin,
            created_by,
            now + Duration::minutes(minutes),
            now,
        )
        .await?;
    Ok(format!("{}/login/{token}", base_url(settings)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_kept_only_as_hashes() {
        let (a, b) = (new_token().expect("a token"), new_token().expect("a token"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let hash = token_hash(&a);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&a));
        assert_eq!(hash, token_hash(&a));
    }
}
