//! `x-kubernetes-validations`: CEL rules compiled once per CRD version and
//! evaluated against each written object (and its stored predecessor, for
//! transition rules), as kube-apiserver's
//! `apiextensions-apiserver/pkg/apiserver/schema/cel` does.
//!
//! # Compiling ([`Rules::compile`])
//!
//! Every rule of the `openAPIV3Schema` (under `properties`, `items`,
//! `additionalProperties` and `allOf`, at any depth) is checked as the CRD
//! validation does (`rule is not specified`, `message must not contain line
//! breaks`, unsupported `reason`, invalid `fieldPath`, `oldSelf` on an
//! uncorrelatable portion, `optionalOldSelf` without `oldSelf`...), parsed
//! with the `cel` crate, and type-checked by `check`: `self` and `oldSelf`
//! carry the CEL type kube derives from the schema (objects with their
//! escaped property names, `integer` as int, `number` as double, formats
//! `date`/`date-time` as timestamps, `duration` as durations, `byte` as
//! bytes, int-or-string as dyn; typeless preserve-unknown data is not
//! visible, as in kube). Errors are worded like cel-go's
//! (`ERROR: <input>:1:6: undefined field 'foo'` plus the caret snippet).
//!
//! # Cost
//!
//! * Statically, `check` estimates each rule's worst-case cost the way
//!   cel-go's estimator does, with kube's size bounds (`maxItems`,
//!   `maxProperties`, `maxLength`, else what fits in a 3 MiB request),
//!   multiplied by how many times the rule may run (the product of the
//!   enclosing lists' and maps' bounds, else the request-size bound).
//!   A rule over `StaticEstimatedCostLimit` (10⁷), or a schema whose rules
//!   total over `StaticEstimatedCRDCostLimit` (10⁸), is refused with kube's
//!   `estimated rule cost exceeds budget by factor of ...` errors. The
//!   estimate is an approximation of cel-go's, not a replica: rules near the
//!   limit may be judged differently.
//! * At runtime, compiled rules are instrumented (`library`): each
//!   comprehension iteration charges the size of its body *before* running
//!   it, and functions whose work grows with their input (`contains`,
//!   `matches`, `==` on lists, `in`, ...) charge by the input's size. A rule
//!   stops at kube's `PerCallLimit` (10⁶) and the whole object at
//!   `RuntimeCELCostBudget` (10⁷), with kube's messages; a wall-clock
//!   deadline per object (2 s) backs the budget up.
//!
//! # Evaluating ([`Rules::evaluate`])
//!
//! The object is walked as kube's `Validator` walks it; null values are not
//! validated. Transition rules (those naming `oldSelf`) run only when the
//! node has a correlated old value: through object properties and map keys
//! (unless `x-kubernetes-map-type: atomic`), and items of
//! `x-kubernetes-list-type: map` lists matched by their keys; with
//! `optionalOldSelf`, they also run without one, `oldSelf` being an
//! optional. On updates, errors of non-transition rules on values equal to
//! their old ones are ratcheted away (kube's `CRDValidationRatcheting`,
//! on by default since 1.30).
//!
//! # Library and gaps
//!
//! Available: the CEL standard library with optionals, cel-go's `strings`
//! extension, kube's `lists` (`isSorted`, `sum`, `min`, `max`, `indexOf`,
//! `lastIndexOf`) and `regex` (`find`, `findAll`) libraries, cel-go's
//! `sets`, and kube's `isIP`/`isCIDR`. Missing (rules using them are
//! refused as undeclared references): kube's `url`, `quantity`, `ip()`/
//! `cidr()` values, `format`, `semver` and authz libraries, `cel.bind`, and
//! two-variable comprehensions. Lists of `x-kubernetes-list-type` `set` or
//! `map` compare (and concatenate) in order, where kube ignores order. The
//! type checker is conservative: it reports what cel-go certainly would
//! (undefined fields, undeclared names, mismatched overloads on known
//! types, non-bool rules) and types anything uncertain as `dyn`.

mod check;
mod convert;
mod fieldpath;
mod library;
mod schema;
#[cfg(test)]
mod tests;

use crate::FieldError;
use cel::common::ast::IdedExpr;
use cel::common::types::{CelBool, CelOptional, CelString};
use cel::{Context, ExecutionError, Program};
use fieldpath::{child, key, render};
use library::{ENV, LIMIT_EXCEEDED, PER_CALL_LIMIT, RUNTIME_BUDGET, Spent};
use schema::{MAX_REQUEST_SIZE_BYTES, Node, RawRule, Ty};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// kube's `StaticEstimatedCostLimit`.
const STATIC_COST_LIMIT: u64 = 10_000_000;
/// kube's `StaticEstimatedCRDCostLimit`.
const STATIC_CRD_COST_LIMIT: u64 = 100_000_000;
/// kube's `MaxEvaluatedMessageExpressionSizeBytes`.
const MAX_MESSAGE_EXPRESSION_BYTES: usize = 5 * 1024;
/// The wall-clock bound on evaluating one object's rules.
const EVALUATION_DEADLINE: Duration = Duration::from_secs(2);

