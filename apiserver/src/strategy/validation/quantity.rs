//! Just enough of `resource.Quantity` for validation: parsing, comparing,
//! and the canonical `String()` kube prints in messages (`1000m` is `1`,
//! `0.5Gi` is `512Mi`).

use std::cmp::Ordering;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// A parsed quantity: `mantissa × 10^exponent`, rounded up to nano units.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    mantissa: i128,
    exponent: i32,
    format: Format,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Quantity {
    /// Parses a quantity written as a JSON string or number; `None` when
    /// kube would have refused to decode it.
    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Self::parse(s.trim()),
            Value::Number(n) => Self::parse(&n.to_string()),
            _ => None,
        }
    }

    /// Parses `<signed number><suffix>` (`500m`, `1.5Gi`, `1e3`).
    pub fn parse(s: &str) -> Option<Self> {
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(split);
        let (negative, digits) = match number.as_bytes().first()? {
            b'-' => (true, &number[1..]),
            b'+' => (false, &number[1..]),
            _ => (false, number),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
        let mut exponent = -i32::try_from(fraction.len()).ok()?;
        let (format, binary_power, decimal_shift) = parse_suffix(suffix)?;
        if binary_power > 0 {
            mantissa = mantissa.checked_mul(1024i128.checked_pow(binary_power)?)?;
        }
        exponent += decimal_shift;
        if negative {
            mantissa = -mantissa;
        }
        Some(
            Quantity {
                mantissa,
                exponent,
                format,
            }
            .round_up_to_nano(),
        )
    }

    fn round_up_to_nano(mut self) -> Self {
        if self.exponent < -9 {
            let divisor = pow10((-9 - self.exponent) as u32).unwrap_or(i128::MAX);
            let quotient = self.mantissa / divisor;
            let rounds_up = self.mantissa % divisor > 0;
            self.mantissa = quotient + i128::from(rounds_up);
            self.exponent = -9;
        }
        self
    }

    /// The sign of the quantity.
    pub fn signum(&self) -> i128 {
        self.mantissa.signum()
    }

    /// Whether the quantity is a whole number.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0 || self.mantissa % pow10((-self.exponent) as u32).unwrap_or(1) == 0
    }

    /// Compares two quantities by value.
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        let exponent = self.exponent.min(other.exponent);
        let scale = |q: &Quantity| {
            pow10((q.exponent - exponent) as u32).and_then(|f| q.mantissa.checked_mul(f))
        };
        match (scale(self), scale(other)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self
                .as_f64()
                .partial_cmp(&other.as_f64())
                .unwrap_or(Ordering::Equal),
        }
    }

    fn as_f64(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exponent)
    }

    /// kube's canonical form, as `Quantity.String()` prints it.
    pub fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_string();
        }
        let magnitude = Quantity {
            mantissa: self.mantissa.abs(),
            ..*self
        };
        let kibi = Quantity {
            mantissa: 1024,
            exponent: 0,
            format: Format::DecimalSi,
        };
        if self.format == Format::BinarySi
            && magnitude.cmp_value(&kibi) != Ordering::Less
            && let Some(whole) = self.whole_value()
        {
            let (mut amount, mut power) = (whole, 0);
            while amount % 1024 == 0 && power < 6 {
                amount /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return format!("{amount}{suffix}");
        }
        let (mut amount, mut exponent) = (self.mantissa, self.exponent);
        while amount % 10 == 0 {
            amount /= 10;
            exponent += 1;
        }
        match exponent.rem_euclid(3) {
            1 => {
                amount *= 10;
                exponent -= 1;
            }
            2 => {
                amount *= 100;
                exponent -= 2;
            }
            _ => {}
        }
        let suffix = if self.format == Format::DecimalExponent {
            if exponent == 0 {
                String::new()
            } else {
                format!("e{exponent}")
            }
        } else {
            match exponent {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                18 => "E",
                _ => "",
            }
            .to_string()
        };
        format!("{amount}{suffix}")
    }

    /// The value as a whole number, when it is one.
    fn whole_value(&self) -> Option<i128> {
        if self.exponent >= 0 {
            self.mantissa.checked_mul(pow10(self.exponent as u32)?)
        } else {
            let divisor = pow10((-self.exponent) as u32)?;
            (self.mantissa % divisor == 0).then(|| self.mantissa / divisor)
        }
    }
}

/// (format, power of 1024, power of 10) of a suffix.
fn parse_suffix(suffix: &str) -> Option<(Format, u32, i32)> {
    let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if let Some(i) = binary.iter().position(|b| *b == suffix) {
        return Some((Format::BinarySi, i as u32 + 1, 0));
    }
    let decimal = match suffix {
        "" => Some(0),
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(shift) = decimal {
        return Some((Format::DecimalSi, 0, shift));
    }
    let rest = suffix.strip_prefix(['e', 'E'])?;
    let shift: i32 = rest.parse().ok()?;
    Some((Format::DecimalExponent, 0, shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Quantity::parse(s).unwrap().canonical()
    }

    #[test]
    fn canonical_forms_match_kube() {
        for (input, want) in [
            ("1000m", "1"),
            ("0.5", "500m"),
            ("500m", "500m"),
            ("2", "2"),
            ("0.5Gi", "512Mi"),
            ("1Gi", "1Gi"),
            ("1024", "1024"),
            ("1500Mi", "1500Mi"),
            ("100Ki", "100Ki"),
            ("1.5", "1500m"),
            ("1e3", "1e3"),
            ("10k", "10k"),
            ("0", "0"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("100M", "100M"),
        ] {
            assert_eq!(canon(input), want, "{input}");
        }
    }

    #[test]
    fn compares_across_suffixes() {
        let a = Quantity::parse("1").unwrap();
        let b = Quantity::parse("1000m").unwrap();
        let c = Quantity::parse("1Gi").unwrap();
        let d = Quantity::parse("1G").unwrap();
        assert_eq!(a.cmp_value(&b), Ordering::Equal);
        assert_eq!(c.cmp_value(&d), Ordering::Greater);
        assert!(Quantity::parse("abc").is_none());
        assert!(Quantity::parse("1.5.5").is_none());
        assert!(Quantity::parse("-1").unwrap().signum() < 0);
    }
}
