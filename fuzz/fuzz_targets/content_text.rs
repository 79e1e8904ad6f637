#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xunjian_fuzz::content_text(data));
