//! Which tables a DDL statement from a binlog Query event touches.
//!
//! This is deliberately a minimal reader of the statement's head, not a SQL parser: it
//! recognises `CREATE/ALTER/DROP/TRUNCATE/RENAME TABLE`, `CREATE/DROP INDEX … ON`,
//! `ALTER TABLE … RENAME [TO] …` and `CREATE/ALTER/DROP DATABASE|SCHEMA`. Anything it
//! cannot place is reported as [`DdlScope::Database`] of the session's default
//! database, so the caller invalidates that whole database's cached metadata (the next
//! table map re-reads it) rather than trusting a guess.

use obsync_model::TableId;

/// What kind of statement a Query event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryKind {
    Begin,
    Commit,
    /// `ROLLBACK` as a transaction end: MariaDB writes it for transactions that touched
    /// non-transactional tables (whose changes did take effect).
    Rollback,
    /// `XA START|END|PREPARE|COMMIT|ROLLBACK …`.
    Xa(XaVerb),
    /// A DDL statement and what it touches.
    Ddl(DdlScope),
    /// Anything else (GRANT, CREATE USER, SAVEPOINT, FLUSH, views, routines…): no table
    /// metadata changes.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XaVerb {
    Start,
    End,
    Prepare,
    Commit,
    Rollback,
}

/// The tables a DDL statement affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DdlScope {
    /// These tables (for a rename: old names, then new names).
    Tables(Vec<TableId>),
    /// `RENAME TABLE a TO b` / `ALTER TABLE a RENAME TO b`: `(from, to)` pairs.
    Rename(Vec<(TableId, TableId)>),
    /// A whole database (database DDL, or a table statement this reader cannot place).
    Database(String),
}

/// Classifies `sql`, run with default database `schema`.
pub(crate) fn classify(schema: &str, sql: &str) -> QueryKind {
    let mut t = Tokens::new(sql);
    let Some(first) = t.word() else {
        return QueryKind::Other;
    };
    match first.as_str() {
        "BEGIN" => QueryKind::Begin,
        "START" if t.peek_word().as_deref() == Some("TRANSACTION") => QueryKind::Begin,
        "COMMIT" => QueryKind::Commit,
        "ROLLBACK" if t.peek_word().as_deref() != Some("TO") => QueryKind::Rollback,
        "XA" => match t.word().as_deref() {
            Some("START") | Some("BEGIN") => QueryKind::Xa(XaVerb::Start),
            Some("END") => QueryKind::Xa(XaVerb::End),
            Some("PREPARE") => QueryKind::Xa(XaVerb::Prepare),
            Some("COMMIT") => QueryKind::Xa(XaVerb::Commit),
            Some("ROLLBACK") => QueryKind::Xa(XaVerb::Rollback),
            _ => QueryKind::Other,
        },
        "CREATE" | "ALTER" | "DROP" => object_ddl(schema, &first, &mut t),
        "TRUNCATE" => {
            t.skip_words(&["TABLE"]);
            table_list(schema, &mut t, false)
        }
        "RENAME" => match t.word().as_deref() {
            Some("TABLE") | Some("TABLES") => rename_list(schema, &mut t),
            _ => QueryKind::Other,
        },
        _ => QueryKind::Other,
    }
}

fn object_ddl(schema: &str, verb: &str, t: &mut Tokens<'_>) -> QueryKind {
    // Modifiers that may stand between the verb and the object kind.
    t.skip_words(&[
        "OR",
        "REPLACE",
        "TEMPORARY",
        "ONLINE",
        "OFFLINE",
        "IGNORE",
        "UNIQUE",
        "FULLTEXT",
        "SPATIAL",
    ]);
    match t.word().as_deref() {
        Some("TABLE") => {
            t.skip_words(&["IF", "NOT", "EXISTS"]);
            if verb == "ALTER" {
                alter_table(schema, t)
            } else {
                table_list(schema, t, verb == "DROP")
            }
        }
        Some("INDEX") => {
            // CREATE INDEX i [USING …] ON t (…) / DROP INDEX [IF EXISTS] i ON t
            while let Some(w) = t.word() {
                if w == "ON" {
                    return table_list(schema, t, false);
                }
            }
            QueryKind::Ddl(DdlScope::Database(schema.to_string()))
        }
        Some("DATABASE") | Some("SCHEMA") => {
            t.skip_words(&["IF", "NOT", "EXISTS"]);
            match t.ident() {
                Some(db) => QueryKind::Ddl(DdlScope::Database(db)),
                None => QueryKind::Ddl(DdlScope::Database(schema.to_string())),
            }
        }
        _ => QueryKind::Other,
    }
}