const SUPPORTED_REASONS: &[&str] = &[
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

/// Every x-kubernetes-validations rule of one CRD version's openAPIV3Schema, compiled once.
#[derive(Clone)]
pub struct Rules {
    root: Option<Arc<Validator>>,
    count: usize,
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules").field("rules", &self.count).finish()
    }
}

/// The compiled rules of one schema node, and of the nodes below it.
struct Validator {
    schema: Arc<Node>,
    resource_root: bool,
    schema_type: String,
    rules: Vec<CompiledRule>,
    uses_old_self: bool,
    properties: Vec<(String, Validator)>,
    items: Option<Box<Validator>>,
    additional: Option<Box<Validator>>,
    all_of: Vec<Validator>,
}

struct CompiledRule {
    raw: RawRule,
    program: IdedExpr,
    base_cost: u64,
    uses_old_self: bool,
    optional_old_self: bool,
    message_expression: Option<(IdedExpr, u64)>,
    field_path: String,
}

impl Rules {
    /// Walks the raw openAPIV3Schema JSON (serde_json::Value) and compiles every rule found at any
    /// depth (properties, items, additionalProperties). `path` is the schema's field path in the CRD
    /// (e.g. "spec.versions[0].schema.openAPIV3Schema") used to prefix errors. Errors are
    /// FieldErrors worded as kube-apiserver words CRD-creation rule errors.
    pub fn compile(schema: &Value, path: &str) -> Result<Rules, Vec<FieldError>> {
        let root = Node::parse(schema);
        let mut c = Compiler::default();
        let (validator, _) = c.node(&root, &root, path, true, Some(1), None);
        if c.total > STATIC_CRD_COST_LIMIT {
            for (p, _) in &c.most_expensive {
                c.errors.push(FieldError::forbidden(
                    p.clone(),
                    "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
                ));
            }
            c.errors.push(FieldError::forbidden(
                path,
                cost_error_message(
                    "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
                    c.total,
                    STATIC_CRD_COST_LIMIT,
                ),
            ));
        }
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        Ok(Rules {
            root: validator.map(Arc::new),
            count: c.count,
        })
    }

    /// True when no rule exists (so the server can skip work).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Evaluates all rules against `obj` (the whole custom object) and, for updates, `old`.
    /// Transition rules (those referencing `oldSelf`) run only when old exists and the node has a
    /// correlatable old value (same path via object properties, map keys, and list-type=map items
    /// matched by keys; atomic lists/sets are not correlated element-wise), like kube.
    pub fn evaluate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        self.evaluate_with_budget(obj, old, RUNTIME_BUDGET)
    }

    fn evaluate_with_budget(
        &self,
        obj: &Value,
        old: Option<&Value>,
        budget: u64,
    ) -> Vec<FieldError> {
        let Some(root) = &self.root else {
            return Vec::new();
        };
        let mut st = EvalState {
            errors: Vec::new(),
            remaining: budget as i64,
            stop: false,
            deadline: Instant::now() + EVALUATION_DEADLINE,
        };
        let ratchet = match old {
            Some(o) if !o.is_null() => Ratchet {
                current: Some(Corr {
                    new: obj,
                    old: o,
                    node: &root.schema,
                }),
                parent: None,
            },
            _ => Ratchet::default(),
        };
        validate(root, "", obj, old, ratchet, &mut st);
        st.errors
    }
}

// ---------------------------------------------------------------------------
// Compiling

#[derive(Default)]
struct Compiler {
    errors: Vec<FieldError>,
    total: u64,
    most_expensive: Vec<(String, u64)>,
    count: usize,
}

fn has_newlines(s: &str) -> bool {
    s.contains('\n') || s.contains('\r')
}

fn cost_error_message(name: &str, cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit as f64;
    let factor = if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!(
        "{name} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    )
}

/// The rule as Go's `%#v` prints kube's internal `apiextensions.ValidationRule`.
fn rule_repr(r: &RawRule) -> String {
    let reason = match &r.reason {
        None => "(*apiextensions.FieldValueErrorReason)(nil)".to_string(),
        Some(x) => format!("(*apiextensions.FieldValueErrorReason)({x:?})"),
    };
    let oos = match r.optional_old_self {
        None => "(*bool)(nil)".to_string(),
        Some(b) => format!("(*bool)({b})"),
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{:?}, Message:{:?}, MessageExpression:{:?}, Reason:{reason}, FieldPath:{:?}, OptionalOldSelf:{oos}}}",
        r.rule,
        r.message.as_deref().unwrap_or(""),
        r.message_expression.as_deref().unwrap_or(""),
        r.field_path.as_deref().unwrap_or(""),
    )
}

