//! WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书) group robots: text within
//! each platform's size limit, DingTalk and Feishu signatures, each platform's
//! rate limit, and errors in the JSON reply treated as failures.

use super::SendError;
use crate::alerts::compose::Mention;
use crate::config::RobotSettings;
pub use crate::domain::RobotKind;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One group robot.
pub struct Robot {
    pub name: String,
    pub kind: RobotKind,
    webhook: String,
    secret: Option<String>,
    client: reqwest::Client,
    sent: Mutex<VecDeque<Instant>>,
}

impl Robot {
    pub fn new(name: &str, settings: &RobotSettings) -> anyhow::Result<Robot> {
        let kind = settings.kind;
        let webhook = settings
            .webhook
            .as_ref()
            .map(|w| w.expose().to_string())
            .ok_or_else(|| anyhow::anyhow!("robots.{name}: no webhook URL in the environment"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Robot {
            name: name.to_string(),
            kind,
            webhook,
            secret: settings.secret.as_ref().map(|s| s.expose().to_string()),
            client,
            sent: Mutex::new(VecDeque::new()),
        })
    }

    /// Sends a message, split to the platform's size limit.
    pub async fn send(&self, body: &str, mentions: &[Mention]) -> Result<(), SendError> {
        for part in self.parts(body) {
            self.send_part(&part, mentions).await?;
        }
        Ok(())
    }

    /// A message as the parts it goes out in, each under the robot's limit.
    pub fn parts(&self, body: &str) -> Vec<String> {
        split_bytes(body, self.kind.max_bytes())
    }

    /// Sends one part made by [`Robot::parts`], mentioning the contacts.
    pub async fn send_part(&self, part: &str, mentions: &[Mention]) -> Result<(), SendError> {
        let phones: Vec<String> = mentions.iter().filter_map(|m| m.phone.clone()).collect();
        self.wait_for_rate_limit()?;
        self.post(part, &phones).await
    }

    /// Only WeCom robots can send files (upload, then a `file` message).
    pub fn takes_files(&self) -> bool {
        self.kind.takes_files()
    }

    /// Sends a file through a WeCom robot: upload_media, then a file message.
    pub async fn send_file(&self, file: &crate::storage::Attachment) -> Result<(), SendError> {
        let transient = |message: String| SendError::Transient {
            message,
            retry_after: None,
        };
        let mut upload = url::Url::parse(&self.webhook)
            .map_err(|e| SendError::Broken(format!("robot {}: webhook URL: {e}", self.name)))?;
        // The webhook's key travels in its URL: errors below never show it.
        let path = upload.path().replace("/send", "/upload_media");
        upload.set_path(&path);
        upload.query_pairs_mut().append_pair("type", "file");
        self.wait_for_rate_limit()?;
        let part = reqwest::multipart::Part::bytes(file.data.clone())
            .file_name(file.name.clone())
            .mime_str("application/octet-stream")
            .map_err(|e| transient(e.to_string()))?;
        let reply: Value = self
            .client
            .post(upload)
            .multipart(reqwest::multipart::Form::new().part("media", part))
            .send()
            .await
            .map_err(|e| transient(format!("robot {}: upload: {}", self.name, e.without_url())))?
            .json()
            .await
            .map_err(|e| {
                transient(format!(
                    "robot {}: upload reply: {}",
                    self.name,
                    e.without_url()
                ))
            })?;
        let Some(media_id) = reply
            .get("media_id")
            .and_then(Value::as_str)
            .filter(|_| reply["errcode"] == 0)
        else {
            return Err(SendError::Transient {
                message: format!("robot {}: upload refused: {reply}", self.name),
                retry_after: Some(Duration::from_secs(60)),
            });
        };
        self.post_json(
            json!({ "msgtype": "file", "file": { "media_id": media_id } }),
            &self.webhook,
        )
        .await
    }

    /// Refuses (as transient) a send that would exceed the platform's rate.
    fn wait_for_rate_limit(&self) -> Result<(), SendError> {
        let mut sent = self.sent.lock().map_err(|_| SendError::Transient {
            message: "rate limiter poisoned".into(),
            retry_after: None,
        })?;
        let window = Duration::from_secs(60);
        while sent.front().is_some_and(|t| t.elapsed() > window) {
            sent.pop_front();
        }
        if sent.len() >= self.kind.per_minute() {
            let wait = sent
                .front()
                .map_or(window, |t| window.saturating_sub(t.elapsed()));
            return Err(SendError::Transient {
                message: format!(
                    "robot {}: {} messages a minute reached",
                    self.name,
                    self.kind.per_minute()
                ),
                retry_after: Some(wait),
            });
        }
        sent.push_back(Instant::now());
        Ok(())
    }

    async fn post(&self, text: &str, phones: &[String]) -> Result<(), SendError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let (url, body) = match self.kind {
            RobotKind::WeCom => (
                self.webhook.clone(),
                json!({ "msgtype": "text", "text": { "content": text, "mentioned_mobile_list": phones } }),
            ),
            RobotKind::DingTalk => {
                let mut url = self.webhook.clone();
                if let Some(secret) = &self.secret {
                    let sign = dingtalk_sign(secret, now_ms);
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
                    url.push_str(&format!("&timestamp={now_ms}&sign={encoded}"));
                }
                (
                    url,
                    json!({ "msgtype": "text", "text": { "content": text }, "at": { "atMobiles": phones } }),
                )
            }
            RobotKind::Feishu => {
                let mut body = json!({ "msg_type": "text", "content": { "text": text } });
                if let Some(secret) = &self.secret {
                    let seconds = now_ms / 1000;
                    body["timestamp"] = json!(seconds.to_string());
                    body["sign"] = json!(feishu_sign(secret, seconds));
                }
                (self.webhook.clone(), body)
            }
        };
        self.post_json(body, &url).await
    }

