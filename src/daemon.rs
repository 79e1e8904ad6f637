//! The daemon: one poller, every part under the supervisor, the health and
//! metrics endpoint, the watchdog that tells the admins. Stops on shutdown.

use crate::app::App;
use crate::health::{Health, Part};
use crate::scheduler::supervise::supervise;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long each part may go without a success before `/healthz` fails it.
fn expected_interval(part: Part) -> Duration {
    match part {
        // A poll cycle of many feeds can take a while; ticks are 30 s apart.
        Part::Poll => Duration::from_secs(15 * 60),
        Part::Inspection | Part::Reports => Duration::from_secs(10 * 60),
        Part::Delivery => Duration::from_secs(5 * 60),
        // Idle connections are pinged every minute; a pong counts.
        // Feishu's pings are two minutes apart (its PingInterval); a pong counts.
        Part::Telegram | Part::Dingtalk | Part::Feishu => Duration::from_secs(5 * 60),
        Part::Database => Duration::from_secs(5 * 60),
        // Judged by each inspection, however far apart they are.
        Part::Server | Part::Watchdog | Part::Monitoring => Duration::MAX,
    }
}

/// The parts stop within this after shutdown begins (a delivery step in
/// flight finishes within [`crate::scheduler::DELIVERY_STOP_GRACE`]); what
/// is left is aborted and its claims handed back.
const STOP_WITHIN: Duration = Duration::from_secs(9);

