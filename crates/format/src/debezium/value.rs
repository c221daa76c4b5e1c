//! Column values as Debezium carries them, per the schema of [`super::schema`]: one
//! [`ConnectValue`] per column, independent of the wire format (JSON here, Avro
//! elsewhere), plus its JSON text.

use super::schema::{fsp, ColumnSchema, ConnectType, DecimalHandling, Logical};
use crate::json;
use crate::render;
use obsync_model::{Date, DateTime, Time, Timestamp, Value};

/// A column value in Connect terms. Borrowed text and bytes point into the source value
/// or into the caller's scratch buffer (decimals, bits, zoned timestamps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConnectValue<'a> {
    Null,
    Boolean(bool),
    /// Every integer type (`int16`/`int32`/`int64` and the integer logical types).
    Int(i64),
    Float32(f32),
    Float64(f64),
    String(&'a str),
    /// An instant's ISO-8601 text (`io.debezium.time.ZonedTimestamp`): digits and `-:.TZ`
    /// only, so it is written without the escaping scan a `String` gets.
    Instant(&'a str),
    Bytes(&'a [u8]),
    /// `io.debezium.data.geometry.Geometry`: the WKB without MySQL's SRID prefix, and
    /// the SRID (`None` for 0, as Debezium writes it).
    Geometry {
        wkb: &'a [u8],
        srid: Option<i32>,
    },
}

/// Days from 1970-01-01 of a real calendar date; `None` for a zero or invalid date.
pub fn epoch_days(d: &Date) -> Option<i64> {
    let leap =
        d.year.is_multiple_of(4) && (!d.year.is_multiple_of(100) || d.year.is_multiple_of(400));
    let days_in_month = match d.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d.day == 0 || d.day > days_in_month {
        return None;
    }
    let midnight = DateTime {
        date: *d,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
    };
    Some(
        Timestamp::from_utc_datetime(&midnight)
            .secs
            .div_euclid(86_400),
    )
}

/// Microseconds since the epoch of a DATETIME's wall clock read as UTC; `None` for a
/// zero or invalid date.
pub fn epoch_micros(dt: &DateTime) -> Option<i64> {
    let days = epoch_days(&dt.date)?;
    let secs = days * 86_400 + dt.hour as i64 * 3600 + dt.minute as i64 * 60 + dt.second as i64;
    Some(secs * 1_000_000 + dt.micros as i64)
}

/// A TIME as signed microseconds.
pub fn time_micros(t: &Time) -> i64 {
    let v = ((t.hours as i64 * 60 + t.minutes as i64) * 60 + t.seconds as i64) * 1_000_000
        + t.micros as i64;
    if t.negative {
        -v
    } else {
        v
    }
}

/// Writes the unscaled value of decimal text (`-12.5`) at `scale` as Java's
/// `BigInteger.toByteArray` does: minimal two's-complement, big-endian, at least one
/// byte. Hand-written because no dependency of this crate has big integers and the
/// arithmetic is one multiply-add per digit. `None` when the text is not a decimal.
pub fn decimal_bytes(text: &str, scale: u32, out: &mut Vec<u8>) -> Option<()> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let start = out.len();
    // Magnitude, little-endian base 256, grown as digits are multiplied in; on the stack
    // (65 digits, MySQL's most, need 28 bytes). Longer text is not a MySQL decimal.
    let mut mag = [0u8; 32];
    let mut len = 0usize;
    let mut overflow = false;
    let mut push_digit = |d: u8| {
        let mut carry = d as u32;
        for b in mag[..len].iter_mut() {
            let v = *b as u32 * 10 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            if len == mag.len() {
                overflow = true;
                return;
            }
            mag[len] = carry as u8;
            len += 1;
            carry >>= 8;
        }
    };
    let frac_digits = frac.len() as u32;
    for c in int.bytes().chain(frac.bytes().take(scale as usize)) {
        if !c.is_ascii_digit() {
            return None;
        }
        push_digit(c - b'0');
    }
    for _ in frac_digits..scale {
        push_digit(0);
    }
    if overflow {
        return None;
    }
    let mag = &mag[..len];
    // Big-endian with a sign byte, then two's complement for negatives.
    out.push(0);
    out.extend(mag.iter().rev());
    let is_zero = mag.iter().all(|b| *b == 0);
    if negative && !is_zero {
        let mut carry = 1u16;
        for b in out[start..].iter_mut().rev() {
            let v = (!*b) as u16 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
    }
    // Strip redundant sign bytes.
    let sign = if negative && !is_zero { 0xff } else { 0x00 };
    let mut first = start;
    while first + 1 < out.len() && out[first] == sign && (out[first + 1] & 0x80) == (sign & 0x80) {
        first += 1;
    }
    out.drain(start..first);
    Some(())
}

/// Appends `2024-05-01T02:00:00.123Z`: the instant in UTC with exactly `fsp` fractional
/// digits (Debezium pads binlog values to the column's precision; its snapshot trims
/// them: either parses to the same instant).
pub fn zoned_timestamp(out: &mut Vec<u8>, ts: &Timestamp, fsp: u8) {
    let dt = ts.to_utc_datetime();
    render::datetime(out, &dt, fsp);
    // `YYYY-MM-DD HH:MM:SS[.f]` → ISO-8601's `T` (years past 9999 do not occur).
    let t = out.len() - 9 - if fsp > 0 { fsp as usize + 1 } else { 0 };
    out[t] = b'T';
    out.push(b'Z');
}

/// The Connect value of `v` in column `schema`. A zero or invalid date, DATETIME or
/// TIMESTAMP is `Null`, or, in a NOT NULL column with a default, the default's value
/// (as Debezium writes it).
pub fn connect_value<'a>(
    schema: &ColumnSchema<'a>,
    v: &'a Value,
    decimal: DecimalHandling,
    scratch: &'a mut Vec<u8>,
) -> ConnectValue<'a> {
    let col: &'a obsync_model::Column = schema.column;
    let v = match &col.default {
        Some(d) if !col.nullable && is_zero_temporal(v) => &d.0,
        _ => v,
    };
    plain_connect_value(schema, v, decimal, scratch)
}

