//! Scalar typing exactly as go-yaml v3 (`resolve.go`) does it, which is what sops feeds into
//! the MAC and the `type:` field. Also the emitter-side questions "would this string read back
//! as something else?" (`isOldBool`, `isBase60Float`).

use crate::tree::{Timestamp, Value};

/// How a scalar was written in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'...'`.
    SingleQuoted,
    /// `"..."`.
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// Why a scalar cannot become a tree value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ResolveError {
    /// An integer above `int64` but within `uint64`: go-yaml decodes it as `uint64`, which
    /// sops cannot walk.
    Uint64,
    /// An explicit tag the text does not satisfy (`!!int x`); the two short tag names.
    TagMismatch(&'static str, String),
    /// `!!binary` with invalid base64.
    BadBinary,
}

/// The go-yaml short tag a resolved value would carry (used in error messages).
pub(crate) fn tag_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "!!null",
        Value::Bool(_) => "!!bool",
        Value::Int(_) => "!!int",
        Value::Float(_) => "!!float",
        Value::Time(_) => "!!timestamp",
        Value::Map(_) => "!!map",
        Value::List(_) => "!!seq",
        _ => "!!str",
    }
}

/// Normalises a tag as written (`!!str`, `!<tag:yaml.org,2002:str>`) to its short form.
pub(crate) fn short_tag(tag: &str) -> String {
    if let Some(rest) = tag
        .strip_prefix("!<tag:yaml.org,2002:")
        .and_then(|r| r.strip_suffix('>'))
    {
        return format!("!!{rest}");
    }
    if let Some(rest) = tag.strip_prefix("tag:yaml.org,2002:") {
        return format!("!!{rest}");
    }
    tag.to_string()
}

/// Types a scalar: its text, how it was quoted and its explicit tag, if any.
pub(crate) fn resolve_scalar(
    text: &str,
    style: Style,
    tag: Option<&str>,
) -> Result<Value, ResolveError> {
    let Some(tag) = tag else {
        if style != Style::Plain {
            return Ok(Value::Str(text.to_string()));
        }
        return resolve_plain(text, false);
    };
    let tag = short_tag(tag);
    match tag.as_str() {
        "!!str" | "!" | "!!merge" => Ok(Value::Str(text.to_string())),
        "!!binary" => {
            use base64::Engine as _;
            let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map_err(|_| ResolveError::BadBinary)?;
            Ok(match String::from_utf8(bytes) {
                Ok(s) => Value::Str(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            })
        }
        "!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp" => {
            let v = resolve_plain(text, tag == "!!timestamp")?;
            let got = tag_of(&v);
            match (tag.as_str(), &v) {
                ("!!float", Value::Int(i)) => Ok(Value::Float(*i as f64)),
                (want, _) if want == got => Ok(v),
                (want, _) => Err(ResolveError::TagMismatch(
                    got,
                    want.trim_start_matches('!').to_string(),
                )),
            }
        }
        // Any other tag (custom `!Ref`, `!!python/...`): go-yaml keeps the text as a string.
        _ => Ok(Value::Str(text.to_string())),
    }
}

/// YAML 1.1 booleans that go-yaml v3 reads as strings but still quotes on output.
pub(crate) fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
    )
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        match i - start {
            1 => {}
            2 if b[start] <= b'5' => {}
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// Resolution of a plain (untagged, unquoted) scalar. `want_time` is set for `!!timestamp`.
pub(crate) fn resolve_plain(text: &str, want_time: bool) -> Result<Value, ResolveError> {
    Ok(resolve_plain_typed(text, want_time)?.unwrap_or_else(|| Value::Str(text.to_string())))
}

/// [`resolve_plain`] without building the string: `Ok(None)` means the text stays a string.
pub(crate) fn resolve_plain_typed(
    text: &str,
    want_time: bool,
) -> Result<Option<Value>, ResolveError> {
    Ok(Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        "<<" => return Ok(None),
        _ => return resolve_unreserved(text, want_time),
    }))
}

