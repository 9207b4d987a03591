//! Field deserializers shared by the wire decoders: a field of an unexpected shape counts
//! as absent instead of failing the whole event it rides on (servers and gateways differ).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An object, or `None` for anything else (an array would otherwise fill a struct in order).
pub(crate) fn lenient_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.filter(Value::is_object).and_then(|v| serde_json::from_value(v).ok()))
}

/// `None` instead of an error for a value of an unexpected shape.
pub(crate) fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| serde_json::from_value(v).ok()))
}

/// A token count, as [`count_of`] reads it.
pub(crate) fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(count_of))
}

/// A count: a non-negative integer, a float (`12.0`, rounded) or a numeric string (`"12"`,
/// which OpenAI-compatible gateways send); negatives, non-finite numbers and anything else
/// are `None`. One contract for every provider, so a gateway relaying one API's usage in
/// another's format is counted the same way.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range checked first
pub(crate) fn count_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e18).map(|f| f.round() as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::count_of;

    #[test]
    fn counts_integers_floats_and_numeric_strings() {
        assert_eq!(count_of(&json!(12)), Some(12));
        assert_eq!(count_of(&json!(12.0)), Some(12));
        assert_eq!(count_of(&json!(11.6)), Some(12));
        assert_eq!(count_of(&json!("12")), Some(12));
        assert_eq!(count_of(&json!(" 7 ")), Some(7));
    }

    #[test]
    fn rejects_what_is_not_a_count() {
        for v in [
            json!(-1),
            json!(-0.5),
            json!(1e300),
            json!("-3"),
            json!("12.5"),
            json!("many"),
            json!(""),
            json!(null),
            json!(true),
            json!([12]),
            json!({"n": 12}),
        ] {
            assert_eq!(count_of(&v), None, "{v}");
        }
    }
}