    /// Posts a JSON message and reads the platform's verdict from the reply.
    async fn post_json(&self, body: Value, url: &str) -> Result<(), SendError> {
        let response = self
            .client
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Transient {
                // reqwest names the URL, and with it the robot's key or token.
                message: format!("robot {}: {}", self.name, crate::fetch::http_error_text(&e)),
                retry_after: None,
            })?;
        let status = response.status();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(SendError::Transient {
                message: format!("robot {}: HTTP {status}", self.name),
                retry_after: None,
            });
        }
        let code = reply
            .get("errcode")
            .or_else(|| reply.get("code"))
            .or_else(|| reply.get("StatusCode"))
            .and_then(Value::as_i64);
        let message = reply
            .get("errmsg")
            .or_else(|| reply.get("msg"))
            .or_else(|| reply.get("StatusMessage"))
            .and_then(Value::as_str)
            .unwrap_or("");
        match code {
            Some(0) => Ok(()),
            // Rate limits: WeCom 45009, DingTalk 130101, Feishu 11232.
            Some(45009 | 130101 | 11232) => Err(SendError::Transient {
                message: format!("robot {}: rate limited ({message})", self.name),
                retry_after: Some(Duration::from_secs(60)),
            }),
            Some(code) => Err(SendError::Broken(format!(
                "robot {}: error {code}: {message}",
                self.name
            ))),
            None if status.is_success() => Err(SendError::Transient {
                message: format!("robot {}: unexpected reply {reply}", self.name),
                retry_after: None,
            }),
            None => Err(SendError::Broken(format!(
                "robot {}: HTTP {status}",
                self.name
            ))),
        }
    }
}

/// DingTalk: Base64(HmacSHA256(key = secret, "{timestamp_ms}\n{secret}")).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Feishu: Base64(HmacSHA256(key = "{timestamp_s}\n{secret}", empty message)).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Splits at line ends into parts of at most `max` bytes (on char boundaries).
pub(super) fn split_bytes(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if current.len() + line.len() > max && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        if line.len() > max {
            for ch in line.chars() {
                if current.len() + ch.len_utf8() > max {
                    parts.push(std::mem::take(&mut current));
                }
                current.push(ch);
            }
        } else {
            current.push_str(line);
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_fit_the_byte_limit_and_keep_every_character() {
        let text = "区市政管理局「市政兰山」已 187 天未更新\n".repeat(200);
        let parts = split_bytes(&text, 2000);
        assert!(parts.iter().all(|p| p.len() <= 2000));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn signatures_are_base64_hmac_sha256() {
        // Known answers computed independently with Python's hmac and base64.
        assert_eq!(
            dingtalk_sign("SECabc", 1_700_000_000_000),
            "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="
        );
        assert_eq!(
            feishu_sign("abc", 1_700_000_000),
            "VIS10b0EBvzzSdFnuk4tznEmK5wHaruvf/WnViv2yR4="
        );
    }
}
