//! The Feishu (飞书) bot over the long connection (长连接): the daemon opens
//! the connection itself, so it needs no public address.
//!
//! In: the app's App ID and secret (`[feishu]`). `POST /callback/ws/endpoint`
//! returns a WebSocket URL (with `service_id`) and a [`frame::ClientConfig`];
//! every WebSocket message is a protobuf [`frame::Frame`]. We ping every
//! `PingInterval`, put multi-part payloads together, ack every data frame
//! and read `im.message.receive_v1` events. Out: a message's text goes to
//! [`CommandContext::handle`] in its own task; the reply goes through
//! [`FeishuApi::reply`].

mod endpoint;
pub mod event;
pub mod frame;
mod keepalive;

pub use crate::notify::feishu::{FeishuApi, FeishuSendError, at_tag, plain};

use super::{Caller, CommandContext, UserId};
use crate::config::Secret;
use crate::health::{Health, Part};
use event::{EventKind, IncomingMessage, SeenEvents};
use frame::{Assembled, ClientConfig, Frame, Reassembly};
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use keepalive::{Keepalive, Wake};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

/// Where the long connection's WebSocket URL is asked for.
pub const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
/// The first wait after a failed connection; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// The reply to a message that is not text, in a one-to-one chat.
const NOT_TEXT_HINT: &str = "目前只能处理文字消息。请发送命令文字，例如 /help。";

/// Why a long connection could not be opened or was lost.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("asking for the endpoint failed: {0}")]
    Open(String),
    #[error("the endpoint request was refused: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("Feishu refused the long connection: code {code}: {msg}")]
    Denied { code: i64, msg: String },
    #[error("the endpoint's answer has no usable URL: {0}")]
    Endpoint(&'static str),
    #[error("the WebSocket failed: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("Feishu did not answer a ping within {0:?}")]
    Silent(Duration),
}

/// What one WebSocket message came to.
enum Received {
    /// A frame; with the ack to send back, when it completed a data payload.
    Frame(Option<Frame>),
    /// The server closes the connection.
    Close,
    /// Not a frame (text, garbage): logged.
    Skipped,
}

/// How a connection ended without an error of ours.
enum Ended {
    Shutdown,
    /// The server closed the socket; `is_good` when it had spoken to us.
    Closed {
        is_good: bool,
    },
}

/// The long-connection client of one Feishu app.
pub struct LongConnection {
    http: reqwest::Client,
    app_id: String,
    app_secret: Secret,
    base_url: String,
    api: FeishuApi,
    context: Arc<CommandContext>,
    health: Health,
    /// Survives reconnects: a redelivered event is answered once.
    seen: SeenEvents,
    /// The server's reconnect policy from the last endpoint (ReconnectInterval,
    /// ReconnectNonce, in seconds), and whether that connection worked.
    reconnect: Option<(u64, u64)>,
    was_connected: bool,
}

impl LongConnection {
    /// `None` when `[feishu] app_id` or the secret is missing.
    pub fn new(context: Arc<CommandContext>, health: Health) -> anyhow::Result<Option<Self>> {
        let settings = &context.settings.feishu;
        let Some((app_id, secret)) = settings.credentials() else {
            return Ok(None);
        };
        let base_url = settings.base_url.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .user_agent(crate::process::USER_AGENT)
            .build()?;
        Ok(Some(LongConnection {
            http,
            app_id: app_id.to_string(),
            app_secret: secret.clone(),
            api: FeishuApi::new(&base_url, app_id, secret.clone())?,
            base_url,
            context: context.clone(),
            health,
            seen: SeenEvents::default(),
            reconnect: None,
            was_connected: false,
        }))
    }

