//! The DingTalk app's robot as a sender: alerts, reports (with the .docx,
//! XLSX and chart, uploaded to `media/upload` first) and notes to a
//! group (`group:openConversationId`) or privately to a user
//! (`user:staffId`), through DingTalk's open API — the same robot that takes
//! commands in Stream mode, so people can answer where they read.
//!
//! An access token (`POST /v1.0/oauth2/accessToken`) is kept until shortly
//! before it expires and fetched again once when DingTalk rejects it.

use super::SendError;
use crate::config::{DingtalkSettings, Secret};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Bytes of text one message may carry (DingTalk allows about 20,000).
const MAX_BYTES: usize = 18_000;
/// A token is fetched again this long before DingTalk says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The app's robot, sending.
pub struct DingtalkApp {
    http: reqwest::Client,
    base_url: String,
    /// DingTalk's older API, where files are uploaded (`media/upload`).
    oapi_url: String,
    client_id: String,
    client_secret: Secret,
    robot_code: String,
    token: Mutex<Option<(Secret, Instant)>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenReply {
    access_token: Option<String>,
    expire_in: Option<u64>,
}

/// Where a message goes.
enum Target<'a> {
    Group(&'a str),
    User(&'a str),
}

impl Target<'_> {
    /// `group:cid…` or `user:staffId`.
    fn parse(recipient: &str) -> Result<Target<'_>, SendError> {
        match recipient.split_once(':') {
            Some(("group", id)) if !id.is_empty() => Ok(Target::Group(id)),
            Some(("user", id)) if !id.is_empty() => Ok(Target::User(id)),
            _ => Err(SendError::Broken(format!(
                "\"{recipient}\" is not a DingTalk recipient (group:openConversationId or user:staffId)"
            ))),
        }
    }
}

