//! SQL text for snapshot reads: quoted names, key literals and keyset predicates.
//!
//! Key values are written as literals, not bound parameters, because a prepared
//! statement answers in the binary protocol and the reader wants the text protocol
//! (see [`super::decode`]). Every literal form here is independent of `sql_mode`
//! (no backslash escapes): strings travel as `_utf8mb4 X'…'`, whose coercibility lets
//! the column's own collation decide comparison and order, exactly as `ORDER BY` does.

use obsync_model::{Column, ColumnType, Value};
use std::fmt::Write;

/// `` `name` `` with embedded backticks doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `` `db`.`table` ``.
pub fn quote_table(id: &obsync_model::TableId) -> String {
    format!("{}.{}", quote_ident(&id.database), quote_ident(&id.table))
}

/// The SELECT expression that reads `column` exactly in the text protocol.
pub fn select_expr(column: &Column) -> String {
    let name = quote_ident(&column.name);
    match column.kind {
        // The text protocol prints FLOAT with 6 significant digits (16777216 → 16777200);
        // adding a DOUBLE zero widens it exactly and prints up to 17 digits.
        ColumnType::Float => format!("{name} + 0e0"),
        _ => name,
    }
}

/// A value as an SQL literal of `column`'s type, for keyset bounds. `None` for NULL or
/// a value that cannot be a key literal.
pub fn literal(column: &Column, value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Int(v) => v.to_string(),
        Value::UInt(v) => v.to_string(),
        Value::Bit(v) => v.to_string(),
        Value::Year(v) => v.to_string(),
        Value::Decimal(d) => {
            let ok = !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.');
            if !ok {
                return None;
            }
            d.clone()
        }
        // `{:?}` prints the shortest text that parses back to the same double; a FLOAT
        // column compares as DOUBLE, so the f32 widened to f64 matches exactly.
        Value::Float(v) if v.is_finite() => double_literal(f64::from(*v)),
        Value::Double(v) if v.is_finite() => double_literal(*v),
        Value::Float(_) | Value::Double(_) => return None,
        Value::Date(d) => format!("'{d}'"),
        Value::DateTime(dt) => format!("'{}'", dt.render(6)),
        // Sessions run in UTC, so the UTC wall clock names the instant.
        Value::Timestamp(ts) if ts.secs == 0 && ts.micros == 0 => "'0000-00-00 00:00:00'".into(),
        Value::Timestamp(ts) => format!("'{}'", ts.to_utc_datetime().render(6)),
        Value::Time(t) => format!("'{}'", t.render(6)),
        Value::Text(s) if column.kind.is_binary() => hex_literal(s.as_bytes()),
        Value::Text(s) => format!("_utf8mb4 {}", hex_literal(s.as_bytes())),
        Value::Bytes(b) => hex_literal(b),
    })
}

/// A DOUBLE literal (the `e` makes it approximate-value, not DECIMAL).
fn double_literal(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains('e') {
        s
    } else {
        s + "e0"
    }
}

fn hex_literal(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        // X'' is the empty binary string on every server.
        return "X''".into();
    }
    let mut s = String::with_capacity(bytes.len() * 2 + 3);
    s.push_str("X'");
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s.push('\'');
    s
}

/// The keyset predicate "key tuple > `after`", written so that every server's range
/// optimizer can use the key index: a leading `k1 >= v1` plus the nested expansion
/// `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND …)))`. Row-constructor comparison
/// `(k1,k2) > (v1,v2)` is avoided because not every server turns it into an index
/// range.
pub fn after_predicate(key: &[&Column], after: &[String]) -> String {
    debug_assert_eq!(key.len(), after.len());
    let names: Vec<String> = key.iter().map(|c| quote_ident(&c.name)).collect();
    let mut nested = format!("{} > {}", names[key.len() - 1], after[key.len() - 1]);
    for i in (0..key.len() - 1).rev() {
        nested = format!(
            "{n} > {v} OR ({n} = {v} AND ({nested}))",
            n = names[i],
            v = after[i]
        );
    }
    if key.len() == 1 {
        nested
    } else {
        format!("{} >= {} AND ({nested})", names[0], after[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{Date, DateTime, Time, Timestamp};

    fn col(name: &str, kind: ColumnType) -> Column {
        Column {
            column_type: String::new(),
            nullable: false,
            ..Column::new(name, kind)
        }
    }

    #[test]
    fn identifiers_double_backticks() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn literals_do_not_depend_on_sql_mode() {
        let text = col("s", ColumnType::VarChar);
        assert_eq!(
            literal(&text, &Value::Text("a'\\".into())).unwrap(),
            "_utf8mb4 X'61275C'"
        );
        let bin = col("b", ColumnType::VarBinary);
        assert_eq!(
            literal(&bin, &Value::Bytes(vec![0, 255])).unwrap(),
            "X'00FF'"
        );
        assert_eq!(literal(&bin, &Value::Bytes(vec![])).unwrap(), "X''");
        let dt = DateTime {
            date: Date {
                year: 2024,
                month: 2,
                day: 29,
            },
            hour: 1,
            minute: 2,
            second: 3,
            micros: 4,
        };
        let c = col("d", ColumnType::DateTime);
        assert_eq!(
            literal(&c, &Value::DateTime(dt)).unwrap(),
            "'2024-02-29 01:02:03.000004'"
        );
        let ts = Timestamp { secs: 1, micros: 0 };
        assert_eq!(
            literal(&c, &Value::Timestamp(ts)).unwrap(),
            "'1970-01-01 00:00:01.000000'"
        );
        let t = Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 0,
        };
        assert_eq!(literal(&c, &Value::Time(t)).unwrap(), "'-838:59:59.000000'");
        assert_eq!(literal(&c, &Value::Decimal("1; DROP".into())), None);
        assert_eq!(literal(&c, &Value::Double(0.1)).unwrap(), "0.1e0");
        assert_eq!(literal(&c, &Value::Double(3.0)).unwrap(), "3.0e0");
        assert_eq!(literal(&c, &Value::Double(1e300)).unwrap(), "1e300");
        assert_eq!(
            literal(&c, &Value::Float(0.1)).unwrap(),
            "0.10000000149011612e0"
        );
    }

    #[test]
    fn keyset_predicate_expands_composite_keys() {
        let a = col("a", ColumnType::Int);
        let b = col("b", ColumnType::Int);
        let c = col("c", ColumnType::Int);
        assert_eq!(after_predicate(&[&a], &["1".into()]), "`a` > 1");
        assert_eq!(
            after_predicate(&[&a, &b, &c], &["1".into(), "2".into(), "3".into()]),
            "`a` >= 1 AND (`a` > 1 OR (`a` = 1 AND (`b` > 2 OR (`b` = 2 AND (`c` > 3)))))"
        );
    }
}
