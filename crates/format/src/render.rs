//! Column value text, shared by every format: the OMS "text protocol" (Default family,
//! SharePlex, Canal in OMS style, DataWorks STRING columns) and the Canal-style variants.
//!
//! Everything appends to a byte buffer without allocating.

use crate::json;
use base64::Engine as _;
use obsync_model::{Column, Date, DateTime, Row, Time, Timestamp, Value};
use std::io::Write as _;

/// How a BIT value is cut into bytes before Base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitBytes {
    /// ceil(M/8) big-endian bytes (full-sync messages, and `BitWidth::Full`).
    Full,
    /// Leading zero bytes stripped, at least one byte kept (OMS incremental messages).
    Stripped,
}

/// Appends the OMS text of a non-NULL value, unquoted. `escape` makes text values safe
/// inside a JSON string; no other value ever needs escaping. NULL appends nothing.
pub(crate) fn text(out: &mut Vec<u8>, col: &Column, v: &Value, bits: BitBytes, escape: bool) {
    match v {
        Value::Null => {}
        Value::Int(i) => json::int(out, *i),
        Value::UInt(u) => json::uint(out, *u),
        Value::Decimal(d) => out.extend_from_slice(d.as_bytes()),
        Value::Float(f) => float(out, *f as f64, *f),
        Value::Double(f) => float(out, *f, *f),
        Value::Bit(b) => base64(out, bit_bytes(*b, col.length, bits)),
        Value::Date(d) => date(out, d),
        Value::DateTime(dt) => datetime(out, dt, fsp(col)),
        Value::Timestamp(ts) => epoch(out, ts, fsp(col)),
        Value::Time(t) => time(out, t, fsp(col)),
        Value::Year(y) => pad4(out, *y as u32),
        Value::Text(s) if escape => json::escaped(out, s),
        Value::Text(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => base64(out, b),
    }
}

/// Appends the value as a JSON string of its OMS text, or `null`.
pub(crate) fn json_text(out: &mut Vec<u8>, col: &Column, v: &Value, bits: BitBytes) {
    if v.is_null() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'"');
        text(out, col, v, bits, true);
        out.push(b'"');
    }
}

/// Shortest round-trip text: plain for 1e-7 <= |v| < 1e21 (and 0), else MySQL-style
/// exponent form (`1.7976931348623157e308`), so huge values stay short. `v` decides the
/// notation, `shown` (the f32 itself for FLOAT) is printed, so FLOAT keeps f32 digits.
pub(crate) fn float<T: std::fmt::Display + std::fmt::LowerExp>(
    out: &mut Vec<u8>,
    v: f64,
    shown: T,
) {
    let a = v.abs();
    let _ = if a == 0.0 || (1e-7..1e21).contains(&a) || !a.is_finite() {
        write!(out, "{shown}")
    } else {
        write!(out, "{shown:e}")
    };
}

pub(crate) fn fsp(col: &Column) -> u8 {
    col.fsp.unwrap_or(0).min(6)
}

/// The big-endian bytes of a BIT(M) value; `width_bits` is M (64 when unknown).
pub(crate) fn bit_bytes(v: u64, width_bits: Option<u64>, mode: BitBytes) -> BitSlice {
    let all = v.to_be_bytes();
    let full = width_bits.unwrap_or(64).div_ceil(8).clamp(1, 8) as usize;
    let start = match mode {
        BitBytes::Full => 8 - full,
        BitBytes::Stripped => (v.leading_zeros() as usize / 8).min(7),
    };
    BitSlice { all, start }
}

/// A BIT value's bytes on the stack.
pub(crate) struct BitSlice {
    all: [u8; 8],
    start: usize,
}

impl AsRef<[u8]> for BitSlice {
    fn as_ref(&self) -> &[u8] {
        &self.all[self.start..]
    }
}

/// Standard Base64 with padding, written in place.
pub(crate) fn base64(out: &mut Vec<u8>, bytes: impl AsRef<[u8]>) {
    let bytes = bytes.as_ref();
    let start = out.len();
    let len = bytes.len().div_ceil(3) * 4;
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
}

