//! One delivery pass over the outbox: claim a few due messages, renew each
//! claim before each step, send, and record the outcome only while the
//! claim is still this daemon's.

use super::{Notifier, SendError};
use crate::domain::{ChatTarget, Message};
use crate::storage::{ChannelState, OutboxItem};
use chrono::{DateTime, Duration, Utc};
use tokio_util::sync::CancellationToken;

/// How long a claimed message is this daemon's to send without renewal.
/// It is renewed before each step, and a step ends within its channel's
/// HTTP timeout (70 s at most), far within the lease.
pub const CLAIM_LEASE: Duration = Duration::minutes(5);
/// Messages claimed at a time: few, so the others' claims run while this
/// daemon sends, and another daemon takes its share.
pub const CLAIM_BATCH: i64 = 10;
/// Messages handled in one delivery pass at most.
pub const MAX_PER_PASS: usize = 200;

/// How sending one message ended, when the channel did not fail.
enum Delivery {
    Done,
    /// Another daemon holds the claim now: it sends the rest.
    Lost,
    /// Shutdown: the claim is handed back.
    Stopped,
}

/// The pass's clock: the `now` it was given plus the time since, so leases
/// are renewed in real time while tests keep a fixed start.
struct Clock {
    start: DateTime<Utc>,
    started: std::time::Instant,
}

impl Clock {
    fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            start,
            started: std::time::Instant::now(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.start + Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retried: usize,
    pub broken: Vec<String>,
    /// Messages given up after [`MAX_ATTEMPTS`].
    pub dead: usize,
    /// Messages another daemon took over while this one was busy.
    pub lost: usize,
    /// Messages for a contact who cannot be reached privately, sent to the
    /// contacts groups instead.
    pub rerouted: usize,
}

/// Gives up on a message after this many attempts.
pub const MAX_ATTEMPTS: u32 = 20;

impl Notifier {
    /// Sends everything due at `now`, oldest first.
    pub async fn deliver_pending(&self, now: DateTime<Utc>) -> anyhow::Result<DeliveryReport> {
        self.deliver_until(now, &CancellationToken::new()).await
    }

    /// Sends what is due at `now` in small claimed batches until none is
    /// left, [`MAX_PER_PASS`] were handled, or `stop` is cancelled (then it
    /// returns after the step in flight; the rest of its claims are handed
    /// back with [`crate::storage::Store::release_claims`]). Each message's claim is renewed
    /// before each of its steps, and a message whose claim another daemon
    /// took over is left to that daemon.
    pub async fn deliver_until(
        &self,
        now: DateTime<Utc>,
        stop: &CancellationToken,
    ) -> anyhow::Result<DeliveryReport> {
        let clock = Clock::starting_at(now);
        let mut report = DeliveryReport::default();
        let mut handled = 0;
        while handled < MAX_PER_PASS && !stop.is_cancelled() {
            let claimed = self
                .store
                .claim_messages(&self.owner, clock.now(), self.claim_lease, CLAIM_BATCH)
                .await?;
            // A short batch was the last of what was due.
            let is_last = claimed.len() < usize::try_from(CLAIM_BATCH).unwrap_or(usize::MAX);
            for item in claimed {
                if stop.is_cancelled() {
                    break;
                }
                handled += 1;
                self.deliver_one(item, &clock, stop, &mut report).await?;
            }
            if is_last {
                break;
            }
        }
        if stop.is_cancelled() {
            self.store.release_claims(&self.owner).await?;
        }
        Ok(report)
    }

