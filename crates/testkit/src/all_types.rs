//! The type-matrix table `types` the end-to-end tests share: one column of every
//! MySQL type obsync maps, and rows at the edges of each. Zero dates are left out on
//! purpose: DataWorks rejects them by default (`dataworks_temporal`), and the format
//! unit tests cover them.

/// `CREATE TABLE types (…)`: `id INT PRIMARY KEY` and one column per type.
pub const DDL: &str = "CREATE TABLE types (
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
    bi BIGINT, biu BIGINT UNSIGNED,
    dec65 DECIMAL(65,30), f FLOAT, d DOUBLE, b1 BIT(1), b64 BIT(64),
    dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), y YEAR,
    s VARCHAR(64), c CHAR(8), bin BINARY(4), vb VARBINARY(16), blb BLOB, txt TEXT,
    e ENUM('a','b','c'), st SET('x','y','z'), j JSON
) CHARACTER SET utf8mb4";

/// Every column of `types` but `id`, for copying rows
/// (`INSERT INTO types (id, {COLUMNS}) SELECT id + 1000, {COLUMNS} FROM types`).
pub const COLUMNS: &str = "ti, tiu, si, siu, mi, miu, i, iu, bi, biu, dec65, f, d, b1, b64, \
    dt, dtm, ts, tm, y, s, c, bin, vb, blb, txt, e, st, j";

/// Edge rows (ids 1..=4): minimums, maximums, NULLs, and odd strings and bytes.
pub const EDGE_ROWS: &[&str] = &[
    "INSERT INTO types VALUES (1,
        -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
        '-99999999999999999999999999999999999.999999999999999999999999999999',
        -3.40282e38, -1.7976931348623157e308, b'0', b'0',
        '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000',
        '-838:59:59.000000', 0,
        '', '', X'00000000', X'', X'00', '',
        'a', '', '{}')",
    "INSERT INTO types VALUES (2,
        127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
        9223372036854775807, 18446744073709551615,
        '99999999999999999999999999999999999.999999999999999999999999999999',
        3.40282e38, 1.7976931348623157e308, b'1',
        b'1111111111111111111111111111111111111111111111111111111111111111',
        '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999',
        '838:59:59.000000', 2155,
        '😀 emoji 中文 \"quoted\" \\\\ back', 'abcdefgh', X'00FF7F80', X'DEADBEEF00',
        X'00FF00FE', 'line1\\nline2\\ttab',
        'c', 'x,y,z', '{\"k\": \"中文😀\", \"n\": [1, 2.5, null, true], \"o\": {\"a\": \"\\\\u0001\"}}')",
    "INSERT INTO types (id) VALUES (3)",
    "INSERT INTO types VALUES (4,
        -1, 1, -1, 1, -1, 1, -1, 1, -1, 1,
        '0.000000000000000000000000000001', 0.1, 0.1, b'1', b'1000000000000000000000000000000000000000000000000000000000000001',
        '2024-02-29', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.654321',
        '-00:00:00.000001', 1901,
        ' lead and trail ', 'c', X'01000000', X'00', X'', 'ÄÖÜ ß 𝄞',
        'b', 'y', '[]')",
];