fn invalid_rule(field: String, r: &RawRule, detail: &str) -> FieldError {
    FieldError {
        reason: "FieldValueInvalid",
        field,
        message: format!("Invalid value: {}: {detail}", rule_repr(r)),
    }
}

/// cel-go's rendering of one issue: position, message and caret snippet.
fn format_issue(src: &str, line: usize, col: usize, msg: &str) -> String {
    let mut s = format!("ERROR: <input>:{line}:{}: {msg}", col + 1);
    if let Some(snippet) = src.split('\n').nth(line.saturating_sub(1)) {
        let snippet = snippet.replace('\t', " ");
        s.push_str("\n | ");
        s.push_str(&snippet);
        s.push_str("\n | ");
        for ch in snippet.chars().take(col) {
            s.push(if ch.len_utf8() > 1 { '\u{FF0E}' } else { '.' });
        }
        let at = snippet.chars().nth(col);
        s.push(if at.is_some_and(|c| c.len_utf8() > 1) {
            '\u{FF3E}'
        } else {
            '^'
        });
    }
    s
}

/// The 1-based line and 0-based (character) column of a byte offset, as
/// the parser's source info records positions.
fn location(src: &str, offset: u32) -> (usize, usize) {
    let (mut line, mut col) = (1, 0);
    for (i, ch) in src.char_indices() {
        if i as u32 >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// A parsed and checked expression.
struct Checked {
    expr: IdedExpr,
    ty: Ty,
    cost: u64,
    uses_old_self: bool,
}

/// Parses and checks `src`; the error is cel-go's issue list.
fn parse_and_check(src: &str, self_ty: &Ty, old_self_ty: &Ty) -> Result<Checked, String> {
    let parsed = catch_unwind(AssertUnwindSafe(|| ENV.compile(src)));
    let program: Program = match parsed {
        Ok(Ok(p)) => p,
        Ok(Err(errs)) => {
            let issues: Vec<String> = errs
                .errors
                .iter()
                .map(|e| {
                    let line = e.pos.0.max(1) as usize;
                    let col = (e.pos.1 - 1).max(0) as usize;
                    format_issue(src, line, col, &e.msg)
                })
                .collect();
            return Err(issues.join("\n"));
        }
        Err(_) => return Err("ERROR: <input>:1:1: unparsable expression".to_string()),
    };
    let checked = check::check(
        program.expression(),
        program.source_info(),
        self_ty,
        old_self_ty,
    );
    if !checked.errors.is_empty() {
        let issues: Vec<String> = checked
            .errors
            .iter()
            .map(|(off, msg)| {
                let (line, col) = location(src, *off);
                format_issue(src, line, col, msg)
            })
            .collect();
        return Err(issues.join("\n"));
    }
    Ok(Checked {
        expr: program.expression().clone(),
        ty: checked.ty,
        cost: checked.cost,
        uses_old_self: checked.uses_old_self,
    })
}

impl Compiler {
    fn observe(&mut self, path: &str, cost: u64) {
        self.total = self.total.saturating_add(cost);
        if cost < STATIC_CRD_COST_LIMIT / 100 {
            return;
        }
        self.most_expensive.push((path.to_string(), cost));
        self.most_expensive.sort_by_key(|e| std::cmp::Reverse(e.1));
        self.most_expensive.truncate(4);
    }

    /// Compiles the rules of `validation` (a schema node, or an `allOf`
    /// entry) on values of `structural`, and of the nodes below. Returns the
    /// validator, if any rule exists, and whether rule-level errors were
    /// found at this level or deeper.
    fn node(
        &mut self,
        validation: &Arc<Node>,
        structural: &Arc<Node>,
        path: &str,
        resource_root: bool,
        cardinality: Option<u64>,
        forbid_old_self: Option<&str>,
    ) -> (Option<Validator>, bool) {
        if !validation.has_rules {
            return (None, false);
        }
        let mut schema_errors = false;
        let times = |c: Option<u64>, m: Option<i64>| match (c, m) {
            (Some(c), Some(m)) => Some(c.saturating_mul(m.max(0) as u64)),
            _ => None,
        };

        let mut additional = None;
        if let (Some(va), Some(sa)) = (&validation.additional, &structural.additional) {
            let (v, e) = self.node(
                va,
                sa,
                &format!("{path}.additionalProperties"),
                sa.embedded,
                times(cardinality, structural.max_properties),
                forbid_old_self,
            );
            additional = v.map(Box::new);
            schema_errors |= e;
        }

        let mut properties = Vec::new();
        let prop_forbid = if structural.map_correlatable() {
            forbid_old_self
        } else {
            forbid_old_self.or(Some(path))
        };
        for (name, vp) in &validation.properties {
            let Some(sp) = structural.property(name, false) else {
                continue;
            };
            let (v, e) = self.node(
                vp,
                sp,
                &format!("{path}.properties[{name}]"),
                sp.embedded,
                cardinality,
                prop_forbid,
            );
            if let Some(v) = v {
                properties.push((name.clone(), v));
            }
            schema_errors |= e;
        }

        let mut all_of = Vec::new();
        for (i, a) in validation.all_of.iter().enumerate() {
            let (v, e) = self.node(
                a,
                structural,
                &format!("{path}.allOf[{i}]"),
                resource_root,
                cardinality,
                forbid_old_self,
            );
            if let Some(v) = v {
                all_of.push(v);
            }
            schema_errors |= e;
        }

        let mut items = None;
        if let (Some(vi), Some(si)) = (&validation.items, &structural.items) {
            let items_forbid = if structural.list_type.as_deref() == Some("map") {
                forbid_old_self
            } else {
                forbid_old_self.or(Some(path))
            };
            let (v, e) = self.node(
                vi,
                si,
                &format!("{path}.items"),
                si.embedded,
                times(cardinality, structural.max_items),
                items_forbid,
            );
            items = v.map(Box::new);
            schema_errors |= e;
        }

        let rules = if validation.rules.is_empty() {
            Vec::new()
        } else {
            let (rules, e) = self.rules(
                validation,
                structural,
                path,
                resource_root,
                cardinality,
                forbid_old_self,
                schema_errors,
            );
            schema_errors |= e;
            rules
        };

        if rules.is_empty()
            && properties.is_empty()
            && items.is_none()
            && additional.is_none()
            && all_of.is_empty()
        {
            return (None, schema_errors);
        }
        let uses_old_self = rules.iter().any(|r| r.uses_old_self);
        (
            Some(Validator {
                schema: structural.clone(),
                resource_root,
                schema_type: structural.type_.clone(),
                rules,
                uses_old_self,
                properties,
                items,
                additional,
                all_of,
            }),
            schema_errors,
        )
    }

    /// The rules of one node: rule-level checks, then, if the schema here
    /// and below is sound, CEL compilation and cost checks.
    #[allow(clippy::too_many_arguments)]
    fn rules(
        &mut self,
        validation: &Node,
        structural: &Node,
        path: &str,
        resource_root: bool,
        cardinality: Option<u64>,
        forbid_old_self: Option<&str>,
        errors_below: bool,
    ) -> (Vec<CompiledRule>, bool) {
        let mut schema_errors = false;
        let mut normalized_paths = vec![String::new(); validation.rules.len()];
        for (i, r) in validation.rules.iter().enumerate() {
            let rp = format!("{path}.x-kubernetes-validations[{i}]");
            let trimmed_rule = r.rule.trim();
            let msg = r.message.as_deref().unwrap_or("");
            let trimmed_msg = msg.trim();
            let mut push = |e: FieldError| {
                self.errors.push(e);
                schema_errors = true;
            };
            if trimmed_rule.is_empty() {
                push(FieldError::required(
                    format!("{rp}.rule"),
                    "rule is not specified",
                ));
            } else if !msg.is_empty() && trimmed_msg.is_empty() {
                push(FieldError::invalid(
                    format!("{rp}.message"),
                    &Value::String(msg.to_string()),
                    "message must be non-empty if specified",
                ));
            } else if has_newlines(trimmed_msg) {
                push(FieldError::invalid(
                    format!("{rp}.message"),
                    &Value::String(msg.to_string()),
                    "message must not contain line breaks",
                ));
            } else if has_newlines(trimmed_rule) && trimmed_msg.is_empty() {
                push(FieldError::required(
                    format!("{rp}.message"),
                    "message must be specified if rule contains line breaks",
                ));
            }
            if let Some(me) = &r.message_expression
                && !me.is_empty()
                && me.trim().is_empty()
            {
                push(FieldError::required(
                    format!("{rp}.messageExpression"),
                    "messageExpression must be non-empty if specified",
                ));
            }
            if let Some(reason) = &r.reason
                && !SUPPORTED_REASONS.contains(&reason.as_str())
            {
                push(FieldError::not_supported(
                    format!("{rp}.reason"),
                    &Value::String(reason.clone()),
                    SUPPORTED_REASONS,
                ));
            }
            if let Some(fp) = &r.field_path {
                let fpv = Value::String(fp.clone());
                if !fp.is_empty() && fp.trim().is_empty() {
                    push(FieldError::invalid(
                        format!("{rp}.fieldPath"),
                        &fpv,
                        "fieldPath must be non-empty if specified",
                    ));
                }
                if has_newlines(fp) {
                    push(FieldError::invalid(
                        format!("{rp}.fieldPath"),
                        &fpv,
                        "fieldPath must not contain line breaks",
                    ));
                }
                if !fp.is_empty() {
                    match fieldpath::valid_field_path(fp, structural) {
                        Ok(p) => normalized_paths[i] = p,
                        Err(_) => push(FieldError::invalid(
                            format!("{rp}.fieldPath"),
                            &fpv,
                            "fieldPath must be a valid path",
                        )),
                    }
                }
            }
        }
        if schema_errors || errors_below {
            return (Vec::new(), schema_errors);
        }

        let Some(decl) = structural.decl(resource_root) else {
            self.errors.push(FieldError {
                reason: "InternalError",
                field: format!("{path}.x-kubernetes-validations"),
                message: "Internal error: internal error: failed to retrieve type information for x-kubernetes-validations".to_string(),
            });
            return (Vec::new(), false);
        };
        let rule_cardinality = cardinality
            .unwrap_or_else(|| MAX_REQUEST_SIZE_BYTES / (decl.min_size.saturating_add(1)));

        let mut out = Vec::new();
        for (i, r) in validation.rules.iter().enumerate() {
            let rp = format!("{path}.x-kubernetes-validations[{i}]");
            let optional = r.optional_old_self == Some(true);
            let old_ty = if optional {
                Ty::Optional(Box::new(decl.ty.clone()))
            } else {
                decl.ty.clone()
            };
            let mut compiled = match parse_and_check(&r.rule, &decl.ty, &old_ty) {
                Err(issues) => Err(format!("compilation failed: {issues}")),
                Ok(c) if !matches!(c.ty, Ty::Bool | Ty::Dyn(_)) => {
                    Err("cel expression must evaluate to a bool".to_string())
                }
                Ok(c) => Ok(c),
            };
            let cost = match &compiled {
                Ok(c) => c.cost.saturating_add(1).saturating_mul(rule_cardinality),
                Err(_) => 0,
            };
            if cost > STATIC_COST_LIMIT {
                self.errors.push(FieldError::forbidden(
                    format!("{rp}.rule"),
                    cost_error_message("estimated rule cost", cost, STATIC_COST_LIMIT),
                ));
            }
            self.observe(&format!("{rp}.rule"), cost);
            if let Err(detail) = &compiled {
                self.errors
                    .push(invalid_rule(format!("{rp}.rule"), r, detail));
            }

            let mut message_expression = None;
            if let Some(src) = r.message_expression.as_deref().filter(|s| !s.is_empty()) {
                match parse_and_check(src, &decl.ty, &old_ty) {
                    Err(issues) => self.errors.push(invalid_rule(
                        format!("{rp}.messageExpression"),
                        r,
                        &format!("messageExpression compilation failed: {issues}"),
                    )),
                    Ok(c) if !matches!(c.ty, Ty::String(_) | Ty::Dyn(_)) => {
                        self.errors.push(invalid_rule(
                            format!("{rp}.messageExpression"),
                            r,
                            "messageExpression must evaluate to a string",
                        ))
                    }
                    Ok(mut c) => {
                        let msg_cost = c.cost.saturating_add(1);
                        if msg_cost > STATIC_COST_LIMIT {
                            self.errors.push(FieldError::forbidden(
                                format!("{rp}.messageExpression"),
                                cost_error_message(
                                    "estimated messageExpression cost",
                                    msg_cost,
                                    STATIC_COST_LIMIT,
                                ),
                            ));
                        }
                        self.observe(&format!("{rp}.messageExpression"), msg_cost);
                        let base = library::instrument(&mut c.expr);
                        message_expression = Some((c.expr, base));
                    }
                }
            }

            if let Ok(c) = &mut compiled {
                if c.uses_old_self {
                    if let Some(within) = forbid_old_self {
                        self.errors.push(FieldError::invalid(
                            format!("{rp}.rule"),
                            &Value::String(r.rule.clone()),
                            format!(
                                "oldSelf cannot be used on the uncorrelatable portion of the schema within {within}"
                            ),
                        ));
                    }
                } else if let Some(b) = r.optional_old_self {
                    self.errors.push(FieldError::invalid(
                        format!("{rp}.optionalOldSelf"),
                        &Value::Bool(b),
                        "may not be set if oldSelf is not used in rule",
                    ));
                }
                let base_cost = library::instrument(&mut c.expr);
                self.count += 1;
                out.push(CompiledRule {
                    raw: r.clone(),
                    program: std::mem::take(&mut c.expr),
                    base_cost,
                    uses_old_self: c.uses_old_self,
                    optional_old_self: optional,
                    message_expression,
                    field_path: std::mem::take(&mut normalized_paths[i]),
                });
            }
        }
        (out, false)
    }
}

// ---------------------------------------------------------------------------
// Evaluating

struct EvalState {
    errors: Vec<FieldError>,
    remaining: i64,
    stop: bool,
    deadline: Instant,
}

/// A new value and the old value it correlates with, for ratcheting.
#[derive(Clone, Copy)]
struct Corr<'a> {
    new: &'a Value,
    old: &'a Value,
    node: &'a Node,
}

/// kube's `ratchetingOptions`: the current node's correlation, if any, and
/// the nearest correlated ancestor's.
#[derive(Clone, Copy, Default)]
struct Ratchet<'a> {
    current: Option<Corr<'a>>,
    parent: Option<Corr<'a>>,
}

