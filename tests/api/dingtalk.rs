//! The DingTalk Stream robot against a fake gateway over real HTTP and
//! WebSocket: open, ping, callbacks and their acks, replies through the
//! session webhook, disconnect and reconnect.

use crate::fake_dingtalk::{FakeGateway, WAIT, assert_acked, exchange, ping, robot_message};
use crate::helpers::{TestDb, at, fixture, test_dbs};
use axum::Json;
use axum::routing::post;
use futures_util::SinkExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;
use xunjian::app::App;
use xunjian::commands::CommandContext;
use xunjian::commands::dingtalk::{ROBOT_TOPIC, StreamClient};
use xunjian::config::Secret;
use xunjian::health::{Health, Part};

const NOW: &str = "2026-11-24T10:00:00+08:00";
const SECRET: &str = "dingtalk-app-secret-value";
const ADMIN: &str = "staff-admin";

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
    CommandContext::new(db.store.clone(), settings)
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
    let context = Arc::new(CommandContext::new(db.store.clone(), settings));
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

#[tokio::test]
async fn the_app_robot_fetches_a_rejected_token_again_and_an_unknown_user_breaks_only_their_channel()
 {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Clone, Default)]
    struct Counts {
        tokens: Arc<AtomicUsize>,
        groups: Arc<AtomicUsize>,
    }
    async fn token(axum::extract::State(counts): axum::extract::State<Counts>) -> Json<Value> {
        let n = counts.tokens.fetch_add(1, Ordering::SeqCst) + 1;
        Json(json!({ "accessToken": format!("token-{n}"), "expireIn": 7200 }))
    }
    // The first token is rejected as expired; the second is taken.
    async fn group(
        axum::extract::State(counts): axum::extract::State<Counts>,
        headers: axum::http::HeaderMap,
    ) -> (axum::http::StatusCode, Json<Value>) {
        counts.groups.fetch_add(1, Ordering::SeqCst);
        let token = headers
            .get("x-acs-dingtalk-access-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if token == "token-1" {
            (
                axum::http::StatusCode::UNAUTHORIZED,
                Json(json!({ "code": "InvalidAuthentication", "message": "token expired" })),
            )
        } else {
            (
                axum::http::StatusCode::OK,
                Json(json!({ "processQueryKey": "q" })),
            )
        }
    }
    // staff-gone has left the organisation; the admin is there.
    async fn user(Json(body): Json<Value>) -> Json<Value> {
        let gone: Vec<&Value> = body["userIds"]
            .as_array()
            .map(|ids| ids.iter().filter(|id| *id == "staff-gone").collect())
            .unwrap_or_default();
        Json(json!({ "processQueryKey": "q", "invalidStaffIdList": gone }))
    }
    let counts = Counts::default();
    let app = axum::Router::new()
        .route("/v1.0/oauth2/accessToken", post(token))
        .route("/v1.0/robot/groupMessages/send", post(group))
        .route("/v1.0/robot/oToMessages/batchSend", post(user))
        .with_state(counts.clone());
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let url = format!("http://{}", http.local_addr().expect("http address"));
    tokio::spawn(async move { axum::serve(http, app).await });

    for db in test_dbs("dingtalk_send").await {
        counts.tokens.store(0, Ordering::SeqCst);
        let mut settings = db.settings.clone();
        settings.dingtalk.client_id = Some("ding-app-key".into());
        settings.dingtalk.gateway_url = url.clone();
        settings.dingtalk.client_secret = Some(Secret::new(SECRET));
        settings.dingtalk.admins = vec!["staff-gone".into(), ADMIN.into()];
        let notifier =
            xunjian::notify::Notifier::new(&settings, db.store.clone()).expect("notifier");
        let now = at(NOW);
        let to_group = xunjian::alerts::compose::Message::plain(
            &xunjian::domain::ChatTarget::new(xunjian::domain::Channel::Dingtalk, "group:cid1"),
            "告警",
        );
        let to_gone = xunjian::alerts::compose::Message::plain(
            &xunjian::domain::ChatTarget::new(
                xunjian::domain::Channel::Dingtalk,
                "user:staff-gone",
            ),
            "私信",
        );
        db.store.enqueue(&to_group, now).await.expect("enqueue");
        db.store.enqueue(&to_gone, now).await.expect("enqueue");
        let report = notifier.deliver_pending(now).await.expect("deliver");
        assert_eq!(report.sent, 1, "{report:?}");
        assert_eq!(
            report.broken,
            vec!["dingtalk:user:staff-gone".to_string()],
            "{report:?}"
        );
        assert_eq!(
            counts.tokens.load(Ordering::SeqCst),
            2,
            "a rejected token is fetched again once"
        );
        let state = db
            .store
            .channel_state("dingtalk:user:staff-gone")
            .await
            .expect("state");
        assert!(state.is_broken, "{state:?}");
        assert!(
            state
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("staff-gone")),
            "{state:?}"
        );
        assert!(
            !db.store
                .channel_state("dingtalk:group:cid1")
                .await
                .expect("state")
                .is_broken
        );
        // Messages for the broken chat wait; they do not fill every claim
        // and hold up the others.
        for _ in 0..210 {
            db.store.enqueue(&to_gone, now).await.expect("enqueue");
        }
        db.store.enqueue(&to_group, now).await.expect("enqueue");
        let report = notifier.deliver_pending(now).await.expect("deliver");
        assert_eq!(
            report.sent, 2,
            "the group's message and the note to the other admin go out: {report:?}"
        );
        assert_eq!(
            db.store.broken_channels().await.expect("broken"),
            vec!["dingtalk:user:staff-gone".to_string()]
        );
        db.finish().await;
    }
}

