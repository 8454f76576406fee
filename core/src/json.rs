//! The little JSON work the protocol needs, without building values: a nesting-depth scan,
//! validation, and splitting an array into its elements as raw slices of the input.

use serde_json::value::RawValue;

use crate::socketio::Error;

/// The deepest nesting of arrays and objects in `s`, counting the outermost as 1. Strings are
/// skipped, escapes included. Runs on any input; it does not validate.
pub fn depth(s: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in s.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
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

/// Checks that `s` is exactly one JSON value (surrounding whitespace allowed).
pub fn validate(s: &str) -> Result<(), Error> {
    serde_json::from_str::<&RawValue>(s)
        .map(|_| ())
        .map_err(|_| Error::BadPayload)
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
}