    /// Sends one claimed message and records the outcome, each record only
    /// while this daemon still holds the claim.
    async fn deliver_one(
        &self,
        item: OutboxItem,
        clock: &Clock,
        stop: &CancellationToken,
        report: &mut DeliveryReport,
    ) -> anyhow::Result<()> {
        let key = format!("{}:{}", item.channel, item.recipient);
        // A unit's message to one contact privately: when that person cannot
        // be reached, it goes to the shared group instead, naming them.
        let is_for_person = !item.mentions.is_empty()
            && ChatTarget::new(item.channel.clone(), item.recipient.clone()).is_private();
        let unreachable = format!("unreachable:{key}");
        if is_for_person {
            let state = self.store.channel_state(&unreachable).await?;
            if state.is_broken {
                let reason = state.reason.unwrap_or_default();
                return self
                    .to_group_instead(&item, &reason, clock.now(), report)
                    .await;
            }
        }
        let state = self.store.channel_state(&key).await?;
        if state.is_broken {
            return Ok(());
        }
        let recipient = state
            .chat_override
            .clone()
            .unwrap_or_else(|| item.recipient.clone());
        let sent = match self.send(&item, &recipient, clock, stop).await {
            Ok(Delivery::Done) => Ok(()),
            Ok(Delivery::Lost) => {
                tracing::info!(id = item.id, channel = %key, "another daemon took this message over; left to it");
                report.lost += 1;
                return Ok(());
            }
            Ok(Delivery::Stopped) => return Ok(()),
            Err(err) => Err(err),
        };
        let result = match &sent {
            Ok(()) => "sent",
            Err(SendError::Transient { .. }) => "retry",
            Err(SendError::Broken(_)) => "broken",
            Err(SendError::Migrated { .. }) => "migrated",
        };
        metrics::counter!("xunjian_sends_total", "channel" => item.channel.key(), "result" => result)
            .increment(1);
        let now = clock.now();
        let owner = self.owner.as_str();
        match sent.map_err(|e| e.redacted(&self.redactor)) {
            Ok(()) => {
                if self.store.mark_sent(item.id, owner, now).await? {
                    report.sent += 1;
                } else {
                    // Only when a step outlasted the lease.
                    tracing::warn!(id = item.id, channel = %key, "sent, but the claim had passed to another daemon");
                    report.lost += 1;
                }
            }
            Err(SendError::Migrated { new_chat }) => {
                tracing::warn!(channel = %key, %new_chat, "the chat migrated; following it");
                let moved = ChannelState {
                    chat_override: Some(new_chat),
                    ..state
                };
                self.store.set_channel_state(&key, &moved, now).await?;
                self.store
                    .mark_failed(item.id, owner, "chat migrated; resending", now)
                    .await?;
                report.retried += 1;
            }
            Err(SendError::Transient {
                message,
                retry_after,
            }) => {
                let backoff = Duration::seconds(30 * 2_i64.pow(item.attempts.min(10)));
                let wait = retry_after
                    .and_then(|r| Duration::from_std(r).ok())
                    .unwrap_or(backoff)
                    .min(Duration::hours(6));
                if item.attempts.saturating_add(1) >= MAX_ATTEMPTS {
                    tracing::error!(channel = %key, error = %message, id = item.id, "message given up after its attempts");
                    if self.store.mark_dead(item.id, owner, &message, now).await? {
                        let reason = format!(
                            "消息 #{} 已尝试发送 {MAX_ATTEMPTS} 次仍失败，已放弃（最近的错误：{message}）",
                            item.id
                        );
                        self.tell_admins_elsewhere(&key, &reason, now).await?;
                        report.dead += 1;
                    }
                } else {
                    tracing::warn!(channel = %key, error = %message, attempts = item.attempts + 1, "send failed; will retry");
                    self.store
                        .mark_failed(item.id, owner, &message, now + wait)
                        .await?;
                    report.retried += 1;
                }
            }
            Err(SendError::Broken(reason)) if is_for_person => {
                tracing::warn!(channel = %key, %reason, "a contact cannot be reached privately; their unit's message goes to the contacts group");
                let gone = ChannelState {
                    is_broken: true,
                    reason: Some(reason.clone()),
                    chat_override: None,
                };
                self.store
                    .set_channel_state(&unreachable, &gone, now)
                    .await?;
                let names: Vec<&str> = item.mentions.iter().map(|m| m.name.as_str()).collect();
                let note = format!(
                    "联系人{}无法私信（{reason}），其单位的告警与整改通知改发联系人群；请其私聊机器人发送 /start，或核对其账号ID",
                    names.join("、")
                );
                self.tell_admins_elsewhere(&key, &note, now).await?;
                self.to_group_instead(&item, &reason, now, report).await?;
                report.broken.push(key);
            }
            Err(SendError::Broken(reason)) => {
                tracing::error!(channel = %key, %reason, "channel broken");
                let broken = ChannelState {
                    is_broken: true,
                    reason: Some(reason.clone()),
                    ..state
                };
                self.store.set_channel_state(&key, &broken, now).await?;
                self.store.mark_failed(item.id, owner, &reason, now).await?;
                self.tell_admins_elsewhere(&key, &reason, now).await?;
                report.broken.push(key);
            }
        }
        Ok(())
    }

