use super::*;

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

#[test]
fn weekends_holidays_and_make_up_days_follow_the_data() {
    let c = Calendar::builtin();
    let cases = [
        ("2019-02-04", false, "Spring Festival Monday"),
        (
            "2019-02-02",
            true,
            "make-up Saturday before Spring Festival",
        ),
        ("2019-02-11", true, "ordinary Monday"),
        ("2019-02-16", false, "ordinary Saturday"),
        ("2019-05-05", true, "make-up Sunday after Labour Day"),
        ("2026-10-01", false, "National Day 2026"),
        ("2026-11-23", true, "ordinary Monday 2026"),
        ("2027-03-01", true, "2027 has no data: Mon-Fri"),
    ];
    for (date, expected, why) in cases {
        assert_eq!(c.is_workday(d(date)), expected, "{date}: {why}");
    }
}

#[test]
fn the_seed_001_period_has_twenty_assessable_weeks() {
    let weeks = assessable_weeks(&Calendar::builtin(), d("2019-01-01"), d("2019-05-30"));
    assert_eq!(weeks.len(), 20);
    assert_eq!(
        weeks[0].monday,
        d("2018-12-31"),
        "the week across New Year counts"
    );
    assert_eq!(weeks[0].workdays, 3, "12-31 and 01-01 are days off");
    assert!(
        !weeks.iter().any(|w| w.monday == d("2019-02-04")),
        "Spring Festival week is not assessable"
    );
    assert_eq!(
        weeks.last().map(|w| w.monday),
        Some(d("2019-05-20")),
        "the unfinished week is not counted"
    );
}

#[test]
fn a_week_is_assessable_only_once_it_has_elapsed() {
    let c = Calendar::builtin();
    assert!(assessable_weeks(&c, d("2026-11-23"), d("2026-11-28")).is_empty());
    assert_eq!(
        assessable_weeks(&c, d("2026-11-23"), d("2026-11-29")).len(),
        1
    );
    assert!(assessable_weeks(&c, d("2026-11-29"), d("2026-11-23")).is_empty());
}

#[test]
fn a_week_belongs_to_the_period_that_holds_its_sunday_so_adjacent_periods_add_up() {
    let c = Calendar::builtin();
    // Period starts on Saturday 2026-11-21: the week 11-16..11-22 ends inside it.
    let weeks = assessable_weeks(&c, d("2026-11-21"), d("2026-11-29"));
    assert_eq!(
        weeks.iter().map(|w| w.monday).collect::<Vec<_>>(),
        vec![d("2026-11-16"), d("2026-11-23")]
    );
    // 2026-02-23..03-01 holds the 02-28 调休 workday and ends in March.
    let feb = assessable_weeks(&c, d("2026-02-01"), d("2026-02-28"));
    let mar = assessable_weeks(&c, d("2026-03-01"), d("2026-03-31"));
    let both = assessable_weeks(&c, d("2026-02-01"), d("2026-03-31"));
    assert_eq!(feb.len() + mar.len(), both.len());
    assert!(mar.iter().any(|w| w.monday == d("2026-02-23")));
    assert!(
        !feb.iter().any(|w| w.monday == d("2026-02-16")),
        "the Spring Festival week 02-16..02-22 has no workday"
    );
    // Any split of a year adds up.
    for split in ["2026-01-31", "2026-04-04", "2026-06-30", "2026-10-07"] {
        let cut = d(split);
        let left = assessable_weeks(&c, d("2026-01-01"), cut);
        let right = assessable_weeks(&c, cut + chrono::Duration::days(1), d("2026-12-31"));
        let year = assessable_weeks(&c, d("2026-01-01"), d("2026-12-31"));
        assert_eq!(left.len() + right.len(), year.len(), "split at {split}");
    }
}

#[test]
fn missing_years_are_warned_about_from_december_for_the_next_year() {
    let c = Calendar::builtin();
    assert_eq!(c.missing_data_warning(d("2026-11-23")), None);
    let december = c
        .missing_data_warning(d("2026-12-01"))
        .expect("2027 is empty");
    assert!(december.contains("2027"), "{december}");
    let next_year = c
        .missing_data_warning(d("2028-01-05"))
        .expect("2028 is missing");
    assert!(next_year.contains("2028"), "{next_year}");
}

#[test]
fn an_override_directory_adds_a_newly_announced_year() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("2027.json"),
        r#"{"year": 2027, "papers": [], "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "春节", "date": "2027-02-06", "isOffDay": false}]}"#,
    )
    .expect("write");
    let c = Calendar::with_dir(dir.path()).expect("override");
    assert!(c.has_year(2027));
    assert!(!c.is_workday(d("2027-01-01")));
    assert!(c.is_workday(d("2027-02-06")), "a make-up Saturday");
    assert_eq!(c.missing_data_warning(d("2027-03-01")), None);

    std::fs::write(dir.path().join("bad.json"), "{\"year\": \"x\"}").expect("write");
    let err = Calendar::with_dir(dir.path()).expect_err("bad file");
    assert!(
        err.to_string()
            .contains("bad.json: not a holiday-cn year file"),
        "{err}"
    );
}

#[test]
fn deadlines_count_statutory_workdays_only() {
    let c = Calendar::builtin();
    let cases = [
        (
            "2026-11-23",
            7,
            "2026-12-02",
            "a Monday: the weekend in between is skipped",
        ),
        (
            "2026-11-20",
            1,
            "2026-11-23",
            "a Friday: the next workday is Monday",
        ),
        (
            "2026-09-30",
            1,
            "2026-10-08",
            "National Day 2026 is skipped",
        ),
        ("2026-09-30", 3, "2026-10-10", "the make-up Saturday counts"),
        ("2026-11-23", 0, "2026-11-23", "no workdays: the same day"),
    ];
    for (from, n, expected, why) in cases {
        assert_eq!(
            c.add_workdays(d(from), n),
            d(expected),
            "{from} + {n}: {why}"
        );
    }
}
