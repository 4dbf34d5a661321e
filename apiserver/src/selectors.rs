//! Label and field selectors: parsing kube's selector syntax and matching
//! objects, with the field selectors each kind supports.
//!
//! Both follow `k8s.io/apimachinery` v0.33 (`pkg/labels`, `pkg/fields`)
//! closely, down to the error messages, because clients show those messages
//! verbatim and tests compare them.

use mars_apiextensions::regex_error;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::projection::Projection;
use crate::resources::ResourceDef;

// ---------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------

/// A label selector operator (`k8s.io/apimachinery/pkg/selection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// The binary operators, in the order kube lists them in parse errors.
const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

/// One `key op values` term of a label selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a validated requirement, like `labels.NewRequirement`; the
    /// error is kube's aggregated field-error message.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, String> {
        let mut errors = Vec::new();
        if let Some(err) = validate_label_key(key, "key") {
            errors.push(err);
        }
        if let Some(err) = operator_arity_error(operator, &values) {
            errors.push(err);
        }
        if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for (i, value) in values.iter().enumerate() {
                if value.parse::<i64>().is_err() {
                    errors.push(invalid(
                        &format!("values[{i}]"),
                        &go_quote(value),
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    ));
                }
            }
        }
        for (i, value) in values.iter().enumerate() {
            let problems = label_value_errors(value);
            if !problems.is_empty() {
                let path = format!("values[{i}][{key}]");
                errors.push(invalid(&path, &go_quote(value), &problems.join("; ")));
            }
        }
        if errors.is_empty() {
            Ok(Self {
                key: key.to_string(),
                operator,
                values,
            })
        } else {
            Err(aggregate(errors))
        }
    }

    /// The label key the requirement tests.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The requirement's operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, as given (unsorted).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` (a `metadata.labels` object, possibly null) satisfy it.
    pub fn matches(&self, labels: &Value) -> bool {
        let value = labels.get(&self.key).and_then(Value::as_str);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                value.is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => !value.is_some_and(|v| self.has_value(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => self.compares(value),
        }
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }

    fn compares(&self, value: Option<&str>) -> bool {
        let Some(actual) = value.and_then(|v| v.parse::<i64>().ok()) else {
            return false;
        };
        let [bound] = self.values.as_slice() else {
            return false;
        };
        let Ok(bound) = bound.parse::<i64>() else {
            return false;
        };
        match self.operator {
            Operator::GreaterThan => actual > bound,
            _ => actual < bound,
        }
    }
}

impl fmt::Display for Requirement {
    /// kube's canonical form: `!k`, `k`, `k=v`, `k in (a,b)` (values sorted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::DoesNotExist => return write!(f, "!{}", self.key),
            Operator::Exists => return write!(f, "{}", self.key),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
        };
        let mut values = self.values.clone();
        values.sort();
        let values = values.join(",");
        match self.operator {
            Operator::In | Operator::NotIn => write!(f, "{}{op}({values})", self.key),
            _ => write!(f, "{}{op}{values}", self.key),
        }
    }
}

/// Whether the number of values suits the operator; kube's message if not.
fn operator_arity_error(operator: Operator, values: &[String]) -> Option<String> {
    let detail = match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            "for 'in', 'notin' operators, values set can't be empty"
        }
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            "exact-match compatibility requires one single value"
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            "values set must be empty for exists and does not exist"
        }
        Operator::GreaterThan | Operator::LessThan if values.len() != 1 => {
            "for 'Gt', 'Lt' operators, exactly one value is required"
        }
        _ => return None,
    };
    Some(invalid("values", &go_string_slice(values), detail))
}

/// A parsed label selector (`a=b,c!=d,e in (f,g),!h`): the AND of its
/// requirements, or a selector that matches nothing (a nil `LabelSelector`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// Parses `text`; the error is the message kube-apiserver gives.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Parser::new(text).parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            requirements,
            nothing: false,
        })
    }

    /// The selector of a `metav1.LabelSelector` object (`{matchLabels,
    /// matchExpressions}`), as workloads, PDBs and network policies carry it.
    /// Null selects nothing, `{}` everything (`LabelSelectorAsSelector`).
    pub fn from_label_selector_object(selector: &Value) -> Result<Self, String> {
        if selector.is_null() {
            return Ok(Self::nothing());
        }
        let mut requirements = Vec::new();
        if let Some(labels) = selector["matchLabels"].as_object() {
            for (key, value) in labels {
                let value = value.as_str().unwrap_or_default().to_string();
                requirements.push(Requirement::new(key, Operator::Equals, vec![value])?);
            }
        }
        for expr in selector["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            requirements.push(expression_requirement(expr)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            requirements,
            nothing: false,
        })
    }

    /// The selector of a plain label map (a Service's or ReplicationController's
    /// `selector`): every pair must match; null or `{}` selects everything.
    /// Like `labels.SelectorFromSet`, it does not validate.
    pub fn from_set(labels: &Value) -> Self {
        let mut requirements: Vec<Requirement> = labels
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| Requirement {
                key: key.clone(),
                operator: Operator::Equals,
                values: vec![value.as_str().unwrap_or_default().to_string()],
            })
            .collect();
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self {
            requirements,
            nothing: false,
        }
    }

    /// A selector that matches no object (`labels.Nothing()`).
    pub fn nothing() -> Self {
        Self {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether an object with `labels` (its `metadata.labels`, possibly null) matches.
    pub fn matches(&self, labels: &Value) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches everything.
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }
}

