//! Replays every seed and every crash the fuzzers found (`fuzz/corpus/`,
//! `fuzz/regressions/`) through the fuzz targets' own code, so a panic that
//! was fixed once stays fixed without installing cargo-fuzz.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code, clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod targets;

use std::path::{Path, PathBuf};

/// Every file under `fuzz/<kind>/<target>/`.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = root.join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable corpus entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs `target` on each input; fails naming every input that panicked.
fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no seed corpus for {target}");
    let mut panicked = Vec::new();
    for path in &files {
        let data = std::fs::read(path).expect("a readable corpus file");
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panicked.push(path.display().to_string());
        }
    }
    assert!(
        panicked.is_empty(),
        "{target}: {} of {} inputs panicked:\n{}",
        panicked.len(),
        files.len(),
        panicked.join("\n")
    );
}

#[test]
fn no_feed_in_the_corpus_makes_parsing_panic() {
    replay("feed_parse", targets::feed_parse);
}

#[test]
fn no_error_response_in_the_corpus_makes_classification_panic() {
    replay("failure_classify", targets::failure_classify);
}

#[test]
fn no_header_in_the_corpus_makes_scheduling_panic_or_wait_past_a_day() {
    replay("schedule_headers", targets::schedule_headers);
}

#[test]
fn no_register_in_the_corpus_makes_loading_panic() {
    replay("accounts_toml", targets::accounts_toml);
}

#[test]
fn no_chat_argument_in_the_corpus_makes_duration_parsing_panic() {
    replay("chat_command", targets::chat_command);
}

#[test]
fn no_workbook_in_the_corpus_makes_reading_the_register_panic() {
    replay("workbook", targets::workbook);
}

#[test]
fn no_feishu_frame_in_the_corpus_makes_decoding_or_event_reading_panic() {
    replay("feishu_frame", targets::feishu_frame);
}

#[test]
fn no_text_or_stored_row_in_the_corpus_makes_keeping_or_checking_it_panic() {
    replay("content_text", targets::content_text);
}
