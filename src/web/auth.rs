//! Sessions: a one-time link becomes an HttpOnly, SameSite=Strict cookie
//! (Secure behind https) that ends after 8 hours without a request; every
//! form carries the session's CSRF token; failed sign-ins are rate-limited.

use super::links::{IDLE_HOURS, is_https, new_token, token_hash};
use super::{Console, PageResult, WebError, layout};
use crate::domain::Signin;
use crate::storage::LinkUse;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const COOKIE: &str = "xunjian_session";

/// The signed-in person of a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub signin: Signin,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// The session's hash (uploads belong to it).
    pub session: String,
}

impl Viewer {
    /// Refuses a form without this session's token (403).
    pub fn check_csrf(&self, sent: &str) -> Result<(), WebError> {
        if is_same(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            tracing::warn!(person = %self.signin.person, "web form refused: CSRF token missing or wrong");
            Err(WebError::Forbidden(
                "表单已失效（缺少或不符的校验码）：请返回上一页刷新后重新提交。".to_string(),
            ))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.signin.grant.is_admin()
    }

    /// Admins only (403 for contacts).
    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "此操作仅限管理员；单位联系人可查看本单位的账号、告警和整改事项。".to_string(),
            ))
        }
    }
}

/// Compares without stopping at the first difference.
fn is_same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && !b.is_empty() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 100)
}

async fn viewer_of(parts: &Parts, console: &Console) -> Result<Option<Viewer>, WebError> {
    let Some(token) = session_cookie(&parts.headers) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let idle = chrono::Duration::hours(IDLE_HOURS);
    Ok(console
        .store
        .web_session(&hash, idle, console.now())
        .await?
        .map(|(signin, csrf)| Viewer {
            signin,
            csrf,
            session: hash,
        }))
}

impl FromRequestParts<Arc<Console>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        viewer_of(parts, console).await?.ok_or(WebError::SignIn)
    }
}

impl OptionalFromRequestParts<Arc<Console>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Option<Self>, Self::Rejection> {
        viewer_of(parts, console).await
    }
}

/// Failed sign-ins per client (its address; behind a proxy on this host the
/// last `X-Forwarded-For` address, the one the proxy appended): one guesser
/// is stopped without locking everyone else out.
#[derive(Debug, Default)]
pub struct Limiter {
    clients: HashMap<String, (Instant, u32)>,
}

/// Failed sign-ins a client may make per window.
const MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(600);
/// Clients remembered at most (a flood of addresses cannot grow the map).
const MAX_CLIENTS: usize = 10_000;

impl Limiter {
    fn is_open(&mut self, client: &str) -> bool {
        match self.clients.get(client) {
            Some((start, failures)) if start.elapsed() < WINDOW => *failures < MAX_FAILURES,
            _ => true,
        }
    }

    fn failed(&mut self, client: &str) {
        if self.clients.len() >= MAX_CLIENTS {
            self.clients
                .retain(|_, (start, _)| start.elapsed() < WINDOW);
            if self.clients.len() >= MAX_CLIENTS {
                self.clients.clear();
            }
        }
        let entry = self
            .clients
            .entry(client.to_string())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
        metrics::counter!("xunjian_web_signin_failures_total").increment(1);
    }
}

/// Who is signing in, as the limiter counts them.
pub struct Client(String);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            // The proxy appends the address it saw: the last one is the
            // only one a client cannot write itself.
            .and_then(|v| v.rsplit(',').next())
            .map(|v| v.trim().chars().take(64).collect::<String>())
            .filter(|v| !v.is_empty());
        Ok(Client(match (peer, forwarded) {
            // Only a proxy on this host is believed.
            (Some(ip), Some(forwarded)) if ip.is_loopback() => forwarded,
            (Some(ip), _) => ip.to_string(),
            (None, _) => "unknown".to_string(),
        }))
    }
}

fn is_limited(console: &Console, client: &Client) -> bool {
    console
        .limiter
        .lock()
        .map(|mut l| !l.is_open(&client.0))
        .unwrap_or(false)
}

fn count_failure(console: &Console, client: &Client) {
    if let Ok(mut limiter) = console.limiter.lock() {
        limiter.failed(&client.0);
    }
}

