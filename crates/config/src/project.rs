//! The whole project file: loading, the checks that span sections, and routing.

use std::path::Path;

use obsync_model::TableId;

use crate::error::{ConfigError, ConfigErrors, Problems};
use crate::names::{InvalidProjectName, InvalidTag, ProjectName, Tag};
use crate::objects::{check_object, route, ObjectRule, Route};
use crate::raw::{RawFile, RawObject, RawProject, RawSync};
use crate::secret::Environment;
use crate::source::{check_source, SourceConfig};
use crate::sync::{check_sync, SyncConfig};
use crate::target::{check_target, KafkaVersion, TargetConfig};
use crate::topic::InvalidTopicName;
use crate::RuleMessage;

/// A validated project definition: everything needed to run one sync project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectConfig {
    /// The project's name.
    pub name: ProjectName,
    /// Labels to group and filter projects by.
    pub tags: Vec<Tag>,
    /// Where changes come from.
    pub source: SourceConfig,
    /// The Kafka cluster they go to.
    pub target: TargetConfig,
    /// What is synced, from when, in which format.
    pub sync: SyncConfig,
    /// Table selections and their topics, in file order (the first match wins). Never empty.
    pub objects: Vec<ObjectRule>,
    /// What is worth saying but does not make the file invalid (for example a `password_env`
    /// that is unset while the file is only checked), in file order.
    pub warnings: Vec<ConfigError>,
}

impl ProjectConfig {
    /// Reads and validates the project file at `path`, with passwords from the process
    /// environment and the current time.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ProjectConfig, ConfigErrors> {
        ProjectConfig::from_file_with(path, &Environment::process())
    }

    /// Like [`ProjectConfig::from_file`] with an explicit environment.
    pub fn from_file_with(
        path: impl AsRef<Path>,
        env: &Environment,
    ) -> Result<ProjectConfig, ConfigErrors> {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(text) => ProjectConfig::parse_with(&text, path, env),
            Err(error) => Err(ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                location: None,
                field: String::new(),
                message: format!("cannot read the project file: {error}"),
                fix: Some("check the path and that the file is readable UTF-8 text".into()),
                code: None,
            }])),
        }
    }

    /// Validates project file `text`; `path` names it in messages and is the base of
    /// relative TLS file paths. Uses the process environment and the current time.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<ProjectConfig, ConfigErrors> {
        ProjectConfig::parse_with(text, path, &Environment::process())
    }

    /// Like [`ProjectConfig::parse`] with an explicit environment (variables and clock).
    /// Reports every problem found, in file order.
    pub fn parse_with(
        text: &str,
        path: impl AsRef<Path>,
        env: &Environment,
    ) -> Result<ProjectConfig, ConfigErrors> {
        let path = path.as_ref();
        let mut problems = Problems::new(path, text);
        let config =
            RawFile::load(&mut problems).and_then(|raw| check_file(raw, path, env, &mut problems));
        let warnings = problems.take_warnings();
        match (problems.into_errors(), config) {
            (None, Some(config)) => Ok(ProjectConfig { warnings, ..config }),
            (Some(errors), _) => Err(errors),
            // Every path that yields no config reports a problem; keep a message anyway
            // rather than panic should one ever be missed.
            (None, None) => Err(ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                location: None,
                field: String::new(),
                message: "the project file is invalid".into(),
                fix: None,
                code: None,
            }])),
        }
    }

    /// Where `table`'s changes go: the first object rule that selects it (an include
    /// pattern matches, no exclude pattern does). `Ok(None)` when no rule selects it; an
    /// error when the batch rule builds an invalid topic name for it.
    pub fn route(&self, table: &TableId) -> Result<Option<Route>, InvalidTopicName> {
        route(&self.objects, table)
    }
}

