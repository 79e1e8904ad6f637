//! A post's HTML → the plain text that is kept and scanned.

/// The most bytes of text kept per post.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Plain text of `html`: tags dropped (block tags become line breaks),
/// `<script>`/`<style>` bodies dropped, entities decoded, runs of blanks
/// folded, at most [`MAX_TEXT_BYTES`] bytes on a character boundary.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len().min(MAX_TEXT_BYTES));
    let mut rest = html;
    let mut is_blank = true;
    // Once no `-->` is left, none is searched for again: a run of unclosed
    // comments made every one of them scan the rest of the text.
    let mut has_comment_end = true;
    while !rest.is_empty() && out.len() < MAX_TEXT_BYTES {
        // memchr's search: a char-set `find` decodes every character.
        let Some(lt) = memchr::memchr2(b'<', b'&', rest.as_bytes()) else {
            push_text(&mut out, rest, &mut is_blank);
            break;
        };
        let (text, tail) = rest.split_at(lt);
        push_text(&mut out, text, &mut is_blank);
        if tail.starts_with('&') {
            let (decoded, used) = entity(tail);
            push_text(&mut out, decoded.encode_utf8(&mut [0; 4]), &mut is_blank);
            rest = tail.get(used..).unwrap_or_default();
            continue;
        }
        let Some(end) = memchr::memchr(b'>', tail.as_bytes()) else {
            // A '<' that opens no tag is text.
            push_text(&mut out, tail, &mut is_blank);
            break;
        };
        let tag = tail.get(1..end).unwrap_or_default();
        rest = tail.get(end + 1..).unwrap_or_default();
        let named = tag.trim_start_matches('/');
        let name_len = named.bytes().take_while(u8::is_ascii_alphanumeric).count();
        // A tag name is ASCII: compared without copying or lowercasing it.
        let name = named.get(..name_len).unwrap_or_default();
        let is_raw_text = ["script", "style"]
            .into_iter()
            .find(|raw| name.eq_ignore_ascii_case(raw));
        if let Some(name) = is_raw_text.filter(|_| !tag.starts_with('/')) {
            rest = match find_close(rest, name) {
                Some(at) => rest.get(at..).unwrap_or_default(),
                None => "",
            };
            continue;
        }
        if tag.starts_with("!--") {
            // A comment may hold '>': skip to its real end.
            let end = if has_comment_end {
                memchr::memmem::find(rest.as_bytes(), b"-->")
            } else {
                None
            };
            has_comment_end = end.is_some();
            if let Some(at) = end {
                if !tag.ends_with("--") {
                    rest = rest.get(at + 3..).unwrap_or_default();
                }
            }
            continue;
        }
        if is_block(name) && !is_blank {
            out.push('\n');
            is_blank = true;
        }
    }
    // Cut first: a cut just after a blank would leave it at the end.
    let mut out = cut(out, MAX_TEXT_BYTES);
    let kept = out.trim_end().len();
    out.truncate(kept);
    out
}

/// Where the first `</name` of `text` starts, in any case. Searched in
/// place: lowercasing the rest of the text for each `<script>` made a run
/// of them quadratic.
fn find_close(text: &str, name: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let start = from + memchr::memmem::find(bytes.get(from..)?, b"</")?;
        let after = start + 2;
        if bytes
            .get(after..after + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            return Some(start);
        }
        from = after;
    }
}

fn is_block(name: &str) -> bool {
    // Only short names are block tags; longer ones are never lowercased.
    if name.len() > 10 {
        return false;
    }
    let mut lower = [0u8; 10];
    for (to, from) in lower.iter_mut().zip(name.bytes()) {
        *to = from.to_ascii_lowercase();
    }
    // Compared as bytes: making a `str` of them again checked them as UTF-8.
    matches!(
        lower.get(..name.len()).unwrap_or_default(),
        b"p" | b"br"
            | b"div"
            | b"li"
            | b"tr"
            | b"td"
            | b"th"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"section"
            | b"blockquote"
            | b"img"
            | b"table"
    )
}

