//! Table identity and column metadata, read from information_schema by the source.

use crate::Value;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A physical table: `database.table` (the OceanBase tenant lives in the project, not here).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableId {
    pub database: String,
    pub table: String,
}

impl TableId {
    pub fn new(database: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            table: table.into(),
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// The base MySQL type of a column, without length, precision or attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    TinyInt,
    SmallInt,
    MediumInt,
    Int,
    BigInt,
    Decimal,
    Float,
    Double,
    Bit,
    Date,
    DateTime,
    Timestamp,
    Time,
    Year,
    Char,
    VarChar,
    Binary,
    VarBinary,
    TinyText,
    Text,
    MediumText,
    LongText,
    TinyBlob,
    Blob,
    MediumBlob,
    LongBlob,
    Enum,
    Set,
    Json,
    Geometry,
}

impl ColumnType {
    /// Parses the `DATA_TYPE` column of `information_schema.COLUMNS` (case-insensitive).
    /// Returns `None` for a type obsync does not support yet.
    pub fn from_data_type(data_type: &str) -> Option<Self> {
        use ColumnType::*;
        Some(match data_type.to_ascii_lowercase().as_str() {
            "tinyint" | "bool" | "boolean" => TinyInt,
            "smallint" => SmallInt,
            "mediumint" => MediumInt,
            "int" | "integer" => Int,
            "bigint" => BigInt,
            "decimal" | "numeric" => Decimal,
            "float" => Float,
            "double" | "real" => Double,
            "bit" => Bit,
            "date" => Date,
            "datetime" => DateTime,
            "timestamp" => Timestamp,
            "time" => Time,
            "year" => Year,
            "char" => Char,
            "varchar" => VarChar,
            "binary" => Binary,
            "varbinary" => VarBinary,
            "tinytext" => TinyText,
            "text" => Text,
            "mediumtext" => MediumText,
            "longtext" => LongText,
            "tinyblob" => TinyBlob,
            "blob" => Blob,
            "mediumblob" => MediumBlob,
            "longblob" => LongBlob,
            "enum" => Enum,
            "set" => Set,
            "json" => Json,
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" | "geomcollection" => Geometry,
            _ => return None,
        })
    }

    /// Upper-case type name as OMS writes it in `__light_type.schemaType`.
    pub fn name(self) -> &'static str {
        use ColumnType::*;
        match self {
            TinyInt => "TINYINT",
            SmallInt => "SMALLINT",
            MediumInt => "MEDIUMINT",
            Int => "INT",
            BigInt => "BIGINT",
            Decimal => "DECIMAL",
            Float => "FLOAT",
            Double => "DOUBLE",
            Bit => "BIT",
            Date => "DATE",
            DateTime => "DATETIME",
            Timestamp => "TIMESTAMP",
            Time => "TIME",
            Year => "YEAR",
            Char => "CHAR",
            VarChar => "VARCHAR",
            Binary => "BINARY",
            VarBinary => "VARBINARY",
            TinyText => "TINYTEXT",
            Text => "TEXT",
            MediumText => "MEDIUMTEXT",
            LongText => "LONGTEXT",
            TinyBlob => "TINYBLOB",
            Blob => "BLOB",
            MediumBlob => "MEDIUMBLOB",
            LongBlob => "LONGBLOB",
            Enum => "ENUM",
            Set => "SET",
            Json => "JSON",
            Geometry => "GEOMETRY",
        }
    }

    /// True for types whose values are raw bytes (rendered as Base64 by OMS formats).
    pub fn is_binary(self) -> bool {
        use ColumnType::*;
        matches!(
            self,
            Binary | VarBinary | TinyBlob | Blob | MediumBlob | LongBlob | Geometry
        )
    }

    pub fn is_integer(self) -> bool {
        use ColumnType::*;
        matches!(self, TinyInt | SmallInt | MediumInt | Int | BigInt)
    }
}

/// One column as declared at the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: ColumnType,
    /// The full declared type, e.g. `int(10) unsigned`, `decimal(10,2)` (`COLUMN_TYPE`).
    pub column_type: String,
    pub unsigned: bool,
    pub nullable: bool,
    /// Character length for strings, byte length for BINARY/VARBINARY, bit width for BIT.
    pub length: Option<u64>,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    /// Fractional-seconds precision of DATETIME/TIMESTAMP/TIME (0..=6).
    pub fsp: Option<u8>,
    pub charset: Option<String>,
    /// ENUM/SET labels in declaration order (ENUM index 1 is `labels[0]`).
    pub labels: Vec<String>,
    /// The declared default when it is a constant (`COLUMN_DEFAULT`); `None` for no
    /// default, `DEFAULT NULL`, an expression (`CURRENT_TIMESTAMP`, `uuid()`), or where
    /// the source did not report it (columns from a parsed DDL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ColumnDefault>,
}

/// A column's constant default, as a value of the column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ColumnDefault(pub Value);

/// Defaults are never NaN (the servers cannot store one), so equality is total and
/// `Column` stays `Eq`.
impl Eq for ColumnDefault {}

impl Column {
    /// A nullable column of `kind` declared as the type's plain name (`int`, `varchar`),
    /// no length, precision, charset or labels: a base for `Column { .., ..Column::new() }`.
    pub fn new(name: impl Into<String>, kind: ColumnType) -> Self {
        Self {
            name: name.into(),
            kind,
            column_type: kind.name().to_ascii_lowercase(),
            unsigned: false,
            nullable: true,
            length: None,
            precision: None,
            scale: None,
            fsp: None,
            charset: None,
            labels: vec![],
            default: None,
        }
    }
}

/// Where a table's row identity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeySource {
    PrimaryKey,
    /// No primary key: the first unique key whose columns are all NOT NULL.
    UniqueKey,
    /// No usable key: every column identifies the row.
    AllColumns,
}

/// A table's metadata at one schema version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMeta {
    pub id: TableId,
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the row identity (see `key_source`). Never empty.
    pub key: Vec<usize>,
    pub key_source: KeySource,
    /// Indexes of the declared primary key (empty when the table has none).
    pub primary_key: Vec<usize>,
    /// Unique keys as column-index lists.
    pub unique_keys: Vec<Vec<usize>>,
    /// The server's row-count estimate (may be 0 before statistics exist).
    pub estimated_rows: u64,
}

impl TableMeta {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Chooses the row identity from the keys: primary key, else a NOT NULL unique key,
    /// else all columns.
    pub fn choose_key(
        columns: &[Column],
        primary_key: &[usize],
        unique_keys: &[Vec<usize>],
    ) -> (Vec<usize>, KeySource) {
        if !primary_key.is_empty() {
            return (primary_key.to_vec(), KeySource::PrimaryKey);
        }
        if let Some(uk) = unique_keys
            .iter()
            .find(|uk| !uk.is_empty() && uk.iter().all(|&i| !columns[i].nullable))
        {
            return (uk.clone(), KeySource::UniqueKey);
        }
        ((0..columns.len()).collect(), KeySource::AllColumns)
    }
}
