//! The direct reader against feed-rs: wherever it reads a feed, it must
//! read exactly what feed-rs reads.

use super::super::{Item, decode};
use super::read;

/// A channel's title, ttl and items.
type Read = (Option<String>, Option<u32>, Vec<Item>);

/// What feed-rs reads from `text`, or its error.
fn by_feed_rs(text: &str) -> Result<Read, String> {
    let feed = feed_rs::parser::Builder::new()
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build()
        .parse(text.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok((
        feed.title.map(|t| t.content),
        feed.ttl,
        feed.entries.into_iter().map(Item::from_entry).collect(),
    ))
}

/// Compares the readers on one body; true when the direct one read it.
fn agrees(name: &str, body: &[u8]) -> bool {
    let text = decode::to_utf8(body, None);
    let text = decode::without_rss_namespace(&text);
    let text = decode::without_empty_atom_types(&text);
    let Some(channel) = read(&text) else {
        return false;
    };
    let (title, ttl, items) = by_feed_rs(&text)
        .unwrap_or_else(|e| panic!("{name}: read directly, but feed-rs fails: {e}"));
    assert_eq!(channel.title, title, "{name}: the channel title");
    assert_eq!(channel.ttl, ttl, "{name}: ttl");
    assert_eq!(channel.items, items, "{name}: the items");
    true
}

fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\
         <channel><title> 兰山发布 </title><atom:link href=\"http://x/feed\" rel=\"self\"/><ttl>5</ttl>\
         <image><url>http://x/logo.png</url></image>{items}</channel></rss>"
    )
}

/// Hand-made items: each a shape the direct reader must read.
const ITEMS: [&str; 5] = [
    // RSSHub's shape, entities, CDATA, a wrong weekday, GMT.
    "<item><title><![CDATA[第1条 &amp; 通知]]></title><description><![CDATA[<p>正文</p>]]></description>\
     <pubDate>Mon, 01 Nov 2026 08:00:00 GMT</pubDate><guid isPermaLink=\"false\">https://x/1</guid>\
     <link>https://x/1</link><author>兰山发布</author></item>",
    // Entities in text, a numeric zone, no weekday, no seconds, two links.
    "<item><title>A &lt;b&gt; &#20013;&#x6587; &unknown; </title><link> http://www.lanshan.gov.cn/a b </link>\
     <link>http://second/</link><pubDate>2 Nov 2026 08:00 +0800</pubDate><description>  text &amp; more </description></item>",
    // No title, only a description; an empty guid; markup inside a title.
    "<item><description>只有正文</description><guid></guid><title>前<b>粗</b>后</title></item>",
    // Empty elements, an enclosure, a category, a relative link, updated only.
    "<item><title/><link>/relative/path</link><enclosure url=\"http://x/a.mp4\" type=\"video/mp4\"/>\
     <category>政务</category><updated>Tue, 03 Nov 2026 09:00:00 -0500</updated></item>",
    // Comments and processing instructions between text pieces.
    "<item><title>前<!-- 注释 -->后<?pi x?>尾</title><description>a<![CDATA[b]]>c</description></item>",
];

#[test]
fn the_direct_reader_reads_what_feed_rs_reads_or_leaves_the_feed_to_it() {
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join("feed_parse")) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(body) = std::fs::read(entry.path()) {
                cases.push((entry.path().display().to_string(), body));
            }
        }
    }
    let items = ITEMS;
    for (i, item) in items.iter().enumerate() {
        cases.push((format!("item {i}"), rss(item).into_bytes()));
    }
    cases.push(("all items".into(), rss(&items.concat()).into_bytes()));
    cases.push((
        "ttl with blanks".into(),
        rss("")
            .replace("<ttl>5</ttl>", "<ttl> 5 </ttl>")
            .into_bytes(),
    ));
    // Left to feed-rs: each of these must not be read directly.
    let left = [
        rss("<item><title>x</title><dc:creator>y</dc:creator></item>").replace(
            "version=\"2.0\"",
            "version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"",
        ),
        rss("<item><title>x</title><author>a@b.cn (王)</author></item>"),
        rss("<item><pubDate>Thursday, 13 Jul 2011 07:38:00 UTC</pubDate></item>"),
        rss("<item><comments>http://x/c</comments><link>http://x/1</link></item>"),
        rss("<item xml:base=\"http://x/\"><link>a</link></item>"),
        rss("<item><title>&#0;</title></item>"),
        rss("").replace("version=\"2.0\"", "version=\"0.91\""),
        rss("<item><title>x</title>"),
        rss("<item><foo:title>x</foo:title></item>"),
        // Found by the mutations below: feed-rs fails on each.
        rss("").replace("\n<rss", "&#0;\n<rss"),
        rss("").replace("\n<rss", "前\n<rss"),
        rss("").replace("<ttl>", "&#X41;<ttl>"),
        rss("").replacen("<?xml", "<?><?xml", 1),
    ];
    for body in &left {
        assert!(read(body).is_none(), "read directly: {body}");
    }
    let read_directly = cases
        .iter()
        .filter(|(name, body)| agrees(name, body))
        .count();
    eprintln!("read directly: {read_directly} of {}", cases.len());
    // The reader must actually be in use: the hand-made feeds above and
    // the corpus's plain RSS feeds.
    assert!(
        read_directly >= items.len() + 5,
        "only {read_directly} read directly"
    );
}