/// Appends `text` with whitespace runs folded to one space (a line break
/// stays a line break).
fn push_text(out: &mut String, text: &str, is_blank: &mut bool) {
    let mut pending: Option<char> = None;
    // Runs of ordinary characters are copied whole. Only a byte that may
    // start a blank or a hidden control is looked at (see `special_at`);
    // the bytes between are skipped by a tight scan. Every other byte,
    // Chinese text included, belongs to an ordinary character.
    let mut run_start: Option<usize> = None;
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let next = next_special(bytes, at);
        if next > at && run_start.is_none() {
            if let Some(space) = pending.take() {
                out.push(space);
            }
            run_start = Some(at);
        }
        at = next;
        let Some(&lead) = bytes.get(at) else {
            break;
        };
        let Some(c) = special_at(text, at) else {
            // An ordinary character after all ("。" starts like U+3000).
            if run_start.is_none() {
                if let Some(space) = pending.take() {
                    out.push(space);
                }
                run_start = Some(at);
            }
            // A whole character at a time: `at` is always on a boundary.
            at += utf8_width(lead);
            continue;
        };
        // A lone space inside a run, before an ordinary character, stays
        // in the run: it comes out as it is either way, and numbers and
        // tables in posts are full of them.
        if c == ' '
            && run_start.is_some()
            && bytes.get(at + 1).is_some_and(|&b| !may_start_special(b))
        {
            at += 1;
            continue;
        }
        if let Some(start) = run_start.take() {
            out.push_str(text.get(start..at).unwrap_or_default());
            *is_blank = false;
        }
        let is_space = is_blank_char(c);
        if is_space && !*is_blank {
            pending = Some(if c == '\n' || pending == Some('\n') {
                '\n'
            } else {
                ' '
            });
        }
        at += c.len_utf8();
    }
    if let Some(start) = run_start {
        out.push_str(text.get(start..).unwrap_or_default());
        *is_blank = false;
    }
    if let Some(space) = pending {
        out.push(space);
        *is_blank = true;
    }
}

/// The first byte at or after `from` (a character boundary) that may start
/// a blank or a hidden control, else the text's length.
///
/// Sixteen bytes are tested at once (see [`block_may_hold_special`]); a
/// block with no candidate is skipped whole, and may end inside a
/// character (its continuation bytes are never taken for a lead byte). In
/// a block with one, the characters are walked: a lead byte of
/// U+4000–U+EFFF (E4–EE), most of Chinese text, skips its whole character,
/// and so does the common punctuation, told apart by its second byte: "。"
/// "、" 「」 (E3 80 8x but not U+3000), "，" "：" "（" (EF BC/BD, not U+FEFF)
/// and “” — (E2 80 9x).
fn next_special(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    loop {
        // The next block, with the two bytes after it; the last one padded
        // with a byte that is no candidate (a text ends on a whole character).
        let block_end = match bytes.get(at..at + BLOCK + 2) {
            Some(window) => {
                let window = <&[u8; BLOCK + 2]>::try_from(window).unwrap_or(&[b'a'; BLOCK + 2]);
                if !block_may_hold_special(window) {
                    at += BLOCK;
                    continue;
                }
                at + BLOCK
            }
            None => {
                let rest = bytes.get(at..).unwrap_or_default();
                if rest.is_empty() {
                    return bytes.len();
                }
                let mut window = [b'a'; BLOCK + 2];
                for (to, from) in window.iter_mut().zip(rest) {
                    *to = *from;
                }
                if !block_may_hold_special(&window) {
                    return bytes.len();
                }
                bytes.len()
            }
        };
        // A candidate in this block: its characters one by one.
        while at < block_end {
            let Some(&b) = bytes.get(at) else {
                return bytes.len();
            };
            if (0xe4..=0xee).contains(&b) {
                at += 3;
                continue;
            }
            if may_start_special(b) && !is_ordinary_punctuation(bytes, at) {
                return at;
            }
            at += if (0xe0..=0xef).contains(&b) { 3 } else { 1 };
        }
    }
}