impl<'a> Ratchet<'a> {
    fn key(self, field: &str) -> Ratchet<'a> {
        let Some(cur) = self.current else {
            return self;
        };
        if self.parent.is_none() && (field == "apiVersion" || field == "kind") {
            return Ratchet::default();
        }
        let next = (|| {
            let new = cur.new.as_object()?.get(field)?;
            let old = cur.old.as_object()?.get(field)?;
            let node = match cur.node.property(field, false) {
                Some(p) => p,
                None => cur.node.additional.as_ref()?,
            };
            Some(Corr { new, old, node })
        })();
        Ratchet {
            current: next,
            parent: Some(cur),
        }
    }

    fn index(self, old_item: Option<&'a Value>, new_item: &'a Value) -> Ratchet<'a> {
        let Some(cur) = self.current else {
            return self;
        };
        let next = match (old_item, cur.node.items.as_deref()) {
            (Some(old), Some(node)) => Some(Corr {
                new: new_item,
                old,
                node,
            }),
            _ => None,
        };
        Ratchet {
            current: next,
            parent: Some(cur),
        }
    }

    fn should_ratchet(&self) -> bool {
        match (self.current, self.parent) {
            (Some(c), _) => deep_equal(c.new, c.old, c.node),
            (None, Some(p)) => deep_equal(p.new, p.old, p.node),
            _ => false,
        }
    }
}

