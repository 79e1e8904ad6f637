//! How a post's plain text is kept: a mark byte, then the text in UTF-16
//! or as written. Rows of earlier releases (LZ4 blocks, raw deflate
//! streams) still read.

use super::MAX_TEXT_BYTES;

/// The first byte of a text kept as UTF-16 (little-endian). Rows written
/// before it hold LZ4 blocks (below) or raw deflate streams, and no deflate
/// stream can start with this byte: its bits 1–2 (the first block's BTYPE)
/// are 11, which deflate reserves. So are those of the two marks below.
const UTF16_MARK: u8 = 0xFF;
/// The first byte of a text kept as written (UTF-8).
const UTF8_MARK: u8 = 0xF7;
/// The first byte of a text kept as an LZ4 block by earlier releases.
const LZ4_MARK: u8 = 0xFE;

/// `text` as kept: Chinese in UTF-16, two bytes a character where UTF-8
/// takes three, else as written; a mark byte before it says which. On the
/// user path's Chinese posts this keeps 0.72 of the bytes where LZ4 kept
/// 0.75 (the seeds' own text in 3 KB pieces: 0.73 against 0.72), and costs
/// far less: LZ4 had become the largest single cost of a cold cycle (17 %
/// of its samples).
pub fn pack(text: &str) -> Vec<u8> {
    let mut units = Vec::new();
    utf16_into(text, &mut units);
    pack_units(text, &units)
}

/// The UTF-16 units of `text`, into `units` (emptied first).
///
/// Four Chinese characters at a time when the next four all take three
/// bytes, else one: 1.9 GB/s on the user path's texts, where encoding_rs's
/// converter ran at 1.25 and `str::encode_utf16` at 1.0 (an earlier
/// count-then-encode pass took a tenth of a cold cycle's samples). The
/// bytes are a `str`'s, so every lead byte is followed by its whole
/// character.
///
/// The units are written into a stack buffer with their count in a
/// register, and copied out a buffer at a time: pushed one at a time, each
/// unit reloaded and stored the vector's length, and the single characters
/// between ASCII (every eighth character of the seeds' prose is ASCII)
/// cost three times the instructions of a run of four.
pub fn utf16_into(text: &str, units: &mut Vec<u16>) {
    units.clear();
    units.reserve(text.len());
    let mut chunk = [0u16; CHUNK_UNITS];
    let mut bytes = text.as_bytes();
    while !bytes.is_empty() {
        let (written, rest) = encode_utf16(bytes, &mut chunk);
        units.extend_from_slice(chunk.get(..written).unwrap_or_default());
        if written == 0 {
            // Only bytes that are no `str`'s could stop it: never.
            break;
        }
        bytes = rest;
    }
}

/// Units [`utf16_into`] converts between two copies into the vector.
const CHUNK_UNITS: usize = 512;

/// Writes the units of the start of `bytes` (a `str`'s) into `out` while a
/// step (at most four units) still fits; returns how many, and the bytes
/// left.
fn encode_utf16<'b>(mut bytes: &'b [u8], out: &mut [u16; CHUNK_UNITS]) -> (usize, &'b [u8]) {
    let mut n = 0usize;
    while n <= CHUNK_UNITS - 4 {
        if let [a, b, c, d, e, f, g, h, i, j, k, l, ref rest @ ..] = *bytes {
            // Each of the four lead bytes is 1110xxxx.
            if (a & d & g & j) & 0xf0 == 0xe0 && (a | d | g | j) & 0xf0 == 0xe0 {
                if let Some(slot) = out.get_mut(n..n + 4) {
                    slot.copy_from_slice(&[bmp(a, b, c), bmp(d, e, f), bmp(g, h, i), bmp(j, k, l)]);
                }
                n += 4;
                bytes = rest;
                continue;
            }
        }
        let (unit, second, rest) = match *bytes {
            [a, ref rest @ ..] if a < 0x80 => (u16::from(a), None, rest),
            [a, b, ref rest @ ..] if a < 0xe0 => {
                ((u16::from(a & 0x1f) << 6) | u16::from(b & 0x3f), None, rest)
            }
            [a, b, c, ref rest @ ..] if a < 0xf0 => (bmp(a, b, c), None, rest),
            [a, b, c, d, ref rest @ ..] => {
                let scalar = (u32::from(a & 0x07) << 18)
                    | (u32::from(b & 0x3f) << 12)
                    | (u32::from(c & 0x3f) << 6)
                    | u32::from(d & 0x3f);
                let above = scalar.wrapping_sub(0x1_0000);
                // Both halves fit in ten bits: the casts keep every bit.
                (
                    0xd800 | (above >> 10 & 0x3ff) as u16,
                    Some(0xdc00 | (above & 0x3ff) as u16),
                    rest,
                )
            }
            _ => return (n, &[]),
        };
        if let Some(slot) = out.get_mut(n) {
            *slot = unit;
        }
        n += 1;
        if let Some(low) = second {
            if let Some(slot) = out.get_mut(n) {
                *slot = low;
            }
            n += 1;
        }
        bytes = rest;
    }
    (n, bytes)
}