/// Bytes looked at together by [`block_may_hold_special`].
const BLOCK: usize = 16;

/// Whether a character that may be special starts in the first [`BLOCK`]
/// bytes of `window` (the two after them are its second and third bytes):
/// the lead bytes of [`may_start_special`], with the second (and third)
/// byte of U+2000–U+206F, U+3000 and U+FEFF, so that "，" "。" and "、",
/// one character in six of Chinese prose, are not candidates. Written with
/// no branch a byte, so that the compiler tests the block in a few vector
/// instructions: on the user path's posts HTML to text went from 4.1 to
/// 2.7 µs a post.
fn block_may_hold_special(window: &[u8; BLOCK + 2]) -> bool {
    let seconds = window.iter().skip(1);
    let thirds = window.iter().skip(2);
    window
        .iter()
        .zip(seconds)
        .zip(thirds)
        .take(BLOCK)
        .fold(false, |found, ((&b0, &b1), &b2)| {
            let ascii = (b0 < 0x21) | (b0 == 0x7f);
            let latin = (b0 == 0xc2) | (b0 == 0xe1);
            let general = (b0 == 0xe2) & ((b1 == 0x80) | (b1 == 0x81));
            let ideographic = (b0 == 0xe3) & (b1 == 0x80) & (b2 == 0x80);
            let bom = (b0 == 0xef) & (b1 == 0xbb);
            found | ascii | latin | general | ideographic | bom
        })
}

/// Whether the character at `at`, whose lead byte may start a special
/// one, is the common wide punctuation that never is: of U+2000–U+2FFF only
/// U+2000–U+200F and U+2028–U+202F (E2 80), U+205F and U+2066–U+2069
/// (E2 81) are; of U+3000–U+3FFF only U+3000 (E3 80 80); of U+F000–U+FFFF
/// only U+FEFF (EF BB BF).
fn is_ordinary_punctuation(bytes: &[u8], at: usize) -> bool {
    let second = bytes.get(at + 1).copied();
    let third = bytes.get(at + 2).copied();
    match bytes.get(at) {
        Some(0xe2) => !matches!(
            (second, third),
            (Some(0x80), Some(0x80..=0x8f | 0xa8..=0xaf)) | (Some(0x81), Some(0x9f | 0xa6..=0xa9))
        ),
        Some(0xe3) => (second, third) != (Some(0x80), Some(0x80)),
        Some(0xef) => second != Some(0xbb),
        _ => false,
    }
}

/// Whether a byte may start a blank or a hidden control: ASCII blanks and
/// controls, and the lead bytes of U+0080–U+00A0 (C2), U+1680 (E1),
/// U+2000–U+206F (E2), U+3000 (E3) and U+FEFF (EF).
fn may_start_special(b: u8) -> bool {
    matches!(b, 0..=0x20 | 0x7f | 0xc2 | 0xe1 | 0xe2 | 0xe3 | 0xef)
}

/// The blank or hidden control starting at `at`, if one does.
fn special_at(text: &str, at: usize) -> Option<char> {
    let bytes = text.as_bytes();
    let lead = *bytes.get(at)?;
    match lead {
        0..=0x20 | 0x7f => Some(char::from(lead)),
        // U+3000 is the only one from E3: the common "。" and "、" are
        // E3 80 82 and E3 80 81, not worth decoding.
        0xe3 => (bytes.get(at + 1..at + 3) == Some(&[0x80, 0x80][..])).then_some('\u{3000}'),
        0xc2 | 0xe1 | 0xe2 | 0xef => text
            .get(at..)?
            .chars()
            .next()
            .filter(|&c| is_blank_or_hidden(c)),
        _ => None,
    }
}

