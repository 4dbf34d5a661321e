//! The CEL environment rules run in, kube's extension functions the `cel`
//! crate lacks, and the runtime cost meter.
//!
//! The environment is the `cel` crate's standard library (with optional
//! types), its `strings` extension (cel-go's `ext.Strings`), and kube's
//! `lists` (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`),
//! `regex` (`find`, `findAll`) and cel-go's `sets` libraries, implemented
//! here.
//!
//! The meter: compiled rules are rewritten so that every comprehension
//! iteration first calls `@mars_tick(weight)` (weight: the size of the loop
//! body), and the receivers of functions whose work grows with their input
//! (string search, list scans, equality...) go through `@mars_cost(x)`,
//! which charges by `x`'s size. Both charge a thread-local meter and fail
//! the evaluation once the per-call limit is spent or the wall-clock
//! deadline has passed; the tick fails *before* the loop body runs, so a
//! runaway rule stops within one iteration.

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::types::{
    CelBool, CelInt, CelList, CelString, DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE,
};
use cel::common::value::{CowVal, Val};
use cel::{Env, ExecutionError};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

/// kube's `PerCallLimit`.
pub(crate) const PER_CALL_LIMIT: u64 = 1_000_000;
/// kube's `RuntimeCELCostBudget`.
pub(crate) const RUNTIME_BUDGET: u64 = 10_000_000;

pub(crate) const TICK: &str = "@mars_tick";
pub(crate) const COST: &str = "@mars_cost";
/// The text of the error a spent meter fails the evaluation with.
pub(crate) const LIMIT_EXCEEDED: &str = "operation cancelled: actual cost limit exceeded";

/// The shared environment.
pub(crate) static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(build_env()));

fn build_env() -> Env {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .expect("strings extension");
    let member = |env: &mut Env, name: &str, id: &str, target, args, f| {
        env.add_member_overload(name, id, target, args, f)
            .expect("unique overload");
    };
    member(
        &mut env,
        "isSorted",
        "list_is_sorted",
        LIST_TYPE,
        vec![],
        is_sorted,
    );
    member(&mut env, "sum", "list_sum", LIST_TYPE, vec![], sum);
    member(&mut env, "min", "list_min", LIST_TYPE, vec![], min);
    member(&mut env, "max", "list_max", LIST_TYPE, vec![], max);
    member(
        &mut env,
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_index_of,
    );
    member(
        &mut env,
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        list_last_index_of,
    );
    member(
        &mut env,
        "find",
        "string_find",
        STRING_TYPE,
        vec![STRING_TYPE],
        find,
    );
    member(
        &mut env,
        "findAll",
        "string_find_all",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_all,
    );
    member(
        &mut env,
        "findAll",
        "string_find_all_n",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        find_all_n,
    );
    let global = |env: &mut Env, name: &str, args, f| {
        env.add_overload(name, name, args, f)
            .expect("unique overload");
    };
    global(
        &mut env,
        "sets.contains",
        vec![LIST_TYPE, LIST_TYPE],
        sets_contains,
    );
    global(
        &mut env,
        "sets.equivalent",
        vec![LIST_TYPE, LIST_TYPE],
        sets_equivalent,
    );
    global(
        &mut env,
        "sets.intersects",
        vec![LIST_TYPE, LIST_TYPE],
        sets_intersects,
    );
    global(&mut env, "isIP", vec![STRING_TYPE], is_ip);
    global(&mut env, "isCIDR", vec![STRING_TYPE], is_cidr);
    global(&mut env, TICK, vec![INT_TYPE], tick);
    global(&mut env, COST, vec![DYN_TYPE], cost);
    env
}

type R<'b, 'v> = Result<CowVal<'b, 'v>, ExecutionError>;

fn elements<'b, 'v>(
    f: &str,
    list: &'b (dyn Val + 'v),
) -> Result<Vec<&'b (dyn Val + 'v)>, ExecutionError> {
    let it = list
        .as_iterable()
        .ok_or_else(|| ExecutionError::function_error(f, "receiver is not a list"))?;
    let mut iter = it.iter();
    let mut out = Vec::new();
    while let Some(v) = iter.next() {
        out.push(v);
    }
    Ok(out)
}

