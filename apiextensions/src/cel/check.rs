//! A conservative CEL type checker and worst-case cost estimator.
//!
//! The `cel` crate only parses and interprets; kube-apiserver type-checks
//! every rule against the schema when the CRD is written (cel-go's checker)
//! and refuses rules whose estimated cost is too high. This module does both
//! in one walk of the parsed expression:
//!
//! * types: `self`/`oldSelf` get the schema's CEL type, field selections on
//!   objects must name declared (escaped) properties (`undefined field`),
//!   identifiers must be declared (`undeclared reference`), and calls with
//!   fully known argument types must match a known overload. Anything
//!   uncertain is typed `dyn` and accepted: the checker only reports what
//!   cel-go would certainly report.
//! * cost: an approximation of cel-go's `EstimateCost` with kube's size
//!   bounds (`maxItems`, `maxLength`, `maxProperties`, else what fits in a
//!   3 MiB request): comprehensions multiply their body by the range's
//!   maximum size, string functions cost a tenth of the string's length.

use super::library::NAMESPACES;
use super::schema::{K, MAX_REQUEST_SIZE_BYTES, Ty};
use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue, SourceInfo};

/// What checking an expression found.
pub(crate) struct Checked {
    pub ty: Ty,
    pub cost: u64,
    pub uses_old_self: bool,
    /// (byte offset into the source, message), in source order.
    pub errors: Vec<(u32, String)>,
}

/// Checks `expr` with `self` of type `self_ty` and `oldSelf` of type
/// `old_self_ty` (an optional for `optionalOldSelf` rules).
pub(crate) fn check(expr: &IdedExpr, info: &SourceInfo, self_ty: &Ty, old_self_ty: &Ty) -> Checked {
    let mut c = Checker {
        info,
        vars: vec![
            ("self".to_string(), self_ty.clone()),
            ("oldSelf".to_string(), old_self_ty.clone()),
        ],
        uses_old_self: false,
        errors: Vec::new(),
    };
    let (ty, cost) = c.expr(expr);
    let mut errors = c.errors;
    errors.sort_by_key(|e| e.0);
    errors.dedup();
    Checked {
        ty,
        cost,
        uses_old_self: c.uses_old_self,
        errors,
    }
}

struct Checker<'a> {
    info: &'a SourceInfo,
    vars: Vec<(String, Ty)>,
    uses_old_self: bool,
    errors: Vec<(u32, String)>,
}

const TYPE_NAMES: &[&str] = &[
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
    "optional_type",
];

fn frac(size: u64, factor: f64) -> u64 {
    let v = (size as f64 * factor).ceil();
    if v >= u64::MAX as f64 {
        u64::MAX
    } else {
        v as u64
    }
}

fn is_num(k: K) -> bool {
    matches!(k, K::Int | K::Uint | K::Double)
}

/// The element type two lists of elements `a` and `b` join to.
fn join(a: &Ty, b: &Ty) -> Ty {
    match (a.kind(), b.kind()) {
        (K::Dyn, _) => b.clone(),
        (_, K::Dyn) => a.clone(),
        (x, y) if x == y => a.clone(),
        _ => Ty::dyn_(),
    }
}

enum Res {
    Ty(Ty),
    NoOverload,
    Undeclared,
}

