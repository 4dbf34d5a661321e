//! JSON values as CEL values, typed by their schema as kube's
//! `UnstructuredToVal` types them: `integer` as int, `number` as double,
//! strings of format `date`/`date-time` as timestamps, `duration` as
//! durations and `byte` as bytes, objects as maps of their declared
//! (escaped) properties, `additionalProperties` objects as maps of every
//! key, int-or-string and untyped values by what they hold. Strings borrow
//! from the JSON: nothing is copied but the containers.

use super::library::ENV;
use super::schema::{Node, escape};
use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString,
};
use cel::common::value::{CowVal, Val};
use serde_json::Value;
use std::collections::HashMap;

/// `v` as a CEL value, typed by `node` (`None`: untyped).
pub(crate) fn to_val<'v>(
    v: &'v Value,
    node: Option<&Node>,
    resource_root: bool,
) -> Box<dyn Val + 'v> {
    let Some(node) = node else {
        return untyped(v);
    };
    if node.int_or_string {
        return untyped(v);
    }
    match (node.type_.as_str(), v) {
        (_, Value::Null) => Box::new(CelNull),
        ("object", Value::Object(o)) => {
            let mut m: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = HashMap::with_capacity(o.len());
            if let Some(add) = &node.additional {
                for (k, val) in o {
                    m.insert(
                        CelMapKey::from(k.as_str()),
                        to_val(val, Some(add), add.embedded),
                    );
                }
            } else {
                for (k, val) in o {
                    let Some(prop) = node.property(k, resource_root) else {
                        continue;
                    };
                    let Some(name) = escape(k) else {
                        continue;
                    };
                    if prop.decl(prop.embedded).is_none() {
                        continue;
                    }
                    m.insert(
                        CelMapKey::from(name),
                        to_val(val, Some(prop), prop.embedded),
                    );
                }
            }
            Box::new(CelMap::from(m))
        }
        ("array", Value::Array(a)) => {
            let items = node.items.as_deref();
            let embedded = items.is_some_and(|i| i.embedded);
            let list: Vec<Box<dyn Val + 'v>> =
                a.iter().map(|x| to_val(x, items, embedded)).collect();
            Box::new(CelList::from(list))
        }
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Box::new(CelInt::from(f as i64)),
                Some(f) => Box::new(CelDouble::from(f)),
                None => Box::new(CelNull),
            },
        },
        ("number", Value::Number(n)) => Box::new(CelDouble::from(n.as_f64().unwrap_or(0.0))),
        ("string", Value::String(s)) => {
            match node.format.as_str() {
                "date-time" => parse_with("timestamp", s)
                    .unwrap_or_else(|| Box::new(CelString::from(s.as_str()))),
                "date" => parse_with("timestamp", &format!("{s}T00:00:00Z"))
                    .unwrap_or_else(|| Box::new(CelString::from(s.as_str()))),
                "duration" => parse_with("duration", s)
                    .unwrap_or_else(|| Box::new(CelString::from(s.as_str()))),
                "byte" => match base64_decode(s) {
                    Some(b) => Box::new(CelBytes::from(b)),
                    None => Box::new(CelString::from(s.as_str())),
                },
                _ => Box::new(CelString::from(s.as_str())),
            }
        }
        _ => untyped(v),
    }
}

/// A value with no schema: numbers as int when integral, objects as maps of
/// every key.
fn untyped<'v>(v: &'v Value) -> Box<dyn Val + 'v> {
    match v {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => Box::new(CelDouble::from(n.as_f64().unwrap_or(0.0))),
        },
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(a) => {
            let list: Vec<Box<dyn Val + 'v>> = a.iter().map(untyped).collect();
            Box::new(CelList::from(list))
        }
        Value::Object(o) => {
            let m: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = o
                .iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), untyped(v)))
                .collect();
            Box::new(CelMap::from(m))
        }
    }
}

/// Parses `s` with the standard library's `timestamp(string)` or
/// `duration(string)`.
fn parse_with(func: &str, s: &str) -> Option<Box<dyn Val + 'static>> {
    let arg: Box<dyn Val> = Box::new(CelString::from(s.to_string()));
    let args = vec![CowVal::Owned(arg)];
    let f = ENV.find_overload(func, &args)?;
    f(args).ok().map(CowVal::into_owned)
}

/// Standard base64 (padding optional), as `format: byte` strings hold.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b'\n' | b'\r' | b' ' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert!(base64_decode("*").is_none());
    }
}
