//! Text-protocol column values → model [`Value`]s, exactly.
//!
//! The text protocol prints every value as the server formats it, so decimals,
//! unsigned 64-bit integers, zero dates, negative and >24 h TIME values arrive
//! unchanged. Two exceptions are handled where the SELECT list is built
//! ([`super::sql::select_expr`]): FLOAT is printed with 6 significant digits, so it
//! is selected as `col + 0e0` (a DOUBLE holding the exact float value); BIT arrives as
//! raw big-endian bytes, which is exact already.

use obsync_model::{Column, ColumnType, Date, DateTime, Time, Timestamp, Value};

/// A column text that does not parse as its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column} ({column_type}): cannot read {text:?}: {reason}")]
pub struct DecodeError {
    pub column: String,
    pub column_type: String,
    /// The offending text, cut to 64 characters.
    pub text: String,
    pub reason: &'static str,
}

/// Decodes one text-protocol value of `column`; `None` is SQL NULL.
pub fn decode_text(column: &Column, raw: Option<Vec<u8>>) -> Result<Value, DecodeError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    use ColumnType::*;
    match column.kind {
        k if k.is_binary() => Ok(Value::Bytes(raw)),
        Char | VarChar | TinyText | Text | MediumText | LongText | Enum | Set | Json => {
            String::from_utf8(raw)
                .map(Value::Text)
                .map_err(|e| error(column, e.as_bytes(), "not valid UTF-8"))
        }
        Bit => {
            if raw.len() > 8 {
                return Err(error(column, &raw, "BIT wider than 64 bits"));
            }
            Ok(Value::Bit(
                raw.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
            ))
        }
        _ => {
            let text = std::str::from_utf8(&raw).map_err(|_| error(column, &raw, "not ASCII"))?;
            decode_scalar(column, text).ok_or_else(|| error(column, &raw, expected(column.kind)))
        }
    }
}

fn decode_scalar(column: &Column, text: &str) -> Option<Value> {
    use ColumnType::*;
    Some(match column.kind {
        TinyInt | SmallInt | MediumInt | Int | BigInt if column.unsigned => {
            Value::UInt(text.parse().ok()?)
        }
        TinyInt | SmallInt | MediumInt | Int | BigInt => Value::Int(text.parse().ok()?),
        Decimal => Value::Decimal(exact_decimal(text)?.to_string()),
        // FLOAT is selected as a DOUBLE (see module doc); the cast back is exact.
        Float => Value::Float(text.parse::<f64>().ok()? as f32),
        Double => Value::Double(text.parse().ok()?),
        Year => Value::Year(text.parse().ok()?),
        Date => Value::Date(parse_date(text)?),
        DateTime => Value::DateTime(parse_datetime(text)?),
        Timestamp => Value::Timestamp(timestamp_from_utc_text(text)?),
        Time => Value::Time(parse_time(text)?),
        _ => return None,
    })
}

fn expected(kind: ColumnType) -> &'static str {
    use ColumnType::*;
    match kind {
        TinyInt | SmallInt | MediumInt | Int | BigInt | Year => "expected an integer",
        Decimal => "expected a decimal number",
        Float | Double => "expected a floating-point number",
        Date => "expected YYYY-MM-DD",
        DateTime | Timestamp => "expected YYYY-MM-DD HH:MM:SS[.ffffff]",
        Time => "expected [-]HHH:MM:SS[.ffffff]",
        _ => "unexpected value",
    }
}

fn error(column: &Column, raw: &[u8], reason: &'static str) -> DecodeError {
    DecodeError {
        column: column.name.clone(),
        column_type: column.column_type.clone(),
        text: String::from_utf8_lossy(raw).chars().take(64).collect(),
        reason,
    }
}

/// The text if it is a plain decimal literal (`-12.50`), which is what servers print.
fn exact_decimal(text: &str) -> Option<&str> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(text)
}

/// `YYYY-MM-DD`, zero parts allowed (`0000-00-00`).
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '-');
    let year = digits_u32(parts.next()?, 4)?;
    let month = digits_u32(parts.next()?, 2)?;
    let day = digits_u32(parts.next()?, 2)?;
    Some(Date {
        year: year as u16,
        month: u8::try_from(month).ok().filter(|m| *m <= 12)?,
        day: u8::try_from(day).ok().filter(|d| *d <= 31)?,
    })
}

/// `YYYY-MM-DD HH:MM:SS[.f…]`.
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime> {
    let (date, time) = text.split_once(' ')?;
    let date = parse_date(date)?;
    let (clock, micros) = split_fraction(time)?;
    let mut parts = clock.splitn(3, ':');
    let hour = digits_u32(parts.next()?, 2)?;
    let minute = digits_u32(parts.next()?, 2)?;
    let second = digits_u32(parts.next()?, 2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(DateTime {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        micros,
    })
}

/// TIMESTAMP text in the session zone, which is UTC for every obsync session. The zero
/// TIMESTAMP `0000-00-00 00:00:00` is epoch 0, as in the binlog.
pub(crate) fn timestamp_from_utc_text(text: &str) -> Option<Timestamp> {
    let dt = parse_datetime(text)?;
    if dt.date.year == 0 && dt.date.month == 0 && dt.date.day == 0 {
        return Some(Timestamp {
            secs: 0,
            micros: dt.micros,
        });
    }
    Some(Timestamp::from_utc_datetime(&dt))
}

/// `[-]H…H:MM:SS[.f…]`; hours may exceed 24 (up to 838).
pub(crate) fn parse_time(text: &str) -> Option<Time> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (clock, micros) = split_fraction(rest)?;
    let mut parts = clock.splitn(3, ':');
    let hours = digits_u32(parts.next()?, 3)?;
    let minutes = digits_u32(parts.next()?, 2)?;
    let seconds = digits_u32(parts.next()?, 2)?;
    if minutes > 59 || seconds > 59 {
        return None;
    }
    Some(Time {
        negative,
        hours,
        minutes: minutes as u8,
        seconds: seconds as u8,
        micros,
    })
}

