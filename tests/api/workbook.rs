//! The register as an Excel workbook: export read back with calamine, a
//! hand-broken workbook with every problem located, tolerant reading, and
//! the XLSX → import → TOML → import → XLSX round trip.

use crate::helpers::{at, shipped_register, test_dbs, test_settings};
use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::Workbook;
use std::io::Cursor;
use xunjian::app::App;
use xunjian::registry::load::Context;
use xunjian::registry::workbook::read::read_bytes;
use xunjian::registry::workbook::{ACCOUNT_COLUMNS, write};
use xunjian::registry::{Contact, Register};

const PROXIES: [&str; 2] = ["rsshub", "wewe"];

fn proxies() -> Vec<String> {
    PROXIES.iter().map(|p| p.to_string()).collect()
}

fn read(name: &str, bytes: &[u8]) -> Result<Register, Vec<String>> {
    let proxies = proxies();
    read_bytes(name, bytes, &Context { proxies: &proxies })
        .map_err(|e| e.problems.iter().map(ToString::to_string).collect())
}

fn shipped() -> Register {
    let settings = test_settings("sqlite://unused.db");
    xunjian::app::read_register(&settings, &shipped_register()).expect("shipped register")
}

fn cell(sheet: &calamine::Range<Data>, row: usize, col: usize) -> String {
    sheet
        .get((row, col))
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[tokio::test]
async fn the_exported_workbook_has_the_documented_sheets_headers_labels_and_real_dates() {
    for db in test_dbs("xlsx_export").await {
        let app = App::open(db.settings.clone(), shipped_register())
            .await
            .expect("app");
        app.import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        let bytes = app.export_xlsx().await.expect("export");

        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("calamine opens it");
        assert_eq!(book.sheet_names(), vec!["账号", "单位", "阈值"]);
        let accounts = book.worksheet_range("账号").expect("账号");
        let headers: Vec<String> = (0..15).map(|c| cell(&accounts, 0, c)).collect();
        assert_eq!(headers, ACCOUNT_COLUMNS.map(String::from));
        assert_eq!(accounts.height(), 1 + 13, "a header and 13 accounts");
        let row = |id: &str| {
            (1..accounts.height())
                .find(|r| cell(&accounts, *r, 0) == id)
                .expect("account row")
        };
        let weibo = row("lsfb-weibo");
        let values: Vec<String> = (0..14).map(|c| cell(&accounts, weibo, c)).collect();
        assert_eq!(
            values,
            [
                "lsfb-weibo",
                "兰山发布",
                "lsq-gov-office",
                "区政府办公室",
                "部门",
                "微博",
                "rsshub",
                "/weibo/user/1234567890",
                "正常运维",
                "",
                "",
                "是",
                "王敏",
                "0539-8196766"
            ]
        );
        let kuaishou = row("lsjy-kuaishou");
        assert_eq!(cell(&accounts, kuaishou, 8), "已注销");
        assert_eq!(cell(&accounts, kuaishou, 10), "临兰政办字〔2026〕5号");
        match accounts.get((kuaishou, 9)) {
            Some(Data::DateTime(date)) => {
                assert!(date.is_datetime());
                let (y, m, d, ..) = date.to_ymd_hms_milli();
                assert_eq!((y, m, d), (2026, 3, 1));
            }
            other => panic!("注销日期 must be a real date cell, got {other:?}"),
        }
        assert_eq!(cell(&accounts, row("lsfb-douyin"), 11), "否");
        assert_eq!(cell(&accounts, row("lsfb-wechat"), 5), "微信订阅号");

        let units = book.worksheet_range("单位").expect("单位");
        let unit_headers: Vec<String> = (0..13).map(|c| cell(&units, 0, c)).collect();
        assert_eq!(
            unit_headers,
            [
                "单位ID",
                "单位名称",
                "单位类型",
                "联系人1",
                "联系人1电话",
                "联系人1 Telegram ID",
                "联系人1 钉钉ID",
                "联系人1 飞书OpenID",
                "联系人2",
                "联系人2电话",
                "联系人2 Telegram ID",
                "联系人2 钉钉ID",
                "联系人2 飞书OpenID"
            ]
        );
        let szgl: Vec<String> = (0..13).map(|c| cell(&units, 2, c)).collect();
        assert_eq!(
            szgl,
            [
                "lsq-szgl",
                "区市政管理局",
                "部门",
                "李强",
                "",
                "223456789",
                "",
                "",
                "赵丽",
                "0539-8190001",
                "",
                "",
                ""
            ]
        );
        let thresholds = book.worksheet_range("阈值").expect("阈值");
        assert_eq!(cell(&thresholds, 0, 2), "超两周未更新天数");
        assert_eq!(cell(&thresholds, 1, 0), "szls-wechat");
        assert_eq!(cell(&thresholds, 1, 2), "7");
        db.finish().await;
    }
}

/// A workbook of text cells: (sheet, rows), the first row being the headers.
fn workbook_of(sheets: &[(&str, Vec<Vec<&str>>)]) -> Vec<u8> {
    let mut book = Workbook::new();
    for (name, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).expect("sheet name");
        for (r, row) in (0u32..).zip(rows) {
            for (c, value) in (0u16..).zip(row) {
                if !value.is_empty() {
                    sheet.write_string(r, c, *value).expect("write");
                }
            }
        }
    }
    book.save_to_buffer().expect("workbook")
}