    /// Connects, answers, reconnects with backoff until `shutdown`; never
    /// returns an error (each one is logged and counted in the health).
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let wait = match self.connect_once(&shutdown).await {
                Ok(Ended::Shutdown) => return Ok(()),
                Ok(Ended::Closed { is_good }) => {
                    let wait = self.after_connection(is_good, &mut backoff);
                    tracing::info!(
                        retry_in_ms = wait.as_millis() as u64,
                        "feishu closed the long connection"
                    );
                    wait
                }
                Err(err) => {
                    let was_connected = self.was_connected;
                    let wait = self.after_connection(was_connected, &mut backoff);
                    let error = self.health.redact(&err.to_string());
                    tracing::warn!(error = %error, retry_in_ms = wait.as_millis() as u64, "feishu long connection failed");
                    self.health.failed(Part::Feishu, &error, chrono::Utc::now());
                    wait
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The wait before the next attempt. After a connection that worked:
    /// a random part of the server's ReconnectNonce (so a fleet does not
    /// return at once), and the backoff starts again; after failures: the
    /// server's ReconnectInterval when it gave one, else the doubling backoff.
    fn after_connection(&mut self, was_good: bool, backoff: &mut Duration) -> Duration {
        self.was_connected = false;
        if was_good {
            *backoff = FIRST_BACKOFF;
            return match self.reconnect {
                Some((_, nonce)) if nonce > 0 => {
                    jitter(Duration::from_secs(nonce.min(MAX_BACKOFF.as_secs())))
                }
                _ => next_backoff(backoff),
            };
        }
        match self.reconnect {
            Some((interval, _)) if interval > 0 => {
                Duration::from_secs(interval.min(MAX_BACKOFF.as_secs()))
            }
            _ => next_backoff(backoff),
        }
    }

    /// Opens one connection and serves it until it ends.
    async fn connect_once(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<Ended, ConnectionError> {
        let endpoint =
            endpoint::open(&self.http, &self.base_url, &self.app_id, &self.app_secret).await?;
        let seconds = |n: i64| u64::try_from(n).unwrap_or(0);
        self.reconnect = Some((
            seconds(endpoint.config.reconnect_interval),
            seconds(endpoint.config.reconnect_nonce),
        ));
        let config = WebSocketConfig::default()
            .max_message_size(Some(frame::MAX_MESSAGE_BYTES))
            .max_frame_size(Some(frame::MAX_MESSAGE_BYTES));
        let connecting = tokio_tungstenite::connect_async_with_config(
            endpoint.url.as_str(),
            Some(config),
            false,
        );
        // A stalled handshake is a failed connection, and shutdown does not wait for it.
        let (socket, _) = tokio::select! {
            () = shutdown.cancelled() => return Ok(Ended::Shutdown),
            connected = tokio::time::timeout(HTTP_TIMEOUT, connecting) => match connected {
                Ok(connected) => connected?,
                Err(_) => return Err(ConnectionError::Silent(HTTP_TIMEOUT)),
            },
        };
        self.was_connected = true;
        // The URL carries the connection's credentials: only its host is logged.
        tracing::info!(
            host = endpoint.url.host_str().unwrap_or(""),
            "feishu long connection open"
        );
        self.health.succeeded(Part::Feishu, chrono::Utc::now());
        let (mut sink, mut stream) = socket.split();
        let mut keepalive = Keepalive::new(endpoint.config.ping_interval(), Instant::now());
        let mut parts = Reassembly::default();
        let mut is_good = false;
        loop {
            let wake_at = tokio::time::Instant::from_std(keepalive.next_wake());
            let next = tokio::select! {
                () = shutdown.cancelled() => {
                    let _ = sink.close().await;
                    return Ok(Ended::Shutdown);
                }
                () = tokio::time::sleep_until(wake_at) => None,
                next = stream.next() => Some(next),
            };
            let Some(next) = next else {
                match keepalive.wake(Instant::now()) {
                    Wake::Ping => {
                        let ping = Frame::ping(endpoint.service_id).to_bytes();
                        sink.send(WsMessage::Binary(ping.into())).await?;
                    }
                    Wake::Silent(waited) => return Err(ConnectionError::Silent(waited)),
                    Wake::Nothing => {}
                }
                continue;
            };
            let message = match next {
                None => return Ok(Ended::Closed { is_good }),
                Some(message) => message?,
            };
            keepalive.heard();
            match self.receive(message, &mut keepalive, &mut parts) {
                Received::Frame(Some(ack)) => {
                    is_good = true;
                    sink.send(WsMessage::Binary(ack.to_bytes().into())).await?;
                }
                Received::Frame(None) => is_good = true,
                Received::Close => return Ok(Ended::Closed { is_good }),
                Received::Skipped => {}
            }
        }
    }

    /// One WebSocket message from Feishu: a control or data frame handled,
    /// or anything else logged and skipped.
    fn receive(
        &mut self,
        message: WsMessage,
        keepalive: &mut Keepalive,
        parts: &mut Reassembly,
    ) -> Received {
        let bytes = match message {
            WsMessage::Binary(bytes) => bytes,
            WsMessage::Close(_) => return Received::Close,
            WsMessage::Text(_) => {
                tracing::warn!("feishu sent a text WebSocket message; ignored");
                return Received::Skipped;
            }
            _ => return Received::Skipped,
        };
        let frame = match Frame::from_bytes(&bytes) {
            Ok(frame) => frame,
            Err(err) => {
                tracing::warn!(error = %err, bytes = bytes.len(), "feishu frame is not a pbbp2 frame; ignored");
                return Received::Skipped;
            }
        };
        match frame.method {
            frame::METHOD_CONTROL => {
                self.control(&frame, keepalive);
                Received::Frame(None)
            }
            frame::METHOD_DATA => Received::Frame(self.data(frame, parts)),
            other => {
                tracing::debug!(method = other, "feishu frame of an unknown method; ignored");
                Received::Frame(None)
            }
        }
    }

    /// A pong (with, perhaps, a new config); pings from the server need no answer.
    fn control(&self, frame: &Frame, keepalive: &mut Keepalive) {
        if frame.kind() != "pong" {
            return;
        }
        self.health.succeeded(Part::Feishu, chrono::Utc::now());
        let Some(payload) = frame.payload.as_deref().filter(|p| !p.is_empty()) else {
            return;
        };
        match serde_json::from_slice::<ClientConfig>(payload) {
            Ok(config) => keepalive.set_interval(config.ping_interval()),
            Err(err) => tracing::debug!(error = %err, "feishu pong payload is not a ClientConfig"),
        }
    }

    /// A data frame: its payload put together and handled. Returns the ack
    /// once the payload is whole (each part of a multi-part payload is not
    /// acked on its own, as the SDKs do), for any payload we could read or not.
    fn data(&mut self, mut frame: Frame, parts: &mut Reassembly) -> Option<Frame> {
        let started = Instant::now();
        let number = |key: &str| {
            frame
                .header(key)
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let (sum, seq) = (number("sum").unwrap_or(1), number("seq").unwrap_or(0));
        let message_id = frame.header("message_id").unwrap_or("").to_string();
        let part = frame.payload.take().unwrap_or_default();
        let payload = match parts.add(&message_id, sum, seq, part, started) {
            Assembled::Complete(payload) => payload,
            Assembled::Waiting => return None,
            Assembled::Refused(why) => {
                tracing::warn!(why, sum, seq, "feishu frame part refused");
                return Some(frame.ack(started.elapsed()));
            }
        };
        if frame.kind() == "event" {
            self.event(&payload);
        } else {
            tracing::debug!(
                kind = frame.kind(),
                "feishu data frame of another type; acked"
            );
        }
        self.health.succeeded(Part::Feishu, chrono::Utc::now());
        Some(frame.ack(started.elapsed()))
    }

    /// An event: a new message to the bot starts a command task.
    fn event(&mut self, payload: &[u8]) {
        let event = match event::parse_event(payload) {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(error = %err, "feishu event unreadable; acked and ignored");
                return;
            }
        };
        if !self.seen.first_time(&event.id) {
            tracing::info!(event_id = %event.id, "feishu event delivered again; ignored");
            return;
        }
        match event.kind {
            EventKind::Message(message) => self.spawn_command(message),
            EventKind::Other(kind) => tracing::debug!(event_type = %kind, "feishu event ignored"),
        }
    }

    fn spawn_command(&self, message: IncomingMessage) {
        let (context, api) = (self.context.clone(), self.api.clone());
        tokio::spawn(async move {
            let handled = std::panic::AssertUnwindSafe(command(&context, &api, message))
                .catch_unwind()
                .await;
            if let Err(payload) = handled {
                let cause = crate::process::panic_text(payload);
                metrics::counter!("xunjian_command_panics_total").increment(1);
                tracing::error!(cause = %cause, "a feishu command panicked");
            }
        });
    }
}

/// A random share of `up_to` (the server's ReconnectNonce): clients told to
/// reconnect at once do not all come back in the same second.
fn jitter(up_to: Duration) -> Duration {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let millis = u64::try_from(up_to.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(hasher.finish() % millis.saturating_add(1))
}

/// The wait before the next attempt; doubles the next one, up to [`MAX_BACKOFF`].
fn next_backoff(backoff: &mut Duration) -> Duration {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    wait
}

/// Runs one message through the command handler and replies to it.
async fn command(context: &CommandContext, api: &FeishuApi, message: IncomingMessage) {
    let Some(open_id) = message.sender else {
        tracing::debug!("feishu message from a bot or without a sender; ignored");
        return;
    };
    let user = UserId::Feishu(open_id);
    let reply = match message.text {
        Some(text) => {
            let caller = Caller {
                user: user.clone(),
                name: String::new(),
                is_private_chat: message.is_private_chat,
                chat: Some(message.chat_id.clone()),
                bot_username: None,
                // A group message reaches the bot only when it @mentions it.
                is_addressed_to_bot: true,
            };
            context.handle(&caller, &text, chrono::Utc::now()).await
        }
        None if message.is_private_chat => Some(NOT_TEXT_HINT.to_string()),
        None => None,
    };
    let Some(reply) = reply else {
        return;
    };
    if let Err(err) = api.reply(&message.message_id, &reply).await {
        tracing::warn!(user = %user, error = %err, is_transient = err.is_transient(), "cannot send a feishu reply");
    }
}
