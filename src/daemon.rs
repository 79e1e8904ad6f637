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
        Part::Telegram => Duration::from_secs(5 * 60),
        Part::Database => Duration::from_secs(5 * 60),
        Part::Server | Part::Watchdog => Duration::MAX,
    }
}

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
    let inspector = Arc::new(crate::inspection::Inspector::with_poller(
        store.clone(),
        settings.clone(),
        poller.clone(),
    )?);
    let calendar = crate::inspection::load_calendar(&settings)?;
    let notifier = crate::notify::Notifier::new(&settings, store.clone())?;
    notifier
        .reset_broken(&configured_channels(&app), now)
        .await?;
    let bot = notifier.telegram().map(|t| t.bot.clone());
    drop(notifier);

    let mut parts = vec![
        Part::Database,
        Part::Poll,
        Part::Inspection,
        Part::Delivery,
        Part::Reports,
    ];
    if bot.is_some() {
        parts.push(Part::Telegram);
    }
    if listener.is_some() {
        parts.push(Part::Server);
    }
    for part in parts {
        health.track(part, expected_interval(part), now);
    }

    let mut tasks = JoinSet::new();
    {
        let (poller, health) = (poller.clone(), health.clone());
        let stop = shutdown.clone();
        tasks.spawn(supervise(
            Part::Poll,
            health.clone(),
            shutdown.clone(),
            move || crate::scheduler::poll_loop(poller.clone(), health.clone(), stop.clone()),
        ));
    }
    {
        let (inspector, health) = (inspector.clone(), health.clone());
        let stop = shutdown.clone();
        tasks.spawn(supervise(
            Part::Inspection,
            health.clone(),
            shutdown.clone(),
            move || {
                crate::scheduler::inspection_loop(inspector.clone(), health.clone(), stop.clone())
            },
        ));
    }
    {
        let (settings, store, health) = (settings.clone(), store.clone(), health.clone());
        let stop = shutdown.clone();
        tasks.spawn(supervise(
            Part::Delivery,
            health.clone(),
            shutdown.clone(),
            move || {
                let (settings, store, health, stop) = (
                    settings.clone(),
                    store.clone(),
                    health.clone(),
                    stop.clone(),
                );
                async move {
                    let notifier = crate::notify::Notifier::new(&settings, store)?;
                    crate::scheduler::delivery_loop(notifier, health, stop).await
                }
            },
        ));
    }
    {
        let (settings, store, health) = (settings.clone(), store.clone(), health.clone());
        let stop = shutdown.clone();
        tasks.spawn(supervise(
            Part::Reports,
            health.clone(),
            shutdown.clone(),
            move || {
                crate::scheduler::report_loop(
                    store.clone(),
                    settings.clone(),
                    calendar.clone(),
                    health.clone(),
                    stop.clone(),
                )
            },
        ));
    }
    {
        let (settings, store, health) = (settings.clone(), store.clone(), health.clone());
        let stop = shutdown.clone();
        // The watchdog is not a tracked part: it is what reports on them.
        tasks.spawn(supervise(
            Part::Watchdog,
            health.clone(),
            shutdown.clone(),
            move || {
                let (settings, store, health, stop) = (
                    settings.clone(),
                    store.clone(),
                    health.clone(),
                    stop.clone(),
                );
                async move {
                    let notifier = crate::notify::Notifier::new(&settings, store.clone())?;
                    crate::scheduler::watchdog_loop(notifier, store, health, stop).await
                }
            },
        ));
    }
    match bot {
        Some(bot) => {
            let context = Arc::new(crate::commands::CommandContext {
                store: store.clone(),
                settings: settings.clone(),
            });
            let health_for_bot = health.clone();
            let stop = shutdown.clone();
            let owner = crate::scheduler::owner();
            tasks.spawn(supervise(
                Part::Telegram,
                health.clone(),
                shutdown.clone(),
                move || {
                    crate::commands::bot::run_bot_leased(
                        bot.clone(),
                        context.clone(),
                        health_for_bot.clone(),
                        owner.clone(),
                        stop.clone(),
                    )
                },
            ));
        }
        None => tracing::info!(
            "no XUNJIAN_TELEGRAM_TOKEN: chat commands are off; alerts go to the robots or the console"
        ),
    }
    if let Some(listener) = listener {
        let address = listener.local_addr()?;
        tracing::info!(%address, "health and metrics at http://{address}/healthz and /metrics");
        let state = crate::server::ServerState {
            health: health.clone(),
            store: store.clone(),
        };
        let listener = Arc::new(tokio::sync::Mutex::new(Some(listener)));
        let stop = shutdown.clone();
        tasks.spawn(supervise(
            Part::Server,
            health.clone(),
            shutdown.clone(),
            move || {
                let (listener, state, stop) = (listener.clone(), state.clone(), stop.clone());
                async move {
                    // The first start uses the socket bound at start; a restart binds again.
                    let bound = listener.lock().await.take();
                    let bound = match bound {
                        Some(bound) => bound,
                        None => crate::server::bind(address).await?,
                    };
                    crate::server::serve(bound, state, stop).await
                }
            },
        ));
    }
    tracing::info!(
        backend = store.backend(),
        "xunjian is running; stop with Ctrl-C"
    );
    shutdown.cancelled().await;
    tracing::info!("shutting down");
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(30), drained)
        .await
        .is_err()
    {
        tracing::warn!("tasks did not stop within 30 s");
    }
    store.close().await;
    Ok(())
}

/// The channels of the settings, whose broken marks a restart forgets (a
/// restart is how a fixed channel configuration takes effect).
fn configured_channels(app: &App) -> Vec<String> {
    let settings = &app.settings;
    let mut channels: Vec<String> = settings
        .robots
        .keys()
        .map(|name| format!("robot:{name}:-"))
        .collect();
    channels.extend(
        settings
            .telegram
            .contacts_chat
            .map(|c| format!("telegram:{c}")),
    );
    channels.extend(
        settings
            .telegram
            .admins
            .iter()
            .map(|a| format!("telegram:{a}")),
    );
    channels
}
