use super::*;
use crate::registry::UnitKind;

const UNIT: &str = "[[unit]]\nid = \"u1\"\nname = \"区政府办公室\"\nkind = \"department\"\n";

fn problems(text: &str) -> Vec<String> {
    let proxies = vec!["rsshub".to_string(), "wewe".to_string()];
    match parse("accounts.toml", text, &Context { proxies: &proxies }) {
        Ok(_) => Vec::new(),
        Err(err) => err.problems.iter().map(ToString::to_string).collect(),
    }
}

fn account(body: &str) -> String {
    format!("{UNIT}\n[[account]]\n{body}")
}

const GOOD: &str = "id = \"a1\"\nunit = \"u1\"\nname = \"兰山发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n";

#[test]
fn a_valid_register_loads_with_defaults() {
    let proxies = vec!["rsshub".to_string()];
    let register = parse(
        "accounts.toml",
        &account(GOOD),
        &Context { proxies: &proxies },
    )
    .expect("valid register");
    let a = &register.accounts[0];
    assert_eq!(a.state, AccountState::Active);
    assert!(a.is_interactive);
    assert_eq!(
        a.source,
        Source::Proxy {
            proxy: "rsshub".into(),
            route: "/weibo/user/1".into()
        }
    );
    assert_eq!(register.units[0].kind, UnitKind::Department);
}

#[test]
fn the_shipped_register_loads() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/accounts.toml"))
        .expect("accounts.toml at the root");
    let proxies = vec!["rsshub".to_string(), "wewe".to_string()];
    let register = parse("accounts.toml", &text, &Context { proxies: &proxies })
        .expect("the shipped register must load");
    // Platforms with no proxy route of their own (视频号, 百家号, 人民号,
    // 学习强国号, 其他) need an office's own feed: the example has none.
    let routed = Platform::ALL.into_iter().filter(|p| {
        !matches!(
            p,
            Platform::WechatChannels
                | Platform::Baijiahao
                | Platform::Renminhao
                | Platform::Xuexi
                | Platform::Other
        )
    });
    for platform in routed {
        assert!(
            register.accounts.iter().any(|a| a.platform == platform),
            "{platform} missing"
        );
    }
    for state in AccountState::ALL {
        assert!(
            register.accounts.iter().any(|a| a.state == state),
            "{state} missing"
        );
    }
    for kind in [UnitKind::Department, UnitKind::Town] {
        assert!(register.units.iter().any(|u| u.kind == kind));
    }
}

