//! The little JSON work the protocol needs, without building values: a nesting-depth scan,
//! validation, and splitting an array into its elements as raw slices of the input.
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
            // word at a time.
            loop {
                let rest = self.bytes.get(self.at..)?;
                let k = quote_or_backslash(rest)?;
                let j = self.at + k;
                if rest[k] == b'\\' {
                    self.at = j + 2;
                } else {
                    self.at = j + 1;
                    break;
                }
            }
        }
    }
}

/// The position of the first `"` or `\` in `h`, eight bytes at a time.
fn quote_or_backslash(h: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Non-zero exactly when some byte of `x` is zero.
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut skipped = 0;
    for chunk in h.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if zero_byte(w ^ (ONES * u64::from(b'"'))) | zero_byte(w ^ (ONES * u64::from(b'\\'))) != 0 {
            break;
        }
        skipped += 8;
    }
    h[skipped..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|k| skipped + k)
}

/// Checks that `s` is exactly one JSON value (surrounding whitespace allowed).
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

/// The elements of `s`, a JSON array already known to be valid (by [`validate`]), each as the raw
/// slice of `s` it was written as: what [`split_array`] returns, in one pass over the bytes and
/// without parsing again. On other input it never panics, but what it returns is unspecified;
/// `None` when `s` is not even bracketed.
pub fn split_valid_array(s: &str) -> Option<Vec<&str>> {
    let inner = s
        .trim_matches(is_json_space)
        .strip_prefix('[')?
        .strip_suffix(']')?;
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, b) in outside_strings(inner) {
        match b {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            // `i` and `i + 1` are char boundaries: `,` is ASCII.
            b',' if depth == 0 => {
                items.push(inner[start..i].trim_matches(is_json_space));
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim_matches(is_json_space);
    if !last.is_empty() || !items.is_empty() {
        items.push(last);
    }
    Some(items)
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
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
        assert_eq!(quote_or_backslash(b"0123456789abcdef\"x"), Some(16));
        assert_eq!(quote_or_backslash(b"01234567\\"), Some(8));
        assert_eq!(quote_or_backslash(b"0123456789"), None);
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
    fn split_valid_array_agrees_with_split_array_on_valid_arrays() {
        for s in [
            "[\"a\", {\"b\" : 1}, \"\\u00e9\"]",
            "[]",
            " [ ] ",
            "[1]",
            "\r\n[ \"x,y\" ,[1,[2,{\"k\":\"]\"}]], \"\\\"\\\\\" , null ]\t",
            "[\"message\",{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\"}]",
            "[\"é,\",\"日本\",-1.5e3]",
        ] {
            assert!(validate(s).is_ok(), "{s}");
            assert_eq!(split_valid_array(s), split_array(s), "{s}");
        }
        assert_eq!(split_valid_array("{}"), None);
    }
}