fn resolve_unreserved(text: &str, want_time: bool) -> Result<Option<Value>, ResolveError> {
    let first = text.as_bytes()[0];
    match first {
        b'.' => {
            if let Some(f) = go_float(text) {
                return Ok(Some(Value::Float(f)));
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if let Some(t) = parse_timestamp(text) {
                return Ok(Some(Value::Time(t)));
            }
            let plain: String = text.chars().filter(|&c| c != '_').collect();
            match go_parse_int(&plain) {
                IntParse::Int(i) => return Ok(Some(Value::Int(i))),
                IntParse::Uint => return Err(ResolveError::Uint64),
                IntParse::No => {}
            }
            if yaml_style_float(&plain)
                && let Some(f) = go_float(&plain)
            {
                return Ok(Some(Value::Float(f)));
            }
        }
        _ => {}
    }
    if want_time && let Some(t) = parse_timestamp(text) {
        return Ok(Some(Value::Time(t)));
    }
    Ok(None)
}

/// Go `strconv.ParseFloat` for the decimal forms that reach it here; `None` on syntax error
/// or overflow (Go returns an error with ±Inf, and go-yaml then keeps the string).
fn go_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut nd = i - digits_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let fs = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        nd += i - fs;
    }
    if nd == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let es = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == es {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() { None } else { Some(f) }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s0 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s0 {
            return false;
        }
    } else {
        let s0 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s0 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s0 {
            return false;
        }
    }
    i == b.len()
}

enum IntParse {
    Int(i64),
    Uint,
    No,
}

/// Go `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> IntParse {
    let (neg, signed, body) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return IntParse::No;
    }
    let Ok(mag) = u128::from_str_radix(digits, radix) else {
        return IntParse::No;
    };
    if neg {
        if mag <= i64::MAX as u128 + 1 {
            return IntParse::Int((-(mag as i128)) as i64);
        }
        return IntParse::No;
    }
    if mag <= i64::MAX as u128 {
        return IntParse::Int(mag as i64);
    }
    // ParseUint rejects a sign.
    if !signed && mag <= u64::MAX as u128 {
        return IntParse::Uint;
    }
    IntParse::No
}

