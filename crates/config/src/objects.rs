//! Object rules: which tables are synced and to which topic, with optional shard columns.

use std::collections::BTreeMap;
use std::fmt;

use obsync_model::TableId;
use toml::Spanned;

use crate::error::Problems;
use crate::names::contains_chinese;
use crate::raw::{header_span, RawObject};
use crate::topic::{InvalidTopicName, TopicName, TopicTarget};
use crate::RuleMessage;

/// A `database.table` pattern in which `*` matches any run of characters (also none).
///
/// Matching is case-sensitive, as table names are on a MySQL server with
/// `lower_case_table_names = 0`. Write names the way the server reports them
/// (`SHOW TABLES`): OceanBase MySQL tenants store them in lower case by default.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TablePattern {
    database: String,
    table: String,
}

/// Why a table pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTablePattern {
    /// No `.` separates database and table.
    #[error("table pattern {pattern:?} has no database part")]
    NoDatabase {
        /// The pattern as written.
        pattern: String,
    },
    /// More than one `.`.
    #[error("table pattern {pattern:?} has more than one \".\"")]
    ExtraDot {
        /// The pattern as written.
        pattern: String,
    },
    /// The database or table part is empty.
    #[error("table pattern {pattern:?} has an empty database or table part")]
    EmptyPart {
        /// The pattern as written.
        pattern: String,
    },
    /// Backquotes are not part of names here.
    #[error("table pattern {pattern:?} contains a backquote")]
    Backquote {
        /// The pattern as written.
        pattern: String,
    },
    /// Table names with Chinese characters cannot be synced.
    #[error("table pattern {pattern:?} contains Chinese characters")]
    Chinese {
        /// The pattern as written.
        pattern: String,
    },
}

impl InvalidTablePattern {
    /// How to fix the pattern.
    pub fn fix(&self) -> &'static str {
        match self {
            InvalidTablePattern::Chinese { .. } => {
                "tables whose names contain Chinese characters cannot be synced: rename the \
                 table or leave it out"
            }
            InvalidTablePattern::Backquote { .. } => "write names without backquotes",
            _ => "write \"database.table\"; * matches any characters, e.g. \"shop.*\"",
        }
    }
}

/// Characters a database or table name cannot hold to be mapped: `.` separates the
/// database from the table in a pattern, and names are written without backquotes. The
/// console refuses such tables at the mapping (`obsync_server::rules`).
pub const UNMAPPABLE_NAME_CHARS: [char; 2] = ['.', '`'];

impl TablePattern {
    /// Parses `database.table`; either part may contain `*` wildcards.
    pub fn parse(pattern: &str) -> Result<TablePattern, InvalidTablePattern> {
        let owned = || pattern.to_string();
        if contains_chinese(pattern) {
            return Err(InvalidTablePattern::Chinese { pattern: owned() });
        }
        if pattern.contains('`') {
            return Err(InvalidTablePattern::Backquote { pattern: owned() });
        }
        let Some((database, table)) = pattern.split_once('.') else {
            return Err(InvalidTablePattern::NoDatabase { pattern: owned() });
        };
        if table.contains('.') {
            return Err(InvalidTablePattern::ExtraDot { pattern: owned() });
        }
        if database.is_empty() || table.is_empty() {
            return Err(InvalidTablePattern::EmptyPart { pattern: owned() });
        }
        Ok(TablePattern {
            database: database.to_string(),
            table: table.to_string(),
        })
    }

    /// Whether `table` matches (case-sensitive; `*` matches any run of characters).
    pub fn matches(&self, table: &TableId) -> bool {
        glob_match(&self.database, &table.database) && glob_match(&self.table, &table.table)
    }

    /// The one table this pattern names, when it has no wildcard.
    pub fn exact(&self) -> Option<TableId> {
        (!self.database.contains('*') && !self.table.contains('*'))
            .then(|| TableId::new(self.database.clone(), self.table.clone()))
    }
}

impl fmt::Display for TablePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// `*`-only glob match with backtracking to the last star; linear in practice.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// One `[[objects]]` entry: tables selected by `include` minus `exclude`, sent to `topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRule {
    /// Tables the rule selects (at least one pattern).
    pub include: Vec<TablePattern>,
    /// Tables taken out again.
    pub exclude: Vec<TablePattern>,
    /// The topic of the selected tables.
    pub topic: TopicTarget,
    /// Shard columns per table; tables not listed are sharded by their primary key. Every
    /// key is a table this rule selects; every list is non-empty without duplicates.
    pub shard_columns: BTreeMap<TableId, Vec<String>>,
}

impl ObjectRule {
    /// Whether this rule selects `table`: some include pattern matches and no exclude does.
    pub fn selects(&self, table: &TableId) -> bool {
        self.include.iter().any(|p| p.matches(table))
            && !self.exclude.iter().any(|p| p.matches(table))
    }
}

/// Where one table's changes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The table's topic.
    pub topic: TopicName,
    /// Its shard columns, or `None` to shard by the primary key.
    pub shard_columns: Option<Vec<String>>,
}

