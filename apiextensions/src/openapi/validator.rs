//! kube-openapi's `SchemaValidator` and its per-keyword validators, with
//! the `MatchCount` bookkeeping that picks which `anyOf`/`oneOf` branch's
//! errors are reported.

use super::go_equality::{enum_matches, has_duplicates, is_json_integer};
use super::{Kind, Mode, OpenApiError, Outcome};
use crate::go_fmt::{self, GoNumber};
use crate::node::{AdditionalProperties, Node};
use serde_json::Value;

/// The JSON kind of a value as Go's reflection sees decoded JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataKind {
    Null,
    Bool,
    String,
    Int,
    Float,
    Array,
    Object,
}

impl DataKind {
    fn of(v: &Value) -> DataKind {
        match v {
            Value::Null => DataKind::Null,
            Value::Bool(_) => DataKind::Bool,
            Value::String(_) => DataKind::String,
            Value::Number(n) => match GoNumber::of(n) {
                GoNumber::Int(_) => DataKind::Int,
                GoNumber::Float(_) => DataKind::Float,
            },
            Value::Array(_) => DataKind::Array,
            Value::Object(_) => DataKind::Object,
        }
    }

    /// kube-openapi's `schemaInfoForType`: JSON type and Go-implied format.
    fn schema_info(self) -> (&'static str, &'static str) {
        match self {
            DataKind::Null => ("null", ""),
            DataKind::Bool => ("boolean", ""),
            DataKind::String => ("string", ""),
            DataKind::Int => ("integer", "int64"),
            DataKind::Float => ("number", "float64"),
            DataKind::Array => ("array", ""),
            DataKind::Object => ("object", ""),
        }
    }
}

/// The `type` list kube-openapi checks against.
#[derive(Clone, Copy)]
enum Types<'a> {
    None,
    One(&'a str),
    IntOrString,
}

impl Types<'_> {
    fn is_empty(&self) -> bool {
        matches!(self, Types::None)
    }

    fn contains(&self, t: &str) -> bool {
        match self {
            Types::None => false,
            Types::One(one) => *one == t,
            Types::IntOrString => t == "integer" || t == "string",
        }
    }

    fn joined(&self) -> String {
        match self {
            Types::None => String::new(),
            Types::One(one) => one.to_string(),
            Types::IntOrString => "integer,string".to_string(),
        }
    }
}

pub(super) struct Validator {
    mode: Mode,
    /// Only whether the value is valid (and kube's match count) matters:
    /// errors are recorded without building their messages. `anyOf`,
    /// `oneOf`, `allOf` and `not` probe their branches first and build
    /// messages only for the branches whose errors are reported.
    probe: bool,
}

fn err(kind: Kind, name: &str, value: Value, message: String) -> OpenApiError {
    OpenApiError {
        kind,
        name: name.to_string(),
        value,
        message,
    }
}

/// `%s in body must be of type %s…` (kube-openapi's `InvalidType`).
fn invalid_type(path: &str, type_name: &str, value: Value) -> OpenApiError {
    let message = match &value {
        Value::String(s) => format!(
            "{path} in body must be of type {type_name}: {}",
            go_fmt::quote(s)
        ),
        _ => format!("{path} in body must be of type {type_name}"),
    };
    err(Kind::InvalidType, path, value, message)
}

fn composite(message: String) -> OpenApiError {
    err(Kind::Composite, "", Value::Null, message)
}

impl Validator {
    pub(super) fn new(mode: Mode) -> Validator {
        Validator { mode, probe: false }
    }

    /// An error, built only when it can be reported.
    fn fail(&self, make: impl FnOnce() -> OpenApiError) -> OpenApiError {
        if self.probe {
            OpenApiError {
                kind: Kind::Invalid,
                name: String::new(),
                value: Value::Null,
                message: String::new(),
            }
        } else {
            make()
        }
    }

    fn failed(&self, make: impl FnOnce() -> OpenApiError) -> Outcome {
        Outcome::error(self.fail(make))
    }

    fn prober(&self) -> Validator {
        Validator {
            mode: self.mode,
            probe: true,
        }
    }

