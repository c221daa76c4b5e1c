//! The rules the server holds a user's input to, published for the console so that it
//! shows each one at the field while the user types or maps tables. They are built from
//! the constants the checks themselves use; `tests/rules.rs` writes them to
//! `console/src/api/rules.generated.json` and fails when that file is stale.

use serde::Serialize;

/// Every rule the console checks at a field.
#[derive(Debug, Clone, Serialize)]
pub struct InputRules {
    pub data_source_name: NameRule,
    pub project_name: NameRule,
    pub tag_name: NameRule,
    pub username: NameRule,
    pub password: NameRule,
    pub topic: TopicRule,
    /// The tables of a database source that can be mapped (and their columns picked as
    /// shard columns).
    pub objects: ObjectRule,
    /// Most tags a server holds.
    pub max_tags: usize,
    /// Every name a user gives is refused with one of these inclusive code point ranges
    /// in it: control and invisible format characters (`names::check_visible`).
    pub hidden_ranges: Vec<(u32, u32)>,
}

/// A name's length (in characters) and, where restricted, its characters.
#[derive(Debug, Clone, Serialize)]
pub struct NameRule {
    pub min_chars: usize,
    pub max_chars: usize,
    /// Whitespace anywhere is refused.
    pub no_whitespace: bool,
    /// When set, only ASCII letters, ASCII digits and these characters are allowed
    /// (plus Chinese characters when `chinese` is true).
    pub allowed_punctuation: Option<String>,
    /// Chinese characters are allowed besides the `allowed_punctuation` set.
    pub chinese: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicRule {
    pub name: NameRule,
    /// The batch rule's topic for a table, `{database}` and `{table}` replaced; the
    /// result must pass `name` (or the table is mapped to a named topic instead).
    pub batch_template: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectRule {
    /// Characters a database or table name cannot hold to be mapped.
    pub unmappable_chars: String,
    /// Tables and columns whose names hold a Chinese character cannot be synced: these
    /// inclusive code point ranges are the Chinese characters.
    pub chinese_ranges: Vec<(u32, u32)>,
}

fn printable(max_chars: usize) -> NameRule {
    NameRule {
        min_chars: 1,
        max_chars,
        no_whitespace: true,
        allowed_punctuation: None,
        chinese: false,
    }
}

/// The rules, from the constants the checks use.
pub fn input_rules() -> InputRules {
    use obsync_config as config;
    InputRules {
        data_source_name: printable(crate::datasources::DATA_SOURCE_NAME_MAX_CHARS),
        project_name: NameRule {
            min_chars: 1,
            max_chars: config::PROJECT_NAME_MAX_CHARS,
            no_whitespace: true,
            allowed_punctuation: Some(String::new()),
            chinese: true,
        },
        tag_name: printable(crate::tags::TAG_MAX_CHARS),
        username: NameRule {
            allowed_punctuation: Some(crate::login::USERNAME_PUNCTUATION.iter().collect()),
            ..printable(crate::login::MAX_USERNAME_CHARS)
        },
        password: NameRule {
            min_chars: crate::auth::MIN_PASSWORD_CHARS,
            // The limit is in bytes; the console counts UTF-8 bytes for it.
            max_chars: crate::login::MAX_PASSWORD_BYTES,
            no_whitespace: false,
            allowed_punctuation: None,
            chinese: false,
        },
        topic: TopicRule {
            name: NameRule {
                min_chars: config::TOPIC_MIN_CHARS,
                max_chars: config::TOPIC_MAX_CHARS,
                no_whitespace: true,
                allowed_punctuation: Some(config::TOPIC_PUNCTUATION.iter().collect()),
                chinese: false,
            },
            batch_template: config::BATCH_TOPIC_TEMPLATE.to_string(),
        },
        objects: ObjectRule {
            unmappable_chars: config::UNMAPPABLE_NAME_CHARS.iter().collect(),
            chinese_ranges: config::CHINESE_RANGES.to_vec(),
        },
        max_tags: crate::tags::MAX_TAGS,
        hidden_ranges: config::CONTROL_RANGES
            .iter()
            .chain(config::FORMAT_RANGES.iter())
            .copied()
            .collect(),
    }
}

/// The rules as the console's JSON file (pretty, with a final newline).
pub fn input_rules_json() -> String {
    let mut text =
        serde_json::to_string_pretty(&input_rules()).expect("the rules serialize to JSON");
    text.push('\n');
    text
}
