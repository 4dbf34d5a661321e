//! The string `format`s kube-apiserver validates in CRD schemas (1.28–1.33:
//! kube-openapi's `strfmt.Default` registry, the set apiextensions keeps;
//! any other format, `int32` and `int64` included, is stripped and ignored).

use regex::Regex;
use std::sync::LazyLock;

/// A format kube validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    BsonObjectId,
    Uri,
    Email,
    Hostname,
    Ipv4,
    Ipv6,
    Cidr,
    Mac,
    Uuid,
    Uuid3,
    Uuid4,
    Uuid5,
    Isbn,
    Isbn10,
    Isbn13,
    CreditCard,
    Ssn,
    HexColor,
    RgbColor,
    Byte,
    Password,
    Date,
    Duration,
    DateTime,
}

impl Format {
    /// The format kube validates for this name (dashes ignored, as go-openapi
    /// normalizes names: `date-time` is `datetime`), or `None` for formats
    /// kube strips.
    pub(crate) fn recognise(name: &str) -> Option<Format> {
        let normalized: String = name.chars().filter(|c| *c != '-').collect();
        Some(match normalized.as_str() {
            "bsonobjectid" => Format::BsonObjectId,
            "uri" => Format::Uri,
            "email" => Format::Email,
            "hostname" => Format::Hostname,
            "ipv4" => Format::Ipv4,
            "ipv6" => Format::Ipv6,
            "cidr" => Format::Cidr,
            "mac" => Format::Mac,
            "uuid" => Format::Uuid,
            "uuid3" => Format::Uuid3,
            "uuid4" => Format::Uuid4,
            "uuid5" => Format::Uuid5,
            "isbn" => Format::Isbn,
            "isbn10" => Format::Isbn10,
            "isbn13" => Format::Isbn13,
            "creditcard" => Format::CreditCard,
            "ssn" => Format::Ssn,
            "hexcolor" => Format::HexColor,
            "rgbcolor" => Format::RgbColor,
            "byte" => Format::Byte,
            "password" => Format::Password,
            "date" => Format::Date,
            "duration" => Format::Duration,
            "datetime" => Format::DateTime,
            _ => return None,
        })
    }

    /// Whether `s` is valid in this format, as kube-openapi's validator decides.
    pub(crate) fn is_valid(self, s: &str) -> bool {
        match self {
            Format::BsonObjectId => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
            Format::Uri => is_request_uri(s),
            Format::Email => is_email(s),
            Format::Hostname => is_hostname(s),
            Format::Ipv4 => s.contains('.') && (parse_ipv4(s, true) || parse_ipv6(s, true)),
            Format::Ipv6 => s.contains(':') && parse_ipv6(s, false),
            Format::Cidr => is_cidr(s),
            Format::Mac => is_mac(s),
            Format::Uuid => matches(&UUID, s),
            Format::Uuid3 => matches(&UUID3, s),
            Format::Uuid4 => matches(&UUID4, s),
            Format::Uuid5 => matches(&UUID5, s),
            Format::Isbn => is_isbn10(s) || is_isbn13(s),
            Format::Isbn10 => is_isbn10(s),
            Format::Isbn13 => is_isbn13(s),
            Format::CreditCard => is_credit_card(s),
            Format::Ssn => s.len() == 11 && matches(&SSN, s),
            Format::HexColor => matches(&HEX_COLOR, s),
            Format::RgbColor => matches(&RGB_COLOR, s),
            Format::Byte => matches(&BASE64, s),
            Format::Password => true,
            Format::Date => is_date(s),
            Format::Duration => is_duration(s),
            Format::DateTime => is_date_time(s),
        }
    }
}

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(s))
}

fn regex(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
    )
});
static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID3: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static CREDIT_CARD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11})$",
    )
});
static HEX_COLOR: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGB_COLOR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let byte = r"(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])";
    let sp = r"[\t\n\x0C\r ]*";
    regex(&format!(
        r"^rgb\({sp}{byte}{sp},{sp}{byte}{sp},{sp}{byte}{sp}\)$"
    ))
});
static BASE64: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
});
static SSN: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$"));
static DATE_TIME_CLOCK: LazyLock<Option<Regex>> = LazyLock::new(|| {
    regex(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
});
static DURATION_PART: LazyLock<Option<Regex>> =
    LazyLock::new(|| regex(r"(([0-9]+)[\t\n\x0C\r ]*([A-Za-zµ]+))"));

/// strfmt's `IsHostname`: the pattern, at most 255 bytes, labels at most 63.
fn is_hostname(s: &str) -> bool {
    matches(&HOSTNAME, s) && s.len() <= 255 && s.split('.').all(|part| part.len() <= 63)
}

/// govalidator's `IsCreditCard`: non-digits dropped, a known issuer shape, Luhn.
fn is_credit_card(s: &str) -> bool {
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if !matches(&CREDIT_CARD, &digits) {
        return false;
    }
    let mut sum = 0;
    let mut double = false;
    for b in digits.bytes().rev() {
        let mut n = u32::from(b - b'0');
        if double {
            n *= 2;
            if n >= 10 {
                n = n % 10 + 1;
            }
        }
        sum += n;
        double = !double;
    }
    sum.is_multiple_of(10)
}

fn isbn_sanitized(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c | b'-'))
        .collect()
}