impl fmt::Display for LabelSelector {
    /// kube's canonical string (`Selector.String()`); empty for everything
    /// and for nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// One `matchExpressions` entry as a requirement.
fn expression_requirement(expr: &Value) -> Result<Requirement, String> {
    let operator = match expr["operator"].as_str().unwrap_or_default() {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => {
            return Err(format!(
                "{} is not a valid label selector operator",
                go_quote(other)
            ));
        }
    };
    let values = expr["values"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    Requirement::new(expr["key"].as_str().unwrap_or_default(), operator, values)
}

/// A lexer token of the label selector grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// The token a literal spells, if it is one of the grammar's symbols or keywords.
fn keyword(literal: &str) -> Option<Token> {
    Some(match literal {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(ch: u8) -> bool {
    matches!(ch, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits a label selector into tokens, byte by byte, as kube's lexer does.
struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    /// The next byte, or 0 at the end (without moving past it).
    fn read(&mut self) -> u8 {
        match self.input.get(self.pos) {
            Some(&ch) => {
                self.pos += 1;
                ch
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos -= 1;
    }

    fn lex(&mut self) -> (Token, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special_symbol(ch) {
            self.scan_special_symbol()
        } else {
            self.scan_identifier_or_keyword()
        }
    }

    fn scan_identifier_or_keyword(&mut self) -> (Token, String) {
        let mut buffer = Vec::new();
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special_symbol(ch) || is_whitespace(ch) {
                self.unread();
                break;
            }
            buffer.push(ch);
        }
        let literal = String::from_utf8_lossy(&buffer).into_owned();
        (keyword(&literal).unwrap_or(Token::Identifier), literal)
    }

    /// The longest operator starting here (`!=` over `!`, `==` over `=`).
    fn scan_special_symbol(&mut self) -> (Token, String) {
        let mut buffer = String::new();
        let mut last: Option<(Token, String)> = None;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if !is_special_symbol(ch) {
                self.unread();
                break;
            }
            buffer.push(char::from(ch));
            match keyword(&buffer) {
                Some(token) => last = Some((token, buffer.clone())),
                None if last.is_some() => {
                    self.unread();
                    break;
                }
                None => {}
            }
        }
        // Every single special symbol is a token, so `last` is always set.
        last.unwrap_or((Token::EndOfString, String::new()))
    }
}

/// Where the parser is: `in`/`notin` are operators only after a key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

/// kube's recursive-descent label selector parser, over pre-scanned tokens.
struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        let mut lexer = Lexer {
            input: text.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            let end = item.0 == Token::EndOfString;
            items.push(item);
            if end {
                break;
            }
        }
        Self { items, position: 0 }
    }

    fn token_at(&self, index: usize, context: Context) -> (Token, String) {
        let (token, literal) = self
            .items
            .get(index)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => (Token::Identifier, literal),
            _ => (token, literal),
        }
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        self.token_at(self.position, context)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        self.position += 1;
        self.token_at(self.position - 1, context)
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(requirement);
                    let (token, literal) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, literal) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{literal}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!(
                                "found '{literal}', expected: ',' or 'end of string'"
                            ));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{literal}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, operator) = self.parse_key_and_infer_operator()?;
        if let Some(operator) = operator {
            return Requirement::new(&key, operator, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(&key, operator, values)
    }

    /// The key, and `Exists`/`DoesNotExist` when no binary operator follows.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let (mut token, mut literal) = self.consume(Context::Values);
        let negated = token == Token::DoesNotExist;
        if negated {
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{literal}', expected: identifier"));
        }
        if let Some(err) = validate_label_key(&literal, "<nil>") {
            return Err(err);
        }
        let (next, _) = self.lookahead(Context::Values);
        let operator = if negated {
            Some(Operator::DoesNotExist)
        } else if matches!(next, Token::EndOfString | Token::Comma) {
            Some(Operator::Exists)
        } else {
            None
        };
        Ok((literal, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{literal}', expected: {BINARY_OPERATORS}")),
        })
    }

    /// `(a,b,c)`: a sorted set, where `()` and empty items mean `""`.
    fn parse_values(&mut self) -> Result<Vec<String>, String> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(format!("found '{literal}' expected: '('"));
        }
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{literal}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!(
                "found '{literal}', expected: ',', ')' or identifier"
            )),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, String> {
        let mut values = std::collections::BTreeSet::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(literal);
                    let (next, literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values.into_iter().collect()),
                        _ => return Err(format!("found '{literal}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Token::ClosedPar {
                        values.insert(String::new());
                        return Ok(values.into_iter().collect());
                    }
                    if next == Token::Comma {
                        self.consume(Context::Values);
                        values.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{literal}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, String> {
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) {
            return Ok(vec![String::new()]);
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(vec![literal])
        } else {
            Err(format!("found '{literal}', expected: identifier"))
        }
    }
}

// ---------------------------------------------------------------------------
// Validation messages (k8s.io/apimachinery/pkg/util/validation)
// ---------------------------------------------------------------------------

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, without a regex engine.
fn is_qualified_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A lowercase RFC 1123 subdomain: dot-separated lowercase DNS labels.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_lower_alnum(*first)
                    && is_lower_alnum(*last)
                    && bytes.iter().all(|&b| is_lower_alnum(b) || b == b'-')
            }
            _ => false,
        }
    })
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `validation.IsQualifiedName`: the problems with a label key.
fn qualified_name_errors(value: &str) -> Vec<String> {
    let parts: Vec<&str> = value.split('/').collect();
    let mut errors = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > 253 {
                    errors.push("prefix part must be no more than 253 characters".to_string());
                }
                if !is_dns1123_subdomain(prefix) {
                    errors.push(format!(
                        "prefix part {}",
                        regex_error(
                            DNS1123_SUBDOMAIN_MSG,
                            DNS1123_SUBDOMAIN_FMT,
                            &["example.com"]
                        )
                    ));
                }
            }
            *name
        }
        _ => {
            errors.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errors.push("name part must be no more than 63 characters".to_string());
    }
    if !is_qualified_name_part(name) {
        errors.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errors
}