    fn types<'n>(&self, node: &'n Node) -> Types<'n> {
        if self.mode == Mode::Object && node.int_or_string {
            return Types::IntOrString;
        }
        match node.type_name.as_deref() {
            Some(t) if !t.is_empty() => Types::One(t),
            _ => Types::None,
        }
    }

    /// The `format` the type validator sees: stripped unless kube knows it
    /// when validating objects, as written when validating defaults.
    fn format<'n>(&self, node: &'n Node) -> &'n str {
        let Some(checks) = node.checks.as_deref() else {
            return "";
        };
        match self.mode {
            Mode::Object if checks.known_format.is_none() => "",
            _ => checks.format.as_deref().unwrap_or(""),
        }
    }

    /// `SchemaValidator.Validate`.
    pub(super) fn schema(&self, node: &Node, data: &Value, path: &mut String) -> Outcome {
        let mut res = Outcome::default();
        if data.is_null() {
            res.merge(self.type_check(node, data, path));
            res.merge(self.enum_check(node, data, path));
            return res;
        }
        let types = self.types(node);
        let format = self.format(node);
        if !types.is_empty() || !format.is_empty() {
            res.merge(self.type_check(node, data, path));
            res.matches += 1;
        }
        res.merge(self.combinators(node, data, path));
        res.matches += 1;
        if let Value::String(s) = data {
            res.merge(self.string_checks(node, s, path));
            res.matches += 1;
            if let Some(known) = node.checks.as_deref().and_then(|c| c.known_format) {
                if !known.is_valid(s) {
                    res.merge(self.failed(|| invalid_type(path, format_name(node), data.clone())));
                }
                res.matches += 1;
            }
        }
        if let Value::Number(n) = data {
            res.merge(self.number_checks(node, GoNumber::of(n), data, path));
            res.matches += 1;
        }
        if let Value::Array(items) = data {
            res.merge(self.array_checks(node, items, path));
            res.matches += 1;
        }
        res.merge(self.enum_check(node, data, path));
        res.matches += 1;
        if let Value::Object(map) = data {
            res.merge(self.object_checks(node, map, path));
            res.matches += 1;
        }
        res.matches += 1;
        res
    }

    /// kube-openapi's `typeValidator`, quirks included.
    fn type_check(&self, node: &Node, data: &Value, path: &str) -> Outcome {
        let ok = Outcome {
            errors: Vec::new(),
            matches: 1,
        };
        let kind = DataKind::of(data);
        let types = self.types(node);
        let t_format = self.format(node);
        if kind == DataKind::Null {
            if !types.is_empty() && !types.contains("null") && !node.nullable {
                return self
                    .failed(|| invalid_type(path, &types.joined(), Value::String("null".into())));
            }
            return ok;
        }
        let (sch_type, format) = kind.schema_info();
        let is_float_int = match data {
            Value::Number(n) => match GoNumber::of(n) {
                GoNumber::Float(f) => types.contains("integer") && is_json_integer(f),
                GoNumber::Int(_) => false,
            },
            _ => false,
        };
        let is_int_float = sch_type == "integer" && types.contains("number");
        let stringish = matches!(kind, DataKind::String | DataKind::Array);
        let type_or_format_matches =
            types.contains(sch_type) || format == t_format || is_float_int || is_int_float;
        if !(stringish || t_format.is_empty() || type_or_format_matches) {
            return self.failed(|| invalid_type(path, t_format, Value::String(format.into())));
        }
        if stringish
            && !(types.contains("number") || types.contains("integer") || t_format.is_empty())
        {
            return ok;
        }
        if !(types.contains(sch_type) || is_float_int || is_int_float) {
            return self
                .failed(|| invalid_type(path, &types.joined(), Value::String(sch_type.into())));
        }
        ok
    }

    /// Runs `schemas` against `data` as probes; if `pick` says the probes
    /// decide the outcome on their own, returns them, else runs them again
    /// with messages (only needed when their errors are reported).
    fn branches(
        &self,
        schemas: &[Node],
        data: &Value,
        path: &mut String,
        needs_messages: impl Fn(&[Outcome]) -> bool,
    ) -> Vec<Outcome> {
        let probe = self.prober();
        let probes: Vec<Outcome> = schemas
            .iter()
            .map(|s| probe.schema(s, data, path))
            .collect();
        if self.probe || !needs_messages(&probes) {
            return probes;
        }
        schemas.iter().map(|s| self.schema(s, data, path)).collect()
    }

    /// kube-openapi's `schemaPropsValidator`: `anyOf`, `oneOf`, `allOf`, `not`.
    fn combinators(&self, node: &Node, data: &Value, path: &mut String) -> Outcome {
        let mut main = Outcome::default();
        let Some(checks) = node.checks.as_deref() else {
            main.matches += 1;
            return main;
        };
        if !checks.any_of.is_empty() {
            let probe = self.prober();
            let mut probes = Vec::new();
            let mut success = None;
            for schema in &checks.any_of {
                let result = probe.schema(schema, data, path);
                if result.is_valid() {
                    success = Some(result);
                    break;
                }
                probes.push(result);
            }
            if let Some(success) = success {
                main.merge(success);
            } else {
                let results = if self.probe {
                    probes
                } else {
                    checks
                        .any_of
                        .iter()
                        .map(|s| self.schema(s, data, path))
                        .collect()
                };
                main.errors.push(self.fail(|| {
                    composite(format!(
                        "{} must validate at least one schema (anyOf)",
                        go_fmt::quote(path)
                    ))
                }));
                if let Some(best) = results
                    .into_iter()
                    .reduce(|b, r| if r.matches > b.matches { r } else { b })
                {
                    main.merge(best);
                }
            }
        }
        if !checks.one_of.is_empty() {
            let results = self.branches(&checks.one_of, data, path, |p| {
                p.iter().all(|r| !r.is_valid())
            });
            let validated = results.iter().filter(|r| r.is_valid()).count();
            if validated == 1 {
                if let Some(success) = results.into_iter().find(Outcome::is_valid) {
                    main.merge(success);
                }
            } else {
                main.errors.push(self.fail(|| {
                    let detail = if validated == 0 {
                        "Found none valid".to_string()
                    } else {
                        format!("Found {validated} valid alternatives")
                    };
                    composite(format!(
                        "{} must validate one and only one schema (oneOf). {detail}",
                        go_fmt::quote(path)
                    ))
                }));
                if validated == 0 {
                    let best = results
                        .into_iter()
                        .reduce(|b, r| if r.matches > b.matches { r } else { b });
                    if let Some(best) = best {
                        main.merge(best);
                    }
                }
            }
        }
        if !checks.all_of.is_empty() {
            let results = self.branches(&checks.all_of, data, path, |p| {
                p.iter().any(|r| !r.is_valid())
            });
            let validated = results.iter().filter(|r| r.is_valid()).count();
            for r in results {
                main.merge(r);
            }
            if validated != checks.all_of.len() {
                main.errors.push(self.fail(|| {
                    let detail = if validated == 0 {
                        ". None validated"
                    } else {
                        ""
                    };
                    composite(format!(
                        "{} must validate all the schemas (allOf){detail}",
                        go_fmt::quote(path)
                    ))
                }));
            }
        }
        if let Some(not) = checks.not.as_deref()
            && self.prober().schema(not, data, path).is_valid()
        {
            main.errors.push(self.fail(|| {
                composite(format!(
                    "{} must not validate the schema (not)",
                    go_fmt::quote(path)
                ))
            }));
        }
        main.matches += 1;
        main
    }

    /// kube-openapi's `stringValidator`: stops at the first failure.
    fn string_checks(&self, node: &Node, s: &str, path: &str) -> Outcome {
        let Some(checks) = node.checks.as_deref() else {
            return Outcome::default();
        };
        let value = || Value::String(s.to_string());
        if checks.max_length.is_some() || checks.min_length.is_some() {
            let len = s.chars().count() as i64;
            if let Some(max) = checks.max_length.filter(|max| len > *max) {
                return self.failed(|| {
                    let message = format!("{path} in body should be at most {max} chars long");
                    err(Kind::TooLong(max), path, value(), message)
                });
            }
            if let Some(min) = checks.min_length.filter(|min| len < *min) {
                return self.failed(|| {
                    let message = format!("{path} in body should be at least {min} chars long");
                    err(Kind::Invalid, path, value(), message)
                });
            }
        }
        if let Some(pattern) = &checks.pattern {
            let matched = match &pattern.regex {
                Ok(re) => re.is_match(s),
                Err(_) => false,
            };
            if !matched {
                return self.failed(|| {
                    let shown = match &pattern.regex {
                        Ok(_) => pattern.source.clone(),
                        Err(reason) => {
                            format!("{}, but pattern is invalid: {reason}", pattern.source)
                        }
                    };
                    let message = format!("{path} in body should match '{shown}'");
                    err(Kind::Invalid, path, value(), message)
                });
            }
        }
        Outcome::default()
    }

    /// kube-openapi's `numberValidator`: multipleOf, minimum, maximum, in
    /// that order, compared in int64 when the value is an integer.
    fn number_checks(&self, node: &Node, n: GoNumber, data: &Value, path: &str) -> Outcome {
        let mut res = Outcome {
            errors: Vec::new(),
            matches: 1,
        };
        let Some(checks) = node.checks.as_deref() else {
            return res;
        };
        let invalid = |message: String| err(Kind::Invalid, path, data.clone(), message);
        if let Some(factor) = checks.multiple_of {
            match n {
                GoNumber::Int(i) => {
                    let f = factor as i64;
                    if f <= 0 {
                        res.errors
                            .push(self.fail(|| not_positive_factor(path, &f.to_string())));
                    } else if i % f != 0 {
                        res.errors.push(self.fail(|| {
                            invalid(format!("{path} in body should be a multiple of {f}"))
                        }));
                    }
                }
                GoNumber::Float(x) => {
                    if factor <= 0.0 {
                        res.errors
                            .push(self.fail(|| not_positive_factor(path, &go_fmt::float(factor))));
                    } else {
                        let mult = if factor < 1.0 {
                            1.0 / factor * x
                        } else {
                            x / factor
                        };
                        if !is_json_integer(mult) {
                            res.errors.push(self.fail(|| {
                                invalid(format!(
                                    "{path} in body should be a multiple of {}",
                                    go_fmt::float(factor)
                                ))
                            }));
                        }
                    }
                }
            }
        }
        if let Some(min) = checks.minimum {
            let exclusive = checks.exclusive_minimum;
            let below = match n {
                GoNumber::Int(i) => {
                    let m = min as i64;
                    if exclusive { i <= m } else { i < m }
                }
                GoNumber::Float(x) => {
                    if exclusive {
                        x <= min
                    } else {
                        x < min
                    }
                }
            };
            if below {
                res.errors.push(self.fail(|| {
                    let relation = if exclusive {
                        "greater than"
                    } else {
                        "greater than or equal to"
                    };
                    invalid(format!(
                        "{path} in body should be {relation} {}",
                        bound(n, min)
                    ))
                }));
            }
        }
        if let Some(max) = checks.maximum {
            let exclusive = checks.exclusive_maximum;
            let above = match n {
                GoNumber::Int(i) => {
                    let m = max as i64;
                    if exclusive { i >= m } else { i > m }
                }
                GoNumber::Float(x) => {
                    if exclusive {
                        x >= max
                    } else {
                        x > max
                    }
                }
            };
            if above {
                res.errors.push(self.fail(|| {
                    let relation = if exclusive {
                        "less than"
                    } else {
                        "less than or equal to"
                    };
                    invalid(format!(
                        "{path} in body should be {relation} {}",
                        bound(n, max)
                    ))
                }));
            }
        }
        res
    }

    /// kube-openapi's `schemaSliceValidator`: items, then size and uniqueness.
    fn array_checks(&self, node: &Node, items: &[Value], path: &mut String) -> Outcome {
        let mut res = Outcome::default();
        if let Some(item_schema) = node.items.as_deref() {
            let len = path.len();
            for (i, item) in items.iter().enumerate() {
                use std::fmt::Write;
                let _ = write!(path, "[{i}]");
                res.merge(self.schema(item_schema, item, path));
                path.truncate(len);
            }
        }
        if let Some(checks) = node.checks.as_deref() {
            let size = items.len() as i64;
            if let Some(min) = checks.min_items.filter(|min| size < *min) {
                res.errors.push(self.fail(|| {
                    let message = format!("{path} in body should have at least {min} items");
                    err(Kind::Invalid, path, Value::from(size), message)
                }));
            }
            if let Some(max) = checks.max_items.filter(|max| size > *max) {
                res.errors.push(self.fail(|| {
                    let message = format!("{path} in body should have at most {max} items");
                    err(
                        Kind::TooMany { actual: size, max },
                        path,
                        Value::from(size),
                        message,
                    )
                }));
            }
            if checks.unique_items && has_duplicates(items) {
                res.errors.push(self.fail(|| {
                    let message = format!("{path} in body shouldn't contain duplicates");
                    err(Kind::Invalid, path, Value::Null, message)
                }));
            }
        }
        res.matches += 1;
        res
    }

    /// kube-openapi's `basicCommonValidator`: `enum`, with Go's convertible equality.
    fn enum_check(&self, node: &Node, data: &Value, path: &str) -> Outcome {
        let Some(values) = node.checks.as_deref().and_then(|c| c.enum_values.as_ref()) else {
            return Outcome::default();
        };
        if values.is_empty() || values.iter().any(|e| enum_matches(data, e)) {
            return Outcome::default();
        }
        self.failed(|| {
            let shown: Vec<String> = values.iter().map(go_fmt::sharp_v).collect();
            let message = format!("{path} in body should be one of [{}]", shown.join(" "));
            err(Kind::Enum(values.clone()), path, data.clone(), message)
        })
    }

    /// kube-openapi's `objectValidator`.
    fn object_checks(
        &self,
        node: &Node,
        map: &serde_json::Map<String, Value>,
        path: &mut String,
    ) -> Outcome {
        let mut res = Outcome::default();
        let checks = node.checks.as_deref();
        let count = map.len() as i64;
        if let Some(min) = checks
            .and_then(|c| c.min_properties)
            .filter(|min| count < *min)
        {
            res.errors.push(self.fail(|| {
                let message = format!("{path} in body should have at least {min} properties");
                err(Kind::Invalid, path, Value::from(count), message)
            }));
        }
        if let Some(max) = checks
            .and_then(|c| c.max_properties)
            .filter(|max| count > *max)
        {
            res.errors.push(self.fail(|| {
                let message = format!("{path} in body should have at most {max} properties");
                err(
                    Kind::TooMany { actual: count, max },
                    path,
                    Value::from(count),
                    message,
                )
            }));
        }
        if map.keys().is_sorted() {
            self.object_entries(node, map.iter(), path, &mut res);
        } else {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            self.object_entries(node, entries.iter().map(|(k, v)| (*k, *v)), path, &mut res);
        }
        if let Some(checks) = checks {
            for k in &checks.required {
                if !map.contains_key(k) {
                    res.errors.push(self.fail(|| {
                        let name = format!("{path}.{k}");
                        let message = format!("{name} in body is required");
                        err(Kind::Required, &name, Value::Null, message)
                    }));
                }
            }
        }
        res
    }

    /// The entries of an object, in key order: keys the schema does not name
    /// first (additionalProperties), then named properties, as kube-openapi does.
    fn object_entries<'v>(
        &self,
        node: &Node,
        entries: impl Iterator<Item = (&'v String, &'v Value)> + Clone,
        path: &mut String,
        res: &mut Outcome,
    ) {
        let len = path.len();
        match &node.additional_properties {
            Some(AdditionalProperties::Allowed(false)) => {
                for (k, _) in entries.clone().filter(|(k, _)| node.property(k).is_none()) {
                    res.errors.push(self.fail(|| {
                        let message = format!("{path}.{k} in body is a forbidden property");
                        err(Kind::Invalid, path, Value::String(k.to_string()), message)
                    }));
                }
            }
            Some(AdditionalProperties::Schema(schema)) => {
                for (k, v) in entries.clone().filter(|(k, _)| node.property(k).is_none()) {
                    path.push('.');
                    path.push_str(k);
                    res.merge(self.schema(schema, v, path));
                    path.truncate(len);
                }
            }
            _ => {}
        }
        if node.properties.is_empty() {
            return;
        }
        for (k, v) in entries {
            let Some(prop) = node.property(k) else {
                continue;
            };
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            res.merge(self.schema(prop, v, path));
            path.truncate(len);
        }
    }
}

/// A `minimum`/`maximum` as kube prints it: truncated to int64 for integer values.
fn bound(n: GoNumber, b: f64) -> String {
    match n {
        GoNumber::Int(_) => (b as i64).to_string(),
        GoNumber::Float(_) => go_fmt::float(b),
    }
}

fn format_name(node: &Node) -> &str {
    node.checks
        .as_deref()
        .and_then(|c| c.format.as_deref())
        .unwrap_or("")
}

fn not_positive_factor(path: &str, factor: &str) -> OpenApiError {
    let message = format!("factor MultipleOf declared for {path} must be positive: {factor}");
    err(
        Kind::Invalid,
        path,
        Value::String(factor.to_string()),
        message,
    )
}