/// Feeds cut and patched at random (a fixed seed), with the pieces that
/// trip XML readers: whatever the direct reader reads must be what feed-rs
/// reads; the rest goes to feed-rs. Nothing may panic.
#[test]
fn mutated_feeds_are_read_as_feed_rs_reads_them_or_left_to_it() {
    const PIECES: [&str; 34] = [
        "<",
        ">",
        "&",
        ";",
        "/",
        "'",
        "\"",
        "=",
        "]]>",
        "<!--",
        "-->",
        "--",
        "<![CDATA[",
        "<![cdata[",
        "</item>",
        "<item>",
        "</title>",
        "<title>",
        "&#0;",
        "&#x4e2d;",
        "&#X41;",
        "&amp;",
        "&lt",
        "<x/>",
        "<a:b>",
        " xmlns=\"u\"",
        " a='1'",
        " ",
        "\n",
        "<?pi?>",
        "<!DOCTYPE x>",
        "\u{feff}",
        "中",
        "<br>",
    ];
    let bases: Vec<String> = ITEMS
        .iter()
        .map(|item| rss(item))
        .chain([rss(&ITEMS.concat())])
        .collect();
    // xorshift64*: the same cases on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |below: usize| -> usize {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let value = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33;
        usize::try_from(value).unwrap_or(0) % below.max(1)
    };
    let boundary = |text: &str, mut at: usize| {
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let (mut read, mut left) = (0, 0);
    for round in 0..6000 {
        let mut text = bases[next(bases.len())].clone();
        for _ in 0..1 + next(3) {
            let at = boundary(&text, next(text.len() + 1));
            match next(3) {
                0 => text.insert_str(at, PIECES[next(PIECES.len())]),
                1 => {
                    let end = boundary(&text, (at + 1 + next(12)).min(text.len()));
                    text.replace_range(at..end, "");
                }
                _ => {
                    let end = boundary(&text, (at + 1 + next(40)).min(text.len()));
                    let copy = text[at..end].to_string();
                    text.insert_str(boundary(&text, next(text.len() + 1)), &copy);
                }
            }
        }
        if agrees(&format!("mutation {round}: {text}"), text.as_bytes()) {
            read += 1;
        } else {
            left += 1;
        }
    }
    eprintln!("mutations read directly: {read}, left to feed-rs: {left}");
    assert!(read > 500 && left > 500, "read {read}, left {left}");
}

/// The dates computed from their fields are chrono's, field by field: every
/// combination of usual and edge values of each (a day past the month's
/// end, 29 February, years 0000 and 9999, a leap second, a zone of a day or
/// more, `Z`, minutes of 60).
#[test]
fn dates_by_their_fields_are_chronos() {
    use super::PlainDate;
    let weekdays = [
        "", "Mon, ", "Thu, ", "Sunday, ", "Xyz, ", "mon, ", "Mon,", ", ",
    ];
    let days = ["0", "1", "01", "9", "28", "29", "30", "31", "32", "99"];
    let months = [
        "Jan", "Fe", "Feb", "Mar", "Apr", "Jun", "Sep", "Nov", "Dec", "Xyz",
    ];
    let years = [
        "0000", "0012", "1900", "2000", "2024", "2026", "2100", "9999",
    ];
    let times = [
        "00:00",
        "00:00:00",
        "23:59:59",
        "24:00:00",
        "12:60:00",
        "12:00:60",
        "12:00:61",
        "99:00",
        "07:05:09",
        "1:00:00",
        "12:00:",
        "12::00",
        "12:0000",
        "12:00:00:00",
    ];
    let zones = [
        "GMT", "UT", "Z", "+0800", "-0500", "+2359", "-2359", "+2400", "+0060", "-0000", "+9959",
        "EST",
    ];
    let (mut by_fields, mut total) = (0, 0);
    for weekday in weekdays {
        for day in days {
            for month in months {
                for year in years {
                    for time in times {
                        for zone in zones {
                            let text = format!("{weekday}{day} {month} {year} {time} {zone}");
                            let plain = PlainDate::of(&text);
                            let expected = plain.as_ref().and_then(PlainDate::by_chrono);
                            assert_eq!(super::date(&text), expected, "{text}");
                            total += 1;
                            if plain.and_then(|p| p.by_fields()).is_some() {
                                by_fields += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    // Most were computed from their fields; chrono read the rest.
    assert!(
        by_fields > 10_000 && by_fields < total / 2,
        "{by_fields} of {total}"
    );
}
