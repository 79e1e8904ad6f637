//! Sending through Feishu's open API as the app's bot: the
//! tenant_access_token (cached, refreshed before it expires and once when
//! Feishu calls it invalid), replies to a message, text and files (the
//! 通报's .docx, XLSX and chart) to a chat or a user.
//!
//! In: the app id and secret, a message id or a receive id, text. Out:
//! sent messages, or a [`FeishuSendError`] that says whether to retry.

use super::split::split_reply;
use crate::config::Secret;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
/// A token is refreshed this long before Feishu says it expires (as the SDKs do).
const TOKEN_MARGIN: Duration = Duration::from_secs(3 * 60);
/// Codes meaning the token is no longer valid: fetch a new one, try once more.
const INVALID_TOKEN_CODES: [i64; 4] = [99991661, 99991663, 99991664, 99991671];
/// Codes of a limit or a busy server: the same request may succeed later.
const TRANSIENT_CODES: [i64; 4] = [
    // Request frequency limit (the open API's).
    99991400, // Message frequency limit of the chat.
    230020,   // The message is still being sent.
    230049,   // Internal error, try again.
    1500,
];
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum FeishuSendError {
    #[error("cannot reach Feishu: {0}")]
    Network(String),
    #[error("Feishu refused the tenant_access_token: HTTP {status}, code {code}: {msg}")]
    Token { status: u16, code: i64, msg: String },
    #[error("Feishu refused the message: HTTP {status}, code {code}: {msg}")]
    Refused { status: u16, code: i64, msg: String },
    #[error("not a receive_id_type: {0:?} (expected chat_id or open_id)")]
    BadReceiveIdType(String),
}

impl FeishuSendError {
    /// Whether sending again later may succeed (network, 5xx, rate limits,
    /// a token that stays invalid); otherwise it will not without a fix
    /// (the bot is not in the chat, a bad id, a missing permission).
    pub fn is_transient(&self) -> bool {
        match self {
            // A token refused is the app's credentials: every chat is
            // affected, none is broken by itself; the long connection's
            // health shows the cause.
            FeishuSendError::Network(_) | FeishuSendError::Token { .. } => true,
            FeishuSendError::Refused { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    // An answer cut off or not JSON (a proxy's page): no
                    // verdict from Feishu.
                    || *code == unreadable()
                    || TRANSIENT_CODES.contains(code)
                    || INVALID_TOKEN_CODES.contains(code)
            }
            FeishuSendError::BadReceiveIdType(_) => false,
        }
    }
}

/// Feishu's open API as the app's bot. Cheap to clone; clones share the token.
#[derive(Clone)]
pub struct FeishuApi {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    app_id: String,
    app_secret: Secret,
    token: Mutex<Option<Token>>,
}

struct Token {
    value: Secret,
    refresh_at: Instant,
}

/// `{"code":…,"msg":…}`, what every open API answers.
#[derive(Deserialize)]
struct ApiAnswer {
    #[serde(default = "unreadable")]
    code: i64,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    tenant_access_token: String,
    #[serde(default)]
    expire: u64,
    /// What an upload answers: `{"file_key": …}` or `{"image_key": …}`.
    #[serde(default)]
    data: serde_json::Value,
}

/// A request body, made again for a retry (a multipart form is used up).
enum Body {
    Json(serde_json::Value),
    Form(reqwest::multipart::Form),
}

fn unreadable() -> i64 {
    -1
}