/// A zero or invalid DATE, DATETIME or TIMESTAMP, which Connect cannot carry.
fn is_zero_temporal(v: &Value) -> bool {
    match v {
        Value::Date(d) => epoch_days(d).is_none(),
        Value::DateTime(dt) => epoch_micros(dt).is_none(),
        Value::Timestamp(ts) => render::is_zero_timestamp(ts),
        _ => false,
    }
}

/// The Connect value of the column's default, for the schema's `default`; `None`
/// without a (representable) default.
pub fn default_value<'a>(
    schema: &ColumnSchema<'a>,
    scratch: &'a mut Vec<u8>,
) -> Option<ConnectValue<'a>> {
    let d = &schema.column.default.as_ref()?.0;
    // The schema says how decimals are carried.
    let decimal = match schema.ty {
        ConnectType::String => DecimalHandling::String,
        ConnectType::Float64 => DecimalHandling::Double,
        _ => DecimalHandling::Precise,
    };
    match plain_connect_value(schema, d, decimal, scratch) {
        ConnectValue::Null => None,
        v => Some(v),
    }
}

fn plain_connect_value<'a>(
    schema: &ColumnSchema<'a>,
    v: &'a Value,
    decimal: DecimalHandling,
    scratch: &'a mut Vec<u8>,
) -> ConnectValue<'a> {
    scratch.clear();
    let col = schema.column;
    match v {
        Value::Null => ConnectValue::Null,
        Value::Int(i) => ConnectValue::Int(*i),
        // BIGINT UNSIGNED above 2^63-1 wraps negative (bigint.unsigned.handling.mode=long).
        Value::UInt(u) => ConnectValue::Int(*u as i64),
        Value::Decimal(d) => match decimal {
            DecimalHandling::String => ConnectValue::String(d),
            DecimalHandling::Double => ConnectValue::Float64(d.parse().unwrap_or(0.0)),
            DecimalHandling::Precise => {
                let scale = match schema.logical {
                    Some(Logical::Decimal { scale, .. }) => scale,
                    _ => col.scale.unwrap_or(0),
                };
                if decimal_bytes(d, scale, scratch).is_none() {
                    return ConnectValue::Null;
                }
                ConnectValue::Bytes(scratch)
            }
        },
        Value::Float(f) if schema.ty == ConnectType::Float64 => {
            // FLOAT(M,D) as a double: the float's shortest decimal digits, not its
            // binary expansion (1.234, not 1.2339999675750732).
            ConnectValue::Float64(f.to_string().parse().unwrap_or(*f as f64))
        }
        Value::Float(f) => ConnectValue::Float32(*f),
        Value::Double(f) => ConnectValue::Float64(*f),
        Value::Bit(b) if schema.ty == ConnectType::Boolean => ConnectValue::Boolean(*b != 0),
        Value::Bit(b) => {
            let n = col.length.unwrap_or(64).div_ceil(8).clamp(1, 8) as usize;
            scratch.extend_from_slice(&b.to_le_bytes()[..n]);
            ConnectValue::Bytes(scratch)
        }
        Value::Date(d) => epoch_days(d).map_or(ConnectValue::Null, ConnectValue::Int),
        Value::DateTime(dt) => match epoch_micros(dt) {
            None => ConnectValue::Null,
            Some(us) if schema.logical == Some(Logical::MicroTimestamp) => ConnectValue::Int(us),
            Some(us) => ConnectValue::Int(us.div_euclid(1000)),
        },
        Value::Timestamp(ts) => {
            if render::is_zero_timestamp(ts) {
                return ConnectValue::Null;
            }
            zoned_timestamp(scratch, ts, fsp(col));
            ConnectValue::Instant(std::str::from_utf8(scratch).unwrap_or_default())
        }
        Value::Time(t) => ConnectValue::Int(time_micros(t)),
        Value::Year(y) => ConnectValue::Int(*y as i64),
        Value::Text(s) => ConnectValue::String(s),
        Value::Bytes(b) if schema.logical == Some(Logical::Geometry) => {
            if b.len() < 4 {
                return ConnectValue::Geometry { wkb: b, srid: None };
            }
            let srid = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            ConnectValue::Geometry {
                wkb: &b[4..],
                srid: (srid != 0).then_some(srid),
            }
        }
        Value::Bytes(b) => ConnectValue::Bytes(b),
    }
}