/// The character of the three-byte UTF-8 sequence `a b c`.
fn bmp(a: u8, b: u8, c: u8) -> u16 {
    (u16::from(a & 0x0f) << 12) | (u16::from(b & 0x3f) << 6) | u16::from(c & 0x3f)
}

/// [`pack`] of `text`, whose UTF-16 units (from [`utf16_into`]) are given.
pub fn pack_units(text: &str, units: &[u16]) -> Vec<u8> {
    let bytes = text.as_bytes();
    let wide = units.len().saturating_mul(2);
    if wide >= bytes.len() {
        let mut out = Vec::with_capacity(bytes.len().saturating_add(1));
        out.push(UTF8_MARK);
        out.extend_from_slice(bytes);
        return out;
    }
    let mut out = vec![0u8; wide.saturating_add(1)];
    if let Some((mark, rest)) = out.split_first_mut() {
        *mark = UTF16_MARK;
        // Pairs written in place: compiled to wide moves, not a push a unit.
        for (pair, unit) in rest.chunks_exact_mut(2).zip(units) {
            pair.copy_from_slice(&unit.to_le_bytes());
        }
    }
    out
}

/// [`unpack`], and the text's UTF-16 units into `units` (emptied first;
/// left empty when the bytes do not unpack). A text kept as UTF-16 is its
/// units already: a rescan scans them (see `Checker::scan_with_units`)
/// without making them again.
pub fn unpack_units(bytes: &[u8], units: &mut Vec<u16>) -> Option<String> {
    units.clear();
    let text = match bytes.split_first() {
        Some((&UTF16_MARK, rest)) => {
            if rest.len() % 2 != 0 || rest.len() > MAX_TEXT_BYTES * 2 {
                return None;
            }
            units_of(rest, units);
            utf8_of_units(units).filter(|text| text.len() <= MAX_TEXT_BYTES)
        }
        _ => unpack(bytes).inspect(|text| utf16_into(text, units)),
    };
    if text.is_none() {
        units.clear();
    }
    text
}

/// The units of little-endian pairs, into `units`.
fn units_of(pairs: &[u8], units: &mut Vec<u16>) {
    units.reserve(pairs.len() / 2);
    units.extend(
        pairs
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes(<[u8; 2]>::try_from(pair).unwrap_or_default())),
    );
}

