use super::*;
use crate::config::ContentSettings;

fn checker() -> Checker {
    let settings = ContentSettings {
        names: vec![Person {
            name: "王明".into(),
            titles: vec!["县长".into()],
        }],
        ..ContentSettings::default()
    };
    Checker::from_settings(&settings).expect("the built-in list compiles")
}

#[test]
fn a_severe_term_a_general_term_and_a_name_are_found_with_context_and_suggestion() {
    let hits = checker().scan(
        "关于台湾总统的报道",
        "截止目前，副县长王明出席会议。",
        &[],
        2026,
    );
    let found: Vec<(&str, Level, bool)> = hits
        .iter()
        .map(|h| (h.matched.as_str(), h.level, h.is_in_title))
        .collect();
    assert_eq!(
        found,
        [
            ("台湾总统", Level::Severe, true),
            ("截止目前", Level::General, false),
            ("副县长王明", Level::Severe, false),
        ]
    );
    assert_eq!(hits[0].suggestion, "应为「台湾地区领导人」");
    assert_eq!(hits[0].context, "关于【台湾总统】的报道");
    assert_eq!(hits[0].category, "港澳台和领土主权");
}

#[test]
fn personal_data_is_masked_in_the_match_and_in_every_context() {
    let text = "公示名单：张三，身份证号11010519491231002X，电话13812345678，截止目前无异议。";
    let hits = checker().scan("", text, &[], 2026);
    let personal: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.rule == Rule::PersonalData)
        .collect();
    assert_eq!(personal.len(), 2);
    assert_eq!(personal[0].matched, "110105********002X");
    for hit in &hits {
        assert!(
            !hit.context.contains("11010519491231002X"),
            "{}",
            hit.context
        );
        assert!(!hit.context.contains("13812345678"), "{}", hit.context);
        assert!(!hit.key.contains("1381234"), "{}", hit.key);
    }
    let wording = hits
        .iter()
        .find(|h| h.rule == Rule::Wording)
        .expect("截止目前");
    assert!(
        wording.context.contains("138****5678"),
        "{}",
        wording.context
    );
}

#[test]
fn an_allowed_phrase_or_key_is_not_reported() {
    let c = checker();
    let text = "截止目前，共有13812345678一个号码";
    let keys: Vec<String> = c
        .scan("", text, &[], 2026)
        .iter()
        .map(|h| h.key.clone())
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(c.scan("", text, &keys, 2026).is_empty());
    assert!(
        c.scan("", "截止目前", &["截止目前，".to_string()], 2026)
            .len()
            == 1
    );
    assert!(
        c.scan("", "截止目前，", &["截止目前，".to_string()], 2026)
            .is_empty()
    );
}

#[test]
fn closing_notices_and_repost_tasks_are_recognised() {
    assert!(is_closing_notice("关于本账号停止更新的公告", ""));
    assert!(is_closing_notice("", "本号即日起停更。特此声明"));
    assert!(!is_closing_notice("停更三天", "今日天气"));
    let task = RepostTask {
        id: 1,
        title: "《关于做好冬季防火工作的通知》".into(),
        matches: vec!["冬季防火十条".into()],
        url: Some("https://example.gov.cn/a/1".into()),
        starts_at: chrono::Utc::now(),
        due_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        units: vec![],
        platforms: vec![],
        created_by: "t".into(),
        created_at: chrono::Utc::now(),
        closed_at: None,
        reminded_at: None,
    };
    assert!(matches_task(
        &task,
        "转载：关于做好冬季防火工作的通知",
        "",
        None
    ));
    assert!(matches_task(&task, "", "请看冬季 防火十条", None));
    assert!(matches_task(
        &task,
        "转发",
        "",
        Some("https://example.gov.cn/a/1")
    ));
    assert!(!matches_task(&task, "冬季防火", "", None));
}

#[test]
fn a_disabled_checker_finds_nothing() {
    assert!(
        Checker::disabled()
            .scan("台湾总统", "13812345678", &[], 2026)
            .is_empty()
    );
}

#[test]
fn a_number_cut_at_the_edge_of_a_context_is_still_masked() {
    let text = format!("{}张三 11010519491231002X 电话13812345678", "前".repeat(30));
    for hit in checker().scan("", &text, &[], 2026) {
        assert!(!hit.context.contains("1010519491231002"), "{}", hit.context);
        assert!(!hit.context.contains("12345678"), "{}", hit.context);
    }
    assert_eq!(mask_all(&text, 2026).len(), text.len());
}

/// `normalize` keeps and lowers every character as Unicode's tables say,
/// its shortcuts for ASCII and the CJK ideographs included.
#[test]
fn normalizing_keeps_and_lowers_every_character_as_unicode_says() {
    for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
        let expected: String = if c.is_alphanumeric() {
            c.to_lowercase().collect()
        } else {
            String::new()
        };
        assert_eq!(
            tasks::normalize(&c.to_string()),
            expected,
            "U+{:04X}",
            u32::from(c)
        );
    }
    assert_eq!(
        tasks::normalize("《关于 ABC-冬季防火的通知》！"),
        "关于abc冬季防火的通知"
    );
}