fn utf8_width(lead: u8) -> usize {
    match lead {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || c == '\u{a0}' || c == '\u{3000}'
}

fn is_blank_or_hidden(c: char) -> bool {
    is_blank_char(c) || crate::domain::is_hidden_control(c)
}

/// The character an entity at the start of `text` stands for and how many
/// bytes it used; an unknown one is kept as written.
fn entity(text: &str) -> (char, usize) {
    let Some(end) = text
        .get(..text.len().min(12))
        .and_then(|head| head.find(';'))
    else {
        return ('&', 1);
    };
    let name = text.get(1..end).unwrap_or_default();
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" | "#39" => Some('\''),
        "nbsp" | "ensp" | "emsp" => Some(' '),
        "ldquo" => Some('“'),
        "rdquo" => Some('”'),
        "lsquo" => Some('‘'),
        "rsquo" => Some('’'),
        "middot" => Some('·'),
        "mdash" => Some('—'),
        "hellip" => Some('…'),
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
            .and_then(char::from_u32),
    };
    match decoded {
        Some(c) => (c, end + 1),
        None => ('&', 1),
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Script and style bodies end at their close tag in any case; runs of
    /// them, and of comments that never close, take one pass (each once
    /// searched the whole rest of the text: a hostile 8 MB description
    /// would have kept a parse thread busy for hours).
    #[test]
    fn raw_text_and_comments_are_skipped_in_one_pass() {
        assert_eq!(plain_text("a<script>x</SCRIPT>b<Style>y</style >c"), "abc");
        assert_eq!(plain_text("a<script>x</scrip>y"), "a");
        assert_eq!(plain_text("a<!-- x > y -->b<!-- z>c"), "abc");
        assert_eq!(plain_text("<!---->a<!-- b -->c"), "ac");
        let scripts = "<script>x</script>".repeat(200_000);
        assert_eq!(plain_text(&format!("{scripts}正文")), "正文");
        let comments = "<!--a>".repeat(400_000);
        assert_eq!(plain_text(&format!("{comments}正文")), "正文");
    }

    /// A text cut to the most kept, just after a blank, ends without it
    /// (the fuzzer found it: `fuzz/regressions/content_text/`).
    #[test]
    fn a_cut_text_ends_without_a_blank() {
        for blank in [" ", "\n"] {
            let html = format!(
                "{}{blank}{}",
                "a".repeat(MAX_TEXT_BYTES - 1),
                "b".repeat(100)
            );
            let text = plain_text(&html);
            assert_eq!(text.len(), MAX_TEXT_BYTES - 1, "{blank:?}");
            assert!(!text.ends_with(char::is_whitespace), "{blank:?}");
        }
    }

    #[test]
    fn html_becomes_plain_text_with_entities_decoded_and_scripts_dropped() {
        let cases = [
            ("<p>县长&nbsp;王明</p><p>指出</p>", "县长 王明\n指出"),
            ("a &amp; b &lt;c&gt; &#20013;&#x6587;", "a & b <c> 中文"),
            (
                "<script>var x = '<p>';</script>正文<style>p{}</style>",
                "正文",
            ),
            ("<!-- <b> -->留言", "留言"),
            ("1 < 2 and &unknown; stays", "1 < 2 and &unknown; stays"),
            ("  多个   空格\n\n换行  ", "多个 空格\n换行"),
            ("<img src=x>图片<br/>后", "图片\n后"),
        ];
        for (html, text) in cases {
            assert_eq!(plain_text(html), text, "{html}");
        }
    }

    /// The character-by-character folding `push_text` replaced: the byte
    /// scan must give the same text for every blank and hidden control.
    fn reference_push_text(out: &mut String, text: &str, is_blank: &mut bool) {
        let mut pending: Option<char> = None;
        for c in text.chars() {
            let is_space = is_blank_char(c);
            if !is_space && !crate::domain::is_hidden_control(c) {
                if let Some(space) = pending.take() {
                    out.push(space);
                }
                out.push(c);
                *is_blank = false;
            } else if is_space && !*is_blank {
                pending = Some(if c == '\n' || pending == Some('\n') {
                    '\n'
                } else {
                    ' '
                });
            }
        }
        if let Some(space) = pending {
            out.push(space);
            *is_blank = true;
        }
    }

    #[test]
    fn the_byte_scan_folds_blanks_and_drops_controls_like_the_character_loop() {
        let pieces = [
            "政务", " ", "\n", "\t", "\u{a0}", "\u{3000}", "\u{200b}", "\u{feff}", "\u{1680}",
            "\u{2003}", "\u{2028}", "\u{202e}", "\u{2066}", "\u{85}", "\u{7f}", "\u{1}", "é", "、",
            "，", "\u{ff0c}", "\u{2014}", "\u{2060}", "a", "™", "\u{e000}", "😀", "。", "ア",
            "\u{3013}", "\u{303f}", "\u{4e00}", "\u{9fff}", "\u{d7ff}", "\u{efff}",
        ];
        // Every ordered pair and triple of pieces, from both starting states.
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}{a}");
                    for start in [true, false] {
                        let (mut got, mut want) = (String::new(), String::new());
                        let (mut got_blank, mut want_blank) = (start, start);
                        push_text(&mut got, &text, &mut got_blank);
                        reference_push_text(&mut want, &text, &mut want_blank);
                        assert_eq!((got, got_blank), (want, want_blank), "{text:?}");
                    }
                }
            }
        }
    }

    /// Sixteen bytes are skipped at once: every piece at every offset of a
    /// block, and across a block's end, is found as the loop finds it.
    #[test]
    fn the_block_scan_finds_every_piece_wherever_it_falls() {
        let pieces = [
            " ", "\n", "\u{a0}", "\u{3000}", "\u{200b}", "\u{feff}", "\u{1680}", "\u{2003}",
            "\u{2028}", "\u{2066}", "\u{7f}", "\u{1}", "、", "，", "。", "“", "\u{2014}", "😀",
        ];
        let tail = "政务公开".repeat(3);
        for piece in pieces {
            for offset in 0..40 {
                for lead in ["a", "政"] {
                    // A three-byte lead puts block ends inside characters.
                    let head = lead.repeat(offset);
                    let text = format!("{head}{piece}{tail}{piece}");
                    let (mut got, mut want) = (String::new(), String::new());
                    let (mut got_blank, mut want_blank) = (false, false);
                    push_text(&mut got, &text, &mut got_blank);
                    reference_push_text(&mut want, &text, &mut want_blank);
                    assert_eq!((got, got_blank), (want, want_blank), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn every_character_is_folded_or_kept_like_the_character_loop() {
        // Each character alone, between ordinary text and before a blank:
        // the byte scan may skip only what is neither blank nor hidden.
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            // The last one is long enough to be tested a block at a time,
            // with the character across the first block's end.
            for text in [
                format!("政{c}a"),
                format!("{c} "),
                format!("abc政务公开{c}政务公开政务公开"),
            ] {
                let (mut got, mut want) = (String::new(), String::new());
                let (mut got_blank, mut want_blank) = (false, false);
                push_text(&mut got, &text, &mut got_blank);
                reference_push_text(&mut want, &text, &mut want_blank);
                assert_eq!(
                    (got, got_blank),
                    (want, want_blank),
                    "U+{:04X}",
                    u32::from(c)
                );
            }
        }
    }

    #[test]
    fn text_is_capped_on_a_character_boundary() {
        let long = "中".repeat(40_000);
        let text = plain_text(&long);
        assert!(text.len() <= MAX_TEXT_BYTES);
        assert!(text.len() > MAX_TEXT_BYTES - 4);
        assert!(text.chars().all(|c| c == '中'));
    }
}