fn pad2(out: &mut Vec<u8>, v: u32) {
    if v < 100 {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    } else {
        json::uint(out, v as u64);
    }
}

fn pad4(out: &mut Vec<u8>, v: u32) {
    if v < 10_000 {
        for d in [1000, 100, 10, 1] {
            out.push(b'0' + (v / d % 10) as u8);
        }
    } else {
        json::uint(out, v as u64);
    }
}

/// `.ffffff` cut to `fsp` digits; nothing when `fsp` is 0.
pub(crate) fn fraction(out: &mut Vec<u8>, micros: u32, fsp: u8) {
    if fsp == 0 {
        return;
    }
    out.push(b'.');
    let mut div = 100_000;
    for _ in 0..fsp {
        out.push(b'0' + (micros / div % 10) as u8);
        div /= 10;
    }
}

pub(crate) fn date(out: &mut Vec<u8>, d: &Date) {
    pad4(out, d.year as u32);
    out.push(b'-');
    pad2(out, d.month as u32);
    out.push(b'-');
    pad2(out, d.day as u32);
}

/// `YYYY-MM-DD HH:MM:SS[.f]` with exactly `fsp` fractional digits.
pub(crate) fn datetime(out: &mut Vec<u8>, dt: &DateTime, fsp: u8) {
    date(out, &dt.date);
    out.push(b' ');
    pad2(out, dt.hour as u32);
    out.push(b':');
    pad2(out, dt.minute as u32);
    out.push(b':');
    pad2(out, dt.second as u32);
    fraction(out, dt.micros, fsp);
}

/// `[-]HH:MM:SS[.f]`; hours may exceed 24.
pub(crate) fn time(out: &mut Vec<u8>, t: &Time, fsp: u8) {
    if t.negative {
        out.push(b'-');
    }
    pad2(out, t.hours);
    out.push(b':');
    pad2(out, t.minutes as u32);
    out.push(b':');
    pad2(out, t.seconds as u32);
    fraction(out, t.micros, fsp);
}

/// Epoch seconds with `fsp` fractional digits; the zero TIMESTAMP is `0`.
pub(crate) fn epoch(out: &mut Vec<u8>, ts: &Timestamp, fsp: u8) {
    if is_zero_timestamp(ts) {
        out.push(b'0');
        return;
    }
    json::int(out, ts.secs);
    fraction(out, ts.micros, fsp);
}

pub(crate) fn is_zero_timestamp(ts: &Timestamp) -> bool {
    ts.secs == 0 && ts.micros == 0
}

/// The wall clock of an instant at a fixed UTC offset.
pub(crate) fn wall_clock(ts: &Timestamp, offset_secs: i32) -> DateTime {
    Timestamp {
        secs: ts.secs + offset_secs as i64,
        micros: ts.micros,
    }
    .to_utc_datetime()
}

/// True when the date is a real calendar day (not a zero or invalid MySQL date): it
/// survives a round trip through epoch days unchanged.
pub(crate) fn is_calendar_date(d: &Date) -> bool {
    if !(1..=12).contains(&d.month) || d.day == 0 {
        return false;
    }
    let midnight = DateTime {
        date: *d,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    };
    Timestamp::from_utc_datetime(&midnight)
        .to_utc_datetime()
        .date
        == *d
}

/// Formats a float the way Java's `Double.toString`/`Float.toString` do (JDK 19+, which
/// print the shortest round-trip digits): plain notation with at least one fractional
/// digit for 1e-3 <= |v| < 1e7, otherwise `d.dddE±n`.
pub(crate) fn java_float(out: &mut Vec<u8>, v: f64, is_f32: bool) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    // Shortest round-trip digits from Rust's `{:e}`, e.g. `-1.2345e6`.
    let mut buf = [0u8; 40];
    let len = {
        let mut w = &mut buf[..];
        let _ = if is_f32 {
            write!(w, "{:e}", v as f32)
        } else {
            write!(w, "{v:e}")
        };
        40 - w.len()
    };
    let s = std::str::from_utf8(&buf[..len]).unwrap_or("0e0");
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(|b| *b != b'.').collect();
    if negative {
        out.push(b'-');
    }
    if v == 0.0 {
        out.extend_from_slice(b"0.0");
    } else if (-3..7).contains(&exp) {
        if exp < 0 {
            out.extend_from_slice(b"0.");
            for _ in 0..(-exp - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(&digits);
        } else {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                out.push(*digits.get(i).unwrap_or(&b'0'));
            }
            out.push(b'.');
            if digits.len() > int_len {
                out.extend_from_slice(&digits[int_len..]);
            } else {
                out.push(b'0');
            }
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        json::int(out, exp as i64);
    }
}

