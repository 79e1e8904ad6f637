//! Events of the long connection (JSON, schema 2.0): what a message to the
//! bot (`im.message.receive_v1`) says, and which events were seen already.
//!
//! In: a data frame's whole payload. Out: an [`Event`]. Pure.

use serde::Deserialize;
use std::collections::{HashSet, VecDeque};

/// The event of a message sent to the bot (one-to-one, or @bot in a group).
pub const MESSAGE_RECEIVE: &str = "im.message.receive_v1";

/// One event, as far as the bot cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Unique per event; a redelivered event has the same one.
    pub id: String,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Message(IncomingMessage),
    /// Any other event type (acknowledged, otherwise ignored).
    Other(String),
}

/// A message sent to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    pub message_id: String,
    pub chat_id: String,
    /// The sender's open_id; `None` for a sender that is not a user (a bot).
    pub sender: Option<String>,
    /// A one-to-one chat (`chat_type` "p2p"); else a group.
    pub is_private_chat: bool,
    /// The text with the `@_user_N` mention placeholders removed; `None`
    /// for a message that is not text (an image, a file, a card).
    pub text: Option<String>,
}

/// Why a payload is not an event we can read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the payload is not JSON of a schema 2.0 event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the event has no {0}")]
    Missing(&'static str),
}

#[derive(Deserialize)]
struct Envelope {
    header: Option<EnvelopeHeader>,
    #[serde(default)]
    event: serde_json::Value,
}

#[derive(Deserialize)]
struct EnvelopeHeader {
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    event_type: String,
}

#[derive(Deserialize)]
struct ReceiveEvent {
    sender: Sender,
    message: Message,
}

#[derive(Deserialize)]
struct Sender {
    #[serde(default)]
    sender_id: SenderId,
    #[serde(default)]
    sender_type: String,
}

#[derive(Deserialize, Default)]
struct SenderId {
    open_id: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    message_id: String,
    #[serde(default)]
    chat_id: String,
    #[serde(default)]
    chat_type: String,
    #[serde(default)]
    message_type: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    mentions: Vec<Mention>,
}

#[derive(Deserialize)]
struct Mention {
    #[serde(default)]
    key: String,
}

#[derive(Deserialize)]
struct TextContent {
    #[serde(default)]
    text: String,
}

/// Reads an event from a data frame's payload.
pub fn parse_event(payload: &[u8]) -> Result<Event, EventError> {
    let envelope: Envelope = serde_json::from_slice(payload)?;
    let header = envelope.header.ok_or(EventError::Missing("header"))?;
    if header.event_id.is_empty() {
        return Err(EventError::Missing("header.event_id"));
    }
    if header.event_type != MESSAGE_RECEIVE {
        return Ok(Event {
            id: header.event_id,
            kind: EventKind::Other(header.event_type),
        });
    }
    let event: ReceiveEvent = serde_json::from_value(envelope.event)?;
    let message = event.message;
    let text = (message.message_type == "text")
        .then(|| serde_json::from_str::<TextContent>(&message.content))
        .transpose()?
        .map(|content| strip_mentions(&content.text, &message.mentions));
    let is_user = event.sender.sender_type.is_empty() || event.sender.sender_type == "user";
    Ok(Event {
        id: header.event_id,
        kind: EventKind::Message(IncomingMessage {
            message_id: message.message_id,
            chat_id: message.chat_id,
            sender: event
                .sender
                .sender_id
                .open_id
                .filter(|id| is_user && !id.is_empty()),
            is_private_chat: message.chat_type == "p2p",
            text,
        }),
    })
}

/// The text without the mention placeholders (`@_user_1`, `@_all`): a
/// group message to the bot starts with the bot's own.
fn strip_mentions(text: &str, mentions: &[Mention]) -> String {
    let mut keys: Vec<&str> = mentions
        .iter()
        .map(|m| m.key.as_str())
        .filter(|k| k.starts_with('@'))
        .collect();
    keys.push("@_all");
    // Longest first: `@_user_1` must not eat the start of `@_user_10`.
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = text.to_string();
    for key in keys {
        out = out.replace(key, " ");
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The most event ids remembered for spotting redeliveries.
pub const SEEN_EVENTS: usize = 1024;

/// The ids of the last [`SEEN_EVENTS`] events: Feishu redelivers an event
/// whose ack it missed, and it must be answered once.
#[derive(Debug, Default)]
pub struct SeenEvents {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl SeenEvents {
    /// Records `id`; false when it was seen already.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= SEEN_EVENTS {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
        self.order.push_back(id.to_string());
        self.ids.insert(id.to_string());
        true
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