#[test]
fn each_malformed_register_gets_its_precise_error() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "[[unit]]\nid = \"u1\"\nname = \"x\"\nkind = \"department\"\ncolour = \"red\"\n".into(),
            vec!["accounts.toml:5:1: 单位「u1」：未知的键 `colour`"],
        ),
        (
            "[[units]]\nid = \"u1\"\n".into(),
            vec!["accounts.toml:1:3: 未知的键 `units`（台账只有 `[[unit]]` 和 `[[account]]` 两种条目）"],
        ),
        (
            format!("{UNIT}{UNIT}"),
            vec!["accounts.toml:6:6: 单位「u1」：ID 重复（第 2 行已有）"],
        ),
        (
            "[[unit]]\nid = \"区办\"\nname = \"x\"\nkind = \"department\"\n".into(),
            vec![
                "accounts.toml:2:6: 第 1 个单位：`id` 只能由英文字母、数字、- 和 _ 组成（实际为「区办」）",
            ],
        ),
        (
            "[[unit]]\nid = \"u1\"\nkind = \"county\"\n".into(),
            vec![
                "accounts.toml:1:1: 单位「u1」：缺少 `name`",
                "accounts.toml:3:8: 单位「u1」：`kind` 未知单位类型「county」（可选：department 部门、town 镇街）",
            ],
        ),
        (
            "[[unit]]\nid = \"u1\"\nname = \"x\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", telegram_id = \"12\", wechat = \"x\" }]\n".into(),
            vec![
                "accounts.toml:5:42: 单位「u1」 第 1 个联系人：`telegram_id` 应为整数，实际为文本",
                "accounts.toml:5:48: 单位「u1」 第 1 个联系人：未知的键 `wechat`",
            ],
        ),
        (
            "[[unit]]\nid = \"u1\"\nname = \"x\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", dingtalk_id = \"a b\" }, { name = \"李强\", dingtalk_id = 7 }]\n".into(),
            vec![
                "accounts.toml:5:42: 单位「u1」 第 1 个联系人：`dingtalk_id` 应为钉钉 staffId（1–64 个字符，不含空格），实际为「a b」",
                "accounts.toml:5:80: 单位「u1」 第 2 个联系人：`dingtalk_id` 应为文本（用引号括起），实际为整数",
            ],
        ),
        (
            "[[unit]]\nid = \"u1\"\nname = \"x\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", feishu_open_id = \"on_union\" }, { name = \"李强\", feishu_open_id = 7 }]\n".into(),
            vec![
                "accounts.toml:5:45: 单位「u1」 第 1 个联系人：`feishu_open_id` 应为飞书 open_id（ou_ 开头，后接字母、数字、_ 或 -，最多 64 个字符），实际为「on_union」",
                "accounts.toml:5:91: 单位「u1」 第 2 个联系人：`feishu_open_id` 应为文本（用引号括起），实际为整数",
            ],
        ),
        (
            account(&format!("{GOOD}{GOOD}")),
            vec!["accounts.toml:13:1: TOML 格式有误：duplicate key"],
        ),
        (
            account(&GOOD.replace("unit = \"u1\"", "unit = \"u9\"")),
            vec!["accounts.toml:8:8: 账号「a1」：`unit` 未知单位「u9」，是否为「u1」（u1）？（文件中没有此单位ID）"],
        ),
        (
            account(&GOOD.replace("\"weibo\"", "\"wechat\"")),
            vec![
                "accounts.toml:10:12: 账号「a1」：platform 未知平台「wechat」（可选：wechat_subscription（微信订阅号）、wechat_service（微信服务号）、weibo（微博）、douyin（抖音）、toutiao（今日头条）、kuaishou（快手）、bilibili（哔哩哔哩）、website（网站/RSS）、wechat_channels（微信视频号）、xiaohongshu（小红书）、baijiahao（百家号）、renminhao（人民号）、xuexi（学习强国号）、other（其他））",
            ],
        ),
        (
            account(&GOOD.replace("\"rsshub\"", "\"rss-hub\"")),
            vec![
                "accounts.toml:11:9: 账号「a1」：`proxy` 未配置的代理「rss-hub」（已配置：rsshub、wewe）",
            ],
        ),
        (
            account(&GOOD.replace("\"/weibo/user/1\"", "\"http://evil.example/x\"")),
            vec![
                "accounts.toml:12:9: 账号「a1」：`route` 路由必须是以 / 开头的路径（实际为「http://evil.example/x」）",
            ],
        ),
        (
            account(&GOOD.replace("proxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n", "feed = \"ftp://example.gov.cn/rss\"\n")),
            vec![
                "accounts.toml:11:8: 账号「a1」：`feed` 地址「ftp://example.gov.cn/rss」无效：协议必须是 http 或 https，而不是 ftp",
            ],
        ),
        (
            account(&GOOD.replace("proxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n", "feed = \"not a url\"\n")),
            vec![
                "accounts.toml:11:8: 账号「a1」：`feed` 地址「not a url」无效：无法解析：relative URL without a base",
            ],
        ),
        (
            account(&format!("{GOOD}feed = \"https://example.gov.cn/rss\"\n")),
            vec!["accounts.toml:13:8: 账号「a1」：`proxy` + `route` 与 `feed` 只能写一种"],
        ),
        (
            account(&GOOD.replace("route = \"/weibo/user/1\"\n", "")),
            vec!["accounts.toml:11:9: 账号「a1」：写了 `proxy` 还需写 `route`"],
        ),
        (
            account(&GOOD.replace("proxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n", "")),
            vec!["accounts.toml:6:1: 账号「a1」：缺少来源：请写 `proxy` + `route`，或 `feed`"],
        ),
        (
            account(&format!("{GOOD}state = \"deregistered\"\n")),
            vec![
                "accounts.toml:6:1: 账号「a1」：状态为已注销（deregistered），须填写 `deregistered_on` 注销日期",
                "accounts.toml:6:1: 账号「a1」：状态为已注销（deregistered），须填写 `filing_ref` 备案文号",
            ],
        ),
        (
            account(&format!("{GOOD}state = \"deregistered\"\nderegistered_on = \"2026-02-30\"\nfiling_ref = \"临兰政办字〔2026〕5号\"\n")),
            vec![
                "accounts.toml:14:19: 账号「a1」：`deregistered_on` 日期「2026-02-30」无效（应写作 2026-03-01）",
                "accounts.toml:6:1: 账号「a1」：状态为已注销（deregistered），须填写 `deregistered_on` 注销日期",
            ],
        ),
        (
            account(&format!("{GOOD}filing_ref = \"x\"\n")),
            vec![
                "accounts.toml:13:14: 账号「a1」：`filing_ref` 只在状态为已注销（deregistered）时填写",
            ],
        ),
        (
            account(&format!("{GOOD}state = \"closed\"\ninteractive = \"no\"\nstale_days = 0\n")),
            vec![
                "accounts.toml:13:9: 账号「a1」：`state` 未知状态「closed」（可选：active 正常运维、closing 正在注销、deregistered 已注销）",
                "accounts.toml:14:15: 账号「a1」：`interactive` 应为true 或 false，实际为文本",
                "accounts.toml:15:14: 账号「a1」：`stale_days` 应为正整数天数，实际为整数",
            ],
        ),
        (
            "[[account]]\nunit = \"u1\"\n".into(),
            vec![
                "accounts.toml:1:1: 第 1 个账号：缺少 `id`",
                "accounts.toml:1:1: 第 1 个账号：缺少 `name`",
                "accounts.toml:1:1: 第 1 个账号：缺少 `platform`",
                "accounts.toml:1:1: 第 1 个账号：缺少来源：请写 `proxy` + `route`，或 `feed`",
                "accounts.toml:2:8: 第 1 个账号：`unit` 未知单位「u1」（文件中没有此单位ID）",
            ],
        ),
        (
            "[[unit]\nid = 1\n".into(),
            vec!["accounts.toml:1:8: TOML 格式有误：unclosed array table, expected `]`"],
        ),
    ];
    for (text, expected) in cases {
        let mut got = problems(&text);
        let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "for register:\n{text}");
    }
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let text = format!(
        "{UNIT}\n[[account]]\nid = \"a1\"\nunit = \"nope\"\nname = \"x\"\nplatform = \"weibo\"\nfeed = \"https://a.gov.cn/rss\"\n\n[[account]]\nid = \"a2\"\nunit = \"u1\"\nname = \"y\"\nplatform = \"myspace\"\nfeed = \"https://a.gov.cn/rss2\"\n"
    );
    let got = problems(&text);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("accounts.toml:8:8:"), "{got:?}");
    assert!(got[1].starts_with("accounts.toml:17:12:"), "{got:?}");
}

