//! Row values from mysql_common's binlog decoding → canonical model [`Value`]s.
//!
//! The binlog alone does not say whether an integer is unsigned, what an ENUM index
//! means or how long a BINARY column is (MySQL 5.7 and OceanBase never send the optional
//! table-map metadata; MariaDB only with `binlog_row_metadata=FULL`). So every value is
//! interpreted with the column's information_schema metadata, which also fixes the
//! crate's known traps (see each arm).

use mysql_common::binlog::value::BinlogValue;
use mysql_common::value::Value as MyValue;
use obsync_model::{Column, ColumnType as T, Date, DateTime, Time, Timestamp, Value};

/// Converts one non-absent binlog value of `col` to a model value. The error is a
/// human-readable reason; the caller adds table, column and position.
pub(crate) fn decode_value(col: &Column, raw: BinlogValue<'_>) -> Result<Value, String> {
    let v = match raw {
        BinlogValue::Value(v) => v,
        // MySQL binary JSON: mysql_common renders it as JSON text.
        j @ BinlogValue::Jsonb(_) => MyValue::try_from(j)
            .map_err(|e| format!("binary JSON cannot be rendered as text: {e}"))?,
        // Diffs are applied to the before image by `rows` (see `json_diff`), never here.
        BinlogValue::JsonDiff(_) => {
            return Err("a partial JSON update outside a partial update's after image".into())
        }
    };
    if matches!(v, MyValue::NULL) {
        return Ok(Value::Null);
    }
    match col.kind {
        T::TinyInt => integer(col, v, 8),
        T::SmallInt => integer(col, v, 16),
        // The crate does not sign-extend 24-bit values: handled by `integer`.
        T::MediumInt => integer(col, v, 24),
        T::Int => integer(col, v, 32),
        T::BigInt => integer(col, v, 64),
        T::Decimal => Ok(Value::Decimal(utf8(bytes(v)?)?)),
        T::Float => match v {
            MyValue::Float(f) => Ok(Value::Float(f)),
            MyValue::Double(d) => Ok(Value::Float(d as f32)),
            other => unexpected(col, &other),
        },
        T::Double => match v {
            MyValue::Double(d) => Ok(Value::Double(d)),
            MyValue::Float(f) => Ok(Value::Double(f as f64)),
            other => unexpected(col, &other),
        },
        T::Bit => bit(bytes(v)?),
        T::Date => match v {
            MyValue::Date(year, month, day, ..) => Ok(Value::Date(Date { year, month, day })),
            other => unexpected(col, &other),
        },
        T::DateTime => match v {
            MyValue::Date(year, month, day, hour, minute, second, micros) => {
                Ok(Value::DateTime(DateTime {
                    date: Date { year, month, day },
                    hour,
                    minute,
                    second,
                    micros,
                }))
            }
            other => unexpected(col, &other),
        },
        T::Timestamp => timestamp(v),
        T::Time => match v {
            MyValue::Time(negative, days, h, minutes, seconds, micros) => Ok(Value::Time(Time {
                negative,
                hours: days * 24 + h as u32,
                minutes,
                seconds,
                micros,
            })),
            other => unexpected(col, &other),
        },
        T::Year => year(v),
        T::Char | T::VarChar | T::TinyText | T::Text | T::MediumText | T::LongText | T::Json => {
            Ok(Value::Text(text(col, bytes(v)?)?))
        }
        T::Binary => {
            // The server strips BINARY's trailing 0x00 bytes in the binlog; the column
            // value (what SELECT returns) has them.
            let mut b = bytes(v)?;
            if let Some(len) = col.length {
                if (b.len() as u64) < len {
                    b.resize(len as usize, 0);
                }
            }
            Ok(Value::Bytes(b))
        }
        T::VarBinary | T::TinyBlob | T::Blob | T::MediumBlob | T::LongBlob | T::Geometry => {
            Ok(Value::Bytes(bytes(v)?))
        }
        T::Enum => enum_label(col, v),
        T::Set => set_labels(col, bytes(v)?),
    }
}

