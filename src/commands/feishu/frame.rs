//! The long connection's binary frames (protobuf `pbbp2.Frame`, proto2) and
//! what is built from them: pings, acks, multi-part payloads put together.
//!
//! In: WebSocket binary messages. Out: [`Frame`]s, whole payloads, the
//! frames we send back. Pure: the time is a parameter.

use prost::Message as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `method` of a control frame (ping, pong).
pub const METHOD_CONTROL: i32 = 0;
/// `method` of a data frame (event, card).
pub const METHOD_DATA: i32 = 1;

/// The largest WebSocket message read; larger ones end the connection.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// The most parts one payload may be split into.
pub const MAX_PARTS: usize = 64;
/// The largest payload put together from parts.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// The most payloads waiting for their remaining parts at once.
pub const MAX_PENDING: usize = 32;
/// How long the parts of a payload may take to arrive.
pub const PARTS_TIMEOUT: Duration = Duration::from_secs(10);

/// One header of a frame.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Header {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// `pbbp2.Frame`: what every WebSocket message of the long connection is.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Frame {
    #[prost(uint64, required, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub log_id: u64,
    #[prost(int32, required, tag = "3")]
    pub service: i32,
    /// [`METHOD_CONTROL`] or [`METHOD_DATA`].
    #[prost(int32, required, tag = "4")]
    pub method: i32,
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Header>,
    #[prost(string, optional, tag = "6")]
    pub payload_encoding: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub payload_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "9")]
    pub log_id_new: Option<String>,
}

impl Frame {
    /// A frame from a WebSocket binary message.
    pub fn from_bytes(bytes: &[u8]) -> Result<Frame, prost::DecodeError> {
        Frame::decode(bytes)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// The first header named `key`.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }

    /// The `type` header: `ping`, `pong`, `event`, `card`.
    pub fn kind(&self) -> &str {
        self.header("type").unwrap_or("")
    }

    /// A ping for the service the connection URL named.
    pub fn ping(service: i32) -> Frame {
        Frame {
            service,
            method: METHOD_CONTROL,
            headers: vec![header("type", "ping")],
            ..Frame::default()
        }
    }

    /// The answer to a data frame: the frame itself with a `biz_rt` header
    /// (milliseconds taken) and the payload `{"code":200}`.
    pub fn ack(mut self, took: Duration) -> Frame {
        let millis = took.as_millis().to_string();
        self.headers.push(header("biz_rt", &millis));
        self.payload = Some(br#"{"code":200}"#.to_vec());
        self
    }
}

fn header(key: &str, value: &str) -> Header {
    Header {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// What the server tells the client about the connection (the endpoint's
/// `ClientConfig`, and a pong's payload). Seconds.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ClientConfig {
    pub reconnect_count: i64,
    pub reconnect_interval: i64,
    pub reconnect_nonce: i64,
    pub ping_interval: i64,
}

/// The ping interval when the server names none (the SDKs' default).
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(120);

impl ClientConfig {
    /// `PingInterval`, kept between 1 s and 10 min; `None` when not given.
    pub fn ping_interval(&self) -> Option<Duration> {
        let seconds = u64::try_from(self.ping_interval).ok().filter(|s| *s > 0)?;
        Some(Duration::from_secs(seconds.min(600)))
    }
}

/// Payloads split over several data frames (`sum` > 1, `seq` 0-based),
/// put together per `message_id`. Bounded in parts, bytes, count and age.
#[derive(Debug, Default)]
pub struct Reassembly {
    pending: HashMap<String, Pending>,
}

#[derive(Debug)]
struct Pending {
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
    started: Instant,
}

/// What became of one part.
#[derive(Debug, PartialEq, Eq)]
pub enum Assembled {
    /// The whole payload.
    Complete(Vec<u8>),
    /// More parts are due.
    Waiting,
    /// The part is unusable (bad `sum`/`seq`, too large); the payload is dropped.
    Refused(&'static str),
}

impl Reassembly {
    /// Adds the part `seq` of `sum` of the payload of `message_id`.
    pub fn add(
        &mut self,
        message_id: &str,
        sum: usize,
        seq: usize,
        part: Vec<u8>,
        now: Instant,
    ) -> Assembled {
        self.pending
            .retain(|_, p| now.saturating_duration_since(p.started) < PARTS_TIMEOUT);
        if sum <= 1 {
            return Assembled::Complete(part);
        }
        if sum > MAX_PARTS {
            return Assembled::Refused("too many parts");
        }
        if seq >= sum {
            self.pending.remove(message_id);
            return Assembled::Refused("part number out of range");
        }
        if !self.pending.contains_key(message_id) && self.pending.len() >= MAX_PENDING {
            return Assembled::Refused("too many payloads waiting for parts");
        }
        let pending = self
            .pending
            .entry(message_id.to_string())
            .or_insert_with(|| Pending {
                parts: vec![None; sum],
                bytes: 0,
                started: now,
            });
        if pending.parts.len() != sum {
            self.pending.remove(message_id);
            return Assembled::Refused("parts disagree on their number");
        }
        let old = pending.parts[seq].as_ref().map_or(0, Vec::len);
        pending.bytes = pending.bytes - old + part.len();
        if pending.bytes > MAX_PAYLOAD_BYTES {
            self.pending.remove(message_id);
            return Assembled::Refused("payload too large");
        }
        pending.parts[seq] = Some(part);
        if pending.parts.iter().any(Option::is_none) {
            return Assembled::Waiting;
        }
        let Some(pending) = self.pending.remove(message_id) else {
            return Assembled::Waiting;
        };
        Assembled::Complete(pending.parts.into_iter().flatten().flatten().collect())
    }

    /// How many payloads are waiting for parts.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
