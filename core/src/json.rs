//! The little JSON work the protocol needs, without building values: one pass that checks a
//! text is JSON no deeper than the limit and splits an array into its elements as raw slices
//! of the input; serde_json's verdict and split, which it is tested and fuzzed against; a
//! nesting-depth scan of any text.
//!
//! The bottom layer of the crate: it knows nothing of Engine.IO or Socket.IO.

use serde_json::value::RawValue;

/// The text is not exactly one JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid JSON")
    }
}

/// A JSON string literal for `s`.
pub fn string(s: &str) -> String {
    // Serialising a &str cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

/// The deepest nesting of arrays and objects in `s`, counting the outermost as 1. Strings are
/// skipped, escapes included. Runs on any input; it does not validate.
pub fn depth(s: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    for (_, b) in outside_strings(s) {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The bytes of `s` outside JSON strings (a string's quotes and escapes included in it), with
/// their positions: all that the structural scans here look at. Runs on any input (an
/// unterminated string runs to the end).
fn outside_strings(s: &str) -> Structural<'_> {
    Structural {
        bytes: s.as_bytes(),
        at: 0,
    }
}

struct Structural<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Iterator for Structural<'_> {
    type Item = (usize, u8);

    fn next(&mut self) -> Option<(usize, u8)> {
        loop {
            let i = self.at;
            let b = *self.bytes.get(i)?;
            self.at = i + 1;
            if b != b'"' {
                return Some((i, b));
            }
            // A string (an SDP is one long one): on to its closing quote, escapes skipped, a
            // block at a time. A control character is only content here (this scan does not
            // validate).
            loop {
                let rest = self.bytes.get(self.at..)?;
                let k = special(rest)?;
                let j = self.at + k;
                match rest[k] {
                    b'\\' => self.at = j + 2,
                    b'"' => {
                        self.at = j + 1;
                        break;
                    }
                    _ => self.at = j + 1,
                }
            }
        }
    }
}

/// The deepest nesting [`check`] allows (arrays and objects, the outermost counting as 1).
pub const MAX_DEPTH: usize = 128;

/// Why [`check`] refused a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Arrays and objects nest deeper than [`MAX_DEPTH`] ([`depth`] > `MAX_DEPTH`), valid or not.
    TooDeep,
    /// Not exactly one JSON value.
    Invalid(Invalid),
}

/// Checks that `s` is exactly one JSON value (surrounding whitespace allowed) nesting no deeper
/// than [`MAX_DEPTH`], in one pass over the bytes: the verdict of [`depth`] and then
/// [`validate`], the depth first (a text both too deep and invalid is too deep).
pub fn check(s: &str) -> Result<(), Refusal> {
    verdict(s, scan(s, None::<&mut Vec<&str>>))
}

/// [`check`], and when `s` is an array, its elements added to `items` as the raw slices of
/// `s` they were written as (what [`split_array`] returns), in the same pass. On a refusal
/// `items` holds what was read until then.
pub fn check_array<'a>(s: &'a str, items: &mut impl Extend<&'a str>) -> Result<(), Refusal> {
    verdict(s, scan(s, Some(items)))
}

fn verdict(s: &str, scanned: Result<(), Stop>) -> Result<(), Refusal> {
    match scanned {
        Ok(()) => Ok(()),
        Err(Stop::Deep) => Err(Refusal::TooDeep),
        // Invalid somewhere: whether it nests too deep further on decides which refusal.
        Err(Stop::Bad) if depth(s) > MAX_DEPTH => Err(Refusal::TooDeep),
        Err(Stop::Bad) => Err(Refusal::Invalid(Invalid)),
    }
}

/// Where [`scan`] stopped.
enum Stop {
    /// Nesting deeper than [`MAX_DEPTH`] (the text is valid up to there).
    Deep,
    /// Not JSON from here on.
    Bad,
}