/// Whether two values of one column render to the same text: equal, and
/// for floats equal bit for bit (`0.0 == -0.0`, but they are written apart). An UPDATE's
/// after image copies its before image's text of such values instead of rendering them
/// again.
pub(crate) fn renders_alike(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Where an image's value texts lie in the output, so that an UPDATE's after image can
/// copy the text of each value its before image already rendered.
pub(crate) enum Spans<'a> {
    None,
    /// Recording the before image: each value's byte range, in column order.
    Record(&'a mut Vec<std::ops::Range<usize>>),
    /// Writing the after image: the before row and its recorded ranges.
    Reuse(&'a Row, &'a [std::ops::Range<usize>]),
}

impl Spans<'_> {
    /// Copies the before image's text of column `i` when `v` renders alike; `false` when
    /// `v` must be rendered.
    pub(crate) fn reuse(&self, out: &mut Vec<u8>, i: usize, v: &Value) -> bool {
        let Spans::Reuse(before, at) = self else {
            return false;
        };
        match (before.get(i), at.get(i)) {
            (Some(b), Some(range)) if renders_alike(b, v) => {
                out.extend_from_within(range.clone());
                true
            }
            _ => false,
        }
    }

    /// Notes that the value of the next column was written from `start` to the end.
    pub(crate) fn record(&mut self, out: &[u8], start: usize) {
        if let Spans::Record(at) = self {
            at.push(start..out.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java(v: f64, is_f32: bool) -> String {
        let mut out = Vec::new();
        java_float(&mut out, v, is_f32);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn java_float_text_matches_double_to_string() {
        assert_eq!(java(1.0, false), "1.0");
        assert_eq!(java(-1.5, false), "-1.5");
        assert_eq!(java(0.001, false), "0.001");
        assert_eq!(java(0.0001, false), "1.0E-4");
        assert_eq!(java(1234567.0, false), "1234567.0");
        assert_eq!(java(12345678.0, false), "1.2345678E7");
        assert_eq!(java(1e20, false), "1.0E20");
        assert_eq!(java(f64::MAX, false), "1.7976931348623157E308");
        assert_eq!(java(0.1f32 as f64, true), "0.1");
        assert_eq!(java(3.4028235e38f32 as f64, true), "3.4028235E38");
        assert_eq!(java(-0.0, false), "-0.0");
    }

    #[test]
    fn calendar_dates_exclude_zero_and_invalid_days() {
        let d = |year, month, day| Date { year, month, day };
        assert!(is_calendar_date(&d(2024, 2, 29)));
        assert!(is_calendar_date(&d(1000, 1, 1)));
        assert!(!is_calendar_date(&d(2023, 2, 29)));
        assert!(!is_calendar_date(&d(0, 0, 0)));
        assert!(!is_calendar_date(&d(2024, 4, 31)));
        assert!(!is_calendar_date(&d(2024, 13, 1)));
    }

    #[test]
    fn bit_bytes_full_and_stripped() {
        assert_eq!(bit_bytes(5, Some(16), BitBytes::Full).as_ref(), &[0, 5]);
        assert_eq!(bit_bytes(5, Some(16), BitBytes::Stripped).as_ref(), &[5]);
        assert_eq!(bit_bytes(0, Some(16), BitBytes::Stripped).as_ref(), &[0]);
        assert_eq!(
            bit_bytes(u64::MAX, Some(64), BitBytes::Stripped).as_ref(),
            &[0xff; 8]
        );
    }
}
