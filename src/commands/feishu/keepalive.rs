//! When to ping the long connection and when to give it up as silent.
//! Pure: the time is a parameter.

use super::frame::DEFAULT_PING_INTERVAL;
use std::time::{Duration, Instant};

/// After a ping, how long an answer (any frame) may take at most; shorter
/// when the ping interval is.
const PONG_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do when [`Keepalive::next_wake`] comes.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    Ping,
    /// Nothing arrived within this long of the last ping: drop the connection.
    Silent(Duration),
    Nothing,
}

/// The ping schedule of one connection: a ping at once, then one every
/// interval; silence after a ping ends the connection.
#[derive(Debug)]
pub struct Keepalive {
    interval: Duration,
    next_ping: Instant,
    /// When the unanswered ping was sent.
    pinged_at: Option<Instant>,
}

impl Keepalive {
    pub fn new(interval: Option<Duration>, now: Instant) -> Keepalive {
        Keepalive {
            interval: interval.unwrap_or(DEFAULT_PING_INTERVAL),
            next_ping: now,
            pinged_at: None,
        }
    }

    /// A new interval from the server; the next ping moves accordingly.
    pub fn set_interval(&mut self, interval: Option<Duration>) {
        if let Some(interval) = interval {
            if interval != self.interval {
                // The last ping (or the start) plus the new interval.
                self.next_ping = self
                    .next_ping
                    .checked_sub(self.interval)
                    .map_or(self.next_ping, |last| last + interval);
                self.interval = interval;
            }
        }
    }

    fn pong_timeout(&self) -> Duration {
        PONG_TIMEOUT.min(self.interval)
    }

    /// When to call [`Keepalive::wake`] next.
    pub fn next_wake(&self) -> Instant {
        match self.pinged_at {
            Some(at) => (at + self.pong_timeout()).min(self.next_ping),
            None => self.next_ping,
        }
    }

    pub fn wake(&mut self, now: Instant) -> Wake {
        if let Some(at) = self.pinged_at {
            if now >= at + self.pong_timeout() {
                return Wake::Silent(self.pong_timeout());
            }
        }
        if now < self.next_ping {
            return Wake::Nothing;
        }
        self.next_ping = now + self.interval;
        self.pinged_at.get_or_insert(now);
        Wake::Ping
    }

    /// Something arrived: the connection is alive.
    pub fn heard(&mut self) {
        self.pinged_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_pings_at_once_then_every_interval_while_the_server_answers() {
        let start = Instant::now();
        let second = |n: u64| start + Duration::from_secs(n);
        let mut keepalive = Keepalive::new(Some(Duration::from_secs(30)), start);
        assert_eq!(keepalive.next_wake(), start);
        assert_eq!(keepalive.wake(start), Wake::Ping);
        assert_eq!(keepalive.next_wake(), second(10), "waiting for the pong");
        keepalive.heard();
        assert_eq!(keepalive.next_wake(), second(30));
        assert_eq!(keepalive.wake(second(29)), Wake::Nothing);
        assert_eq!(keepalive.wake(second(30)), Wake::Ping);
        keepalive.heard();
        keepalive.set_interval(Some(Duration::from_secs(60)));
        assert_eq!(keepalive.next_wake(), second(90));
        keepalive.set_interval(None);
        assert_eq!(keepalive.next_wake(), second(90));
    }

    #[test]
    fn silence_after_a_ping_ends_the_connection() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(None, start);
        assert_eq!(keepalive.wake(start), Wake::Ping);
        assert_eq!(
            keepalive.wake(start + Duration::from_secs(10)),
            Wake::Silent(Duration::from_secs(10))
        );
        let mut quick = Keepalive::new(Some(Duration::from_secs(1)), start);
        assert_eq!(quick.wake(start), Wake::Ping);
        assert_eq!(quick.next_wake(), start + Duration::from_secs(1));
        assert_eq!(
            quick.wake(start + Duration::from_secs(1)),
            Wake::Silent(Duration::from_secs(1))
        );
    }
}