/// `validation.IsValidLabelValue`: the problems with a label value.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errors.push(regex_error(
            LABEL_VALUE_MSG,
            &format!("({QUALIFIED_NAME_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
    }
    errors
}

/// The field error of an invalid label key at `path`, if it is invalid.
fn validate_label_key(key: &str, path: &str) -> Option<String> {
    let problems = qualified_name_errors(key);
    (!problems.is_empty()).then(|| invalid(path, &go_quote(key), &problems.join("; ")))
}

/// A `field.Invalid` error's message; `value` is already Go-formatted.
fn invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {value}: {detail}")
}

/// `utilerrors.Aggregate.Error()`: one message, or `[a, b]` without repeats.
fn aggregate(errors: Vec<String>) -> String {
    let mut unique: Vec<String> = Vec::new();
    for err in errors {
        if !unique.contains(&err) {
            unique.push(err);
        }
    }
    if unique.len() == 1 {
        unique.remove(0)
    } else {
        format!("[{}]", unique.join(", "))
    }
}

/// A string as Go's `%q` prints it.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `[]string` as Go's `%#v` prints it.
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        // Selector parsing never passes nil; object selectors with no values do.
        return "[]string(nil)".to_string();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

// ---------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------

/// Which field-label conversion and selectable-field set a kind has in
/// kube-apiserver (`AddFieldLabelConversionFunc` and the strategies' `GetAttrs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum FieldSet {
    /// Only `metadata.name` and `metadata.namespace` (the default conversion).
    #[default]
    Meta,
    Pod,
    Node,
    Namespace,
    Secret,
    Service,
    ReplicationController,
    Event,
    /// `events.k8s.io` Events: `regarding.*` names for the core Event fields.
    EventsV1Event,
    Job,
    /// A custom resource: the metadata fields and its CRD version's
    /// `selectableFields` (simple dotted paths).
    Custom(&'static [&'static str]),
}

impl FieldSet {
    fn of(resource: &ResourceDef) -> Self {
        if let Some(custom) = &resource.custom {
            return FieldSet::Custom(custom.selectable_fields);
        }
        match (resource.group, resource.kind) {
            ("", "Pod") => FieldSet::Pod,
            ("", "Node") => FieldSet::Node,
            ("", "Namespace") => FieldSet::Namespace,
            ("", "Secret") => FieldSet::Secret,
            ("", "Service") => FieldSet::Service,
            ("", "ReplicationController") => FieldSet::ReplicationController,
            ("", "Event") => FieldSet::Event,
            ("events.k8s.io", "Event") => FieldSet::EventsV1Event,
            ("batch", "Job") => FieldSet::Job,
            _ => FieldSet::Meta,
        }
    }

    /// The canonical field a selector label names, or kube's error for a
    /// label the kind does not support.
    fn convert(self, label: &str) -> Result<&'static str, String> {
        let found = match self {
            FieldSet::Meta => {
                return find(label, META_FIELDS).ok_or_else(|| {
                    format!(
                        "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                        go_quote(label)
                    )
                });
            }
            FieldSet::Job => {
                return find(label, JOB_FIELDS).ok_or_else(|| {
                    format!(
                        "field label {} not supported for batchv1.Job",
                        go_quote(label)
                    )
                });
            }
            FieldSet::Custom(fields) => {
                return find(label, META_FIELDS)
                    .or_else(|| find(label, fields))
                    .ok_or_else(|| {
                        let known: Vec<String> = META_FIELDS
                            .iter()
                            .chain(fields.iter())
                            .map(|f| format!("{f:?}"))
                            .collect();
                        format!(
                            "{} is not a known field selector: only {}",
                            go_quote(label),
                            known.join(", ")
                        )
                    });
            }
            FieldSet::Pod if label == "spec.host" => Some("spec.nodeName"),
            FieldSet::Pod => find(label, POD_FIELDS),
            FieldSet::Node => find(label, &["metadata.name", "spec.unschedulable"]),
            FieldSet::Namespace => find(label, &["metadata.name", "status.phase"]),
            FieldSet::Secret => find(label, &["metadata.name", "metadata.namespace", "type"]),
            FieldSet::Service => find(label, SERVICE_FIELDS),
            FieldSet::ReplicationController => find(label, RC_FIELDS),
            FieldSet::Event => find(label, EVENT_FIELDS),
            FieldSet::EventsV1Event => events_v1_field(label),
        };
        found.ok_or_else(|| format!("field label not supported: {label}"))
    }
}