fn account_header() -> Vec<&'static str> {
    ACCOUNT_COLUMNS.to_vec()
}

const UNIT_HEADER: [&str; 6] = [
    "单位ID",
    "单位名称",
    "单位类型",
    "联系人1",
    "联系人1电话",
    "联系人1 Telegram ID",
];

#[test]
fn a_hand_broken_workbook_reports_every_problem_at_its_sheet_row_and_column() {
    let good = |id: &'static str| {
        vec![
            id,
            "兰山发布",
            "u1",
            "区政府办公室",
            "部门",
            "微博",
            "rsshub",
            "/weibo/user/1",
            "正常运维",
            "",
            "",
            "是",
            "",
            "",
        ]
    };
    let mut bad_platform = good("a2");
    bad_platform[5] = "抖因";
    let mut bad_unit = good("a3");
    bad_unit[2] = "u9";
    bad_unit[3] = "";
    let mut bad_filing = good("a4");
    bad_filing[8] = "已注销";
    bad_filing[9] = "2026-02-30";
    let mut duplicate = good("a1");
    duplicate[6] = "rss-hub";
    let mut bad_route = good("a5");
    bad_route[7] = "/weibo/../admin";
    bad_route[11] = "也许";
    let mut bad_copy = good("a6");
    bad_copy[3] = "区政府";
    let empty = vec![""; 14];
    let bytes = workbook_of(&[
        (
            "账号",
            vec![
                account_header(),
                good("a1"),
                bad_platform,
                bad_unit,
                bad_filing,
                empty,
                duplicate,
                bad_route,
                bad_copy,
            ],
        ),
        (
            "单位",
            vec![
                UNIT_HEADER.to_vec(),
                vec!["u1", "区政府办公室", "部门", "王敏", "0539-8196766", "123"],
                vec!["u2", "义堂镇", "县", "", "", ""],
                vec!["u3", "区教体局", "部门", "", "0539-1", "abc"],
            ],
        ),
    ]);
    let problems = read("台账.xlsx", &bytes).expect_err("broken workbook");
    assert_eq!(
        problems,
        [
            "台账.xlsx 账号!F3（平台）：未知平台「抖因」，是否为「抖音」？（可选：微信订阅号、微信服务号、微博、抖音、今日头条、快手、哔哩哔哩、网站/RSS、微信视频号、小红书、百家号、人民号、学习强国号、其他）",
            "台账.xlsx 账号!C4（主办单位ID）：未知单位「u9」，是否为「区政府办公室」（u1）？（「单位」表中没有此单位ID或名称）",
            "台账.xlsx 账号!J5（注销日期）：无法识别的日期「2026-02-30」，请写作 2026-03-01 或使用日期格式的单元格",
            "台账.xlsx 账号!K5（备案文号）：状态为已注销，须填写备案文号",
            "台账.xlsx 账号!A7（账号ID）：账号ID「a1」重复（第 2 行已有）",
            "台账.xlsx 账号!G7（代理）：未配置的代理「rss-hub」（已配置：rsshub、wewe）",
            "台账.xlsx 账号!H8（路由或订阅地址）：路由不能含 . 或 .. 路径段（包括 %2e 等编码形式）（实际为「/weibo/../admin」）",
            "台账.xlsx 账号!L8（互动功能）：应填写「是」或「否」（实际为「也许」）",
            "台账.xlsx 账号!D9（主办单位）：与「单位」表不一致：单位「u1」的主办单位是「区政府办公室」；请在「单位」表中修改，此列仅供查看",
            "台账.xlsx 单位!C3（单位类型）：未知单位类型「县」，可选：部门、镇街",
            "台账.xlsx 单位!D4（联系人1）：填写了电话、Telegram ID、钉钉ID 或飞书OpenID，但没有联系人姓名",
            "台账.xlsx 单位!F4（联系人1 Telegram ID）：应为整数（实际为「abc」）",
        ]
    );
}

