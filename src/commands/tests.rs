use super::*;

#[test]
fn durations_are_read_in_english_and_chinese_units_without_panicking() {
    for (text, hours) in [
        ("7d", 7 * 24),
        ("12h", 12),
        ("2w", 14 * 24),
        ("7D", 7 * 24),
        ("7天", 7 * 24),
        ("12小时", 12),
        ("2周", 14 * 24),
        ("3日", 3 * 24),
        ("90d", 90 * 24),
        ("2160h", 2160),
    ] {
        assert_eq!(parse_duration(text), Some(Duration::hours(hours)), "{text}");
    }
    for text in [
        "",
        "d",
        "天",
        "0d",
        "-1d",
        "+7d",
        "91d",
        "13w",
        "1y",
        "7",
        "7天天",
        "七天",
        "７天",
        "7 天",
        "义堂镇",
        "9999999999999999999d",
        "99999999999999999w",
        "7d\u{0}",
        "😀",
        "天7",
    ] {
        assert_eq!(parse_duration(text), None, "{text:?}");
    }
}

#[test]
fn a_command_addressed_to_another_bot_is_not_ours() {
    let me = Some("xunjian_bot");
    for (text, bot, is_ours) in [
        ("/list", me, true),
        ("/list 义堂镇", me, true),
        ("/list@xunjian_bot", me, true),
        ("/list@XunJian_Bot weibo", me, true),
        ("/list@other_bot", me, false),
        ("/list@other_bot xunjian_bot", me, false),
        ("/list@", me, false),
        ("/list", None, true),
        ("/list@xunjian_bot", None, false),
        ("  /status@other_bot a", me, false),
        ("/list@xunjian_bot", Some("@xunjian_bot"), true),
    ] {
        assert_eq!(is_addressed_to_us(text, bot), is_ours, "{text} to {bot:?}");
    }
}

#[test]
fn replies_are_split_under_telegrams_limit_on_line_and_char_boundaries() {
    assert!(split_reply("").is_empty());
    assert_eq!(split_reply("已确认"), vec!["已确认".to_string()]);
    let lines = "区市政管理局「市政兰山」已 187 天未更新\n".repeat(400);
    let parts = split_reply(&lines);
    assert!(parts.len() > 1);
    assert!(
        parts
            .iter()
            .all(|p| p.encode_utf16().count() <= MAX_REPLY_UTF16)
    );
    assert!(
        parts.iter().all(|p| p.ends_with('\n')),
        "split inside a line"
    );
    assert_eq!(parts.concat(), lines);
    let one_line = format!("未找到「{}」。", "义".repeat(100_000));
    let parts = split_reply(&one_line);
    assert_eq!(parts.len(), 25);
    assert!(
        parts
            .iter()
            .all(|p| p.encode_utf16().count() <= MAX_REPLY_UTF16)
    );
    assert_eq!(parts.concat(), one_line);
}

#[test]
fn replies_are_measured_in_utf16_units_as_telegram_counts_them() {
    // 2,040 emoji are 4,080 UTF-16 units: with any text around them the
    // reply is over Telegram's limit although it has fewer than 4,096 chars.
    let emoji = "😀".repeat(2_040);
    let reply = format!("未找到单位「{emoji}」。发送 /units 查看单位及其ID。");
    assert!(reply.chars().count() < 4096);
    let parts = split_reply(&reply);
    assert_eq!(parts.len(), 2, "{parts:?}");
    for part in &parts {
        assert!(part.encode_utf16().count() <= MAX_REPLY_UTF16);
        assert!(part.len() <= 18_000, "under DingTalk's byte limit too");
    }
    assert_eq!(parts.concat(), reply);
    // An echo is shortened, so the same reply fits in one message.
    let echoed = format!("未找到单位「{}」。", quoted(&emoji));
    assert_eq!(split_reply(&echoed).len(), 1);
    assert_eq!(quoted(&emoji).chars().count(), MAX_QUOTED_CHARS + 1);
    assert_eq!(quoted("义堂\u{0}镇"), "义堂镇");
}

#[test]
fn platforms_states_and_units_are_found_by_their_chinese_names() {
    use crate::registry::{Platform, Unit, UnitKind};
    for (text, platform) in [
        ("weibo", Platform::Weibo),
        ("WeiBo", Platform::Weibo),
        ("微博", Platform::Weibo),
        ("抖音", Platform::Douyin),
        ("公众号", Platform::WechatSubscription),
        ("微信订阅号", Platform::WechatSubscription),
        ("服务号", Platform::WechatService),
        ("头条", Platform::Toutiao),
        ("B站", Platform::Bilibili),
        ("网站", Platform::Website),
    ] {
        assert_eq!(Platform::from_name(text), Some(platform), "{text}");
    }
    for text in ["", "微信", "weixin", "义堂镇", "😀"] {
        assert_eq!(Platform::from_name(text), None, "{text}");
    }
    assert_eq!(
        AccountState::from_name("正在注销"),
        Some(AccountState::Closing)
    );
    assert_eq!(
        AccountState::from_name("拟关停"),
        Some(AccountState::Closing)
    );
    assert_eq!(
        AccountState::from_name("active"),
        Some(AccountState::Active)
    );
    let unit = |id: &str, name: &str| Unit {
        id: id.into(),
        name: name.into(),
        kind: UnitKind::Town,
        contacts: Vec::new(),
        chat: None,
    };
    let register = Register {
        units: vec![
            unit("lsq-yitang", "义堂镇"),
            unit("lsq-liuqing", "柳青街道"),
            unit("lsq-szgl", "区市政管理局"),
            unit("lsq-jyj", "区教育和体育局"),
            unit("lsq-scjg", "区市场监管局"),
        ],
        ..Register::default()
    };
    let found = |text: &str| register.find_unit(text).map(|u| u.id.as_str());
    assert_eq!(found("lsq-yitang"), Ok("lsq-yitang"));
    assert_eq!(found("义堂镇"), Ok("lsq-yitang"));
    assert_eq!(found("义堂"), Ok("lsq-yitang"));
    assert_eq!(found("市政"), Ok("lsq-szgl"));
    let Err(none) = register.find_unit("义") else {
        panic!("one character is too little to guess from")
    };
    assert!(none.is_empty());
    let Err(both) = register.find_unit("区市") else {
        panic!("区市 is two units")
    };
    let ids: Vec<&str> = both.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["lsq-szgl", "lsq-scjg"]);
    assert!(
        ambiguous_unit("区市", &both)
            .contains("区市政管理局（lsq-szgl）、区市场监管局（lsq-scjg）")
    );
}
