//! Precheck results, shared by the source and Kafka checks and the report printer.

use serde::{Deserialize, Serialize};

use crate::message::{Coded, MessageCode};

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
    /// The finding by code and parameters, for the console to say in its language
    /// (`detail` and `fix` are its English). `None` only for items stored before codes
    /// existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coded: Option<Coded>,
}

/// What a precheck item found, as a code with typed parameters (a [`message_codes!`]
/// enum) that also writes the English `detail` and `fix` the CLI prints.
///
/// [`message_codes!`]: crate::message_codes
pub trait Finding: MessageCode {
    /// What was found, in one English sentence.
    fn detail(&self) -> String;
    /// How to fix it, in English, for the CLI and API users (file-oriented advice is
    /// fine here: the console has its own text per code).
    fn fix(&self) -> String;
}

/// The code of an item that could not run because an earlier one failed.
pub const NOT_CHECKED_CODE: &str = "precheck.not_checked";

impl CheckItem {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: CheckStatus::Pass,
            detail: detail.into(),
            fix: None,
            coded: None,
        }
    }

    /// A passed item saying what `finding` found.
    pub fn passed(name: impl Into<String>, finding: &impl Finding) -> Self {
        Self::found(name, CheckStatus::Pass, finding)
    }

    /// A failed item: what `finding` found and how to fix it.
    pub fn failed(name: impl Into<String>, finding: &impl Finding) -> Self {
        Self::found(name, CheckStatus::Fail, finding)
    }

    /// A warning: what `finding` found and what to do about it.
    pub fn warned(name: impl Into<String>, finding: &impl Finding) -> Self {
        Self::found(name, CheckStatus::Warn, finding)
    }

    /// An item with `status` saying what `finding` found (and, unless it passed, the fix).
    pub fn found(name: impl Into<String>, status: CheckStatus, finding: &impl Finding) -> Self {
        Self {
            name: name.into(),
            status,
            detail: finding.detail(),
            fix: (status != CheckStatus::Pass).then(|| finding.fix()),
            coded: Some(finding.coded()),
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
            coded: None,
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
            coded: Some(Coded {
                code: NOT_CHECKED_CODE.into(),
                params: Default::default(),
            }),
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
            coded: None,
        }
    }
}