#[test]
fn a_renamed_column_a_missing_sheet_and_a_file_that_is_no_workbook_are_named() {
    let mut header = account_header();
    header[5] = "平台名称";
    let bytes = workbook_of(&[(
        "账号",
        vec![
            header,
            vec![
                "a1",
                "兰山发布",
                "u1",
                "",
                "",
                "微博",
                "rsshub",
                "/weibo/user/1",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ],
    )]);
    assert_eq!(
        read("台账.xlsx", &bytes).expect_err("renamed column"),
        [
            "台账.xlsx 账号：第 1 行缺少列：平台（列标题须与导出的台账一致）",
            "台账.xlsx 账号!F1：列标题「平台名称」不是台账的列；缺少的列有：平台，是否改过列名？",
            "台账.xlsx 单位：缺少工作表「单位」（工作簿中有：账号）",
        ]
    );
    assert_eq!(
        read("台账.xlsx", b"name,platform\na1,weibo\n").expect_err("csv"),
        ["台账.xlsx：不是有效的 xlsx 文件（请在 Excel 或 WPS 中另存为 .xlsx 格式）"]
    );
}

#[test]
fn hostile_workbooks_give_errors_never_a_panic() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("账号").expect("name");
    sheet.write_string(0, 0, "账号ID").expect("write");
    sheet.write_string(250_000, 0, "a1").expect("write");
    let far = book.add_worksheet();
    far.set_name("单位").expect("name");
    far.write_string(0, 0, "单位ID").expect("write");
    far.write_string(1, 110, "x").expect("write");
    let bytes = book.save_to_buffer().expect("workbook");
    assert_eq!(
        read("台账.xlsx", &bytes).expect_err("too big"),
        [
            "台账.xlsx 账号：行数过多（超过 200000 行），请删除多余内容",
            "台账.xlsx 单位：第 CZ 列之后还有内容（如 DG2），台账最多 104 列",
        ]
    );
    // Truncated and garbled archives.
    let good = write::workbook(&shipped()).expect("workbook");
    for cut in [10, good.len() / 2, good.len() - 10] {
        assert!(read("台账.xlsx", &good[..cut]).is_err(), "cut at {cut}");
    }
    let mut garbled = good.clone();
    for i in (200..garbled.len()).step_by(97) {
        garbled[i] ^= 0x5a;
    }
    assert!(read("台账.xlsx", &garbled).is_err());

    // A block of 5,000 rows × 41 columns merged under a 30 KB value fills
    // only the rows that hold data: no copy per empty cell, a few problems.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("账号").expect("name");
    for (c, header) in (0u16..).zip(ACCOUNT_COLUMNS) {
        sheet.write_string(0, c, header).expect("write");
    }
    let long = "义".repeat(10_000);
    sheet
        .merge_range(1, 0, 5_000, 40, &long, &rust_xlsxwriter::Format::new())
        .expect("merge");
    let bytes = book.save_to_buffer().expect("workbook");
    let problems = read("台账.xlsx", &bytes).expect_err("no sheet 单位, bad values");
    assert!(problems.len() < 100, "{}", problems.len());
}

