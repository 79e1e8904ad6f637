//! A fake DingTalk open platform over real HTTP and WebSocket: Stream
//! connections (`connections/open`, then the socket), the session webhooks
//! replies go to, and the app robot's send API (access token, group and
//! one-to-one messages) that alerts and notices use.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use xunjian::commands::dingtalk::ROBOT_TOPIC;

pub const WAIT: Duration = Duration::from_secs(10);
/// The access token the fake hands out.
pub const ACCESS_TOKEN: &str = "fake-dingtalk-access-token";

pub type Socket = WebSocketStream<TcpStream>;

/// The gateway: `connections/open` over HTTP, the stream over WebSocket,
/// and the session webhooks the replies go to.
pub struct FakeGateway {
    pub url: String,
    opens: mpsc::UnboundedReceiver<Value>,
    sockets: mpsc::UnboundedReceiver<(String, Socket)>,
    replies: mpsc::UnboundedReceiver<(String, Value)>,
    /// Messages the app robot sent: (path, access token, body).
    pub sent: Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
}

#[derive(Clone)]
struct GatewayState {
    ws_url: String,
    opens: mpsc::UnboundedSender<Value>,
    replies: mpsc::UnboundedSender<(String, Value)>,
    tickets: Arc<Mutex<u32>>,
    sent: Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
}

impl FakeGateway {
    pub async fn start() -> FakeGateway {
        let (ws_url, sockets) = crate::helpers::websocket_server("/connect").await;
        let (opens_tx, opens) = mpsc::unbounded_channel();
        let (replies_tx, replies) = mpsc::unbounded_channel();
        let state = GatewayState {
            ws_url,
            opens: opens_tx,
            replies: replies_tx,
            tickets: Arc::new(Mutex::new(0)),
            sent: Arc::new(std::sync::Mutex::new(Vec::new())),
        };
        let sent = state.sent.clone();
        let app = axum::Router::new()
            .route("/v1.0/gateway/connections/open", post(open))
            .route("/session/{id}", post(session_webhook))
            .route("/v1.0/oauth2/accessToken", post(access_token))
            .route("/v1.0/robot/groupMessages/send", post(group_send))
            .route("/v1.0/robot/oToMessages/batchSend", post(user_send))
            .route("/media/upload", post(upload))
            .with_state(state);
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let url = format!("http://{}", http.local_addr().expect("http address"));
        tokio::spawn(async move { axum::serve(http, app).await });
        FakeGateway {
            url,
            opens,
            sockets,
            replies,
            sent,
        }
    }

    /// The next connection: the body of its `connections/open` and its socket.
    pub async fn next_connection(&mut self) -> (Value, String, Socket) {
        let open = tokio::time::timeout(WAIT, self.opens.recv())
            .await
            .expect("the client opens a connection")
            .expect("gateway running");
        let (uri, socket) = tokio::time::timeout(WAIT, self.sockets.recv())
            .await
            .expect("the client connects the WebSocket")
            .expect("gateway running");
        (open, uri, socket)
    }

    /// The next reply POSTed to a session webhook: (session, content).
    pub async fn next_reply(&mut self) -> (String, String) {
        let (session, body) = tokio::time::timeout(WAIT, self.replies.recv())
            .await
            .expect("a reply reaches the session webhook")
            .expect("gateway running");
        assert_eq!(body["msgtype"], "text", "{body}");
        let content = body["text"]["content"].as_str().expect("text content");
        (session, content.to_string())
    }

