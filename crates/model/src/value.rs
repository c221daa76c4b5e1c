//! Column values with full fidelity: exact decimals, unsigned 64-bit integers,
//! microsecond temporals, negative TIME, zero dates and raw bytes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar date; zero parts are allowed (MySQL zero dates such as `0000-00-00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// A wall-clock date and time with microseconds (DATETIME: no time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
}

/// An absolute instant (TIMESTAMP) as seconds and microseconds since the Unix epoch, UTC.
/// The zero TIMESTAMP `0000-00-00 00:00:00` is `secs == 0 && micros == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp {
    pub secs: i64,
    pub micros: u32,
}

/// A TIME value: a signed duration up to 838:59:59.999999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Time {
    pub negative: bool,
    pub hours: u32,
    pub minutes: u8,
    pub seconds: u8,
    pub micros: u32,
}

/// One column value. The column's metadata says how it is rendered; the value only
/// keeps the data exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    /// Signed integers of every width, and YEAR is not here (see `Year`).
    Int(i64),
    /// Unsigned integers of every width, up to 2^64-1.
    UInt(u64),
    /// Exact decimal text as the server prints it (`-12.50`), never a float.
    Decimal(String),
    Float(f32),
    Double(f64),
    /// BIT(M) as an integer; the width is the column's `length`.
    Bit(u64),
    Date(Date),
    DateTime(DateTime),
    Timestamp(Timestamp),
    Time(Time),
    /// YEAR; 0 is the zero year `0000`.
    Year(u16),
    /// Character data (CHAR/VARCHAR/TEXT, ENUM and SET labels, JSON text), UTF-8.
    Text(String),
    /// Raw bytes (BINARY/VARBINARY/BLOB/GEOMETRY). BINARY(n) keeps its 0x00 padding.
    Bytes(Vec<u8>),
}

/// A row image: one value per column, in the table's column order.
pub type Row = Vec<Value>;

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Writes `.ffffff` cut to `fsp` digits (nothing when `fsp` is 0).
pub fn write_fraction(f: &mut impl fmt::Write, micros: u32, fsp: u8) -> fmt::Result {
    if fsp == 0 {
        return Ok(());
    }
    let digits = format!("{micros:06}");
    write!(f, ".{}", &digits[..fsp.min(6) as usize])
}

impl DateTime {
    /// `YYYY-MM-DD HH:MM:SS[.f]` with exactly `fsp` fractional digits.
    pub fn render(&self, fsp: u8) -> String {
        let mut s = format!(
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        );
        let _ = write_fraction(&mut s, self.micros, fsp);
        s
    }
}

impl Time {
    /// `[-]HH:MM:SS[.f]` with exactly `fsp` fractional digits; hours may exceed 24.
    pub fn render(&self, fsp: u8) -> String {
        let mut s = format!(
            "{}{:02}:{:02}:{:02}",
            if self.negative { "-" } else { "" },
            self.hours,
            self.minutes,
            self.seconds
        );
        let _ = write_fraction(&mut s, self.micros, fsp);
        s
    }
}

impl Timestamp {
    /// Epoch seconds with `fsp` fractional digits: `1714528800.123456`.
    pub fn render_epoch(&self, fsp: u8) -> String {
        let mut s = self.secs.to_string();
        let _ = write_fraction(&mut s, self.micros, fsp);
        s
    }

    /// The UTC wall clock of this instant (days-from-civil, exact for any i64 second).
    pub fn to_utc_datetime(&self) -> DateTime {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        DateTime {
            date: Date {
                year: y as u16,
                month: m as u8,
                day: d as u8,
            },
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
            micros: self.micros,
        }
    }

    /// The instant of a UTC wall clock.
    pub fn from_utc_datetime(dt: &DateTime) -> Timestamp {
        let days = days_from_civil(
            dt.date.year as i64,
            dt.date.month as i64,
            dt.date.day as i64,
        );
        Timestamp {
            secs: days * 86_400 + dt.hour as i64 * 3600 + dt.minute as i64 * 60 + dt.second as i64,
            micros: dt.micros,
        }
    }
}

// Howard Hinnant's civil-calendar algorithms; chrono would need a valid date, and MySQL
// values need not be (e.g. TIMESTAMP arithmetic on edge values), so this stays total.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_round_trips_through_utc_wall_clock() {
        for secs in [0i64, 1, 86_399, 1_714_528_800, 2_147_483_647, -1] {
            let ts = Timestamp { secs, micros: 7 };
            assert_eq!(Timestamp::from_utc_datetime(&ts.to_utc_datetime()), ts);
        }
        let dt = Timestamp {
            secs: 2_147_483_647,
            micros: 999_999,
        }
        .to_utc_datetime();
        assert_eq!(dt.render(6), "2038-01-19 03:14:07.999999");
    }

    #[test]
    fn fractions_render_exactly_fsp_digits() {
        let t = Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 120_000,
        };
        assert_eq!(t.render(0), "-838:59:59");
        assert_eq!(t.render(2), "-838:59:59.12");
        assert_eq!(
            Timestamp {
                secs: 5,
                micros: 42
            }
            .render_epoch(6),
            "5.000042"
        );
    }
}