#[test]
fn a_missing_file_is_an_error_that_names_it() {
    let err = load_file(
        Path::new("/nonexistent/accounts.toml"),
        &Context { proxies: &[] },
    )
    .expect_err("missing file");
    assert!(
        err.to_string()
            .contains("/nonexistent/accounts.toml:0:0: 无法读取台账文件"),
        "{err}"
    );
}

#[test]
fn names_with_control_characters_or_over_64_characters_are_refused_at_their_line() {
    let long = "义".repeat(65);
    let text = format!(
        "[[unit]]\nid = \"u1\"\nname = \"区政府\\n办公室\"\nkind = \"department\"\ncontacts = [{{ name = \"张\\u0007三\" }}]\n\n[[account]]\n{}",
        GOOD.replace("兰山发布", &long)
    );
    assert_eq!(
        problems(&text),
        vec![
            "accounts.toml:3:8: 单位「u1」：`name` 名称第 4 个字符是控制字符（U+000A），请删除后重试".to_string(),
            "accounts.toml:5:22: 单位「u1」 第 1 个联系人：`name` 名称第 2 个字符是控制字符（U+0007），请删除后重试".to_string(),
            "accounts.toml:10:8: 账号「a1」：`name` 名称过长：共 65 个字符，最多 64 个字符".to_string(),
        ]
    );
}

