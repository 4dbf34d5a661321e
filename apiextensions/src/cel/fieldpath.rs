//! Field paths as kube's `field.Path` renders them, and the rule
//! `fieldPath` grammar (`ValidFieldPath`): `.a.b`, `['a.b']` on objects,
//! `.key`/`['key']` on maps; no list indexes.

use super::schema::Node;

/// `parent.name`, or `name` at the root.
pub(crate) fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[key]` (indexes and map keys alike).
pub(crate) fn key(parent: &str, key: &str) -> String {
    format!("{parent}[{key}]")
}

/// The path kube prints: `<nil>` for the root.
pub(crate) fn render(path: &str) -> String {
    if path.is_empty() {
        "<nil>".to_string()
    } else {
        path.to_string()
    }
}

fn unescape_single_quote(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some('\'') => out.push('\''),
            Some('\\') => out.push('\\'),
            Some(other) => return Err(format!("invalid escape char \\{other}")),
            None => return Err("invalid escape char \\".to_string()),
        }
    }
    Ok(out)
}

fn tokens(path: &str) -> Vec<String> {
    let chars: Vec<char> = path.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\'' {
            let mut j = i + 1;
            while j < chars.len() && !(chars[j] == '\'' && chars[j - 1] != '\\') {
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            out.push(chars[i..end].iter().collect());
            i = end;
            continue;
        }
        if matches!(chars[i], '.' | '[' | ']') {
            out.push(chars[i].to_string());
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && !matches!(chars[j], '.' | '[' | ']') {
            j += 1;
        }
        out.push(chars[i..j].iter().collect());
        i = j;
    }
    out
}

/// Validates a rule's `fieldPath` against the schema of the node the rule
/// is on, returning the normalized relative path (`spec.x`, `map[key]`).
pub(crate) fn valid_field_path(path: &str, schema: &Node) -> Result<String, String> {
    let toks = tokens(path);
    let mut it = toks.into_iter();
    let mut out = String::new();
    let mut node = schema;
    let append = |node: &mut &Node, out: &mut String, name: &str| -> Result<(), String> {
        let named = if !node.properties.is_empty() {
            true
        } else if node.additional.is_some() {
            false
        } else {
            return Err("does not refer to a valid field".to_string());
        };
        if named {
            let Some(p) = node.property(name, false) else {
                return Err("does not refer to a valid field".to_string());
            };
            *out = child(out, name);
            *node = p;
        } else {
            *out = key(out, name);
            *node = node.additional.as_deref().expect("checked");
        }
        Ok(())
    };
    while let Some(tok) = it.next() {
        match tok.as_str() {
            "[" => {
                let t = it.next().ok_or("unexpected end of JSON path")?;
                if t.len() < 2 || !t.starts_with('\'') || !t.ends_with('\'') {
                    return Err(format!("expected single quoted string but got {t}"));
                }
                let name = unescape_single_quote(&t[1..t.len() - 1])
                    .map_err(|e| format!("invalid string literal: {e}"))?;
                append(&mut node, &mut out, &name)?;
                let close = it.next().ok_or("unexpected end of JSON path")?;
                if close != "]" {
                    return Err(format!("expected ] but got {close}"));
                }
            }
            "." => {
                let name = it.next().ok_or("unexpected end of JSON path")?;
                append(&mut node, &mut out, &name)?;
            }
            other => return Err(format!("expected [ or . but got: {other}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_normalize_like_kube() {
        let s = Node::parse(&json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "a.b": {"type": "string"},
                    "m": {"type": "object", "additionalProperties": {"type": "string"}}
                }}
            }
        }));
        assert_eq!(valid_field_path(".spec", &s).unwrap(), "spec");
        assert_eq!(valid_field_path(".spec['a.b']", &s).unwrap(), "spec.a.b");
        assert_eq!(valid_field_path(".spec.m.k", &s).unwrap(), "spec.m[k]");
        assert_eq!(
            valid_field_path(".spec.m['x y']", &s).unwrap(),
            "spec.m[x y]"
        );
        assert!(valid_field_path(".nope", &s).is_err());
        assert!(valid_field_path("spec", &s).is_err());
        assert!(valid_field_path(".spec[0]", &s).is_err());
    }
}
