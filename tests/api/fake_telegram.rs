//! A fake Telegram Bot API on 127.0.0.1: real HTTP, the real method paths and
//! JSON shapes; it records requests, serves scripted updates, and can answer
//! 429, 403 or `migrate_to_chat_id`, or hold a response (a send in flight).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// One recorded call: the method, its JSON parameters and the raw body
/// (uploads are multipart, with the file names in it).
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub params: Value,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    updates: VecDeque<Value>,
    /// Scripted answers to sendMessage per chat id, used in order.
    scripted: HashMap<i64, VecDeque<Value>>,
    /// Hold sendMessage answers for this long (a send in flight).
    hold: Option<Duration>,
    next_update_id: i64,
    /// Answer every call with an HTML error page (a broken proxy in between).
    is_garbled: bool,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        FakeTelegram::start_on(0).await
    }

    /// Starts on this port of 127.0.0.1 (0: any free port).
    pub async fn start_on(port: u16) -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = FakeTelegram {
            url,
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
        };
        let shared = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, std::convert::Infallible>(shared.answer(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    /// Queues an incoming text message from a user in a private chat.
    pub fn push_message(&self, user: i64, name: &str, text: &str) {
        let mut state = self.state.lock().expect("lock");
        state.next_update_id += 1;
        let id = state.next_update_id;
        state.updates.push_back(json!({
            "update_id": id,
            "message": {
                "message_id": id, "date": 1_700_000_000,
                "chat": { "id": user, "type": "private", "first_name": name },
                "from": { "id": user, "is_bot": false, "first_name": name },
                "text": text
            }
        }));
    }

    /// Queues an incoming text message from a user in a group chat.
    pub fn push_group_message(&self, chat: i64, user: i64, name: &str, text: &str) {
        let mut state = self.state.lock().expect("lock");
        state.next_update_id += 1;
        let id = state.next_update_id;
        state.updates.push_back(json!({
            "update_id": id,
            "message": {
                "message_id": id, "date": 1_700_000_000,
                "chat": { "id": chat, "type": "group", "title": "联系人群" },
                "from": { "id": user, "is_bot": false, "first_name": name },
                "text": text
            }
        }));
    }

    /// The next sendMessage to `chat` gets this error instead of success.
    pub fn script_error(&self, chat: i64, code: u16, description: &str, parameters: Value) {
        let mut state = self.state.lock().expect("lock");
        state.scripted.entry(chat).or_default().push_back(json!({
            "ok": false, "error_code": code, "description": description, "parameters": parameters
        }));
    }

    /// Answers every call with an unparsable HTML page while `is_garbled`.
    pub fn set_garbled(&self, is_garbled: bool) {
        self.state.lock().expect("lock").is_garbled = is_garbled;
    }

    /// The next sendMessage to `chat` succeeds (to script a failure after it).
    pub fn script_success(&self, chat: i64) {
        let mut state = self.state.lock().expect("lock");
        state
            .scripted
            .entry(chat)
            .or_default()
            .push_back(json!({ "ok": true, "result": {
            "message_id": 1, "date": 1_700_000_000,
            "chat": { "id": chat, "type": "private", "first_name": "x" }, "text": "" } }));
    }

    pub fn hold_sends(&self, hold: Option<Duration>) {
        self.state.lock().expect("lock").hold = hold;
    }

    pub fn sends(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "sendmessage")
            .collect()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("lock").calls.clone()
    }

    /// Waits (up to 20 s) until `count` sendMessage calls were recorded.
    pub async fn wait_for_sends(&self, count: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let notified = self.changed.notified();
            let sends = self.sends();
            if sends.len() >= count {
                return sends;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "only {} of {count} messages arrived: {sends:#?}",
                    sends.len()
                );
            }
        }
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = req
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (reply, hold) = {
            let mut state = self.state.lock().expect("lock");
            state.calls.push(Call {
                method: method.clone(),
                params: params.clone(),
                body: body.to_vec(),
            });
            if state.is_garbled {
                return Response::builder()
                    .status(200)
                    .header("Content-Type", "text/html")
                    .body(Full::new(Bytes::from_static(
                        b"<html><body>502 Bad Gateway</body></html>",
                    )))
                    .expect("a valid response");
            }
            let reply = match method.as_str() {
                "getme" => json!({ "ok": true, "result": {
                    "id": 999, "is_bot": true, "first_name": "xunjian", "username": "xunjian_bot",
                    "can_join_groups": true, "can_read_all_group_messages": false,
                    "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false } }),
                "getwebhookinfo" => json!({ "ok": true, "result": {
                    "url": "", "has_custom_certificate": false, "pending_update_count": 0 } }),
                "getupdates" => {
                    let offset = params["offset"].as_i64().unwrap_or(0);
                    state
                        .updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    let updates: Vec<Value> = state.updates.iter().cloned().collect();
                    json!({ "ok": true, "result": updates })
                }
                "sendmessage" => {
                    let chat = params["chat_id"].as_i64().unwrap_or(0);
                    match state.scripted.get_mut(&chat).and_then(VecDeque::pop_front) {
                        Some(error) => error,
                        None => json!({ "ok": true, "result": {
                            "message_id": state.calls.len(), "date": 1_700_000_000,
                            "chat": { "id": chat, "type": "private", "first_name": "x" },
                            "text": params["text"] } }),
                    }
                }
                // Multipart uploads: the chat id is in a form field, not JSON.
                "senddocument" | "sendphoto" => json!({ "ok": true, "result": {
                    "message_id": state.calls.len(), "date": 1_700_000_000,
                    "chat": { "id": 1, "type": "private", "first_name": "x" } } }),
                _ => json!({ "ok": true, "result": true }),
            };
            let hold = if method == "sendmessage" {
                state.hold
            } else {
                None
            };
            (reply, hold)
        };
        self.changed.notify_waiters();
        if method == "getupdates" && reply["result"].as_array().is_some_and(Vec::is_empty) {
            // Long polling: an empty answer comes after a short wait, like the real server.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let Some(hold) = hold {
            tokio::time::sleep(hold).await;
        }
        let status = reply["error_code"].as_u64().map_or(200, |c| c as u16);
        Response::builder()
            .status(status)
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(reply.to_string())))
            .expect("a valid response")
    }
}