/// RFC 8259 as serde_json reads it: a value, then only whitespace. Containers are tracked in a
/// 128-bit stack (bit `d - 1` set: level `d` is an object), so nothing is allocated. With
/// `items`, the elements of an outermost array are pushed onto it.
fn scan<'a>(s: &'a str, mut items: Option<&mut impl Extend<&'a str>>) -> Result<(), Stop> {
    const _: () = assert!(MAX_DEPTH <= 128);
    let b = s.as_bytes();
    let mut i = skip_space(b, 0);
    let mut depth = 0usize;
    let mut objects: u128 = 0;
    // Where the element of the outermost array being read started.
    let mut item: Option<usize> = None;
    loop {
        // A value starts at `i`.
        if depth == 1 && objects & 1 == 0 {
            item = Some(i);
        }
        match b.get(i) {
            Some(&open @ (b'[' | b'{')) => {
                if depth == MAX_DEPTH {
                    return Err(Stop::Deep);
                }
                let bit = 1u128 << depth;
                depth += 1;
                i = skip_space(b, i + 1);
                if open == b'{' {
                    objects |= bit;
                    if b.get(i) != Some(&b'}') {
                        i = key(b, i)?;
                        continue;
                    }
                } else {
                    objects &= !bit;
                    if b.get(i) != Some(&b']') {
                        continue;
                    }
                }
                // Empty: closed below.
            }
            Some(b'"') => i = string_end(b, i + 1)?,
            Some(b'-' | b'0'..=b'9') => i = number_end(b, i)?,
            Some(b't') => i = literal_end(b, i, b"true")?,
            Some(b'f') => i = literal_end(b, i, b"false")?,
            Some(b'n') => i = literal_end(b, i, b"null")?,
            _ => return Err(Stop::Bad),
        }
        // After a value (or at the closing bracket of an empty container): close containers
        // until a comma starts the next value.
        loop {
            if depth == 1 {
                if let (Some(start), Some(items)) = (item.take(), items.as_deref_mut()) {
                    // Both ends are char boundaries: a value starts and ends at ASCII bytes.
                    items.extend(Some(s.get(start..i).ok_or(Stop::Bad)?));
                }
            }
            if depth == 0 {
                return if skip_space(b, i) == b.len() {
                    Ok(())
                } else {
                    Err(Stop::Bad)
                };
            }
            let object = objects >> (depth - 1) & 1 == 1;
            i = skip_space(b, i);
            match (b.get(i), object) {
                (Some(b']'), false) | (Some(b'}'), true) => {
                    i += 1;
                    depth -= 1;
                }
                (Some(b','), _) => {
                    i = skip_space(b, i + 1);
                    if object {
                        i = key(b, i)?;
                    }
                    break;
                }
                _ => return Err(Stop::Bad),
            }
        }
    }
}

/// An object's `"key" :` at `i`: where its value starts.
fn key(b: &[u8], i: usize) -> Result<usize, Stop> {
    if b.get(i) != Some(&b'"') {
        return Err(Stop::Bad);
    }
    let i = skip_space(b, string_end(b, i + 1)?);
    if b.get(i) != Some(&b':') {
        return Err(Stop::Bad);
    }
    Ok(skip_space(b, i + 1))
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The end of a string whose contents start at `i`: past its closing quote. Control
/// characters are refused, escapes checked (`\u` with four hex digits, surrogates unpaired or
/// not, as serde_json's validation).
///
/// Sixteen bytes at a time: one mask of a block's special bytes (`"`, `\`, below U+0020), each
/// handled from it in order, those an escape already took skipped. An SDP is one long string
/// with an escape pair (`\r\n`) every line, so a block is looked at once however many escapes
/// it holds. The last bytes, fewer than sixteen, are looked at one special byte at a time.
fn string_end(b: &[u8], i: usize) -> Result<usize, Stop> {
    let mut i = match string_end_blocks(b, i)? {
        Scanned::End(end) => return Ok(end),
        Scanned::Tail(i) => i,
    };
    loop {
        i += special(b.get(i..).ok_or(Stop::Bad)?).ok_or(Stop::Bad)?;
        match b[i] {
            b'"' => return Ok(i + 1),
            b'\\' => i = escape_end(b, i)?,
            _ => return Err(Stop::Bad),
        }
    }
}

/// How far [`string_end_blocks`] got.
enum Scanned {
    /// Past the closing quote.
    End(usize),
    /// Fewer than sixteen bytes are left from here (none of them read).
    Tail(usize),
}

/// [`string_end`] over whole blocks: sixteen bytes from `i`, again and again.
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
fn string_end_blocks(b: &[u8], mut i: usize) -> Result<Scanned, Stop> {
    while let Some(block) = b.get(i..).and_then(|rest| rest.first_chunk::<16>()) {
        let base = i;
        let mut hits = block_mask(block);
        while hits != 0 {
            let p = base + hits.trailing_zeros() as usize;
            hits &= hits - 1;
            // Part of an escape read already.
            if p < i {
                continue;
            }
            match b[p] {
                b'"' => return Ok(Scanned::End(p + 1)),
                b'\\' => i = escape_end(b, p)?,
                _ => return Err(Stop::Bad),
            }
        }
        i = i.max(base + 16);
    }
    Ok(Scanned::Tail(i))
}

/// The end of the escape at `i` (a backslash): `\u` and four hex digits, or one of the
/// characters JSON allows after a backslash.
#[inline(always)]
fn escape_end(b: &[u8], i: usize) -> Result<usize, Stop> {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
        Some(b'u') => match b.get(i + 2..i + 6) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => Ok(i + 6),
            _ => Err(Stop::Bad),
        },
        _ => Err(Stop::Bad),
    }
}

