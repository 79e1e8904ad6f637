//! A TOML file that does not parse (settings, a holiday notice), said in
//! Chinese: where (line, column, section), what, and the key that was
//! probably meant.

/// "xunjian.toml 第 2 行第 1 列（[alerts]）：未知的设置项 `remind_hour`，是否为
/// `remind_hours`？（此处可用：…）".
pub fn explain(origin: &str, text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().to_string();
    let place = match err.span() {
        Some(span) => {
            let before = text.get(..span.start.min(text.len())).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let section = before
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| l.starts_with('['))
                .map(|l| format!("（{l}）"))
                .unwrap_or_default();
            format!("第 {line} 行第 {column} 列{section}")
        }
        None => String::new(),
    };
    format!("{origin} {place}：{}", translate(&message))
}

/// serde's and toml's usual messages in Chinese; anything else as it is.
fn translate(message: &str) -> String {
    let quoted = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let names = quoted(rest);
        if let Some((given, expected)) = names.split_first() {
            let hint = super::suggest(given, expected.iter().map(String::as_str))
                .map(|near| format!("，是否为 `{near}`？"))
                .unwrap_or_default();
            return format!(
                "未知的设置项 `{given}`{hint}（此处可用：{}）",
                expected.join("、")
            );
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let names = quoted(rest);
        if let Some((given, expected)) = names.split_first() {
            return format!("未知的取值 `{given}`（可选：{}）", expected.join("、"));
        }
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("缺少设置项 {rest}");
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return format!(
            "类型不对：实际为{}，应为{}",
            type_cn(found),
            type_cn(expected)
        );
    }
    if let Some(rest) = message.strip_prefix("duplicate key ") {
        return format!("设置项重复：{rest}");
    }
    // Our own messages are Chinese already.
    if message
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    {
        return message.to_string();
    }
    format!("格式有误：{message}")
}

/// serde's names of value types in Chinese ("string \"五\"" → "文本「五」").
fn type_cn(text: &str) -> String {
    let text = text.trim();
    if let Some(value) = text.strip_prefix("string ") {
        return format!("文本「{}」", value.trim_matches('"'));
    }
    let (kind, value) = text.split_once(' ').unwrap_or((text, ""));
    let kind = match kind {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" | "integer" => "整数",
        "f32" | "f64" | "floating" | "float" => "数字",
        "boolean" | "bool" => "true 或 false",
        "a" if value.starts_with("string") => "文本",
        "sequence" | "array" => "数组",
        "map" | "table" | "struct" => "表",
        other => other,
    };
    if value.is_empty() || kind == "文本" {
        kind.to_string()
    } else {
        format!("{kind} {value}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_mistyped_key_is_named_with_its_place_and_the_key_meant() {
        let text = "[database]\nurl = \"sqlite://x.db\"\n\n[alerts]\nremind_hour = 9\n";
        let err = crate::config::Settings::parse("xunjian.toml", text)
            .expect_err("unknown key")
            .to_string();
        assert!(
            err.starts_with("xunjian.toml 第 5 行第 1 列（[alerts]）：未知的设置项 `remind_hour`，是否为 `remind_hours`？（此处可用："),
            "{err}"
        );
        let err =
            crate::config::Settings::parse("xunjian.toml", "[poll]\nmax_concurrency = \"多\"\n")
                .expect_err("a type")
                .to_string();
        assert!(err.contains("第 2 行") && err.contains("类型不对"), "{err}");
        let err = crate::config::Settings::parse("xunjian.toml", "[poll\n")
            .expect_err("syntax")
            .to_string();
        assert!(err.contains("第 1 行") && err.contains("格式有误"), "{err}");
    }
}
