//! The JSONPath subset CRDs use to point into objects: printer columns,
//! scale replica and selector paths, selectable fields. client-go's
//! grammar, minus ranges and recursive descent: `.a.b`, `['a.b']`,
//! `[0]`, `[-1]`, `[*]` and filters `[?(@.type=="Ready")]` (`==`, `!=`,
//! `<`, `<=`, `>`, `>=`, or a bare `@.x` for existence).

use std::fmt;

use serde_json::Value;

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    All,
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<String>,
    test: Option<(Op, Value)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why a path does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl JsonPath {
    /// Parses `.spec.replicas` (an optional `{…}` wrapper is accepted, as
    /// kubectl's `-o jsonpath` writes it).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let inner = text
            .trim()
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text.trim());
        let inner = inner.strip_prefix('$').unwrap_or(inner);
        let mut parser = Parser {
            rest: inner,
            steps: Vec::new(),
        };
        parser.steps()?;
        Ok(Self {
            text: text.to_string(),
            steps: parser.steps,
        })
    }

    /// The plain field path (`["spec", "replicas"]`) when the path is only
    /// field steps: what writes through a path (scale) need.
    pub fn fields(&self) -> Option<Vec<&str>> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Field(name) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Every value the path selects in `obj`, in document order.
    pub fn find<'a>(&self, obj: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![obj];
        for step in &self.steps {
            let mut next = Vec::new();
            for value in current {
                match step {
                    Step::Field(name) => next.extend(value.get(name.as_str())),
                    Step::Index(i) => {
                        if let Some(items) = value.as_array() {
                            let at = if *i < 0 { items.len() as i64 + i } else { *i };
                            next.extend(usize::try_from(at).ok().and_then(|at| items.get(at)));
                        }
                    }
                    Step::All => match value {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(map) => next.extend(map.values()),
                        _ => {}
                    },
                    Step::Filter(filter) => {
                        if let Some(items) = value.as_array() {
                            next.extend(items.iter().filter(|item| filter.matches(item)));
                        }
                    }
                }
            }
            current = next;
        }
        current
    }

    /// The first value selected, if any.
    pub fn first<'a>(&self, obj: &'a Value) -> Option<&'a Value> {
        self.find(obj).into_iter().next()
    }
}

impl Filter {
    fn matches(&self, item: &Value) -> bool {
        let mut value = item;
        for name in &self.path {
            match value.get(name.as_str()) {
                Some(v) => value = v,
                None => return false,
            }
        }
        let Some((op, expected)) = &self.test else {
            return true;
        };
        let ordering = match (value, expected) {
            (Value::Number(a), Value::Number(b)) => a
                .as_f64()
                .zip(b.as_f64())
                .and_then(|(a, b)| a.partial_cmp(&b)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (a, b) => (a == b).then_some(std::cmp::Ordering::Equal),
        };
        use std::cmp::Ordering::*;
        match op {
            Op::Eq => ordering == Some(Equal),
            Op::Ne => ordering != Some(Equal),
            Op::Lt => ordering == Some(Less),
            Op::Le => matches!(ordering, Some(Less | Equal)),
            Op::Gt => ordering == Some(Greater),
            Op::Ge => matches!(ordering, Some(Greater | Equal)),
        }
    }
}

struct Parser<'a> {
    rest: &'a str,
    steps: Vec<Step>,
}

impl Parser<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, ParseError> {
        Err(ParseError(format!("{what} at {:?}", self.rest)))
    }

    fn steps(&mut self) -> Result<(), ParseError> {
        while !self.rest.is_empty() {
            if let Some(rest) = self.rest.strip_prefix('.') {
                if rest.starts_with('.') {
                    return self.fail("recursive descent is not supported");
                }
                self.rest = rest;
                if self.rest.is_empty() || self.rest.starts_with('[') {
                    continue;
                }
                let name = self.name();
                if name.is_empty() {
                    return self.fail("expected a field name");
                }
                self.steps.push(if name == "*" {
                    Step::All
                } else {
                    Step::Field(name)
                });
            } else if let Some(rest) = self.rest.strip_prefix('[') {
                let Some(end) = closing_bracket(rest) else {
                    return self.fail("unclosed '['");
                };
                let inside = rest[..end].trim();
                self.rest = &rest[end + 1..];
                let step = bracket(inside)
                    .ok_or_else(|| ParseError(format!("cannot parse [{inside}] in a JSONPath")))?;
                self.steps.push(step);
            } else {
                return self.fail("expected '.' or '['");
            }
        }
        Ok(())
    }

    /// A dotted field name; `\.` escapes a dot inside it.
    fn name(&mut self) -> String {
        let mut name = String::new();
        let mut chars = self.rest.char_indices().peekable();
        let mut end = self.rest.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(|(_, n)| *n == '.') => {
                    name.push('.');
                    chars.next();
                }
                '.' | '[' => {
                    end = i;
                    break;
                }
                c => name.push(c),
            }
        }
        self.rest = &self.rest[end..];
        name
    }
}