#[test]
fn clerks_ways_of_typing_are_understood() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("账号").expect("name");
    // A title above the header row, as clerks' sheets often have.
    sheet
        .write_string(0, 0, "兰山区政务新媒体台账")
        .expect("write");
    for (c, header) in (0u16..).zip(ACCOUNT_COLUMNS) {
        sheet.write_string(1, c, header).expect("write");
    }
    let rows: [[&str; 9]; 2] = [
        [
            "a1 ",
            "兰山发布\u{3000}",
            "",
            "区政府办公室",
            "",
            "公众号",
            "wewe",
            "/feeds/MP_1.atom ",
            "拟关停",
        ],
        [
            "a2",
            "兰山微博",
            "u1",
            "",
            "",
            "weibo",
            "",
            "https://www.lanshan.gov.cn/rss.xml",
            "已注销",
        ],
    ];
    for (r, row) in (2u32..).zip(rows) {
        for (c, value) in (0u16..).zip(row) {
            if !value.is_empty() {
                sheet.write_string(r, c, value).expect("write");
            }
        }
    }
    sheet.write_boolean(2, 11, false).expect("bool");
    // A formula counts by its calculated value.
    let formula = rust_xlsxwriter::Formula::new("=\"兰山\"&\"微博\"").set_result("兰山微博");
    sheet.write_formula(3, 1, formula).expect("formula");
    // A date typed as a serial number without a date format, and one as a date cell.
    sheet.write_number(3, 9, 46082.0).expect("serial");
    sheet
        .write_string(3, 10, "临兰政办字〔2026〕5号")
        .expect("write");
    let units = book.add_worksheet();
    units.set_name("单位").expect("name");
    for (c, header) in (0u16..).zip(UNIT_HEADER) {
        units.write_string(0, c, header).expect("write");
    }
    units.write_string(1, 0, "u1").expect("write");
    units.write_string(1, 1, "区政府办公室").expect("write");
    units.write_string(1, 2, "department").expect("write");
    units.write_string(1, 3, "王敏 ").expect("write");
    units
        .write_number(1, 4, 13_800_138_000.0)
        .expect("phone as number");
    units
        .write_number(1, 5, 123_456_789.0)
        .expect("telegram id as number");
    let bytes = book.save_to_buffer().expect("workbook");
    let register = read("台账.xlsx", &bytes).expect("tolerated");

    let a1 = register.account("a1").expect("a1 trimmed");
    assert_eq!(a1.name, "兰山发布");
    assert_eq!(a1.unit, "u1", "found by the unit's name");
    assert_eq!(a1.platform.id(), "wechat_subscription");
    assert_eq!(a1.state.id(), "closing");
    assert!(!a1.is_interactive);
    let a2 = register.account("a2").expect("a2");
    assert_eq!(
        a2.deregistered_on.map(|d| d.to_string()).as_deref(),
        Some("2026-03-01")
    );
    assert!(a2.is_interactive, "empty 互动功能 is 是");
    assert_eq!(
        register.units[0].contacts,
        vec![Contact {
            name: "王敏".into(),
            telegram_id: Some(123_456_789),
            dingtalk_id: None,
            feishu_open_id: None,
            phone: Some("13800138000".into()),
        }]
    );
}