fn is_isbn10(s: &str) -> bool {
    let d = isbn_sanitized(s);
    if d.len() != 10
        || !d[..9].iter().all(u8::is_ascii_digit)
        || !(d[9].is_ascii_digit() || d[9] == b'X')
    {
        return false;
    }
    let mut sum: u32 = 0;
    for (i, b) in d[..9].iter().enumerate() {
        sum += (i as u32 + 1) * u32::from(b - b'0');
    }
    sum += 10
        * if d[9] == b'X' {
            10
        } else {
            u32::from(d[9] - b'0')
        };
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let d = isbn_sanitized(s);
    if d.len() != 13 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = d[..12]
        .iter()
        .enumerate()
        .map(|(i, b)| if i % 2 == 0 { 1 } else { 3 } * u32::from(b - b'0'))
        .sum();
    u32::from(d[12] - b'0') == (10 - sum % 10) % 10
}

/// Go's `time.Parse("2006-01-02", s)`: exact digits, a real calendar day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[r];
        if part.iter().all(u8::is_ascii_digit) {
            Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
        } else {
            None
        }
    };
    let (Some(year), Some(month), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

/// strfmt's `IsDateTime`: a date, `t`, a clock matched loosely.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(clock)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let Some(caps) = DATE_TIME_CLOCK.as_ref().and_then(|re| re.captures(clock)) else {
        return false;
    };
    let field = |i: usize| caps.get(i).map(|m| m.as_str()).unwrap_or("");
    field(1) <= "23" && field(2) <= "59" && field(3) <= "59"
}

/// strfmt's `ParseDuration`: Go's `time.ParseDuration`, else any
/// `<digits><unit>` with a Scala-style unit word.
fn is_duration(s: &str) -> bool {
    if go_parse_duration(s) {
        return true;
    }
    let Some(re) = DURATION_PART.as_ref() else {
        return false;
    };
    const UNITS: &[&[&str]] = &[
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let mut ok = false;
    for caps in re.captures_iter(s) {
        let digits = caps.get(2).map(|m| m.as_str()).unwrap_or("");
        if digits.parse::<i64>().is_err() {
            return false;
        }
        let unit = caps
            .get(3)
            .map(|m| m.as_str().trim().to_lowercase())
            .unwrap_or_default();
        for variants in UNITS {
            let last = variants.len() - 1;
            for (i, variant) in variants.iter().enumerate() {
                if (i == last && unit.starts_with(variant)) || unit.eq_ignore_ascii_case(variant) {
                    ok = true;
                }
            }
        }
    }
    ok
}

/// Go's `time.ParseDuration` acceptance: `[-+]?(digits[.digits]unit)+` or `0`.
fn go_parse_duration(s: &str) -> bool {
    let mut rest = s.strip_prefix(['-', '+']).unwrap_or(s);
    if rest == "0" {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let mut after = after;
        let mut frac_len = 0;
        let had_dot = after.starts_with('.');
        if had_dot {
            after = &after[1..];
            frac_len = after.bytes().take_while(u8::is_ascii_digit).count();
            after = &after[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return false;
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map(|(i, _)| i)
            .unwrap_or(after.len());
        let (unit, tail) = after.split_at(unit_len);
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return false,
        };
        let value: f64 = int_part.parse::<f64>().unwrap_or(0.0);
        total += value * scale;
        if total > 9.223_372_036_854_776e18 {
            return false;
        }
        rest = tail;
    }
    true
}

/// k8s.io/utils' `ParseIPSloppy` IPv4: four decimal fields up to 255,
/// leading zeros allowed when `sloppy`.
fn parse_ipv4(s: &str, sloppy: bool) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (sloppy || p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u32>().is_ok_and(|n| n <= 255)
        })
}

