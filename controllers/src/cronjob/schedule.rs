//! Standard 5-field cron schedules (robfig/cron's `ParseStandard`, which
//! kube uses): ranges, steps, lists, month and weekday names, `?`, and the
//! `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
//! `@hourly` macros; next and previous times in an IANA time zone.
//! Nonexistent local times (DST gaps) are skipped, repeated ones (folds)
//! fire at both instants, as robfig/cron does.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// A parsed schedule: bit sets of the allowed values of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    dom: u64,
    months: u64,
    dow: u64,
    /// Either day field was `*` (or `?`): both must match; else either.
    day_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, names: &[&str], offset: u32) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(u32::try_from(i).unwrap_or(0) + offset);
    }
    s.parse::<u32>()
        .map_err(|_| format!("failed to parse int from {s}"))
}

/// Parses one field into a bit set; `star` says whether it was `*`/`?`.
fn field(
    expr: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_offset: u32,
) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in expr.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s
                    .parse()
                    .map_err(|_| format!("failed to parse int from {s}"))?;
                if s == 0 {
                    return Err(format!("step of range should be a positive number: {part}"));
                }
                (r, Some(s))
            }
            None => (part, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            if step.is_none() {
                star = true;
            }
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, name_offset)?, value(b, names, name_offset)?)
        } else {
            let v = value(range, names, name_offset)?;
            // "a/s" means a through the maximum by s.
            (v, if step.is_some() { max } else { v })
        };
        if lo < min {
            return Err(format!(
                "beginning of range ({lo}) below minimum ({min}): {part}"
            ));
        }
        if hi > max {
            return Err(format!("end of range ({hi}) above maximum ({max}): {part}"));
        }
        if lo > hi {
            return Err(format!(
                "beginning of range ({lo}) beyond end of range ({hi}): {part}"
            ));
        }
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