/// go-yaml's `parseTimestamp`: Go `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (also `t`), `2006-1-2 15:4:5.999999999` and `2006-1-2`.
pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let year: i32 = s[..4].parse().ok()?;
    let mut i = 5;
    // getnum(value, false): one or two digits.
    let getnum = |i: &mut usize| -> Option<u32> {
        if *i >= b.len() || !b[*i].is_ascii_digit() {
            return None;
        }
        let mut v = u32::from(b[*i] - b'0');
        *i += 1;
        if *i < b.len() && b[*i].is_ascii_digit() {
            v = v * 10 + u32::from(b[*i] - b'0');
            *i += 1;
        }
        Some(v)
    };
    let month = getnum(&mut i)?;
    if i >= b.len() || b[i] != b'-' {
        return None;
    }
    i += 1;
    let day = getnum(&mut i)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ts = Timestamp {
        year,
        month: month as u8,
        day: day as u8,
        hour: 0,
        minute: 0,
        second: 0,
        nanosecond: 0,
        offset_seconds: 0,
    };
    if i == b.len() {
        return Some(ts);
    }
    let zoned = match b[i] {
        b'T' | b't' => {
            i += 1;
            true
        }
        b' ' => {
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            false
        }
        _ => return None,
    };
    let hour = getnum(&mut i)?;
    if i >= b.len() || b[i] != b':' {
        return None;
    }
    i += 1;
    let minute = getnum(&mut i)?;
    if i >= b.len() || b[i] != b':' {
        return None;
    }
    i += 1;
    let second = getnum(&mut i)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    ts.hour = hour as u8;
    ts.minute = minute as u8;
    ts.second = second as u8;
    if i + 1 < b.len() && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i.min(start + 9)];
        ts.nanosecond = format!("{frac:0<9}").parse().ok()?;
    }
    if zoned {
        if i >= b.len() {
            return None;
        }
        if b[i] == b'Z' {
            i += 1;
        } else {
            if b.len() - i < 6 || !(b[i] == b'+' || b[i] == b'-') || b[i + 3] != b':' {
                return None;
            }
            let hh = &s[i + 1..i + 3];
            let mm = &s[i + 4..i + 6];
            if !hh.bytes().chain(mm.bytes()).all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (hh, mm): (i32, i32) = (hh.parse().ok()?, mm.parse().ok()?);
            if hh > 24 || mm > 60 {
                return None;
            }
            let off = hh * 3600 + mm * 60;
            ts.offset_seconds = if b[i] == b'-' { -off } else { off };
            i += 6;
        }
    }
    (i == b.len()).then_some(ts)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Value {
        resolve_plain(s, false).unwrap()
    }

    fn ts(s: &str) -> String {
        match r(s) {
            Value::Time(t) => t.to_string(),
            other => panic!("{s} resolved to {other:?}"),
        }
    }

    /// The scalar table of spec 9.2 (go-yaml v3 `resolve.go`).
    #[test]
    fn scalar_typing_table() {
        for s in ["true", "True", "TRUE"] {
            assert_eq!(r(s), Value::Bool(true), "{s}");
        }
        for s in ["false", "False", "FALSE"] {
            assert_eq!(r(s), Value::Bool(false), "{s}");
        }
        for s in [
            "yes", "no", "on", "off", "y", "n", "Yes", "ON", "tRUE", "nul", "NuLL",
        ] {
            assert_eq!(r(s), Value::Str(s.into()), "{s}");
        }
        for s in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(r(s), Value::Null, "{s}");
        }
        assert_eq!(r("42"), Value::Int(42));
        assert_eq!(r("-7"), Value::Int(-7));
        assert_eq!(r("+5"), Value::Int(5));
        assert_eq!(r("0x1F"), Value::Int(31));
        assert_eq!(r("-0x1F"), Value::Int(-31));
        assert_eq!(r("017"), Value::Int(15));
        assert_eq!(r("0o17"), Value::Int(15));
        assert_eq!(r("0b101"), Value::Int(5));
        assert_eq!(r("1_000"), Value::Int(1000));
        assert_eq!(r("0"), Value::Int(0));
        assert_eq!(r("-0"), Value::Int(0));
        assert_eq!(r("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(r("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(
            resolve_plain("9223372036854775808", false),
            Err(ResolveError::Uint64)
        );
        assert_eq!(
            resolve_plain("18446744073709551615", false),
            Err(ResolveError::Uint64)
        );
        // Beyond uint64 (and a negative beyond int64): the float pattern matches.
        assert_eq!(
            r("18446744073709551616"),
            Value::Float(18446744073709551616.0)
        );
        assert_eq!(
            r("-9223372036854775809"),
            Value::Float(-9223372036854775809.0)
        );
        assert_eq!(r("08"), Value::Float(8.0));
        assert_eq!(r("1e3"), Value::Float(1000.0));
        assert_eq!(r("1.5e-7"), Value::Float(1.5e-7));
        assert_eq!(r("3.25"), Value::Float(3.25));
        assert_eq!(r("1.0"), Value::Float(1.0));
        assert_eq!(r(".5"), Value::Float(0.5));
        assert_eq!(r("+.5"), Value::Float(0.5));
        assert_eq!(r("1."), Value::Float(1.0));
        assert_eq!(r("1_000.5"), Value::Float(1000.5));
        assert_eq!(r("1e400"), Value::Str("1e400".into()));
        assert_eq!(r(".inf"), Value::Float(f64::INFINITY));
        assert_eq!(r("+.Inf"), Value::Float(f64::INFINITY));
        assert_eq!(r("-.INF"), Value::Float(f64::NEG_INFINITY));
        assert!(matches!(r(".nan"), Value::Float(f) if f.is_nan()));
        for s in [
            "0x", "1e", "1.2.3", "12:30:00", "1:2", "0xG", "--1", "+", "-", ".", "abc", "1 2",
            ".e3", "0b2", "inf", "nan", "Infinity",
        ] {
            assert_eq!(r(s), Value::Str(s.into()), "{s}");
        }
        assert_eq!(ts("2024-01-02"), "2024-01-02T00:00:00Z");
        assert_eq!(ts("2024-1-2"), "2024-01-02T00:00:00Z");
        assert_eq!(ts("2024-01-02T03:04:05Z"), "2024-01-02T03:04:05Z");
        assert_eq!(
            ts("2024-01-02t03:04:05.5+02:00"),
            "2024-01-02T03:04:05.5+02:00"
        );
        assert_eq!(ts("2024-01-02 10:20:30.5"), "2024-01-02T10:20:30.5Z");
        assert_eq!(ts("2024-01-02  1:2:3"), "2024-01-02T01:02:03Z");
        assert_eq!(
            ts("2001-12-14T21:59:43.10-05:00"),
            "2001-12-14T21:59:43.1-05:00"
        );
        for s in [
            "2024-13-01",
            "2024-02-30",
            "2024-01-02T03:04:05",
            "2024-01-02 03:04:05Z",
            "2024-01-02T25:00:00Z",
            "24-01-02",
            "2024-01-02x",
            "2001-12-14 21:59:43.10 -5",
        ] {
            assert!(!matches!(r(s), Value::Time(_)), "{s}");
        }
        assert!(matches!(r("2024-02-29"), Value::Time(_)));
        assert!(!matches!(r("2023-02-29"), Value::Time(_)));
        assert_eq!(r("<<"), Value::Str("<<".into()));
    }

    #[test]
    fn tags_and_styles() {
        let q = |s, st, t| resolve_scalar(s, st, t);
        assert_eq!(
            q("123", Style::DoubleQuoted, None),
            Ok(Value::Str("123".into()))
        );
        assert_eq!(q("123", Style::Literal, None), Ok(Value::Str("123".into())));
        assert_eq!(
            q("true", Style::Plain, Some("!!str")),
            Ok(Value::Str("true".into()))
        );
        assert_eq!(
            q("aGVsbG8=", Style::Plain, Some("!!binary")),
            Ok(Value::Str("hello".into()))
        );
        assert_eq!(
            q("/w==", Style::Plain, Some("!!binary")),
            Ok(Value::Bytes(vec![0xff]))
        );
        assert_eq!(
            q("%%%", Style::Plain, Some("!!binary")),
            Err(ResolveError::BadBinary)
        );
        assert_eq!(
            q("5", Style::Plain, Some("!custom")),
            Ok(Value::Str("5".into()))
        );
        assert_eq!(q("5", Style::Plain, Some("!!float")), Ok(Value::Float(5.0)));
        assert_eq!(
            q("5", Style::DoubleQuoted, Some("!!int")),
            Ok(Value::Int(5))
        );
        assert!(matches!(
            q("x", Style::Plain, Some("!!int")),
            Err(ResolveError::TagMismatch(..))
        ));
        assert!(matches!(
            q("x", Style::Plain, Some("!!null")),
            Err(ResolveError::TagMismatch(..))
        ));
        assert!(matches!(
            q(
                "2024-01-02T03:04:05Z",
                Style::DoubleQuoted,
                Some("!!timestamp")
            ),
            Ok(Value::Time(_))
        ));
        assert!(matches!(
            q(
                "2024-01-02T03:04:05Z",
                Style::Plain,
                Some("tag:yaml.org,2002:timestamp")
            ),
            Ok(Value::Time(_))
        ));
    }

    #[test]
    fn emitter_predicates() {
        for s in ["12:30:00", "1:2", "-1:20", "190:20:30.15"] {
            assert!(is_base60_float(s), "{s}");
        }
        for s in ["12:60", "1", "a:1", "1:", "1:2:"] {
            assert!(!is_base60_float(s), "{s}");
        }
        assert!(is_old_bool("yes") && is_old_bool("OFF") && !is_old_bool("yEs"));
    }
}