#[tokio::test]
async fn xlsx_then_import_then_toml_then_import_then_xlsx_is_lossless() {
    let mut wanted = shipped();
    // Values that could get lost on the way: quotes, a leading zero, a long
    // Telegram id, a DingTalk id with a leading zero, a Feishu open_id, a
    // contact with ids only.
    wanted.units[4].contacts = vec![
        Contact {
            name: "刘\"小\"青".into(),
            telegram_id: Some(9_007_199_254_740_993),
            dingtalk_id: None,
            feishu_open_id: None,
            phone: Some("05398800123".into()),
        },
        Contact {
            name: "陈静".into(),
            telegram_id: Some(7),
            dingtalk_id: Some("0123manager".into()),
            feishu_open_id: Some("ou_7d8a6e6df7621556ce0d21922b676706".into()),
            phone: None,
        },
        Contact {
            name: "吴刚".into(),
            telegram_id: None,
            dingtalk_id: None,
            feishu_open_id: None,
            phone: Some("0539-1".into()),
        },
    ];
    wanted.accounts[0].name = "兰山发布（\"官方\"）".into();
    for db in test_dbs("xlsx_roundtrip").await {
        let xlsx = db.path("台账.xlsx");
        std::fs::write(&xlsx, write::workbook(&wanted).expect("workbook")).expect("write");
        let app = App::open(db.settings.clone(), xlsx.clone())
            .await
            .expect("app");
        let plan = app
            .import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import the workbook");
        assert_eq!(plan.changes.len(), 18);
        assert_eq!(db.store.load_register().await.expect("load"), wanted);

        let toml = db.path("accounts.toml");
        std::fs::write(&toml, app.export().await.expect("export toml")).expect("write");
        let app = App::open(db.settings.clone(), toml).await.expect("app");
        let again = app
            .import(false, false, at("2026-11-23T10:00:00+08:00"))
            .await
            .expect("import the toml");
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        assert_eq!(app.read_register().expect("toml"), wanted);

        let bytes = app.export_xlsx().await.expect("export xlsx");
        assert_eq!(read("台账.xlsx", &bytes).expect("reads back"), wanted);
        db.finish().await;
    }
}