/// Appends the JSON converter's text of a Connect value.
pub fn write_json(out: &mut Vec<u8>, v: &ConnectValue<'_>) {
    match v {
        ConnectValue::Null => out.extend_from_slice(b"null"),
        ConnectValue::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        ConnectValue::Int(i) => json::int(out, *i),
        ConnectValue::Float32(f) => java_number(out, *f as f64, true),
        ConnectValue::Float64(f) => java_number(out, *f, false),
        ConnectValue::String(s) => json::string(out, s),
        ConnectValue::Instant(s) => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        ConnectValue::Bytes(b) => {
            out.push(b'"');
            render::base64(out, b);
            out.push(b'"');
        }
        ConnectValue::Geometry { wkb, srid } => {
            out.extend_from_slice(b"{\"wkb\":\"");
            render::base64(out, wkb);
            out.extend_from_slice(b"\",\"srid\":");
            match srid {
                Some(s) => json::int(out, *s as i64),
                None => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
        }
    }
}

/// A float as Jackson writes it (Java's `Float.toString`/`Double.toString`); NaN and
/// infinities, which MySQL cannot store, become `null` to keep the JSON valid.
fn java_number(out: &mut Vec<u8>, v: f64, is_f32: bool) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
    } else {
        render::java_float(out, v, is_f32);
    }
}

