//! The Chinese statutory holiday calendar and the weeks the rules assess.
//! Pure: dates in, answers out.
//!
//! The built-in data (holiday-cn, MIT, 2018–2026; the 2027 file is empty until
//! the State Council announces it) lists only exceptions: days
//! off and weekend make-up workdays (调休上班); other days follow Mon–Fri. An
//! override directory can add or replace years. Local time is Asia/Shanghai
//! (UTC+8, no daylight saving since 1991).

mod import;
mod weeks;

pub use import::{HolidayYear, read_holidays};
pub use weeks::{Week, assessable_weeks};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc, Weekday};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Asia/Shanghai.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// A UTC time in Asia/Shanghai.
pub fn to_local(time: DateTime<Utc>) -> DateTime<FixedOffset> {
    time.with_timezone(&shanghai())
}

/// "2026年10月19日": a date as people here write it (no leading zeros).
pub fn date_cn(date: NaiveDate) -> String {
    use chrono::Datelike as _;
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// "2026年10月19日 09:05": a moment, in Asia/Shanghai.
pub fn time_cn(time: DateTime<Utc>) -> String {
    let local = to_local(time);
    format!("{} {}", date_cn(local.date_naive()), local.format("%H:%M"))
}

/// The Asia/Shanghai calendar date of a UTC time.
pub fn local_date(time: DateTime<Utc>) -> NaiveDate {
    to_local(time).date_naive()
}

/// Midnight at the start of a local date, in UTC.
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(shanghai())
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

const BUILTIN: [(i32, &str); 10] = [
    (2018, include_str!("holiday-cn/2018.json")),
    (2019, include_str!("holiday-cn/2019.json")),
    (2020, include_str!("holiday-cn/2020.json")),
    (2021, include_str!("holiday-cn/2021.json")),
    (2022, include_str!("holiday-cn/2022.json")),
    (2023, include_str!("holiday-cn/2023.json")),
    (2024, include_str!("holiday-cn/2024.json")),
    (2025, include_str!("holiday-cn/2025.json")),
    (2026, include_str!("holiday-cn/2026.json")),
    (2027, include_str!("holiday-cn/2027.json")),
];

#[derive(Deserialize)]
struct YearFile {
    year: i32,
    days: Vec<DayEntry>,
}

#[derive(Deserialize)]
struct DayEntry {
    name: String,
    date: NaiveDate,
    #[serde(rename = "isOffDay")]
    is_off_day: bool,
}

/// A problem with holiday data, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read the holiday directory {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a holiday-cn year file: {message}")]
    Invalid { path: String, message: String },
}

/// Workdays and days off of the statutory calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Date → (is a day off, holiday name).
    exceptions: HashMap<NaiveDate, (bool, String)>,
    /// Years whose arrangement has been announced (non-empty data).
    years: BTreeSet<i32>,
}

impl Calendar {
    /// The data built into the binary.
    pub fn builtin() -> Calendar {
        let mut calendar = Calendar::default();
        for (year, text) in BUILTIN {
            calendar
                .add_year(&format!("built-in {year}.json"), text)
                .expect("built-in holiday data is valid");
        }
        calendar
    }

    /// The built-in data overlaid with every `*.json` in `dir` (a year file
    /// replaces that year's built-in data).
    pub fn with_dir(dir: &Path) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::builtin();
        calendar.overlay(&Calendar::from_dir(dir)?);
        Ok(calendar)
    }

    /// Only the years of the `*.json` files in `dir`.
    pub fn from_dir(dir: &Path) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::default();
        let read_err = |source| CalendarError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(read_err)?;
            calendar.add_year(&path.display().to_string(), &text)?;
        }
        Ok(calendar)
    }

    /// Adds (or replaces) a year from holiday-cn JSON, e.g. one kept in the
    /// database by `xunjian holidays import`.
    pub fn add_json(&mut self, label: &str, text: &str) -> Result<(), CalendarError> {
        self.add_year(label, text)
    }

    /// Takes every year `other` knows from it (a directory's files over
    /// the years kept before).
    pub fn overlay(&mut self, other: &Calendar) {
        for year in &other.years {
            self.exceptions.retain(|date, _| date.year() != *year);
            self.years.insert(*year);
        }
        for (date, entry) in &other.exceptions {
            if other.years.contains(&date.year()) {
                self.exceptions.insert(*date, entry.clone());
            }
        }
    }

    /// Days off and make-up workdays of a year.
    pub fn exception_counts(&self, year: i32) -> (usize, usize) {
        self.exceptions
            .iter()
            .filter(|(date, _)| date.year() == year)
            .fold((0, 0), |(off, work), (_, (is_off, _))| {
                if *is_off {
                    (off + 1, work)
                } else {
                    (off, work + 1)
                }
            })
    }

    /// The years whose arrangement is known.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    fn add_year(&mut self, path: &str, text: &str) -> Result<(), CalendarError> {
        let file: YearFile = serde_json::from_str(text).map_err(|e| CalendarError::Invalid {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        // A newer file for a year replaces what an older one said about it.
        if !file.days.is_empty() {
            self.exceptions.retain(|date, _| date.year() != file.year);
        }
        for day in &file.days {
            self.exceptions
                .insert(day.date, (day.is_off_day, day.name.clone()));
        }
        if !file.days.is_empty() {
            self.years.insert(file.year);
        }
        Ok(())
    }

    /// True on statutory workdays, make-up workdays included.
    pub fn is_workday(&self, date: NaiveDate) -> bool {
        match self.exceptions.get(&date) {
            Some((is_off, _)) => !is_off,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The `workdays`-th statutory workday after `date` (a deadline such as
    /// the 整改期限: "7 workdays" from a Friday skips the weekend and holidays).
    pub fn add_workdays(&self, date: NaiveDate, workdays: u32) -> NaiveDate {
        let mut day = date;
        let mut left = workdays;
        while left > 0 {
            day = day.succ_opt().unwrap_or(day);
            if self.is_workday(day) {
                left -= 1;
            }
        }
        day
    }

    /// The holiday a date belongs to, if it is an exception.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.exceptions.get(&date).map(|(_, name)| name.as_str())
    }

    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// A warning when the current year, or from December the next year, has
    /// no announced arrangement.
    pub fn missing_data_warning(&self, today: NaiveDate) -> Option<String> {
        let mut missing = Vec::new();
        if !self.has_year(today.year()) {
            missing.push(today.year());
        }
        if today.month() == 12 && !self.has_year(today.year() + 1) {
            missing.push(today.year() + 1);
        }
        (!missing.is_empty()).then(|| {
            let years: Vec<String> = missing.iter().map(|y| y.to_string()).collect();
            format!(
                "节假日数据缺失：{} 年尚无法定节假日安排数据，工作日按周一至周五计算；请用 xunjian holidays import 导入国务院办公厅通知的放假安排",
                years.join("、")
            )
        })
    }
}

#[cfg(test)]
mod tests;