/// The route of `table` under `rules`: the first rule that selects it wins.
pub(crate) fn route(
    rules: &[ObjectRule],
    table: &TableId,
) -> Result<Option<Route>, InvalidTopicName> {
    let Some(rule) = rules.iter().find(|rule| rule.selects(table)) else {
        return Ok(None);
    };
    Ok(Some(Route {
        topic: rule.topic.topic_for(table)?,
        shard_columns: rule.shard_columns.get(table).cloned(),
    }))
}

const PATTERN_RULE: &str = "write \"database.table\"; * matches any characters, e.g. \"shop.*\"";

/// Checks one raw `[[objects]]` entry; `label` is `objects[i]`.
pub(crate) fn check_object(
    raw: RawObject,
    label: &str,
    problems: &mut Problems<'_>,
) -> Option<ObjectRule> {
    let before = problems.len();
    let include = check_patterns(
        &raw.tables.get_ref()[..],
        &format!("{label}.tables"),
        problems,
    );
    if raw.tables.get_ref().is_empty() {
        problems.report_coded(
            raw.tables.span(),
            format!("{label}.tables"),
            RuleMessage::NoTables {},
            "no tables are listed",
            PATTERN_RULE,
        );
    }
    let exclude = check_patterns(&raw.exclude, &format!("{label}.exclude"), problems);
    let topic = check_topic(&raw, label, problems);
    let mut rule = ObjectRule {
        include,
        exclude,
        topic: topic.unwrap_or(TopicTarget::BatchRule),
        shard_columns: BTreeMap::new(),
    };
    for (table, columns) in &raw.shard_columns {
        let field = format!("{label}.shard_columns");
        if let Some(table) = check_shard_table(table, &rule, &field, problems) {
            if let Some(columns) = check_shard_columns(&table, columns, &field, problems) {
                rule.shard_columns.insert(table, columns);
            }
        }
    }
    (problems.len() == before).then_some(rule)
}

fn check_patterns(
    raw: &[Spanned<String>],
    field: &str,
    problems: &mut Problems<'_>,
) -> Vec<TablePattern> {
    let mut patterns: Vec<TablePattern> = Vec::new();
    for pattern in raw {
        match TablePattern::parse(pattern.get_ref()) {
            Ok(parsed) if patterns.contains(&parsed) => problems.report_coded(
                pattern.span(),
                field,
                RuleMessage::PatternTwice {
                    pattern: pattern.get_ref().to_string(),
                },
                format!("table pattern {:?} is listed twice", pattern.get_ref()),
                "remove one of them",
            ),
            Ok(parsed) => patterns.push(parsed),
            Err(error) => problems.report_coded(
                pattern.span(),
                field,
                &error,
                error.to_string(),
                error.fix(),
            ),
        }
    }
    patterns
}

fn check_topic(raw: &RawObject, label: &str, problems: &mut Problems<'_>) -> Option<TopicTarget> {
    match (&raw.topic, &raw.topic_rule) {
        (Some(_), Some(rule)) => {
            problems.report_coded(
                rule.span(),
                format!("{label}.topic_rule"),
                RuleMessage::TopicAndRule {},
                "topic and topic_rule are both set",
                "keep one: topic = \"name\" sends every table to one topic, topic_rule = \"batch\" gives each table its own",
            );
            None
        }
        (None, None) => {
            let span = header_span(problems.text(), label).unwrap_or_else(|| raw.tables.span());
            problems.report_coded(
                span,
                label,
                RuleMessage::NoTopic {},
                "no topic is chosen for these tables",
                "set topic = \"name\" or topic_rule = \"batch\"",
            );
            None
        }
        (Some(topic), None) => match TopicName::parse(topic.get_ref()) {
            Ok(topic) => Some(TopicTarget::Named(topic)),
            Err(error) => {
                problems.report_coded(
                    topic.span(),
                    format!("{label}.topic"),
                    &error,
                    error.describe(),
                    InvalidTopicName::RULE,
                );
                None
            }
        },
        (None, Some(rule)) if rule.get_ref() == "batch" => Some(TopicTarget::BatchRule),
        (None, Some(rule)) => {
            problems.report(
                rule.span(),
                format!("{label}.topic_rule"),
                format!("unknown topic_rule {:?}", rule.get_ref()),
                "the only rule is \"batch\": Topic_${Database Name}_${Table Name}",
            );
            None
        }
    }
}

fn check_shard_table(
    raw: &Spanned<String>,
    rule: &ObjectRule,
    field: &str,
    problems: &mut Problems<'_>,
) -> Option<TableId> {
    let pattern = match TablePattern::parse(raw.get_ref()) {
        Ok(pattern) => pattern,
        Err(error) => {
            problems.report(raw.span(), field, error.to_string(), error.fix());
            return None;
        }
    };
    let Some(table) = pattern.exact() else {
        problems.report(
            raw.span(),
            field,
            format!("shard_columns key {:?} has a wildcard", raw.get_ref()),
            "name one table exactly, e.g. \"shop.orders\"",
        );
        return None;
    };
    if !rule.selects(&table) {
        problems.report(
            raw.span(),
            field,
            format!("table {table} is not selected by this entry's tables and exclude"),
            "add it to tables, or move its shard columns to the entry that selects it",
        );
        return None;
    }
    Some(table)
}

