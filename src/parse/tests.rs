use super::*;
use std::collections::BTreeMap;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T01:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

fn parse(name: &str, platform: Platform) -> Result<ParsedFeed, ParseError> {
    let classifier = Classifier::new(&BTreeMap::new()).expect("built-in patterns");
    parse_feed(&fixture(name), platform, &classifier, now())
}

fn kinds(feed: &ParsedFeed) -> Vec<PostKind> {
    feed.posts.iter().map(|p| p.kind).collect()
}

#[test]
fn weibo_reposts_are_recognised_by_each_marker() {
    let feed = parse("weibo_rsshub.xml", Platform::Weibo).expect("weibo feed");
    assert_eq!(feed.title.as_deref(), Some("兰山发布的微博"));
    assert_eq!(feed.ttl_minutes, Some(5));
    assert_eq!(
        kinds(&feed),
        vec![
            PostKind::Original,
            PostKind::Original,
            PostKind::Repost,
            PostKind::Repost,
            PostKind::Repost
        ]
    );
    assert_eq!(feed.posts[2].evidence, "weibo: title contains \" - 转发 \"");
    assert_eq!(feed.posts[4].evidence, "weibo: title starts with \"🔁\"");
    assert_eq!(feed.posts[0].author.as_deref(), Some("兰山发布"));
}

#[test]
fn a_repost_of_a_deleted_original_is_still_a_repost() {
    let feed = parse("weibo_rsshub.xml", Platform::Weibo).expect("weibo feed");
    let deleted = &feed.posts[3];
    assert!(
        deleted
            .title
            .as_deref()
            .unwrap_or("")
            .contains("原微博已删除")
    );
    assert_eq!(deleted.kind, PostKind::Repost);
}

#[test]
fn wechat_reprints_and_foreign_sources_are_reposts_but_own_source_is_original() {
    let feed = parse("wechat_wewe.atom", Platform::WechatSubscription).expect("wechat feed");
    assert_eq!(feed.title.as_deref(), Some("市政兰山"));
    assert_eq!(
        kinds(&feed),
        vec![PostKind::Original, PostKind::Repost, PostKind::Repost]
    );
    assert_eq!(
        feed.posts[1].evidence,
        "wechat_subscription: contains \"以下文章来源于\""
    );
    assert_eq!(
        feed.posts[2].evidence,
        "wechat_subscription: \"来源：临沂日报\" names another outlet"
    );
}

#[test]
fn douyin_and_toutiao_posts_are_unknown_for_lack_of_a_signal() {
    let douyin = parse("douyin_rsshub.xml", Platform::Douyin).expect("douyin");
    assert_eq!(kinds(&douyin), vec![PostKind::Unknown, PostKind::Unknown]);
    let toutiao = parse("toutiao_rsshub.xml", Platform::Toutiao).expect("toutiao");
    assert_eq!(kinds(&toutiao), vec![PostKind::Unknown]);
}

#[test]
fn bilibili_forwards_are_reposts() {
    let feed = parse("bilibili_rsshub.xml", Platform::Bilibili).expect("bilibili");
    assert_eq!(kinds(&feed), vec![PostKind::Original, PostKind::Repost]);
}

#[test]
fn missing_dates_become_the_fetch_time_and_future_dates_are_clamped() {
    let feed = parse("website.rss", Platform::Website).expect("website");
    let undated = &feed.posts[2];
    assert_eq!(undated.published_at, now());
    assert!(undated.is_date_estimated);
    let future = &feed.posts[3];
    assert_eq!(future.published_at, now());
    assert!(!future.is_date_estimated);
    assert_eq!(kinds(&feed)[..2], [PostKind::Original, PostKind::Repost]);
}

#[test]
fn atom_and_json_feed_are_read() {
    let atom = parse("website.atom", Platform::Website).expect("atom");
    assert_eq!(atom.posts.len(), 1);
    assert_eq!(
        atom.posts[0].published_at,
        DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z").expect("valid")
    );
    let json = parse("feed.json", Platform::Website).expect("json feed");
    assert_eq!(json.title.as_deref(), Some("柳青街道"));
    assert_eq!(json.posts.len(), 1);
}