/// kube's `CachedDeepEqual`: map-type lists compare by key, objects only
/// through their schema.
fn deep_equal(new: &Value, old: &Value, node: &Node) -> bool {
    match (new, old) {
        (Value::Array(n), Value::Array(o)) => {
            if n.len() != o.len() {
                return false;
            }
            match (node.list_type.as_deref(), node.items.as_deref()) {
                (Some("map"), Some(items)) => {
                    let index = MapList::new(o, node);
                    n.iter().all(|item| match index.get(item) {
                        Some(old_item) => deep_equal(item, old_item, items),
                        None => false,
                    })
                }
                _ => n == o,
            }
        }
        (Value::Object(n), Value::Object(o)) => {
            if n.len() != o.len() {
                return false;
            }
            n.iter().all(|(k, v)| {
                let Some(ov) = o.get(k) else {
                    return false;
                };
                let child = match node.property(k, false) {
                    Some(p) => p,
                    None => match &node.additional {
                        Some(a) => a,
                        None => return false,
                    },
                };
                deep_equal(v, ov, child)
            })
        }
        _ => new == old,
    }
}

/// The items of an old `x-kubernetes-list-type: map` list by their keys.
struct MapList<'a> {
    by_key: HashMap<String, &'a Value>,
    keys: &'a [String],
    items: Option<&'a Node>,
}