/// A plausible token: what `new_token` makes.
fn is_token(text: &str) -> bool {
    (20..=100).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `GET /login/TOKEN`: a button, not the sign-in itself, so a chat's link
/// preview does not use the link up.
pub async fn login_page(
    State(console): State<Arc<Console>>,
    client: Client,
    Path(token): Path<String>,
) -> PageResult {
    link_signin(&console, &client, &token, false).await?;
    let body = html! {
        h1 { "登录工作台" }
        p { "此链接只能使用一次，请在本浏览器中点击下方按钮进入。" }
        form method="post" action={ "/login/" (token) } {
            button type="submit" id="enter" { "进入工作台" }
        }
    };
    Ok(layout::bare("登录", body).into_response())
}

/// `POST /login/TOKEN`: uses the link up and starts the session.
pub async fn login(
    State(console): State<Arc<Console>>,
    client: Client,
    Path(token): Path<String>,
) -> PageResult {
    let signin = link_signin(&console, &client, &token, true).await?;
    let now = console.now();
    let session = new_token()?;
    let csrf = new_token()?;
    console
        .store
        .start_web_session(&token_hash(&session), &signin, &csrf, now)
        .await?;
    tracing::info!(person = %signin.person, admin = signin.grant.is_admin(), "web console sign-in");
    let secure = if is_https(&console.settings) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict{secure}");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

/// Whom a link signs in, if it works now; `is_using` uses it up (the POST),
/// else it is only looked at (the page with the button). A client over its
/// failures is refused before the link is read, and each refusal counts.
async fn link_signin(
    console: &Console,
    client: &Client,
    token: &str,
    is_using: bool,
) -> Result<Signin, WebError> {
    if is_limited(console, client) {
        return Err(WebError::TooMany);
    }
    let outcome = match (is_token(token), is_using) {
        (false, _) => LinkUse::Unknown,
        (true, true) => {
            console
                .store
                .use_web_link(&token_hash(token), console.now())
                .await?
        }
        (true, false) => {
            console
                .store
                .web_link_state(&token_hash(token), console.now())
                .await?
        }
    };
    match outcome {
        LinkUse::SignedIn(signin) => Ok(signin),
        refusal => {
            count_failure(console, client);
            tracing::warn!(outcome = ?refusal, "web sign-in refused");
            Err(refused(&refusal))
        }
    }
}

fn refused(outcome: &LinkUse) -> WebError {
    let why = match outcome {
        LinkUse::Used => "此登录链接已使用过，每个链接只能使用一次。",
        LinkUse::Expired => "此登录链接已过期（默认 10 分钟内有效）。",
        _ => "此登录链接无效。",
    };
    WebError::LinkRefused(format!(
        "{why}请在聊天中向机器人发送 /登录（/login）取得新链接，或请管理员运行 xunjian login-link。"
    ))
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session.
pub async fn logout(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    axum::Form(form): axum::Form<CsrfForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    console
        .store
        .end_web_session(&viewer.session, console.now())
        .await?;
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cookie)],
        layout::message_page(
            "已退出",
            "已退出工作台。再次进入请向机器人发送 /登录。",
            false,
        ),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_tokens_compare_whole() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; xunjian_session=abc_DEF-123; b=2"
                .parse()
                .expect("a header"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc_DEF-123"));
        assert!(is_same(b"token", b"token"));
        assert!(!is_same(b"token", b"tokem") && !is_same(b"", b"") && !is_same(b"t", b"to"));
        assert!(!is_token("short") && !is_token(&"x".repeat(43).replace('x', "<")));
        assert!(is_token(&"a".repeat(43)));
    }

    #[test]
    fn the_limiter_closes_for_one_client_after_its_failures() {
        let mut limiter = Limiter::default();
        for _ in 0..MAX_FAILURES {
            assert!(limiter.is_open("10.0.0.9"));
            limiter.failed("10.0.0.9");
        }
        assert!(!limiter.is_open("10.0.0.9"));
        assert!(limiter.is_open("10.0.0.7"), "another clerk still signs in");
    }
}
