//! A feed proxy's health as the rules and the reports see it.

use chrono::{DateTime, Utc};

/// A proxy's last known health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHealth {
    pub name: String,
    pub is_up: bool,
    pub checked_at: DateTime<Utc>,
    pub down_since: Option<DateTime<Utc>>,
    pub message: Option<String>,
}