/// Decimal text of a two's-complement big-endian unscaled value at `scale` (the inverse
/// of [`decimal_bytes`]).
pub fn decimal_text(bytes: &[u8], scale: u32) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        // Two's complement back to the magnitude.
        let mut carry = 1u16;
        for b in mag.iter_mut().rev() {
            let v = (!*b) as u16 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
    }
    // Repeated division by 10 of the big-endian magnitude.
    let mut digits = Vec::new();
    while mag.iter().any(|b| *b != 0) {
        let mut rem = 0u32;
        for b in mag.iter_mut() {
            let cur = (rem << 8) | *b as u32;
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    while digits.len() <= scale as usize {
        digits.push(b'0');
    }
    digits.reverse();
    let point = digits.len() - scale as usize;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&digits[..point]).unwrap_or("0"));
    if scale > 0 {
        out.push('.');
        out.push_str(std::str::from_utf8(&digits[point..]).unwrap_or(""));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn dec(text: &str, scale: u32) -> String {
        let mut out = Vec::new();
        decimal_bytes(text, scale, &mut out).unwrap();
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    fn dec_raw(text: &str, scale: u32) -> Vec<u8> {
        let mut out = Vec::new();
        decimal_bytes(text, scale, &mut out).unwrap();
        out
    }

    #[test]
    fn decimals_are_java_big_integer_bytes() {
        assert_eq!(dec("0", 0), "AA==");
        assert_eq!(dec("0.00", 2), "AA==");
        assert_eq!(dec_raw("12.50", 2), vec![0x04, 0xe2]);
        assert_eq!(dec_raw("1.27", 2), vec![0x7f]);
        assert_eq!(dec_raw("1.28", 2), vec![0x00, 0x80]);
        assert_eq!(dec_raw("-1.28", 2), vec![0x80]);
        assert_eq!(dec_raw("-1.29", 2), vec![0xff, 0x7f]);
        assert_eq!(dec_raw("-0.01", 2), vec![0xff]);
        assert_eq!(dec_raw("-0.00", 2), vec![0x00]);
        assert_eq!(dec_raw("2.5", 2), vec![0x00, 0xfa]);
        assert_eq!(dec_raw("65535", 0), vec![0x00, 0xff, 0xff]);
        assert_eq!(dec_raw("-65536", 0), vec![0xff, 0x00, 0x00]);
        assert_eq!(dec_raw("-32768", 0), vec![0x80, 0x00]);
    }

    #[test]
    fn a_zero_date_in_a_not_null_column_becomes_its_default() {
        use super::super::schema::column_schema;
        use obsync_model::{Column, ColumnDefault, ColumnType};
        let zero = Value::Date(Date {
            year: 0,
            month: 0,
            day: 0,
        });
        let mut col = Column::new("d", ColumnType::Date);
        col.default = Some(ColumnDefault(Value::Date(Date {
            year: 2000,
            month: 1,
            day: 1,
        })));
        let mut scratch = Vec::new();
        // Nullable: null, as Debezium writes it.
        let cs = column_schema(&col, DecimalHandling::Precise);
        assert_eq!(
            connect_value(&cs, &zero, DecimalHandling::Precise, &mut scratch),
            ConnectValue::Null
        );
        col.nullable = false;
        let cs = column_schema(&col, DecimalHandling::Precise);
        assert_eq!(
            connect_value(&cs, &zero, DecimalHandling::Precise, &mut scratch),
            ConnectValue::Int(10957)
        );
        assert_eq!(
            default_value(&cs, &mut scratch),
            Some(ConnectValue::Int(10957))
        );
    }

    #[test]
    fn times_and_dates_count_from_the_epoch() {
        let d = |year, month, day| Date { year, month, day };
        assert_eq!(epoch_days(&d(1970, 1, 1)), Some(0));
        assert_eq!(epoch_days(&d(2000, 1, 1)), Some(10957));
        assert_eq!(epoch_days(&d(1969, 12, 31)), Some(-1));
        assert_eq!(epoch_days(&d(0, 0, 0)), None);
        let t = Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 0,
        };
        assert_eq!(time_micros(&t), -3_020_399_000_000);
        let mut out = Vec::new();
        zoned_timestamp(
            &mut out,
            &Timestamp {
                secs: 1_714_528_800,
                micros: 500_000,
            },
            3,
        );
        assert_eq!(out, b"2024-05-01T02:00:00.500Z");
    }
}