impl FeishuApi {
    pub fn new(base_url: &str, app_id: &str, app_secret: Secret) -> anyhow::Result<FeishuApi> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .user_agent(crate::process::USER_AGENT)
            .build()?;
        Ok(FeishuApi {
            inner: Arc::new(Inner {
                http,
                base_url: base_url.trim_end_matches('/').to_string(),
                app_id: app_id.to_string(),
                app_secret,
                token: Mutex::new(None),
            }),
        })
    }

    /// Replies to a message (in its chat, quoting it), split into messages
    /// of at most [`super::split::MAX_REPLY_UTF16`] UTF-16 units.
    pub async fn reply(&self, message_id: &str, text: &str) -> Result<(), FeishuSendError> {
        let path = format!(
            "/open-apis/im/v1/messages/{}/reply",
            url::form_urlencoded::byte_serialize(message_id.as_bytes()).collect::<String>()
        );
        for part in split_reply(text) {
            let body = json!({ "msg_type": "text", "content": text_content(&plain(&part)) });
            self.post(&path, &body).await?;
        }
        Ok(())
    }

    /// Sends text to a chat (`receive_id_type` "chat_id", `oc_…`) or a user
    /// ("open_id", `ou_…`), split as [`FeishuApi::reply`] does.
    pub async fn send_text(
        &self,
        receive_id_type: &str,
        receive_id: &str,
        text: &str,
    ) -> Result<(), FeishuSendError> {
        if !matches!(receive_id_type, "chat_id" | "open_id") {
            return Err(FeishuSendError::BadReceiveIdType(
                receive_id_type.to_string(),
            ));
        }
        for part in split_reply(text) {
            self.send_one(receive_id_type, receive_id, &plain(&part), None)
                .await?;
        }
        Ok(())
    }

    /// Sends exactly one text message as given (make user text [`plain`]
    /// first; [`at_tag`]s mention people). `uuid` (at most 50 characters)
    /// makes Feishu send it at most once within an hour, however often
    /// it is retried.
    pub async fn send_one(
        &self,
        receive_id_type: &str,
        receive_id: &str,
        text: &str,
        uuid: Option<&str>,
    ) -> Result<(), FeishuSendError> {
        if !matches!(receive_id_type, "chat_id" | "open_id") {
            return Err(FeishuSendError::BadReceiveIdType(
                receive_id_type.to_string(),
            ));
        }
        let path = format!("/open-apis/im/v1/messages?receive_id_type={receive_id_type}");
        let mut body = json!({
            "receive_id": receive_id,
            "msg_type": "text",
            "content": text_content(text),
        });
        if let Some(uuid) = uuid {
            body["uuid"] = json!(uuid.chars().take(50).collect::<String>());
        }
        self.post(&path, &body).await
    }

    /// POSTs with the token; a token Feishu calls invalid is replaced once.
    async fn post(&self, path: &str, body: &serde_json::Value) -> Result<(), FeishuSendError> {
        self.call(path, || Ok(Body::Json(body.clone())))
            .await
            .map(|_| ())
    }

    /// Sends a file to a chat or a user (as [`FeishuApi::send_one`]): a PNG
    /// as an image (`im/v1/images`, then an `image` message), anything else
    /// as a file (`im/v1/files`, then a `file` message).
    pub async fn send_file(
        &self,
        receive_id_type: &str,
        receive_id: &str,
        file: &crate::storage::Attachment,
        uuid: Option<&str>,
    ) -> Result<(), FeishuSendError> {
        if !matches!(receive_id_type, "chat_id" | "open_id") {
            return Err(FeishuSendError::BadReceiveIdType(
                receive_id_type.to_string(),
            ));
        }
        let part = || {
            reqwest::multipart::Part::bytes(file.data.clone())
                .file_name(file.name.clone())
                .mime_str(mime_of(&file.name))
                .map_err(|e| FeishuSendError::Network(e.to_string()))
        };
        let is_image = file.kind == crate::domain::FileKind::Photo;
        let (kind, key, content) = if is_image {
            let data = self
                .call("/open-apis/im/v1/images", || {
                    Ok(Body::Form(
                        reqwest::multipart::Form::new()
                            .text("image_type", "message")
                            .part("image", part()?),
                    ))
                })
                .await?;
            ("image", "image_key", data)
        } else {
            let data = self
                .call("/open-apis/im/v1/files", || {
                    Ok(Body::Form(
                        reqwest::multipart::Form::new()
                            .text("file_type", file_type(&file.name))
                            .text("file_name", file.name.clone())
                            .part("file", part()?),
                    ))
                })
                .await?;
            ("file", "file_key", data)
        };
        let Some(uploaded) = content.get(key).and_then(serde_json::Value::as_str) else {
            return Err(FeishuSendError::Refused {
                status: 200,
                code: unreadable(),
                msg: format!("the upload answered no {key}"),
            });
        };
        let path = format!("/open-apis/im/v1/messages?receive_id_type={receive_id_type}");
        let mut body = json!({
            "receive_id": receive_id,
            "msg_type": kind,
            "content": json!({ key: uploaded }).to_string(),
        });
        if let Some(uuid) = uuid {
            body["uuid"] = json!(uuid.chars().take(50).collect::<String>());
        }
        self.post(&path, &body).await
    }

    /// POSTs what `make` builds with the token and returns the answer's
    /// `data`; a token Feishu calls invalid is replaced once.
    async fn call(
        &self,
        path: &str,
        make: impl Fn() -> Result<Body, FeishuSendError>,
    ) -> Result<serde_json::Value, FeishuSendError> {
        let url = format!("{}{path}", self.inner.base_url);
        let mut is_retry = false;
        loop {
            let token = self.token().await?;
            let request = self.inner.http.post(&url).bearer_auth(token.expose());
            let request = match make()? {
                Body::Json(body) => request.json(&body),
                Body::Form(form) => request.multipart(form),
            };
            let response = request.send().await.map_err(network)?;
            let status = response.status().as_u16();
            let answer = read_answer(response).await;
            if (200..300).contains(&status) && answer.code == 0 {
                return Ok(answer.data);
            }
            if INVALID_TOKEN_CODES.contains(&answer.code) && !is_retry {
                tracing::info!(
                    code = answer.code,
                    "feishu token refused; fetching a new one"
                );
                self.forget(&token).await;
                is_retry = true;
                continue;
            }
            return Err(FeishuSendError::Refused {
                status,
                code: answer.code,
                msg: answer.msg.chars().take(300).collect(),
            });
        }
    }

    /// The cached tenant_access_token, or a new one.
    async fn token(&self) -> Result<Secret, FeishuSendError> {
        let mut cached = self.inner.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.value.clone());
        }
        let body = json!({
            "app_id": self.inner.app_id,
            "app_secret": self.inner.app_secret.expose(),
        });
        let response = self
            .inner
            .http
            .post(format!("{}{TOKEN_PATH}", self.inner.base_url))
            .json(&body)
            .send()
            .await
            .map_err(network)?;
        let status = response.status().as_u16();
        let answer = read_answer(response).await;
        if !(200..300).contains(&status)
            || answer.code != 0
            || answer.tenant_access_token.is_empty()
        {
            return Err(FeishuSendError::Token {
                status,
                code: answer.code,
                msg: answer.msg.chars().take(300).collect(),
            });
        }
        let lifetime = Duration::from_secs(answer.expire).saturating_sub(TOKEN_MARGIN);
        let value = Secret::new(answer.tenant_access_token);
        *cached = Some(Token {
            value: value.clone(),
            refresh_at: Instant::now() + lifetime,
        });
        Ok(value)
    }

    /// Drops the cached token if it is still `stale` (another task may
    /// have replaced it already).
    async fn forget(&self, stale: &Secret) {
        let mut cached = self.inner.token.lock().await;
        if cached.as_ref().is_some_and(|t| &t.value == stale) {
            *cached = None;
        }
    }
}

