//! A plain register file in pieces of a thousand entries, each parsed on
//! its own (see [`super::parse`]).

use std::ops::Range;

/// Entries of one kind in a piece.
const ENTRIES_PER_PIECE: usize = 1_000;

/// A run of entries of one kind: the text from its first `[[kind]]` line to
/// the next piece.
#[derive(Debug, PartialEq)]
pub(super) struct Piece {
    pub kind: &'static str,
    pub range: Range<usize>,
}

/// The pieces of a plain register file: nothing but comments before the
/// first entry, every table header a `[[unit]]` or `[[account]]` line or a
/// sub-table of its entry (`[account.…]`), no multi-line string (whose lines
/// could look like headers). None for any other file.
pub(super) fn pieces(text: &str) -> Option<Vec<Piece>> {
    if text.contains("\"\"\"") || text.contains("'''") {
        return None;
    }
    let mut pieces: Vec<Piece> = Vec::new();
    // Entries in the last piece so far.
    let mut count = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let code = line.trim();
        if !code.starts_with('[') {
            if pieces.is_empty() && !(code.is_empty() || code.starts_with('#')) {
                return None;
            }
            continue;
        }
        let header = code.split('#').next().unwrap_or_default().trim_end();
        let kind = match header {
            "[[unit]]" => "unit",
            "[[account]]" => "account",
            _ => {
                let last = pieces.last()?.kind;
                let inner = header.trim_start_matches('[').trim_end_matches(']');
                if inner
                    .strip_prefix(last)
                    .is_some_and(|sub| sub.starts_with('.'))
                {
                    continue;
                }
                return None;
            }
        };
        match pieces.last_mut() {
            Some(last) if last.kind == kind && count < ENTRIES_PER_PIECE => count += 1,
            _ => {
                if let Some(last) = pieces.last_mut() {
                    last.range.end = start;
                }
                pieces.push(Piece {
                    kind,
                    range: start..text.len(),
                });
                count = 1;
            }
        }
    }
    (!pieces.is_empty()).then_some(pieces)
}