impl<'a> MapList<'a> {
    fn new(old: &'a [Value], node: &'a Node) -> Self {
        let mut m = MapList {
            by_key: HashMap::with_capacity(old.len()),
            keys: &node.list_map_keys,
            items: node.items.as_deref(),
        };
        for item in old {
            if let Some(k) = m.key_of(item) {
                m.by_key.entry(k).or_insert(item);
            }
        }
        m
    }

    fn key_of(&self, item: &Value) -> Option<String> {
        let o = item.as_object()?;
        let mut parts = Vec::with_capacity(self.keys.len());
        for k in self.keys {
            let v = match o.get(k) {
                Some(v) => v.clone(),
                None => self
                    .items
                    .and_then(|i| i.property(k, false))
                    .and_then(|p| p.default.clone())?,
            };
            parts.push(v);
        }
        serde_json::to_string(&parts).ok()
    }

    fn get(&self, item: &Value) -> Option<&'a Value> {
        self.key_of(item).and_then(|k| self.by_key.get(&k).copied())
    }
}

fn validate<'a>(
    v: &'a Validator,
    path: &str,
    obj: &'a Value,
    old: Option<&'a Value>,
    r: Ratchet<'a>,
    st: &mut EvalState,
) {
    if obj.is_null() || st.stop {
        return;
    }
    let old = old.filter(|o| !o.is_null());
    expressions(v, path, obj, old, r, st);
    if st.stop {
        return;
    }
    for a in &v.all_of {
        validate(
            a,
            path,
            obj,
            old,
            Ratchet {
                current: None,
                parent: r.parent,
            },
            st,
        );
        if st.stop {
            return;
        }
    }
    match obj {
        Value::Array(items) => {
            let Some(iv) = &v.items else {
                return;
            };
            let is_map_list = v.schema.list_type.as_deref() == Some("map");
            let old_list = old.and_then(Value::as_array).filter(|_| is_map_list);
            let old_index = old_list.map(|o| MapList::new(o, &v.schema));
            let ratchet_list = r
                .current
                .filter(|_| is_map_list)
                .and_then(|c| c.old.as_array());
            let ratchet_index = match (ratchet_list, old_list) {
                (Some(rl), Some(ol)) if std::ptr::eq(rl, ol) => None,
                (Some(rl), _) => Some(MapList::new(rl, &v.schema)),
                _ => None,
            };
            for (i, item) in items.iter().enumerate() {
                let old_item = old_index.as_ref().and_then(|m| m.get(item));
                let ratchet_old = match (&ratchet_index, ratchet_list) {
                    (Some(m), _) => m.get(item),
                    (None, Some(_)) => old_item,
                    _ => None,
                };
                validate(
                    iv,
                    &key(path, &i.to_string()),
                    item,
                    old_item,
                    r.index(ratchet_old, item),
                    st,
                );
                if st.stop {
                    return;
                }
            }
        }
        Value::Object(map) => {
            let correlatable = v.schema.map_correlatable();
            let old_map = old.and_then(Value::as_object).filter(|_| correlatable);
            if let Some(av) = &v.additional {
                for (k, val) in map {
                    let old_v = old_map.and_then(|m| m.get(k));
                    validate(av, &key(path, k), val, old_v, r.key(k), st);
                    if st.stop {
                        return;
                    }
                }
            }
            for (name, pv) in &v.properties {
                let Some(val) = map.get(name) else {
                    continue;
                };
                let old_v = old_map.and_then(|m| m.get(name));
                validate(pv, &child(path, name), val, old_v, r.key(name), st);
                if st.stop {
                    return;
                }
            }
        }
        _ => {}
    }
}

