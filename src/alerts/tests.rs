use super::compose::{Message, route};
use super::*;
use crate::calendar::Calendar;
use crate::config::{AlertSettings, Secret, Settings};
use crate::registry::{Contact, Register, Unit, UnitKind};
use serde_json::json;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

fn stale(subject: &str, rule: Rule, last_post: &str) -> Candidate {
    Candidate {
        subject: subject.into(),
        family: family(rule).into(),
        rule,
        severity: if rule == Rule::StaleWarning {
            Severity::Advisory
        } else {
            Severity::Failure
        },
        unit_id: Some("szgl".into()),
        message: format!(
            "区市政管理局「市政兰山」(微信订阅号) 已 15 天未更新，最后更新 {last_post}"
        ),
        evidence: json!({ "last_post_at": format!("{last_post}T09:00:00+08:00") }),
        last_post_at: Some(format!("{last_post}T09:00:00+08:00")),
        alert_id: None,
    }
}

fn stored(id: i64, c: &Candidate, opened: &str, notified: &str) -> OpenAlert {
    OpenAlert {
        id,
        subject: c.subject.clone(),
        family: c.family.clone(),
        rule: c.rule,
        severity: c.severity,
        unit_id: c.unit_id.clone(),
        message: c.message.clone(),
        evidence: c.evidence.clone(),
        opened_at: at(opened),
        last_notified_at: Some(at(notified)),
        is_acked: false,
        acked: None,
    }
}

/// What a check saw: each (account, newest post, could not judge).
fn seen_of(list: &[(&str, Option<&str>, bool)]) -> HashMap<String, Seen> {
    list.iter()
        .map(|(id, last, is_unknown)| {
            (
                id.to_string(),
                Seen {
                    last_post_at: last.map(|d| format!("{d}T09:00:00+08:00")),
                    is_unknown: *is_unknown,
                },
            )
        })
        .collect()
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::Opened(_) => "opened",
            Event::Escalated { .. } => "escalated",
            Event::Resolved { .. } => "resolved",
            Event::Reminder(_) => "reminder",
        })
        .collect()
}

#[test]
fn the_lifecycle_opens_stays_quiet_reminds_escalates_and_resolves() {
    let none = HashMap::new();
    let day = Duration::hours(24);
    let c2w = stale("szls", Rule::Stale2w, "2026-11-01");
    let before = seen_of(&[("szls", Some("2026-11-01"), false)]);
    let opened = decide(
        &[],
        std::slice::from_ref(&c2w),
        &before,
        &none,
        day,
        at("2026-11-16T09:00:00+08:00"),
    );
    assert_eq!(kinds(&opened), vec!["opened"]);

    let alert = stored(
        1,
        &c2w,
        "2026-11-16T09:00:00+08:00",
        "2026-11-16T09:00:00+08:00",
    );
    let next_hour = decide(
        std::slice::from_ref(&alert),
        std::slice::from_ref(&c2w),
        &before,
        &none,
        day,
        at("2026-11-16T10:00:00+08:00"),
    );
    assert!(
        next_hour.is_empty(),
        "the same finding does not alert again"
    );

    let next_day = decide(
        std::slice::from_ref(&alert),
        std::slice::from_ref(&c2w),
        &before,
        &none,
        day,
        at("2026-11-17T09:00:00+08:00"),
    );
    assert_eq!(kinds(&next_day), vec!["reminder"]);

    let c1m = stale("szls", Rule::Stale1m, "2026-11-01");
    let escalated = decide(
        std::slice::from_ref(&alert),
        &[c1m],
        &before,
        &none,
        day,
        at("2026-12-02T09:00:00+08:00"),
    );
    assert_eq!(kinds(&escalated), vec!["escalated"]);

    let after = seen_of(&[("szls", Some("2026-11-23"), false)]);
    let resolved = decide(
        &[alert],
        &[],
        &after,
        &none,
        day,
        at("2026-11-24T09:00:00+08:00"),
    );
    let [Event::Resolved { message, .. }] = &resolved[..] else {
        panic!("{resolved:?}")
    };
    assert_eq!(message, "已恢复更新，中断 22 天（原：超两周未更新）");
}

