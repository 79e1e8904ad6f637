//! `[office]` settings: defaults, and each mistake named by its key.

use super::*;

fn check(text: &str) -> Result<Settings, String> {
    let settings = Settings::parse("xunjian.toml", text).map_err(|e| e.to_string())?;
    settings
        .validate("xunjian.toml")
        .map_err(|e| e.to_string())?;
    Ok(settings)
}

#[test]
fn the_office_defaults_issue_a_usable_tongbao() {
    let settings = check("").expect("defaults are valid");
    let office = &settings.office;
    assert_eq!(office.jurisdiction, "全区");
    assert_eq!(office.rectification_days, 7);
    assert!(office.addressees.ends_with('：'));
    assert!(
        office
            .requirements
            .iter()
            .any(|p| p.contains(DEADLINE_PLACEHOLDER))
    );
}

#[test]
fn office_settings_are_read_and_mistakes_name_the_key() {
    let settings = check(
        "[office]\nname = \"临沂市兰山区人民政府办公室\"\nrectification_days = 10\nrequirements = [\"请于{deadline}前整改。\"]\n",
    )
    .expect("valid");
    assert_eq!(settings.office.name, "临沂市兰山区人民政府办公室");
    assert_eq!(settings.office.rectification_days, 10);
    let cases = [
        ("[office]\nname = \" \"", "office.name: 不能为空"),
        ("[office]\naddressees = \"\"", "office.addressees: 不能为空"),
        (
            "[office]\njurisdiction = \"全\\n区\"",
            "office.jurisdiction: 须为一行",
        ),
        (
            "[office]\nrectification_days = 0",
            "office.rectification_days: 应为 1 至 60 个工作日",
        ),
        (
            "[office]\nrequirements = []",
            "office.requirements: 至少需要一段整改要求",
        ),
        (
            "[office]\nrequirements = [\"a\", \"\"]",
            "office.requirements[1]: 不能为空",
        ),
        (
            "[office]\nrequirements = [\"于{date}前\"]",
            "office.requirements[0]: 只支持占位符 {deadline}",
        ),
        ("[office]\nseal = \"x\"", "未知的设置项 `seal`"),
    ];
    for (text, expected) in cases {
        let err = check(text).expect_err(text);
        assert!(err.contains(expected), "{text}: {err}");
        assert!(err.starts_with("xunjian.toml"), "{err}");
    }
}

#[test]
fn the_dingtalk_app_runs_only_with_its_secret_from_the_environment_and_never_prints_it() {
    let text = "[dingtalk]\nclient_id = \"dingabc\"\nadmins = [\"manager4081\"]\n";
    let mut settings = check(text).expect("valid");
    assert_eq!(settings.dingtalk.gateway_url, "https://api.dingtalk.com");
    assert!(
        settings.dingtalk.credentials().is_none(),
        "no secret, no robot"
    );
    assert!(
        check("[dingtalk]\nclient_secret = \"x\"\n").is_err(),
        "the secret is never read from the file"
    );
    settings.apply_env(&|key| {
        (key == "XUNJIAN_DINGTALK_CLIENT_SECRET").then(|| "app-secret-4081".to_string())
    });
    let (id, secret) = settings.dingtalk.credentials().expect("both set");
    assert_eq!((id, secret.expose()), ("dingabc", "app-secret-4081"));
    assert!(!format!("{settings:?}").contains("app-secret-4081"));
    let redactor = Redactor::from_settings(&settings);
    assert_eq!(
        redactor.redact("secret app-secret-4081"),
        "secret [redacted]"
    );
}