/// Where the `]` closing a bracket is, skipping quoted text.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

fn bracket(inside: &str) -> Option<Step> {
    if inside == "*" {
        return Some(Step::All);
    }
    if let Some(quoted) = unquote(inside) {
        return Some(Step::Field(quoted));
    }
    if let Ok(index) = inside.parse::<i64>() {
        return Some(Step::Index(index));
    }
    let expr = inside.strip_prefix("?(")?.strip_suffix(')')?.trim();
    filter(expr).map(Step::Filter)
}

fn unquote(text: &str) -> Option<String> {
    let quoted = (text.starts_with('\'') && text.ends_with('\''))
        || (text.starts_with('"') && text.ends_with('"'));
    (quoted && text.len() >= 2).then(|| text[1..text.len() - 1].to_string())
}

fn filter(expr: &str) -> Option<Filter> {
    const OPS: &[(&str, Op)] = &[
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let (left, test) = match OPS.iter().find_map(|(s, op)| {
        expr.find(s)
            .map(|at| (&expr[..at], *op, &expr[at + s.len()..]))
    }) {
        Some((left, op, right)) => (left.trim(), Some((op, literal(right.trim())?))),
        None => (expr, None),
    };
    let path = left.strip_prefix('@')?;
    let path: Vec<String> = path
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Some(Filter { path, test })
}

fn literal(text: &str) -> Option<Value> {
    if let Some(s) = unquote(text) {
        return Some(Value::String(s));
    }
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, obj: &Value) -> Vec<Value> {
        JsonPath::parse(path)
            .unwrap()
            .find(obj)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn fields_indexes_wildcards_and_filters() {
        let obj = json!({
            "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"size": 3, "ports": [{"port": 80}, {"port": 443}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Synced", "status": "False"},
            ]},
        });
        assert_eq!(find(".spec.size", &obj), vec![json!(3)]);
        assert_eq!(find("{.spec.size}", &obj), vec![json!(3)]);
        assert_eq!(find(".spec.ports[1].port", &obj), vec![json!(443)]);
        assert_eq!(find(".spec.ports[-1].port", &obj), vec![json!(443)]);
        assert_eq!(
            find(".spec.ports[*].port", &obj),
            vec![json!(80), json!(443)]
        );
        assert_eq!(
            find(r#".status.conditions[?(@.type=="Ready")].status"#, &obj),
            vec![json!("True")]
        );
        assert_eq!(
            find(".status.conditions[?(@.type!='Ready')].type", &obj),
            vec![json!("Synced")]
        );
        assert_eq!(
            find(".spec.ports[?(@.port>100)].port", &obj),
            vec![json!(443)]
        );
        assert_eq!(
            find(r".metadata.labels.app\.kubernetes\.io/name", &obj),
            vec![json!("web")]
        );
        assert_eq!(
            find(".metadata.labels['app.kubernetes.io/name']", &obj),
            vec![json!("web")]
        );
        assert!(find(".spec.missing", &obj).is_empty());
        assert!(find(".spec.size.deeper", &obj).is_empty());
    }

    #[test]
    fn field_paths_and_errors() {
        let path = JsonPath::parse(".spec.replicas").unwrap();
        assert_eq!(path.fields(), Some(vec!["spec", "replicas"]));
        assert_eq!(JsonPath::parse(".spec.x[0]").unwrap().fields(), None);
        assert!(JsonPath::parse(".spec[").is_err());
        assert!(JsonPath::parse("..spec").is_err());
        assert!(JsonPath::parse("spec").is_err());
        assert!(JsonPath::parse(".a[?(nonsense)]").is_err());
    }
}