fn compare(f: &str, a: &dyn Val, b: &dyn Val) -> Result<Ordering, ExecutionError> {
    a.as_comparer()
        .ok_or_else(|| {
            ExecutionError::function_error(f, format!("no such overload: {}", a.get_type().name()))
        })?
        .compare(b)
}

fn owned_bool<'b, 'v>(b: bool) -> CowVal<'b, 'v> {
    static TRUE: CelBool = CelBool::TRUE;
    static FALSE: CelBool = CelBool::FALSE;
    CowVal::Borrowed(if b { &TRUE } else { &FALSE })
}

fn is_sorted<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let items = elements("isSorted", args[0].as_ref())?;
    for w in items.windows(2) {
        if compare("isSorted", w[0], w[1])? == Ordering::Greater {
            return Ok(owned_bool(false));
        }
    }
    Ok(owned_bool(true))
}

fn sum<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let items = elements("sum", args[0].as_ref())?;
    let Some((first, rest)) = items.split_first() else {
        return Ok(CowVal::owned(CelInt::from(0)));
    };
    let mut acc: Box<dyn Val + 'v> = first.clone_as_boxed();
    for v in rest {
        let next = acc
            .as_adder()
            .ok_or_else(|| ExecutionError::function_error("sum", "no such overload"))?
            .add(*v)?
            .into_owned();
        acc = next;
    }
    Ok(CowVal::Owned(acc))
}

fn extreme<'b, 'v>(f: &str, args: Vec<CowVal<'b, 'v>>, want: Ordering) -> R<'b, 'v> {
    let items = elements(f, args[0].as_ref())?;
    let Some((first, rest)) = items.split_first() else {
        return Err(ExecutionError::function_error(
            f,
            format!("{f} called on empty list"),
        ));
    };
    let mut best = *first;
    for v in rest {
        if compare(f, *v, best)? == want {
            best = *v;
        }
    }
    Ok(CowVal::Owned(best.clone_as_boxed()))
}

fn min<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    extreme("min", args, Ordering::Less)
}

fn max<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    extreme("max", args, Ordering::Greater)
}

fn list_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let items = elements("indexOf", args[0].as_ref())?;
    let needle = args[1].as_ref();
    let i = items
        .iter()
        .position(|v| *v == needle)
        .map_or(-1, |i| i as i64);
    Ok(CowVal::owned(CelInt::from(i)))
}

fn list_last_index_of<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let items = elements("lastIndexOf", args[0].as_ref())?;
    let needle = args[1].as_ref();
    let i = items
        .iter()
        .rposition(|v| *v == needle)
        .map_or(-1, |i| i as i64);
    Ok(CowVal::owned(CelInt::from(i)))
}

fn string_arg<'a>(f: &str, v: &'a dyn Val) -> Result<&'a str, ExecutionError> {
    v.downcast_ref::<CelString>()
        .map(|s| s.inner())
        .ok_or_else(|| ExecutionError::function_error(f, "expected a string"))
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

fn with_regex<T>(
    f: &str,
    pattern: &str,
    use_it: impl FnOnce(&regex::Regex) -> T,
) -> Result<T, ExecutionError> {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            let re = regex::Regex::new(pattern).map_err(|e| {
                ExecutionError::function_error(f, format!("invalid regular expression: {e}"))
            })?;
            if cache.len() > 256 {
                cache.clear();
            }
            cache.insert(pattern.to_string(), re);
        }
        Ok(use_it(&cache[pattern]))
    })
}

fn find<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let s = string_arg("find", args[0].as_ref())?;
    let re = string_arg("find", args[1].as_ref())?;
    let found = with_regex("find", re, |re| {
        re.find(s)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()
    })?;
    Ok(CowVal::owned(CelString::from(found)))
}

fn find_all_limited<'b, 'v>(args: &[CowVal<'b, 'v>], limit: i64) -> R<'b, 'v> {
    let s = string_arg("findAll", args[0].as_ref())?;
    let re = string_arg("findAll", args[1].as_ref())?;
    let found: Vec<Box<dyn Val + 'v>> = with_regex("findAll", re, |re| {
        let n = if limit < 0 {
            usize::MAX
        } else {
            limit as usize
        };
        re.find_iter(s)
            .take(n)
            .map(|m| Box::new(CelString::from(m.as_str().to_string())) as Box<dyn Val + 'v>)
            .collect()
    })?;
    Ok(CowVal::owned(CelList::from(found)))
}