#[test]
fn alerts_and_notes_go_to_every_chat_that_can_send_and_to_none_that_cannot() {
    let text = "[telegram]\ncontacts_chat = -100\nadmins = [7]\n\n\
                [dingtalk]\nclient_id = \"dingabc\"\nadmins = [\"manager4081\"]\ncontacts_chat = \"cid42==\"\n";
    let mut settings = check(text).expect("valid");
    assert!(
        settings.contacts_chats().is_empty() && settings.admin_chats().is_empty(),
        "without a token or a secret nothing can send"
    );
    assert_eq!(
        settings.admin_chats_or_console(),
        vec![ChatTarget::console()]
    );
    settings.apply_env(&|key| match key {
        "XUNJIAN_TELEGRAM_TOKEN" => Some("1:x".to_string()),
        "XUNJIAN_DINGTALK_CLIENT_SECRET" => Some("s".to_string()),
        _ => None,
    });
    assert_eq!(
        settings.contacts_chats(),
        vec![
            ChatTarget::new(crate::domain::Channel::Telegram, "-100"),
            ChatTarget::new(crate::domain::Channel::Dingtalk, "group:cid42=="),
        ]
    );
    assert_eq!(
        settings.admin_chats(),
        vec![
            ChatTarget::new(crate::domain::Channel::Telegram, "7"),
            ChatTarget::new(crate::domain::Channel::Dingtalk, "user:manager4081"),
        ]
    );
    assert_eq!(settings.dingtalk.robot_code(), Some("dingabc"));
}