/// The text of UTF-16 units; None for a lone surrogate. Four Chinese
/// characters at a time when the next four all take three bytes, as
/// [`utf16_into`] reads them; `char::decode_utf16`, a character at a time,
/// was a fifth of a rescan's time.
fn utf8_of_units(units: &[u16]) -> Option<String> {
    /// A character of three UTF-8 bytes: U+0800 to U+FFFF, no surrogate.
    fn is_three(unit: u16) -> bool {
        unit >= 0x800 && unit & 0xf800 != 0xd800
    }
    // The casts keep the bits each byte takes.
    fn three(unit: u16) -> [u8; 3] {
        [
            0xe0 | (unit >> 12) as u8,
            0x80 | (unit >> 6 & 0x3f) as u8,
            0x80 | (unit & 0x3f) as u8,
        ]
    }
    let mut out: Vec<u8> = Vec::with_capacity(units.len().saturating_mul(3));
    let mut rest = units;
    loop {
        while let [a, b, c, d, ref tail @ ..] = *rest {
            if !(is_three(a) & is_three(b) & is_three(c) & is_three(d)) {
                break;
            }
            let ([a0, a1, a2], [b0, b1, b2], [c0, c1, c2], [d0, d1, d2]) =
                (three(a), three(b), three(c), three(d));
            out.extend_from_slice(&[a0, a1, a2, b0, b1, b2, c0, c1, c2, d0, d1, d2]);
            rest = tail;
        }
        match *rest {
            [] => break,
            [unit, ref tail @ ..] if unit < 0x80 => {
                out.push(unit as u8);
                rest = tail;
            }
            [unit, ref tail @ ..] if unit < 0x800 => {
                out.extend_from_slice(&[0xc0 | (unit >> 6) as u8, 0x80 | (unit & 0x3f) as u8]);
                rest = tail;
            }
            [unit, ref tail @ ..] if is_three(unit) => {
                out.extend_from_slice(&three(unit));
                rest = tail;
            }
            [high @ 0xd800..=0xdbff, low @ 0xdc00..=0xdfff, ref tail @ ..] => {
                let scalar =
                    0x1_0000 + ((u32::from(high) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                out.extend_from_slice(&[
                    0xf0 | (scalar >> 18) as u8,
                    0x80 | (scalar >> 12 & 0x3f) as u8,
                    0x80 | (scalar >> 6 & 0x3f) as u8,
                    0x80 | (scalar & 0x3f) as u8,
                ]);
                rest = tail;
            }
            _ => return None,
        }
    }
    // Valid by construction; checked again (safe code cannot skip it), at
    // SIMD speed, then copied.
    simdutf8::basic::from_utf8(&out).ok().map(str::to_owned)
}

/// A kept text back; None when the bytes are none of the forms [`pack`]
/// writes or wrote (UTF-16, UTF-8, an LZ4 block, a raw deflate stream) of a
/// valid text. At most [`MAX_TEXT_BYTES`] are produced, so a hostile row
/// cannot balloon.
pub fn unpack(bytes: &[u8]) -> Option<String> {
    use std::io::Read as _;
    match bytes.split_first() {
        Some((&UTF16_MARK, rest)) => {
            // No more units than a kept text has bytes of UTF-8.
            if rest.len() % 2 != 0 || rest.len() > MAX_TEXT_BYTES * 2 {
                return None;
            }
            let mut units = Vec::new();
            units_of(rest, &mut units);
            let text = utf8_of_units(&units)?;
            (text.len() <= MAX_TEXT_BYTES).then_some(text)
        }
        Some((&UTF8_MARK, rest)) => {
            if rest.len() > MAX_TEXT_BYTES {
                return None;
            }
            String::from_utf8(rest.to_vec()).ok()
        }
        Some((&LZ4_MARK, rest)) => {
            let (len, block) = rest.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
            if len > MAX_TEXT_BYTES {
                return None;
            }
            let out = lz4_flex::block::decompress(block, len).ok()?;
            String::from_utf8(out).ok()
        }
        _ => {
            let mut out = Vec::with_capacity(bytes.len().saturating_mul(2).min(MAX_TEXT_BYTES));
            flate2::read::DeflateDecoder::new(bytes)
                .take(MAX_TEXT_BYTES as u64)
                .read_to_end(&mut out)
                .ok()?;
            String::from_utf8(out).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The LZ4 mark and the text's length (u32, little-endian) before the block.
    const LZ4_HEADER: usize = 5;

    #[test]
    fn texts_pack_one_after_another_each_unpacking_to_itself() {
        let long = "政务新媒体".repeat(4_000);
        for text in [
            "",
            "短",
            long.as_str(),
            "兰山发布：今日召开工作会议。",
            "plain ASCII, kept as written",
            "2026年12月7日 10:00 发布 https://www.lanshan.gov.cn/a.html",
            "表情😀与𠀀（BMP 以外的字）",
            long.as_str(),
        ] {
            assert_eq!(unpack(&pack(text)).as_deref(), Some(text), "{text}");
        }
    }

    #[test]
    fn chinese_is_kept_in_two_bytes_a_character_and_ascii_as_written() {
        let chinese = "兰山区持续深化政务公开工作，围绕群众关切及时发布权威信息。".repeat(20);
        let packed = pack(&chinese);
        assert_eq!(packed.first(), Some(&UTF16_MARK));
        assert_eq!(packed.len(), 1 + chinese.chars().count() * 2);
        assert_eq!(packed.len(), chinese.len() * 2 / 3 + 1);
        let ascii = "Press release 2026-12-07, see https://example.gov.cn/";
        let packed = pack(ascii);
        assert_eq!(packed.first(), Some(&UTF8_MARK));
        assert_eq!(packed.get(1..), Some(ascii.as_bytes()));
        // Beyond the BMP a character is two units: counted as such.
        let wide = "𠀀𠀁𠀂";
        assert_eq!(pack(wide).len(), 1 + 4 * 3);
        assert_eq!(unpack(&pack(wide)).as_deref(), Some(wide));
    }

    /// The units handed to `pack_units` are those of the text, whatever
    /// buffer they were converted into before.
    #[test]
    fn units_are_converted_into_a_reused_buffer() {
        let mut units = vec![7u16; 3];
        let mixed = "兰山发布：2026年12月7日召开工作会议，é😀𠀀。ab政务新媒体公开".repeat(3);
        for text in [
            "",
            "政务",
            "a😀b",
            "兰山发布：今日召开工作会议。",
            "é",
            "中文四字a",
            &mixed,
        ] {
            utf16_into(text, &mut units);
            assert_eq!(units, text.encode_utf16().collect::<Vec<_>>(), "{text}");
            assert_eq!(pack_units(text, &units), pack(text));
            assert_eq!(unpack(&pack_units(text, &units)).as_deref(), Some(text));
        }
    }

    /// Every character, after three and four Chinese ones (so that it ends
    /// or breaks a run of four), converts as `encode_utf16` converts it.
    #[test]
    fn every_character_converts_inside_and_after_a_run_of_four() {
        let mut units = Vec::new();
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            for text in [format!("政务公{c}开"), format!("政务公开{c}政务公开")] {
                utf16_into(&text, &mut units);
                assert!(
                    units.iter().copied().eq(text.encode_utf16()),
                    "U+{:04X}",
                    u32::from(c)
                );
            }
        }
    }

    /// Texts longer than the conversion's buffer convert whole, whatever
    /// character the buffer fills on: a run of four, one unit, or the two
    /// units of a character outside the BMP.
    #[test]
    fn long_texts_convert_across_the_buffers() {
        let mut units = Vec::new();
        for filler in ["政", "a", "é", "😀"] {
            for lead in 0..12 {
                for last in ["政务公开", "x", "é", "😀", "政😀"] {
                    let text = format!(
                        "{}{}{last}{}",
                        "a".repeat(lead),
                        filler.repeat(CHUNK_UNITS + 3),
                        "政务公开 2026年".repeat(200)
                    );
                    utf16_into(&text, &mut units);
                    assert!(
                        units.iter().copied().eq(text.encode_utf16()),
                        "{filler} {lead} {last}"
                    );
                }
            }
        }
    }

    /// Every character, inside and after a run of four Chinese ones, comes
    /// back from its units as `char::decode_utf16` gives it.
    #[test]
    fn every_character_comes_back_from_its_units() {
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            for text in [format!("政务公{c}开"), format!("政务公开{c}政务公开")] {
                let units: Vec<u16> = text.encode_utf16().collect();
                assert_eq!(
                    utf8_of_units(&units).as_deref(),
                    Some(text.as_str()),
                    "U+{:04X}",
                    u32::from(c)
                );
            }
        }
    }

    /// Random units, surrogates paired and lone among them: what
    /// `char::decode_utf16` reads, or None where it finds a lone one.
    #[test]
    fn units_read_as_decode_utf16_reads_them() {
        const UNITS: [u16; 14] = [
            0x41, 0x7f, 0x80, 0x7ff, 0x800, 0x4e2d, 0x3002, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff,
            0xe000, 0xffff,
        ];
        let mut random = crate::test_random::Xorshift::new(0x2545_f491_4f6c_dd1d);
        let mut read = 0;
        for _ in 0..20_000 {
            let len = random.below(14);
            let units: Vec<u16> = (0..len)
                .map(|_| {
                    UNITS
                        .get(random.below(UNITS.len()))
                        .copied()
                        .unwrap_or(0x41)
                })
                .collect();
            let expected = char::decode_utf16(units.iter().copied())
                .collect::<Result<String, _>>()
                .ok();
            read += usize::from(expected.is_some());
            assert_eq!(utf8_of_units(&units), expected, "{units:x?}");
        }
        assert!(read > 2_000 && read < 18_000, "{read}");
    }

    /// `unpack_units` gives what `unpack` gives, with its units, from every
    /// form a text was kept in; nothing (and no units) where `unpack` fails.
    #[test]
    fn unpacked_units_are_the_texts_own() {
        let mut units = vec![1, 2, 3];
        for text in old_texts()
            .into_iter()
            .chain(["表情😀与𠀀".to_string(), "plain ASCII".to_string()])
        {
            let mut utf8 = vec![UTF8_MARK];
            utf8.extend_from_slice(text.as_bytes());
            for row in [pack(&text), lz4_row(&text), utf8] {
                assert_eq!(
                    unpack_units(&row, &mut units).as_deref(),
                    Some(text.as_str())
                );
                assert!(units.iter().copied().eq(text.encode_utf16()), "{text}");
            }
        }
        for row in [
            vec![UTF16_MARK, 0x00, 0xd8, 0x41, 0x00],
            vec![UTF16_MARK, 0x2d, 0x4e, 0x87],
            vec![UTF8_MARK, 0xff],
        ] {
            assert_eq!(unpack_units(&row, &mut units), None);
            assert!(units.is_empty());
        }
    }

    /// Texts as earlier releases kept them.
    fn old_texts() -> [String; 3] {
        [
            String::new(),
            "兰山发布：今日召开工作会议。".to_string(),
            "政务公开".repeat(3_000),
        ]
    }

    /// Rows written by the releases that kept LZ4 blocks still read.
    #[test]
    fn texts_kept_as_lz4_blocks_by_earlier_releases_still_unpack() {
        for text in old_texts() {
            assert_eq!(unpack(&lz4_row(&text)).as_deref(), Some(text.as_str()));
        }
    }

    fn lz4_row(text: &str) -> Vec<u8> {
        let len = u32::try_from(text.len()).expect("a short text");
        let mut row = vec![LZ4_MARK];
        row.extend_from_slice(&len.to_le_bytes());
        row.extend(lz4_flex::block::compress(text.as_bytes()));
        row
    }

    /// Rows written before LZ4 hold raw deflate streams: they still read.
    #[test]
    fn texts_kept_deflated_by_earlier_releases_still_unpack() {
        use std::io::Write as _;
        for text in old_texts() {
            let mut deflated =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            deflated
                .write_all(text.as_bytes())
                .expect("deflating into memory");
            let deflated = deflated.finish().expect("deflating into memory");
            for mark in [UTF16_MARK, UTF8_MARK, LZ4_MARK] {
                assert_ne!(deflated.first(), Some(&mark), "{text}");
            }
            assert_eq!(unpack(&deflated).as_deref(), Some(text.as_str()));
        }
        // A deflate stream may start with none of the marks (BTYPE 11 is reserved).
        for mark in [UTF16_MARK, UTF8_MARK, LZ4_MARK] {
            let mut raw = Vec::new();
            let mark_as_deflate = {
                use std::io::Read as _;
                flate2::read::DeflateDecoder::new(&[mark, 0, 0, 0, 0][..]).read_to_end(&mut raw)
            };
            assert!(mark_as_deflate.is_err(), "{mark:#x}");
        }
    }

    #[test]
    fn hostile_rows_unpack_to_nothing_without_ballooning() {
        let packed = lz4_row(&"网信办通报".repeat(100));
        // Valid UTF-16 whose UTF-8 is one character longer than a post keeps.
        let too_long_utf16 = pack(&"中".repeat(MAX_TEXT_BYTES / 3 + 1));
        assert_eq!(too_long_utf16.first(), Some(&UTF16_MARK));
        let cases: Vec<Vec<u8>> = vec![
            vec![LZ4_MARK],
            vec![LZ4_MARK, 1, 0],
            // A length beyond what a post keeps.
            [
                &[LZ4_MARK, 0xff, 0xff, 0xff, 0xff][..],
                packed.get(LZ4_HEADER..).unwrap_or_default(),
            ]
            .concat(),
            // A length that does not match the block.
            [
                &[LZ4_MARK, 9, 0, 0, 0][..],
                packed.get(LZ4_HEADER..).unwrap_or_default(),
            ]
            .concat(),
            // A cut block.
            packed.get(..packed.len() / 2).unwrap_or_default().to_vec(),
            // Not UTF-8 inside.
            {
                let mut bytes = vec![LZ4_MARK, 2, 0, 0, 0];
                bytes.extend(lz4_flex::block::compress(&[0xff, 0xfe]));
                bytes
            },
            // UTF-16 cut in the middle of a unit.
            vec![UTF16_MARK, 0x2d, 0x4e, 0x87],
            // An unpaired surrogate.
            vec![UTF16_MARK, 0x00, 0xd8, 0x41, 0x00],
            // More text than a post keeps.
            too_long_utf16,
            // Raw bytes that are not UTF-8, and too many of them.
            vec![UTF8_MARK, 0xff, 0xfe],
            [vec![UTF8_MARK], vec![b'a'; MAX_TEXT_BYTES + 1]].concat(),
        ];
        for bytes in cases {
            assert_eq!(unpack(&bytes), None, "{:?}", bytes.get(..8));
        }
    }
}
