//! The DingTalk Stream robot against a fake gateway over real HTTP and
//! WebSocket: open, ping, callbacks and their acks, replies through the
//! session webhook, disconnect and reconnect.

use crate::helpers::{TestDb, at, fixture, test_dbs};
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::post;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_util::sync::CancellationToken;
use xunjian::app::App;
use xunjian::commands::CommandContext;
use xunjian::commands::dingtalk::{ROBOT_TOPIC, StreamClient};
use xunjian::config::Secret;
use xunjian::health::{Health, Part};

const NOW: &str = "2026-11-24T10:00:00+08:00";
const WAIT: Duration = Duration::from_secs(10);
const SECRET: &str = "dingtalk-app-secret-value";
const ADMIN: &str = "staff-admin";

type Socket = WebSocketStream<TcpStream>;

/// The gateway: `connections/open` over HTTP, the stream over WebSocket,
/// and the session webhooks the replies go to.
struct FakeGateway {
    url: String,
    opens: mpsc::UnboundedReceiver<Value>,
    sockets: mpsc::UnboundedReceiver<(String, Socket)>,
    replies: mpsc::UnboundedReceiver<(String, Value)>,
}

#[derive(Clone)]
struct GatewayState {
    ws_url: String,
    opens: mpsc::UnboundedSender<Value>,
    replies: mpsc::UnboundedSender<(String, Value)>,
    tickets: Arc<Mutex<u32>>,
}