/// The position of the first `"`, `\` or control character (below U+0020) in `h`: a block of
/// sixteen at a time ([`block_mask`]), the last fewer than sixteen one at a time.
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
fn special(h: &[u8]) -> Option<usize> {
    let (blocks, tail) = h.as_chunks::<16>();
    for (n, block) in blocks.iter().enumerate() {
        let hits = block_mask(block);
        if hits != 0 {
            return Some(n * 16 + hits.trailing_zeros() as usize);
        }
    }
    tail.iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|k| blocks.len() * 16 + k)
}

/// The mask of a block's special bytes (bit `k`: byte `k` is `"`, `\` or below U+0020), in the
/// Worker with wasm SIMD: inlined only into the functions compiled with it ([`special`],
/// [`string_end_blocks`]). Every engine the Worker runs on has had wasm SIMD since 2021; a wasm
/// module is validated as a whole when loaded, so a missing feature could never be met half-way
/// through a scan.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn block_mask(block: &[u8; 16]) -> u32 {
    use core::arch::wasm32::{
        u8x16_bitmask, u8x16_eq, u8x16_lt, u8x16_splat, v128, v128_load, v128_or,
    };
    // SAFETY: `block` is 16 readable bytes; wasm loads need no alignment.
    let v = unsafe { v128_load(block.as_ptr().cast::<v128>()) };
    let hit = v128_or(
        v128_or(
            u8x16_eq(v, u8x16_splat(b'"')),
            u8x16_eq(v, u8x16_splat(b'\\')),
        ),
        u8x16_lt(v, u8x16_splat(0x20)),
    );
    u32::from(u8x16_bitmask(hit))
}

/// [`block_mask`] elsewhere (the host: tests, fuzzing, the native benchmark): exact per-byte
/// tests in two `u64`s.
#[cfg(not(target_arch = "wasm32"))]
fn block_mask(block: &[u8; 16]) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // 0x80 in each byte of `y` that is zero, 0 elsewhere (no carry crosses a byte).
    let zero = |y: u64| !((y & LOW7).wrapping_add(LOW7) | y | LOW7);
    let word = |w: &[u8; 8]| {
        let x = u64::from_le_bytes(*w);
        let hits = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | zero(x & (ONES * 0xe0));
        // Byte k's high bit to bit k: each 0x01 multiplied up to bit 56 + k, nothing colliding.
        ((hits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
    };
    let (halves, _) = block.as_chunks::<8>();
    match halves {
        [lo, hi] => word(lo) | word(hi) << 8,
        // Never: sixteen bytes are two halves of eight.
        _ => 0,
    }
}

/// The end of a number starting at `i`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(b: &[u8], mut i: usize) -> Result<usize, Stop> {
    let digits = |b: &[u8], i: usize| i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i + 1),
        _ => return Err(Stop::Bad),
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(b, i + 1);
        if end == i + 1 {
            return Err(Stop::Bad);
        }
        i = end;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let end = digits(b, i);
        if end == i {
            return Err(Stop::Bad);
        }
        i = end;
    }
    Ok(i)
}

fn literal_end(b: &[u8], i: usize, word: &[u8]) -> Result<usize, Stop> {
    match b.get(i..i + word.len()) {
        Some(w) if w == word => Ok(i + word.len()),
        _ => Err(Stop::Bad),
    }
}

/// Checks that `s` is exactly one JSON value (surrounding whitespace allowed), by serde_json:
/// the reference [`check`] is tested and fuzzed against.
pub fn validate(s: &str) -> Result<(), Invalid> {
    serde_json::from_str::<&RawValue>(s)
        .map(|_| ())
        .map_err(|_| Invalid)
}