#[test]
fn routes_with_encoded_dot_segments_or_a_query_and_feeds_with_credentials_are_refused() {
    for (route, why) in [
        ("/weibo/%2e%2e/%2e%2e/admin", "路由不能含 . 或 .. 路径段"),
        ("/weibo/.%2e/x", "路由不能含 . 或 .. 路径段"),
        ("/weibo/user/1?key=mine", "路由不能含 ? 或 #"),
        ("/weibo/user/1#x", "路由不能含 ? 或 #"),
        ("/weibo\\\\admin", "路由不能含反斜杠"),
    ] {
        let text = account(&GOOD.replace("/weibo/user/1", route));
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{route}: {found:?}");
        assert!(found[0].contains(why), "{route}: {found:?}");
    }
    let text = account(&GOOD.replace(
        "proxy = \"rsshub\"\nroute = \"/weibo/user/1\"\n",
        "feed = \"https://clerk:hunter2@example.gov.cn/rss\"\n",
    ));
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("不能含用户名或密码"), "{found:?}");
}

#[test]
fn a_contacts_dingtalk_id_loads_and_is_exported_again() {
    let text = "[[unit]]\nid = \"u1\"\nname = \"x\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", dingtalk_id = \"manager4081\" }]\n";
    let proxies: Vec<String> = Vec::new();
    let register = parse("accounts.toml", text, &Context { proxies: &proxies }).expect("loads");
    assert_eq!(
        register.units[0].contacts[0].dingtalk_id.as_deref(),
        Some("manager4081")
    );
    let exported = crate::registry::export::to_toml(&register);
    assert!(
        exported.contains("dingtalk_id = \"manager4081\""),
        "{exported}"
    );
}

#[test]
fn a_contacts_feishu_open_id_loads_and_is_exported_again() {
    let text = "[[unit]]\nid = \"u1\"\nname = \"x\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", feishu_open_id = \"ou_7d8a6e6df7621556ce0d21922b676706\" }]\n";
    let proxies: Vec<String> = Vec::new();
    let register = parse("accounts.toml", text, &Context { proxies: &proxies }).expect("loads");
    assert_eq!(
        register.units[0].contacts[0].feishu_open_id.as_deref(),
        Some("ou_7d8a6e6df7621556ce0d21922b676706")
    );
    let exported = crate::registry::export::to_toml(&register);
    assert!(
        exported.contains("feishu_open_id = \"ou_7d8a6e6df7621556ce0d21922b676706\""),
        "{exported}"
    );
    let again = parse("accounts.toml", &exported, &Context { proxies: &proxies }).expect("reloads");
    assert_eq!(again, register);
}

/// A unit's own group loads, is refused in Chinese when it is not one, and
/// comes back through the exported file and the workbook.
#[test]
fn a_units_own_group_loads_and_survives_export_and_the_workbook() {
    let text =
        "[[unit]]\nid = \"u1\"\nname = \"义堂镇\"\nkind = \"town\"\nchat = \"dingtalk:cid42==\"\n";
    let proxies: Vec<String> = Vec::new();
    let register = parse("accounts.toml", text, &Context { proxies: &proxies }).expect("loads");
    assert_eq!(register.units[0].chat.as_deref(), Some("dingtalk:cid42=="));
    let exported = crate::registry::export::to_toml(&register);
    assert!(
        exported.contains("chat = \"dingtalk:cid42==\""),
        "{exported}"
    );
    let again = parse("accounts.toml", &exported, &Context { proxies: &proxies }).expect("reloads");
    assert_eq!(again, register);
    let bad = text.replace("dingtalk:cid42==", "微信群:abc");
    let err = parse("accounts.toml", &bad, &Context { proxies: &proxies })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("accounts.toml:5") && err.contains("单位群聊「微信群:abc」无效"),
        "{err}"
    );
}

#[test]
fn a_units_own_group_comes_back_through_the_workbook() {
    let text = "[[unit]]\nid = \"u1\"\nname = \"义堂镇\"\nkind = \"town\"\nchat = \"telegram:-1001234567890\"\n\n[[unit]]\nid = \"u2\"\nname = \"柳青街道\"\nkind = \"town\"\n";
    let proxies: Vec<String> = Vec::new();
    let register = parse("accounts.toml", text, &Context { proxies: &proxies }).expect("loads");
    let bytes = crate::registry::workbook::write::workbook(&register).expect("writes");
    let again = crate::registry::workbook::read::read_bytes(
        "台账.xlsx",
        &bytes,
        &Context { proxies: &proxies },
    )
    .expect("reads back");
    assert_eq!(again.units, register.units);
}