impl DingtalkApp {
    /// `None` unless `[dingtalk] client_id` and its secret are set.
    pub fn new(settings: &DingtalkSettings) -> anyhow::Result<Option<DingtalkApp>> {
        let (Some((client_id, secret)), Some(robot_code)) =
            (settings.credentials(), settings.robot_code())
        else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Some(DingtalkApp {
            http,
            base_url: settings.gateway_url.trim_end_matches('/').to_string(),
            oapi_url: settings.oapi_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: secret.clone(),
            robot_code: robot_code.to_string(),
            token: Mutex::new(None),
        }))
    }

    /// A message as the parts it goes out in.
    pub fn parts(&self, body: &str) -> Vec<String> {
        super::robots::split_bytes(body, MAX_BYTES)
    }

    /// Sends one part to `recipient` (`group:cid…` or `user:staffId`).
    pub async fn send_part(&self, recipient: &str, text: &str) -> Result<(), SendError> {
        let target = Target::parse(recipient)?;
        let param = json!({ "content": text });
        self.send_message(&target, "sampleText", &param).await
    }

    /// Sends a file to `recipient`: uploaded to `media/upload`, then a
    /// file message (`sampleFile`), or an image message for the chart.
    pub async fn send_file(
        &self,
        recipient: &str,
        file: &crate::storage::Attachment,
    ) -> Result<(), SendError> {
        let target = Target::parse(recipient)?;
        let is_image = file.kind == crate::domain::FileKind::Photo;
        let media_id = self.upload(file, is_image).await?;
        let (key, param) = if is_image {
            ("sampleImageMsg", json!({ "photoURL": media_id }))
        } else {
            let extension = file
                .name
                .rsplit_once('.')
                .map_or("file", |(_, ext)| ext)
                .to_ascii_lowercase();
            (
                "sampleFile",
                json!({ "mediaId": media_id, "fileName": file.name, "fileType": extension }),
            )
        };
        self.send_message(&target, key, &param).await
    }

    /// Uploads a file (`type` image or file); its media_id.
    async fn upload(
        &self,
        file: &crate::storage::Attachment,
        is_image: bool,
    ) -> Result<String, SendError> {
        let transient = |message: String| SendError::Transient {
            message,
            retry_after: None,
        };
        let mut is_refresh = false;
        loop {
            let token = self.token(is_refresh).await?;
            let part = reqwest::multipart::Part::bytes(file.data.clone())
                .file_name(file.name.clone())
                .mime_str(super::feishu::mime_of(&file.name))
                .map_err(|e| transient(e.to_string()))?;
            let kind = if is_image { "image" } else { "file" };
            // The token travels in the URL: errors below never show it.
            let response = self
                .http
                .post(format!("{}/media/upload", self.oapi_url))
                .query(&[("access_token", token.expose()), ("type", kind)])
                .multipart(reqwest::multipart::Form::new().part("media", part))
                .send()
                .await
                .map_err(|e| transient(format!("DingTalk upload: {}", e.without_url())))?;
            let status = response.status();
            let reply: Value = response.json().await.unwrap_or(Value::Null);
            let code = reply.get("errcode").and_then(Value::as_i64).unwrap_or(-1);
            if let (0, Some(id)) = (code, reply.get("media_id").and_then(Value::as_str)) {
                return Ok(id.to_string());
            }
            // 40014 and 42001: an invalid or expired token.
            if matches!(code, 40014 | 42001) && !is_refresh {
                is_refresh = true;
                continue;
            }
            let message = reply.get("errmsg").and_then(Value::as_str).unwrap_or("");
            let what = format!(
                "DingTalk upload of {}: HTTP {} errcode {code} {message}",
                file.name,
                status.as_u16()
            );
            // A file DingTalk will never take (too large, a bad type) is
            // retried with backoff and given up: the text has gone out.
            return Err(transient(what));
        }
    }

    /// Sends one message of the robot (`msgKey` and its `msgParam`).
    async fn send_message(
        &self,
        target: &Target<'_>,
        key: &str,
        param: &Value,
    ) -> Result<(), SendError> {
        let param = param.to_string();
        let token = self.token(false).await?;
        match self.post(target, key, &param, &token).await {
            Err(Rejected::Token) => {
                let token = self.token(true).await?;
                self.post(target, key, &param, &token)
                    .await
                    .map_err(Rejected::into_send_error)
            }
            other => other.map_err(Rejected::into_send_error),
        }
    }

    async fn post(
        &self,
        target: &Target<'_>,
        key: &str,
        param: &str,
        token: &Secret,
    ) -> Result<(), Rejected> {
        let (path, body) = match target {
            Target::Group(conversation) => (
                "/v1.0/robot/groupMessages/send",
                json!({
                    "robotCode": self.robot_code,
                    "openConversationId": conversation,
                    "msgKey": key,
                    "msgParam": param,
                }),
            ),
            Target::User(staff) => (
                "/v1.0/robot/oToMessages/batchSend",
                json!({
                    "robotCode": self.robot_code,
                    "userIds": [staff],
                    "msgKey": key,
                    "msgParam": param,
                }),
            ),
        };
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("x-acs-dingtalk-access-token", token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| Rejected::Transient(e.without_url().to_string()))?;
        let status = response.status();
        let reply: Value = match response.json().await {
            Ok(reply) => reply,
            // DingTalk took it; only its answer was lost: not sent twice.
            Err(_) if status.is_success() => return Ok(()),
            // Cut off, or not JSON (a proxy's page): no verdict from DingTalk.
            Err(err) if status.is_server_error() => {
                return Err(Rejected::Transient(format!(
                    "DingTalk HTTP {}: unreadable answer: {}",
                    status.as_u16(),
                    err.without_url()
                )));
            }
            Err(_) => Value::Null,
        };
        let code = reply.get("code").and_then(Value::as_str).unwrap_or("");
        let message = reply.get("message").and_then(Value::as_str).unwrap_or("");
        if status.is_success() {
            if let Target::User(staff) = target {
                let is_invalid = |key: &str| {
                    reply
                        .get(key)
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(staff)))
                };
                if is_invalid("invalidStaffIdList") {
                    return Err(Rejected::Broken(format!(
                        "DingTalk: staffId \"{staff}\" is not a member the robot can reach"
                    )));
                }
                if is_invalid("flowControlledStaffIdList") {
                    return Err(Rejected::Transient("DingTalk: rate limited".to_string()));
                }
            }
            return Ok(());
        }
        let what = format!("DingTalk HTTP {}: {code} {message}", status.as_u16());
        let is_token = status.as_u16() == 401 || code.contains("InvalidAuthentication");
        let is_busy = status.as_u16() == 429
            || status.is_server_error()
            || code.contains("Throttling")
            || code.contains("Flowcontrol");
        Err(if is_token {
            Rejected::Token
        } else if is_busy {
            Rejected::Transient(what)
        } else {
            Rejected::Broken(what)
        })
    }

    /// The access token, fetched when there is none, it is about to expire,
    /// or `is_refresh` (DingTalk rejected it).
    async fn token(&self, is_refresh: bool) -> Result<Secret, SendError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if !is_refresh && Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let response = self
            .http
            .post(format!("{}/v1.0/oauth2/accessToken", self.base_url))
            .json(&json!({ "appKey": self.client_id, "appSecret": self.client_secret.expose() }))
            .send()
            .await
            .map_err(|e| SendError::Transient {
                message: format!("DingTalk access token: {}", e.without_url()),
                retry_after: None,
            })?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(SendError::Transient {
                message: format!("DingTalk access token: HTTP {}", status.as_u16()),
                retry_after: None,
            });
        }
        let reply: Option<TokenReply> = response.json().await.ok();
        let Some((token, expire_in)) =
            reply.and_then(|r| Some((r.access_token?, r.expire_in.unwrap_or(7200))))
        else {
            // Credentials affect every chat of the app, so no single chat is
            // broken: retried with backoff, given up after the attempts (the
            // admins are told), and the Stream connection's health shows it.
            return Err(SendError::Transient {
                message: format!(
                    "DingTalk gave no access token (HTTP {}): check dingtalk.client_id and XUNJIAN_DINGTALK_CLIENT_SECRET",
                    status.as_u16()
                ),
                retry_after: None,
            });
        };
        // At least a minute, whatever DingTalk says.
        let lifetime = Duration::from_secs(expire_in)
            .saturating_sub(TOKEN_MARGIN)
            .max(Duration::from_secs(60));
        let token = Secret::new(token);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }
}

/// How DingTalk answered a send.
enum Rejected {
    /// The token expired or was revoked: fetch another once.
    Token,
    Transient(String),
    Broken(String),
}

impl Rejected {
    fn into_send_error(self) -> SendError {
        match self {
            Rejected::Token => SendError::Transient {
                message: "DingTalk rejected a fresh access token".to_string(),
                retry_after: None,
            },
            Rejected::Transient(message) => SendError::Transient {
                message,
                retry_after: None,
            },
            Rejected::Broken(reason) => SendError::Broken(reason),
        }
    }
}