/// What evaluating one expression gave.
enum Outcome {
    Bool(bool),
    Str(String),
    Other,
    Error(ExecutionError),
    Panicked,
}

/// Evaluates `expr` under the meter.
fn run(expr: &IdedExpr, base: u64, ctx: &Context, st: &EvalState) -> (Outcome, u64, Spent) {
    library::meter_start(PER_CALL_LIMIT, Some(st.deadline));
    let outcome = match library::charge(base) {
        Err(e) => Outcome::Error(e),
        Ok(()) => {
            match catch_unwind(AssertUnwindSafe(|| {
                cel::Value::resolve_val(expr, ctx).map(|v| {
                    if let Some(b) = v.downcast_ref::<CelBool>() {
                        Outcome::Bool(*b.inner())
                    } else if let Some(s) = v.downcast_ref::<CelString>() {
                        Outcome::Str(s.inner().to_string())
                    } else {
                        Outcome::Other
                    }
                })
            })) {
                Ok(Ok(o)) => o,
                Ok(Err(e)) => Outcome::Error(e),
                Err(_) => Outcome::Panicked,
            }
        }
    };
    let (used, spent) = library::meter_finish();
    (outcome, used, spent)
}

/// A runtime error as cel-go words it.
fn error_text(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::NoSuchOverload(_)
        | ExecutionError::UnsupportedBinaryOperator(..)
        | ExecutionError::ValuesNotComparable(..)
        | ExecutionError::UnexpectedType { .. }
        | ExecutionError::UnsupportedTargetType { .. }
        | ExecutionError::NotSupportedAsMethod { .. } => "no such overload".to_string(),
        ExecutionError::DivisionByZero(_) => "division by zero".to_string(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".to_string(),
        ExecutionError::Overflow(..) => "integer overflow".to_string(),
        ExecutionError::IndexOutOfBounds(v) => match v {
            cel::Value::Int(i) => format!("index out of bounds: {i}"),
            cel::Value::UInt(i) => format!("index out of bounds: {i}"),
            other => format!("index out of bounds: {other:?}"),
        },
        ExecutionError::UndeclaredReference(n) => format!("no such attribute: {n}"),
        ExecutionError::FunctionError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn rule_error_string(r: &RawRule) -> String {
    match r.message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => r.rule.trim().to_string(),
    }
}

fn rule_message_or_default(r: &RawRule) -> String {
    match r.message.as_deref().map(str::trim) {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => format!("failed rule: {}", rule_error_string(r)),
    }
}

fn out_of_budget(path: &str, ty: &Value, st: &mut EvalState) {
    st.errors.push(FieldError::invalid(
        render(path),
        ty,
        "validation failed due to running out of cost budget, no further validation rules will be run",
    ));
    st.stop = true;
}

fn expressions<'a>(
    v: &'a Validator,
    path: &str,
    obj: &'a Value,
    old: Option<&'a Value>,
    r: Ratchet<'a>,
    st: &mut EvalState,
) {
    if v.rules.is_empty() {
        return;
    }
    let ty = Value::String(v.schema_type.clone());
    if st.remaining <= 0 {
        out_of_budget(path, &ty, st);
        return;
    }
    let mut ctx = Context::with_env(ENV.clone());
    ctx.add_variable_as_val(
        "self",
        convert::to_val(obj, Some(v.schema.as_ref()), v.resource_root),
    );
    let has_old = v.uses_old_self && old.is_some();
    if let (true, Some(o)) = (has_old, old) {
        ctx.add_variable_as_val(
            "oldSelf",
            convert::to_val(o, Some(v.schema.as_ref()), v.resource_root),
        );
    }

    for rule in &v.rules {
        if rule.uses_old_self && !has_old && !rule.optional_old_self {
            continue;
        }
        let (outcome, used, spent) = if rule.optional_old_self {
            let mut inner = ctx.new_inner_scope();
            let opt = match ctx.get_variable("oldSelf").filter(|_| has_old) {
                Some(o) => CelOptional::of(o.as_ref().clone_as_boxed()),
                None => CelOptional::none(),
            };
            inner.add_variable_as_val("oldSelf", Box::new(opt));
            run(&rule.program, rule.base_cost, &inner, st)
        } else {
            run(&rule.program, rule.base_cost, &ctx, st)
        };
        if used as i64 > st.remaining || spent == Spent::Deadline {
            out_of_budget(path, &ty, st);
            return;
        }
        st.remaining -= used as i64;
        let res = rule_error_string(&rule.raw);
        if spent == Spent::CallLimit {
            st.errors.push(FieldError::invalid(
                render(path),
                &ty,
                format!(
                    "'{LIMIT_EXCEEDED}': no further validation rules will be run due to call cost exceeds limit for rule: {res}"
                ),
            ));
            st.stop = true;
            return;
        }
        match outcome {
            Outcome::Bool(true) => continue,
            Outcome::Error(e) => {
                let text = error_text(&e);
                let detail = if text.starts_with("no such overload") {
                    format!(
                        "'{text}': call arguments did not match a supported operator, function or macro signature for rule: {res}"
                    )
                } else {
                    format!("{text} evaluating rule: {res}")
                };
                st.errors
                    .push(FieldError::invalid(render(path), &ty, detail));
                continue;
            }
            Outcome::Panicked => {
                st.errors.push(FieldError::invalid(
                    render(path),
                    &ty,
                    format!("internal error evaluating rule: {res}"),
                ));
                continue;
            }
            Outcome::Bool(false) | Outcome::Str(_) | Outcome::Other => {}
        }

        let field = if rule.field_path.is_empty() {
            render(path)
        } else {
            child(path, &rule.field_path)
        };
        let ratchet = !rule.uses_old_self && r.should_ratchet();
        let mut detail = None;
        if let Some((msg_expr, base)) = &rule.message_expression {
            let (outcome, used, spent) = run(msg_expr, *base, &ctx, st);
            if used as i64 > st.remaining || spent == Spent::Deadline {
                if !ratchet {
                    st.errors.push(FieldError::invalid(
                        field,
                        &ty,
                        "messageExpression evaluation failed due to running out of cost budget, no further validation rules will be run",
                    ));
                }
                st.stop = true;
                return;
            }
            if spent == Spent::CallLimit {
                if !ratchet {
                    st.errors.push(FieldError::invalid(
                        field,
                        &ty,
                        format!(
                            "no further validation rules will be run due to call cost exceeds limit for messageExpression: {:?}",
                            rule.raw.message_expression.as_deref().unwrap_or("")
                        ),
                    ));
                }
                st.stop = true;
                return;
            }
            st.remaining -= used as i64;
            if let Outcome::Str(s) = outcome {
                let t = s.trim();
                if !t.is_empty() && t.len() <= MAX_MESSAGE_EXPRESSION_BYTES && !t.contains('\n') {
                    detail = Some(t.to_string());
                }
            }
        }
        if ratchet {
            continue;
        }
        let detail = detail.unwrap_or_else(|| rule_message_or_default(&rule.raw));
        let err = match rule.raw.reason.as_deref() {
            Some("FieldValueForbidden") => FieldError::forbidden(field, detail),
            Some("FieldValueRequired") => FieldError::required(field, detail),
            Some("FieldValueDuplicate") => FieldError::duplicate(field, &ty),
            _ => FieldError::invalid(field, &ty, detail),
        };
        st.errors.push(err);
    }
}
