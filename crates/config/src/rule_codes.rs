//! The broken rules of a project definition as codes with parameters, for the console
//! (which says them in the user's language); the English stays in
//! [`crate::ConfigError::message`] for the CLI and API users. Problems without a code
//! are shown by the console in English.

use obsync_model::{message_codes, Coded, MessageCode};

use crate::names::{InvalidProjectName, InvalidTag, PROJECT_NAME_MAX_CHARS, TAG_MAX_CHARS};
use crate::objects::InvalidTablePattern;
use crate::topic::{InvalidTopicName, TopicNameProblem, TOPIC_MAX_CHARS, TOPIC_MIN_CHARS};

message_codes! {
    /// A rule of a project definition that a value breaks. Each variant's doc is its code
    /// and its fields are the values its text names.
    #[allow(missing_docs)]
    pub enum RuleMessage {
        ProjectNameEmpty = "rule.project_name.empty" {},
        ProjectNameTooLong = "rule.project_name.too_long" { count: usize, max: usize },
        ProjectNameBadChar = "rule.project_name.bad_char" { found: char },
        TagEmpty = "rule.tag.empty" {},
        TagTooLong = "rule.tag.too_long" { tag: String, count: usize, max: usize },
        TagControlChar = "rule.tag.control_char" { tag: String },
        TagTwice = "rule.tag.twice" { tag: String },
        TopicTooShort = "rule.topic.too_short" { topic: String, count: usize, min: usize },
        TopicTooLong = "rule.topic.too_long" { topic: String, count: usize, max: usize },
        TopicBadChar = "rule.topic.bad_char" { topic: String, found: char },
        /// The batch rule's topic for `table` breaks the topic rule.
        BatchTopicInvalid = "rule.topic.batch_invalid" { topic: String, table: String },
        PatternNoDatabase = "rule.pattern.no_database" { pattern: String },
        PatternExtraDot = "rule.pattern.extra_dot" { pattern: String },
        PatternEmptyPart = "rule.pattern.empty_part" { pattern: String },
        PatternBackquote = "rule.pattern.backquote" { pattern: String },
        PatternChinese = "rule.pattern.chinese" { pattern: String },
        PatternTwice = "rule.pattern.twice" { pattern: String },
        NoObjects = "rule.objects.none" {},
        NoTables = "rule.objects.no_tables" {},
        NoTopic = "rule.objects.no_topic" {},
        TopicAndRule = "rule.objects.topic_and_rule" {},
    }
}

impl From<&InvalidProjectName> for RuleMessage {
    fn from(e: &InvalidProjectName) -> RuleMessage {
        match *e {
            InvalidProjectName::Empty => RuleMessage::ProjectNameEmpty {},
            InvalidProjectName::TooLong { count } => RuleMessage::ProjectNameTooLong {
                count,
                max: PROJECT_NAME_MAX_CHARS,
            },
            InvalidProjectName::BadChar { found } => RuleMessage::ProjectNameBadChar { found },
        }
    }
}

impl From<&InvalidTag> for RuleMessage {
    fn from(e: &InvalidTag) -> RuleMessage {
        match e {
            InvalidTag::Empty => RuleMessage::TagEmpty {},
            InvalidTag::TooLong { tag, count } => RuleMessage::TagTooLong {
                tag: tag.clone(),
                count: *count,
                max: TAG_MAX_CHARS,
            },
            InvalidTag::ControlChar { tag } => RuleMessage::TagControlChar { tag: tag.clone() },
        }
    }
}

impl From<&InvalidTopicName> for RuleMessage {
    fn from(e: &InvalidTopicName) -> RuleMessage {
        let topic = e.name.clone();
        if let Some(table) = &e.table {
            return RuleMessage::BatchTopicInvalid {
                topic,
                table: table.to_string(),
            };
        }
        match e.problem {
            TopicNameProblem::TooShort { count } => RuleMessage::TopicTooShort {
                topic,
                count,
                min: TOPIC_MIN_CHARS,
            },
            TopicNameProblem::TooLong { count } => RuleMessage::TopicTooLong {
                topic,
                count,
                max: TOPIC_MAX_CHARS,
            },
            TopicNameProblem::BadChar { found } => RuleMessage::TopicBadChar { topic, found },
        }
    }
}

impl From<&InvalidTablePattern> for RuleMessage {
    fn from(e: &InvalidTablePattern) -> RuleMessage {
        match e {
            InvalidTablePattern::NoDatabase { pattern } => RuleMessage::PatternNoDatabase {
                pattern: pattern.clone(),
            },
            InvalidTablePattern::ExtraDot { pattern } => RuleMessage::PatternExtraDot {
                pattern: pattern.clone(),
            },
            InvalidTablePattern::EmptyPart { pattern } => RuleMessage::PatternEmptyPart {
                pattern: pattern.clone(),
            },
            InvalidTablePattern::Backquote { pattern } => RuleMessage::PatternBackquote {
                pattern: pattern.clone(),
            },
            InvalidTablePattern::Chinese { pattern } => RuleMessage::PatternChinese {
                pattern: pattern.clone(),
            },
        }
    }
}

/// The code of a rule message.
pub fn coded(rule: impl Into<RuleMessage>) -> Coded {
    rule.into().coded()
}