    /// Gives up a message to a person who cannot be reached privately for
    /// the same text in the shared contacts groups, naming them; kept
    /// (and retried) when there is no such group.
    async fn to_group_instead(
        &self,
        item: &OutboxItem,
        reason: &str,
        now: DateTime<Utc>,
        report: &mut DeliveryReport,
    ) -> anyhow::Result<()> {
        let names: Vec<&str> = item.mentions.iter().map(|m| m.name.as_str()).collect();
        let instead: Vec<Message> = self
            .contacts
            .iter()
            .map(|group| {
                let mut body = format!(
                    "（无法私信送达{}，改发本群）\n{}",
                    names.join("、"),
                    item.body
                );
                if group.is_app_group() {
                    body = body.replace("\n回复 /ack ", "\n@机器人 并发送 /ack ");
                }
                Message {
                    body,
                    mentions: item.mentions.clone(),
                    is_urgent: true,
                    ..Message::plain(group, "")
                }
            })
            .collect();
        if instead.is_empty() {
            self.store
                .mark_failed(item.id, &self.owner, reason, now + Duration::hours(1))
                .await?;
            report.retried += 1;
            return Ok(());
        }
        let why = format!("无法私信送达，已改发联系人群：{reason}");
        if self
            .store
            .reroute(item.id, &self.owner, &why, &instead, now)
            .await?
        {
            report.rerouted += 1;
        } else {
            report.lost += 1;
        }
        Ok(())
    }

    /// Sends what is left of a message: each text part and each file is a
    /// step, recorded as done when the channel took it, so a retry resends
    /// only the steps that did not go out. The claim is renewed before each
    /// step; a lost claim or a stop ends the message there.
    async fn send(
        &self,
        item: &OutboxItem,
        recipient: &str,
        clock: &Clock,
        stop: &CancellationToken,
    ) -> Result<Delivery, SendError> {
        let steps = self.steps(item).await?;
        let done = usize::try_from(item.steps_done).unwrap_or(usize::MAX);
        for (index, step) in steps.iter().enumerate().skip(done) {
            if stop.is_cancelled() {
                return Ok(Delivery::Stopped);
            }
            let renewed = self
                .store
                .renew_claim(item.id, &self.owner, clock.now(), self.claim_lease)
                .await
                .map_err(|err| SendError::Transient {
                    message: format!("cannot renew the claim: {err}"),
                    retry_after: None,
                })?;
            if !renewed {
                return Ok(Delivery::Lost);
            }
            self.send_step(item, recipient, step, index).await?;
            let finished = u32::try_from(index + 1).unwrap_or(u32::MAX);
            match self
                .store
                .mark_steps_done(item.id, &self.owner, finished)
                .await
            {
                Ok(true) => {}
                Ok(false) => return Ok(Delivery::Lost),
                // That step went out but is not recorded: it may go out once more.
                Err(err) => {
                    return Err(SendError::Transient {
                        message: format!("cannot record the delivery step: {err}"),
                        retry_after: None,
                    });
                }
            }
        }
        Ok(Delivery::Done)
    }
}
