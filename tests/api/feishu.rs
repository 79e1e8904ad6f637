//! The Feishu long-connection bot against a fake open platform over real
//! HTTP and a real WebSocket speaking protobuf: the endpoint, pings and
//! pongs, events and their acks, multi-part and redelivered events, replies
//! through the reply API with the tenant token, reconnects; and `FeishuApi`.

use crate::helpers::{TestDb, at, fixture, test_dbs};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;
use xunjian::app::App;
use xunjian::commands::CommandContext;
use xunjian::commands::feishu::frame::{Frame, Header, METHOD_CONTROL, METHOD_DATA};
use xunjian::commands::feishu::{FeishuApi, LongConnection};
use xunjian::config::Secret;
use xunjian::health::{Health, Part};

const NOW: &str = "2026-11-24T10:00:00+08:00";
pub(crate) const WAIT: Duration = Duration::from_secs(10);
pub(crate) const APP_ID: &str = "cli_a1b2c3d4e5";
pub(crate) const SECRET: &str = "feishu-app-secret-value";
const ADMIN: &str = "ou_admin";
const CONTACT: &str = "ou_wangmin";
pub(crate) const SERVICE_ID: i32 = 33;

pub(crate) type Socket = WebSocketStream<TcpStream>;

/// What the fake was sent over HTTP.
#[derive(Debug)]
pub(crate) enum Call {
    Endpoint {
        locale: String,
        body: Value,
    },
    Token(Value),
    Reply {
        message_id: String,
        bearer: String,
        body: Value,
    },
    Send {
        receive_id_type: String,
        bearer: String,
        body: Value,
    },
    /// `im/v1/files` or `im/v1/images`: the form's parts.
    Upload {
        path: String,
        bearer: String,
        parts: Vec<crate::helpers::FormPart>,
    },
}

#[derive(Clone)]
struct FakeState {
    ws_url: String,
    /// `PingInterval` handed out with the endpoint.
    ping_interval: u64,
    calls: mpsc::UnboundedSender<Call>,
    tokens: Arc<Mutex<u32>>,
    /// A token the message APIs call invalid (code 99991663).
    rejected_token: Arc<Mutex<Option<String>>>,
    /// Scripted answers of the message APIs, then success.
    answers: Arc<Mutex<VecDeque<(StatusCode, Value)>>>,
}

/// The open platform: HTTP APIs and the long connection's WebSocket.
pub(crate) struct FakeFeishu {
    pub(crate) url: String,
    state: FakeState,
    pub(crate) calls: mpsc::UnboundedReceiver<Call>,
    sockets: mpsc::UnboundedReceiver<(String, Socket)>,
}

impl FakeFeishu {
    pub(crate) async fn start(ping_interval: u64) -> FakeFeishu {
        let (ws_url, sockets) = crate::helpers::websocket_server("/ws").await;
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let state = FakeState {
            ws_url,
            ping_interval,
            calls: calls_tx,
            tokens: Arc::new(Mutex::new(0)),
            rejected_token: Arc::new(Mutex::new(None)),
            answers: Arc::new(Mutex::new(VecDeque::new())),
        };
        let app = axum::Router::new()
            .route("/callback/ws/endpoint", post(endpoint))
            .route(
                "/open-apis/auth/v3/tenant_access_token/internal",
                post(token),
            )
            .route("/open-apis/im/v1/messages/{id}/reply", post(reply))
            .route("/open-apis/im/v1/messages", post(send))
            .route("/open-apis/im/v1/files", post(upload_file))
            .route("/open-apis/im/v1/images", post(upload_image))
            .with_state(state.clone());
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let url = format!("http://{}", http.local_addr().expect("http address"));
        tokio::spawn(async move { axum::serve(http, app).await });
        FakeFeishu {
            url,
            state,
            calls,
            sockets,
        }
    }

    pub(crate) async fn next_call(&mut self) -> Call {
        tokio::time::timeout(WAIT, self.calls.recv())
            .await
            .expect("the client calls the open platform")
            .expect("fake running")
    }

    /// The next connection: its endpoint request, its URI and its socket.
    pub(crate) async fn next_connection(&mut self) -> (String, Value, String, Socket) {
        let Call::Endpoint { locale, body } = self.next_call().await else {
            panic!("expected an endpoint request first");
        };
        let (uri, socket) = tokio::time::timeout(WAIT, self.sockets.recv())
            .await
            .expect("the client connects the WebSocket")
            .expect("fake running");
        (locale, body, uri, socket)
    }

