//! One escape function per output format, for every text that came from
//! outside (register names, feed titles, chat text) before it goes into
//! markup. Rendering code calls the one of its format; nothing else escapes.

/// Text for Markdown (CommonMark and GitHub tables): the ASCII marks that
/// can start or end markup anywhere in a line (`<`, `|`, `*`, `[`, `` ` ``,
/// `&`…) are backslash-escaped, and so is a list or heading marker at its
/// start; line breaks become spaces. A name stays one inert list item or
/// table cell: never a link, a tag, a heading or a new row.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let leading_digits = text.chars().take_while(char::is_ascii_digit).count();
    for (i, ch) in text.chars().enumerate() {
        let is_line_start_marker = match ch {
            '-' | '+' | '=' => i == 0,
            '.' | ')' => i > 0 && i == leading_digits,
            _ => false,
        };
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '!' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(ch);
            }
            _ if is_line_start_marker => {
                out.push('\\');
                out.push(ch);
            }
            '\r' | '\n' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text for HTML (and Telegram's HTML parse mode): `&`, `<`, `>` and `"`
/// as entities.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The hostile names the escaping of every format is tested with.
pub const HOSTILE_NAMES: [&str; 7] = [
    "<script>alert(1)</script>",
    "义堂|发布 | --- |",
    "**粗体** [链接](http://evil.example/) ![图](x.png)",
    "# 标题\n- 列表",
    "- 不是列表项",
    "&lt;已转义&gt; & \"引号\" 'x'",
    "`代码` _斜体_ ~~删除~~ <img src=x onerror=alert(1)>",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_every_hostile_name_one_inert_line() {
        for name in HOSTILE_NAMES {
            let escaped = markdown(name);
            assert!(!escaped.contains('\n'), "{escaped}");
            // Every markup character is escaped: removing the escapes gives the text back.
            let mut unescaped = String::new();
            let mut chars = escaped.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    let next = chars.next().expect("an escape escapes something");
                    assert!(next.is_ascii_punctuation(), "{escaped}");
                    unescaped.push(next);
                } else {
                    assert!(!"<>|*[]`_#&".contains(c), "unescaped {c:?} in {escaped}");
                    unescaped.push(c);
                }
            }
            assert_eq!(unescaped, name.replace('\n', " "));
        }
        assert_eq!(
            markdown("区市政管理局「市政兰山」2026-11-05 (微博)."),
            "区市政管理局「市政兰山」2026-11-05 (微博)."
        );
        assert_eq!(markdown("- 列表"), "\\- 列表");
        assert_eq!(markdown("1. 第一"), "1\\. 第一");
    }

    #[test]
    fn html_escapes_markup_and_entities() {
        assert_eq!(
            html("<b>&\"x\"</b>"),
            "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;"
        );
        for name in HOSTILE_NAMES {
            let escaped = html(name);
            assert!(
                !escaped.contains('<') && !escaped.contains('>'),
                "{escaped}"
            );
        }
    }
}