    /// The files the app robot sent a group or a user: (file name, upload
    /// type, first bytes), each checked against its upload.
    pub fn files_to(&self, recipient: &str) -> Vec<(String, String, String)> {
        let sent = self.sent.lock().expect("sent");
        let uploads: Vec<&Value> = sent
            .iter()
            .filter(|(path, _, _)| path == "/media/upload")
            .map(|(_, _, body)| body)
            .collect();
        sent.iter()
            .filter(|(path, _, body)| {
                !path.ends_with("upload")
                    && body["msgKey"] != "sampleText"
                    && match recipient.split_once(':') {
                        Some(("group", cid)) => body["openConversationId"] == cid,
                        Some(("user", staff)) => body["userIds"]
                            .as_array()
                            .is_some_and(|ids| ids.iter().any(|i| i == staff)),
                        _ => false,
                    }
            })
            .map(|(_, _, body)| {
                let param: Value = serde_json::from_str(body["msgParam"].as_str().unwrap_or(""))
                    .expect("msgParam is JSON");
                let media = param["mediaId"]
                    .as_str()
                    .or(param["photoURL"].as_str())
                    .unwrap_or_default();
                let upload = uploads
                    .iter()
                    .find(|u| u["mediaId"] == media)
                    .unwrap_or_else(|| panic!("{media} was uploaded first: {body}"));
                let name = upload["fileName"].as_str().unwrap_or_default().to_string();
                match body["msgKey"].as_str() {
                    Some("sampleFile") => {
                        assert_eq!(param["fileName"], name.as_str(), "{body}");
                        assert_eq!(upload["type"], "file", "{upload}");
                    }
                    Some("sampleImageMsg") => assert_eq!(upload["type"], "image", "{upload}"),
                    other => panic!("unexpected msgKey {other:?}: {body}"),
                }
                (
                    name,
                    upload["type"].as_str().unwrap_or_default().to_string(),
                    upload["head"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    pub fn webhook(&self, session: &str) -> String {
        format!("{}/session/{session}", self.url)
    }

    /// What the app robot sent to a group (`group:cid`) or a user
    /// (`user:staffId`): the texts, in order.
    pub fn sent_to(&self, recipient: &str) -> Vec<String> {
        let sent = self.sent.lock().expect("sent");
        sent.iter()
            .filter(|(path, _, body)| {
                body["msgKey"] == "sampleText"
                    && match recipient.split_once(':') {
                        Some(("group", cid)) => {
                            path.ends_with("groupMessages/send")
                                && body["openConversationId"] == cid
                        }
                        Some(("user", staff)) => {
                            path.ends_with("batchSend")
                                && body["userIds"]
                                    .as_array()
                                    .is_some_and(|ids| ids.iter().any(|i| i == staff))
                        }
                        _ => false,
                    }
            })
            .map(|(_, token, body)| {
                assert_eq!(token, ACCESS_TOKEN, "sent with the access token");
                assert_eq!(body["robotCode"], "ding-app-key", "{body}");
                let param: Value = serde_json::from_str(body["msgParam"].as_str().unwrap_or(""))
                    .expect("msgParam is JSON");
                param["content"].as_str().unwrap_or("").to_string()
            })
            .collect()
    }
}

/// An upload to `media/upload` (DingTalk's older API, the token in the
/// query): the form's `media` part, answered with a media_id.
async fn upload(
    State(state): State<GatewayState>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Json<Value> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts = crate::helpers::form_parts(content_type, &body);
    let Some(media) = parts.iter().find(|p| p.name == "media") else {
        return Json(json!({ "errcode": 40004, "errmsg": "no media" }));
    };
    let token = query.get("access_token").cloned().unwrap_or_default();
    if token != ACCESS_TOKEN {
        return Json(json!({ "errcode": 40014, "errmsg": "invalid access_token" }));
    }
    let mut sent = state.sent.lock().expect("sent");
    let media_id = format!("@media-{}", sent.len());
    sent.push((
        "/media/upload".to_string(),
        token,
        json!({
            "type": query.get("type"),
            "fileName": media.file_name,
            "mediaId": media_id,
            "size": media.data.len(),
            "head": String::from_utf8_lossy(&media.data[..media.data.len().min(8)]),
        }),
    ));
    Json(
        json!({ "errcode": 0, "errmsg": "ok", "type": query.get("type"), "media_id": media_id, "created_at": 1 }),
    )
}

async fn access_token(Json(body): Json<Value>) -> (axum::http::StatusCode, Json<Value>) {
    if body["appKey"].as_str().is_some_and(|k| !k.is_empty())
        && body["appSecret"].as_str().is_some_and(|s| !s.is_empty())
    {
        (
            axum::http::StatusCode::OK,
            Json(json!({ "accessToken": ACCESS_TOKEN, "expireIn": 7200 })),
        )
    } else {
        (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({ "code": "invalidClientId", "message": "bad credentials" })),
        )
    }
}

fn record(state: &GatewayState, path: &str, headers: &HeaderMap, body: Value) {
    let token = headers
        .get("x-acs-dingtalk-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    state
        .sent
        .lock()
        .expect("sent")
        .push((path.to_string(), token, body));
}

async fn group_send(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    record(&state, "/v1.0/robot/groupMessages/send", &headers, body);
    Json(json!({ "processQueryKey": "pqk-group" }))
}

async fn user_send(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    record(&state, "/v1.0/robot/oToMessages/batchSend", &headers, body);
    Json(json!({
        "processQueryKey": "pqk-user",
        "invalidStaffIdList": [],
        "flowControlledStaffIdList": []
    }))
}

async fn open(State(state): State<GatewayState>, Json(body): Json<Value>) -> Json<Value> {
    let mut tickets = state.tickets.lock().await;
    *tickets += 1;
    let _ = state.opens.send(body);
    Json(json!({ "endpoint": state.ws_url, "ticket": format!("ticket-{tickets}") }))
}

async fn session_webhook(
    State(state): State<GatewayState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let _ = state.replies.send((id, body));
    Json(json!({ "errcode": 0, "errmsg": "ok" }))
}

/// Sends a frame and returns the client's answer to it.
pub async fn exchange(socket: &mut Socket, frame: Value) -> Value {
    socket
        .send(WsMessage::Text(frame.to_string().into()))
        .await
        .expect("send frame");
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("the client answers the frame")
            .expect("socket open")
            .expect("socket readable");
        if let WsMessage::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("answer is JSON");
        }
    }
}

pub fn ping(id: &str) -> Value {
    json!({
        "specVersion": "1.0",
        "type": "SYSTEM",
        "headers": { "messageId": id, "topic": "ping", "contentType": "application/json", "time": "1764000000000" },
        "data": "{\"opaque\":\"abc-123\"}",
    })
}

pub fn robot_message(id: &str, staff: &str, text: &str, webhook: &str) -> Value {
    robot_message_in(id, staff, text, webhook, None)
}

/// A robot message in a group (`Some(cid)`) or a one-to-one chat.
pub fn robot_message_in(
    id: &str,
    staff: &str,
    text: &str,
    webhook: &str,
    group: Option<&str>,
) -> Value {
    let mut data = json!({
        "msgtype": "text",
        "text": { "content": text },
        "senderStaffId": staff,
        "senderNick": "测试用户",
        "conversationType": if group.is_some() { "2" } else { "1" },
        "sessionWebhook": webhook,
    });
    if let Some(cid) = group {
        data["conversationId"] = json!(cid);
    }
    json!({
        "specVersion": "1.0",
        "type": "CALLBACK",
        "headers": { "messageId": id, "topic": ROBOT_TOPIC, "contentType": "application/json", "time": "1764000000000" },
        "data": data.to_string(),
    })
}

pub fn assert_acked(ack: &Value, id: &str) {
    assert_eq!(ack["code"], 200, "{ack}");
    assert_eq!(ack["headers"]["messageId"], id, "{ack}");
    assert_eq!(ack["headers"]["contentType"], "application/json", "{ack}");
}
