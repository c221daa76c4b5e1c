//! Debezium's type mapping: the Kafka Connect schema of a MySQL/MariaDB column, as
//! Debezium's MySQL and MariaDB connectors declare it with their default value-handling
//! modes (`time.precision.mode=adaptive_time_microseconds`,
//! `bigint.unsigned.handling.mode=long`, `binary.handling.mode=bytes`) and a choice of
//! `decimal.handling.mode`. Shared by every Debezium-shaped format (JSON here, Avro
//! elsewhere): the schema says what a value is, [`super::value`] renders it.
//!
//! Measured against Debezium Server 3.6.1 (`shared/reference/debezium-output.md`).

use obsync_model::{Column, ColumnType};

/// Debezium's `decimal.handling.mode`: how DECIMAL/NUMERIC columns are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum DecimalHandling {
    /// `precise` (Debezium's default): `bytes` with the logical type
    /// `org.apache.kafka.connect.data.Decimal`, the unscaled two's-complement value.
    #[default]
    Precise,
    /// `string`: the exact decimal text (`"12.50"`).
    String,
    /// `double`: a `double`, which loses digits beyond about 15 significant ones.
    Double,
}

impl DecimalHandling {
    /// The name in project files and Debezium's own configuration.
    pub fn name(self) -> &'static str {
        match self {
            DecimalHandling::Precise => "precise",
            DecimalHandling::String => "string",
            DecimalHandling::Double => "double",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "precise" => DecimalHandling::Precise,
            "string" => DecimalHandling::String,
            "double" => DecimalHandling::Double,
            _ => return None,
        })
    }
}

/// A Kafka Connect primitive (or struct) schema type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectType {
    Boolean,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    String,
    Bytes,
    Struct,
}

impl ConnectType {
    /// The type name in the JSON converter's schema (`int64`, `bytes`, …).
    pub fn name(self) -> &'static str {
        match self {
            ConnectType::Boolean => "boolean",
            ConnectType::Int16 => "int16",
            ConnectType::Int32 => "int32",
            ConnectType::Int64 => "int64",
            ConnectType::Float32 => "float",
            ConnectType::Float64 => "double",
            ConnectType::String => "string",
            ConnectType::Bytes => "bytes",
            ConnectType::Struct => "struct",
        }
    }
}

/// A Connect or Debezium logical type laid over a primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Logical {
    /// `org.apache.kafka.connect.data.Decimal` v1 (`bytes`), parameters `scale` and
    /// `connect.decimal.precision`.
    Decimal { scale: u32, precision: u32 },
    /// `io.debezium.time.Date` (`int32`): days since 1970-01-01.
    Date,
    /// `io.debezium.time.MicroTime` (`int64`): microseconds, negative allowed.
    MicroTime,
    /// `io.debezium.time.Timestamp` (`int64`): milliseconds since the epoch of the wall
    /// clock read as UTC (DATETIME with 0–3 fractional digits).
    Timestamp,
    /// `io.debezium.time.MicroTimestamp` (`int64`): microseconds (DATETIME(4–6)).
    MicroTimestamp,
    /// `io.debezium.time.ZonedTimestamp` (`string`): ISO-8601 in UTC with `Z`.
    ZonedTimestamp,
    /// `io.debezium.time.Year` (`int32`).
    Year,
    /// `io.debezium.data.Bits` v1 (`bytes`, little-endian), parameter `length`.
    Bits { length: u64 },
    /// `io.debezium.data.Enum` v1 (`string`), parameter `allowed` (the labels).
    Enum,
    /// `io.debezium.data.EnumSet` v1 (`string`), parameter `allowed`.
    EnumSet,
    /// `io.debezium.data.Json` v1 (`string`): MySQL's JSON type (MariaDB's JSON is
    /// LONGTEXT and stays a plain string, as Debezium's MariaDB connector has it).
    Json,
    /// `io.debezium.data.geometry.Geometry` v1 (`struct` of `wkb` bytes and an
    /// optional `srid`).
    Geometry,
}

impl Logical {
    /// The logical type's schema name.
    pub fn name(self) -> &'static str {
        match self {
            Logical::Decimal { .. } => "org.apache.kafka.connect.data.Decimal",
            Logical::Date => "io.debezium.time.Date",
            Logical::MicroTime => "io.debezium.time.MicroTime",
            Logical::Timestamp => "io.debezium.time.Timestamp",
            Logical::MicroTimestamp => "io.debezium.time.MicroTimestamp",
            Logical::ZonedTimestamp => "io.debezium.time.ZonedTimestamp",
            Logical::Year => "io.debezium.time.Year",
            Logical::Bits { .. } => "io.debezium.data.Bits",
            Logical::Enum => "io.debezium.data.Enum",
            Logical::EnumSet => "io.debezium.data.EnumSet",
            Logical::Json => "io.debezium.data.Json",
            Logical::Geometry => "io.debezium.data.geometry.Geometry",
        }
    }

    /// The schema version Debezium declares: 1 for every logical type it writes.
    pub fn version(self) -> u32 {
        1
    }

    /// The schema's `doc`, where Debezium sets one.
    pub fn doc(self) -> Option<&'static str> {
        match self {
            Logical::Geometry => Some("Geometry"),
            _ => None,
        }
    }
}

/// One column's Connect schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSchema<'a> {
    pub column: &'a Column,
    pub ty: ConnectType,
    pub logical: Option<Logical>,
    /// `true` for a nullable column.
    pub optional: bool,
}