impl FieldSet {
    /// Where in an object the fields of this set are read: what a
    /// selector's [`Projection`] keeps.
    fn paths(self) -> Vec<&'static str> {
        let own: &[&'static str] = match self {
            FieldSet::Meta => &[],
            // Its selectable fields are where they are read (and the
            // metadata fields are among them).
            FieldSet::Pod => return POD_FIELDS.to_vec(),
            FieldSet::Node => &["spec.unschedulable"],
            FieldSet::Namespace => &["status.phase"],
            FieldSet::Secret => &["type"],
            FieldSet::Service => &["spec.clusterIP", "spec.type"],
            FieldSet::ReplicationController => &["status.replicas"],
            FieldSet::Job => &["status.succeeded"],
            // Both Event shapes: the two versions share one cache.
            FieldSet::Event | FieldSet::EventsV1Event => &[
                "involvedObject",
                "regarding",
                "source",
                "deprecatedSource",
                "reportingComponent",
                "reportingController",
                "reason",
                "type",
            ],
            FieldSet::Custom(fields) => fields,
        };
        META_FIELDS.iter().chain(own).copied().collect()
    }
}

const META_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];
const JOB_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "status.successful"];
const POD_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];
const SERVICE_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.clusterIP",
    "spec.type",
];
const RC_FIELDS: &[&str] = &["metadata.name", "metadata.namespace", "status.replicas"];
const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "metadata.namespace",
    "metadata.name",
];

fn find(label: &str, fields: &[&'static str]) -> Option<&'static str> {
    fields.iter().copied().find(|f| *f == label)
}

/// events.k8s.io's labels, mapped onto the core Event's selectable fields.
fn events_v1_field(label: &str) -> Option<&'static str> {
    Some(match label {
        "reason" => "reason",
        "regarding.kind" => "involvedObject.kind",
        "regarding.namespace" => "involvedObject.namespace",
        "regarding.name" => "involvedObject.name",
        "regarding.uid" => "involvedObject.uid",
        "regarding.apiVersion" => "involvedObject.apiVersion",
        "regarding.resourceVersion" => "involvedObject.resourceVersion",
        "regarding.fieldPath" => "involvedObject.fieldPath",
        "reportingController" => "reportingComponent",
        "source" => "source",
        "type" => "type",
        "metadata.namespace" => "metadata.namespace",
        "metadata.name" => "metadata.name",
        _ => return None,
    })
}

/// One `field=value` or `field!=value` term, with the canonical field.
#[derive(Debug, Clone, PartialEq)]
struct FieldTerm {
    field: &'static str,
    value: String,
    equal: bool,
}

/// A parsed field selector (`metadata.name=x,spec.nodeName!=`), checked
/// against the fields `resource` supports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
    set: FieldSet,
    namespaced: bool,
    /// What of an object [`FieldSelector::matches`] reads (shared by the
    /// clones a watch's per-event cache keeps).
    projection: Arc<Projection>,
}

impl FieldSelector {
    /// Parses `text` for `resource`; unknown fields are an error with
    /// kube-apiserver's message.
    pub fn parse(resource: &ResourceDef, text: &str) -> Result<Self, String> {
        let set = FieldSet::of(resource);
        let mut parts = split_terms(text);
        parts.sort_unstable();
        let mut raw = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let (field, equal, value) = split_term(part)
                .ok_or_else(|| format!("invalid selector: '{text}'; can't understand '{part}'"))?;
            raw.push((field, equal, unescape_value(value)?));
        }
        let terms = raw
            .into_iter()
            .map(|(field, equal, value)| {
                Ok(FieldTerm {
                    field: set.convert(field)?,
                    value,
                    equal,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            projection: Arc::new(Projection::of(set.paths())),
            terms,
            set,
            namespaced: resource.namespaced,
        })
    }

    /// What [`FieldSelector::matches`] needs of a stored object: the
    /// selectable fields, decoded without the rest. Null if `raw` is not
    /// JSON.
    pub fn selectable(&self, raw: &[u8]) -> Value {
        self.projection.decode(raw).unwrap_or(Value::Null)
    }

    /// What [`FieldSelector::selectable`] decodes: selectors with equal
    /// projections can share one decoding.
    pub fn projection(&self) -> &Arc<Projection> {
        &self.projection
    }

    /// Whether `obj` matches.
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms
            .iter()
            .all(|t| (field_value(self.set, self.namespaced, t.field, obj) == t.value) == t.equal)
    }