/// Text that Feishu shows as written: an `<at …>` tag in it (a user's
/// words echoed back, a name) would notify people, so its `<` becomes `＜`.
pub fn plain(text: &str) -> String {
    text.replace("<at", "＜at")
        .replace("<AT", "＜AT")
        .replace("<At", "＜At")
        .replace("<aT", "＜aT")
}

/// `<at user_id="ou_…">王敏</at>`: mentions a user by open_id; `None` for an
/// id that is not one.
pub fn at_tag(open_id: &str, name: &str) -> Option<String> {
    if !crate::domain::is_open_id(open_id) {
        return None;
    }
    let name: String = name
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '"' | '&') && !c.is_control())
        .collect();
    Some(format!("<at user_id=\"{open_id}\">{name}</at>"))
}

/// Feishu's `file_type` for an upload, by the file's extension.
fn file_type(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("doc" | "docx") => "doc",
        Some("xls" | "xlsx") => "xls",
        Some("ppt" | "pptx") => "ppt",
        Some("pdf") => "pdf",
        _ => "stream",
    }
}

/// The MIME type an upload declares, by the file's extension.
pub(crate) fn mime_of(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// The `content` of a text message: JSON in a string.
fn text_content(text: &str) -> String {
    json!({ "text": text }).to_string()
}

async fn read_answer(response: reqwest::Response) -> ApiAnswer {
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or(ApiAnswer {
        code: unreadable(),
        msg: text.chars().take(300).collect(),
        tenant_access_token: String::new(),
        expire: 0,
        data: serde_json::Value::Null,
    })
}

/// A transport error, without the URL (it is harmless, but keep errors short).
fn network(err: reqwest::Error) -> FeishuSendError {
    FeishuSendError::Network(err.without_url().to_string())
}