fn check_shard_columns(
    table: &TableId,
    raw: &Spanned<Vec<Spanned<String>>>,
    field: &str,
    problems: &mut Problems<'_>,
) -> Option<Vec<String>> {
    let before = problems.len();
    if raw.get_ref().is_empty() {
        problems.report(
            raw.span(),
            field,
            format!("no shard columns are listed for {table}"),
            "list one or more columns, or remove the entry to shard by the primary key",
        );
    }
    let mut columns: Vec<String> = Vec::new();
    for column in raw.get_ref() {
        let name = column.get_ref();
        if name.trim().is_empty() {
            problems.report(
                column.span(),
                field,
                format!("an empty column name is listed for {table}"),
                "remove it",
            );
        } else if contains_chinese(name) {
            problems.report(
                column.span(),
                field,
                format!("shard column {name:?} of {table} contains Chinese characters"),
                "columns whose names contain Chinese characters cannot be synced: rename the column",
            );
        } else if columns.contains(name) {
            problems.report(
                column.span(),
                field,
                format!("shard column {name:?} of {table} is listed twice"),
                "remove one of them",
            );
        } else {
            columns.push(name.clone());
        }
    }
    (problems.len() == before).then_some(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> TableId {
        let (db, t) = name.split_once('.').unwrap();
        TableId::new(db, t)
    }

    #[test]
    fn names_with_an_unmappable_character_cannot_be_mapped() {
        for c in UNMAPPABLE_NAME_CHARS {
            assert!(TablePattern::parse(&format!("shop.a{c}b")).is_err(), "{c}");
            assert!(TablePattern::parse(&format!("s{c}hop.ab")).is_err(), "{c}");
        }
    }

    #[test]
    fn wildcards_match_any_run_of_characters_in_either_part() {
        let pattern = TablePattern::parse("shop_*.order*").unwrap();
        assert!(pattern.matches(&table("shop_eu.orders")));
        assert!(pattern.matches(&table("shop_.order")));
        assert!(!pattern.matches(&table("shop.orders")));
        assert!(!pattern.matches(&table("shop_eu.items")));
        assert!(TablePattern::parse("*.*").unwrap().matches(&table("a.b")));
        assert!(TablePattern::parse("a.*x*y")
            .unwrap()
            .matches(&table("a.xxaxy")));
    }

    #[test]
    fn exact_patterns_compare_case_sensitively() {
        let pattern = TablePattern::parse("shop.Orders").unwrap();
        assert!(pattern.matches(&table("shop.Orders")));
        assert!(!pattern.matches(&table("shop.orders")));
        assert_eq!(pattern.exact(), Some(table("shop.Orders")));
        assert_eq!(TablePattern::parse("shop.*").unwrap().exact(), None);
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        assert!(matches!(
            TablePattern::parse("orders"),
            Err(InvalidTablePattern::NoDatabase { .. })
        ));
        assert!(matches!(
            TablePattern::parse("a.b.c"),
            Err(InvalidTablePattern::ExtraDot { .. })
        ));
        assert!(matches!(
            TablePattern::parse(".b"),
            Err(InvalidTablePattern::EmptyPart { .. })
        ));
        assert!(matches!(
            TablePattern::parse("shop.订单"),
            Err(InvalidTablePattern::Chinese { .. })
        ));
        assert!(matches!(
            TablePattern::parse("`a`.b"),
            Err(InvalidTablePattern::Backquote { .. })
        ));
    }

    #[test]
    fn first_selecting_rule_wins_and_exclusions_fall_through() {
        let rules = vec![
            ObjectRule {
                include: vec![TablePattern::parse("crm.*").unwrap()],
                exclude: vec![TablePattern::parse("crm.tmp_*").unwrap()],
                topic: TopicTarget::BatchRule,
                shard_columns: BTreeMap::from([(table("crm.users"), vec!["region".to_string()])]),
            },
            ObjectRule {
                include: vec![TablePattern::parse("*.*").unwrap()],
                exclude: vec![],
                topic: TopicTarget::Named(TopicName::parse("rest").unwrap()),
                shard_columns: BTreeMap::new(),
            },
        ];
        let users = route(&rules, &table("crm.users")).unwrap().unwrap();
        assert_eq!(users.topic.as_str(), "Topic_crm_users");
        assert_eq!(users.shard_columns, Some(vec!["region".to_string()]));
        let tmp = route(&rules, &table("crm.tmp_1")).unwrap().unwrap();
        assert_eq!(tmp.topic.as_str(), "rest");
        assert_eq!(tmp.shard_columns, None);
        assert_eq!(route(&rules[..1], &table("shop.orders")), Ok(None));
    }
}
