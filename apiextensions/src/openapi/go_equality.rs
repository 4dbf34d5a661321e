//! Go's equality on decoded JSON as kube-openapi applies it: `enum`
//! membership after `reflect` conversion, `reflect.DeepEqual`, and
//! go-openapi's tolerance for float results of `multipleOf`.

use crate::go_fmt::GoNumber;
use serde_json::Value;

/// go-openapi's `swag.IsFloat64AJSONInteger`.
pub(super) fn is_json_integer(f: f64) -> bool {
    const MAX: f64 = 9_007_199_254_740_991.0;
    if f.is_nan() || f.is_infinite() || !(-MAX..=MAX).contains(&f) {
        return false;
    }
    let g = f.trunc();
    if f == g {
        return true;
    }
    let diff = (f - g).abs();
    if g == 0.0 || diff < f64::MIN_POSITIVE {
        return diff < 1e-9 * f64::MIN_POSITIVE;
    }
    diff / (f.abs() + g.abs()).min(f64::MAX) < 1e-9
}

/// Whether `data` equals `enum_value` after Go's conversion to the enum
/// value's type (`reflect.Value.Convert`), then `reflect.DeepEqual`.
pub(super) fn enum_matches(data: &Value, enum_value: &Value) -> bool {
    match (enum_value, data) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::String(e), Value::String(d)) => e == d,
        (Value::String(e), Value::Number(n)) => match GoNumber::of(n) {
            // Go converts an integer to the string of that rune.
            GoNumber::Int(i) => {
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                e.chars().eq(std::iter::once(c))
            }
            GoNumber::Float(_) => false,
        },
        (Value::Number(e), Value::Number(d)) => match (GoNumber::of(e), GoNumber::of(d)) {
            (GoNumber::Int(e), GoNumber::Int(d)) => e == d,
            (GoNumber::Int(e), GoNumber::Float(d)) => d as i64 == e,
            (GoNumber::Float(e), d) => d.as_f64() == e,
        },
        (Value::Bool(e), Value::Bool(d)) => e == d,
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            deep_equal(enum_value, data)
        }
        _ => false,
    }
}

/// Go's `reflect.DeepEqual` on decoded JSON: `int64` never equals `float64`.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => GoNumber::of(x) == GoNumber::of(y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| deep_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => a == b,
    }
}

pub(super) fn has_duplicates(items: &[Value]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items[..i].iter().any(|b| deep_equal(a, b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enum_equality_follows_go_conversion() {
        assert!(enum_matches(&json!(1), &json!(1.0)));
        assert!(enum_matches(&json!(1.5), &json!(1)));
        assert!(!enum_matches(&json!(1.5), &json!(1.0)));
        assert!(enum_matches(&json!(65), &json!("A")));
        assert!(!enum_matches(&json!("1"), &json!(1)));
        assert!(!enum_matches(&json!(null), &json!(null)));
        assert!(enum_matches(&json!({"a": [1]}), &json!({"a": [1]})));
        assert!(!enum_matches(&json!({"a": 1}), &json!({"a": 1.0})));
    }

    #[test]
    fn json_integer_check_tolerates_rounding() {
        assert!(is_json_integer(3.0));
        assert!(is_json_integer(10.0 * 0.3));
        assert!(!is_json_integer(0.3 / 0.1));
        assert!(!is_json_integer(2.5));
        assert!(!is_json_integer(1e300));
    }
}