/// Splits `HH:MM:SS.ffffff` into the clock and the microseconds (fractions shorter
/// than 6 digits are scaled: `.5` is 500000 µs).
fn split_fraction(text: &str) -> Option<(&str, u32)> {
    match text.split_once('.') {
        None => Some((text, 0)),
        Some((clock, frac)) => {
            if frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let value: u32 = frac.parse().ok()?;
            Some((clock, value * 10u32.pow(6 - frac.len() as u32)))
        }
    }
}

/// ASCII digits, at least 1 and at most `max_len` of them.
fn digits_u32(s: &str, max_len: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: ColumnType, unsigned: bool) -> Column {
        Column {
            unsigned,
            ..Column::new("c", kind)
        }
    }

    fn dec(kind: ColumnType, text: &str) -> Value {
        decode_text(&col(kind, false), Some(text.as_bytes().to_vec())).unwrap()
    }

    #[test]
    fn integers_keep_their_full_range() {
        assert_eq!(
            decode_text(
                &col(ColumnType::BigInt, true),
                Some(b"18446744073709551615".to_vec())
            ),
            Ok(Value::UInt(u64::MAX))
        );
        assert_eq!(
            dec(ColumnType::BigInt, "-9223372036854775808"),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            dec(ColumnType::MediumInt, "-8388608"),
            Value::Int(-8_388_608)
        );
    }

    #[test]
    fn decimal_stays_exact_text() {
        let text = "-99999999999999999999999999999999999.999999999999999999999999999999";
        assert_eq!(dec(ColumnType::Decimal, text), Value::Decimal(text.into()));
        assert!(decode_text(&col(ColumnType::Decimal, false), Some(b"1e5".to_vec())).is_err());
    }

    #[test]
    fn float_read_as_double_is_the_exact_float() {
        assert_eq!(
            dec(ColumnType::Float, "16777216"),
            Value::Float(16_777_216.0)
        );
        assert_eq!(
            dec(ColumnType::Float, "0.10000000149011612"),
            Value::Float(0.1f32)
        );
    }

    #[test]
    fn bit_bytes_are_big_endian() {
        assert_eq!(
            decode_text(&col(ColumnType::Bit, true), Some(vec![0xff; 8])),
            Ok(Value::Bit(u64::MAX))
        );
        assert_eq!(
            decode_text(&col(ColumnType::Bit, true), Some(vec![0x01, 0x00])),
            Ok(Value::Bit(256))
        );
    }

    #[test]
    fn temporal_edges_parse() {
        assert_eq!(
            dec(ColumnType::Date, "0000-00-00"),
            Value::Date(Date {
                year: 0,
                month: 0,
                day: 0
            })
        );
        let Value::DateTime(dt) = dec(ColumnType::DateTime, "9999-12-31 23:59:59.999999") else {
            panic!()
        };
        assert_eq!(dt.render(6), "9999-12-31 23:59:59.999999");
        assert_eq!(
            dec(ColumnType::Timestamp, "2038-01-19 03:14:07.999999"),
            Value::Timestamp(Timestamp {
                secs: 2_147_483_647,
                micros: 999_999
            })
        );
        assert_eq!(
            dec(ColumnType::Timestamp, "0000-00-00 00:00:00"),
            Value::Timestamp(Timestamp { secs: 0, micros: 0 })
        );
        assert_eq!(
            dec(ColumnType::Timestamp, "1969-12-31 23:59:59.5"),
            Value::Timestamp(Timestamp {
                secs: -1,
                micros: 500_000
            })
        );
        let Value::Time(t) = dec(ColumnType::Time, "-838:59:59.000000") else {
            panic!()
        };
        assert_eq!(t.render(6), "-838:59:59.000000");
        assert!(t.negative);
        assert_eq!(dec(ColumnType::Year, "0000"), Value::Year(0));
    }

    #[test]
    fn malformed_text_names_the_column() {
        let err =
            decode_text(&col(ColumnType::Date, false), Some(b"2023-13-01".to_vec())).unwrap_err();
        assert_eq!(err.column, "c");
        assert!(err.to_string().contains("expected YYYY-MM-DD"), "{err}");
    }

    #[test]
    fn binary_bytes_are_kept_raw() {
        assert_eq!(
            decode_text(&col(ColumnType::Binary, false), Some(vec![0, 1, 0, 0])),
            Ok(Value::Bytes(vec![0, 1, 0, 0]))
        );
        assert_eq!(
            decode_text(&col(ColumnType::Json, false), None),
            Ok(Value::Null)
        );
    }
}