    /// The next reply: (message id, bearer token, text), skipping token requests.
    pub(crate) async fn next_reply(&mut self) -> (String, String, String) {
        loop {
            match self.next_call().await {
                Call::Token(body) => {
                    assert_eq!(body["app_id"], APP_ID);
                    assert_eq!(body["app_secret"], SECRET);
                }
                Call::Reply {
                    message_id,
                    bearer,
                    body,
                } => {
                    assert_eq!(body["msg_type"], "text", "{body}");
                    let content: Value =
                        serde_json::from_str(body["content"].as_str().expect("content string"))
                            .expect("content is JSON");
                    let text = content["text"].as_str().expect("text").to_string();
                    return (message_id, bearer, text);
                }
                other => panic!("expected a reply, got {other:?}"),
            }
        }
    }
}

async fn endpoint(
    State(state): State<FakeState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let locale = header(&headers, "locale");
    let _ = state.calls.send(Call::Endpoint { locale, body });
    Json(json!({
        "code": 0,
        "msg": "ok",
        "data": {
            "URL": format!("{}?fpid=493&aid=552564&device_id=dev-1&access_key=k&service_id={SERVICE_ID}&ticket=t", state.ws_url),
            "ClientConfig": {
                // A local server's policy: come back within a second.
                "ReconnectCount": -1,
                "ReconnectInterval": 1,
                "ReconnectNonce": 1,
                "PingInterval": state.ping_interval
            }
        }
    }))
}

async fn token(State(state): State<FakeState>, Json(body): Json<Value>) -> Json<Value> {
    let mut tokens = state.tokens.lock().await;
    *tokens += 1;
    let _ = state.calls.send(Call::Token(body));
    Json(
        json!({ "code": 0, "msg": "ok", "tenant_access_token": format!("t-{tokens}"), "expire": 7200 }),
    )
}

async fn answer(state: &FakeState, bearer: &str) -> (StatusCode, Json<Value>) {
    if state.rejected_token.lock().await.as_deref() == Some(bearer) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "code": 99991663, "msg": "Invalid access token for authorization." })),
        );
    }
    match state.answers.lock().await.pop_front() {
        Some((status, body)) => (status, Json(body)),
        None => (
            StatusCode::OK,
            Json(json!({ "code": 0, "msg": "success", "data": { "message_id": "om_sent" } })),
        ),
    }
}

async fn reply(
    State(state): State<FakeState>,
    Path(message_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let bearer = bearer(&headers);
    let answer = answer(&state, &bearer).await;
    let _ = state.calls.send(Call::Reply {
        message_id,
        bearer,
        body,
    });
    answer
}

async fn send(
    State(state): State<FakeState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let bearer = bearer(&headers);
    let answer = answer(&state, &bearer).await;
    let _ = state.calls.send(Call::Send {
        receive_id_type: query.get("receive_id_type").cloned().unwrap_or_default(),
        bearer,
        body,
    });
    answer
}

async fn upload_file(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    upload(&state, "/open-apis/im/v1/files", &headers, &body).await
}

async fn upload_image(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    upload(&state, "/open-apis/im/v1/images", &headers, &body).await
}

/// An upload: a file (`file_type`, `file_name`, `file`) answered with a
/// `file_key`, an image (`image_type`, `image`) with an `image_key`; each
/// key names the file, so tests can tell what a message carried.
async fn upload(
    state: &FakeState,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, Json<Value>) {
    let bearer = bearer(headers);
    let parts = crate::helpers::form_parts(&header(headers, "content-type"), body);
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let data = if path.ends_with("images") {
        match (field("image_type"), field("image")) {
            (Some(kind), Some(image)) if kind.data == b"message" => {
                json!({ "image_key": format!("img_{}", image.file_name.clone().unwrap_or_default()) })
            }
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "code": 234001, "msg": "bad image form" })),
                );
            }
        }
    } else {
        match (field("file_type"), field("file_name"), field("file")) {
            (Some(_), Some(name), Some(_)) => {
                json!({ "file_key": format!("file_{}", String::from_utf8_lossy(&name.data)) })
            }
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "code": 234001, "msg": "bad file form" })),
                );
            }
        }
    };
    let (status, Json(mut answer)) = answer(state, &bearer).await;
    let _ = state.calls.send(Call::Upload {
        path: path.to_string(),
        bearer,
        parts,
    });
    if answer["code"] == 0 {
        answer["data"] = data;
    }
    (status, Json(answer))
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn bearer(headers: &HeaderMap) -> String {
    header(headers, "authorization")
        .strip_prefix("Bearer ")
        .unwrap_or("")
        .to_string()
}

