//! The supervisor: every long-running part runs under it. When a part
//! returns, fails or panics, the cause is logged at ERROR, counted, recorded
//! in [`Health`], and the part is started again after a backoff (1 s,
//! doubling to 5 min; back to 1 s once it has worked again).

use crate::health::{Health, Part};
use crate::process::panic_text;
use chrono::Utc;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// First wait before a restart.
pub const FIRST_RESTART: Duration = Duration::from_secs(1);
/// Longest wait before a restart.
pub const MAX_RESTART: Duration = Duration::from_secs(300);

/// Runs the part that `start` builds until `shutdown` is cancelled,
/// restarting it whenever it stops.
pub async fn supervise<F, Fut>(part: Part, health: Health, shutdown: CancellationToken, start: F)
where
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    supervise_with(part, health, shutdown, FIRST_RESTART, MAX_RESTART, start).await;
}

/// [`supervise`] with explicit backoff bounds.
pub async fn supervise_with<F, Fut>(
    part: Part,
    health: Health,
    shutdown: CancellationToken,
    first_wait: Duration,
    max_wait: Duration,
    mut start: F,
) where
    F: FnMut() -> Fut + Send,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut wait = first_wait;
    loop {
        let started_at = Utc::now();
        let mut task = tokio::spawn(start());
        let joined = tokio::select! {
            joined = &mut task => joined,
            _ = shutdown.cancelled() => {
                // Give the part its own chance to stop cleanly.
                match tokio::time::timeout(Duration::from_secs(25), &mut task).await {
                    Ok(_) => {}
                    Err(_) => {
                        tracing::warn!(part = part.id(), "did not stop in time; aborted");
                        task.abort();
                    }
                }
                return;
            }
        };
        if shutdown.is_cancelled() {
            return;
        }
        let cause = match joined {
            Ok(Ok(())) => "the part returned".to_string(),
            Ok(Err(err)) => format!("{err:#}"),
            Err(err) if err.is_panic() => format!("panicked: {}", panic_text(err.into_panic())),
            Err(err) => format!("was cancelled: {err}"),
        };
        let cause = health.redact(&cause);
        let now = Utc::now();
        health.failed(part, &cause, now);
        health.restarted(part);
        if is_storage_failure(&cause) {
            health.failed(Part::Database, &cause, now);
        }
        // A part that worked since it was started begins the backoff anew.
        if health.last_success(part).is_some_and(|t| t >= started_at) {
            wait = first_wait;
        }
        tracing::error!(
            part = part.id(),
            cause = %cause,
            restart_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "part stopped; restarting"
        );
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = wait.saturating_mul(2).min(max_wait);
    }
}

/// Whether an error text says the database failed (sqlx's messages).
fn is_storage_failure(cause: &str) -> bool {
    cause.contains("database error") || cause.contains("pool timed out")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_part_that_panics_or_fails_is_restarted_counted_and_shown_failing() {
        let health = Health::new(vec![]);
        health.track(Part::Poll, Duration::from_secs(600), Utc::now());
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let supervisor = tokio::spawn({
            let (health, shutdown, runs) = (health.clone(), shutdown.clone(), runs.clone());
            let stop = shutdown.clone();
            supervise(Part::Poll, health.clone(), shutdown, move || {
                let run = runs.fetch_add(1, Ordering::SeqCst);
                let (health, stop) = (health.clone(), stop.clone());
                async move {
                    match run {
                        0 => panic!("byte index 3 is not a char boundary"),
                        1 => anyhow::bail!("database error: disk full"),
                        2 => Ok(()),
                        _ => {
                            health.succeeded(Part::Poll, Utc::now());
                            stop.cancelled().await;
                            Ok(())
                        }
                    }
                }
            })
        });
        // 1 s + 2 s + 4 s of backoff, in paused (virtual) time.
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        let report = health.report(Utc::now());
        let poll = &report.checks["poll"];
        assert_eq!(poll.restarts, 3);
        assert_eq!(poll.status, "ok", "{poll:?}");
        assert_eq!(poll.last_error.as_deref(), Some("the part returned"));
        shutdown.cancel();
        supervisor.await.expect("the supervisor stops on shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn the_backoff_doubles_up_to_its_ceiling() {
        let health = Health::new(vec![]);
        health.track(Part::Delivery, Duration::from_secs(600), Utc::now());
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let supervisor = tokio::spawn({
            let (health, shutdown, runs) = (health.clone(), shutdown.clone(), runs.clone());
            supervise(Part::Delivery, health, shutdown, move || {
                runs.fetch_add(1, Ordering::SeqCst);
                async { anyhow::bail!("always fails") }
            })
        });
        // Waits 1+2+4+…+256 = 511 s, then 300 s each: by 511 + 600 s, 9 + 2 more runs.
        tokio::time::sleep(Duration::from_secs(511 + 600) + Duration::from_millis(10)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 12);
        let report = health.report(Utc::now());
        assert_eq!(report.checks["delivery"].status, "failing");
        assert_eq!(
            report.checks["delivery"].last_error.as_deref(),
            Some("always fails")
        );
        shutdown.cancel();
        supervisor.await.expect("stops");
    }
}
