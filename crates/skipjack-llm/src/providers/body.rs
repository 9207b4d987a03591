//! A request's JSON body, written by sonic-rs's serde serialiser.
//!
//! Every turn sends the whole history again, and serde_json escapes each string a byte at a
//! time: ~5 instructions a byte, a quarter of a turn's instructions at 150 turns. sonic-rs
//! scans strings 16 bytes at a time and writes the same bytes (its property test below holds
//! it to serde_json's output for any string and JSON value).

use serde::Serialize;

use crate::error::{ErrorKind, LlmError};

/// `body` as JSON.
///
/// # Errors
/// `body` cannot be JSON (a map with non-string keys, a non-finite float).
pub fn to_json<T: Serialize + ?Sized>(body: &T) -> Result<Vec<u8>, LlmError> {
    sonic_rs::to_vec(body)
        .map_err(|e| LlmError::new(ErrorKind::BadRequest, format!("could not encode the request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\/\\x7f\u{80}-\u{10ffff}a-z]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn writes_what_serde_json_writes(value in json_value()) {
            prop_assert_eq!(to_json(&value).unwrap(), serde_json::to_vec(&value).unwrap());
        }

        #[test]
        fn escapes_any_string_as_serde_json_does(text in any::<String>(), pad in 0usize..40) {
            // Long runs too, so the 16-byte blocks and their tails are both crossed.
            let text = format!("{}{text}{}", "x".repeat(pad), "\u{1}\"\\".repeat(pad % 3));
            prop_assert_eq!(to_json(&text).unwrap(), serde_json::to_vec(&text).unwrap());
        }
    }

    #[test]
    fn edge_values_match() {
        let cases = [
            json!([0.1, 1e21, 1e-7, -0.0, 5e-324, f64::MAX, f64::MIN_POSITIVE, 123_456_789.0, 0.3]),
            json!({"\u{2028}": "\u{2029}", "\u{7f}": "\u{0}", "": "", "k": [[], {}, null]}),
            json!("a".repeat(100_000) + "\"" + &"\u{e9}".repeat(1000)),
        ];
        for value in cases {
            assert_eq!(to_json(&value).unwrap(), serde_json::to_vec(&value).unwrap(), "{value}");
        }
        // Structs with borrowed fields, as the providers' wire types are.
        #[derive(Serialize)]
        struct Wire<'a> {
            role: &'a str,
            content: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            name: Option<&'a str>,
            n: u32,
            t: f32,
        }
        let wire = [Wire { role: "tool", content: Some("line 1\n\t\"x\""), name: None, n: 7, t: 0.7 }];
        assert_eq!(to_json(&wire[..]).unwrap(), serde_json::to_vec(&wire[..]).unwrap());
    }
}