fn find_all<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    find_all_limited(&args, -1)
}

fn find_all_n<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let n = args[2]
        .downcast_ref::<CelInt>()
        .map(|i| *i.inner())
        .unwrap_or(-1);
    find_all_limited(&args, n)
}

fn set_contains(a: &[&dyn Val], b: &[&dyn Val]) -> bool {
    b.iter().all(|x| a.contains(x))
}

fn sets_contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let a = elements("sets.contains", args[0].as_ref())?;
    let b = elements("sets.contains", args[1].as_ref())?;
    Ok(owned_bool(set_contains(&a, &b)))
}

fn sets_equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let a = elements("sets.equivalent", args[0].as_ref())?;
    let b = elements("sets.equivalent", args[1].as_ref())?;
    Ok(owned_bool(set_contains(&a, &b) && set_contains(&b, &a)))
}

fn sets_intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let a = elements("sets.intersects", args[0].as_ref())?;
    let b = elements("sets.intersects", args[1].as_ref())?;
    Ok(owned_bool(b.iter().any(|x| a.contains(x))))
}

/// kube's IP parsing: no zones, no IPv4-mapped IPv6 addresses.
fn parse_ip(s: &str) -> Option<std::net::IpAddr> {
    let ip: std::net::IpAddr = s.parse().ok()?;
    match ip {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => None,
        ip => Some(ip),
    }
}

fn is_ip<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let s = string_arg("isIP", args[0].as_ref())?;
    Ok(owned_bool(parse_ip(s).is_some()))
}

fn is_cidr<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let s = string_arg("isCIDR", args[0].as_ref())?;
    let ok = s.split_once('/').is_some_and(|(ip, bits)| {
        let max = match parse_ip(ip) {
            Some(std::net::IpAddr::V4(_)) => 32,
            Some(std::net::IpAddr::V6(_)) => 128,
            None => return false,
        };
        !bits.is_empty()
            && bits.bytes().all(|b| b.is_ascii_digit())
            && (bits == "0" || !bits.starts_with('0'))
            && bits.parse::<u32>().is_ok_and(|b| b <= max)
    });
    Ok(owned_bool(ok))
}

// ---------------------------------------------------------------------------
// The meter

/// How an evaluation ended, as far as cost is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spent {
    Within,
    /// The per-call limit was reached.
    CallLimit,
    /// The wall-clock deadline passed.
    Deadline,
}

struct Meter {
    used: u64,
    limit: u64,
    spent: Spent,
    deadline: Option<Instant>,
    charges: u32,
}

thread_local! {
    static METER: RefCell<Meter> = const {
        RefCell::new(Meter {
            used: 0,
            limit: u64::MAX,
            spent: Spent::Within,
            deadline: None,
            charges: 0,
        })
    };
}

/// Starts metering one evaluation.
pub(crate) fn meter_start(limit: u64, deadline: Option<Instant>) {
    METER.with(|m| {
        let mut m = m.borrow_mut();
        m.used = 0;
        m.limit = limit;
        m.spent = Spent::Within;
        m.deadline = deadline;
        m.charges = 0;
    });
}

/// Ends metering: what was used and whether a limit was hit.
pub(crate) fn meter_finish() -> (u64, Spent) {
    METER.with(|m| {
        let mut m = m.borrow_mut();
        let out = (m.used, m.spent);
        m.limit = u64::MAX;
        m.deadline = None;
        m.spent = Spent::Within;
        out
    })
}

/// Charges `n` cost units to the running evaluation.
pub(crate) fn charge(n: u64) -> Result<(), ExecutionError> {
    METER.with(|m| {
        let mut m = m.borrow_mut();
        if m.spent == Spent::Within {
            m.used = m.used.saturating_add(n);
            if m.used > m.limit {
                m.spent = Spent::CallLimit;
            } else {
                m.charges = m.charges.wrapping_add(1);
                if m.charges % 64 == 0
                    && let Some(d) = m.deadline
                    && Instant::now() >= d
                {
                    m.spent = Spent::Deadline;
                }
            }
        }
        if m.spent == Spent::Within {
            Ok(())
        } else {
            Err(ExecutionError::function_error("cost", LIMIT_EXCEEDED))
        }
    })
}

