//! Text cut to a platform's length, counted in its own units.

/// Telegram refuses messages longer than this many UTF-16 code units (an
/// emoji counts two). DingTalk's and Feishu's limits are in bytes and far
/// above what a part of this size can take (at most 3 bytes a unit).
pub const MAX_REPLY_UTF16: usize = 4096;

/// Splits a reply into messages of at most [`MAX_REPLY_UTF16`] UTF-16 code
/// units, at line ends where it can and at character boundaries where a
/// line is longer than that. Nothing is lost; an empty reply gives no message.
pub fn split_reply(text: &str) -> Vec<String> {
    split_utf16(text, MAX_REPLY_UTF16)
}

fn split_utf16(text: &str, max_units: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    for line in text.split_inclusive('\n') {
        let line_units = line.encode_utf16().count();
        if count + line_units > max_units && count > 0 {
            parts.push(std::mem::take(&mut current));
            count = 0;
        }
        for ch in line.chars() {
            if count + ch.len_utf16() > max_units {
                parts.push(std::mem::take(&mut current));
                count = 0;
            }
            current.push(ch);
            count += ch.len_utf16();
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}