impl Checker<'_> {
    fn err(&mut self, id: u64, msg: String) {
        let off = self.info.offset_for(id).map(|o| o.0).unwrap_or(0);
        self.errors.push((off, msg));
    }

    fn lookup(&self, name: &str) -> Option<&Ty> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }

    fn expr(&mut self, e: &IdedExpr) -> (Ty, u64) {
        match &e.expr {
            Expr::Literal(l) => (
                match l {
                    LiteralValue::Boolean(_) => Ty::Bool,
                    LiteralValue::Bytes(b) => Ty::Bytes(b.inner().len() as u64),
                    LiteralValue::Double(_) => Ty::Double,
                    LiteralValue::Int(_) => Ty::Int,
                    LiteralValue::Null => Ty::Null,
                    LiteralValue::String(s) => Ty::String(s.inner().len() as u64),
                    LiteralValue::UInt(_) => Ty::Uint,
                },
                0,
            ),
            Expr::Ident(name) => (self.ident(e.id, name), 1),
            Expr::Select(sel) => {
                if !sel.test
                    && let Some(name) = qualified(e)
                    && (name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration")
                {
                    return (Ty::Type, 1);
                }
                let (operand, cost) = self.expr(&sel.operand);
                let field_ty = self.select(e.id, &operand, &sel.field);
                let ty = if sel.test { Ty::Bool } else { field_ty };
                (ty, cost.saturating_add(1))
            }
            Expr::Call(call) => self.call(e, call),
            Expr::List(list) => {
                let mut elem = Ty::dyn_();
                let mut cost = 10u64;
                for (i, el) in list.elements.iter().enumerate() {
                    let (t, c) = self.expr(el);
                    let t = if list.optional_indices.contains(&i) {
                        match t {
                            Ty::Optional(inner) => *inner,
                            other => other,
                        }
                    } else {
                        t
                    };
                    elem = if i == 0 { t } else { join(&elem, &t) };
                    cost = cost.saturating_add(c);
                }
                (Ty::List(Box::new(elem), list.elements.len() as u64), cost)
            }
            Expr::Map(map) => {
                let mut kt = Ty::dyn_();
                let mut vt = Ty::dyn_();
                let mut cost = 30u64;
                for (i, entry) in map.entries.iter().enumerate() {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        let (k, c1) = self.expr(&me.key);
                        let (v, c2) = self.expr(&me.value);
                        if !matches!(k.kind(), K::Dyn | K::String | K::Int | K::Uint | K::Bool) {
                            self.err(
                                me.key.id,
                                format!("unsupported map key type: '{}'", k.name()),
                            );
                        }
                        if i == 0 {
                            kt = k;
                            vt = v;
                        } else {
                            kt = join(&kt, &k);
                            vt = join(&vt, &v);
                        }
                        cost = cost.saturating_add(c1).saturating_add(c2);
                    }
                }
                (
                    Ty::Map(Box::new(kt), Box::new(vt), map.entries.len() as u64),
                    cost,
                )
            }
            Expr::Struct(s) => {
                self.err(
                    e.id,
                    format!(
                        "undeclared reference to '{}' (in container '')",
                        s.type_name
                    ),
                );
                for entry in &s.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        self.expr(&f.value);
                    }
                }
                (Ty::dyn_(), 40)
            }
            Expr::Comprehension(c) => {
                let (range, range_cost) = self.expr(&c.iter_range);
                let (iter_ty, iter2_ty) = match &range {
                    Ty::List(elem, _) => (Ty::Int, (**elem).clone()),
                    Ty::Map(k, v, _) => ((**k).clone(), (**v).clone()),
                    Ty::Object(_) => (Ty::String(MAX_REQUEST_SIZE_BYTES), Ty::dyn_()),
                    Ty::Dyn(_) => (Ty::dyn_(), Ty::dyn_()),
                    other => {
                        self.err(
                            c.iter_range.id,
                            format!(
                                "expression of type '{}' cannot be range of a comprehension (must be list, map, or dynamic)",
                                other.name()
                            ),
                        );
                        (Ty::dyn_(), Ty::dyn_())
                    }
                };
                // one-variable comprehensions bind the element of a list
                let first_ty = if c.iter_var2.is_none() && range.kind() == K::List {
                    iter2_ty.clone()
                } else {
                    iter_ty
                };
                let n = range.size();
                let (init, init_cost) = self.expr(&c.accu_init);
                let base = self.vars.len();
                self.vars.push((c.iter_var.clone(), first_ty));
                if let Some(v2) = &c.iter_var2 {
                    self.vars.push((v2.clone(), iter2_ty));
                }
                self.vars.push((c.accu_var.clone(), init.clone()));
                let (_, cond_cost) = self.expr(&c.loop_cond);
                let (step, step_cost) = self.expr(&c.loop_step);
                self.vars.truncate(base);
                let accu = match (&init, &step) {
                    (Ty::List(ie, isz), Ty::List(se, _)) if *isz == 0 => {
                        Ty::List(Box::new(join(ie, se)), n)
                    }
                    (Ty::Map(..), Ty::Map(..)) => step.clone(),
                    _ => init.clone(),
                };
                self.vars.push((c.accu_var.clone(), accu));
                let (result, result_cost) = self.expr(&c.result);
                self.vars.truncate(base);
                let per_iter = cond_cost.saturating_add(step_cost);
                let cost = range_cost
                    .saturating_add(init_cost)
                    .saturating_add(n.saturating_mul(per_iter))
                    .saturating_add(result_cost);
                (result, cost)
            }
            Expr::Unspecified => (Ty::dyn_(), 0),
        }
    }

    fn ident(&mut self, id: u64, name: &str) -> Ty {
        if let Some(pos) = self.vars.iter().rposition(|(n, _)| n == name) {
            // vars[1] is the declared `oldSelf`: a comprehension variable
            // shadowing it does not make the rule a transition rule
            if pos == 1 {
                self.uses_old_self = true;
            }
            return self.vars[pos].1.clone();
        }
        if TYPE_NAMES.contains(&name) {
            return Ty::Type;
        }
        self.err(
            id,
            format!("undeclared reference to '{name}' (in container '')"),
        );
        Ty::dyn_()
    }

    fn select(&mut self, id: u64, operand: &Ty, field: &str) -> Ty {
        match operand {
            Ty::Object(o) => match o.fields.get(field) {
                Some(t) => t.clone(),
                None => {
                    self.err(id, format!("undefined field '{field}'"));
                    Ty::dyn_()
                }
            },
            Ty::Map(_, v, _) => (**v).clone(),
            Ty::Dyn(_) => Ty::dyn_(),
            Ty::Optional(inner) => Ty::Optional(Box::new(self.select(id, inner, field))),
            other => {
                self.err(
                    id,
                    format!("type '{}' does not support field selection", other.name()),
                );
                Ty::dyn_()
            }
        }
    }

    fn call(&mut self, e: &IdedExpr, call: &cel::common::ast::CallExpr) -> (Ty, u64) {
        let name = call.func_name.as_str();
        let args = &call.args;
        match name {
            "_&&_" | "_||_" => {
                let mut cost = 0u64;
                for a in args {
                    let (t, c) = self.expr(a);
                    cost = cost.saturating_add(c);
                    if !matches!(t.kind(), K::Bool | K::Dyn) {
                        self.no_overload(e.id, name, None, &[t]);
                    }
                }
                return (Ty::Bool, cost);
            }
            "_?_:_" if args.len() == 3 => {
                let (c, cc) = self.expr(&args[0]);
                let (a, ca) = self.expr(&args[1]);
                let (b, cb) = self.expr(&args[2]);
                if !matches!(c.kind(), K::Bool | K::Dyn) {
                    self.no_overload(e.id, name, None, &[c, a.clone(), b.clone()]);
                }
                let ty = match (a.kind(), b.kind()) {
                    (K::Dyn, _) | (K::Null, _) => b,
                    (_, K::Dyn) | (_, K::Null) => a,
                    (x, y) if x == y => {
                        if a.size() >= b.size() {
                            a
                        } else {
                            b
                        }
                    }
                    _ => Ty::dyn_(),
                };
                return (ty, cc.saturating_add(ca.max(cb)));
            }
            "_?._" if args.len() == 2 => {
                let (op, cost) = self.expr(&args[0]);
                let field = match &args[1].expr {
                    Expr::Literal(LiteralValue::String(s)) => s.inner().to_string(),
                    _ => String::new(),
                };
                let inner = match op {
                    Ty::Optional(t) => *t,
                    t => t,
                };
                let t = self.select(e.id, &inner, &field);
                let t = match t {
                    Ty::Optional(t) => *t,
                    t => t,
                };
                return (Ty::Optional(Box::new(t)), cost.saturating_add(1));
            }
            _ => {}
        }

        // `ns.f(args)`: a call to the namespaced function, not a member call
        let mut fname = name.to_string();
        let mut target = call.target.as_deref();
        if let Some(t) = target
            && let Expr::Ident(ns) = &t.expr
            && NAMESPACES.contains(&ns.as_str())
            && self.lookup(ns).is_none()
        {
            fname = format!("{ns}.{name}");
            target = None;
        }

        let mut cost = 0u64;
        let recv = target.map(|t| {
            let (ty, c) = self.expr(t);
            cost = cost.saturating_add(c);
            ty
        });
        let mut arg_tys = Vec::with_capacity(args.len());
        for a in args {
            let (t, c) = self.expr(a);
            cost = cost.saturating_add(c);
            arg_tys.push(t);
        }
        let call_cost = call_cost(&fname, recv.as_ref(), &arg_tys);
        cost = cost.saturating_add(call_cost);
        match resolve(&fname, recv.as_ref(), &arg_tys) {
            Res::Ty(t) => (t, cost),
            Res::NoOverload => {
                self.no_overload(e.id, &fname, recv, &arg_tys);
                (Ty::dyn_(), cost)
            }
            Res::Undeclared => {
                self.err(
                    e.id,
                    format!("undeclared reference to '{fname}' (in container '')"),
                );
                (Ty::dyn_(), cost)
            }
        }
    }

    fn no_overload(&mut self, id: u64, name: &str, recv: Option<Ty>, args: &[Ty]) {
        let list = args.iter().map(Ty::name).collect::<Vec<_>>().join(", ");
        let sig = match recv {
            Some(r) => format!("{}.({list})", r.name()),
            None => format!("({list})"),
        };
        self.err(
            id,
            format!("found no matching overload for '{name}' applied to '{sig}'"),
        );
    }
}

