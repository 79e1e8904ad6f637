//! The fuzz targets' bodies, shared with the main crate's corpus replay test
//! (`tests/fuzz_corpus.rs` includes this file), so a crash found here and the
//! test that keeps it fixed run the very same code.
//!
//! Each function takes the raw input and panics only on a defect: the code
//! under test panicked, or broke a promise checked here.

use chrono::{DateTime, Utc};
use std::sync::OnceLock;
use std::time::Duration;
use xunjian::fetch::{Outcome, Patterns, classify_failure, hints};
use xunjian::parse::{Classifier, parse_feed, parse_feed_knowing, parse_feed_with_charset};
use xunjian::poll::schedule::{MAX_HINT, ScheduleInput, minutes, next_check_at};
use xunjian::registry::Platform;

/// HTTP charsets a feed may be served with, including wrong and odd ones.
const CHARSETS: [&str; 12] = [
    "utf-8",
    "gbk",
    "gb2312",
    "gb18030",
    "utf-16",
    "utf-16be",
    "big5",
    "shift_jis",
    "iso-2022-kr",
    "x-user-defined",
    "windows-1252",
    "no-such-charset",
];

fn fetched_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a valid fixed time")
}

/// `parse_feed` on the bytes as they are, then with an HTTP charset and
/// platform picked by the first byte: a result, never a panic, and no post
/// dated after the fetch; then `parse_feed_knowing` with half the keys
/// known: the same posts, the known ones without their text.
pub fn feed_parse(data: &[u8]) {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    let classifier = CLASSIFIER.get_or_init(|| {
        Classifier::new(&Default::default()).expect("the built-in patterns compile")
    });
    let pick = usize::from(data.first().copied().unwrap_or(0));
    let platform = Platform::ALL[pick % Platform::ALL.len()];
    let results = [
        parse_feed(data, Platform::Website, classifier, fetched_at()),
        parse_feed_with_charset(
            data,
            Some(CHARSETS[pick % CHARSETS.len()]),
            platform,
            classifier,
            fetched_at(),
        ),
    ];
    for result in results {
        match result {
            Ok(feed) => {
                for post in &feed.posts {
                    assert!(post.published_at <= fetched_at(), "{post:?}");
                }
            }
            Err(err) => assert!(!err.to_string().is_empty()),
        }
    }
    // With about half the keys known (stored already): the same posts, in
    // the same order with the same keys and dates; a known one has no text.
    let is_known = |key: &str| key.ends_with(['0', '1', '2', '3', '4', '5', '6', '7']);
    let whole = parse_feed_with_charset(data, None, platform, classifier, fetched_at());
    let knowing = parse_feed_knowing(data, None, platform, classifier, fetched_at(), &is_known);
    match (whole, knowing) {
        (Ok(whole), Ok(knowing)) => {
            assert_eq!(whole.posts.len(), knowing.posts.len());
            for (full, light) in whole.posts.iter().zip(&knowing.posts) {
                assert_eq!(full.dedup_key, light.dedup_key);
                assert_eq!(full.published_at, light.published_at);
                if is_known(&light.dedup_key) {
                    assert!(light.text.is_empty(), "{light:?}");
                } else {
                    assert_eq!(full, light);
                }
            }
        }
        (Err(whole), Err(knowing)) => assert_eq!(whole, knowing),
        (whole, knowing) => panic!("{whole:?} but knowing keys {knowing:?}"),
    }
}

/// `classify_failure` on a status (first two bytes), proxy or not (third
/// byte) and a body (the rest).
pub fn failure_classify(data: &[u8]) {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    let patterns =
        PATTERNS.get_or_init(|| Patterns::new(&[], &[]).expect("the built-in patterns compile"));
    let (status, rest) = match data {
        [high, low, rest @ ..] => (u16::from_be_bytes([*high, *low]), rest),
        _ => (503, data),
    };
    let (is_proxy, body) = match rest {
        [flag, body @ ..] => (flag & 1 == 1, body),
        [] => (true, rest),
    };
    let failure = classify_failure(status, body, is_proxy, patterns);
    assert_eq!(failure.http_status, Some(status));
    assert!(failure.outcome.is_failure());
}

/// Header lines → hints → the next check: `Cache-Control`, `Retry-After`,
/// `Content-Type`, a `<ttl>` in minutes, the outcome, the failure count and
/// the interval in minutes, one per line. With a sane interval the check is
/// due within a day and a tenth of jitter, whatever the server said.
pub fn schedule_headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut line = || lines.next().unwrap_or("");
    let now = fetched_at();
    let max_age = hints::max_age(line());
    let retry_after = hints::retry_after(line(), now);
    let _charset = hints::charset(line());
    let ttl = line().trim().parse::<u32>().ok().map(minutes);
    let outcome = line()
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|i| Outcome::ALL.get(i % Outcome::ALL.len()).copied())
        .unwrap_or(Outcome::Ok);
    let consecutive_failures = line().trim().parse::<u32>().unwrap_or(0);
    let interval_minutes = line().trim().parse::<u32>().unwrap_or(120);
    let input = ScheduleInput {
        account_id: "fuzz",
        outcome,
        consecutive_failures,
        interval: minutes(interval_minutes),
        min_interval: Duration::from_secs(300),
        max_age,
        ttl,
        retry_after,
    };
    let next = next_check_at(&input, now);
    assert!(next >= now, "{input:?} → {next}");
    if minutes(interval_minutes) <= MAX_HINT {
        let longest = chrono::Duration::from_std(MAX_HINT + MAX_HINT / 10).expect("a day fits");
        assert!(next <= now + longest, "{input:?} → {next}");
    }
}