fn check_file(
    raw: RawFile,
    path: &Path,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<ProjectConfig> {
    let text = problems.text();
    for (present, name) in [
        (raw.project.is_some(), "project"),
        (raw.source.is_some(), "source"),
        (raw.target.is_some(), "target"),
        (raw.sync.is_some(), "sync"),
    ] {
        // A section that failed to deserialize was reported already; only report absence.
        if !present && !section_written(text, name) {
            problems.report(
                0..0,
                name,
                format!("the [{name}] section is missing"),
                "add it; examples/minimal.toml shows the smallest complete file",
            );
        }
    }
    let objects = check_objects(raw.objects, problems);
    let project = raw
        .project
        .as_ref()
        .and_then(|p| check_project(p, problems));
    let project_name = raw
        .project
        .as_ref()
        .map_or("", |p| p.name.get_ref().as_str());
    let base_dir = path.parent().unwrap_or(Path::new(""));
    let source = raw
        .source
        .as_ref()
        .and_then(|s| check_source(s, project_name, base_dir, env, problems));
    let target = raw
        .target
        .as_ref()
        .and_then(|t| check_target(t, base_dir, env, problems));
    let sync = raw.sync.as_ref().and_then(|s| check_sync(s, env, problems));
    if let (Some(target), Some(raw_sync)) = (&target, &raw.sync) {
        check_version_fit(target.version, raw_sync, problems);
    }
    let (name, tags) = project?;
    Some(ProjectConfig {
        name,
        tags,
        source: source?,
        target: target?,
        sync: sync?,
        objects: objects?,
        warnings: Vec::new(),
    })
}

/// Whether the file writes section `name` in any form: a `[name]`, `[name.x]` or
/// `[[name]]` header, or a `name = …` / `name.x = …` key at the start of a line.
fn section_written(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let rest = line.trim_start_matches('[').trim_start();
        let is_header = line.starts_with('[')
            && rest
                .strip_prefix(name)
                .is_some_and(|r| r.trim_start().starts_with([']', '.']));
        let is_key = line
            .strip_prefix(name)
            .is_some_and(|r| r.trim_start().starts_with(['=', '.']));
        is_header || is_key
    })
}

fn check_project(raw: &RawProject, problems: &mut Problems<'_>) -> Option<(ProjectName, Vec<Tag>)> {
    let name = match ProjectName::parse(raw.name.get_ref()) {
        Ok(name) => Some(name),
        Err(error) => {
            problems.report_coded(
                raw.name.span(),
                "project.name",
                &error,
                error.to_string(),
                InvalidProjectName::RULE,
            );
            None
        }
    };
    let mut tags: Vec<Tag> = Vec::new();
    let mut tags_ok = true;
    for tag in &raw.tags {
        match Tag::parse(tag.get_ref()) {
            Ok(parsed) if tags.contains(&parsed) => {
                tags_ok = false;
                problems.report_coded(
                    tag.span(),
                    "project.tags",
                    RuleMessage::TagTwice {
                        tag: tag.get_ref().to_string(),
                    },
                    format!("tag {:?} is listed twice", tag.get_ref()),
                    "remove one of them",
                );
            }
            Ok(parsed) => tags.push(parsed),
            Err(error) => {
                tags_ok = false;
                problems.report_coded(
                    tag.span(),
                    "project.tags",
                    &error,
                    error.to_string(),
                    InvalidTag::RULE,
                );
            }
        }
    }
    Some((name?, tags)).filter(|_| tags_ok)
}

fn check_objects(
    raw: Option<Vec<Option<RawObject>>>,
    problems: &mut Problems<'_>,
) -> Option<Vec<ObjectRule>> {
    let Some(raw) = raw else {
        if !section_written(problems.text(), "objects") {
            problems.report_coded(
                0..0,
                "objects",
                RuleMessage::NoObjects {},
                "no [[objects]] entries: nothing would be synced",
                "add an [[objects]] entry with tables and a topic or topic_rule",
            );
        }
        return None;
    };
    if raw.is_empty() {
        problems.report_coded(
            0..0,
            "objects",
            RuleMessage::NoObjects {},
            "no [[objects]] entries: nothing would be synced",
            "add an [[objects]] entry with tables and a topic or topic_rule",
        );
        return None;
    }
    let mut rules = Vec::new();
    let mut all_ok = true;
    for (i, object) in raw.into_iter().enumerate() {
        match object.and_then(|object| check_object(object, &format!("objects[{i}]"), problems)) {
            Some(rule) => rules.push(rule),
            None => all_ok = false,
        }
    }
    all_ok.then_some(rules)
}

/// Rules that join the Kafka version with what the project asks of it. (Batch-rule topics
/// on Kafka 0.9 must exist already too; only precheck can verify that against the cluster.)
fn check_version_fit(version: KafkaVersion, sync: &RawSync, problems: &mut Problems<'_>) {
    if let Some(format) = &sync.format {
        let debezium = format
            .get_ref()
            .parse::<crate::sync::FormatKind>()
            .is_ok_and(|f| f.is_debezium());
        if debezium && !version.supports_headers() {
            problems.report(
                format.span(),
                "sync.format",
                "Kafka 0.9 records cannot carry the headers the Debezium formats write",
                "use a Kafka 1.0 or newer target, or another format",
            );
        }
    }
    if version.supports_topic_creation() {
        return;
    }
    if let Some(schema) = sync
        .types
        .get_ref()
        .iter()
        .find(|t| t.get_ref() == "schema")
    {
        problems.report(
            schema.span(),
            "sync.types",
            "Kafka 0.9 cannot create topics",
            "remove \"schema\" from sync.types and create the topics yourself",
        );
    }
}
