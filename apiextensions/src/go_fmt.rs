//! Values rendered the way kube-apiserver's Go code prints them, so field
//! errors read byte-for-byte like kube's: `%q` strings, `%v` numbers
//! (`1e+06`), `%#v` maps (`map[string]interface {}{"name":"a"}`) and
//! `encoding/json` output for enum lists.

use serde_json::Value;
use std::fmt::Write;

/// A JSON number as Go's unstructured decoding holds it: `int64` when the
/// literal is an integer that fits, `float64` otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum GoNumber {
    Int(i64),
    Float(f64),
}

impl GoNumber {
    /// Classifies a serde number like kube's JSON decoder does.
    pub(crate) fn of(n: &serde_json::Number) -> GoNumber {
        match n.as_i64() {
            Some(i) => GoNumber::Int(i),
            None => GoNumber::Float(n.as_f64().unwrap_or(0.0)),
        }
    }

    /// The value as a float, for comparisons kube makes in `float64`.
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            GoNumber::Int(i) => i as f64,
            GoNumber::Float(f) => f,
        }
    }
}

/// Go's `strconv.Quote`: a double-quoted string with Go escapes.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: graphic characters and the
/// ASCII space.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff)
}

/// Go's `%v` (and `%#v`) for a `float64`: `strconv`'s `'g'` with the
/// shortest digits, which switches to exponent form below 1e-4 and from 1e6.
pub(crate) fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (neg, digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        push_exponent_form(&mut out, &digits, exp);
    } else {
        push_fixed_form(&mut out, &digits, exp);
    }
    out
}

/// Go's `encoding/json` number text for a `float64`.
fn json_float(f: f64) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let (neg, digits, exp) = shortest_digits(f);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        push_exponent_form(&mut out, &digits, exp);
        // encoding/json trims `e-07` to `e-7`.
        if let Some(pos) = out.rfind("e-0") {
            out.remove(pos + 2);
        }
    } else {
        push_fixed_form(&mut out, &digits, exp);
    }
    out
}

/// Sign, shortest round-trip decimal digits and the decimal exponent of the
/// first digit (`1234.5` → `12345`, 3).
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let text = format!("{:e}", f.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    (f.is_sign_negative(), digits, exp.parse().unwrap_or(0))
}

fn push_exponent_form(out: &mut String, digits: &str, exp: i32) {
    let mut chars = digits.chars();
    if let Some(first) = chars.next() {
        out.push(first);
    }
    let rest = chars.as_str();
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
}

fn push_fixed_form(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
        return;
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        out.push_str(digits);
        for _ in digits.len()..int_len {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..int_len]);
        out.push('.');
        out.push_str(&digits[int_len..]);
    }
}

/// Go's `%v` of a JSON number.
pub(crate) fn number(n: &serde_json::Number) -> String {
    match GoNumber::of(n) {
        GoNumber::Int(i) => i.to_string(),
        GoNumber::Float(f) => float(f),
    }
}

/// A bad value as `field.Error` prints it after `Invalid value: `: strings
/// `%q`, numbers and booleans `%v`, maps and slices `%#v`, nil as `"null"`.
pub(crate) fn error_value(v: &Value) -> String {
    match v {
        Value::Null => "\"null\"".to_string(),
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::Array(_) | Value::Object(_) => sharp_v(v),
    }
}

/// Go's `%#v` of an unstructured JSON value (`map[string]interface {}{…}`,
/// `[]interface {}{…}`), keys sorted as `fmt` sorts them.
pub(crate) fn sharp_v(v: &Value) -> String {
    let mut out = String::new();
    push_sharp_v(&mut out, v);
    out
}

fn push_sharp_v(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("interface {}(nil)"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(&quote(s)),
        Value::Array(items) => {
            out.push_str("[]interface {}{");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_sharp_v(out, item);
            }
            out.push('}');
        }
        Value::Object(map) => {
            out.push_str("map[string]interface {}{");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quote(k));
                out.push(':');
                if let Some(value) = map.get(k) {
                    push_sharp_v(out, value);
                }
            }
            out.push('}');
        }
    }
}

/// Go's `%#v` of a `[]string`.
pub(crate) fn string_slice(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// Go's `encoding/json` `Marshal` output: sorted keys, HTML-safe escapes.
pub(crate) fn json(v: &Value) -> String {
    let mut out = String::new();
    push_json(&mut out, v);
    out
}

fn push_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match GoNumber::of(n) {
            GoNumber::Int(i) => {
                let _ = write!(out, "{i}");
            }
            GoNumber::Float(f) => out.push_str(&json_float(f)),
        },
        Value::String(s) => push_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, k);
                out.push(':');
                if let Some(value) = map.get(k) {
                    push_json(out, value);
                }
            }
            out.push('}');
        }
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_go_percent_v() {
        assert_eq!(float(1.0), "1");
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(123456.0), "123456");
        assert_eq!(float(1234567.0), "1.234567e+06");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(-2.5), "-2.5");
        assert_eq!(float(100.0), "100");
    }

    #[test]
    fn json_floats_print_like_encoding_json() {
        assert_eq!(json(&json!(1.5)), "1.5");
        assert_eq!(json(&json!(1e21)), "1e+21");
        assert_eq!(json(&json!(1e-7)), "1e-7");
        assert_eq!(json(&json!(100000000.0)), "100000000");
    }

    #[test]
    fn maps_print_like_go_sharp_v() {
        assert_eq!(
            sharp_v(&json!({"name": "a"})),
            r#"map[string]interface {}{"name":"a"}"#
        );
        assert_eq!(
            sharp_v(&json!({"b": [1, null], "a": 1.5})),
            r#"map[string]interface {}{"a":1.5, "b":[]interface {}{1, interface {}(nil)}}"#
        );
        assert_eq!(sharp_v(&json!({})), "map[string]interface {}{}");
    }

    #[test]
    fn error_values_render_like_field_error() {
        assert_eq!(error_value(&json!("x")), "\"x\"");
        assert_eq!(error_value(&json!(null)), "\"null\"");
        assert_eq!(error_value(&json!(0)), "0");
        assert_eq!(error_value(&json!(true)), "true");
        assert_eq!(quote("a\"b\n\u{1}"), "\"a\\\"b\\n\\x01\"");
        assert_eq!(
            string_slice(&["a".into(), "b".into()]),
            r#"[]string{"a", "b"}"#
        );
    }

    #[test]
    fn json_sorts_keys_and_escapes_html() {
        assert_eq!(
            json(&json!({"b": 1, "a": "<x>"})),
            r#"{"a":"\u003cx\u003e","b":1}"#
        );
    }
}