#[test]
fn a_recovery_names_the_interruption_in_days() {
    let none = HashMap::new();
    let c2w = stale("szls", Rule::Stale2w, "2026-11-01");
    let alert = stored(
        1,
        &c2w,
        "2026-11-16T09:00:00+08:00",
        "2026-11-16T09:00:00+08:00",
    );
    // A new post on 11-24 leaves only a (different) finding for another account.
    let mut other = stale("other", Rule::Stale2w, "2026-11-01");
    other.subject = "other".into();
    let mut recovered = c2w.clone();
    recovered.rule = Rule::WeeklyMiss;
    recovered.family = "weekly_miss".into();
    recovered.last_post_at = Some("2026-11-24T09:00:00+08:00".into());
    let seen = seen_of(&[
        ("szls", Some("2026-11-24"), false),
        ("other", Some("2026-11-01"), false),
    ]);
    let events = decide(
        &[alert],
        &[recovered, other],
        &seen,
        &none,
        Duration::hours(24),
        at("2026-11-24T09:00:00+08:00"),
    );
    let message = events
        .iter()
        .find_map(|e| match e {
            Event::Resolved { message, .. } => Some(message.clone()),
            _ => None,
        })
        .expect("resolved");
    assert_eq!(message, "已恢复更新，中断 23 天（原：超两周未更新）");
}

#[test]
fn an_account_that_cannot_be_checked_has_not_recovered_and_keeps_its_interruption() {
    let none = HashMap::new();
    let day = Duration::hours(24);
    let c2w = stale("szls", Rule::Stale2w, "2026-11-01");
    let alert = stored(
        1,
        &c2w,
        "2026-11-16T09:00:00+08:00",
        "2026-11-16T09:00:00+08:00",
    );
    // The proxy flaps: the account is unknown, then judged again with no new post.
    let unknown = seen_of(&[("szls", Some("2026-11-01"), true)]);
    let flap = decide(
        std::slice::from_ref(&alert),
        &[],
        &unknown,
        &none,
        day,
        at("2026-11-17T09:00:00+08:00"),
    );
    assert!(flap.is_empty(), "no recovery while unknown: {flap:?}");
    let no_post = seen_of(&[("szls", Some("2026-11-01"), false)]);
    let quiet = decide(
        std::slice::from_ref(&alert),
        &[],
        &no_post,
        &none,
        day,
        at("2026-11-17T09:01:00+08:00"),
    );
    assert!(
        quiet.is_empty(),
        "no recovery without a newer post: {quiet:?}"
    );
    let back = decide(
        std::slice::from_ref(&alert),
        std::slice::from_ref(&c2w),
        &no_post,
        &none,
        day,
        at("2026-11-17T09:02:00+08:00"),
    );
    assert!(
        !back.iter().any(|e| matches!(e, Event::Opened(_))),
        "the same problem is not new again: {back:?}"
    );
    let posted = seen_of(&[("szls", Some("2026-11-21"), false)]);
    let recovered = decide(
        &[alert],
        &[],
        &posted,
        &none,
        day,
        at("2026-11-21T10:00:00+08:00"),
    );
    let [Event::Resolved { message, .. }] = &recovered[..] else {
        panic!("{recovered:?}")
    };
    assert_eq!(message, "已恢复更新，中断 20 天（原：超两周未更新）");
}

