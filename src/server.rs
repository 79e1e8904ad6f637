//! The HTTP server (`[server] listen`): health, metrics and the web console.
//!
//! `GET /healthz`: 200 `{"status":"ok","checks":{…}}` when every part has
//! worked within its interval and the database answers; 503 with
//! `"status":"failing"` otherwise. `GET /metrics`: Prometheus text. Every
//! other path is the console ([`crate::web`]), behind its sign-in.

use crate::health::{Health, Part};
use crate::storage::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the handlers read.
#[derive(Clone)]
pub struct ServerState {
    pub health: Health,
    pub store: Store,
    /// The web console, when the daemon serves it.
    pub console: Option<std::sync::Arc<crate::web::Console>>,
}

/// The routes.
pub fn router(state: ServerState) -> Router {
    let console = state.console.clone();
    let server = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state);
    match console {
        Some(console) => server.merge(crate::web::router(console)),
        None => server,
    }
}

/// Binds exactly `address` (never another), or says why not.
pub async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("server.listen: cannot listen on {address}: {e}"))
}

/// Serves on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ServerState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let health = state.health.clone();
    health.succeeded(Part::Server, Utc::now());
    // The console's sign-in limiter counts failures per client address.
    let service = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|e| anyhow::anyhow!("the HTTP server stopped: {e}"))
}

async fn healthz(State(state): State<ServerState>) -> Response {
    let now = Utc::now();
    state.health.succeeded(Part::Server, now);
    let ping = tokio::time::timeout(Duration::from_secs(3), state.store.ping()).await;
    let ping_error = match ping {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(state.health.redact(&err.to_string())),
        Err(_) => Some("the database did not answer within 3 s".to_string()),
    };
    if let Some(error) = &ping_error {
        state.health.failed(Part::Database, error, now);
    }
    let report = state.health.report(now);
    let code = if report.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::to_value(&report).unwrap_or_default();
    if ping_error.is_none() {
        if let Ok(Ok(counts)) =
            tokio::time::timeout(Duration::from_secs(3), state.store.ops_counts(now)).await
        {
            // Shown, not failing: a dead message needs a person, not a restart.
            body["outbox"] = serde_json::json!({
                "pending": counts.outbox_pending,
                "oldest_pending_seconds": counts.outbox_oldest_pending_seconds,
                "dead": counts.outbox_dead,
                "broken_channels": counts.broken_channels,
            });
        }
    }
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<ServerState>) -> Response {
    let now = Utc::now();
    state.health.succeeded(Part::Server, now);
    let handle = crate::health::metrics_handle();
    match tokio::time::timeout(Duration::from_secs(3), state.store.ops_counts(now)).await {
        Ok(Ok(counts)) => {
            metrics::gauge!("xunjian_outbox_pending").set(counts.outbox_pending as f64);
            metrics::gauge!("xunjian_outbox_oldest_pending_age_seconds")
                .set(counts.outbox_oldest_pending_seconds as f64);
            metrics::gauge!("xunjian_channels_broken").set(counts.broken_channels as f64);
            metrics::gauge!("xunjian_outbox_dead").set(counts.outbox_dead as f64);
            for rule in crate::rules::Rule::ALL {
                let open = counts.open_alerts.get(rule.id()).copied().unwrap_or(0);
                metrics::gauge!("xunjian_alerts_open", "rule" => rule.id()).set(open as f64);
            }
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %state.health.redact(&err.to_string()), "metrics: cannot read the database");
        }
        Err(_) => tracing::warn!("metrics: the database did not answer within 3 s"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
