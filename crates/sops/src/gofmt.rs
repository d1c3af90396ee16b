//! Go's text forms of floats and times, which sops feeds into encryption, the MAC and its
//! output. Rust's own formatting differs in the details (exponent form, `inf`), and a single
//! differing byte breaks MAC verification, so these are written out once, here.

use crate::tree::Timestamp;

/// Shortest round-trip decimal digits of `v` (no sign) and the decimal exponent of the first
/// digit, e.g. 1234.5 → ("12345", 3), 0.015 → ("15", -2). `v` must be finite and non-zero.
fn digits(v: f64) -> (String, i32) {
    let s = format!("{:e}", v.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().unwrap_or(0))
}

fn special(v: f64, inf: &str, neg_inf: &str, nan: &str) -> Option<String> {
    if v.is_nan() {
        Some(nan.to_owned())
    } else if v == f64::INFINITY {
        Some(inf.to_owned())
    } else if v == f64::NEG_INFINITY {
        Some(neg_inf.to_owned())
    } else {
        None
    }
}

/// Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent
/// (`1e21` → `1000000000000000000000`, `1.0` → `1`, `-0.0` → `-0`, ±∞ → `+Inf`/`-Inf`, `NaN`).
/// This is the form sops encrypts and hashes for `type:float`.
pub fn format_float_f(v: f64) -> String {
    if let Some(s) = special(v, "+Inf", "-Inf", "NaN") {
        return s;
    }
    // Rust's Display for f64 is exactly this: shortest digits, positional notation.
    format!("{v}")
}

/// Go `strconv.FormatFloat(v, 'e', -1, 64)`-style exponent form from shortest digits:
/// `1.5e-07`, `1e+21` (at least two exponent digits, always signed).
fn format_e(neg: bool, digits: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

/// Go `strconv.FormatFloat(v, 'g', -1, 64)` as go-yaml v3 writes floats, with YAML's names for
/// the special values (`.inf`, `-.inf`, `.nan`): `3.14159`, `1.5e-07`, `1e+21`, `1e+06`, `1`.
pub fn format_float_yaml(v: f64) -> String {
    if let Some(s) = special(v, ".inf", "-.inf", ".nan") {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (d, exp) = digits(v);
    // Go: with shortest precision, %g uses the exponent form when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        return format_e(v < 0.0, &d, exp);
    }
    format_float_f(v)
}

/// Go `encoding/json`'s float form: `'f'` unless |v| < 1e-6 or |v| ≥ 1e21, then `'e'` with a
/// one-digit negative exponent cleaned up (`1e-07`), as in `json.Marshal`.
pub fn format_float_json(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let (d, exp) = digits(v);
        let mut s = format_e(v < 0.0, &d, exp);
        let n = s.len();
        let b = s.as_bytes();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
        s
    } else {
        format_float_f(v)
    }
}

impl std::fmt::Display for Timestamp {
    /// Go `time.Time.MarshalText`: RFC 3339 with nanoseconds, trailing zeros of the fraction
    /// dropped, `Z` for UTC (`2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.5+02:00`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let frac = format!("{:09}", self.nanosecond);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        if self.offset_seconds == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_seconds < 0 { '-' } else { '+' };
            let o = self.offset_seconds.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", o / 3600, (o % 3600) / 60)
        }
    }
}

impl Timestamp {
    /// The UTC timestamp of `secs` seconds since the Unix epoch (proleptic Gregorian calendar).
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
            nanosecond: 0,
            offset_seconds: 0,
        }
    }

    /// The current time in UTC with second precision, as sops writes `lastmodified`.
    pub fn now_utc() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Self::from_unix(secs)
    }

    /// Parses RFC 3339 (`YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`, `t`/`z` accepted in lower case),
    /// as Go's `time.Parse(time.RFC3339Nano, ...)` does for `type:time` plaintexts and for
    /// `lastmodified`.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        if !matches!(b[10], b'T' | b't') {
            return None;
        }
        let year = num(0..4)? as i32;
        let month = num(5..7)? as u8;
        let day = num(8..10)? as u8;
        let hour = num(11..13)? as u8;
        let minute = num(14..16)? as u8;
        let second = num(17..19)? as u8;
        let mut i = 19;
        let mut nanosecond = 0u32;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return None;
            }
            let frac = &s[start..end];
            nanosecond = format!("{frac:0<9}").parse().ok()?;
            i = end;
        }
        let offset_seconds = match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            c @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
                let h = num(i + 1..i + 3)? as i32;
                let m = num(i + 4..i + 6)? as i32;
                let o = h * 3600 + m * 60;
                if *c == b'-' { -o } else { o }
            }
            _ => return None,
        };
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        if second > 60 {
            return None;
        }
        Some(Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanosecond,
            offset_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_f_matches_go() {
        assert_eq!(format_float_f(1.0), "1");
        assert_eq!(format_float_f(1e21), "1000000000000000000000");
        assert_eq!(format_float_f(1.5e-7), "0.00000015");
        assert_eq!(format_float_f(-0.0), "-0");
        assert_eq!(format_float_f(3.25159), "3.25159");
        assert_eq!(format_float_f(f64::INFINITY), "+Inf");
        assert_eq!(format_float_f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float_f(f64::NAN), "NaN");
    }

    #[test]
    fn float_yaml_matches_go_g() {
        assert_eq!(format_float_yaml(1.0), "1");
        assert_eq!(format_float_yaml(1e21), "1e+21");
        assert_eq!(format_float_yaml(1.5e-7), "1.5e-07");
        assert_eq!(format_float_yaml(1e6), "1e+06");
        assert_eq!(format_float_yaml(123456.0), "123456");
        assert_eq!(format_float_yaml(123456789.0), "1.23456789e+08");
        assert_eq!(format_float_yaml(0.0001), "0.0001");
        assert_eq!(format_float_yaml(0.00001), "1e-05");
        assert_eq!(format_float_yaml(-2.5), "-2.5");
        assert_eq!(format_float_yaml(f64::NEG_INFINITY), "-.inf");
    }

    #[test]
    fn float_json_matches_go() {
        assert_eq!(format_float_json(42.0), "42");
        assert_eq!(format_float_json(1.5e-7), "1.5e-7");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_json(0.000001), "0.000001");
        assert_eq!(format_float_json(2.5), "2.5");
    }

    #[test]
    fn timestamps_round_trip() {
        for s in [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.5+02:00",
            "1999-12-31T23:59:59.123456789-07:30",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-27T01:38:24.000Z")
                .unwrap()
                .to_string(),
            "2026-11-27T01:38:24Z"
        );
        assert!(Timestamp::parse_rfc3339("2024-01-02").is_none());
        assert_eq!(Timestamp::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix(1_795_743_504).to_string(),
            "2026-11-27T01:38:24Z"
        );
        assert_eq!(
            Timestamp::from_unix(951_782_400).to_string(),
            "2000-02-29T00:00:00Z"
        );
    }
}