    /// Matches everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value an `=` term requires of `field` (a canonical field name),
    /// so callers can narrow a list to one name or one node.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.equal && t.field == field)
            .map(|t| t.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    /// kube's canonical string: canonical fields, values escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if term.equal { "=" } else { "!=" };
            write!(f, "{}{op}{}", term.field, escape_value(&term.value))?;
        }
        Ok(())
    }
}

/// Splits at commas not escaped by a backslash.
fn split_terms(text: &str) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, ch) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == ',' {
            terms.push(&text[start..i]);
            start = i + 1;
        }
    }
    terms.push(&text[start..]);
    terms
}

/// `field`, whether the operator is an equality, and the raw value: the
/// first of `!=`, `==`, `=` found scanning from the left.
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, equal) in [("!=", false), ("==", true), ("=", true)] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], equal, value));
            }
        }
    }
    None
}

/// Undoes `\\`, `\,` and `\=` escapes; bare `,` or `=` are errors.
fn unescape_value(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for ch in value.chars() {
        if escaped {
            if !matches!(ch, '\\' | ',' | '=') {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{ch}"
                ));
            }
            out.push(ch);
            escaped = false;
            continue;
        }
        match ch {
            '\\' => escaped = true,
            // Go prints the rune with %v: its code point.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    ch as u32
                ));
            }
            _ => out.push(ch),
        }
    }
    if escaped {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

fn escape_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

/// The string kube compares for `field` of `obj`; fields outside the
/// kind's selectable set read as empty, like a missing `fields.Set` key.
fn field_value(set: FieldSet, namespaced: bool, field: &str, obj: &Value) -> String {
    let meta = &obj["metadata"];
    match field {
        "metadata.name" => return text(&meta["name"]),
        "metadata.namespace" if namespaced => return text(&meta["namespace"]),
        "metadata.namespace" => return String::new(),
        _ => {}
    }
    match set {
        FieldSet::Pod => pod_field(field, obj),
        FieldSet::Node if field == "spec.unschedulable" => flag(&obj["spec"]["unschedulable"]),
        FieldSet::Namespace if field == "status.phase" => text(&obj["status"]["phase"]),
        FieldSet::Secret if field == "type" => text(&obj["type"]),
        FieldSet::Service => text(&obj["spec"][field.trim_start_matches("spec.")]),
        FieldSet::ReplicationController if field == "status.replicas" => {
            count(&obj["status"]["replicas"])
        }
        FieldSet::Job if field == "status.successful" => count(&obj["status"]["succeeded"]),
        FieldSet::Event => event_field(field, obj, CORE_EVENT),
        FieldSet::EventsV1Event => event_field(field, obj, EVENTS_V1_EVENT),
        FieldSet::Custom(_) => {
            let value = field.split('.').fold(obj, |at, name| &at[name]);
            match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            }
        }
        _ => String::new(),
    }
}

fn pod_field(field: &str, pod: &Value) -> String {
    let spec = &pod["spec"];
    let status = &pod["status"];
    match field {
        "spec.nodeName" => text(&spec["nodeName"]),
        "spec.restartPolicy" => text(&spec["restartPolicy"]),
        "spec.schedulerName" => text(&spec["schedulerName"]),
        "spec.serviceAccountName" => text(&spec["serviceAccountName"]),
        "spec.hostNetwork" => flag(&spec["hostNetwork"]),
        "status.phase" => text(&status["phase"]),
        "status.podIP" => match status["podIPs"][0]["ip"].as_str() {
            Some(ip) => ip.to_string(),
            None => text(&status["podIP"]),
        },
        "status.nominatedNodeName" => text(&status["nominatedNodeName"]),
        // `status.podIPs` is accepted but not in the pod's field set.
        _ => String::new(),
    }
}

/// Where an Event version keeps the fields the core Event's field set reads.
struct EventShape {
    involved: &'static str,
    source: &'static str,
    reporting: &'static str,
}

const CORE_EVENT: EventShape = EventShape {
    involved: "involvedObject",
    source: "source",
    reporting: "reportingComponent",
};

const EVENTS_V1_EVENT: EventShape = EventShape {
    involved: "regarding",
    source: "deprecatedSource",
    reporting: "reportingController",
};