/// The dotted name an identifier-and-selects expression spells.
fn qualified(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Ident(n) => Some(n.clone()),
        Expr::Select(s) if !s.test => qualified(&s.operand).map(|q| format!("{q}.{}", s.field)),
        _ => None,
    }
}

fn elem_of(t: &Ty) -> Ty {
    match t {
        Ty::List(e, _) => (**e).clone(),
        _ => Ty::dyn_(),
    }
}

/// The result type of a call, or why no overload applies. `dyn` arguments
/// match anything.
fn resolve(name: &str, recv: Option<&Ty>, args: &[Ty]) -> Res {
    use K::*;
    let k: Vec<K> = args.iter().map(Ty::kind).collect();
    let is = |t: K, want: K| t == Dyn || t == want;
    let str_any = MAX_REQUEST_SIZE_BYTES;
    if let Some(r) = recv {
        let rk = r.kind();
        let rsz = r.size();
        return match (name, k.as_slice()) {
            ("size", []) => match rk {
                Dyn | String | Bytes | List | Map | Object => Res::Ty(Ty::Int),
                _ => Res::NoOverload,
            },
            ("contains" | "startsWith" | "endsWith" | "matches", [a]) => {
                if is(rk, String) && is(*a, String) {
                    Res::Ty(Ty::Bool)
                } else {
                    Res::NoOverload
                }
            }
            ("charAt", [a]) if is(rk, String) && is(*a, Int) => Res::Ty(Ty::String(4)),
            ("indexOf" | "lastIndexOf", [a]) if rk == String => {
                if is(*a, String) {
                    Res::Ty(Ty::Int)
                } else {
                    Res::NoOverload
                }
            }
            ("indexOf" | "lastIndexOf", [_]) if rk == List || rk == Dyn => Res::Ty(Ty::Int),
            ("indexOf" | "lastIndexOf", [a, b])
                if is(rk, String) && is(*a, String) && is(*b, Int) =>
            {
                Res::Ty(Ty::Int)
            }
            ("lowerAscii" | "upperAscii" | "trim" | "reverse", []) if is(rk, String) => {
                Res::Ty(Ty::String(rsz))
            }
            ("replace", [a, b]) if is(rk, String) && is(*a, String) && is(*b, String) => {
                Res::Ty(Ty::String(str_any))
            }
            ("replace", [a, b, c])
                if is(rk, String) && is(*a, String) && is(*b, String) && is(*c, Int) =>
            {
                Res::Ty(Ty::String(str_any))
            }
            ("split", [a]) if is(rk, String) && is(*a, String) => {
                Res::Ty(Ty::List(Box::new(Ty::String(rsz)), rsz))
            }
            ("split", [a, b]) if is(rk, String) && is(*a, String) && is(*b, Int) => {
                Res::Ty(Ty::List(Box::new(Ty::String(rsz)), rsz))
            }
            ("substring", [a]) if is(rk, String) && is(*a, Int) => Res::Ty(Ty::String(rsz)),
            ("substring", [a, b]) if is(rk, String) && is(*a, Int) && is(*b, Int) => {
                Res::Ty(Ty::String(rsz))
            }
            ("format", [a]) if is(rk, String) && is(*a, List) => Res::Ty(Ty::String(str_any)),
            ("join", []) if is(rk, List) => Res::Ty(Ty::String(str_any)),
            ("join", [a]) if is(rk, List) && is(*a, String) => Res::Ty(Ty::String(str_any)),
            ("find", [a]) if is(rk, String) && is(*a, String) => Res::Ty(Ty::String(rsz)),
            ("findAll", [a]) if is(rk, String) && is(*a, String) => {
                Res::Ty(Ty::List(Box::new(Ty::String(rsz)), rsz))
            }
            ("findAll", [a, b]) if is(rk, String) && is(*a, String) && is(*b, Int) => {
                Res::Ty(Ty::List(Box::new(Ty::String(rsz)), rsz))
            }
            ("isSorted", []) if is(rk, List) => Res::Ty(Ty::Bool),
            ("sum" | "min" | "max", []) if is(rk, List) => {
                let e = elem_of(r);
                match e.kind() {
                    Dyn | Int | Uint | Double | Duration => Res::Ty(e),
                    String | Bytes | Bool | Timestamp if name != "sum" => Res::Ty(e),
                    _ => Res::NoOverload,
                }
            }
            (
                "getFullYear" | "getMonth" | "getDayOfYear" | "getDayOfMonth" | "getDate"
                | "getDayOfWeek",
                [] | [String] | [Dyn],
            ) => {
                if is(rk, Timestamp) {
                    Res::Ty(Ty::Int)
                } else {
                    Res::NoOverload
                }
            }
            ("getHours" | "getMinutes" | "getSeconds" | "getMilliseconds", []) => {
                if matches!(rk, Timestamp | Duration | Dyn) {
                    Res::Ty(Ty::Int)
                } else {
                    Res::NoOverload
                }
            }
            ("getHours" | "getMinutes" | "getSeconds" | "getMilliseconds", [a]) => {
                if is(rk, Timestamp) && is(*a, String) {
                    Res::Ty(Ty::Int)
                } else {
                    Res::NoOverload
                }
            }
            ("hasValue", []) if is(rk, Optional) => Res::Ty(Ty::Bool),
            ("value", []) if is(rk, Optional) => Res::Ty(unwrap_opt(r)),
            ("orValue", [_]) if is(rk, Optional) => Res::Ty(unwrap_opt(r)),
            ("or", [a]) if is(rk, Optional) && is(*a, Optional) => Res::Ty(r.clone()),
            _ => {
                if KNOWN_MEMBERS.contains(&name) {
                    if rk == Dyn || k.contains(&Dyn) {
                        Res::Ty(Ty::dyn_())
                    } else {
                        Res::NoOverload
                    }
                } else {
                    Res::Undeclared
                }
            }
        };
    }

    let a0 = args.first();
    let bin = |f: &dyn Fn(K, K) -> Option<Ty>| -> Res {
        if args.len() != 2 {
            return Res::NoOverload;
        }
        match (k[0], k[1]) {
            (Dyn, Dyn) => Res::Ty(Ty::dyn_()),
            (Dyn, b) => f(b, b).map_or(Res::NoOverload, |_| Res::Ty(args[1].clone())),
            (a, Dyn) => f(a, a).map_or(Res::NoOverload, |_| Res::Ty(args[0].clone())),
            (a, b) => f(a, b).map_or(Res::NoOverload, Res::Ty),
        }
    };
    match name {
        "_+_" => bin(&|a, b| match (a, b) {
            (Int, Int) => Some(Ty::Int),
            (Uint, Uint) => Some(Ty::Uint),
            (Double, Double) => Some(Ty::Double),
            (String, String) => Some(Ty::String(args[0].size().saturating_add(args[1].size()))),
            (Bytes, Bytes) => Some(Ty::Bytes(args[0].size().saturating_add(args[1].size()))),
            (List, List) => Some(Ty::List(
                Box::new(join(&elem_of(&args[0]), &elem_of(&args[1]))),
                args[0].size().saturating_add(args[1].size()),
            )),
            (Duration, Duration) => Some(Ty::Duration),
            (Timestamp, Duration) | (Duration, Timestamp) => Some(Ty::Timestamp),
            _ => None,
        }),
        "_-_" => bin(&|a, b| match (a, b) {
            (Int, Int) => Some(Ty::Int),
            (Uint, Uint) => Some(Ty::Uint),
            (Double, Double) => Some(Ty::Double),
            (Duration, Duration) | (Timestamp, Timestamp) => Some(Ty::Duration),
            (Timestamp, Duration) => Some(Ty::Timestamp),
            _ => None,
        }),
        "_*_" | "_/_" => bin(&|a, b| match (a, b) {
            (Int, Int) => Some(Ty::Int),
            (Uint, Uint) => Some(Ty::Uint),
            (Double, Double) => Some(Ty::Double),
            _ => None,
        }),
        "_%_" => bin(&|a, b| match (a, b) {
            (Int, Int) => Some(Ty::Int),
            (Uint, Uint) => Some(Ty::Uint),
            _ => None,
        }),
        "-_" => match k.as_slice() {
            [Dyn] => Res::Ty(Ty::dyn_()),
            [Int] => Res::Ty(Ty::Int),
            [Double] => Res::Ty(Ty::Double),
            _ => Res::NoOverload,
        },
        "!_" | "@not_strictly_false" => match k.as_slice() {
            [Dyn] | [Bool] => Res::Ty(Ty::Bool),
            _ => Res::NoOverload,
        },
        "_<_" | "_<=_" | "_>_" | "_>=_" => match k.as_slice() {
            [a, b] if *a == Dyn || *b == Dyn => Res::Ty(Ty::Bool),
            [a, b] if is_num(*a) && is_num(*b) => Res::Ty(Ty::Bool),
            [a, b] if a == b && matches!(a, Bool | String | Bytes | Duration | Timestamp) => {
                Res::Ty(Ty::Bool)
            }
            _ => Res::NoOverload,
        },
        "_==_" | "_!=_" => match k.as_slice() {
            [a, b] if equality_compatible(*a, *b) => Res::Ty(Ty::Bool),
            _ => Res::NoOverload,
        },
        "_[_]" | "_[?_]" => {
            let opt = name == "_[?_]";
            let (base, was_opt) = match a0 {
                Some(Ty::Optional(t)) => ((**t).clone(), true),
                Some(t) => (t.clone(), false),
                None => return Res::NoOverload,
            };
            let idx = k.get(1).copied().unwrap_or(Dyn);
            let r = match &base {
                Ty::List(e, _) if matches!(idx, Int | Uint | Dyn) => (**e).clone(),
                Ty::List(..) => return Res::NoOverload,
                Ty::Map(_, v, _) => (**v).clone(),
                Ty::Object(_) if matches!(idx, String | Dyn) => Ty::dyn_(),
                Ty::Dyn(_) => Ty::dyn_(),
                _ => return Res::NoOverload,
            };
            if opt || was_opt {
                Res::Ty(Ty::Optional(Box::new(r)))
            } else {
                Res::Ty(r)
            }
        }
        "@in" => match k.as_slice() {
            [_, List | Map | Dyn | Object] => Res::Ty(Ty::Bool),
            _ => Res::NoOverload,
        },
        "size" => match k.as_slice() {
            [Dyn | String | Bytes | List | Map | Object] => Res::Ty(Ty::Int),
            _ => Res::NoOverload,
        },
        "matches" => match k.as_slice() {
            [a, b] if is(*a, String) && is(*b, String) => Res::Ty(Ty::Bool),
            _ => Res::NoOverload,
        },
        "int" => conv(
            &k,
            &[Int, Uint, Double, String, Timestamp, Duration],
            Ty::Int,
        ),
        "uint" => conv(&k, &[Int, Uint, Double, String], Ty::Uint),
        "double" => conv(&k, &[Int, Uint, Double, String], Ty::Double),
        "string" => {
            let size = a0.map(|t| match t {
                Ty::String(n) | Ty::Bytes(n) => *n,
                Ty::Dyn(n) => *n,
                _ => 64,
            });
            conv(
                &k,
                &[Int, Uint, Double, String, Bytes, Bool, Timestamp, Duration],
                Ty::String(size.unwrap_or(64)),
            )
        }
        "bytes" => conv(
            &k,
            &[String, Bytes],
            Ty::Bytes(a0.map(Ty::size).unwrap_or(str_any)),
        ),
        "bool" => conv(&k, &[Bool, String], Ty::Bool),
        "timestamp" => conv(&k, &[String, Int, Timestamp], Ty::Timestamp),
        "duration" => conv(&k, &[String, Duration], Ty::Duration),
        "dyn" if args.len() == 1 => Res::Ty(Ty::dyn_()),
        "type" if args.len() == 1 => Res::Ty(Ty::Type),
        "optional.of" | "optional.ofNonZeroValue" if args.len() == 1 => {
            Res::Ty(Ty::Optional(Box::new(args[0].clone())))
        }
        "optional.none" if args.is_empty() => Res::Ty(Ty::Optional(Box::new(Ty::dyn_()))),
        "isIP" | "isCIDR" => match k.as_slice() {
            [a] if is(*a, String) => Res::Ty(Ty::Bool),
            _ => Res::NoOverload,
        },
        "sets.contains" | "sets.equivalent" | "sets.intersects" => match k.as_slice() {
            [a, b] if is(*a, List) && is(*b, List) => Res::Ty(Ty::Bool),
            _ => Res::NoOverload,
        },
        "strings.quote" => match k.as_slice() {
            [a] if is(*a, String) => Res::Ty(Ty::String(a0.map(Ty::size).unwrap_or(str_any))),
            _ => Res::NoOverload,
        },
        _ => {
            if KNOWN_GLOBALS.contains(&name) {
                Res::NoOverload
            } else {
                Res::Undeclared
            }
        }
    }
}