#[test]
fn html_malformed_and_hostile_documents_are_errors_not_panics() {
    assert_eq!(
        parse("error_page.html", Platform::Website),
        Err(ParseError::Html("标题「502 Bad Gateway」".to_string()))
    );
    assert!(matches!(
        parse("malformed.xml", Platform::Website),
        Err(ParseError::Malformed(_))
    ));
    // Entities are never expanded: no billion laughs, no file read.
    match parse("billion_laughs.xml", Platform::Website) {
        Err(ParseError::Malformed(_)) => {}
        Ok(feed) => assert!(feed.title.unwrap_or_default().len() < 100),
        other => panic!("unexpected {other:?}"),
    }
    match parse("xxe.xml", Platform::Website) {
        Err(ParseError::Malformed(_)) => {}
        Ok(feed) => assert!(
            feed.posts
                .iter()
                .all(|p| !p.title.clone().unwrap_or_default().contains("root:")),
            "external entity expanded"
        ),
        other => panic!("unexpected {other:?}"),
    }
    let classifier = Classifier::new(&BTreeMap::new()).expect("patterns");
    assert_eq!(
        parse_feed(b"   ", Platform::Website, &classifier, now()),
        Err(ParseError::Empty)
    );
}

#[test]
fn dedup_keys_are_stable_and_wechat_links_ignore_tracking() {
    let a = normalize_link(
        "https://mp.weixin.qq.com/s?__biz=MzA3&mid=22&idx=1&sn=ab&chksm=1&scene=21#wechat_redirect",
    );
    let b = normalize_link("http://mp.weixin.qq.com/s?sn=ab&idx=1&mid=22&__biz=MzA3");
    assert_eq!(a.as_deref(), Some("wechat:MzA3/22/1/ab"));
    assert_eq!(a, b);
    assert_eq!(
        normalize_link("https://WWW.Lanshan.gov.cn/jyj/info/1001.html?utm_source=rss#top")
            .as_deref(),
        Some("www.lanshan.gov.cn/jyj/info/1001.html")
    );
    let by_link = dedup_key("", Some("https://a.gov.cn/x.html#frag"), None, "");
    assert_eq!(
        by_link,
        dedup_key(
            "",
            Some("https://a.gov.cn/x.html"),
            Some("other title"),
            "x"
        )
    );
    assert_ne!(
        dedup_key("g1", None, None, ""),
        dedup_key("g2", None, None, "")
    );
    // Links without a query take a shorter path to the same form.
    for (link, normal) in [
        ("https://a.gov.cn:8443/x/#f", "a.gov.cn:8443/x"),
        ("http://A.gov.cn/x/?", "a.gov.cn/x"),
        ("http://a.gov.cn:80/x", "a.gov.cn/x"),
        ("https://a.gov.cn", "a.gov.cn"),
        ("https://a.gov.cn/x?utm_source=rss&id=7", "a.gov.cn/x?id=7"),
    ] {
        assert_eq!(normalize_link(link).as_deref(), Some(normal), "{link}");
    }
    // Keys are what earlier releases stored: SHA-256 of "link:…" or "guid:…".
    assert_eq!(
        dedup_key("https://a.gov.cn/x/", None, None, ""),
        "9f0f5764d2e67fa03026dbad15d44f31ab1b9a983da6044cd3bb284d033a7a3b"
    );
    // A guid is read as a link only when it is one.
    assert_eq!(
        dedup_key("https://a.gov.cn/x/", None, None, ""),
        dedup_key("", Some("https://a.gov.cn/x#top"), None, "")
    );
    assert_ne!(
        dedup_key("urn:a.gov.cn:x", None, None, ""),
        dedup_key("", Some("urn:a.gov.cn:x"), None, "")
    );
    assert_eq!(
        dedup_key("", None, Some("标题"), "正文"),
        dedup_key("", None, Some("标题"), "正文")
    );
}

#[test]
fn configured_patterns_mark_reposts_with_their_evidence() {
    let mut extra = BTreeMap::new();
    extra.insert("douyin".to_string(), vec!["#转发#".to_string()]);
    let classifier = Classifier::new(&extra).expect("patterns");
    let (kind, evidence) = classifier.classify(Platform::Douyin, "#转发# 好视频", "", None);
    assert_eq!(kind, PostKind::Repost);
    assert_eq!(evidence, "configured pattern /#转发#/ matched");
}