/// Four failed opens grow the backoff (1, 2, 4, 8 s); a connection that then
/// works and drops starts it again: the client is back within 2 s, not 16.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_worked_and_dropped_is_opened_again_within_seconds() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Clone)]
    struct Gate {
        opens: Arc<AtomicUsize>,
        ws_url: String,
        times: tokio::sync::mpsc::UnboundedSender<std::time::Instant>,
    }
    async fn open(
        axum::extract::State(gate): axum::extract::State<Gate>,
    ) -> (axum::http::StatusCode, Json<Value>) {
        let n = gate.opens.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = gate.times.send(std::time::Instant::now());
        if n <= 4 {
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "code": "busy" })),
            );
        }
        (
            axum::http::StatusCode::OK,
            Json(json!({ "endpoint": gate.ws_url, "ticket": format!("ticket-{n}") })),
        )
    }
    let (ws_url, mut sockets) = crate::helpers::websocket_server("/connect").await;
    let (times_tx, mut times) = tokio::sync::mpsc::unbounded_channel();
    let gate = Gate {
        opens: Arc::new(AtomicUsize::new(0)),
        ws_url,
        times: times_tx,
    };
    let app = axum::Router::new()
        .route("/v1.0/gateway/connections/open", post(open))
        .with_state(gate);
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let url = format!("http://{}", http.local_addr().expect("http address"));
    tokio::spawn(async move { axum::serve(http, app).await });

    let db = crate::helpers::test_dbs("dingtalk_reconnect")
        .await
        .remove(0);
    let mut settings = db.settings.clone();
    settings.dingtalk.client_id = Some("ding-app-key".into());
    settings.dingtalk.gateway_url = url;
    settings.dingtalk.client_secret = Some(Secret::new(SECRET));
    let health = Health::new(xunjian::health::secrets_of(&settings));
    health.track(Part::Dingtalk, Duration::from_secs(60), at(NOW));
    let context = Arc::new(CommandContext::new(db.store.clone(), settings));
    let client = StreamClient::new(context, health)
        .expect("client builds")
        .expect("credentials are set");
    let stop = CancellationToken::new();
    let running = tokio::spawn(client.run(stop.clone()));
    // Four refusals, then the fifth open connects (1 + 2 + 4 + 8 s of backoff).
    let (_, socket) = tokio::time::timeout(Duration::from_secs(40), sockets.recv())
        .await
        .expect("the client connects after four failures")
        .expect("server running");
    for _ in 0..5 {
        times.recv().await.expect("an open");
    }
    // The connection drops without a close frame: an error, after it worked.
    drop(socket);
    let dropped = std::time::Instant::now();
    let again = tokio::time::timeout(Duration::from_secs(10), times.recv())
        .await
        .expect("the client opens again")
        .expect("server running");
    let waited = again.duration_since(dropped);
    assert!(
        waited < Duration::from_secs(2),
        "back within 2 s after a working connection dropped, waited {waited:?}"
    );
    stop.cancel();
    tokio::time::timeout(WAIT, running)
        .await
        .expect("stops")
        .expect("no panic")
        .expect("run ends cleanly");
    db.finish().await;
}