/// A 台账 as a county keeps it: a 序号 column, a unit's rows merged in
/// 主办单位ID and 主办单位, a 备注 column, a 视频号 and a 小红书 account, a
/// unit's name where its id goes. A typo in 平台 and in 主办单位ID gets a
/// suggestion; fixed, the workbook imports, and exports again with its notes.
#[tokio::test]
async fn a_county_workbook_with_merged_cells_serials_and_notes_round_trips() {
    let build = |platform_typo: &str, unit_typo: &str| -> Vec<u8> {
        let mut book = Workbook::new();
        let merged = rust_xlsxwriter::Format::new();
        let units = book.add_worksheet();
        units.set_name("单位").expect("name");
        let header = [
            "序号",
            "单位ID",
            "单位名称",
            "单位类型",
            "联系人1",
            "联系人1电话",
        ];
        let rows = [
            ["1", "lsq-yitang", "义堂镇", "镇街", "张新", "13800000001"],
            [
                "2",
                "lsq-liuqing",
                "柳青街道",
                "镇街",
                "王敏",
                "13800000002",
            ],
        ];
        for (c, h) in (0u16..).zip(header) {
            units.write_string(0, c, h).expect("write");
        }
        for (r, row) in (1u32..).zip(rows) {
            for (c, v) in (0u16..).zip(row) {
                units.write_string(r, c, v).expect("write");
            }
        }
        let accounts = book.add_worksheet();
        accounts.set_name("账号").expect("name");
        accounts.write_string(0, 0, "序号").expect("write");
        for (c, h) in (1u16..).zip(ACCOUNT_COLUMNS) {
            accounts.write_string(0, c, h).expect("write");
        }
        // 序号, id, name, (unit id, unit: merged), kind, platform, proxy, route, state, …, 备注
        let rows: [(&str, &str, &str, &str, &str, &str, &str); 4] = [
            (
                "1",
                "yt-weibo",
                "义堂发布",
                "微博",
                "rsshub",
                "/weibo/user/9",
                "主账号",
            ),
            (
                "2",
                "yt-video",
                "义堂发布",
                "视频号",
                "",
                "https://www.yitang.gov.cn/shipinhao.xml",
                "",
            ),
            (
                "3",
                "yt-xhs",
                "义堂发布",
                platform_typo,
                "rsshub",
                "/xiaohongshu/user/5f3a/notes",
                "2026年11月开通",
            ),
            (
                "4",
                "lq-weibo",
                "柳青发布",
                "微博",
                "rsshub",
                "/weibo/user/8",
                "",
            ),
        ];
        for (r, (serial, id, name, platform, proxy, route, note)) in (1u32..).zip(rows) {
            let cells = [
                (0u16, serial),
                (1, id),
                (2, name),
                (6, platform),
                (7, proxy),
                (8, route),
                (9, "正常运维"),
                (12, "是"),
                (15, note),
            ];
            for (c, v) in cells {
                if !v.is_empty() {
                    accounts.write_string(r, c, v).expect("write");
                }
            }
        }
        // 义堂镇's three rows merged in 主办单位ID (C) and 主办单位 (D).
        accounts
            .merge_range(1, 3, 3, 3, unit_typo, &merged)
            .expect("merge");
        accounts
            .merge_range(1, 4, 3, 4, "义堂镇", &merged)
            .expect("merge");
        // 柳青街道 by its name in the id column.
        accounts.write_string(4, 3, "柳青街道").expect("write");
        book.save_to_buffer().expect("workbook")
    };

    let problems = read("台账.xlsx", &build("小红薯", "义唐镇")).expect_err("two typos");
    assert_eq!(
        problems,
        vec![
            "台账.xlsx 账号!D2（主办单位ID）：未知单位「义唐镇」，是否为「义堂镇」（lsq-yitang）？（「单位」表中没有此单位ID或名称）",
            "台账.xlsx 账号!D3（主办单位ID）：未知单位「义唐镇」，是否为「义堂镇」（lsq-yitang）？（「单位」表中没有此单位ID或名称）",
            "台账.xlsx 账号!D4（主办单位ID）：未知单位「义唐镇」，是否为「义堂镇」（lsq-yitang）？（「单位」表中没有此单位ID或名称）",
            "台账.xlsx 账号!G4（平台）：未知平台「小红薯」，是否为「小红书」？（可选：微信订阅号、微信服务号、微博、抖音、今日头条、快手、哔哩哔哩、网站/RSS、微信视频号、小红书、百家号、人民号、学习强国号、其他）",
        ],
        "every row of the merged block is the block's value"
    );

    let register = read("台账.xlsx", &build("小红书", "lsq-yitang")).expect("the fixed workbook");
    let units: Vec<(&str, &str)> = register
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.unit.as_str()))
        .collect();
    assert_eq!(
        units,
        vec![
            ("yt-weibo", "lsq-yitang"),
            ("yt-video", "lsq-yitang"),
            ("yt-xhs", "lsq-yitang"),
            ("lq-weibo", "lsq-liuqing"),
        ]
    );
    let platform = |id: &str| register.account(id).map(|a| a.platform.label());
    assert_eq!(platform("yt-video"), Some("微信视频号"));
    assert_eq!(platform("yt-xhs"), Some("小红书"));
    let note = |r: &Register, id: &str| r.account(id).and_then(|a| a.note.clone());
    assert_eq!(note(&register, "yt-weibo").as_deref(), Some("主账号"));
    assert_eq!(note(&register, "lq-weibo"), None);

    for db in test_dbs("xlsx_county").await {
        let path = db.path("台账.xlsx");
        std::fs::write(&path, build("小红书", "lsq-yitang")).expect("write");
        let app = App::open(db.settings.clone(), path).await.expect("app");
        app.import(false, false, at("2026-11-23T09:00:00+08:00"))
            .await
            .expect("import");
        let stored = db.store.load_register().await.expect("load");
        assert_eq!(stored.accounts, register.accounts, "stored as read");
        let again = read("导出.xlsx", &app.export_xlsx().await.expect("export")).expect("re-read");
        assert_eq!(
            again.accounts, register.accounts,
            "the export reads back the same"
        );
        let toml = app.export().await.expect("toml");
        assert!(toml.contains("note = \"2026年11月开通\""), "{toml}");
        assert!(toml.contains("platform = \"wechat_channels\""), "{toml}");
        db.finish().await;
    }
}