impl<'a> ColumnSchema<'a> {
    /// The schema's parameters in Debezium's order, as `(name, value)` text pairs.
    pub fn parameters(&self) -> Vec<(&'static str, String)> {
        match self.logical {
            Some(Logical::Decimal { scale, precision }) => vec![
                ("scale", scale.to_string()),
                ("connect.decimal.precision", precision.to_string()),
            ],
            Some(Logical::Bits { length }) => vec![("length", length.to_string())],
            Some(Logical::Enum) | Some(Logical::EnumSet) => {
                vec![("allowed", self.column.labels.join(","))]
            }
            _ => Vec::new(),
        }
    }
}

/// The number of fractional digits of a temporal column (0 when not declared).
pub fn fsp(col: &Column) -> u8 {
    col.fsp.unwrap_or(0).min(6)
}

/// `FLOAT(M,D)` (a declared precision and scale), which Debezium maps to `double`.
fn float_with_scale(col: &Column) -> bool {
    col.column_type.contains(',')
}

/// Debezium's Connect schema of `col`.
pub fn column_schema(col: &Column, decimal: DecimalHandling) -> ColumnSchema<'_> {
    use ColumnType::*;
    let (ty, logical) = match (col.kind, col.unsigned) {
        (TinyInt, _) | (SmallInt, false) => (ConnectType::Int16, None),
        (SmallInt, true) | (MediumInt, _) | (Int, false) => (ConnectType::Int32, None),
        (Int, true) | (BigInt, _) => (ConnectType::Int64, None),
        (Decimal, _) => match decimal {
            DecimalHandling::Precise => (
                ConnectType::Bytes,
                Some(Logical::Decimal {
                    scale: col.scale.unwrap_or(0),
                    precision: col.precision.unwrap_or(10),
                }),
            ),
            DecimalHandling::String => (ConnectType::String, None),
            DecimalHandling::Double => (ConnectType::Float64, None),
        },
        (Float, _) if float_with_scale(col) => (ConnectType::Float64, None),
        (Float, _) => (ConnectType::Float32, None),
        (Double, _) => (ConnectType::Float64, None),
        (Bit, _) if col.length.unwrap_or(1) <= 1 => (ConnectType::Boolean, None),
        (Bit, _) => (
            ConnectType::Bytes,
            Some(Logical::Bits {
                length: col.length.unwrap_or(64),
            }),
        ),
        (Date, _) => (ConnectType::Int32, Some(Logical::Date)),
        (Time, _) => (ConnectType::Int64, Some(Logical::MicroTime)),
        (DateTime, _) if fsp(col) <= 3 => (ConnectType::Int64, Some(Logical::Timestamp)),
        (DateTime, _) => (ConnectType::Int64, Some(Logical::MicroTimestamp)),
        (Timestamp, _) => (ConnectType::String, Some(Logical::ZonedTimestamp)),
        (Year, _) => (ConnectType::Int32, Some(Logical::Year)),
        (Char, _) | (VarChar, _) | (TinyText, _) | (Text, _) | (MediumText, _) | (LongText, _) => {
            (ConnectType::String, None)
        }
        (Json, _) => (ConnectType::String, Some(Logical::Json)),
        (Enum, _) => (ConnectType::String, Some(Logical::Enum)),
        (Set, _) => (ConnectType::String, Some(Logical::EnumSet)),
        (Binary, _)
        | (VarBinary, _)
        | (TinyBlob, _)
        | (Blob, _)
        | (MediumBlob, _)
        | (LongBlob, _) => (ConnectType::Bytes, None),
        (Geometry, _) => (ConnectType::Struct, Some(Logical::Geometry)),
    };
    ColumnSchema {
        column: col,
        ty,
        logical,
        optional: col.nullable,
    }
}

/// [`column_schema`] as `connector` declares it: Debezium's MariaDB connector reads
/// MariaDB's JSON (a LONGTEXT with a `json_valid` check) as a plain string.
pub fn connector_column_schema(
    col: &Column,
    decimal: DecimalHandling,
    connector: super::Connector,
) -> ColumnSchema<'_> {
    let mut cs = column_schema(col, decimal);
    if connector == super::Connector::MariaDb && cs.logical == Some(Logical::Json) {
        cs.logical = None;
    }
    cs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: ColumnType, column_type: &str) -> Column {
        Column {
            column_type: column_type.into(),
            unsigned: column_type.contains("unsigned"),
            ..Column::new("c", kind)
        }
    }

    #[test]
    fn integers_widen_like_debezium() {
        let ty = |kind, t| column_schema(&col(kind, t), DecimalHandling::Precise).ty;
        assert_eq!(ty(ColumnType::TinyInt, "tinyint(1)"), ConnectType::Int16);
        assert_eq!(
            ty(ColumnType::TinyInt, "tinyint unsigned"),
            ConnectType::Int16
        );
        assert_eq!(
            ty(ColumnType::SmallInt, "smallint unsigned"),
            ConnectType::Int32
        );
        assert_eq!(
            ty(ColumnType::MediumInt, "mediumint unsigned"),
            ConnectType::Int32
        );
        assert_eq!(ty(ColumnType::Int, "int unsigned"), ConnectType::Int64);
        assert_eq!(
            ty(ColumnType::BigInt, "bigint unsigned"),
            ConnectType::Int64
        );
        assert_eq!(ty(ColumnType::Float, "float(7,3)"), ConnectType::Float64);
        assert_eq!(ty(ColumnType::Float, "float"), ConnectType::Float32);
    }

    #[test]
    fn temporal_precision_picks_the_logical_type() {
        let mut dt = col(ColumnType::DateTime, "datetime(3)");
        dt.fsp = Some(3);
        assert_eq!(
            column_schema(&dt, DecimalHandling::Precise).logical,
            Some(Logical::Timestamp)
        );
        dt.fsp = Some(4);
        assert_eq!(
            column_schema(&dt, DecimalHandling::Precise).logical,
            Some(Logical::MicroTimestamp)
        );
    }
}