/// The next binary frame the client sends.
pub(crate) async fn next_frame(socket: &mut Socket) -> Frame {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("the client sends a frame")
            .expect("socket open")
            .expect("socket readable");
        if let WsMessage::Binary(bytes) = message {
            return Frame::from_bytes(&bytes).expect("the client sends pbbp2 frames");
        }
    }
}

pub(crate) async fn send_frame(socket: &mut Socket, frame: &Frame) {
    socket
        .send(WsMessage::Binary(frame.to_bytes().into()))
        .await
        .expect("send frame");
}

pub(crate) fn headers(pairs: &[(&str, &str)]) -> Vec<Header> {
    pairs
        .iter()
        .map(|(key, value)| Header {
            key: key.to_string(),
            value: value.to_string(),
        })
        .collect()
}

/// A data frame carrying part `seq` of `sum` of a payload.
pub(crate) fn data_frame(frame_id: &str, sum: usize, seq: usize, payload: &[u8]) -> Frame {
    let (sum, seq) = (sum.to_string(), seq.to_string());
    Frame {
        seq_id: 7,
        log_id: 1_234_567,
        service: SERVICE_ID,
        method: METHOD_DATA,
        headers: headers(&[
            ("type", "event"),
            ("message_id", frame_id),
            ("sum", &sum),
            ("seq", &seq),
            ("trace_id", "trace-1"),
        ]),
        payload: Some(payload.to_vec()),
        ..Frame::default()
    }
}

/// An `im.message.receive_v1` event.
fn message_event(
    event_id: &str,
    message_id: &str,
    sender: &str,
    chat_type: &str,
    text: &str,
) -> Vec<u8> {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "event_type": "im.message.receive_v1",
            "create_time": "1764000000000",
            "token": "",
            "app_id": APP_ID,
            "tenant_key": "tenant-1"
        },
        "event": {
            "sender": {
                "sender_id": { "open_id": sender, "union_id": "on_x", "user_id": "" },
                "sender_type": "user",
                "tenant_key": "tenant-1"
            },
            "message": {
                "message_id": message_id,
                "chat_id": "oc_chat",
                "chat_type": chat_type,
                "message_type": "text",
                "content": json!({ "text": text }).to_string(),
                "mentions": [{ "key": "@_user_1", "id": { "open_id": "ou_bot" }, "name": "巡检" }]
            }
        }
    })
    .to_string()
    .into_bytes()
}

/// Sends a whole event and checks its ack.
async fn deliver(socket: &mut Socket, frame_id: &str, payload: &[u8]) {
    send_frame(socket, &data_frame(frame_id, 1, 0, payload)).await;
    assert_acked(&next_frame(socket).await, frame_id);
}

pub(crate) fn assert_acked(ack: &Frame, frame_id: &str) {
    assert_eq!(ack.method, METHOD_DATA, "{ack:?}");
    assert_eq!(ack.header("message_id"), Some(frame_id), "{ack:?}");
    assert_eq!(
        (ack.seq_id, ack.log_id, ack.service),
        (7, 1_234_567, SERVICE_ID)
    );
    assert!(
        ack.header("biz_rt")
            .is_some_and(|ms| ms.parse::<u64>().is_ok()),
        "{ack:?}"
    );
    let payload: Value =
        serde_json::from_slice(ack.payload.as_deref().unwrap_or_default()).expect("ack is JSON");
    assert_eq!(payload["code"], 200, "{ack:?}");
}

pub(crate) async fn expect_ping(socket: &mut Socket) -> Frame {
    let ping = next_frame(socket).await;
    assert_eq!(ping.method, METHOD_CONTROL, "{ping:?}");
    assert_eq!(ping.service, SERVICE_ID);
    assert_eq!(ping.header("type"), Some("ping"));
    ping
}

