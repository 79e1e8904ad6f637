//! Assessable weeks (每周至少更新一篇，不含节假日).
//!
//! Weeks run Monday–Sunday (Asia/Shanghai). A week belongs to the period
//! that contains its Sunday, so adjacent periods add up exactly (February +
//! March = February–March). It is assessable when any of its seven days is a
//! statutory workday (调休 Saturdays and Sundays count). Whether a week has
//! ended by a report's "as of" time is the caller's cut: pass `to` no later
//! than the day before "as of".

use super::Calendar;
use chrono::{Datelike, Duration, NaiveDate};

/// One assessable week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    pub monday: NaiveDate,
    /// Statutory workdays in the week.
    pub workdays: u32,
}

impl Week {
    pub fn sunday(&self) -> NaiveDate {
        self.monday + Duration::days(6)
    }
}

/// The assessable weeks whose Sunday falls in `from..=to`, oldest first.
pub fn assessable_weeks(calendar: &Calendar, from: NaiveDate, to: NaiveDate) -> Vec<Week> {
    let mut weeks = Vec::new();
    if to < from {
        return weeks;
    }
    let days_to_sunday = 6 - i64::from(from.weekday().num_days_from_monday());
    let mut sunday = from + Duration::days(days_to_sunday);
    while sunday <= to {
        let monday = sunday - Duration::days(6);
        let workdays = (0..7)
            .map(|d| monday + Duration::days(d))
            .filter(|day| calendar.is_workday(*day))
            .count() as u32;
        if workdays > 0 {
            weeks.push(Week { monday, workdays });
        }
        sunday += Duration::days(7);
    }
    weeks
}
