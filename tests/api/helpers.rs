//! Test databases: a fresh SQLite file always, and a fresh PostgreSQL
//! database per test when `XUNJIAN_TEST_PG_URL` is set (required with CI=true).

use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use xunjian::config::{DatabaseSettings, Settings};
use xunjian::storage::Store;

pub struct TestDb {
    pub store: Store,
    pub settings: Settings,
    pub dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Drops the PostgreSQL database; the SQLite file goes with the temp dir.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = self.pg_drop {
            let admin = sqlx::PgPool::connect(&admin_url)
                .await
                .expect("admin connection");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&admin)
            .await
            .expect("drop test database");
            admin.close().await;
        }
    }
}

/// Settings for the tests: two proxies, as the shipped register expects.
pub fn test_settings(database_url: &str) -> Settings {
    let text = format!(
        "[database]\nurl = \"{database_url}\"\n\n[proxies.rsshub]\nurl = \"http://127.0.0.1:1200\"\nhealth_path = \"/healthz\"\n\n[proxies.wewe]\nurl = \"http://127.0.0.1:4000\"\n"
    );
    Settings::parse("test settings", &text).expect("test settings parse")
}

/// One migrated database per backend available, each fresh for this test.
pub async fn test_dbs(test: &str) -> Vec<TestDb> {
    let mut dbs = vec![sqlite_db().await];
    match std::env::var("XUNJIAN_TEST_PG_URL") {
        Ok(url) => dbs.push(postgres_db(&url, test).await),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but XUNJIAN_TEST_PG_URL is not set: the PostgreSQL suite must run")
        }
        Err(_) => eprintln!("XUNJIAN_TEST_PG_URL not set: {test} runs on SQLite only"),
    }
    dbs
}

async fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("xunjian.db").display());
    let settings = test_settings(&url);
    let store = connect(&settings.database).await;
    TestDb {
        store,
        settings,
        dir,
        pg_drop: None,
    }
}

async fn postgres_db(admin_url: &str, test: &str) -> TestDb {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let name = format!(
        "xj_{}_{}_{}",
        test.replace('-', "_"),
        std::process::id(),
        nanos % 1_000_000_000
    );
    let admin = sqlx::PgPool::connect(admin_url)
        .await
        .expect("XUNJIAN_TEST_PG_URL must reach PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = url::Url::parse(admin_url).expect("XUNJIAN_TEST_PG_URL is a URL");
    url.set_path(&name);
    let settings = test_settings(url.as_str());
    let store = connect(&settings.database).await;
    TestDb {
        store,
        settings,
        dir: tempfile::tempdir().expect("temp dir"),
        pg_drop: Some((admin_url.to_string(), name)),
    }
}

async fn connect(settings: &DatabaseSettings) -> Store {
    let store = Store::connect(settings)
        .await
        .expect("connect test database");
    store.migrate().await.expect("migrate test database");
    store
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn shipped_register() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("accounts.toml")
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time is RFC 3339")
        .with_timezone(&Utc)
}

/// A WebSocket server on 127.0.0.1: its `ws://…{path}` URL, and each
/// accepted connection with the URI it asked for.
pub async fn websocket_server(
    path: &str,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(
        String,
        tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    )>,
) {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind ws");
    let url = format!("ws://{}{path}", listener.local_addr().expect("ws address"));
    let (socket_tx, sockets) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
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
    (url, sockets)
}

/// The Telegram bot of `settings` (its token and Bot API URL), answering
/// commands on `store` until the returned token is cancelled.
pub fn spawn_bot(
    store: &Store,
    settings: &Settings,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let context = std::sync::Arc::new(xunjian::commands::CommandContext::new(
        store.clone(),
        settings.clone(),
    ));
    let notifier = xunjian::notify::Notifier::new(settings, store.clone()).expect("notifier");
    let bot = notifier
        .telegram()
        .expect("telegram configured")
        .bot
        .clone();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(xunjian::commands::bot::run_bot(
        bot,
        context,
        xunjian::health::Health::default(),
        shutdown.clone(),
    ));
    (shutdown, running)
}

/// `xunjian` run in `dir`, with none of the caller's XUNJIAN_* settings.
pub fn xunjian_in(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xunjian"));
    command
        .current_dir(dir)
        .env_remove("XUNJIAN_CONFIG")
        .env_remove("XUNJIAN_ACCOUNTS")
        .env_remove("XUNJIAN_DATABASE_URL")
        .env_remove("XUNJIAN_TELEGRAM_TOKEN")
        .env("XUNJIAN_LOG", "warn");
    command
}

/// One part of a multipart/form-data body.
#[derive(Debug, Clone)]
pub struct FormPart {
    pub name: String,
    pub file_name: Option<String>,
    pub data: Vec<u8>,
}

/// The parts of a multipart/form-data body, as the fakes' upload APIs
/// read them.
pub fn form_parts(content_type: &str, body: &[u8]) -> Vec<FormPart> {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return Vec::new();
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let delimiter = delimiter.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + delimiter.len() <= body.len() {
        if &body[i..i + delimiter.len()] == delimiter {
            starts.push(i);
            i += delimiter.len();
        } else {
            i += 1;
        }
    }
    let attribute = |headers: &str, key: &str| {
        let marker = format!("{key}=\"");
        headers
            .find(&marker)
            .map(|at| &headers[at + marker.len()..])
            .and_then(|rest| rest.split('"').next())
            .map(str::to_string)
    };
    starts
        .windows(2)
        .filter_map(|pair| {
            let part = &body[pair[0] + delimiter.len()..pair[1]];
            let part = part.strip_prefix(b"\r\n").unwrap_or(part);
            let part = part.strip_suffix(b"\r\n").unwrap_or(part);
            let split = part.windows(4).position(|w| w == b"\r\n\r\n")?;
            let headers = String::from_utf8_lossy(&part[..split]).to_string();
            Some(FormPart {
                name: attribute(&headers, " name")?,
                file_name: attribute(&headers, "filename"),
                data: part[split + 4..].to_vec(),
            })
        })
        .collect()
}

/// Today in Beijing.
pub fn local_today() -> chrono::NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// Imports a register given as `accounts.toml` text (no proxies) into the
/// store, as of `now`.
pub async fn register_text(store: &Store, text: &str, now: DateTime<Utc>) {
    use xunjian::registry::diff::plan;
    use xunjian::registry::load::{Context, parse};
    let wanted = parse("test", text, &Context { proxies: &[] }).expect("register");
    let current = store.load_register().await.expect("load");
    store
        .apply_plan(&plan(&current, &wanted, true), "test", "cli", now)
        .await
        .expect("apply");
}