fn event_field(field: &str, event: &Value, shape: EventShape) -> String {
    if let Some(sub) = field.strip_prefix("involvedObject.") {
        return text(&event[shape.involved][sub]);
    }
    match field {
        "reason" | "type" => text(&event[field]),
        "reportingComponent" => text(&event[shape.reporting]),
        "source" => match text(&event[shape.source]["component"]) {
            component if component.is_empty() => text(&event[shape.reporting]),
            component => component,
        },
        _ => String::new(),
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// A boolean as `strconv.FormatBool` writes it; missing is false.
fn flag(value: &Value) -> String {
    value.as_bool().unwrap_or(false).to_string()
}

/// An integer as `strconv.Itoa` writes it; missing is 0.
fn count(value: &Value) -> String {
    value.as_i64().unwrap_or(0).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::find as find_resource;

    fn labels() -> Value {
        json!({"app": "web", "tier": "front", "version": "3", "empty": ""})
    }

    #[test]
    fn label_operators_match_like_kube() {
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("app!=web", false),
            ("missing!=x", true),
            ("app in (web,db)", true),
            ("app in (db)", false),
            ("missing in (x)", false),
            ("app notin (db)", true),
            ("app notin (web)", false),
            ("missing notin (web)", true),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("version>2", true),
            ("version<2", false),
            ("app>2", false),
            ("empty=", true),
            ("empty in ()", true),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("  app = web ,  tier  in ( front , back )  ", true),
        ];
        for (text, want) in cases {
            let selector = LabelSelector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(selector.matches(&labels()), want, "{text}");
        }
    }

    #[test]
    fn null_labels_behave_as_no_labels() {
        assert!(LabelSelector::parse("!a").unwrap().matches(&Value::Null));
        assert!(LabelSelector::parse("a!=b").unwrap().matches(&Value::Null));
        assert!(!LabelSelector::parse("a").unwrap().matches(&Value::Null));
    }

    #[test]
    fn label_selectors_print_canonically() {
        let cases = [
            ("b=2,a=1", "a=1,b=2"),
            ("x in (c,a,b)", "x in (a,b,c)"),
            ("x notin (b,a)", "x notin (a,b)"),
            ("!x,y", "!x,y"),
            ("x==1", "x==1"),
            ("x in (in)", "x in (in)"),
            ("x in (,a)", "x in (,a)"),
            ("x in (a,)", "x in (,a)"),
            ("x>5", "x>5"),
        ];
        for (text, want) in cases {
            assert_eq!(LabelSelector::parse(text).unwrap().to_string(), want);
        }
    }

    #[test]
    fn label_parse_errors_have_kube_messages() {
        let name_part = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        let value_msg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        let cases = [
            (
                "a in",
                "unable to parse requirement: found '' expected: '('".to_string(),
            ),
            (
                "a in (b",
                "unable to parse requirement: found '', expected: ',' or ')'".to_string(),
            ),
            (
                "a in (b,,)",
                "unable to parse requirement: found ')', expected: ',', or identifier".to_string(),
            ),
            (
                "a=b c",
                "found 'c', expected: ',' or 'end of string'".to_string(),
            ),
            ("a=b,", "found '', expected: identifier after ','".to_string()),
            (
                "=a",
                "found '=', expected: !, identifier, or 'end of string'".to_string(),
            ),
            (
                "a b",
                "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
                    .to_string(),
            ),
            (
                "a=(",
                "unable to parse requirement: found '(', expected: identifier".to_string(),
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier".to_string(),
            ),
            (
                "-a=b",
                format!("unable to parse requirement: <nil>: Invalid value: \"-a\": {name_part}"),
            ),
            (
                "a=-b",
                format!(
                    "unable to parse requirement: values[0][a]: Invalid value: \"-b\": {value_msg}"
                ),
            ),
            (
                "a>b",
                "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer".to_string(),
            ),
            (
                "Example.com/a=b",
                "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string(),
            ),
            (
                "/a",
                "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty".to_string(),
            ),
            (
                "a/b/c",
                "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string(),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(LabelSelector::parse(text), Err(want), "{text}");
        }
    }

    #[test]
    fn long_label_values_report_every_problem() {
        let value = format!("{}-", "a".repeat(63));
        let err = LabelSelector::parse(&format!("k={value}")).unwrap_err();
        assert!(err.starts_with("unable to parse requirement: values[0][k]: Invalid value:"));
        assert!(err.contains("must be no more than 63 characters; a valid label"));
    }

    #[test]
    fn selector_objects_convert_like_label_selector_as_selector() {
        let selector = LabelSelector::from_label_selector_object(&json!({
            "matchLabels": {"tier": "front", "app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "canary"]},
                {"key": "legacy", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "Exists"},
                {"key": "track", "operator": "NotIn", "values": ["beta"]}
            ]
        }))
        .unwrap();
        assert_eq!(
            selector.to_string(),
            "app=web,env in (canary,prod),!legacy,tier=front,track notin (beta),zone"
        );
        let mut pod_labels = json!({"app": "web", "tier": "front", "env": "prod", "zone": "a"});
        assert!(selector.matches(&pod_labels));
        pod_labels["legacy"] = json!("yes");
        assert!(!selector.matches(&pod_labels));
    }

    #[test]
    fn nil_and_empty_selector_objects() {
        let nothing = LabelSelector::from_label_selector_object(&Value::Null).unwrap();
        assert!(!nothing.matches(&json!({})));
        assert!(!nothing.is_empty());
        assert_eq!(nothing.to_string(), "");
        let everything = LabelSelector::from_label_selector_object(&json!({})).unwrap();
        assert!(everything.matches(&json!({"a": "b"})));
        assert!(everything.is_empty());
    }

    #[test]
    fn selector_object_errors() {
        let bad_op = json!({"matchExpressions": [{"key": "a", "operator": "Equals"}]});
        assert_eq!(
            LabelSelector::from_label_selector_object(&bad_op),
            Err("\"Equals\" is not a valid label selector operator".to_string())
        );
        let no_values = json!({"matchExpressions": [{"key": "a", "operator": "In"}]});
        assert_eq!(
            LabelSelector::from_label_selector_object(&no_values),
            Err("values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty".to_string())
        );
        let exists_values =
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]});
        assert_eq!(
            LabelSelector::from_label_selector_object(&exists_values),
            Err("values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist".to_string())
        );
        let bad_key = json!({"matchLabels": {"-a": "b"}});
        assert!(
            LabelSelector::from_label_selector_object(&bad_key)
                .unwrap_err()
                .starts_with("key: Invalid value: \"-a\": name part must consist")
        );
    }

    #[test]
    fn label_sets_select_every_pair() {
        let selector = LabelSelector::from_set(&json!({"b": "2", "a": "1"}));
        assert_eq!(selector.to_string(), "a=1,b=2");
        assert!(selector.matches(&json!({"a": "1", "b": "2", "c": "3"})));
        assert!(!selector.matches(&json!({"a": "1"})));
        assert!(LabelSelector::from_set(&Value::Null).is_empty());
    }

    fn resource(group: &str, plural: &str) -> &'static ResourceDef {
        let version = if group == "autoscaling" { "v2" } else { "v1" };
        find_resource(group, version, plural).unwrap()
    }

    /// Whether `selector` matches `obj`, checking that it reads the same
    /// from the object's selectable fields alone (what watches decode).
    fn matched(selector: &FieldSelector, obj: &Value) -> bool {
        let whole = selector.matches(obj);
        let raw = serde_json::to_vec(obj).unwrap();
        assert_eq!(
            selector.matches(&selector.selectable(&raw)),
            whole,
            "{selector:?} reads a field its projection leaves out"
        );
        whole
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web-1", "namespace": "prod"},
            "spec": {"nodeName": "node-a", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                     "serviceAccountName": "web", "hostNetwork": true},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
                       "nominatedNodeName": "node-b"}
        })
    }

    #[test]
    fn pod_field_selectors() {
        let pods = resource("", "pods");
        let cases = [
            ("", true),
            ("metadata.name=web-1", true),
            ("metadata.name==web-1", true),
            ("metadata.name!=web-1", false),
            ("metadata.namespace=prod", true),
            ("spec.nodeName=node-a", true),
            ("spec.host=node-a", true),
            ("spec.nodeName=", false),
            ("spec.restartPolicy=Always", true),
            ("spec.schedulerName=default-scheduler", true),
            ("spec.serviceAccountName=web", true),
            ("spec.hostNetwork=true", true),
            ("spec.hostNetwork=false", false),
            ("status.phase!=Pending,status.phase!=Succeeded", true),
            ("status.podIP=10.0.0.5", true),
            ("status.podIPs=", true),
            ("status.nominatedNodeName=node-b", true),
            ("metadata.name=web-1,spec.nodeName=node-b", false),
            (",metadata.name=web-1,", true),
        ];
        for (text, want) in cases {
            let selector =
                FieldSelector::parse(pods, text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(matched(&selector, &pod()), want, "{text}");
        }
        let bare = json!({"metadata": {"name": "p"}});
        let host_network = FieldSelector::parse(pods, "spec.hostNetwork=false").unwrap();
        assert!(
            matched(&host_network, &bare),
            "hostNetwork defaults to false"
        );
        let unscheduled = FieldSelector::parse(pods, "spec.nodeName=").unwrap();
        assert!(matched(&unscheduled, &bare), "missing compares as empty");
    }

    #[test]
    fn kind_specific_field_selectors() {
        let cases: &[(&str, &str, &str, Value, bool)] = &[
            (
                "",
                "nodes",
                "spec.unschedulable=true",
                json!({"spec": {"unschedulable": true}}),
                true,
            ),
            (
                "",
                "nodes",
                "spec.unschedulable=false",
                json!({"spec": {}}),
                true,
            ),
            (
                "",
                "namespaces",
                "status.phase=Terminating",
                json!({"status": {"phase": "Terminating"}}),
                true,
            ),
            (
                "",
                "secrets",
                "type=kubernetes.io/tls",
                json!({"type": "kubernetes.io/tls"}),
                true,
            ),
            (
                "",
                "services",
                "spec.type=NodePort",
                json!({"spec": {"type": "NodePort"}}),
                true,
            ),
            (
                "",
                "services",
                "spec.clusterIP=None",
                json!({"spec": {"clusterIP": "None"}}),
                true,
            ),
            (
                "",
                "replicationcontrollers",
                "status.replicas=0",
                json!({}),
                true,
            ),
            (
                "",
                "replicationcontrollers",
                "status.replicas=3",
                json!({"status": {"replicas": 3}}),
                true,
            ),
            (
                "batch",
                "jobs",
                "status.successful=1",
                json!({"status": {"succeeded": 1}}),
                true,
            ),
            (
                "",
                "configmaps",
                "metadata.namespace=default",
                json!({"metadata": {"namespace": "default"}}),
                true,
            ),
            (
                "",
                "persistentvolumes",
                "metadata.namespace=",
                json!({"metadata": {"namespace": "x"}}),
                true,
            ),
            (
                "",
                "persistentvolumes",
                "metadata.namespace=x",
                json!({"metadata": {"namespace": "x"}}),
                false,
            ),
        ];
        for (group, plural, text, obj, want) in cases {
            let selector = FieldSelector::parse(resource(group, plural), text).unwrap();
            assert_eq!(matched(&selector, obj), *want, "{plural}: {text}");
        }
    }

    #[test]
    fn event_field_selectors() {
        let core = json!({
            "metadata": {"name": "web.1", "namespace": "prod"},
            "involvedObject": {"kind": "Pod", "namespace": "prod", "name": "web", "uid": "u1",
                               "apiVersion": "v1", "resourceVersion": "7", "fieldPath": "spec.containers{app}"},
            "reason": "Pulled", "type": "Normal", "reportingComponent": "kubelet", "source": {}
        });
        let events = resource("", "events");
        for (text, want) in [
            ("involvedObject.kind=Pod,involvedObject.name=web", true),
            ("involvedObject.uid=u1,involvedObject.apiVersion=v1", true),
            ("involvedObject.resourceVersion=7", true),
            ("involvedObject.fieldPath=spec.containers{app}", true),
            ("involvedObject.namespace=prod", true),
            ("reason=Pulled,type=Normal", true),
            ("reportingComponent=kubelet", true),
            ("source=kubelet", true),
            ("type=Warning", false),
        ] {
            assert_eq!(
                matched(&FieldSelector::parse(events, text).unwrap(), &core),
                want,
                "{text}"
            );
        }
        let v1 = json!({
            "metadata": {"name": "web.1", "namespace": "prod"},
            "regarding": {"kind": "Pod", "name": "web"},
            "reason": "Pulled", "type": "Normal", "reportingController": "kubelet",
            "deprecatedSource": {"component": "old-kubelet"}
        });
        let events_v1 = resource("events.k8s.io", "events");
        for (text, want) in [
            ("regarding.kind=Pod,regarding.name=web", true),
            ("reportingController=kubelet", true),
            ("source=old-kubelet", true),
            ("reason=Pulled", true),
        ] {
            assert_eq!(
                matched(&FieldSelector::parse(events_v1, text).unwrap(), &v1),
                want,
                "{text}"
            );
        }
        assert_eq!(
            FieldSelector::parse(events_v1, "involvedObject.kind=Pod"),
            Err("field label not supported: involvedObject.kind".to_string())
        );
    }

    #[test]
    fn unsupported_fields_have_each_kinds_message() {
        let cases = [
            (
                "",
                "pods",
                "spec.containers=x",
                "field label not supported: spec.containers",
            ),
            (
                "",
                "nodes",
                "metadata.namespace=x",
                "field label not supported: metadata.namespace",
            ),
            (
                "",
                "namespaces",
                "metadata.namespace=x",
                "field label not supported: metadata.namespace",
            ),
            ("", "secrets", "data=x", "field label not supported: data"),
            (
                "",
                "services",
                "spec.ports=x",
                "field label not supported: spec.ports",
            ),
            (
                "",
                "events",
                "message=x",
                "field label not supported: message",
            ),
            (
                "batch",
                "jobs",
                "status.failed=1",
                "field label \"status.failed\" not supported for batchv1.Job",
            ),
            (
                "",
                "configmaps",
                "data.a=b",
                "\"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
            (
                "apps",
                "replicasets",
                "status.replicas=1",
                "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
            (
                "",
                "configmaps",
                "metadata.name = x",
                "\"metadata.name \" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
        ];
        for (group, plural, text, want) in cases {
            assert_eq!(
                FieldSelector::parse(resource(group, plural), text),
                Err(want.to_string()),
                "{plural}: {text}"
            );
        }
    }

    #[test]
    fn field_selector_syntax_errors_and_escapes() {
        let cms = resource("", "configmaps");
        assert_eq!(
            FieldSelector::parse(cms, "metadata.name"),
            Err("invalid selector: 'metadata.name'; can't understand 'metadata.name'".to_string())
        );
        assert_eq!(
            FieldSelector::parse(cms, "metadata.name=a=b"),
            Err("invalid field selector: unescaped character in value: 61".to_string())
        );
        assert_eq!(
            FieldSelector::parse(cms, "metadata.name=a\\x"),
            Err("invalid field selector: invalid escape sequence: \\x".to_string())
        );
        assert_eq!(
            FieldSelector::parse(cms, "metadata.name=a\\"),
            Err("invalid field selector: invalid escape sequence: \\".to_string())
        );
        let escaped = FieldSelector::parse(cms, "metadata.name=a\\,b\\=c\\\\d").unwrap();
        assert!(escaped.matches(&json!({"metadata": {"name": "a,b=c\\d"}})));
        assert_eq!(escaped.to_string(), "metadata.name=a\\,b\\=c\\\\d");
        assert_eq!(
            escaped.requires_exact_match("metadata.name"),
            Some("a,b=c\\d")
        );
        let sorted = FieldSelector::parse(cms, "metadata.namespace!=x,metadata.name=y").unwrap();
        assert_eq!(sorted.to_string(), "metadata.name=y,metadata.namespace!=x");
        assert!(FieldSelector::parse(cms, "").unwrap().is_empty());
    }
}
