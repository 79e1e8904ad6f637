//! The DingTalk (钉钉) robot in Stream mode: the daemon opens the connection
//! itself, so it needs no public address.
//!
//! In: the app's Client ID and secret (`[dingtalk]`). The gateway
//! (`POST /v1.0/gateway/connections/open`) returns a WebSocket endpoint and
//! a ticket; frames on it are JSON. SYSTEM `ping` is echoed, SYSTEM
//! `disconnect` closes and reconnects, every CALLBACK is acked. Out: a robot
//! message's text goes to [`CommandContext::handle`], whose reply is POSTed
//! to the message's `sessionWebhook`.

use super::{Caller, CommandContext, UserId, split_reply};
use crate::config::Secret;
use crate::health::{Health, Part};
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

/// The topic of messages sent to the robot.
pub const ROBOT_TOPIC: &str = "/v1.0/im/bot/messages/get";
/// The first wait after a failed connection; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// A quiet connection is pinged after this long ...
const IDLE_BEFORE_PING: Duration = Duration::from_secs(60);
/// ... and dropped when nothing at all arrives this long after the ping.
const PONG_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest WebSocket message accepted from the gateway.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Why a Stream connection could not be opened or was lost.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("opening the connection failed: {0}")]
    Open(#[from] reqwest::Error),
    #[error("the gateway refused the connection: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the gateway's endpoint is not a URL: {0}")]
    Endpoint(#[from] url::ParseError),
    #[error("the WebSocket failed: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the gateway did not answer a ping within {0:?}")]
    Silent(Duration),
}

/// One frame from the gateway.
#[derive(Debug, Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: FrameKind,
    #[serde(default)]
    headers: FrameHeaders,
    #[serde(default)]
    data: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
enum FrameKind {
    System,
    Event,
    Callback,
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FrameHeaders {
    #[serde(default)]
    message_id: String,
    #[serde(default)]
    topic: String,
}

/// A message to the robot (the `data` of a robot CALLBACK frame).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BotMessage {
    text: Option<BotText>,
    sender_staff_id: Option<String>,
    #[serde(default)]
    sender_nick: String,
    /// "1": a one-to-one chat; "2": a group.
    #[serde(default)]
    conversation_type: String,
    /// The group's openConversationId (`cid…`).
    conversation_id: Option<String>,
    session_webhook: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BotText {
    content: String,
}

#[derive(Debug, Deserialize)]
struct Connection {
    endpoint: String,
    ticket: String,
}

/// How a connection ended without an error of ours.
enum Ended {
    Shutdown,
    /// The gateway asked us to reconnect, or closed the socket.
    Reconnect,
}

/// The Stream client of one DingTalk app.
pub struct StreamClient {
    http: reqwest::Client,
    client_id: String,
    client_secret: Secret,
    gateway_url: String,
    context: Arc<CommandContext>,
    health: Health,
    /// The last connection got through the handshake: a failure after it
    /// starts the backoff again from its first step.
    was_connected: std::sync::atomic::AtomicBool,
}

impl StreamClient {
    /// `None` when `[dingtalk] client_id` or the secret is missing.
    pub fn new(context: Arc<CommandContext>, health: Health) -> anyhow::Result<Option<Self>> {
        let settings = &context.settings.dingtalk;
        let Some((client_id, secret)) = settings.credentials() else {
            return Ok(None);
        };
        // No redirects: a reply goes to the checked sessionWebhook and nowhere else.
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .user_agent(crate::process::USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(StreamClient {
            http,
            client_id: client_id.to_string(),
            client_secret: secret.clone(),
            gateway_url: settings.gateway_url.trim_end_matches('/').to_string(),
            context: context.clone(),
            health,
            was_connected: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Connects, answers, reconnects with backoff until `shutdown`; never
    /// returns an error (each one is logged and counted in the health).
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let wait = match self.connect_once(&shutdown).await {
                Ok(Ended::Shutdown) => return Ok(()),
                Ok(Ended::Reconnect) => {
                    backoff = FIRST_BACKOFF;
                    Duration::ZERO
                }
                Err(err) => {
                    if self
                        .was_connected
                        .swap(false, std::sync::atomic::Ordering::Relaxed)
                    {
                        // A connection that worked dropped: not the Nth failure in a row.
                        backoff = FIRST_BACKOFF;
                    }
                    let error = self.health.redact(&err.to_string());
                    tracing::warn!(error = %error, retry_in_s = backoff.as_secs(), "dingtalk stream failed");
                    self.health
                        .failed(Part::Dingtalk, &error, chrono::Utc::now());
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Opens one connection and serves it until it ends.
    async fn connect_once(&self, shutdown: &CancellationToken) -> Result<Ended, StreamError> {
        let connection = self.open().await?;
        let mut url = url::Url::parse(&connection.endpoint)?;
        url.query_pairs_mut()
            .append_pair("ticket", &connection.ticket);
        // Robot messages are small JSON: a gateway message over 1 MiB is refused.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let connecting =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), false);
        // A stalled handshake is a failed connection, and shutdown does not wait for it.
        let (socket, _) = tokio::select! {
            () = shutdown.cancelled() => return Ok(Ended::Shutdown),
            connected = tokio::time::timeout(HTTP_TIMEOUT, connecting) => match connected {
                Ok(connected) => connected?,
                Err(_) => return Err(StreamError::Silent(HTTP_TIMEOUT)),
            },
        };
        tracing::info!("dingtalk stream connected");
        self.was_connected
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.health.succeeded(Part::Dingtalk, chrono::Utc::now());
        let (mut sink, mut stream) = socket.split();
        let mut is_pinged = false;
        loop {
            let wait = if is_pinged {
                PONG_TIMEOUT
            } else {
                IDLE_BEFORE_PING
            };
            let next = tokio::select! {
                () = shutdown.cancelled() => {
                    let _ = sink.close().await;
                    return Ok(Ended::Shutdown);
                }
                next = tokio::time::timeout(wait, stream.next()) => next,
            };
            let message = match next {
                Err(_) if is_pinged => return Err(StreamError::Silent(PONG_TIMEOUT)),
                Err(_) => {
                    sink.send(WsMessage::Ping(Vec::new().into())).await?;
                    is_pinged = true;
                    continue;
                }
                Ok(None) => return Ok(Ended::Reconnect),
                Ok(Some(message)) => message?,
            };
            is_pinged = false;
            let text = match message {
                WsMessage::Text(text) => text,
                WsMessage::Close(_) => return Ok(Ended::Reconnect),
                WsMessage::Pong(_) => {
                    self.health.succeeded(Part::Dingtalk, chrono::Utc::now());
                    continue;
                }
                _ => continue,
            };
            let frame: Frame = match serde_json::from_str(text.as_str()) {
                Ok(frame) => frame,
                Err(err) => {
                    tracing::warn!(error = %err, "dingtalk frame is not JSON; ignored");
                    continue;
                }
            };
            if frame.kind == FrameKind::System && frame.headers.topic == "disconnect" {
                tracing::info!("dingtalk gateway asked to reconnect");
                // Acknowledged first, as the SDKs do, then closed.
                let reply = self.answer(frame);
                let _ = sink.send(WsMessage::Text(reply.to_string().into())).await;
                let _ = sink.close().await;
                return Ok(Ended::Reconnect);
            }
            let reply = self.answer(frame);
            sink.send(WsMessage::Text(reply.to_string().into())).await?;
            self.health.succeeded(Part::Dingtalk, chrono::Utc::now());
        }
    }

    /// `POST {gateway}/v1.0/gateway/connections/open`.
    async fn open(&self) -> Result<Connection, StreamError> {
        let body = json!({
            "clientId": self.client_id,
            "clientSecret": self.client_secret.expose(),
            "subscriptions": [{"type": "CALLBACK", "topic": ROBOT_TOPIC}],
            "ua": crate::process::USER_AGENT,
        });
        let response = self
            .http
            .post(format!(
                "{}/v1.0/gateway/connections/open",
                self.gateway_url
            ))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body: String = response.text().await.unwrap_or_default();
            return Err(StreamError::Refused {
                status: status.as_u16(),
                body: body.chars().take(300).collect(),
            });
        }
        Ok(response.json().await?)
    }

    /// The response frame for one gateway frame; a robot message is handled
    /// in its own task so the connection keeps being served.
    fn answer(&self, frame: Frame) -> serde_json::Value {
        let message_id = frame.headers.message_id.clone();
        let data = match frame.kind {
            // `ping` (and any other system frame) is echoed with its data.
            FrameKind::System => frame.data,
            FrameKind::Callback => {
                if frame.headers.topic == ROBOT_TOPIC {
                    self.spawn_command(&frame.data);
                }
                json!({ "response": null }).to_string()
            }
            FrameKind::Event | FrameKind::Other => {
                json!({ "status": "SUCCESS", "message": "ok" }).to_string()
            }
        };
        json!({
            "code": 200,
            "headers": { "contentType": "application/json", "messageId": message_id },
            "message": "OK",
            "data": data,
        })
    }

    fn spawn_command(&self, data: &str) {
        let message: BotMessage = match serde_json::from_str(data) {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(error = %err, "dingtalk robot message unreadable; ignored");
                return;
            }
        };
        let (context, http) = (self.context.clone(), self.http.clone());
        let gateway = self.gateway_url.clone();
        tokio::spawn(async move {
            let handled = std::panic::AssertUnwindSafe(command(&context, &http, &gateway, message))
                .catch_unwind()
                .await;
            if let Err(payload) = handled {
                let cause = crate::process::panic_text(payload);
                metrics::counter!("xunjian_command_panics_total").increment(1);
                tracing::error!(cause = %cause, "a dingtalk command panicked");
            }
        });
    }
}

/// Runs one robot message through the command handler and sends the reply
/// to its session webhook.
async fn command(
    context: &CommandContext,
    http: &reqwest::Client,
    gateway: &str,
    message: BotMessage,
) {
    let (Some(staff), Some(text), Some(webhook)) = (
        message.sender_staff_id,
        message.text,
        message.session_webhook,
    ) else {
        tracing::debug!("dingtalk message without staffId, text or sessionWebhook; ignored");
        return;
    };
    if !is_dingtalk_webhook(&webhook, gateway) {
        tracing::warn!(user = %staff, "dingtalk sessionWebhook is not on DingTalk; no reply sent");
        return;
    }
    let caller = Caller {
        user: UserId::Dingtalk(staff),
        name: message.sender_nick,
        is_private_chat: message.conversation_type == "1",
        chat: message.conversation_id,
        bot_username: None,
        // DingTalk sends the robot only the group messages that @-mention it.
        is_addressed_to_bot: true,
    };
    let Some(reply) = context
        .handle(&caller, text.content.trim(), chrono::Utc::now())
        .await
    else {
        return;
    };
    for part in split_reply(&reply) {
        let body = json!({ "msgtype": "text", "text": { "content": part } });
        let sent = http.post(&webhook).json(&body).send().await;
        let failure = match sent {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("HTTP {}", response.status().as_u16())),
            // Without the URL: the session webhook carries a session token.
            Err(err) => Some(err.without_url().to_string()),
        };
        if let Some(failure) = failure {
            tracing::warn!(user = %caller.user, error = %failure, "cannot send a dingtalk reply");
            break;
        }
    }
}

/// Whether a sessionWebhook is DingTalk's (https on `dingtalk.com`), or on
/// the configured gateway's own host (a private deployment, a test fake):
/// replies never go to an address a message names elsewhere.
fn is_dingtalk_webhook(webhook: &str, gateway: &str) -> bool {
    let Ok(url) = url::Url::parse(webhook) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let is_dingtalk =
        url.scheme() == "https" && (host == "dingtalk.com" || host.ends_with(".dingtalk.com"));
    let is_gateway = url::Url::parse(gateway).ok().is_some_and(|g| {
        g.host_str() == Some(host)
            && g.scheme() == url.scheme()
            && g.port_or_known_default() == url.port_or_known_default()
    });
    is_dingtalk || is_gateway
}

#[cfg(test)]
mod tests {
    use super::is_dingtalk_webhook;

    #[test]
    fn replies_go_only_to_dingtalk_or_the_gateways_own_host() {
        let gateway = "https://api.dingtalk.com";
        for ok in [
            "https://oapi.dingtalk.com/robot/sendBySession?session=abc",
            "https://dingtalk.com/x",
        ] {
            assert!(is_dingtalk_webhook(ok, gateway), "{ok}");
        }
        for bad in [
            "http://oapi.dingtalk.com/robot/sendBySession",
            "https://dingtalk.com.evil.example/x",
            "https://evildingtalk.com/x",
            "http://127.0.0.1:5432/",
            "http://169.254.169.254/latest/meta-data",
            "not a url",
        ] {
            assert!(!is_dingtalk_webhook(bad, gateway), "{bad}");
        }
        assert!(is_dingtalk_webhook(
            "http://127.0.0.1:4000/session/1",
            "http://127.0.0.1:4000"
        ));
        assert!(!is_dingtalk_webhook(
            "http://127.0.0.1:5432/session/1",
            "http://127.0.0.1:4000"
        ));
    }
}