/// A register of `accounts` accounts over a few units, with an account
/// before the units it names, and problems far into the file: a duplicate
/// id, an unknown platform, an unknown unit and an unknown key.
fn long_register(accounts: usize, is_flawed: bool) -> String {
    let mut text = String::from("# 台账\n\n");
    let entry = |i: usize, unit: &str, platform: &str| {
        format!(
            "[[account]]\nid = \"a{i}\"\nunit = \"{unit}\"\nname = \"账号{i}\"  # 注释 [x]\n\
             platform = \"{platform}\"\nfeed = \"https://example.gov.cn/{i}.xml\"\n\n"
        )
    };
    text.push_str(&entry(0, "u1", "website"));
    text.push_str("[[unit]]\nid = \"u1\"\nname = \"区政府办公室\"\nkind = \"department\"\n\n");
    for i in 1..accounts {
        let (id, unit, platform) = match i {
            1_500 if is_flawed => (i, "u1", "myspace"),
            2_100 if is_flawed => (7, "u1", "website"),
            2_200 if is_flawed => (i, "u9", "website"),
            _ => (i, "u1", "website"),
        };
        text.push_str(&entry(id, unit, platform));
    }
    text.push_str("[[unit]]\nid = \"u2\"\nname = \"区教育局\"\nkind = \"department\"\n");
    text.push_str("[[unit.contacts]]  # 联系人\nname = \"孙华\"\n");
    if is_flawed {
        text.push_str("chat = 5\n");
    }
    text
}

#[test]
fn a_file_read_in_pieces_reads_as_the_whole_file() {
    let proxies = vec!["rsshub".to_string()];
    let ctx = Context { proxies: &proxies };
    let text = long_register(2_500, true);
    let cut = pieces::pieces(&text).expect("a plain file is cut");
    assert_eq!(
        cut.iter()
            .map(|p| (p.kind, text[p.range.clone()].lines().next()))
            .collect::<Vec<_>>(),
        [
            ("account", Some("[[account]]")),
            ("unit", Some("[[unit]]")),
            ("account", Some("[[account]]")),
            ("account", Some("[[account]]")),
            ("account", Some("[[account]]")),
            ("unit", Some("[[unit]]")),
        ]
    );
    // The pieces cover the file from the first entry on, in order.
    assert_eq!(cut.first().map(|p| p.range.start), text.find("[[account]]"));
    assert!(cut.windows(2).all(|w| w[0].range.end == w[1].range.start));
    assert_eq!(cut.last().map(|p| p.range.end), Some(text.len()));
    let whole = parse_whole("accounts.toml", &text, &ctx).expect_err("problems");
    let in_pieces = parse("accounts.toml", &text, &ctx).expect_err("problems");
    assert_eq!(in_pieces, whole);
    assert_eq!(in_pieces.problems.len(), 4, "{in_pieces}");
    // Of two units as near, the first in the file is the hint.
    assert!(
        in_pieces.to_string().contains("是否为「u1」"),
        "{in_pieces}"
    );
    // Without the problems, the same register.
    let fixed = long_register(2_500, false);
    let whole = parse_whole("accounts.toml", &fixed, &ctx).expect("valid");
    assert_eq!(parse("accounts.toml", &fixed, &ctx).expect("valid"), whole);
    assert_eq!((whole.units.len(), whole.accounts.len()), (2, 2_500));
}

#[test]
fn only_a_plain_file_is_cut() {
    for text in [
        "",
        "# 只有注释\n",
        "title = \"x\"\n[[unit]]\nid = \"u1\"\n",
        "[[unit]]\nid = \"u1\"\nnote = \"\"\"\n[[account]]\n\"\"\"\n",
        "[[unit]]\nid = \"u1\"\n[other]\nx = 1\n",
        "[[unit]]\nid = \"u1\"\n[account.thresholds]\nstale_days = 1\n",
        "[[unit]]\ncontacts = [\n[1],\n]\n",
    ] {
        assert_eq!(pieces::pieces(text), None, "{text}");
    }
    let cut = pieces::pieces("# a\n[[unit]] # 单位\nid = \"u1\"\n[unit.x]\ny = 1\n[[account]]\n")
        .expect("plain");
    assert_eq!(cut.len(), 2);
}
