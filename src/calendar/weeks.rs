//! Assessable weeks (每周至少更新一篇，不含节假日).
//!
//! Weeks run Monday–Sunday. A week is assessable in a period when it has
//! fully elapsed by the period's end, overlaps the period, and contains at
//! least one statutory workday inside the period.

use super::Calendar;
use chrono::{Datelike, Duration, NaiveDate};

/// One assessable week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    pub monday: NaiveDate,
    /// Workdays of the week that fall inside the period.
    pub workdays: u32,
}

impl Week {
    pub fn sunday(&self) -> NaiveDate {
        self.monday + Duration::days(6)
    }
}

/// The assessable weeks of `from..=to`, oldest first.
pub fn assessable_weeks(calendar: &Calendar, from: NaiveDate, to: NaiveDate) -> Vec<Week> {
    let mut weeks = Vec::new();
    if to < from {
        return weeks;
    }
    let mut monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    while monday + Duration::days(6) <= to {
        let workdays = (0..7)
            .map(|d| monday + Duration::days(d))
            .filter(|day| *day >= from && *day <= to && calendar.is_workday(*day))
            .count() as u32;
        if workdays > 0 {
            weeks.push(Week { monday, workdays });
        }
        monday += Duration::days(7);
    }
    weeks
}