/// A small RSS feed in Chinese after the given XML declaration.
fn chinese_rss(declaration: &str) -> String {
    format!(
        "{declaration}<rss version=\"2.0\"><channel><title>兰山发布</title><ttl>30</ttl>\
         <item><title>义堂镇通知</title><link>https://www.lanshan.gov.cn/a/1.html</link>\
         <description>来源：本站</description></item></channel></rss>"
    )
}

fn utf16(text: &str, is_big_endian: bool) -> Vec<u8> {
    let bom: [u8; 2] = if is_big_endian {
        [0xFE, 0xFF]
    } else {
        [0xFF, 0xFE]
    };
    let mut bytes = bom.to_vec();
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&if is_big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

fn assert_chinese_feed(result: Result<ParsedFeed, ParseError>, case: &str) {
    let feed = result.unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_eq!(feed.title.as_deref(), Some("兰山发布"), "{case}");
    assert_eq!(feed.ttl_minutes, Some(30), "{case}");
    assert_eq!(feed.posts.len(), 1, "{case}");
    assert_eq!(feed.posts[0].title.as_deref(), Some("义堂镇通知"), "{case}");
    assert_eq!(feed.posts[0].kind, PostKind::Original, "{case}");
}

#[test]
fn a_utf16be_feed_with_a_bom_declaring_utf16_parses_instead_of_panicking() {
    let classifier = Classifier::new(&BTreeMap::new()).expect("patterns");
    let body = utf16(
        &chinese_rss(r#"<?xml version="1.0" encoding="UTF-16"?>"#),
        true,
    );
    let result = parse_feed(&body, Platform::Website, &classifier, now());
    assert_chinese_feed(result, "UTF-16BE declaring UTF-16");
}

#[test]
fn a_utf16le_feed_with_a_bom_declaring_gbk_parses_instead_of_panicking() {
    let classifier = Classifier::new(&BTreeMap::new()).expect("patterns");
    let body = utf16(
        &chinese_rss(r#"<?xml version="1.0" encoding="GBK"?>"#),
        false,
    );
    let result = parse_feed(&body, Platform::Website, &classifier, now());
    assert_chinese_feed(result, "UTF-16LE declaring GBK");
}

#[test]
fn gbk_feeds_parse_whether_the_declaration_or_the_http_charset_names_the_charset() {
    let classifier = Classifier::new(&BTreeMap::new()).expect("patterns");
    let gbk = |text: &str| encoding_rs::GBK.encode(text).0.into_owned();
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "declared GBK",
            gbk(&chinese_rss(r#"<?xml version="1.0" encoding="GBK"?>"#)),
            None,
        ),
        (
            "declared gb2312, served as UTF-8",
            gbk(&chinese_rss(r#"<?xml version="1.0" encoding="gb2312"?>"#)),
            Some("utf-8"),
        ),
        (
            "declared UTF-8, served as GBK",
            gbk(&chinese_rss(r#"<?xml version="1.0" encoding="UTF-8"?>"#)),
            Some("GBK"),
        ),
        (
            "undeclared, served as GB18030",
            gbk(&chinese_rss("")),
            Some("gb18030"),
        ),
        ("named nowhere", gbk(&chinese_rss("")), None),
        (
            "UTF-8 declared as GBK",
            chinese_rss(r#"<?xml version="1.0" encoding="GBK"?>"#).into_bytes(),
            Some("gbk"),
        ),
    ];
    for (case, body, charset) in cases {
        let result = parse_feed_with_charset(&body, charset, Platform::Website, &classifier, now());
        assert_chinese_feed(result, case);
    }
}

#[test]
fn a_gbk_captcha_page_is_reported_as_html_with_its_title() {
    let classifier = Classifier::new(&BTreeMap::new()).expect("patterns");
    let page = "<!DOCTYPE html><html><head><title>安全验证</title></head></html>";
    let body = encoding_rs::GBK.encode(page).0.into_owned();
    assert_eq!(
        parse_feed_with_charset(&body, Some("gbk"), Platform::Website, &classifier, now()),
        Err(ParseError::Html("标题「安全验证」".to_string()))
    );
}

#[test]
fn an_author_whose_email_touches_chinese_punctuation_parses_instead_of_panicking() {
    let classifier = Classifier::new(&BTreeMap::new()).expect("patterns");
    let body = chinese_rss("").replace(
        "<item>",
        "<managingEditor>编辑部（bjb@lanshan.gov.cn）</managingEditor><item><author>兰山发布\u{3000}lsfb@lanshan.gov.cn</author>",
    );
    let feed = parse_feed(body.as_bytes(), Platform::Website, &classifier, now())
        .expect("a feed with Chinese author names");
    assert_eq!(feed.posts.len(), 1);
}

/// RSS in the namespaces feedparser's corpus uses, Atom text constructs of
/// unusual types, and items with a description but no title: all read.
#[test]
fn namespaced_rss_odd_atom_types_and_untitled_items_are_read() {
    let classifier = Classifier::new(&BTreeMap::new()).expect("built-in patterns");
    let item = "<item><description>本单位召开工作会议</description><link>https://example.gov.cn/1</link><pubDate>Sun, 22 Nov 2026 08:00:00 +0800</pubDate></item>";
    for namespace in [
        "http://backend.userland.com/rss",
        "http://backend.userland.com/rss2",
        "http://blogs.law.harvard.edu/tech/rss",
        "http://purl.org/net/rss2",
    ] {
        for version in ["0.91", "0.92", "2.0"] {
            let body = format!(
                "<?xml version=\"1.0\"?><rss version=\"{version}\" xmlns=\"{namespace}\"><channel><title>兰山发布</title><link>https://example.gov.cn</link><description>d</description>{item}</channel></rss>"
            );
            let feed = parse_feed(body.as_bytes(), Platform::Website, &classifier, now())
                .unwrap_or_else(|e| panic!("{namespace} {version}: {e}"));
            assert_eq!(
                feed.title.as_deref(),
                Some("兰山发布"),
                "{namespace} {version}"
            );
            assert_eq!(feed.posts.len(), 1, "{namespace} {version}");
            assert_eq!(
                feed.posts[0].text, "本单位召开工作会议",
                "{namespace} {version}"
            );
            assert!(!feed.posts[0].is_date_estimated, "{namespace} {version}");
        }
    }
    // Atom: base64 content, an empty type, a summary with no type.
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("<p>冬季防火工作部署</p>");
    let atom = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"\">兰山发布</title><id>urn:x</id><updated>2026-11-22T08:00:00+08:00</updated>\
         <entry><title type=\"\">通知</title><id>urn:1</id><updated>2026-11-22T08:00:00+08:00</updated><content type=\"application/octet-stream\">{encoded}</content></entry>\
         <entry><title>公告</title><id>urn:2</id><updated>2026-11-21T08:00:00+08:00</updated><summary type=\"\">防汛值班安排</summary></entry></feed>"
    );
    let feed = parse_feed(atom.as_bytes(), Platform::Website, &classifier, now())
        .unwrap_or_else(|e| panic!("atom: {e}"));
    assert_eq!(feed.title.as_deref(), Some("兰山发布"));
    assert_eq!(feed.posts.len(), 2);
    assert_eq!(feed.posts[0].title.as_deref(), Some("通知"));
    assert_eq!(feed.posts[0].text, "冬季防火工作部署");
    assert_eq!(feed.posts[1].text, "防汛值班安排");
}

#[test]
fn a_known_post_comes_back_without_its_text_and_the_others_whole() {
    let classifier = Classifier::new(&BTreeMap::new()).expect("built-in patterns");
    let body = fixture("weibo_rsshub.xml");
    let whole = parse_feed(&body, Platform::Weibo, &classifier, now()).expect("feed");
    let known = whole.posts[2].dedup_key.clone();
    let is_known = |key: &str| key == known;
    let feed = parse_feed_knowing(&body, None, Platform::Weibo, &classifier, now(), &is_known)
        .expect("feed");
    assert_eq!(feed.posts.len(), whole.posts.len());
    for (index, (got, full)) in feed.posts.iter().zip(&whole.posts).enumerate() {
        if index == 2 {
            assert!(!full.text.is_empty());
            assert_eq!(full.kind, PostKind::Repost);
            let light = Post {
                kind: PostKind::Unknown,
                evidence: String::new(),
                text: String::new(),
                is_notice: false,
                ..full.clone()
            };
            assert_eq!(got, &light);
        } else {
            assert_eq!(got, full);
        }
    }
}