/// The elements of the JSON array `s`, each as the raw slice of `s` it was written as.
/// `None` when `s` is not a valid JSON array.
pub fn split_array(s: &str) -> Option<Vec<&str>> {
    let items: Vec<&RawValue> = serde_json::from_str(s).ok()?;
    Some(items.into_iter().map(RawValue::get).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_arrays_and_objects_but_not_strings() {
        assert_eq!(depth("1"), 0);
        assert_eq!(depth("[]"), 1);
        assert_eq!(depth("[{\"a\":[1]}]"), 3);
        assert_eq!(depth("[\"[[[[\"]"), 1);
        assert_eq!(depth("[\"\\\"[[\"]"), 1);
        assert_eq!(depth("]]]][["), 2);
    }

    #[test]
    fn structural_scan_skips_strings_of_any_length() {
        let long = format!(
            "[\"{}\\\"{}\",{{\"k\":[1]}}]",
            "a".repeat(37),
            "b\\\\".repeat(9)
        );
        assert_eq!(depth(&long), 3);
        let outside: String = outside_strings(&long).map(|(_, b)| b as char).collect();
        assert_eq!(outside, "[,{:[1]}]");
        // Unterminated strings and trailing escapes end the scan without panicking.
        for s in ["[\"abc", "[\"abc\\", "\"\\", "\"0123456789\\"] {
            assert_eq!(depth(s), 1.min(s.matches('[').count()));
        }
        assert_eq!(special(b"0123456789abcdef\"x"), Some(16));
        assert_eq!(special(b"01234567\\"), Some(8));
        assert_eq!(special(b"0123456789"), None);
        assert_eq!(special(b"0123456789\x1f"), Some(10));
        // A control character inside a string is content to the depth scan.
        assert_eq!(depth("[\"a\u{1}[\"]"), 1);
    }

    #[test]
    fn block_mask_marks_exactly_the_special_bytes() {
        for c in 0..=255u8 {
            let special = c == b'"' || c == b'\\' || c < 0x20;
            for at in 0..16 {
                let mut block = [b'a'; 16];
                block[at] = c;
                assert_eq!(
                    block_mask(&block),
                    u32::from(special) << at,
                    "{c:#x} at {at}"
                );
            }
        }
        let mut block = [
            b'"', b'a', b'\\', b'b', 0x1f, b'c', 0x7f, 0xe9, 0x80, 0x20, b'"', b'\\', 0, b'x',
            b'y', b'z',
        ];
        assert_eq!(block_mask(&block), 0b0001_1100_0001_0101);
        block = [b'"'; 16];
        assert_eq!(block_mask(&block), 0xffff);
    }

    #[test]
    fn validate_accepts_one_value_only() {
        assert!(validate(" {\"a\":1} ").is_ok());
        assert!(validate("\"x\"").is_ok());
        assert!(validate("{} {}").is_err());
        assert!(validate("{").is_err());
        assert!(validate("").is_err());
        assert!(validate("[1,]").is_err());
    }

    /// The verdict `check` must give: the depth scan first, then serde_json's.
    fn reference(s: &str) -> Result<(), Refusal> {
        if depth(s) > MAX_DEPTH {
            return Err(Refusal::TooDeep);
        }
        validate(s).map_err(Refusal::Invalid)
    }

    #[test]
    fn check_agrees_with_depth_then_serde() {
        let deep = |n: usize, inner: &str| format!("{}{inner}{}", "[".repeat(n), "]".repeat(n));
        let cases = [
            "",
            " ",
            "1",
            "-0",
            "-",
            "01",
            "1.",
            "1.5",
            ".5",
            "1e5",
            "1E+5",
            "1e",
            "1e-",
            "-1.5e-3",
            "true",
            "tru",
            "truex",
            "false",
            "null",
            "nul",
            "\"\"",
            "\"",
            "\"\\\"",
            "\"\\u00e9\"",
            "\"\\u00g9\"",
            "\"\\ud800\"",
            "\"\\x\"",
            "\"\\/\"",
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "\"\u{7f}\"",
            "\"é日本\"",
            "[]",
            "[ ]",
            "[,]",
            "[1,]",
            "[1 2]",
            "[1,,2]",
            "{}",
            "{ }",
            "{\"a\":1}",
            "{\"a\" : [1, {\"b\":null}] }",
            "{\"a\"}",
            "{\"a\":}",
            "{1:2}",
            "{\"a\":1,}",
            "{\"a\":1 \"b\":2}",
            "[}",
            "{]",
            "[1]]",
            "[[1]",
            "{} {}",
            " \r\n\t[1]\t",
            "\u{a0}[1]",
            "[\"message\",{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\"}]",
            "[\"01234567\\\"89abcdef\",\"0123456789abcdef\"]",
        ];
        for s in cases {
            assert_eq!(check(s), reference(s), "{s:?}");
        }
        for s in [
            deep(MAX_DEPTH, ""),
            deep(MAX_DEPTH + 1, ""),
            deep(MAX_DEPTH, "1,"),
            deep(MAX_DEPTH + 1, "1,"),
            format!("{}{}", "[".repeat(MAX_DEPTH + 1), "1"),
            format!("[1,]{}", "[".repeat(MAX_DEPTH + 1)),
            format!(
                "{}\"{}\"{}",
                "{\"k\":".repeat(MAX_DEPTH),
                "[".repeat(300),
                "}".repeat(MAX_DEPTH)
            ),
            format!(
                "{}1{}",
                "{\"k\":".repeat(MAX_DEPTH + 1),
                "}".repeat(MAX_DEPTH + 1)
            ),
        ] {
            assert_eq!(check(&s), reference(&s), "{s:?}");
        }
        assert_eq!(check(&deep(MAX_DEPTH, "")), Ok(()));
        assert_eq!(check(&deep(MAX_DEPTH + 1, "")), Err(Refusal::TooDeep));
    }

    #[test]
    fn check_agrees_with_the_reference_on_mutated_json() {
        // Every single-byte change, deletion and truncation of a few valid texts, over an
        // alphabet of JSON's structural and edge bytes.
        let seeds = [
            "[\"message\",{\"type\":\"candidate\",\"label\":0,\"id\":\"0\",\"candidate\":\"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host\"}]",
            "{\"a\":[1,-2.5e+3,true,false,null,\"\\u0041\\n\"],\"b\":{}}",
            " [ [ ] , { \"k\" : \"v\" } , 0 ] ",
            // Escapes on and across the scan's 16-byte block boundaries, as in an SDP.
            "[\"v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\na=\\u0041\\\\\\\"x\\/\"]",
        ];
        let alphabet = b"[]{}\",:\\ -+.0123456789eEtfnulrsa\t\n\r\x01\x1f\x7f/";
        let mut tried = 0;
        for seed in seeds {
            let bytes = seed.as_bytes();
            for i in 0..=bytes.len() {
                let mut variants = vec![bytes[..i].to_vec()];
                if i < bytes.len() {
                    variants.push([&bytes[..i], &bytes[i + 1..]].concat());
                    for &c in alphabet {
                        let mut v = bytes.to_vec();
                        v[i] = c;
                        variants.push(v);
                        variants.push([&bytes[..i], &[c], &bytes[i..]].concat());
                    }
                }
                for v in variants {
                    if let Ok(s) = std::str::from_utf8(&v) {
                        assert_eq!(check(s), reference(s), "{s:?}");
                        let mut items = Vec::new();
                        if check_array(s, &mut items).is_ok() && s.trim_start().starts_with('[') {
                            assert_eq!(Some(items), split_array(s), "{s:?}");
                        }
                        tried += 1;
                    }
                }
            }
        }
        assert!(tried > 10_000, "{tried}");
    }

    #[test]
    fn split_array_keeps_raw_text() {
        assert_eq!(
            split_array("[\"a\", {\"b\" : 1}, \"\\u00e9\"]"),
            Some(vec!["\"a\"", "{\"b\" : 1}", "\"\\u00e9\""])
        );
        assert_eq!(split_array("[]"), Some(vec![]));
        assert_eq!(split_array("{}"), None);
        assert_eq!(split_array("[1"), None);
    }

    #[test]
    fn check_array_splits_as_split_array() {
        for s in [
            "[\"a\", {\"b\" : 1}, \"\\u00e9\"]",
            "[]",
            " [ ] ",
            "[1]",
            "\r\n[ \"x,y\" ,[1,[2,{\"k\":\"]\"}]], \"\\\"\\\\\" , null ]\t",
            "[\"message\",{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\"}]",
            "[\"é,\",\"日本\",-1.5e3]",
        ] {
            let mut items = Vec::new();
            assert_eq!(check_array(s, &mut items), Ok(()), "{s}");
            assert_eq!(Some(items), split_array(s), "{s}");
        }
        let mut items = Vec::new();
        assert_eq!(check_array("{\"a\":[1,2]}", &mut items), Ok(()));
        assert!(items.is_empty());
        assert_eq!(check_array("\"[1,2]\"", &mut items), Ok(()));
        assert!(items.is_empty());
    }
}