#[test]
fn a_proxy_recovery_names_the_proxy_and_asks_nobody_to_act() {
    let candidate = Candidate {
        subject: "proxy:wewe".into(),
        family: "proxy_down".into(),
        rule: Rule::ProxyDown,
        severity: Severity::Operator,
        unit_id: None,
        message: "监测代理 wewe 不可用，其 5 个账号暂无法监测".into(),
        evidence: json!({ "proxy": "wewe" }),
        last_post_at: None,
        alert_id: None,
    };
    let alert = stored(
        3,
        &candidate,
        "2026-11-16T09:00:00+08:00",
        "2026-11-16T09:00:00+08:00",
    );
    let events = decide(
        &[alert],
        &[],
        &HashMap::new(),
        &HashMap::new(),
        Duration::hours(24),
        at("2026-11-16T09:40:00+08:00"),
    );
    let [Event::Resolved { message, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(message, "监测代理 wewe 已恢复（中断不到 1 小时）");
    let events: Vec<&Event> = events.iter().collect();
    let text = super::compose::body(&events, &[], at("2026-11-16T09:40:00+08:00"), false, true);
    assert!(text.contains("• 监测代理 wewe 已恢复"), "{text}");
    assert!(
        !text.contains("持续 0 天") && !text.contains("请相关单位"),
        "{text}"
    );
}

#[test]
fn a_stale_label_names_the_accounts_own_threshold() {
    let evidence = json!({ "threshold_days": 7, "last_post_at": "2026-11-01T09:00:00+08:00" });
    assert_eq!(
        crate::rules::label_of(Rule::Stale2w, &evidence),
        "超7天未更新"
    );
    let national = json!({ "threshold_days": 14 });
    assert_eq!(
        crate::rules::label_of(Rule::Stale2w, &national),
        "超两周未更新"
    );
}

#[test]
fn acknowledged_and_snoozed_alerts_are_not_repeated() {
    let c2w = stale("szls", Rule::Stale2w, "2026-11-01");
    let mut alert = stored(
        1,
        &c2w,
        "2026-11-16T09:00:00+08:00",
        "2026-11-16T09:00:00+08:00",
    );
    let now = at("2026-11-18T09:00:00+08:00");
    let snoozed: HashMap<String, DateTime<Utc>> =
        [("szls".to_string(), at("2026-11-23T00:00:00+08:00"))].into();
    assert!(
        decide(
            std::slice::from_ref(&alert),
            std::slice::from_ref(&c2w),
            &HashMap::new(),
            &snoozed,
            Duration::hours(24),
            now
        )
        .is_empty()
    );
    alert.is_acked = true;
    assert!(
        decide(
            &[alert],
            &[c2w],
            &HashMap::new(),
            &HashMap::new(),
            Duration::hours(24),
            now
        )
        .is_empty()
    );
}

fn register() -> Register {
    Register {
        units: vec![Unit {
            id: "szgl".into(),
            name: "区市政管理局".into(),
            kind: UnitKind::Department,
            contacts: vec![Contact {
                name: "李强".into(),
                telegram_id: Some(223456789),
                dingtalk_id: None,
                feishu_open_id: None,
                phone: Some("0539-1".into()),
            }],
            chat: None,
        }],
        accounts: Vec::new(),
    }
}

/// A unit with its own group (`chat` in the register) hears its alerts
/// there, not in the shared contacts group; a chat on a platform that
/// cannot send falls back to the shared group.
#[test]
fn a_unit_with_its_own_group_gets_its_alerts_there() {
    let mut settings = Settings::default();
    settings.telegram.token = Some(Secret::new("t"));
    settings.telegram.contacts_chat = Some(-100);
    let mut own = register();
    own.units[0].chat = Some("telegram:-200".into());
    let events = vec![Event::Opened(stale("a", Rule::Stale2w, "2026-11-01"))];
    let now = at("2026-11-24T09:00:00+08:00");
    let messages = route(&events, &own, &settings, now);
    let recipients: Vec<&str> = messages.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(recipients, vec!["-200"], "{messages:#?}");
    own.units[0].chat = Some("feishu:oc_group".into());
    let messages = route(&events, &own, &settings, now);
    let recipients: Vec<&str> = messages.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(
        recipients,
        vec!["223456789"],
        "no Feishu app: the contact privately"
    );
    own.units[0].contacts[0].telegram_id = None;
    let messages = route(&events, &own, &settings, now);
    let recipients: Vec<&str> = messages.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(
        recipients,
        vec!["-100"],
        "nobody reachable privately: the shared group"
    );
    assert!(crate::registry::parse_unit_chat("telegram:群").is_err());
    assert!(crate::registry::parse_unit_chat("wechat:abc").is_err());
    assert!(crate::registry::parse_unit_chat("feishu:ou_person").is_err());
    assert_eq!(
        crate::registry::parse_unit_chat("dingtalk:cid42==").map(|t| t.recipient),
        Ok("group:cid42==".to_string())
    );
}

#[test]
fn alerts_for_one_recipient_are_grouped_into_one_message_naming_the_contacts() {
    let mut settings = Settings::default();
    settings.telegram.token = Some(Secret::new("t"));
    settings.telegram.contacts_chat = Some(-100);
    settings.telegram.admins = vec![7];
    let events = vec![
        Event::Opened(stale("a", Rule::Stale2w, "2026-11-01")),
        Event::Opened(stale("b", Rule::Stale1m, "2026-10-01")),
        Event::Opened(Candidate {
            subject: "proxy:rsshub".into(),
            family: "proxy_down".into(),
            rule: Rule::ProxyDown,
            severity: Severity::Operator,
            unit_id: None,
            message: "监测代理 rsshub 不可用".into(),
            evidence: json!({}),
            last_post_at: None,
            alert_id: None,
        }),
    ];
    let messages: Vec<Message> = route(
        &events,
        &register(),
        &settings,
        at("2026-11-24T09:00:00+08:00"),
    );
    assert_eq!(messages.len(), 2, "{messages:#?}");
    // The unit's one contact is reached privately: the message is for them.
    let private = messages
        .iter()
        .find(|m| m.recipient == "223456789")
        .expect("the contact privately");
    assert!(private.body.contains("新增问题（2）"), "{}", private.body);
    assert!(
        !private.body.contains("请相关单位联系人"),
        "a private message names nobody: {}",
        private.body
    );
    assert_eq!(private.mentions.len(), 1);
    assert_eq!(private.mentions[0].telegram_id, Some(223456789));
    // Without a private chat, the shared group, naming the contact.
    let mut unreachable = register();
    unreachable.units[0].contacts[0].telegram_id = None;
    let messages_to_group = route(
        &events,
        &unreachable,
        &settings,
        at("2026-11-24T09:00:00+08:00"),
    );
    let contacts = messages_to_group
        .iter()
        .find(|m| m.recipient == "-100")
        .expect("contacts chat");
    assert!(contacts.body.contains("新增问题（2）"), "{}", contacts.body);
    assert!(
        contacts.body.contains("请相关单位联系人及时处理：李强"),
        "{}",
        contacts.body
    );
    let admin = messages.iter().find(|m| m.recipient == "7").expect("admin");
    assert!(admin.body.contains("监测代理 rsshub 不可用") && admin.is_urgent);
    // The admins read one summary of the units' alerts after their own findings.
    assert!(admin.body.contains("【各单位情况】"), "{}", admin.body);
    assert_eq!(
        messages.iter().filter(|m| m.recipient == "7").count(),
        1,
        "one message to the admin"
    );

    let console = route(
        &events,
        &register(),
        &Settings::default(),
        at("2026-11-24T09:00:00+08:00"),
    );
    // One message per unit; the proxy's finding belongs to none.
    let units: std::collections::BTreeSet<Option<&str>> =
        events.iter().map(|e| e.unit_id()).collect();
    assert_eq!(console.len(), units.len());
    assert!(
        console
            .iter()
            .all(|m| m.channel == crate::domain::Channel::Console)
    );
}

#[test]
fn quiet_hours_hold_messages_until_the_next_workday_morning() {
    let calendar = Calendar::builtin();
    let settings = AlertSettings::default();
    let cases = [
        (
            "2026-11-24T10:00:00+08:00",
            "2026-11-24T10:00:00+08:00",
            "inside the window",
        ),
        (
            "2026-11-24T07:00:00+08:00",
            "2026-11-24T08:30:00+08:00",
            "before it",
        ),
        (
            "2026-11-24T19:00:00+08:00",
            "2026-11-25T08:30:00+08:00",
            "after it",
        ),
        (
            "2026-11-27T19:00:00+08:00",
            "2026-11-30T08:30:00+08:00",
            "Friday evening → Monday",
        ),
        (
            "2026-09-30T19:00:00+08:00",
            "2026-10-08T08:30:00+08:00",
            "National Day holidays",
        ),
    ];
    for (now, expected, why) in cases {
        assert_eq!(
            next_send_time(at(now), &settings, &calendar),
            at(expected),
            "{why}"
        );
    }
    let off = AlertSettings {
        is_quiet_enabled: false,
        ..AlertSettings::default()
    };
    assert_eq!(
        next_send_time(at("2026-11-24T23:00:00+08:00"), &off, &calendar),
        at("2026-11-24T23:00:00+08:00")
    );
}

#[test]
fn an_operator_recovery_names_the_finding_asks_nobody_and_offers_no_ack() {
    let mut settings = Settings::default();
    settings.telegram.token = Some(Secret::new("t"));
    settings.telegram.contacts_chat = Some(-100);
    settings.telegram.admins = vec![7];
    let calendar = Candidate {
        subject: "calendar_missing".into(),
        family: "calendar_missing".into(),
        rule: Rule::CalendarMissing,
        severity: Severity::Operator,
        unit_id: None,
        message: "节假日数据缺失：2027 年尚无法定节假日安排数据".into(),
        evidence: json!({}),
        last_post_at: None,
        alert_id: None,
    };
    let proxy = Candidate {
        subject: "proxy:wewe".into(),
        family: "proxy_down".into(),
        rule: Rule::ProxyDown,
        severity: Severity::Operator,
        unit_id: None,
        message: "监测代理 wewe 不可用".into(),
        evidence: json!({ "proxy": "wewe" }),
        last_post_at: None,
        alert_id: None,
    };
    let open = [
        stored(
            4,
            &calendar,
            "2026-11-20T09:00:00+08:00",
            "2026-11-20T09:00:00+08:00",
        ),
        stored(
            5,
            &proxy,
            "2026-11-24T08:00:00+08:00",
            "2026-11-24T08:00:00+08:00",
        ),
    ];
    let now = at("2026-11-24T10:30:00+08:00");
    let events = decide(
        &open,
        &[],
        &HashMap::new(),
        &HashMap::new(),
        Duration::hours(24),
        now,
    );
    assert_eq!(events.len(), 2, "{events:?}");
    let messages = route(&events, &register(), &settings, now);
    let [admin] = &messages[..] else {
        panic!("{messages:#?}")
    };
    assert_eq!(admin.recipient, "7");
    assert!(
        admin
            .body
            .contains("• 「节假日数据缺失」已解除（持续 4 天）"),
        "{}",
        admin.body
    );
    assert!(
        admin.body.contains("• 监测代理 wewe 已恢复（中断 2 小时）"),
        "{}",
        admin.body
    );
    for never in [
        "请相关单位联系人及时处理",
        "持续 0 天",
        "已不在巡检范围",
        "/ack",
    ] {
        assert!(!admin.body.contains(never), "{never}: {}", admin.body);
    }
}

#[test]
fn a_digest_numbers_stored_alerts_and_says_how_to_answer_except_to_robots() {
    let mut settings = Settings::default();
    settings.telegram.token = Some(Secret::new("t"));
    settings.telegram.contacts_chat = Some(-100);
    settings.robots.insert(
        "office".into(),
        crate::config::RobotSettings {
            kind: crate::domain::RobotKind::WeCom,
            rules: Vec::new(),
            units: Vec::new(),
            webhook: None,
            secret: None,
        },
    );
    let opened = Candidate {
        alert_id: Some(7),
        ..stale("a", Rule::Stale2w, "2026-11-01")
    };
    let reminded = stored(
        3,
        &stale("b", Rule::Stale1m, "2026-10-01"),
        "2026-11-01T09:00:00+08:00",
        "2026-11-23T09:00:00+08:00",
    );
    let events = vec![Event::Opened(opened), Event::Reminder(reminded)];
    let messages = route(
        &events,
        &register(),
        &settings,
        at("2026-11-24T09:00:00+08:00"),
    );
    let chat = messages
        .iter()
        .find(|m| m.channel == crate::domain::Channel::Telegram)
        .expect("contacts chat");
    assert!(chat.body.contains("• #7 [超两周未更新]"), "{}", chat.body);
    assert!(chat.body.contains("• #3 [超1个月未更新]"), "{}", chat.body);
    assert!(
        chat.body
            .ends_with("回复 /ack 7 确认（按告警号），/snooze 7 3天 暂缓提醒。"),
        "{}",
        chat.body
    );
    let robot = messages
        .iter()
        .find(|m| m.channel == crate::domain::Channel::Robot("office".into()))
        .expect("robot");
    assert!(robot.body.contains("• #7 [超两周未更新]"), "{}", robot.body);
    assert!(!robot.body.contains("/ack"), "{}", robot.body);
}

/// An alert opened 40 days after the last post, read 64 days later, says
/// the gap it has now.
#[test]
fn a_day_count_is_counted_when_the_alert_is_read() {
    let evidence = serde_json::json!({
        "last_post_at": "2026-08-01T10:00:00+08:00",
        "days_since_post": 40,
        "threshold_days": 30,
    });
    let message = "义堂镇「义堂发布」(服务号) 已 40 天未更新，最后更新 2026-08-01";
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-13T12:00:00+08:00")
        .expect("time")
        .with_timezone(&chrono::Utc);
    assert_eq!(
        super::message_at(message, &evidence, now),
        "义堂镇「义堂发布」(服务号) 已 104 天未更新，最后更新 2026-08-01"
    );
    let other = serde_json::json!({ "week_start": "2026-11-02" });
    assert_eq!(super::message_at("本周未更新", &other, now), "本周未更新");
}
