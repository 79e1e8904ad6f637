//! The web console (工作台): server-rendered Chinese pages on the daemon's
//! HTTP server. Sign-in is by one-time link ([`links`]); a session sees what
//! its [`Grant`] reaches, as in chat; every change goes through the same
//! storage and rules code as the CLI and the chats, audited as "姓名（网页）".
//!
//! In: HTTP requests. Out: HTML pages, downloads, and the same effects on
//! the database as the chat commands.

mod accounts;
mod alerts;
mod auth;
mod history;
mod layout;
pub mod links;
mod overview;
mod rectify;
mod register;
mod reports;

use crate::calendar::Calendar;
use crate::config::Settings;
use crate::domain::Signin;
use crate::rules::CheckResult;
use crate::storage::Store;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use auth::Viewer;

/// The largest workbook the console accepts.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// What the pages read and change.
pub struct Console {
    pub store: Store,
    pub settings: Settings,
    pub calendar: Calendar,
    /// The current evaluation, shared by the pages for a few seconds.
    check: Mutex<Option<(Instant, Arc<CheckResult>)>>,
    /// One evaluation at a time: pages opened together wait for it rather
    /// than each evaluating every account again.
    evaluating: tokio::sync::Mutex<()>,
    /// What evaluates, built at the first evaluation and kept: building it
    /// compiles the word lists and starts a poller (its HTTP client and
    /// parse threads), which an evaluation never uses.
    inspector: tokio::sync::OnceCell<crate::inspection::Inspector>,
    limiter: Mutex<auth::Limiter>,
    /// "Now" for the pages (tests pin it; the daemon uses the clock).
    clock: Option<DateTime<Utc>>,
}

impl Console {
    pub fn new(store: Store, settings: Settings, calendar: Calendar) -> Console {
        Console {
            store,
            settings,
            calendar,
            check: Mutex::new(None),
            evaluating: tokio::sync::Mutex::new(()),
            inspector: tokio::sync::OnceCell::new(),
            limiter: Mutex::new(auth::Limiter::default()),
            clock: None,
        }
    }

    /// The same console at a fixed time (`--now`).
    pub fn at(mut self, now: Option<DateTime<Utc>>) -> Console {
        self.clock = now;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.unwrap_or_else(Utc::now)
    }

    /// The accounts as an inspection would judge them now, from what is
    /// stored (no polling): the numbers of `check`. Kept 15 s; a change
    /// made in the console drops it.
    pub async fn check(&self) -> anyhow::Result<Arc<CheckResult>> {
        if let Some(kept) = self.kept_check() {
            return Ok(kept);
        }
        let _one = self.evaluating.lock().await;
        if let Some(kept) = self.kept_check() {
            return Ok(kept);
        }
        let inspector = self
            .inspector
            .get_or_try_init(|| async {
                let inspector =
                    crate::inspection::Inspector::new(self.store.clone(), self.settings.clone())?;
                anyhow::Ok(inspector.with_calendar(self.calendar.clone()))
            })
            .await?;
        let result = Arc::new(inspector.evaluate(self.now()).await?);
        if let Ok(mut kept) = self.check.lock() {
            *kept = Some((Instant::now(), result.clone()));
        }
        Ok(result)
    }

    fn kept_check(&self) -> Option<Arc<CheckResult>> {
        let kept = self.check.lock().ok()?;
        let (at, result) = kept.as_ref()?;
        (at.elapsed() < Duration::from_secs(15)).then(|| result.clone())
    }

    /// Forgets the kept evaluation (after a change).
    pub fn changed(&self) {
        if let Ok(mut kept) = self.check.lock() {
            *kept = None;
        }
    }
}