fn alter_table(schema: &str, t: &mut Tokens<'_>) -> QueryKind {
    let Some(from) = t.table(schema) else {
        return QueryKind::Ddl(DdlScope::Database(schema.to_string()));
    };
    // `ALTER TABLE a …, RENAME [TO|AS] b`: scan the words for a RENAME of the table itself
    // (not RENAME COLUMN/INDEX/KEY).
    while let Some(w) = t.next_token() {
        if w.eq_ignore_ascii_case("RENAME") {
            match t.peek_word().as_deref() {
                Some("COLUMN") | Some("INDEX") | Some("KEY") | Some("CONSTRAINT") => continue,
                _ => {}
            }
            t.skip_words(&["TO", "AS"]);
            return match t.table(&from.database) {
                Some(to) => QueryKind::Ddl(DdlScope::Rename(vec![(from, to)])),
                None => QueryKind::Ddl(DdlScope::Database(from.database)),
            };
        }
    }
    QueryKind::Ddl(DdlScope::Tables(vec![from]))
}

fn table_list(schema: &str, t: &mut Tokens<'_>, many: bool) -> QueryKind {
    let mut tables = Vec::new();
    loop {
        match t.table(schema) {
            Some(id) => tables.push(id),
            None => return QueryKind::Ddl(DdlScope::Database(schema.to_string())),
        }
        if !(many && t.eat(',')) {
            break;
        }
    }
    QueryKind::Ddl(DdlScope::Tables(tables))
}

fn rename_list(schema: &str, t: &mut Tokens<'_>) -> QueryKind {
    let mut pairs = Vec::new();
    loop {
        let from = t.table(schema);
        let to = if t.word().as_deref() == Some("TO") {
            t.table(schema)
        } else {
            None
        };
        match (from, to) {
            (Some(f), Some(to)) => pairs.push((f, to)),
            _ => return QueryKind::Ddl(DdlScope::Database(schema.to_string())),
        }
        if !t.eat(',') {
            break;
        }
    }
    QueryKind::Ddl(DdlScope::Rename(pairs))
}

