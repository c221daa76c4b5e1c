//! Problems found in a project file, each naming the file, line, column and field.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A 1-based line and column (counted in characters) inside a project file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

impl Location {
    /// Converts a byte offset into `text` to a line and column. Offsets past the end or
    /// inside a multi-byte character are clamped to the nearest character start before them.
    pub fn from_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem in a project file.
///
/// Displays as `FILE:LINE:COL: field: message (fix)`; parts that are unknown are left out
/// (a file that cannot be read has no line, for instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as the user named it (or a label such as `<api>` for text without a file).
    pub file: PathBuf,
    /// Where in the file, when the problem has a place.
    pub location: Option<Location>,
    /// Dotted path of the field, e.g. `source.port` or `objects[2].topic`; empty when the
    /// problem concerns the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is a useful hint.
    pub fix: Option<String>,
    /// What is wrong as a code with its parameters, for the console, when the rule has
    /// one ([`crate::RuleMessage`]).
    pub code: Option<obsync_model::Coded>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(location) = self.location {
            write!(f, ":{location}")?;
        }
        f.write_str(": ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " ({fix})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a project file, in file order. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_all(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn render_all(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigErrors {
    /// The problems, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// How many problems were found.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for errors returned by this crate; present for API completeness.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Collects problems while a file is checked, so that all of them can be reported at once.
pub(crate) struct Problems<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Problems {
            file,
            text,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// Records a problem at byte range `span`. An empty `fix` means "no hint".
    pub(crate) fn report(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let problem = self.at(span, field.into(), message.into(), fix.into());
        self.errors.push(problem);
    }

    /// [`Self::report`] with the problem's code for the console.
    pub(crate) fn report_coded(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        rule: impl Into<crate::RuleMessage>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let mut problem = self.at(span, field.into(), message.into(), fix.into());
        problem.code = Some(crate::rule_codes::coded(rule));
        self.errors.push(problem);
    }

    /// Records something worth saying that does not make the file invalid.
    pub(crate) fn warn(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let warning = self.at(span, field.into(), message.into(), fix.into());
        self.warnings.push(warning);
    }

    fn at(&self, span: Range<usize>, field: String, message: String, fix: String) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            location: Some(Location::from_offset(self.text, span.start)),
            field,
            message,
            fix: (!fix.is_empty()).then_some(fix),
            code: None,
        }
    }

    /// The warnings found so far, in file order.
    pub(crate) fn take_warnings(&mut self) -> Vec<ConfigError> {
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.sort_by_key(|w| w.location);
        warnings
    }

    /// Checks that an integer field lies in `range` and converts it; `what` names it in the
    /// message (`port 0 is out of range`).
    pub(crate) fn int_in<T: TryFrom<i64>>(
        &mut self,
        value: &toml::Spanned<i64>,
        range: std::ops::RangeInclusive<i64>,
        field: &str,
        what: &str,
    ) -> Option<T> {
        let v = *value.get_ref();
        match T::try_from(v) {
            Ok(converted) if range.contains(&v) => Some(converted),
            _ => {
                self.report(
                    value.span(),
                    field,
                    format!("{what} {v} is out of range"),
                    format!("use {}-{}", range.start(), range.end()),
                );
                None
            }
        }
    }

    /// How many problems have been found so far; compare before and after a check to see
    /// whether it found any.
    pub(crate) fn len(&self) -> usize {
        self.errors.len()
    }

    /// The collected problems sorted by place (stable, so problems at one place keep the
    /// order they were found in), or `None` when there are none.
    pub(crate) fn into_errors(mut self) -> Option<ConfigErrors> {
        if self.errors.is_empty() {
            return None;
        }
        self.errors.sort_by_key(|e| e.location);
        Some(ConfigErrors(self.errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_lines_and_character_columns() {
        let text = "a = 1\n名字 = \"x\"\n";
        assert_eq!(
            Location::from_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        let x = text.find('"').unwrap();
        assert_eq!(
            Location::from_offset(text, x),
            Location { line: 2, column: 6 }
        );
        assert_eq!(
            Location::from_offset(text, 10_000),
            Location { line: 3, column: 1 }
        );
    }

    #[test]
    fn error_displays_file_line_column_field_message_and_fix() {
        let error = ConfigError {
            file: "p.toml".into(),
            location: Some(Location { line: 3, column: 8 }),
            field: "source.port".into(),
            message: "port 0 is out of range".into(),
            fix: Some("use 1-65535".into()),
            code: None,
        };
        assert_eq!(
            error.to_string(),
            "p.toml:3:8: source.port: port 0 is out of range (use 1-65535)"
        );
    }
}
