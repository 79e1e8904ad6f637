#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xunjian_fuzz::feishu_frame(data));