impl Schedule {
    /// Parses a standard cron spec (5 fields or a macro).
    pub fn parse(spec: &str) -> Result<Schedule, String> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            return Err("TZ is not supported in the schedule; use spec.timeZone".into());
        }
        let expanded = match spec {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => return Err(format!("unrecognized descriptor: {s}")),
            s => s,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "expected exactly 5 fields, found {}: {spec}",
                fields.len()
            ));
        }
        let (minutes, _) = field(fields[0], 0, 59, &[], 0)?;
        let (hours, _) = field(fields[1], 0, 23, &[], 0)?;
        let (dom, dom_star) = field(fields[2], 1, 31, &[], 0)?;
        let (months, _) = field(fields[3], 1, 12, &MONTHS, 1)?;
        let (mut dow, dow_star) = field(fields[4], 0, 7, &DAYS, 0)?;
        if dow & (1 << 7) != 0 {
            dow = (dow | 1) & !(1 << 7);
        }
        Ok(Schedule {
            minutes,
            hours,
            dom,
            months,
            dow,
            day_star: dom_star || dow_star,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.dom & (1 << d.day()) != 0;
        let dow = self.dow & (1 << d.weekday().to_sunday_zero_offset()) != 0;
        if self.day_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The instants of a civil time (none in a gap, two in a fold).
    fn instants(dt: DateTime, tz: &TimeZone) -> Vec<Timestamp> {
        let amb = tz.to_ambiguous_timestamp(dt);
        let at = |o: jiff::tz::Offset| o.to_timestamp(dt).ok();
        match amb.offset() {
            AmbiguousOffset::Unambiguous { offset } => at(offset).into_iter().collect(),
            AmbiguousOffset::Gap { .. } => Vec::new(),
            AmbiguousOffset::Fold { before, after } => {
                at(before).into_iter().chain(at(after)).collect()
            }
        }
    }

    /// The matching instants of one local day, ascending.
    fn day_times(&self, d: Date, tz: &TimeZone) -> Vec<Timestamp> {
        let mut out = Vec::new();
        if !self.day_matches(d) {
            return out;
        }
        for h in 0..24i8 {
            if self.hours & (1 << h) == 0 {
                continue;
            }
            for m in 0..60i8 {
                if self.minutes & (1 << m) == 0 {
                    continue;
                }
                out.extend(Self::instants(d.at(h, m, 0, 0), tz));
            }
        }
        out.sort();
        out
    }

    /// The first matching instant strictly after `t` (within five years).
    pub fn next(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // Start a day early so a fold around midnight is not missed.
        let mut d = t.to_zoned(tz.clone()).date().checked_sub(1.day()).ok()?;
        for _ in 0..(366 * 5 + 2) {
            if let Some(x) = self.day_times(d, tz).into_iter().find(|x| *x > t) {
                return Some(x);
            }
            d = d.checked_add(1.day()).ok()?;
        }
        None
    }

    /// The last matching instant at or before `t` (within five years).
    pub fn prev_or_at(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let mut d = t.to_zoned(tz.clone()).date().checked_add(1.day()).ok()?;
        for _ in 0..(366 * 5 + 2) {
            if let Some(x) = self.day_times(d, tz).into_iter().rev().find(|x| *x <= t) {
                return Some(x);
            }
            d = d.checked_sub(1.day()).ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn parses_fields_and_rejects_bad_ones() {
        assert!(Schedule::parse("*/15 9-17 * * MON-FRI").is_ok());
        assert!(Schedule::parse("0 0 1,15 jan,Jul ?").is_ok());
        assert!(Schedule::parse("@hourly").is_ok());
        assert!(Schedule::parse("60 * * * *").is_err());
        assert!(Schedule::parse("* * * *").is_err());
        assert!(Schedule::parse("*/0 * * * *").is_err());
        assert!(Schedule::parse("5-1 * * * *").is_err());
        assert!(Schedule::parse("@every 5m").is_err());
        assert!(Schedule::parse("x * * * *").is_err());
        assert_eq!(Schedule::parse("0 0 * * 7"), Schedule::parse("0 0 * * 0"));
        assert_eq!(Schedule::parse("@daily"), Schedule::parse("0 0 * * *"));
    }

    #[test]
    fn next_times_utc() {
        let utc = TimeZone::UTC;
        let s = Schedule::parse("*/15 9-17 * * MON-FRI").unwrap_or_else(|e| panic!("{e}"));
        // Friday 2024-03-01 17:50 → Monday 09:00.
        assert_eq!(
            s.next(at("2024-03-01T17:50:00Z"), &utc),
            Some(at("2024-03-04T09:00:00Z"))
        );
        assert_eq!(
            s.next(at("2024-03-04T09:00:00Z"), &utc),
            Some(at("2024-03-04T09:15:00Z"))
        );
        let y = Schedule::parse("@yearly").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            y.next(at("2024-06-01T00:00:00Z"), &utc),
            Some(at("2025-01-01T00:00:00Z"))
        );
        // Day-of-month OR day-of-week when both are restricted.
        let or = Schedule::parse("0 0 13 * 5").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            or.next(at("2024-09-01T00:00:00Z"), &utc),
            Some(at("2024-09-06T00:00:00Z"))
        );
        let leap = Schedule::parse("0 0 29 2 *").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            leap.next(at("2024-03-01T00:00:00Z"), &utc),
            Some(at("2028-02-29T00:00:00Z"))
        );
        assert_eq!(
            s.prev_or_at(at("2024-03-04T09:20:00Z"), &utc),
            Some(at("2024-03-04T09:15:00Z"))
        );
        assert_eq!(
            s.prev_or_at(at("2024-03-04T09:15:00Z"), &utc),
            Some(at("2024-03-04T09:15:00Z"))
        );
    }

    #[test]
    fn time_zones_and_dst() {
        let ny = TimeZone::get("America/New_York").unwrap_or_else(|e| panic!("{e}"));
        let daily = Schedule::parse("0 9 * * *").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            daily.next(at("2024-01-10T15:00:00Z"), &ny),
            Some(at("2024-01-11T14:00:00Z"))
        );
        // 02:30 does not exist on 2024-03-10 in New York: skipped.
        let gap = Schedule::parse("30 2 * * *").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            gap.next(at("2024-03-09T08:00:00Z"), &ny),
            Some(at("2024-03-11T06:30:00Z"))
        );
        // 01:30 happens twice on 2024-11-03: both fire.
        let fold = Schedule::parse("30 1 * * *").unwrap_or_else(|e| panic!("{e}"));
        let first = fold.next(at("2024-11-03T04:00:00Z"), &ny);
        assert_eq!(first, Some(at("2024-11-03T05:30:00Z")));
        assert_eq!(
            fold.next(at("2024-11-03T05:30:00Z"), &ny),
            Some(at("2024-11-03T06:30:00Z"))
        );
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            daily.next(at("2024-01-10T00:00:00Z"), &tokyo),
            Some(at("2024-01-11T00:00:00Z"))
        );
    }
}
