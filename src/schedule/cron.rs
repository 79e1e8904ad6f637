//! Five-field cron expressions (minute hour day-of-month month day-of-week),
//! evaluated in Asia/Shanghai. Day of week: 0 or 7 = Sunday, 1 = Monday; as in
//! classic cron, when both day fields are restricted either may match.

use crate::calendar::shanghai;
use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDateTime, Timelike, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    text: String,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    is_day_restricted: bool,
    is_weekday_restricted: bool,
}

impl CronSchedule {
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "「{text}」应有 5 段：分 时 日 月 星期（如 0 9 * * 1）"
            ));
        };
        let mut weekdays = field(weekday, 0, 7, "day-of-week")?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        weekdays.truncate(7);
        Ok(CronSchedule {
            text: text.to_string(),
            minutes: field(minute, 0, 59, "minute")?,
            hours: field(hour, 0, 23, "hour")?,
            days: field(day, 1, 31, "day-of-month")?,
            months: field(month, 1, 12, "month")?,
            weekdays,
            is_day_restricted: day != "*",
            is_weekday_restricted: weekday != "*",
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the local minute of `at` is in the schedule.
    pub fn matches(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&shanghai()).naive_local();
        self.matches_date(&local)
            && self.hours[local.hour() as usize]
            && self.minutes[local.minute() as usize]
    }

    fn matches_date(&self, local: &NaiveDateTime) -> bool {
        if !self.months[local.month() as usize] {
            return false;
        }
        let day = self.days[local.day() as usize];
        let weekday = self.weekdays[local.weekday().num_days_from_sunday() as usize];
        match (self.is_day_restricted, self.is_weekday_restricted) {
            (true, true) => day || weekday,
            (true, false) => day,
            (false, true) => weekday,
            (false, false) => true,
        }
    }

    /// The first scheduled minute strictly after `after`, within ~5 years.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = after.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
        let limit = after + Duration::days(5 * 366);
        while t <= limit {
            let local = t.with_timezone(&shanghai()).naive_local();
            if !self.matches_date(&local) {
                let next_day = local.date().succ_opt()?.and_hms_opt(0, 0, 0)?;
                t += next_day - local;
            } else if !self.hours[local.hour() as usize] {
                t += Duration::minutes(60 - i64::from(local.minute()));
            } else if !self.minutes[local.minute() as usize] {
                t += Duration::minutes(1);
            } else {
                return Some(t);
            }
        }
        None
    }

    /// Scheduled minutes in `(after, until]`, oldest first.
    pub fn between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = after;
        while let Some(next) = self.next_after(t) {
            if next > until {
                break;
            }
            out.push(next);
            t = next;
        }
        out
    }
}

/// One field: `*`, `N`, `A-B`, `*/S`, `A-B/S`, and comma lists of those.
fn field(text: &str, min: u32, max: u32, name: &str) -> Result<Vec<bool>, String> {
    let mut set = vec![false; max as usize + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{}：「{part}」中的步长无效", field_cn(name)))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (number(a, min, max, name)?, number(b, min, max, name)?)
        } else {
            let n = number(range, min, max, name)?;
            (n, if part.contains('/') { max } else { n })
        };
        if low > high {
            return Err(format!("{}：范围「{range}」为空", field_cn(name)));
        }
        for n in (low..=high).step_by(step as usize) {
            set[n as usize] = true;
        }
    }
    Ok(set)
}

fn number(text: &str, min: u32, max: u32, name: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            format!(
                "{}：「{text}」不是 {min} 到 {max} 之间的数字",
                field_cn(name)
            )
        })
}

/// A cron field's name as people read it.
fn field_cn(name: &str) -> &str {
    match name {
        "minute" => "分钟",
        "hour" => "小时",
        "day-of-month" => "日",
        "month" => "月",
        "day-of-week" => "星期（0 或 7 为周日）",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn weekday_mornings_in_shanghai() {
        let cron = CronSchedule::parse("0 9 * * 1-5").expect("valid");
        // Friday 2026-11-27 09:00 +08:00 → next is Monday 2026-11-30 09:00 +08:00.
        assert_eq!(
            cron.next_after(at("2026-11-27T09:00:00+08:00")),
            Some(at("2026-11-30T09:00:00+08:00"))
        );
        assert!(cron.matches(at("2026-11-23T01:00:00Z")));
        assert!(!cron.matches(at("2026-11-22T01:00:00Z")), "Sunday");
    }

    #[test]
    fn steps_lists_and_sunday_as_seven() {
        let cron = CronSchedule::parse("*/15 8,18 1 * 7").expect("valid");
        assert!(
            cron.matches(at("2026-11-29T08:45:00+08:00")),
            "Sunday by weekday"
        );
        assert!(
            cron.matches(at("2026-12-01T18:30:00+08:00")),
            "the 1st by day of month"
        );
        assert!(!cron.matches(at("2026-12-02T18:30:00+08:00")));
        assert_eq!(
            cron.between(
                at("2026-11-29T08:00:00+08:00"),
                at("2026-11-29T09:00:00+08:00")
            )
            .len(),
            3
        );
    }

    #[test]
    fn bad_expressions_say_which_field() {
        assert_eq!(
            CronSchedule::parse("0 25 * * *"),
            Err("小时：「25」不是 0 到 23 之间的数字".to_string())
        );
        let short = CronSchedule::parse("0 9 * *").expect_err("4 fields");
        assert!(short.contains("应有 5 段"), "{short}");
        let step = CronSchedule::parse("*/0 9 * * *").expect_err("zero step");
        assert!(step.contains("步长无效"), "{step}");
    }
}