const KNOWN_GLOBALS: &[&str] = &[
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "timestamp",
    "duration",
    "dyn",
    "type",
    "size",
    "matches",
    "isIP",
    "isCIDR",
    "optional.of",
    "optional.ofNonZeroValue",
    "optional.none",
];

const KNOWN_MEMBERS: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "charAt",
    "indexOf",
    "lastIndexOf",
    "lowerAscii",
    "upperAscii",
    "trim",
    "reverse",
    "replace",
    "split",
    "substring",
    "format",
    "join",
    "find",
    "findAll",
    "isSorted",
    "sum",
    "min",
    "max",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    "hasValue",
    "value",
    "orValue",
    "or",
];

fn unwrap_opt(t: &Ty) -> Ty {
    match t {
        Ty::Optional(i) => (**i).clone(),
        _ => Ty::dyn_(),
    }
}

fn conv(k: &[K], from: &[K], to: Ty) -> Res {
    match k {
        [K::Dyn] => Res::Ty(to),
        [a] if from.contains(a) => Res::Ty(to),
        _ => Res::NoOverload,
    }
}

fn equality_compatible(a: K, b: K) -> bool {
    use K::*;
    if a == Dyn || b == Dyn || a == Null || b == Null || a == b {
        return true;
    }
    if is_num(a) && is_num(b) {
        return true;
    }
    matches!((a, b), (Map, Object) | (Object, Map))
}