/// Go's IPv6 text form: hex groups, one `::`, an optional trailing IPv4.
fn parse_ipv6(s: &str, sloppy: bool) -> bool {
    if s.is_empty() {
        return false;
    }
    let (head, tail) = match s.find("::") {
        Some(i) => (&s[..i], Some(&s[i + 2..])),
        None => (s, None),
    };
    if tail.is_some_and(|t| t.contains("::")) {
        return false;
    }
    let count = |part: &str, may_end_v4: bool| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let groups: Vec<&str> = part.split(':').collect();
        let mut n = 0;
        for (i, g) in groups.iter().enumerate() {
            let last = i == groups.len() - 1;
            if last && may_end_v4 && g.contains('.') {
                if !parse_ipv4(g, sloppy) {
                    return None;
                }
                n += 2;
            } else if (1..=4).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit()) {
                n += 1;
            } else {
                return None;
            }
        }
        Some(n)
    };
    match tail {
        None => count(head, true) == Some(8),
        Some(tail) => match (count(head, false), count(tail, true)) {
            (Some(a), Some(b)) => a + b < 8,
            _ => false,
        },
    }
}

/// `ParseCIDRSloppy`: an address, `/`, a decimal prefix within its width.
fn is_cidr(s: &str) -> bool {
    let Some((addr, prefix)) = s.split_once('/') else {
        return false;
    };
    let bits = if parse_ipv4(addr, true) {
        32
    } else if parse_ipv6(addr, true) {
        128
    } else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && prefix.parse::<u32>().is_ok_and(|n| n <= bits)
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx…`, `xx-xx…` or `xxxx.xxxx…`.
fn is_mac(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 14 {
        return false;
    }
    let hex2 = |i: usize| b[i].is_ascii_hexdigit() && b[i + 1].is_ascii_hexdigit();
    if b[2] == b':' || b[2] == b'-' {
        if !(b.len() + 1).is_multiple_of(3) {
            return false;
        }
        let n = (b.len() + 1) / 3;
        if !matches!(n, 6 | 8 | 20) {
            return false;
        }
        (0..n).all(|x| hex2(x * 3) && (x == n - 1 || b[x * 3 + 2] == b[2]))
    } else if b[4] == b'.' {
        if !(b.len() + 1).is_multiple_of(5) {
            return false;
        }
        let n = 2 * (b.len() + 1) / 5;
        if !matches!(n, 6 | 8 | 20) {
            return false;
        }
        (0..n / 2)
            .all(|x| hex2(x * 5) && hex2(x * 5 + 2) && (x == n / 2 - 1 || b[x * 5 + 4] == b'.'))
    } else {
        false
    }
}

/// Go's `url.ParseRequestURI` acceptance: an absolute URI or an absolute
/// path, no control characters, valid percent escapes, a numeric port.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let (scheme, rest) = split_scheme(s);
    if scheme == Some("") {
        return false;
    }
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    if !rest.starts_with('/') {
        return scheme.is_some();
    }
    let path = if scheme.is_some() && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = after.find('/').map_or((after, ""), |i| after.split_at(i));
        if !valid_authority(authority) {
            return false;
        }
        path
    } else {
        rest
    };
    valid_escapes(path)
}

/// Go's `getScheme`: `Some(scheme)` when the URL starts with one.
fn split_scheme(s: &str) -> (Option<&str>, &str) {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' => return (Some(&s[..i]), &s[i + 1..]),
            _ => return (None, s),
        }
    }
    (None, s)
}

fn valid_authority(authority: &str) -> bool {
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let port = if let Some(rest) = host.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else {
            return false;
        };
        if !parse_ipv6(literal.split('%').next().unwrap_or(""), false) {
            return false;
        }
        if after.is_empty() {
            return valid_escapes(authority);
        }
        match after.strip_prefix(':') {
            Some(port) => port,
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or("", |(_, port)| port)
    };
    port.bytes().all(|b| b.is_ascii_digit()) && valid_escapes(authority)
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// `net/mail.ParseAddress` acceptance: `local@domain`, optionally as
/// `Display Name <local@domain>`.
fn is_email(s: &str) -> bool {
    let s = s.trim_matches([' ', '\t']);
    if let Some(open) = s.find('<') {
        let Some(inner) = s[open + 1..].strip_suffix('>') else {
            return false;
        };
        let name = s[..open].trim_matches([' ', '\t']);
        return valid_display_name(name) && is_addr_spec(inner);
    }
    is_addr_spec(s)
}

fn valid_display_name(name: &str) -> bool {
    if name.starts_with('"') {
        return name.len() >= 2 && name.ends_with('"');
    }
    name.split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .all(|w| w.split('.').all(|atom| atom.chars().all(is_atext)))
}

fn is_addr_spec(s: &str) -> bool {
    let Some(at) = s.rfind('@') else {
        return false;
    };
    let (local, domain) = (&s[..at], &s[at + 1..]);
    let local_ok = if local.starts_with('"') {
        local.len() >= 2 && local.ends_with('"')
    } else {
        is_dot_atom(local)
    };
    let domain_ok = if let Some(literal) = domain.strip_prefix('[') {
        literal.ends_with(']') && !literal[..literal.len() - 1].contains(['[', ']', '\\'])
    } else {
        is_dot_atom(domain)
    };
    local_ok && domain_ok
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || (c as u32) >= 0x80
}

#[cfg(test)]
mod tests {
    use super::Format::*;
    use super::*;

    #[test]
    fn recognises_kube_formats_only() {
        assert_eq!(Format::recognise("date-time"), Some(DateTime));
        assert_eq!(Format::recognise("int32"), None);
        assert_eq!(Format::recognise("uri-reference"), None);
        assert_eq!(Format::recognise("byte"), Some(Byte));
    }

    #[test]
    fn validates_like_strfmt() {
        let cases: &[(Format, &str, bool)] = &[
            (Email, "a@b.c", true),
            (Email, "Alice <a@b.c>", true),
            (Email, "not-an-email", false),
            (Email, "a@@b", false),
            (Hostname, "example.com", true),
            (Hostname, "-bad", false),
            (Ipv4, "1.2.3.4", true),
            (Ipv4, "010.1.1.1", true),
            (Ipv4, "1.2.3", false),
            (Ipv4, "256.1.1.1", false),
            (Ipv6, "::1", true),
            (Ipv6, "fe80::1:2", true),
            (Ipv6, "1.2.3.4", false),
            (Ipv6, "::ffff:1.2.3.4", true),
            (Ipv6, "1:2:3:4:5:6:7:8:9", false),
            (Cidr, "10.0.0.0/8", true),
            (Cidr, "10.0.0.0/33", false),
            (Cidr, "fd00::/64", true),
            (Mac, "00:1a:2b:3c:4d:5e", true),
            (Mac, "00-1a-2b-3c-4d-5e", true),
            (Mac, "001a.2b3c.4d5e", true),
            (Mac, "00:1a:2b:3c:4d", false),
            (Uuid, "123e4567-e89b-12d3-a456-426614174000", true),
            (Uuid, "xyz", false),
            (Uuid4, "123e4567-e89b-42d3-a456-426614174000", true),
            (Uuid4, "123e4567-e89b-12d3-a456-426614174000", false),
            (Isbn10, "0321751043", true),
            (Isbn10, "0321751044", false),
            (Isbn13, "978-0321751041", true),
            (Isbn, "978-0321751041", true),
            (CreditCard, "4111 1111 1111 1111", true),
            (CreditCard, "4111 1111 1111 1112", false),
            (Ssn, "123-45-6789", true),
            (Ssn, "123456789", false),
            (HexColor, "#ffF", true),
            (HexColor, "#ff", false),
            (RgbColor, "rgb(255, 0, 10)", true),
            (RgbColor, "rgb(256,0,0)", false),
            (Byte, "aGVsbG8=", true),
            (Byte, "aGVsbG8", false),
            (Date, "2024-02-29", true),
            (Date, "2023-02-29", false),
            (Date, "2024-1-01", false),
            (DateTime, "2024-01-02T03:04:05Z", true),
            (DateTime, "2024-01-02T03:04:05.123+01:00", true),
            (DateTime, "2024-01-02T25:04:05Z", false),
            (DateTime, "2024-01-02", false),
            (Duration, "1h30m", true),
            (Duration, "1.5s", true),
            (Duration, "5 minutes", true),
            (Duration, "soon", false),
            (Duration, "1", false),
            (Uri, "https://example.com/x?y=1", true),
            (Uri, "/just/a/path", true),
            (Uri, "mailto:a@b.c", true),
            (Uri, "relative/path", false),
            (Uri, "http://host:port/", false),
            (Uri, "http://x/%zz", false),
            (BsonObjectId, "507f1f77bcf86cd799439011", true),
            (BsonObjectId, "507f1f77bcf86cd79943901", false),
            (Password, "anything", true),
        ];
        for (format, input, want) in cases {
            assert_eq!(format.is_valid(input), *want, "{format:?} {input:?}");
        }
    }
}