/// Runs the daemon until `shutdown` is cancelled.
pub async fn run(app: App, shutdown: CancellationToken) -> anyhow::Result<()> {
    let now = Utc::now();
    let settings = app.settings.clone();
    let store = app.store.clone();
    let health = Health::new(crate::health::secrets_of(&settings));
    crate::health::metrics_handle();
    let listener = match settings.server.address().map_err(anyhow::Error::msg)? {
        Some(address) => Some(crate::server::bind(address).await?),
        None => None,
    };
    let poller = Arc::new(crate::poll::Poller::new(&settings, store.clone())?);
    let calendar = crate::inspection::stored_calendar(&settings, &store, now).await?;
    let web_calendar = calendar.clone();
    let inspector = Arc::new(
        crate::inspection::Inspector::with_poller(store.clone(), settings.clone(), poller.clone())?
            .with_calendar(calendar.clone()),
    );
    let notifier = crate::notify::Notifier::new(&settings, store.clone())?;
    notifier
        .reset_broken(&store.broken_channels().await?, now)
        .await?;
    let bot = notifier.telegram().map(|t| t.bot.clone());
    drop(notifier);

    let mut parts = vec![
        Part::Database,
        Part::Poll,
        Part::Inspection,
        Part::Delivery,
        Part::Reports,
        Part::Monitoring,
    ];
    if bot.is_some() {
        parts.push(Part::Telegram);
    }
    let has_dingtalk = settings.dingtalk.credentials().is_some();
    if has_dingtalk {
        parts.push(Part::Dingtalk);
    } else if settings.dingtalk.client_id.is_some() {
        tracing::warn!(
            "[dingtalk] client_id is set but XUNJIAN_DINGTALK_CLIENT_SECRET is not: the DingTalk robot is off"
        );
    }
    let has_feishu = settings.feishu.credentials().is_some();
    if has_feishu {
        parts.push(Part::Feishu);
    } else if settings.feishu.app_id.is_some() {
        tracing::warn!(
            "[feishu] app_id is set but XUNJIAN_FEISHU_APP_SECRET is not: the Feishu bot is off"
        );
    }
    if listener.is_some() {
        parts.push(Part::Server);
    }
    for part in parts {
        health.track(part, expected_interval(part), now);
    }

    let mut tasks = Parts {
        set: JoinSet::new(),
        health: health.clone(),
        shutdown: shutdown.clone(),
    };
    let poller_for_loop = poller.clone();
    tasks.spawn(Part::Poll, move |health, stop| {
        crate::scheduler::poll_loop(poller_for_loop.clone(), health, stop)
    });
    tasks.spawn(Part::Inspection, move |health, stop| {
        crate::scheduler::inspection_loop(inspector.clone(), health, stop)
    });
    let (settings_for_delivery, store_for_delivery) = (settings.clone(), store.clone());
    tasks.spawn(Part::Delivery, move |health, stop| {
        let notifier =
            crate::notify::Notifier::new(&settings_for_delivery, store_for_delivery.clone());
        async move { crate::scheduler::delivery_loop(notifier?, health, stop).await }
    });
    let (settings_for_reports, store_for_reports) = (settings.clone(), store.clone());
    tasks.spawn(Part::Reports, move |health, stop| {
        crate::scheduler::report_loop(
            store_for_reports.clone(),
            settings_for_reports.clone(),
            calendar.clone(),
            health,
            stop,
        )
    });
    // The watchdog is not a tracked part: it is what reports on them.
    let (settings_for_watchdog, store_for_watchdog) = (settings.clone(), store.clone());
    tasks.spawn(Part::Watchdog, move |health, stop| {
        let store = store_for_watchdog.clone();
        let notifier = crate::notify::Notifier::new(&settings_for_watchdog, store.clone());
        async move { crate::scheduler::watchdog_loop(notifier?, store, health, stop).await }
    });
    match bot {
        Some(bot) => {
            let context = Arc::new(crate::commands::CommandContext::new(
                store.clone(),
                settings.clone(),
            ));
            let owner = crate::process::owner();
            tasks.spawn(Part::Telegram, move |health, stop| {
                crate::commands::bot::run_bot_leased(
                    bot.clone(),
                    context.clone(),
                    health,
                    owner.clone(),
                    stop,
                )
            });
        }
        None => tracing::info!(
            "no XUNJIAN_TELEGRAM_TOKEN: chat commands are off; alerts go to the robots or the console"
        ),
    }
    if has_dingtalk {
        let context = Arc::new(crate::commands::CommandContext::new(
            store.clone(),
            settings.clone(),
        ));
        tasks.spawn(Part::Dingtalk, move |health, stop| {
            let client = crate::commands::dingtalk::StreamClient::new(context.clone(), health);
            async move {
                match client? {
                    Some(client) => client.run(stop).await,
                    None => Ok(()),
                }
            }
        });
    }
    if has_feishu {
        let context = Arc::new(crate::commands::CommandContext::new(
            store.clone(),
            settings.clone(),
        ));
        tasks.spawn(Part::Feishu, move |health, stop| {
            let client = crate::commands::feishu::LongConnection::new(context.clone(), health);
            async move {
                match client? {
                    Some(client) => client.run(stop).await,
                    None => Ok(()),
                }
            }
        });
    }
    if let Some(listener) = listener {
        let address = listener.local_addr()?;
        tracing::info!(%address, "health and metrics at http://{address}/healthz and /metrics");
        let console = crate::web::Console::new(store.clone(), settings.clone(), web_calendar);
        tracing::info!(
            "web console at {} (sign in with xunjian login-link or /登录 in chat)",
            crate::web::links::base_url(&settings)
        );
        let state = crate::server::ServerState {
            health: health.clone(),
            store: store.clone(),
            console: Some(Arc::new(console)),
        };
        let listener = Arc::new(tokio::sync::Mutex::new(Some(listener)));
        tasks.spawn(Part::Server, move |_, stop| {
            let (listener, state) = (listener.clone(), state.clone());
            async move {
                // The first start uses the socket bound at start; a restart binds again.
                let bound = listener.lock().await.take();
                let bound = match bound {
                    Some(bound) => bound,
                    None => crate::server::bind(address).await?,
                };
                crate::server::serve(bound, state, stop).await
            }
        });
    }
    tracing::info!(
        backend = store.backend(),
        "xunjian is running; stop with Ctrl-C"
    );
    shutdown.cancelled().await;
    tracing::info!("shutting down");
    let drained = async { while tasks.set.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_WITHIN, drained).await.is_err() {
        tracing::warn!("tasks did not stop within {} s", STOP_WITHIN.as_secs());
        tasks.set.abort_all();
    }
    // What this daemon still holds goes back, so whoever runs next does it at once.
    let me = crate::process::owner();
    match store.release_gone_holders(|holder| holder == me).await {
        Ok(released) if released != crate::storage::Released::default() => {
            tracing::info!(
                messages = released.messages,
                jobs = released.jobs,
                leases = released.leases,
                "claims handed back at shutdown"
            );
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "cannot hand back the claims at shutdown"),
    }
    store.close().await;
    Ok(())
}

/// The daemon's supervised tasks: each part gets the shared health and the
/// shutdown token every time it is (re)started.
struct Parts {
    set: JoinSet<()>,
    health: Health,
    shutdown: CancellationToken,
}

impl Parts {
    fn spawn<F, Fut>(&mut self, part: Part, mut start: F)
    where
        F: FnMut(Health, CancellationToken) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (health, stop) = (self.health.clone(), self.shutdown.clone());
        self.set.spawn(supervise(
            part,
            self.health.clone(),
            self.shutdown.clone(),
            move || start(health.clone(), stop.clone()),
        ));
    }
}
