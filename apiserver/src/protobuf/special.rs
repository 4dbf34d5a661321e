//! The JSON forms Go gives Kubernetes' special types: times, durations.

use serde_json::Value;

/// Go's zero `time.Time` (January 1, year 1, UTC) in Unix seconds; it
/// marshals to JSON `null`.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// meta/v1 Time or MicroTime as kube-apiserver writes it in JSON: RFC 3339
/// in UTC, with no fraction (`Time`) or six digits (`MicroTime`); `null`
/// for Go's zero time.
pub(super) fn time(seconds: i64, nanos: i32, micro: bool) -> Result<Value, String> {
    // Go's time.Unix normalizes nanoseconds outside [0, 1e9).
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    let secs = i64::try_from(total.div_euclid(1_000_000_000))
        .map_err(|_| format!("the time {seconds}s {nanos}ns is out of range"))?;
    let subsec = i32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0);
    if secs == GO_ZERO_TIME && subsec == 0 {
        return Ok(Value::Null);
    }
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return Err(format!(
            "the time {seconds}s {nanos}ns is outside the years 0 to 9999"
        ));
    }
    let mut s = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    if micro {
        s.push_str(&format!(".{:06}", subsec / 1000));
    }
    s.push('Z');
    Ok(Value::String(s))
}

/// The proleptic Gregorian (year, month, day) `days` after 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(super) fn duration(nanos: i64) -> String {
    let negative = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Below a second: the largest unit under it, with a fraction.
        let (prec, unit) = match u {
            0 => return "0s".to_string(),
            1..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        let frac = fraction(&mut u, prec);
        out.push_str(&u.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let frac = fraction(&mut u, 9);
        let seconds = u % 60;
        let minutes = u / 60;
        if minutes > 0 {
            let hours = minutes / 60;
            if hours > 0 {
                out.push_str(&format!("{hours}h"));
            }
            out.push_str(&format!("{}m", minutes % 60));
        }
        out.push_str(&format!("{seconds}{frac}s"));
    }
    if negative {
        out.insert(0, '-');
    }
    out
}

/// Go's `fmtFrac`: splits off the last `prec` decimal digits of `v` as
/// `.ddd` with trailing zeros (and a bare point) dropped.
fn fraction(v: &mut u64, prec: u32) -> String {
    let mut digits = Vec::new();
    let mut printing = false;
    for _ in 0..prec {
        let digit = *v % 10;
        printing = printing || digit != 0;
        if printing {
            digits.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        *v /= 10;
    }
    if digits.is_empty() {
        return String::new();
    }
    digits.push('.');
    digits.iter().rev().collect()
}

/// A `double` as Go's JSON encoder writes it, read back: integral values
/// are integers (`3`, not `3.0`). `None` for NaN and infinities, which Go
/// refuses to encode.
pub(super) fn double(x: f64) -> Option<Value> {
    if !x.is_finite() {
        return None;
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        // Exact: integral and well inside i64.
        let i = x as i64;
        return Some(if i >= 0 {
            Value::from(i.unsigned_abs())
        } else {
            Value::from(i)
        });
    }
    serde_json::Number::from_f64(x).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_like_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (4_000_000_000, "4s"),
            (3_723_000_000_001, "1h2m3.000000001s"),
            (-90_000_000_000, "-1m30s"),
            (-1, "-1ns"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (nanos, want) in cases {
            assert_eq!(duration(*nanos), *want, "{nanos}ns");
        }
    }

    #[test]
    fn times() {
        assert_eq!(
            time(1_795_428_000, 0, false),
            Ok(json!("2026-11-23T10:00:00Z"))
        );
        assert_eq!(
            time(951_782_400, 0, false),
            Ok(json!("2000-02-29T00:00:00Z"))
        );
        assert_eq!(
            time(-62_167_219_200, 0, false),
            Ok(json!("0000-01-01T00:00:00Z"))
        );
        assert!(time(-62_167_219_201, 0, false).is_err());
        assert!(time(253_402_300_800, 0, false).is_err());
        assert_eq!(time(0, 0, false), Ok(json!("1970-01-01T00:00:00Z")));
        assert_eq!(
            time(0, 999_999_999, false),
            Ok(json!("1970-01-01T00:00:00Z"))
        );
        assert_eq!(
            time(0, 123_456_789, true),
            Ok(json!("1970-01-01T00:00:00.123456Z"))
        );
        assert_eq!(time(0, -1, true), Ok(json!("1969-12-31T23:59:59.999999Z")));
        assert_eq!(time(GO_ZERO_TIME, 0, false), Ok(Value::Null));
        assert_eq!(
            time(GO_ZERO_TIME, 1_000, true),
            Ok(json!("0001-01-01T00:00:00.000001Z"))
        );
        assert!(time(i64::MAX, 0, false).is_err());
        assert!(time(i64::MIN, i32::MIN, true).is_err());
        assert_eq!(
            time(253_402_300_799, 0, false),
            Ok(json!("9999-12-31T23:59:59Z"))
        );
    }

    #[test]
    fn doubles() {
        assert_eq!(double(3.0), Some(json!(3)));
        assert_eq!(double(-3.0), Some(json!(-3)));
        assert_eq!(double(0.5), Some(json!(0.5)));
        assert_eq!(double(f64::NAN), None);
        assert_eq!(double(f64::INFINITY), None);
    }
}