fn unexpected(col: &Column, v: &MyValue) -> Result<Value, String> {
    Err(format!(
        "the binlog value {v:?} does not fit the declared type {}",
        col.column_type
    ))
}

fn bytes(v: MyValue) -> Result<Vec<u8>, String> {
    match v {
        MyValue::Bytes(b) => Ok(b),
        other => Err(format!("expected a byte value, the binlog has {other:?}")),
    }
}

fn utf8(b: Vec<u8>) -> Result<String, String> {
    String::from_utf8(b).map_err(|e| format!("value is not valid UTF-8: {e}"))
}

/// Reinterprets the crate's integer with the declared width and signedness: the
/// crate reads integers as signed unless the (usually absent) table-map signedness says
/// otherwise, and returns MEDIUMINT without sign extension.
fn integer(col: &Column, v: MyValue, bits: u32) -> Result<Value, String> {
    let raw = match v {
        MyValue::Int(i) => i as u64,
        MyValue::UInt(u) => u,
        other => return unexpected(col, &other),
    };
    let shift = 64 - bits;
    let masked = if bits == 64 {
        raw
    } else {
        raw & ((1u64 << bits) - 1)
    };
    if col.unsigned {
        Ok(Value::UInt(masked))
    } else {
        Ok(Value::Int(((masked << shift) as i64) >> shift))
    }
}

/// BIT(M) arrives as ceil(M/8) big-endian bytes.
fn bit(b: Vec<u8>) -> Result<Value, String> {
    if b.len() > 8 {
        return Err(format!("BIT value of {} bytes exceeds 64 bits", b.len()));
    }
    Ok(Value::Bit(
        b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64),
    ))
}

/// TIMESTAMP2 arrives as text `secs` or `secs.uuuuuu` (Unix time); the old TIMESTAMP
/// as an integer. Split the text: a float would lose microseconds.
fn timestamp(v: MyValue) -> Result<Value, String> {
    match v {
        MyValue::Int(secs) => Ok(Value::Timestamp(Timestamp { secs, micros: 0 })),
        MyValue::Bytes(b) => {
            let s = utf8(b)?;
            let (secs, frac) = s.split_once('.').unwrap_or((&s, ""));
            let bad = || format!("TIMESTAMP text {s:?} is not `secs[.micros]`");
            if frac.len() > 6 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            let secs: i64 = secs.parse().map_err(|_| bad())?;
            let micros = if frac.is_empty() {
                0
            } else {
                frac.parse::<u32>().map_err(|_| bad())? * 10u32.pow(6 - frac.len() as u32)
            };
            Ok(Value::Timestamp(Timestamp { secs, micros }))
        }
        other => Err(format!("unexpected TIMESTAMP value {other:?}")),
    }
}

/// YEAR arrives as the text of `1900 + byte`; the zero year (byte 0) thus reads
/// "1900", which is not a valid YEAR otherwise (1901..=2155).
fn year(v: MyValue) -> Result<Value, String> {
    let y: u16 = match v {
        MyValue::Bytes(b) => utf8(b)?
            .parse()
            .map_err(|e| format!("YEAR text is not a number: {e}"))?,
        MyValue::Int(i) => u16::try_from(i).map_err(|_| format!("YEAR {i} out of range"))?,
        MyValue::UInt(u) => u16::try_from(u).map_err(|_| format!("YEAR {u} out of range"))?,
        other => return Err(format!("unexpected YEAR value {other:?}")),
    };
    Ok(Value::Year(if y == 1900 { 0 } else { y }))
}

/// Character data in the column's charset → UTF-8.
fn text(col: &Column, b: Vec<u8>) -> Result<String, String> {
    let charset = col
        .charset
        .as_deref()
        .unwrap_or("utf8mb4")
        .to_ascii_lowercase();
    match charset.as_str() {
        "utf8mb4" | "utf8mb3" | "utf8" | "ascii" => utf8(b),
        "latin1" => Ok(b.into_iter().map(cp1252_char).collect()),
        "binary" => Ok(String::from_utf8_lossy(&b).into_owned()),
        other => Err(format!(
            "character set {other} is not supported yet; convert the column to utf8mb4"
        )),
    }
}