pub(crate) fn pong() -> Frame {
    Frame {
        service: SERVICE_ID,
        method: METHOD_CONTROL,
        headers: headers(&[("type", "pong")]),
        payload: Some(br#"{"PingInterval":120}"#.to_vec()),
        ..Frame::default()
    }
}

async fn context(db: &TestDb, fake: &FakeFeishu) -> CommandContext {
    let mut settings = db.settings.clone();
    settings.feishu.app_id = Some(APP_ID.into());
    settings.feishu.admins = vec![ADMIN.into()];
    settings.feishu.base_url = fake.url.clone();
    settings.feishu.app_secret = Some(Secret::new(SECRET));
    let app = App::open(settings.clone(), fixture("feishu_accounts.toml"))
        .await
        .expect("open app");
    app.import(false, false, at(NOW)).await.expect("import");
    CommandContext::new(db.store.clone(), settings)
}

fn start(
    context: CommandContext,
) -> (
    Health,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let context = Arc::new(context);
    let health = Health::new(xunjian::health::secrets_of(&context.settings));
    health.track(Part::Feishu, Duration::from_secs(300), at(NOW));
    let client = LongConnection::new(context, health.clone())
        .expect("client builds")
        .expect("credentials are set");
    let stop = CancellationToken::new();
    let running = tokio::spawn(client.run(stop.clone()));
    (health, stop, running)
}

async fn stop(stop: CancellationToken, running: tokio::task::JoinHandle<anyhow::Result<()>>) {
    stop.cancel();
    tokio::time::timeout(WAIT, running)
        .await
        .expect("the client stops on shutdown")
        .expect("no panic")
        .expect("run ends cleanly");
}

#[tokio::test]
async fn the_feishu_bot_pings_acks_every_event_answers_commands_once_and_reconnects() {
    for db in test_dbs("feishu_long_connection").await {
        let mut fake = FakeFeishu::start(120).await;
        let (health, stop_token, running) = start(context(&db, &fake).await);

        let (locale, open, uri, mut socket) = fake.next_connection().await;
        assert_eq!(locale, "zh");
        assert_eq!(open["AppID"], APP_ID);
        assert_eq!(open["AppSecret"], SECRET);
        assert!(uri.starts_with("/ws?fpid=493"), "{uri}");
        expect_ping(&mut socket).await;
        send_frame(&mut socket, &pong()).await;

        // An admin's command in a one-to-one chat: acked, answered by reply.
        let list = message_event("ev-1", "om_1", ADMIN, "p2p", "/list");
        deliver(&mut socket, "frame-1", &list).await;
        let (message_id, bearer, reply) = fake.next_reply().await;
        assert_eq!((message_id.as_str(), bearer.as_str()), ("om_1", "t-1"));
        assert!(
            reply.contains("兰山发布") && reply.contains("兰山教体"),
            "{reply}"
        );
        assert!(health.last_success(Part::Feishu).is_some());

        // A contact in a group, @mentioning the bot: their unit only.
        let status = message_event(
            "ev-2",
            "om_2",
            CONTACT,
            "group",
            "@_user_1 /status lsfb-weibo",
        );
        deliver(&mut socket, "frame-2", &status).await;
        let (message_id, bearer, reply) = fake.next_reply().await;
        assert_eq!(
            (message_id.as_str(), bearer.as_str()),
            ("om_2", "t-1"),
            "the token is cached"
        );
        assert!(reply.contains("兰山发布"), "{reply}");
        let other = message_event(
            "ev-3",
            "om_3",
            CONTACT,
            "group",
            "@_user_1 /status lsjy-weibo",
        );
        deliver(&mut socket, "frame-3", &other).await;
        let (_, _, reply) = fake.next_reply().await;
        assert!(reply.contains("不属于您的单位"), "{reply}");

        // A stranger is refused.
        let stranger = message_event("ev-4", "om_4", "ou_nobody", "p2p", "/list");
        deliver(&mut socket, "frame-4", &stranger).await;
        let (message_id, _, reply) = fake.next_reply().await;
        assert_eq!(message_id, "om_4");
        assert!(
            reply.contains("没有执行此命令的权限") && !reply.contains("兰山发布"),
            "{reply}"
        );

        // An event in three parts: one ack, for the whole, then the answer.
        let whoami = message_event("ev-5", "om_5", ADMIN, "p2p", "/whoami");
        let thirds: Vec<&[u8]> = whoami.chunks(whoami.len() / 3 + 1).collect();
        assert_eq!(thirds.len(), 3);
        send_frame(&mut socket, &data_frame("frame-5", 3, 2, thirds[2])).await;
        send_frame(&mut socket, &data_frame("frame-5", 3, 0, thirds[0])).await;
        send_frame(&mut socket, &data_frame("frame-5", 3, 1, thirds[1])).await;
        let ack = next_frame(&mut socket).await;
        assert_acked(&ack, "frame-5");
        assert_eq!(ack.header("seq"), Some("1"), "the ack is the last part's");
        let (message_id, _, reply) = fake.next_reply().await;
        assert_eq!(message_id, "om_5");
        assert!(reply.contains("管理员") && reply.contains(ADMIN), "{reply}");

        // The same event delivered again: acked, not answered again.
        deliver(&mut socket, "frame-6", &list).await;
        // Hostile frames: skipped, acked where they are data, never fatal.
        socket
            .send(WsMessage::Binary(vec![0xff; 40].into()))
            .await
            .expect("send garbage");
        socket
            .send(WsMessage::Text("{\"type\":\"event\"}".into()))
            .await
            .expect("send text");
        deliver(&mut socket, "frame-7", b"not json at all").await;
        deliver(&mut socket, "frame-8", br#"{"schema":"2.0","header":{"event_id":"ev-8","event_type":"im.chat.member.bot.added_v1"},"event":{}}"#).await;
        // A token Feishu calls invalid is replaced once.
        *fake.state.rejected_token.lock().await = Some("t-1".into());
        let units = message_event("ev-9", "om_9", ADMIN, "p2p", "/units");
        deliver(&mut socket, "frame-9", &units).await;
        let (message_id, bearer, _) = fake.next_reply().await;
        assert_eq!(
            (message_id.as_str(), bearer.as_str()),
            ("om_9", "t-1"),
            "refused once"
        );
        let (message_id, bearer, reply) = fake.next_reply().await;
        assert_eq!((message_id.as_str(), bearer.as_str()), ("om_9", "t-2"));
        assert!(
            reply.contains("区政府办公室"),
            "{reply}; and /list was not answered twice"
        );

        // The server closes the socket: a new connection, still answering.
        socket.close(None).await.expect("close");
        let (_, _, _, mut socket) = fake.next_connection().await;
        expect_ping(&mut socket).await;
        send_frame(&mut socket, &pong()).await;
        let again = message_event("ev-10", "om_10", ADMIN, "p2p", "/whoami");
        deliver(&mut socket, "frame-10", &again).await;
        let (message_id, _, reply) = fake.next_reply().await;
        assert_eq!(message_id, "om_10");
        assert!(reply.contains("管理员"), "{reply}");

        stop(stop_token, running).await;
        db.finish().await;
    }
}

#[tokio::test]
async fn a_silent_connection_is_dropped_and_opened_again() {
    let db = test_dbs("feishu_silent").await.remove(0);
    // One-second pings, never answered.
    let mut fake = FakeFeishu::start(1).await;
    let (health, stop_token, running) = start(context(&db, &fake).await);
    let (_, _, _, mut first) = fake.next_connection().await;
    expect_ping(&mut first).await;
    let (_, _, _, mut second) = fake.next_connection().await;
    expect_ping(&mut second).await;
    error_containing(&health, "did not answer a ping").await;
    stop(stop_token, running).await;
    db.finish().await;
}

#[tokio::test]
async fn a_refused_endpoint_is_reported_without_the_secret_and_retried() {
    // Refuses every endpoint request, first by HTTP status, then by code,
    // echoing what it was sent.
    let (tx, mut attempts) = mpsc::unbounded_channel::<u32>();
    let count = Arc::new(Mutex::new(0u32));
    let app = axum::Router::new().route(
        "/callback/ws/endpoint",
        post(move |Json(body): Json<Value>| {
            let (tx, count) = (tx.clone(), count.clone());
            async move {
                let mut count = count.lock().await;
                *count += 1;
                let _ = tx.send(*count);
                if *count == 1 {
                    (StatusCode::FORBIDDEN, body.to_string())
                } else {
                    let msg = format!("app secret invalid: {}", body["AppSecret"]);
                    (
                        StatusCode::OK,
                        json!({ "code": 1000040345, "msg": msg }).to_string(),
                    )
                }
            }
        }),
    );
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let url = format!("http://{}", http.local_addr().expect("http address"));
    tokio::spawn(async move { axum::serve(http, app).await });

    let db = test_dbs("feishu_refused").await.remove(0);
    let mut settings = db.settings.clone();
    settings.feishu.app_id = Some(APP_ID.into());
    settings.feishu.base_url = url;
    settings.feishu.app_secret = Some(Secret::new(SECRET));
    let (health, stop_token, running) = start(CommandContext::new(db.store.clone(), settings));
    assert_eq!(attempts.recv().await, Some(1));
    let error = error_containing(&health, "HTTP 403").await;
    assert!(error.contains("HTTP 403"), "{error}");
    assert!(!error.contains(SECRET), "the secret leaked: {error}");
    let retried = tokio::time::timeout(WAIT, attempts.recv()).await;
    assert_eq!(retried.expect("retried after a second"), Some(2));
    let error = error_containing(&health, "code 1000040345").await;
    assert!(error.contains("code 1000040345"), "{error}");
    assert!(!error.contains(SECRET), "the secret leaked: {error}");
    stop(stop_token, running).await;
    db.finish().await;
}

/// The Feishu part's last error, once it contains `needle`.
async fn error_containing(health: &Health, needle: &str) -> String {
    tokio::time::timeout(WAIT, async {
        loop {
            let report = health.report(chrono::Utc::now());
            if let Some(error) = report
                .checks
                .get("feishu")
                .and_then(|c| c.last_error.clone())
                .filter(|e| e.contains(needle))
            {
                return error;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no failure with {needle:?} in the health"))
}

#[tokio::test]
async fn feishu_api_sends_text_and_says_which_failures_are_worth_retrying() {
    let mut fake = FakeFeishu::start(120).await;
    let api = FeishuApi::new(&fake.url, APP_ID, Secret::new(SECRET)).expect("api");
    let copy = api.clone();
    api.send_text("chat_id", "oc_group", "巡检提醒")
        .await
        .expect("sent to a chat");
    copy.send_text("open_id", ADMIN, "巡检提醒")
        .await
        .expect("sent to a user");
    let mut sends = Vec::new();
    let mut tokens = 0;
    while sends.len() < 2 {
        match fake.next_call().await {
            Call::Token(_) => tokens += 1,
            Call::Send {
                receive_id_type,
                bearer,
                body,
            } => sends.push((receive_id_type, bearer, body)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(tokens, 1, "clones share one token");
    assert_eq!(sends[0].0, "chat_id");
    assert_eq!(sends[0].1, "t-1");
    assert_eq!(sends[0].2["receive_id"], "oc_group");
    assert_eq!(sends[0].2["msg_type"], "text");
    assert_eq!(
        sends[0].2["content"],
        json!({ "text": "巡检提醒" }).to_string()
    );
    assert_eq!(
        (sends[1].0.as_str(), sends[1].2["receive_id"].as_str()),
        ("open_id", Some(ADMIN))
    );

    let cases = [
        (StatusCode::BAD_REQUEST, 230002, false),
        (StatusCode::BAD_REQUEST, 230001, false),
        (StatusCode::BAD_REQUEST, 99991672, false),
        (StatusCode::BAD_REQUEST, 99991400, true),
        (StatusCode::TOO_MANY_REQUESTS, 99991400, true),
        (StatusCode::BAD_REQUEST, 230020, true),
        (StatusCode::INTERNAL_SERVER_ERROR, 1500, true),
        (StatusCode::BAD_GATEWAY, -1, true),
    ];
    for (status, code, is_transient) in cases {
        fake.state
            .answers
            .lock()
            .await
            .push_back((status, json!({ "code": code, "msg": "refused" })));
        let err = api
            .send_text("chat_id", "oc_group", "x")
            .await
            .expect_err("refused");
        assert_eq!(err.is_transient(), is_transient, "{status} {code}: {err}");
        assert!(err.to_string().contains(&code.to_string()), "{err}");
    }
    let err = api
        .send_text("email", "a@b.cn", "x")
        .await
        .expect_err("not a receive_id_type we send to");
    assert!(!err.is_transient());
    let unreachable =
        FeishuApi::new("http://127.0.0.1:9", APP_ID, Secret::new(SECRET)).expect("api");
    let err = unreachable
        .send_text("chat_id", "oc_group", "x")
        .await
        .expect_err("nobody listens");
    assert!(err.is_transient(), "{err}");
}
