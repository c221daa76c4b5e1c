//! Kafka topic names and how a table's topic is chosen.

use std::fmt;

use obsync_model::TableId;

/// Shortest topic name OMS accepts.
pub const TOPIC_MIN_CHARS: usize = 3;
/// Longest topic name OMS accepts (Kafka's own limit, 249, is wider).
pub const TOPIC_MAX_CHARS: usize = 64;
/// The characters a topic name may hold besides ASCII letters and digits.
pub const TOPIC_PUNCTUATION: [char; 3] = ['-', '_', '.'];
/// OMS's batch rule: the topic of each table, `{database}` and `{table}` replaced.
pub const BATCH_TOPIC_TEMPLATE: &str = "Topic_{database}_{table}";

/// A Kafka topic name as OMS allows it: 3–64 characters of `A-Z a-z 0-9 - _ .`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicName(String);

/// What is wrong with a topic name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicNameProblem {
    /// Fewer than 3 characters.
    #[error("it has {count} characters, at least 3 are needed")]
    TooShort {
        /// Characters in the name.
        count: usize,
    },
    /// More than 64 characters.
    #[error("it has {count} characters, at most 64 are allowed")]
    TooLong {
        /// Characters in the name.
        count: usize,
    },
    /// A character outside `A-Z a-z 0-9 - _ .`.
    #[error("it contains {found:?}, which is not allowed")]
    BadChar {
        /// The first character that is not allowed.
        found: char,
    },
}

/// A topic name was rejected. When the name came from the batch rule, `table` names the
/// table it was built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTopicName {
    /// The rejected name.
    pub name: String,
    /// What is wrong with it.
    pub problem: TopicNameProblem,
    /// The table whose batch-rule topic this was, if any.
    pub table: Option<TableId>,
}

impl InvalidTopicName {
    /// How to write a valid topic name.
    pub const RULE: &'static str = "use 3-64 of A-Z a-z 0-9 - _ .";

    /// The message without the rule: `topic "a b" is invalid: it contains ' ', …`.
    pub fn describe(&self) -> String {
        match &self.table {
            Some(table) => format!(
                "topic {:?} that the batch rule makes for table {table} is invalid: {}",
                self.name, self.problem
            ),
            None => format!("topic {:?} is invalid: {}", self.name, self.problem),
        }
    }
}

impl fmt::Display for InvalidTopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.describe(), Self::RULE)?;
        if self.table.is_some() {
            f.write_str(", or map the table to a named topic")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidTopicName {}

impl TopicName {
    /// Parses a topic name; see the type's documentation for the rule.
    pub fn parse(name: &str) -> Result<TopicName, InvalidTopicName> {
        let problem = |problem| InvalidTopicName {
            name: name.to_string(),
            problem,
            table: None,
        };
        let count = name.chars().count();
        if let Some(found) = name
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || TOPIC_PUNCTUATION.contains(&c)))
        {
            return Err(problem(TopicNameProblem::BadChar { found }));
        }
        if count < TOPIC_MIN_CHARS {
            return Err(problem(TopicNameProblem::TooShort { count }));
        }
        if count > TOPIC_MAX_CHARS {
            return Err(problem(TopicNameProblem::TooLong { count }));
        }
        Ok(TopicName(name.to_string()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the tables of one object rule go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicTarget {
    /// Every table of the rule goes to this one topic (new or existing).
    Named(TopicName),
    /// OMS's batch rule: each table goes to `Topic_${Database Name}_${Table Name}`.
    BatchRule,
}

impl TopicTarget {
    /// The topic for `table`. Fails only for the batch rule, when the built name is not a
    /// valid topic name (too long, or the table name has characters topics cannot hold);
    /// the error then names the table.
    pub fn topic_for(&self, table: &TableId) -> Result<TopicName, InvalidTopicName> {
        match self {
            TopicTarget::Named(topic) => Ok(topic.clone()),
            TopicTarget::BatchRule => {
                let name = BATCH_TOPIC_TEMPLATE
                    .replace("{database}", &table.database)
                    .replace("{table}", &table.table);
                TopicName::parse(&name).map_err(|mut error| {
                    error.table = Some(table.clone());
                    error
                })
            }
        }
    }
}

impl fmt::Display for TopicTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicTarget::Named(topic) => write!(f, "topic {topic}"),
            TopicTarget::BatchRule => {
                f.write_str("batch rule Topic_${Database Name}_${Table Name}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_are_3_to_64_of_the_allowed_characters() {
        assert!(TopicName::parse("shop-orders_v1.0").is_ok());
        assert!(TopicName::parse(&"t".repeat(64)).is_ok());
        let error = TopicName::parse("a b").unwrap_err();
        assert_eq!(
            error.to_string(),
            "topic \"a b\" is invalid: it contains ' ', which is not allowed; \
             use 3-64 of A-Z a-z 0-9 - _ ."
        );
        assert_eq!(
            TopicName::parse("ab").unwrap_err().problem,
            TopicNameProblem::TooShort { count: 2 }
        );
        assert_eq!(
            TopicName::parse(&"t".repeat(65)).unwrap_err().problem,
            TopicNameProblem::TooLong { count: 65 }
        );
    }

    #[test]
    fn batch_rule_builds_topic_from_database_and_table() {
        let topic = TopicTarget::BatchRule
            .topic_for(&TableId::new("shop", "orders"))
            .unwrap();
        assert_eq!(topic.as_str(), "Topic_shop_orders");
    }

    #[test]
    fn batch_rule_topic_too_long_names_the_table() {
        let table = TableId::new("shop", "t".repeat(60));
        let error = TopicTarget::BatchRule.topic_for(&table).unwrap_err();
        assert_eq!(error.table, Some(table.clone()));
        assert_eq!(
            error.to_string(),
            format!(
                "topic \"Topic_shop_{0}\" that the batch rule makes for table shop.{0} is \
                 invalid: it has 71 characters, at most 64 are allowed; use 3-64 of \
                 A-Z a-z 0-9 - _ ., or map the table to a named topic",
                "t".repeat(60)
            )
        );
    }

    #[test]
    fn named_target_is_the_same_topic_for_every_table() {
        let topic = TopicName::parse("all-orders").unwrap();
        let target = TopicTarget::Named(topic.clone());
        assert_eq!(target.topic_for(&TableId::new("a", "b")), Ok(topic));
    }
}