/// The console's routes; `/healthz` and `/metrics` are the server's.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(overview::page))
        .route("/login/{token}", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/accounts", get(accounts::list))
        .route("/accounts/{id}", get(accounts::detail))
        .route("/alerts", get(alerts::page))
        .route("/alerts/{id}/ack", post(alerts::ack))
        .route("/alerts/{id}/snooze", post(alerts::snooze))
        .route("/rectification", get(rectify::page))
        .route("/rectification/{id}/respond", post(rectify::respond))
        .route("/rectification/{id}/review", post(rectify::review))
        .route("/reports", get(reports::page))
        .route("/reports/view", get(reports::view))
        .route("/reports/file", get(reports::file))
        .route("/reports/issue", get(reports::confirm).post(reports::issue))
        .route("/register", get(register::page))
        .route("/register/export", get(register::export))
        .route(
            "/register/upload",
            post(register::upload).layer(axum::extract::DefaultBodyLimit::max(
                MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/register/uploads/{id}", get(register::dry_run))
        .route("/register/uploads/{id}/apply", post(register::apply))
        .route("/history", get(history::page))
        .fallback(not_found)
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(console)
}

async fn not_found(viewer: Option<Viewer>) -> Response {
    match viewer {
        Some(_) => WebError::NotFound.into_response(),
        None => WebError::SignIn.into_response(),
    }
}

/// No page is cached, framed, or tells another site where it was; a
/// request axum itself refused (a malformed form, a number that is not
/// one, a wrong method) gets a Chinese page, not the framework's English.
async fn secure_headers(response: Response) -> Response {
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let mut response = if status.is_client_error() && !is_html {
        let text = match status {
            StatusCode::NOT_FOUND => "您要找的页面不存在。",
            StatusCode::METHOD_NOT_ALLOWED => "此地址不接受这种请求：请从页面上的链接和按钮操作。",
            StatusCode::PAYLOAD_TOO_LARGE => "上传的文件过大：工作簿最多 20 MB。",
            _ => "请求的格式有误：请返回上一页刷新后重试。",
        };
        (status, layout::message_page("请求有误", text, true)).into_response()
    } else {
        response
    };
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// What a page says when it cannot do what was asked.
#[derive(Debug)]
pub enum WebError {
    /// No session: the sign-in hint (401).
    SignIn,
    /// Not there, or not this session's to see (404: a contact learns
    /// nothing about other units).
    NotFound,
    /// Not allowed (403), with why.
    Forbidden(String),
    /// A sign-in link that cannot be used (403), with why and how to get another.
    LinkRefused(String),
    /// A form that cannot be used as sent (400), with why.
    BadRequest(String),
    /// Too many sign-in attempts (429).
    TooMany,
    /// Our failure (500): logged, not shown.
    Internal(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for WebError {
    fn from(err: E) -> WebError {
        WebError::Internal(err.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (code, title, text) = match self {
            WebError::SignIn => (
                StatusCode::UNAUTHORIZED,
                "请先登录",
                "工作台须凭一次性登录链接进入：在聊天中向机器人发送 /登录（/login），或请管理员运行 xunjian login-link。链接 10 分钟内有效，只能使用一次。".to_string(),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "未找到",
                "您要找的页面或事项不存在，或不属于您的单位。".to_string(),
            ),
            WebError::Forbidden(why) => (StatusCode::FORBIDDEN, "不能执行", why),
            WebError::LinkRefused(why) => (StatusCode::FORBIDDEN, "无法登录", why),
            WebError::BadRequest(why) => (StatusCode::BAD_REQUEST, "请求有误", why),
            WebError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "尝试次数过多",
                "此电脑的登录尝试失败次数过多，已暂停 10 分钟：请 10 分钟后再打开登录链接（未使用的链接仍然有效）。".to_string(),
            ),
            WebError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "web console request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "出错了",
                    "处理请求时出错，请稍后再试；如仍出错请联系管理员查看日志。".to_string(),
                )
            }
        };
        let is_signed_out = code == StatusCode::UNAUTHORIZED || title == "无法登录";
        (code, layout::message_page(title, &text, !is_signed_out)).into_response()
    }
}

/// A page's result.
pub type PageResult = Result<Response, WebError>;

/// The signed-in person, for the audit trail.
fn actor(signin: &Signin) -> String {
    signin.actor()
}