#[test]
fn a_dingtalk_group_or_admin_with_spaces_is_refused_naming_the_key() {
    for (text, expected) in [
        (
            "[dingtalk]\ncontacts_chat = \"cid 42\"\n",
            "dingtalk.contacts_chat",
        ),
        ("[dingtalk]\nadmins = [\"\"]\n", "dingtalk.admins"),
        (
            "[dingtalk]\ngateway_url = \"ftp://x\"\n",
            "dingtalk.gateway_url",
        ),
    ] {
        let err = check(text).expect_err(text);
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn the_feishu_app_runs_only_with_its_secret_from_the_environment_and_never_prints_it() {
    let text = "[feishu]\napp_id = \"cli_a1b2c3\"\nadmins = [\"ou_admin4081\"]\n";
    let mut settings = check(text).expect("valid");
    assert_eq!(settings.feishu.base_url, "https://open.feishu.cn");
    assert!(settings.feishu.credentials().is_none(), "no secret, no bot");
    let refused = check("[feishu]\napp_id = \"cli_a1b2c3\"\napp_secret = \"in-the-file-4081\"\n")
        .expect_err("the secret is never read from the file");
    assert!(
        refused.contains("feishu.app_secret") && refused.contains("XUNJIAN_FEISHU_APP_SECRET"),
        "{refused}"
    );
    assert!(!refused.contains("in-the-file-4081"), "{refused}");
    settings.apply_env(&|key| match key {
        "XUNJIAN_FEISHU_APP_SECRET" => Some("feishu-secret-4081".to_string()),
        "XUNJIAN_FEISHU_BASE_URL" => Some("http://127.0.0.1:9".to_string()),
        _ => None,
    });
    let (id, secret) = settings.feishu.credentials().expect("both set");
    assert_eq!((id, secret.expose()), ("cli_a1b2c3", "feishu-secret-4081"));
    assert_eq!(settings.feishu.base_url, "http://127.0.0.1:9");
    assert!(!format!("{settings:?}").contains("feishu-secret-4081"));
    let redactor = Redactor::from_settings(&settings);
    assert_eq!(
        redactor.redact("secret feishu-secret-4081"),
        "secret [redacted]"
    );
    let health = crate::health::secrets_of(&settings);
    assert!(health.iter().any(|s| s == "feishu-secret-4081"));
}

#[test]
fn feishu_admins_must_be_open_ids_and_the_base_url_a_url() {
    let cases = [
        (
            "[feishu]\nadmins = [\"on_union\"]\n",
            "feishu.admins[0]: expected a Feishu open_id",
        ),
        (
            "[feishu]\nadmins = [\"ou_a b\"]\n",
            "feishu.admins[0]: expected a Feishu open_id",
        ),
        (
            "[feishu]\nbase_url = \"open.feishu.cn\"\n",
            "feishu.base_url: expected an http(s) URL",
        ),
    ];
    for (text, expected) in cases {
        let err = check(text).expect_err(text);
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn the_feishu_group_and_admins_are_reached_through_the_bot_once_it_can_send() {
    let text =
        "[feishu]\napp_id = \"cli_a1\"\nadmins = [\"ou_admin\"]\ncontacts_chat = \"oc_group\"\n";
    let mut settings = check(text).expect("valid");
    assert!(
        settings.contacts_chats().is_empty(),
        "no secret, no sending"
    );
    settings.apply_env(&|key| (key == "XUNJIAN_FEISHU_APP_SECRET").then(|| "s".to_string()));
    assert_eq!(
        settings.contacts_chats(),
        vec![ChatTarget::new(
            crate::domain::Channel::Feishu,
            "chat:oc_group"
        )]
    );
    assert_eq!(
        settings.admin_chats(),
        vec![ChatTarget::new(
            crate::domain::Channel::Feishu,
            "user:ou_admin"
        )]
    );
    let err = check("[feishu]\ncontacts_chat = \"ou_person\"\n").expect_err("not a chat");
    assert!(err.contains("feishu.contacts_chat"), "{err}");
}

#[test]
fn times_rule_ids_and_chat_budgets_are_read_once_and_mistakes_name_the_line() {
    let settings = check(
        "[alerts]\nsend_from = \"07:45\"\nurgent_rules = [\"stale_2w\"]\n\
         [robots.office]\nkind = \"wecom\"\nrules = [\"proxy_down\"]\n",
    )
    .expect("valid");
    assert_eq!(
        settings.alerts.send_from,
        chrono::NaiveTime::from_hms_opt(7, 45, 0).expect("a time")
    );
    assert_eq!(
        settings.alerts.urgent_rules,
        vec![crate::domain::Rule::Stale2w]
    );
    assert_eq!(
        settings.robots["office"].rules,
        vec![crate::domain::Rule::ProxyDown]
    );
    assert_eq!(settings.commands.per_user_per_minute, 20);
    for (text, expected) in [
        ("[alerts]\nsend_from = \"8点半\"", "第 2 行"),
        (
            "[alerts]\nsend_until = \"25:00\"",
            "时间应写作 HH:MM（如 08:30），实际为「25:00」",
        ),
        (
            "[alerts]\nurgent_rules = [\"gone_unfild\"]",
            "未知的规则「gone_unfild」，是否为「gone_unfiled」？",
        ),
        (
            "[robots.x]\nkind = \"wecom\"\nrules = [\"stale2w\"]",
            "未知的规则「stale2w」，是否为「stale_2w」？",
        ),
        (
            "[commands]\nper_user_per_minute = 0",
            "commands.per_user_per_minute：至少为 1",
        ),
        (
            "[commands]\nper_group_per_minute = 0",
            "commands.per_group_per_minute：至少为 1",
        ),
    ] {
        let err = check(text).expect_err(text);
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn the_console_address_is_checked_and_the_environment_may_move_the_server() {
    for bad in [
        "xunjian.example.gov.cn",
        "ftp://x.cn",
        "https://x.cn/?a=1",
        "https://",
    ] {
        let err = check(&format!("[server]\npublic_url = \"{bad}\"\n")).expect_err(bad);
        assert!(
            err.contains("server.public_url") && err.contains("不是有效的网址"),
            "{err}"
        );
    }
    let settings =
        check("[server]\npublic_url = \"https://xunjian.example.gov.cn/gzt/\"\n").expect("valid");
    assert_eq!(
        settings.server.upload_dir,
        std::path::PathBuf::from("uploads")
    );
    let env = |key: &str| match key {
        "XUNJIAN_SERVER_LISTEN" => Some("0.0.0.0:9464".to_string()),
        "XUNJIAN_PUBLIC_URL" => Some("https://gzt.example.gov.cn".to_string()),
        _ => None,
    };
    let dir = tempfile::tempdir().expect("a dir");
    let path = dir.path().join("xunjian.toml");
    std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:9464\"\n").expect("write");
    let settings = Settings::load(Some(&path), &env).expect("valid");
    assert_eq!(settings.server.listen, "0.0.0.0:9464");
    assert_eq!(settings.server.public_url, "https://gzt.example.gov.cn");
    let env = |key: &str| (key == "XUNJIAN_PUBLIC_URL").then(|| "gzt".to_string());
    assert!(
        Settings::load(Some(&path), &env).is_err(),
        "checked from the environment too"
    );
}
