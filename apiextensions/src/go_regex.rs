//! `pattern`s are Go RE2 syntax; the `regex` crate is nearly the same
//! language. This rewrites the differences that change matches (Go's `\d`,
//! `\w`, `\s` and `\b` are ASCII-only, `[` inside a class is a literal,
//! `\Q…\E` quotes) and compiles each distinct pattern once per schema.

use regex::Regex;
use std::collections::HashMap;
use std::sync::Arc;

/// Compiled patterns of one schema, shared between the nodes that repeat them.
#[derive(Default)]
pub(crate) struct PatternCache {
    compiled: HashMap<String, Result<Arc<Regex>, String>>,
}

impl PatternCache {
    /// The pattern compiled with Go's semantics, or Go-worded reason it does not compile.
    pub(crate) fn compile(&mut self, pattern: &str) -> Result<Arc<Regex>, String> {
        if let Some(done) = self.compiled.get(pattern) {
            return done.clone();
        }
        let result = Regex::new(&translate(pattern))
            .map(Arc::new)
            .map_err(|e| format!("error parsing regexp: {}", last_line(&e.to_string())));
        self.compiled.insert(pattern.to_string(), result.clone());
        result
    }
}

fn last_line(message: &str) -> &str {
    let line = message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message);
    line.trim().trim_start_matches("error: ")
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0C\r ";

/// Rewrites a Go regexp into the `regex` crate's syntax with the same matches.
pub(crate) fn translate(go: &str) -> String {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let e = chars[i + 1];
            i += 2;
            if e == 'Q' {
                let mut literal = String::new();
                while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                    literal.push(chars[i]);
                    i += 1;
                }
                i += 2;
                if in_class {
                    for ch in literal.chars() {
                        out.push_str(&regex::escape(&ch.to_string()));
                    }
                } else {
                    out.push_str(&regex::escape(&literal));
                }
                continue;
            }
            push_escape(&mut out, e, in_class);
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    // A POSIX class `[:alpha:]`: copy through its closing `:]`.
                    let start = i;
                    let mut end = i + 2;
                    while end + 1 < chars.len() && !(chars[end] == ':' && chars[end + 1] == ']') {
                        end += 1;
                    }
                    let stop = (end + 2).min(chars.len());
                    out.extend(&chars[start..stop]);
                    i = stop;
                    continue;
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if chars.get(i + 1) == Some(&'-')
                    || (chars.get(i + 1) == Some(&'\\')
                        && chars.get(i + 2).is_some_and(|n| "dDwWsSpP".contains(*n))) =>
                {
                    out.push_str("\\-");
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            out.push('[');
            i += 1;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            if chars.get(i) == Some(&']') {
                out.push_str("\\]");
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn push_escape(out: &mut String, e: char, in_class: bool) {
    let (set, negated) = match e {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        'b' if !in_class => {
            out.push_str(r"(?-u:\b)");
            return;
        }
        'B' if !in_class => {
            out.push_str(r"(?-u:\B)");
            return;
        }
        _ => {
            out.push('\\');
            out.push(e);
            return;
        }
    };
    match (in_class, negated) {
        (true, false) => out.push_str(set),
        _ => {
            out.push('[');
            if negated {
                out.push('^');
            }
            out.push_str(set);
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiles(p: &str) -> Regex {
        PatternCache::default()
            .compile(p)
            .map(|r| (*r).clone())
            .unwrap()
    }

    #[test]
    fn classes_are_ascii_like_go() {
        let re = compiles(r"^\d+$");
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
        assert!(compiles(r"^[\w.-]+$").is_match("a_b.c-d"));
        assert!(compiles(r"^\S+$").is_match("é"));
        assert!(compiles(r"^[^\s]+$").is_match("ab"));
    }

    #[test]
    fn go_literals_stay_literal() {
        assert!(compiles(r"^[[]+$").is_match("[["));
        assert!(compiles(r"^[]a]+$").is_match("]a"));
        assert!(compiles(r"^[a&&b]+$").is_match("&"));
        assert!(compiles(r"^\Q.*\E$").is_match(".*"));
        assert!(compiles(r"^[a-z0-9-\p{L}]+$").is_match("é-1"));
        assert!(compiles(r"^[[:alpha:]]+$").is_match("abc"));
    }

    #[test]
    fn kube_quantity_pattern_compiles() {
        let re = compiles(
            r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
        );
        assert!(re.is_match("100Mi"));
        assert!(!re.is_match("100MB"));
    }

    #[test]
    fn invalid_patterns_explain_why() {
        let err = PatternCache::default().compile("+").unwrap_err();
        assert!(err.starts_with("error parsing regexp: "), "{err}");
    }
}