/// cel-go's per-call cost, approximated with kube's size bounds.
fn call_cost(name: &str, recv: Option<&Ty>, args: &[Ty]) -> u64 {
    const TRAVERSAL: f64 = 0.1;
    let a0 = args.first().map(Ty::size).unwrap_or(1);
    let a1 = args.get(1).map(Ty::size).unwrap_or(1);
    let is_str = |t: Option<&Ty>| t.is_some_and(|t| matches!(t.kind(), K::String | K::Bytes));
    match (name, recv) {
        ("_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_", None) => {
            let (x, y) = (args.first(), args.get(1));
            if is_str(x) || is_str(y) {
                1 + frac(a0.min(a1), TRAVERSAL)
            } else if x.is_some_and(|t| matches!(t.kind(), K::List | K::Map | K::Object)) {
                1 + a0.min(a1)
            } else {
                1
            }
        }
        ("_+_", None) if is_str(args.first()) => 1 + frac(a0.saturating_add(a1), TRAVERSAL),
        ("@in", None) => match args.get(1).map(Ty::kind) {
            Some(K::List) | Some(K::Dyn) => 1 + a1,
            _ => 1,
        },
        ("contains", Some(r)) => {
            1 + frac(r.size(), TRAVERSAL).saturating_mul(frac(a0, TRAVERSAL).max(1))
        }
        ("startsWith" | "endsWith", Some(r)) => 1 + frac(r.size().min(a0), TRAVERSAL),
        ("matches" | "find" | "findAll", Some(r)) => {
            1 + frac(r.size(), TRAVERSAL).saturating_mul(frac(a0, 0.25).max(1))
        }
        ("matches", None) => 1 + frac(a0, TRAVERSAL).saturating_mul(frac(a1, 0.25).max(1)),
        (
            "lowerAscii" | "upperAscii" | "trim" | "reverse" | "replace" | "split" | "substring"
            | "charAt" | "indexOf" | "lastIndexOf" | "format",
            Some(r),
        ) if r.kind() != K::List => 1 + frac(r.size(), TRAVERSAL),
        ("join", Some(r)) => {
            let elem = elem_of(r).size();
            1 + frac(r.size().saturating_mul(elem), TRAVERSAL)
        }
        ("isSorted" | "sum" | "min" | "max" | "indexOf" | "lastIndexOf", Some(r)) => {
            let elem = elem_of(r);
            let per = if is_str(Some(&elem)) {
                1 + frac(elem.size(), TRAVERSAL)
            } else {
                1
            };
            1 + r.size().saturating_mul(per)
        }
        ("sets.contains" | "sets.equivalent" | "sets.intersects", None) => {
            1 + a0.saturating_mul(a1)
        }
        ("string" | "bytes" | "strings.quote", None) if is_str(args.first()) => {
            1 + frac(a0, TRAVERSAL)
        }
        _ => 1,
    }
}
