//! Metadata reader against the real MariaDB and seekdb (OceanBase 4.3) services.
//! Needs `scripts/services up`; fails when the services are down.

mod common;

use common::endpoint;
use mysql_async::prelude::Queryable;
use obsync_model::{ColumnType, Date, KeySource, TableId, Time, Value};
use obsync_source::metadata::{MetadataError, MetadataReader, TableKind};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::unique_name;

/// Creates a fresh database on `flavor`'s server and runs `ddl` in it.
async fn database_with(flavor: SourceFlavor, ddl: &[&str]) -> (SourceEndpoint, String) {
    let ep = endpoint(flavor);
    let db = unique_name("meta");
    let mut conn = ep.connect().await.expect("connect");
    conn.query_drop(format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    conn.query_drop(format!("USE {db}")).await.unwrap();
    for stmt in ddl {
        conn.query_drop(*stmt)
            .await
            .unwrap_or_else(|e| panic!("{stmt}: {e}"));
    }
    (ep, db)
}

async fn drop_database(ep: &SourceEndpoint, db: &str) {
    let mut conn = ep.connect().await.unwrap();
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}

const KEY_TABLES: &[&str] = &[
    "CREATE TABLE pk (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v VARCHAR(10)) COMMENT 'leaks into INDEX_COMMENT on seekdb'",
    "CREATE TABLE cpk (a INT NOT NULL, b VARCHAR(20) NOT NULL, c INT, PRIMARY KEY (b, a))",
    "CREATE TABLE uk (a INT, b INT NOT NULL, c INT NOT NULL, d INT, UNIQUE KEY uk_nullable (a), UNIQUE KEY uk_bc (c, b), KEY ix_d (d))",
    "CREATE TABLE nokey (a INT, b TEXT)",
    "CREATE VIEW v_pk AS SELECT id FROM pk",
];

async fn keys_are_read_in_declared_order(flavor: SourceFlavor) {
    let (ep, db) = database_with(flavor, KEY_TABLES).await;
    let reader = MetadataReader::from_endpoint(&ep);

    let pk = reader.table_meta(&TableId::new(&db, "pk")).await.unwrap();
    assert_eq!(pk.key_source, KeySource::PrimaryKey);
    assert_eq!(pk.key, vec![0]);
    assert!(pk.columns[0].unsigned);
    assert_eq!(pk.columns[0].kind, ColumnType::BigInt);

    // Composite key declared (b, a): key order is the index order, not the column order.
    let cpk = reader.table_meta(&TableId::new(&db, "cpk")).await.unwrap();
    assert_eq!(cpk.key_source, KeySource::PrimaryKey);
    assert_eq!(cpk.key, vec![1, 0]);
    assert_eq!(cpk.primary_key, vec![1, 0]);

    // The nullable unique key is skipped; uk_bc is (c, b) in index order.
    let uk = reader.table_meta(&TableId::new(&db, "uk")).await.unwrap();
    assert_eq!(uk.key_source, KeySource::UniqueKey);
    assert_eq!(uk.key, vec![2, 1]);
    assert!(uk.primary_key.is_empty());
    assert_eq!(uk.unique_keys, vec![vec![0], vec![2, 1]]);

    // OceanBase keys this table by a hidden __pk_increment that SQL cannot see.
    let nokey = reader
        .table_meta(&TableId::new(&db, "nokey"))
        .await
        .unwrap();
    assert_eq!(nokey.key_source, KeySource::AllColumns);
    assert_eq!(nokey.key, vec![0, 1]);
    assert_eq!(
        nokey
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );

    let listing = reader
        .list_tables(Some(std::slice::from_ref(&db)))
        .await
        .unwrap();
    let kinds: Vec<(&str, &TableKind)> = listing
        .iter()
        .map(|l| (l.id.table.as_str(), &l.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("cpk", &TableKind::Table),
            ("nokey", &TableKind::Table),
            ("pk", &TableKind::Table),
            ("uk", &TableKind::Table),
            ("v_pk", &TableKind::View),
        ]
    );
    let err = reader
        .table_meta(&TableId::new(&db, "v_pk"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            MetadataError::NotATable {
                kind: TableKind::View,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("is a view, not a physical table"),
        "{err}"
    );

    let err = reader
        .table_meta(&TableId::new(&db, "missing"))
        .await
        .unwrap_err();
    assert!(matches!(err, MetadataError::TableNotFound { .. }), "{err}");

    assert!(reader.list_databases().await.unwrap().contains(&db));
    let info = reader.server_info().await.unwrap();
    assert_eq!(info.flavor, flavor);
    drop_database(&ep, &db).await;
}

#[tokio::test]
async fn mariadb_keys_are_read_in_declared_order() {
    keys_are_read_in_declared_order(SourceFlavor::MariaDb).await;
}

#[tokio::test]
async fn seekdb_keys_are_read_in_declared_order() {
    keys_are_read_in_declared_order(SourceFlavor::OceanBase).await;
}

const TYPE_TABLE: &str = "CREATE TABLE types (
    id INT NOT NULL PRIMARY KEY,
    iu INT UNSIGNED NOT NULL,
    de DECIMAL(65,30),
    b1 BIT(1),
    b64 BIT(64),
    dt DATETIME(6),
    ts TIMESTAMP(3) NULL DEFAULT NULL,
    tm TIME(2),
    da DATE,
    vc VARCHAR(64) CHARACTER SET utf8mb4,
    bn BINARY(4),
    vb VARBINARY(16),
    e ENUM('a','it''s','b\\\\c','中'),
    s SET('x','y','z'),
    j JSON
)";

async fn column_attributes_come_from_information_schema(flavor: SourceFlavor) {
    let (ep, db) = database_with(flavor, &[TYPE_TABLE]).await;
    let reader = MetadataReader::from_endpoint(&ep);
    // seekdb stores names in lower case (lower_case_table_names=1) and resolves any case,
    // as its SQL does; MariaDB here runs with lower_case_table_names=0, where `TYPES`
    // is a different (missing) table.
    let asked = match flavor {
        SourceFlavor::OceanBase => "TYPES",
        _ => "types",
    };
    let meta = reader.table_meta(&TableId::new(&db, asked)).await.unwrap();
    assert_eq!(meta.id, TableId::new(&db, "types"));
    let c = |name: &str| meta.columns[meta.column_index(name).unwrap()].clone();

    assert!(c("iu").unsigned && !c("iu").nullable);
    assert_eq!((c("de").precision, c("de").scale), (Some(65), Some(30)));
    assert_eq!(c("b1").length, Some(1));
    assert_eq!(c("b64").length, Some(64));
    assert_eq!(c("dt").fsp, Some(6));
    assert_eq!(c("ts").fsp, Some(3));
    assert_eq!(c("tm").fsp, Some(2));
    assert_eq!(c("da").fsp, None);
    assert_eq!(c("vc").length, Some(64));
    assert_eq!(c("vc").charset.as_deref(), Some("utf8mb4"));
    assert_eq!(c("bn").length, Some(4));
    assert_eq!(c("bn").kind, ColumnType::Binary);
    assert_eq!(c("vb").length, Some(16));
    assert_eq!(c("e").kind, ColumnType::Enum);
    assert_eq!(c("e").labels, ["a", "it's", "b\\c", "中"]);
    assert_eq!(c("s").labels, ["x", "y", "z"]);
    // MariaDB: LONGTEXT with a json_valid() check; seekdb: a real JSON type.
    assert_eq!(c("j").kind, ColumnType::Json);
    drop_database(&ep, &db).await;
}

#[tokio::test]
async fn mariadb_column_attributes_come_from_information_schema() {
    column_attributes_come_from_information_schema(SourceFlavor::MariaDb).await;
}

#[tokio::test]
async fn seekdb_column_attributes_come_from_information_schema() {
    column_attributes_come_from_information_schema(SourceFlavor::OceanBase).await;
}

#[tokio::test]
async fn mariadb_unsupported_type_names_table_column_and_type() {
    let (ep, db) = database_with(
        SourceFlavor::MariaDb,
        &["CREATE TABLE odd (id INT PRIMARY KEY, addr INET6)"],
    )
    .await;
    let err = MetadataReader::from_endpoint(&ep)
        .table_meta(&TableId::new(&db, "odd"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, MetadataError::UnsupportedType { .. }),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("column addr of table {db}.odd has type inet6")),
        "{msg}"
    );
    drop_database(&ep, &db).await;
}

#[tokio::test]
async fn seekdb_unsupported_type_names_table_column_and_type() {
    let (ep, db) = database_with(
        SourceFlavor::OceanBase,
        &["CREATE TABLE odd (id INT PRIMARY KEY, emb VECTOR(3))"],
    )
    .await;
    let err = MetadataReader::from_endpoint(&ep)
        .table_meta(&TableId::new(&db, "odd"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("column emb of table {db}.odd has type VECTOR(3)")),
        "{msg}"
    );
    drop_database(&ep, &db).await;
}

/// Constant defaults become typed values; NULL, expressions and BIT defaults none.
async fn constant_defaults_are_read(flavor: SourceFlavor) {
    let (ep, db) = database_with(
        flavor,
        &[
            "CREATE TABLE d (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 5, \
           s VARCHAR(10) DEFAULT 'it''s', e ENUM('x','y') NOT NULL DEFAULT 'y', \
           dt DATE NOT NULL DEFAULT '2000-01-01', dec1 DECIMAL(6,2) DEFAULT 1.50, \
           ts TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP, n INT DEFAULT NULL, \
           b BIT(3) DEFAULT b'101', t TIME DEFAULT '-01:02:03')",
        ],
    )
    .await;
    let reader = MetadataReader::from_endpoint(&ep);
    let meta = reader.table_meta(&TableId::new(&db, "d")).await.unwrap();
    let default = |name: &str| {
        meta.columns[meta.column_index(name).unwrap()]
            .default
            .clone()
            .map(|d| d.0)
    };
    assert_eq!(default("id"), None);
    assert_eq!(default("a"), Some(Value::Int(5)));
    assert_eq!(default("s"), Some(Value::Text("it's".into())));
    assert_eq!(default("e"), Some(Value::Text("y".into())));
    assert_eq!(
        default("dt"),
        Some(Value::Date(Date {
            year: 2000,
            month: 1,
            day: 1
        }))
    );
    assert_eq!(default("dec1"), Some(Value::Decimal("1.50".into())));
    assert_eq!(default("ts"), None);
    assert_eq!(default("n"), None);
    assert_eq!(default("b"), None);
    assert_eq!(
        default("t"),
        Some(Value::Time(Time {
            negative: true,
            hours: 1,
            minutes: 2,
            seconds: 3,
            micros: 0
        }))
    );
    drop_database(&ep, &db).await;
}

#[tokio::test]
async fn mariadb_constant_defaults_are_read() {
    constant_defaults_are_read(SourceFlavor::MariaDb).await
}

#[tokio::test]
async fn seekdb_constant_defaults_are_read() {
    constant_defaults_are_read(SourceFlavor::OceanBase).await
}
