//! The Chinese statutory holiday calendar and the weeks the rules assess.
//! Pure: dates in, answers out. All local times are Asia/Shanghai (UTC+8,
//! no daylight saving since 1991).

use chrono::{DateTime, FixedOffset, Utc};

/// Asia/Shanghai.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// A UTC time in Asia/Shanghai.
pub fn to_local(time: DateTime<Utc>) -> DateTime<FixedOffset> {
    time.with_timezone(&shanghai())
}