/// MySQL's `latin1` is Windows-1252 (with the five undefined bytes kept as C1 controls).
fn cp1252_char(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(HIGH[(b - 0x80) as usize] as u32).unwrap_or('\u{FFFD}'),
        _ => b as char,
    }
}

/// ENUM arrives as its 1-based index; 0 is the empty "error" value MySQL stores for an
/// invalid label in non-strict mode.
fn enum_label(col: &Column, v: MyValue) -> Result<Value, String> {
    let idx = match v {
        MyValue::Int(i) => i as u64,
        MyValue::UInt(u) => u,
        other => return unexpected(col, &other),
    };
    if idx == 0 {
        return Ok(Value::Text(String::new()));
    }
    col.labels
        .get(idx as usize - 1)
        .map(|l| Value::Text(l.clone()))
        .ok_or_else(|| {
            format!(
                "ENUM index {idx} exceeds the {} labels of {}",
                col.labels.len(),
                col.column_type
            )
        })
}

/// SET arrives as a little-endian bitmask; bit i is `labels[i]`. The server prints
/// members in declaration order, comma-joined.
fn set_labels(col: &Column, b: Vec<u8>) -> Result<Value, String> {
    if b.len() > 8 {
        return Err(format!(
            "SET bitmask of {} bytes exceeds 64 members",
            b.len()
        ));
    }
    let mask = b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64);
    let mut out = Vec::new();
    for i in 0..64 {
        if mask & (1u64 << i) != 0 {
            let label = col.labels.get(i).ok_or_else(|| {
                format!(
                    "SET member bit {i} exceeds the {} labels of {}",
                    col.labels.len(),
                    col.column_type
                )
            })?;
            out.push(label.as_str());
        }
    }
    Ok(Value::Text(out.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: T, unsigned: bool) -> Column {
        Column {
            unsigned,
            ..Column::new("c", kind)
        }
    }

    fn dec(c: &Column, v: MyValue) -> Value {
        decode_value(c, BinlogValue::Value(v)).unwrap()
    }

    #[test]
    fn mediumint_is_sign_extended_from_24_bits() {
        let c = col(T::MediumInt, false);
        assert_eq!(dec(&c, MyValue::Int(16_777_215)), Value::Int(-1));
        assert_eq!(dec(&c, MyValue::Int(8_388_608)), Value::Int(-8_388_608));
        assert_eq!(dec(&c, MyValue::Int(8_388_607)), Value::Int(8_388_607));
        assert_eq!(dec(&c, MyValue::Int(-8_388_608)), Value::Int(-8_388_608));
        let u = col(T::MediumInt, true);
        assert_eq!(dec(&u, MyValue::Int(16_777_215)), Value::UInt(16_777_215));
        assert_eq!(dec(&u, MyValue::Int(-1)), Value::UInt(16_777_215));
    }

    #[test]
    fn unsigned_integers_are_reinterpreted_from_signed_reads() {
        assert_eq!(
            dec(&col(T::TinyInt, true), MyValue::Int(-1)),
            Value::UInt(255)
        );
        assert_eq!(
            dec(&col(T::SmallInt, true), MyValue::Int(-1)),
            Value::UInt(65_535)
        );
        assert_eq!(
            dec(&col(T::Int, true), MyValue::Int(-1)),
            Value::UInt(4_294_967_295)
        );
        assert_eq!(
            dec(&col(T::BigInt, true), MyValue::Int(-1)),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            dec(&col(T::BigInt, false), MyValue::Int(i64::MIN)),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            dec(&col(T::TinyInt, false), MyValue::Int(-128)),
            Value::Int(-128)
        );
    }

    #[test]
    fn year_zero_reads_1900_and_maps_to_zero() {
        let c = col(T::Year, false);
        assert_eq!(dec(&c, MyValue::Bytes(b"1900".to_vec())), Value::Year(0));
        assert_eq!(dec(&c, MyValue::Bytes(b"2155".to_vec())), Value::Year(2155));
    }

    #[test]
    fn binary_is_padded_back_to_its_declared_length() {
        let mut c = col(T::Binary, false);
        c.length = Some(4);
        assert_eq!(
            dec(&c, MyValue::Bytes(vec![0, 1, 2])),
            Value::Bytes(vec![0, 1, 2, 0])
        );
    }

    #[test]
    fn timestamp_text_is_split_exactly() {
        let c = col(T::Timestamp, false);
        assert_eq!(
            dec(&c, MyValue::Bytes(b"2147483647.999999".to_vec())),
            Value::Timestamp(Timestamp {
                secs: 2_147_483_647,
                micros: 999_999
            })
        );
        assert_eq!(
            dec(&c, MyValue::Bytes(b"1.000001".to_vec())),
            Value::Timestamp(Timestamp { secs: 1, micros: 1 })
        );
        assert_eq!(
            dec(&c, MyValue::Bytes(b"0".to_vec())),
            Value::Timestamp(Timestamp { secs: 0, micros: 0 })
        );
        assert!(decode_value(&c, BinlogValue::Value(MyValue::Bytes(b"1.x".to_vec()))).is_err());
    }

    #[test]
    fn enum_and_set_map_to_labels() {
        let mut e = col(T::Enum, false);
        e.labels = vec!["a".into(), "b".into()];
        assert_eq!(dec(&e, MyValue::Int(2)), Value::Text("b".into()));
        assert_eq!(dec(&e, MyValue::Int(0)), Value::Text(String::new()));
        assert!(decode_value(&e, BinlogValue::Value(MyValue::Int(3))).is_err());
        let mut s = col(T::Set, false);
        s.labels = (0..10).map(|i| format!("m{i}")).collect();
        assert_eq!(
            dec(&s, MyValue::Bytes(vec![0b0000_0101, 0b10])),
            Value::Text("m0,m2,m9".into())
        );
        assert_eq!(
            dec(&s, MyValue::Bytes(vec![0, 0])),
            Value::Text(String::new())
        );
    }

    #[test]
    fn bit_is_big_endian() {
        let c = col(T::Bit, false);
        assert_eq!(dec(&c, MyValue::Bytes(vec![0xFF; 8])), Value::Bit(u64::MAX));
        assert_eq!(dec(&c, MyValue::Bytes(vec![1, 0])), Value::Bit(256));
    }

    #[test]
    fn negative_time_over_24_hours_keeps_total_hours() {
        let c = col(T::Time, false);
        assert_eq!(
            dec(&c, MyValue::Time(true, 34, 22, 59, 59, 0)),
            Value::Time(Time {
                negative: true,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 0
            })
        );
    }

    #[test]
    fn text_follows_the_column_charset() {
        let mut c = col(T::VarChar, false);
        c.charset = Some("utf8mb4".into());
        assert_eq!(
            dec(&c, MyValue::Bytes("é😀".as_bytes().to_vec())),
            Value::Text("é😀".into())
        );
        c.charset = Some("latin1".into());
        assert_eq!(
            dec(&c, MyValue::Bytes(vec![0xE9, 0x80])),
            Value::Text("é€".into())
        );
        c.charset = Some("gbk".into());
        assert!(decode_value(&c, BinlogValue::Value(MyValue::Bytes(vec![1]))).is_err());
    }

    #[test]
    fn zero_dates_and_nulls_pass_through() {
        let d = col(T::Date, false);
        assert_eq!(
            dec(&d, MyValue::Date(0, 0, 0, 0, 0, 0, 0)),
            Value::Date(Date {
                year: 0,
                month: 0,
                day: 0
            })
        );
        assert_eq!(dec(&d, MyValue::NULL), Value::Null);
        let dt = col(T::DateTime, false);
        assert_eq!(
            dec(&dt, MyValue::Date(9999, 12, 31, 23, 59, 59, 999_999)),
            Value::DateTime(DateTime {
                date: Date {
                    year: 9999,
                    month: 12,
                    day: 31
                },
                hour: 23,
                minute: 59,
                second: 59,
                micros: 999_999
            })
        );
    }
}
