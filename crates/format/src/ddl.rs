//! DDL kinds: OMS `ddlType` text and Canal/DataWorks event types.

/// What a DDL statement does, read from its leading keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DdlKind {
    CreateTable,
    AlterTable,
    DropTable,
    RenameTable,
    TruncateTable,
    CreateIndex,
    DropIndex,
    CreateDatabase,
    AlterDatabase,
    DropDatabase,
    /// Anything else (views, procedures, grants, …).
    Other,
}

impl DdlKind {
    /// Classifies a statement by its first keywords, skipping whitespace and comments.
    pub fn classify(statement: &str) -> DdlKind {
        let mut words = Keywords { rest: statement };
        let first = words.next_upper();
        let mut second = words.next_upper();
        // CREATE [TEMPORARY] TABLE, CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX,
        // CREATE [ONLINE|OFFLINE] INDEX (MariaDB/OB spellings)
        while matches!(
            second.as_deref(),
            Some("TEMPORARY" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "ONLINE" | "OFFLINE" | "IGNORE")
        ) {
            second = words.next_upper();
        }
        match (first.as_deref(), second.as_deref()) {
            (Some("CREATE"), Some("TABLE")) => DdlKind::CreateTable,
            (Some("ALTER"), Some("TABLE")) => DdlKind::AlterTable,
            (Some("DROP"), Some("TABLE")) => DdlKind::DropTable,
            (Some("RENAME"), Some("TABLE")) => DdlKind::RenameTable,
            (Some("TRUNCATE"), _) => DdlKind::TruncateTable,
            (Some("CREATE"), Some("INDEX")) => DdlKind::CreateIndex,
            (Some("DROP"), Some("INDEX")) => DdlKind::DropIndex,
            (Some("CREATE"), Some("DATABASE" | "SCHEMA")) => DdlKind::CreateDatabase,
            (Some("ALTER"), Some("DATABASE" | "SCHEMA")) => DdlKind::AlterDatabase,
            (Some("DROP"), Some("DATABASE" | "SCHEMA")) => DdlKind::DropDatabase,
            _ => DdlKind::Other,
        }
    }

    /// OMS `allMetaData.ddlType`: SQL keywords separated by a space, as consumers
    /// (wentaojin/dbms) match them to refresh their metadata.
    pub fn oms_type(self) -> &'static str {
        match self {
            DdlKind::CreateTable => "CREATE TABLE",
            DdlKind::AlterTable => "ALTER TABLE",
            DdlKind::DropTable => "DROP TABLE",
            DdlKind::RenameTable => "RENAME TABLE",
            DdlKind::TruncateTable => "TRUNCATE TABLE",
            DdlKind::CreateIndex => "CREATE INDEX",
            DdlKind::DropIndex => "DROP INDEX",
            DdlKind::CreateDatabase => "CREATE DATABASE",
            DdlKind::AlterDatabase => "ALTER DATABASE",
            DdlKind::DropDatabase => "DROP DATABASE",
            DdlKind::Other => "OTHER",
        }
    }

    /// Canal `EventType` (also DataWorks `op` for DDL).
    pub fn canal_type(self) -> &'static str {
        match self {
            DdlKind::CreateTable => "CREATE",
            DdlKind::AlterTable => "ALTER",
            DdlKind::DropTable => "ERASE",
            DdlKind::RenameTable => "RENAME",
            DdlKind::TruncateTable => "TRUNCATE",
            DdlKind::CreateIndex => "CINDEX",
            DdlKind::DropIndex => "DINDEX",
            DdlKind::CreateDatabase
            | DdlKind::AlterDatabase
            | DdlKind::DropDatabase
            | DdlKind::Other => "QUERY",
        }
    }
}

/// Iterates the leading words of a statement, skipping `/* */`, `-- ` and `#` comments.
struct Keywords<'a> {
    rest: &'a str,
}

impl Keywords<'_> {
    fn next_upper(&mut self) -> Option<String> {
        loop {
            self.rest = self.rest.trim_start();
            if let Some(r) = self.rest.strip_prefix("/*") {
                self.rest = r.split_once("*/").map_or("", |(_, after)| after);
            } else if self.rest.starts_with("--") || self.rest.starts_with('#') {
                self.rest = self.rest.split_once('\n').map_or("", |(_, after)| after);
            } else {
                break;
            }
        }
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let word = self.rest[..end].to_ascii_uppercase();
        self.rest = &self.rest[end..];
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_leading_keywords() {
        let cases = [
            ("ALTER TABLE t ADD c INT", DdlKind::AlterTable),
            ("  /* x */ create\ttable t (a int)", DdlKind::CreateTable),
            ("CREATE TEMPORARY TABLE t (a int)", DdlKind::CreateTable),
            ("drop table if exists t", DdlKind::DropTable),
            ("RENAME TABLE a TO b", DdlKind::RenameTable),
            ("TRUNCATE t", DdlKind::TruncateTable),
            ("CREATE UNIQUE INDEX i ON t (a)", DdlKind::CreateIndex),
            ("DROP INDEX i ON t", DdlKind::DropIndex),
            ("CREATE SCHEMA s", DdlKind::CreateDatabase),
            ("-- c\nDROP DATABASE d", DdlKind::DropDatabase),
            ("CREATE VIEW v AS SELECT 1", DdlKind::Other),
            ("", DdlKind::Other),
        ];
        for (sql, kind) in cases {
            assert_eq!(DdlKind::classify(sql), kind, "{sql}");
        }
        assert_eq!(DdlKind::DropTable.canal_type(), "ERASE");
        assert_eq!(DdlKind::AlterTable.oms_type(), "ALTER TABLE");
    }
}