fn tick<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let w = args[0].downcast_ref::<CelInt>().map_or(1, |i| *i.inner());
    charge(w.max(1) as u64)?;
    Ok(owned_bool(true))
}

/// What a value costs to scan: its elements, or a tenth of its bytes.
pub(crate) fn scan_cost(v: &dyn Val) -> u64 {
    if let Some(s) = v.downcast_ref::<CelString>() {
        return 1 + s.inner().len() as u64 / 10;
    }
    if let Some(sz) = v.as_sizer() {
        return 1 + (*sz.size().inner()).max(0) as u64;
    }
    1
}

fn cost<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let v = args.pop().expect("one argument");
    charge(scan_cost(v.as_ref()))?;
    Ok(v)
}

// ---------------------------------------------------------------------------
// Instrumentation

/// Rewrites a compiled expression so that evaluating it charges the meter
/// (see the module documentation). Returns the static cost of one
/// evaluation outside of loops.
pub(crate) fn instrument(e: &mut IdedExpr) -> u64 {
    let mut next_id = 1u64 << 48;
    walk(e, &mut next_id);
    weight(e)
}

/// The number of nodes evaluated once per evaluation of `e`, nested loop
/// bodies excluded (they charge themselves).
fn weight(e: &IdedExpr) -> u64 {
    match &e.expr {
        Expr::Call(c) => {
            1 + c.target.as_deref().map_or(0, weight) + c.args.iter().map(weight).sum::<u64>()
        }
        Expr::Select(s) => 1 + weight(&s.operand),
        Expr::List(l) => 1 + l.elements.iter().map(weight).sum::<u64>(),
        Expr::Map(m) => {
            1 + m
                .entries
                .iter()
                .map(|en| match &en.expr {
                    EntryExpr::MapEntry(me) => weight(&me.key) + weight(&me.value),
                    EntryExpr::StructField(f) => weight(&f.value),
                })
                .sum::<u64>()
        }
        Expr::Struct(s) => {
            1 + s
                .entries
                .iter()
                .map(|en| match &en.expr {
                    EntryExpr::MapEntry(me) => weight(&me.key) + weight(&me.value),
                    EntryExpr::StructField(f) => weight(&f.value),
                })
                .sum::<u64>()
        }
        Expr::Comprehension(c) => {
            1 + weight(&c.iter_range) + weight(&c.accu_init) + weight(&c.result)
        }
        _ => 1,
    }
}

fn call(id: &mut u64, name: &str, args: Vec<IdedExpr>) -> IdedExpr {
    *id += 1;
    IdedExpr {
        id: *id,
        expr: Expr::Call(CallExpr {
            func_name: name.to_string(),
            target: None,
            args,
        }),
    }
}

fn lit(id: &mut u64, l: LiteralValue) -> IdedExpr {
    *id += 1;
    IdedExpr {
        id: *id,
        expr: Expr::Literal(l),
    }
}

/// Wraps `e` in `@mars_cost(e)`.
fn wrap_cost(e: &mut IdedExpr, id: &mut u64) {
    let inner = std::mem::take(e);
    *e = call(id, COST, vec![inner]);
}

/// Replaces `e` with `@mars_tick(w) ? e : <fallback>`: the tick is charged
/// before `e` is evaluated.
fn guard_tick(e: &mut IdedExpr, w: u64, fallback: LiteralValue, id: &mut u64) {
    let inner = std::mem::take(e);
    let w = lit(
        id,
        LiteralValue::Int(CelInt::from(w.min(i64::MAX as u64) as i64)),
    );
    let t = call(id, TICK, vec![w]);
    let fb = lit(id, fallback);
    *e = call(id, "_?_:_", vec![t, inner, fb]);
}

const COSTLY_MEMBERS: &[&str] = &[
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "find",
    "findAll",
    "split",
    "join",
    "lowerAscii",
    "upperAscii",
    "trim",
    "replace",
    "substring",
    "indexOf",
    "lastIndexOf",
    "charAt",
    "reverse",
    "isSorted",
    "sum",
    "min",
    "max",
    "format",
];

/// Namespaces whose functions are called as `ns.f(...)`.
pub(crate) const NAMESPACES: &[&str] = &["optional", "sets", "strings"];

fn is_accu(e: &IdedExpr) -> bool {
    matches!(&e.expr, Expr::Ident(n) if n.starts_with('@'))
}

