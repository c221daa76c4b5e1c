//! Precheck results, shared by the source and Kafka checks and the report printer.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    /// Not fatal, but the user should know (e.g. a feature unavailable on this version).
    Warn,
    Fail,
    /// The item's input could not be computed (an item it depends on failed), so it
    /// says nothing either way: never a pass over nothing.
    #[serde(rename = "not_checked")]
    NotChecked,
}

/// One precheck item: what was checked, the outcome, and how to fix a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    /// Stable short name, e.g. `source.binlog_format`.
    pub name: String,
    pub status: CheckStatus,
    /// What was found, in one sentence.
    pub detail: String,
    /// How to fix it (required when `status` is not `Pass`).
    pub fix: Option<String>,
}

impl CheckItem {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            status: CheckStatus::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// An item that could not run because `why` (an earlier item failed); the fix
    /// points there.
    pub fn not_checked(name: impl Into<String>, why: impl std::fmt::Display) -> Self {
        Self {
            name: name.into(),
            status: CheckStatus::NotChecked,
            detail: format!("not checked: {why}"),
            fix: Some("fix the failed items above, then rerun the precheck".into()),
        }
    }

    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            status: CheckStatus::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}