impl FakeGateway {
    async fn start() -> FakeGateway {
        let ws = TcpListener::bind("127.0.0.1:0").await.expect("bind ws");
        let ws_url = format!("ws://{}/connect", ws.local_addr().expect("ws address"));
        let (socket_tx, sockets) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = ws.accept().await {
                let mut uri = String::new();
                // tungstenite's callback signature, not ours to shrink.
                #[allow(clippy::result_large_err)]
                let capture = |req: &Request, res: Response| {
                    uri = req.uri().to_string();
                    Ok(res)
                };
                if let Ok(socket) = tokio_tungstenite::accept_hdr_async(tcp, capture).await {
                    let _ = socket_tx.send((uri, socket));
                }
            }
        });
        let (opens_tx, opens) = mpsc::unbounded_channel();
        let (replies_tx, replies) = mpsc::unbounded_channel();
        let state = GatewayState {
            ws_url,
            opens: opens_tx,
            replies: replies_tx,
            tickets: Arc::new(Mutex::new(0)),
        };
        let app = axum::Router::new()
            .route("/v1.0/gateway/connections/open", post(open))
            .route("/session/{id}", post(session_webhook))
            .with_state(state);
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let url = format!("http://{}", http.local_addr().expect("http address"));
        tokio::spawn(async move { axum::serve(http, app).await });
        FakeGateway {
            url,
            opens,
            sockets,
            replies,
        }
    }

    /// The next connection: the body of its `connections/open` and its socket.
    async fn next_connection(&mut self) -> (Value, String, Socket) {
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
    async fn next_reply(&mut self) -> (String, String) {
        let (session, body) = tokio::time::timeout(WAIT, self.replies.recv())
            .await
            .expect("a reply reaches the session webhook")
            .expect("gateway running");
        assert_eq!(body["msgtype"], "text", "{body}");
        let content = body["text"]["content"].as_str().expect("text content");
        (session, content.to_string())
    }

    fn webhook(&self, session: &str) -> String {
        format!("{}/session/{session}", self.url)
    }
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
async fn exchange(socket: &mut Socket, frame: Value) -> Value {
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

fn ping(id: &str) -> Value {
    json!({
        "specVersion": "1.0",
        "type": "SYSTEM",
        "headers": { "messageId": id, "topic": "ping", "contentType": "application/json", "time": "1764000000000" },
        "data": "{\"opaque\":\"abc-123\"}",
    })
}

fn robot_message(id: &str, staff: &str, text: &str, webhook: &str) -> Value {
    let data = json!({
        "msgtype": "text",
        "text": { "content": text },
        "senderStaffId": staff,
        "senderNick": "测试用户",
        "conversationType": "1",
        "sessionWebhook": webhook,
    });
    json!({
        "specVersion": "1.0",
        "type": "CALLBACK",
        "headers": { "messageId": id, "topic": ROBOT_TOPIC, "contentType": "application/json", "time": "1764000000000" },
        "data": data.to_string(),
    })
}

fn assert_acked(ack: &Value, id: &str) {
    assert_eq!(ack["code"], 200, "{ack}");
    assert_eq!(ack["headers"]["messageId"], id, "{ack}");
    assert_eq!(ack["headers"]["contentType"], "application/json", "{ack}");
}

async fn context(db: &TestDb, gateway: &FakeGateway) -> CommandContext {
    let mut settings = db.settings.clone();
    settings.dingtalk.client_id = Some("ding-app-key".into());
    settings.dingtalk.admins = vec![ADMIN.into()];
    settings.dingtalk.gateway_url = gateway.url.clone();
    settings.dingtalk.client_secret = Some(Secret::new(SECRET));
    let app = App::open(settings.clone(), fixture("dingtalk_accounts.toml"))
        .await
        .expect("open app");
    app.import(false, false, at(NOW)).await.expect("import");
    CommandContext {
        store: db.store.clone(),
        settings,
    }
}

#[tokio::test]
async fn the_dingtalk_robot_answers_pings_acks_commands_replies_and_reconnects() {
    for db in test_dbs("dingtalk_stream").await {
        let mut gateway = FakeGateway::start().await;
        let context = Arc::new(context(&db, &gateway).await);
        let health = Health::new(xunjian::health::secrets_of(&context.settings));
        health.track(Part::Dingtalk, Duration::from_secs(300), at(NOW));
        let client = StreamClient::new(context.clone(), health.clone())
            .expect("client builds")
            .expect("credentials are set");
        let stop = CancellationToken::new();
        let running = tokio::spawn(client.run(stop.clone()));

        let (open, uri, mut socket) = gateway.next_connection().await;
        assert_eq!(open["clientId"], "ding-app-key");
        assert_eq!(open["clientSecret"], SECRET);
        assert_eq!(open["subscriptions"][0]["type"], "CALLBACK");
        assert_eq!(open["subscriptions"][0]["topic"], ROBOT_TOPIC);
        assert!(
            open["ua"]
                .as_str()
                .is_some_and(|ua| ua.starts_with("xunjian/"))
        );
        assert_eq!(uri, "/connect?ticket=ticket-1");

        let pong = exchange(&mut socket, ping("ping-1")).await;
        assert_acked(&pong, "ping-1");
        assert_eq!(pong["data"], "{\"opaque\":\"abc-123\"}");
        assert!(health.last_success(Part::Dingtalk).is_some());

        let admin = gateway.webhook("admin");
        let ack = exchange(&mut socket, robot_message("m-1", ADMIN, "/whoami", &admin)).await;
        assert_acked(&ack, "m-1");
        assert_eq!(ack["data"], "{\"response\":null}");
        let (session, reply) = gateway.next_reply().await;
        assert_eq!(session, "admin");
        assert!(reply.contains("管理员") && reply.contains(ADMIN), "{reply}");

        let contact = gateway.webhook("contact");
        let ack = exchange(
            &mut socket,
            robot_message("m-2", "staff-wangmin", " /list", &contact),
        )
        .await;
        assert_acked(&ack, "m-2");
        let (session, reply) = gateway.next_reply().await;
        assert_eq!(session, "contact");
        assert!(reply.contains("兰山发布"), "{reply}");
        assert!(
            !reply.contains("兰山教体"),
            "a contact sees only their unit: {reply}"
        );

        let stranger = gateway.webhook("stranger");
        let ack = exchange(
            &mut socket,
            robot_message("m-3", "staff-nobody", "/list", &stranger),
        )
        .await;
        assert_acked(&ack, "m-3");
        let (session, reply) = gateway.next_reply().await;
        assert_eq!(session, "stranger");
        assert!(reply.contains("没有执行此命令的权限"), "{reply}");
        assert!(!reply.contains("兰山发布"), "{reply}");

        // The gateway asks for a reconnect: a new connection, still answering.
        let disconnect = json!({
            "specVersion": "1.0",
            "type": "SYSTEM",
            "headers": { "messageId": "d-1", "topic": "disconnect" },
            "data": "{\"reason\":\"server restart\"}",
        });
        socket
            .send(WsMessage::Text(disconnect.to_string().into()))
            .await
            .expect("send disconnect");
        let (_, uri, mut socket) = gateway.next_connection().await;
        assert_eq!(uri, "/connect?ticket=ticket-2");
        assert_acked(&exchange(&mut socket, ping("ping-2")).await, "ping-2");

        // The socket is dropped under it: it reconnects again and answers.
        drop(socket);
        let (_, uri, mut socket) = gateway.next_connection().await;
        assert_eq!(uri, "/connect?ticket=ticket-3");
        let ack = exchange(&mut socket, robot_message("m-4", ADMIN, "/whoami", &admin)).await;
        assert_acked(&ack, "m-4");
        let (_, reply) = gateway.next_reply().await;
        assert!(reply.contains("管理员"), "{reply}");

        stop.cancel();
        tokio::time::timeout(WAIT, running)
            .await
            .expect("the client stops on shutdown")
            .expect("no panic")
            .expect("run ends cleanly");
        db.finish().await;
    }
}

#[tokio::test]
async fn a_refused_connection_is_reported_without_the_secret_and_retried() {
    // A gateway that refuses every open and echoes what it was sent.
    async fn refuse(Json(body): Json<Value>) -> (axum::http::StatusCode, String) {
        (axum::http::StatusCode::UNAUTHORIZED, body.to_string())
    }
    let app = axum::Router::new().route("/v1.0/gateway/connections/open", post(refuse));
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let url = format!("http://{}", http.local_addr().expect("http address"));
    tokio::spawn(async move { axum::serve(http, app).await });

    let db = crate::helpers::test_dbs("dingtalk_refused").await.remove(0);
    let mut settings = db.settings.clone();
    settings.dingtalk.client_id = Some("ding-app-key".into());
    settings.dingtalk.gateway_url = url;
    settings.dingtalk.client_secret = Some(Secret::new(SECRET));
    let health = Health::new(xunjian::health::secrets_of(&settings));
    health.track(Part::Dingtalk, Duration::from_secs(60), at(NOW));
    let context = Arc::new(CommandContext {
        store: db.store.clone(),
        settings,
    });
    let client = StreamClient::new(context, health.clone())
        .expect("client builds")
        .expect("credentials are set");
    let stop = CancellationToken::new();
    let running = tokio::spawn(client.run(stop.clone()));
    let error = tokio::time::timeout(WAIT, async {
        loop {
            let report = health.report(chrono::Utc::now());
            if let Some(error) = report
                .checks
                .get("dingtalk")
                .and_then(|c| c.last_error.clone())
            {
                return error;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the failure shows in the health");
    assert!(error.contains("HTTP 401"), "{error}");
    assert!(!error.contains(SECRET), "the secret leaked: {error}");
    stop.cancel();
    tokio::time::timeout(WAIT, running)
        .await
        .expect("the client stops while waiting to retry")
        .expect("no panic")
        .expect("run ends cleanly");
    db.finish().await;
}