/// `registry::load::parse` on the text: a register or a list of problems.
pub fn accounts_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let proxies = ["rsshub".to_string(), "wewe".to_string()];
    let ctx = xunjian::registry::load::Context { proxies: &proxies };
    if let Err(err) = xunjian::registry::load::parse("accounts.toml", text, &ctx) {
        assert!(!err.problems.is_empty());
    }
}

/// `registry::workbook::read::read_bytes` on a file claiming to be a 台账
/// workbook: a register, or located problems; never a panic.
pub fn workbook(data: &[u8]) {
    let proxies = ["rsshub".to_string(), "wewe".to_string()];
    let ctx = xunjian::registry::load::Context { proxies: &proxies };
    if let Err(err) = xunjian::registry::workbook::read::read_bytes("台账.xlsx", data, &ctx) {
        assert!(!err.problems.is_empty());
    }
}

/// `commands::parse_duration` on the text: at most 90 days, never a panic.
pub fn chat_command(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(length) = xunjian::commands::parse_duration(text) {
        assert!(length <= chrono::Duration::days(90), "{text:?}");
        assert!(length > chrono::Duration::zero(), "{text:?}");
    }
}

/// A Feishu long-connection message: decoded as a `pbbp2.Frame` (a frame
/// that decodes encodes back to itself), its payload put together from as
/// many parts as its `sum` header says and read as an event, its ack
/// built; never a panic.
pub fn feishu_frame(data: &[u8]) {
    use xunjian::commands::feishu::{event, frame};
    let Ok(decoded) = frame::Frame::from_bytes(data) else {
        return;
    };
    let again = frame::Frame::from_bytes(&decoded.to_bytes()).expect("an encoded frame decodes");
    assert_eq!(again, decoded);
    let number = |key: &str| {
        decoded
            .header(key)
            .and_then(|v| v.trim().parse::<usize>().ok())
    };
    let (sum, seq) = (number("sum").unwrap_or(1), number("seq").unwrap_or(0));
    let payload = decoded.payload.clone().unwrap_or_default();
    let now = std::time::Instant::now();
    let mut parts = frame::Reassembly::default();
    for i in 0..sum.clamp(1, frame::MAX_PARTS + 1) {
        let seq = seq.wrapping_add(i) % sum.max(1);
        if let frame::Assembled::Complete(whole) = parts.add("m", sum, seq, payload.clone(), now) {
            assert!(whole.len() <= frame::MAX_PAYLOAD_BYTES.max(payload.len()));
            let _ = event::parse_event(&whole);
        }
    }
    assert!(parts.waiting() <= frame::MAX_PENDING);
    let _ = event::parse_event(&payload);
    let ack = decoded.ack(Duration::ZERO).to_bytes();
    assert!(frame::Frame::from_bytes(&ack).is_ok());
}

/// A post's text through every step that keeps and checks it, the input
/// taken both as a stored row (hostile: a database is not trusted more than
/// a feed) and, when it is UTF-8, as a description's HTML:
/// - `unpack` and `unpack_units` read the same row the same way, and what
///   they read is within a post's size, with the units of its text;
/// - `plain_text` keeps within the size, with no blank at its end;
/// - `utf16_into` gives what `encode_utf16` gives, and `pack` unpacks to the
///   text it packed;
/// - the wording list's unit filter never hides a hit: a scan given the
///   units finds what the scan without them finds.
pub fn content_text(data: &[u8]) {
    use xunjian::config::ContentSettings;
    use xunjian::content::{
        Checker, MAX_TEXT_BYTES, pack, pack_units, plain_text, unpack, unpack_units, utf16_into,
    };
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    let checker = CHECKER.get_or_init(|| {
        let settings = ContentSettings {
            names: vec![xunjian::content::Person {
                name: "王明".to_string(),
                titles: vec!["县长".to_string()],
            }],
            ..ContentSettings::default()
        };
        Checker::from_settings(&settings).expect("the built-in list compiles")
    });
    let mut units = Vec::new();
    let row = unpack_units(data, &mut units);
    assert_eq!(row, unpack(data), "unpack_units and unpack disagree");
    match &row {
        Some(text) => {
            assert!(text.len() <= MAX_TEXT_BYTES, "an unpacked row is too long");
            assert!(units.iter().copied().eq(text.encode_utf16()), "wrong units");
        }
        None => assert!(units.is_empty(), "units of a row that did not unpack"),
    }
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let text = plain_text(html);
    assert!(text.len() <= MAX_TEXT_BYTES, "plain text too long");
    assert!(
        !text.ends_with(char::is_whitespace),
        "plain text ends blank"
    );
    for kept in [html, text.as_str()] {
        utf16_into(kept, &mut units);
        assert!(units.iter().copied().eq(kept.encode_utf16()), "wrong units");
        if kept.len() <= MAX_TEXT_BYTES {
            assert_eq!(unpack(&pack(kept)).as_deref(), Some(kept), "pack");
            assert_eq!(unpack(&pack_units(kept, &units)).as_deref(), Some(kept));
        }
        let title: String = kept.chars().take(40).collect();
        let allowed = ["台湾当局".to_string()];
        assert_eq!(
            checker.scan_with_units(&title, kept, Some(&units), &allowed, 2026),
            checker.scan(&title, kept, &allowed, 2026),
            "the unit filter changed what the scan finds"
        );
    }
}
