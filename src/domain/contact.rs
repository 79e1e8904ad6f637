//! How a contact is reached: the shapes of chat platform ids.

/// A Feishu open_id: `ou_` then up to 61 more letters, digits, `_` or `-`. (A user_id or union_id (`on_…`) is not one.)
pub fn is_open_id(id: &str) -> bool {
    id.starts_with("ou_")
        && id.len() > 3
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A character that hides or reorders text: control, zero-width and bidi ones.
pub fn is_hidden_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}