fn walk(e: &mut IdedExpr, id: &mut u64) {
    match &mut e.expr {
        Expr::Call(c) => {
            if let Some(t) = c.target.as_deref_mut() {
                walk(t, id);
            }
            for a in &mut c.args {
                walk(a, id);
            }
            let name = c.func_name.as_str();
            // `ns.f(...)` calls the namespaced function `ns.f`
            let namespaced = matches!(
                c.target.as_deref().map(|t| &t.expr),
                Some(Expr::Ident(ns)) if NAMESPACES.contains(&ns.as_str())
            );
            if namespaced {
                if c.target
                    .as_deref()
                    .is_some_and(|t| matches!(&t.expr, Expr::Ident(ns) if ns == "sets"))
                {
                    for a in c.args.iter_mut() {
                        wrap_cost(a, id);
                    }
                }
                return;
            }
            match name {
                "_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_" => {
                    if let Some(a) = c.args.first_mut() {
                        wrap_cost(a, id);
                    }
                }
                "_+_" => {
                    if let Some(a) = c.args.first_mut()
                        && !is_accu(a)
                    {
                        wrap_cost(a, id);
                    }
                }
                "@in" => {
                    if let Some(a) = c.args.get_mut(1) {
                        wrap_cost(a, id);
                    }
                }
                "matches" | "string" if c.target.is_none() => {
                    for a in c.args.iter_mut() {
                        wrap_cost(a, id);
                    }
                }
                _ if COSTLY_MEMBERS.contains(&name) => {
                    if let Some(t) = c.target.as_deref_mut() {
                        wrap_cost(t, id);
                    }
                }
                _ => {}
            }
        }
        Expr::Select(s) => walk(&mut s.operand, id),
        Expr::List(l) => l.elements.iter_mut().for_each(|x| walk(x, id)),
        Expr::Map(m) => {
            for en in &mut m.entries {
                match &mut en.expr {
                    EntryExpr::MapEntry(me) => {
                        walk(&mut me.key, id);
                        walk(&mut me.value, id);
                    }
                    EntryExpr::StructField(f) => walk(&mut f.value, id),
                }
            }
        }
        Expr::Struct(s) => {
            for en in &mut s.entries {
                match &mut en.expr {
                    EntryExpr::MapEntry(me) => {
                        walk(&mut me.key, id);
                        walk(&mut me.value, id);
                    }
                    EntryExpr::StructField(f) => walk(&mut f.value, id),
                }
            }
        }
        Expr::Comprehension(c) => {
            let w = weight(&c.loop_cond) + weight(&c.loop_step);
            walk(&mut c.iter_range, id);
            walk(&mut c.accu_init, id);
            walk(&mut c.loop_cond, id);
            walk(&mut c.loop_step, id);
            walk(&mut c.result, id);
            let accu = c.accu_var.clone();
            let is_accu_var = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if *n == accu);
            // Find the per-iteration expression, keeping the shapes the
            // interpreter optimises (`@result && x`, `@result + [x]`,
            // `c ? @result + [x] : @result`).
            let step = &mut c.loop_step;
            match &mut step.expr {
                Expr::Call(sc)
                    if (sc.func_name == "_&&_" || sc.func_name == "_||_")
                        && sc.args.len() == 2
                        && is_accu_var(&sc.args[0]) =>
                {
                    let absorbing = sc.func_name == "_||_";
                    guard_tick(
                        &mut sc.args[1],
                        w,
                        LiteralValue::Boolean(absorbing.into()),
                        id,
                    );
                }
                Expr::Call(sc) if sc.func_name == "_?_:_" && sc.args.len() == 3 => {
                    guard_tick(&mut sc.args[0], w, LiteralValue::Boolean(false.into()), id);
                }
                Expr::Call(sc)
                    if sc.func_name == "_+_"
                        && sc.args.len() == 2
                        && is_accu_var(&sc.args[0])
                        && matches!(&sc.args[1].expr, Expr::List(l) if !l.elements.is_empty()) =>
                {
                    if let Expr::List(l) = &mut sc.args[1].expr {
                        guard_tick(&mut l.elements[0], w, LiteralValue::Null, id);
                    }
                }
                _ => guard_tick(step, w, LiteralValue::Null, id),
            }
        }
        _ => {}
    }
}