/// A tiny tokenizer over identifiers, words and punctuation that skips comments.
struct Tokens<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Self {
        Self { s, i: 0 }
    }

    fn skip_space(&mut self) {
        let b = self.s.as_bytes();
        loop {
            while self.i < b.len() && b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            let rest = &self.s[self.i..];
            if rest.starts_with("/*") {
                // `/*!50001 … */` version comments hold real SQL on MySQL; their content
                // is read as tokens by skipping just the opener.
                if rest.starts_with("/*!") || rest.starts_with("/*M!") {
                    let digits = rest[3..]
                        .trim_start_matches('!')
                        .bytes()
                        .take_while(u8::is_ascii_digit)
                        .count();
                    self.i += rest.find('!').map_or(3, |p| p + 1) + digits;
                } else {
                    self.i += rest.find("*/").map_or(rest.len(), |p| p + 2);
                }
            } else if rest.starts_with("*/") {
                self.i += 2;
            } else if rest.starts_with("-- ") || rest.starts_with('#') {
                self.i += rest.find('\n').map_or(rest.len(), |p| p + 1);
            } else {
                return;
            }
        }
    }

    /// The next raw token: an identifier/word, a quoted identifier (unquoted), or one
    /// punctuation character.
    fn next_token(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.s[self.i..];
        let c = rest.chars().next()?;
        if c == '\'' {
            // A string literal (COMMENT '…'): skipped whole so its words are not read.
            let mut chars = rest.char_indices().skip(1).peekable();
            while let Some((p, ch)) = chars.next() {
                if ch == '\\' {
                    chars.next();
                } else if ch == '\'' {
                    if chars.peek().map(|&(_, n)| n) == Some('\'') {
                        chars.next();
                        continue;
                    }
                    self.i += p + 1;
                    return Some("'".to_string());
                }
            }
            self.i = self.s.len();
            return Some("'".to_string());
        }
        if c == '`' || c == '"' {
            let mut out = String::new();
            let mut chars = rest.char_indices().skip(1).peekable();
            while let Some((p, ch)) = chars.next() {
                if ch == c {
                    if chars.peek().map(|&(_, n)| n) == Some(c) {
                        out.push(c);
                        chars.next();
                        continue;
                    }
                    self.i += p + 1;
                    return Some(out);
                }
                out.push(ch);
            }
            self.i = self.s.len();
            return Some(out);
        }
        if c.is_alphanumeric() || c == '_' || c == '$' {
            let len = rest
                .char_indices()
                .find(|&(_, ch)| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
                .map_or(rest.len(), |(p, _)| p);
            self.i += len;
            return Some(rest[..len].to_string());
        }
        self.i += c.len_utf8();
        Some(c.to_string())
    }

    /// The next token, upper-cased, if it is a bare word.
    fn word(&mut self) -> Option<String> {
        self.skip_space();
        let c = self.s[self.i..].chars().next()?;
        if c.is_alphabetic() || c == '_' {
            self.next_token().map(|w| w.to_ascii_uppercase())
        } else {
            None
        }
    }

    fn peek_word(&mut self) -> Option<String> {
        let save = self.i;
        let w = self.word();
        self.i = save;
        w
    }

    fn skip_words(&mut self, words: &[&str]) {
        while let Some(w) = self.peek_word() {
            if words.contains(&w.as_str()) {
                self.word();
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.s[self.i..].starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let c = self.s[self.i..].chars().next()?;
        if c == '`' || c == '"' || c.is_alphanumeric() || c == '_' || c == '$' {
            self.next_token()
        } else {
            None
        }
    }

    /// `name` or `db.name`, qualified with `schema` when bare.
    fn table(&mut self, schema: &str) -> Option<TableId> {
        let first = self.ident()?;
        if self.eat('.') {
            let second = self.ident()?;
            Some(TableId::new(first, second))
        } else {
            Some(TableId::new(schema, first))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(v: &[(&str, &str)]) -> QueryKind {
        QueryKind::Ddl(DdlScope::Tables(
            v.iter().map(|(d, t)| TableId::new(*d, *t)).collect(),
        ))
    }

    #[test]
    fn transaction_control_statements_are_recognised() {
        assert_eq!(classify("d", "BEGIN"), QueryKind::Begin);
        assert_eq!(classify("d", "COMMIT"), QueryKind::Commit);
        assert_eq!(classify("d", "ROLLBACK"), QueryKind::Rollback);
        assert_eq!(classify("d", "ROLLBACK TO SAVEPOINT a"), QueryKind::Other);
        assert_eq!(classify("d", "XA END 'x'"), QueryKind::Xa(XaVerb::End));
        assert_eq!(classify("d", "GRANT ALL ON *.* TO u"), QueryKind::Other);
        assert_eq!(classify("d", "CREATE USER u"), QueryKind::Other);
    }

    #[test]
    fn table_ddl_names_its_tables() {
        assert_eq!(
            classify("d", "ALTER TABLE t ADD COLUMN c INT"),
            tables(&[("d", "t")])
        );
        assert_eq!(
            classify("d", "alter online table `x y`.`t``1` drop c"),
            tables(&[("x y", "t`1")])
        );
        assert_eq!(
            classify("d", "CREATE TABLE IF NOT EXISTS o.t (id int)"),
            tables(&[("o", "t")])
        );
        assert_eq!(
            classify("d", "CREATE OR REPLACE TABLE t (id int)"),
            tables(&[("d", "t")])
        );
        assert_eq!(
            classify(
                "d",
                "DROP TABLE IF EXISTS `a`,b.c /* generated by server */"
            ),
            tables(&[("d", "a"), ("b", "c")])
        );
        assert_eq!(classify("d", "TRUNCATE t"), tables(&[("d", "t")]));
        assert_eq!(classify("d", "TRUNCATE TABLE e.t"), tables(&[("e", "t")]));
        assert_eq!(
            classify("d", "CREATE UNIQUE INDEX i ON t (a)"),
            tables(&[("d", "t")])
        );
        assert_eq!(classify("d", "DROP INDEX i ON e.t"), tables(&[("e", "t")]));
        assert_eq!(
            classify("d", "/* c */ -- x\n ALTER TABLE t RENAME COLUMN a TO b"),
            tables(&[("d", "t")])
        );
        assert_eq!(
            classify("d", "ALTER TABLE t COMMENT 'it''s a rename to x'"),
            tables(&[("d", "t")])
        );
    }

    #[test]
    fn renames_pair_old_and_new_names() {
        type Pair<'a> = ((&'a str, &'a str), (&'a str, &'a str));
        let r = |pairs: &[Pair<'_>]| {
            QueryKind::Ddl(DdlScope::Rename(
                pairs
                    .iter()
                    .map(|(a, b)| (TableId::new(a.0, a.1), TableId::new(b.0, b.1)))
                    .collect(),
            ))
        };
        assert_eq!(
            classify("d", "RENAME TABLE a TO b, x.c TO y.c"),
            r(&[(("d", "a"), ("d", "b")), (("x", "c"), ("y", "c"))])
        );
        assert_eq!(
            classify("d", "ALTER TABLE a ADD z INT, RENAME TO e.b"),
            r(&[(("d", "a"), ("e", "b"))])
        );
        assert_eq!(
            classify("d", "ALTER TABLE a RENAME b"),
            r(&[(("d", "a"), ("d", "b"))])
        );
    }

    #[test]
    fn database_ddl_and_unplaceable_statements_cover_the_database() {
        assert_eq!(
            classify("d", "DROP DATABASE IF EXISTS `x`"),
            QueryKind::Ddl(DdlScope::Database("x".into()))
        );
        assert_eq!(
            classify("d", "CREATE TABLE (weird"),
            QueryKind::Ddl(DdlScope::Database("d".into()))
        );
    }
}
