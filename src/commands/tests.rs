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
    assert!(parts.iter().all(|p| p.chars().count() <= MAX_REPLY_CHARS));
    assert!(
        parts.iter().all(|p| p.ends_with('\n')),
        "split inside a line"
    );
    assert_eq!(parts.concat(), lines);
    let one_line = format!("未找到「{}」。", "义".repeat(100_000));
    let parts = split_reply(&one_line);
    assert_eq!(parts.len(), 25);
    assert!(parts.iter().all(|p| p.chars().count() <= MAX_REPLY_CHARS));
    assert_eq!(parts.concat(), one_line);
}
