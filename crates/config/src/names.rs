//! Names a user gives: the project name, tags, and the check for Chinese characters.

use std::fmt;

/// The code point ranges (inclusive) of Chinese characters: CJK Unified Ideographs (basic
/// block and extensions A–I) and CJK Compatibility Ideographs. Published to the console
/// (`obsync_server::rules`) so it finds the same characters.
pub const CHINESE_RANGES: [(u32, u32); 6] = [
    (0x3400, 0x4DBF),   // Extension A
    (0x4E00, 0x9FFF),   // Unified Ideographs
    (0xF900, 0xFAFF),   // Compatibility Ideographs
    (0x20000, 0x2EBEF), // Extensions B-F and I
    (0x2F800, 0x2FA1F), // Compatibility Ideographs Supplement
    (0x30000, 0x323AF), // Extensions G-H
];

/// Whether `c` is a Chinese character (see [`CHINESE_RANGES`]). Chinese punctuation is
/// not included.
pub fn is_chinese_char(c: char) -> bool {
    let c = c as u32;
    CHINESE_RANGES
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// Whether `s` contains a Chinese character (see [`is_chinese_char`]).
///
/// Table and column names must not contain Chinese characters (OMS rejects them too); the
/// config check uses this on patterns and shard columns, the source precheck on the real
/// names it reads from the server.
pub fn contains_chinese(s: &str) -> bool {
    s.chars().any(is_chinese_char)
}

/// The code point ranges (inclusive) of the invisible format characters (Unicode category
/// Cf): bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069), zero-width characters
/// (U+200B-U+200D), the byte-order mark (U+FEFF) and the rest. They make a name display as
/// something it is not. Hand-listed because no dependency carries the category table; the
/// ranges are Unicode 15's Cf set. Published to the console (`obsync_server::rules`).
pub const FORMAT_RANGES: [(u32, u32); 21] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// The control characters (Unicode category Cc: C0 and C1), which `char::is_control`
/// finds; listed for the console.
pub const CONTROL_RANGES: [(u32, u32); 2] = [(0x0000, 0x001F), (0x007F, 0x009F)];

/// Whether `c` is an invisible format character (Unicode category Cf, see
/// [`FORMAT_RANGES`]).
pub fn is_format_char(c: char) -> bool {
    let c = c as u32;
    FORMAT_RANGES
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// The first control (Cc) or format (Cf) character of `name`, if any: the one rule for
/// every name a user gives (data sources, projects, tags, tokens).
pub fn hidden_char(name: &str) -> Option<char> {
    name.chars().find(|&c| c.is_control() || is_format_char(c))
}

/// The longest project name, in characters.
pub const PROJECT_NAME_MAX_CHARS: usize = 64;

/// A project's name: 1–64 characters, each a Chinese character, an ASCII letter or an ASCII
/// digit (no spaces, `-` or `_`, as in OMS).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

/// Why a project name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProjectName {
    /// The name is empty.
    #[error("project name is empty")]
    Empty,
    /// The name is longer than [`PROJECT_NAME_MAX_CHARS`].
    #[error("project name has {count} characters, at most 64 are allowed")]
    TooLong {
        /// Characters in the name.
        count: usize,
    },
    /// The name contains a character other than a Chinese character, letter or digit.
    #[error("project name contains {found:?}, which is not allowed")]
    BadChar {
        /// The first character that is not allowed.
        found: char,
    },
}

impl InvalidProjectName {
    /// How to write a valid name.
    pub const RULE: &'static str = "use 1-64 Chinese characters, ASCII letters and digits";
}

impl ProjectName {
    /// Parses a project name; see the type's documentation for the rule.
    pub fn parse(name: &str) -> Result<ProjectName, InvalidProjectName> {
        let count = name.chars().count();
        if count == 0 {
            return Err(InvalidProjectName::Empty);
        }
        if count > PROJECT_NAME_MAX_CHARS {
            return Err(InvalidProjectName::TooLong { count });
        }
        if let Some(found) = name
            .chars()
            .find(|&c| !c.is_ascii_alphanumeric() && !is_chinese_char(c))
        {
            return Err(InvalidProjectName::BadChar { found });
        }
        Ok(ProjectName(name.to_string()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 32;

/// A free label that groups projects: 1–32 characters, no control characters, not only
/// whitespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

/// Why a tag was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTag {
    /// The tag is empty or only whitespace.
    #[error("tag is empty")]
    Empty,
    /// The tag is longer than [`TAG_MAX_CHARS`].
    #[error("tag {tag:?} has {count} characters, at most 32 are allowed")]
    TooLong {
        /// The tag as written.
        tag: String,
        /// Characters in the tag.
        count: usize,
    },
    /// The tag contains a control or format character (a newline, a bidi override).
    #[error("tag {tag:?} contains a control or invisible format character")]
    ControlChar {
        /// The tag as written.
        tag: String,
    },
}

impl InvalidTag {
    /// How to write a valid tag.
    pub const RULE: &'static str = "use 1-32 printable characters";
}

impl Tag {
    /// Parses a tag; see the type's documentation for the rule.
    pub fn parse(tag: &str) -> Result<Tag, InvalidTag> {
        let count = tag.chars().count();
        if tag.trim().is_empty() {
            return Err(InvalidTag::Empty);
        }
        if count > TAG_MAX_CHARS {
            return Err(InvalidTag::TooLong {
                tag: tag.to_string(),
                count,
            });
        }
        if hidden_char(tag).is_some() {
            return Err(InvalidTag::ControlChar {
                tag: tag.to_string(),
            });
        }
        Ok(Tag(tag.to_string()))
    }

    /// The tag as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ranges_are_the_control_characters() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let listed = CONTROL_RANGES
                .iter()
                .any(|&(first, last)| (first..=last).contains(&(c as u32)));
            assert_eq!(listed, c.is_control(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn chinese_characters_are_found_in_names() {
        assert!(contains_chinese("订单"));
        assert!(contains_chinese("orders_表"));
        assert!(contains_chinese("\u{20000}"));
        assert!(!contains_chinese("orders_2024"));
        assert!(!contains_chinese("，")); // fullwidth comma: punctuation, not a character
    }

    #[test]
    fn project_name_allows_chinese_letters_and_digits_up_to_64() {
        assert_eq!(
            ProjectName::parse("订单同步01").unwrap().as_str(),
            "订单同步01"
        );
        assert!(ProjectName::parse(&"订".repeat(64)).is_ok());
        assert_eq!(
            ProjectName::parse(&"a".repeat(65)),
            Err(InvalidProjectName::TooLong { count: 65 })
        );
        assert_eq!(ProjectName::parse(""), Err(InvalidProjectName::Empty));
        assert_eq!(
            ProjectName::parse("orders-sync"),
            Err(InvalidProjectName::BadChar { found: '-' })
        );
    }

    #[test]
    fn tags_are_short_printable_labels() {
        assert!(Tag::parse("订单 team").is_ok());
        assert_eq!(Tag::parse("  "), Err(InvalidTag::Empty));
        assert!(matches!(
            Tag::parse(&"x".repeat(33)),
            Err(InvalidTag::TooLong { count: 33, .. })
        ));
        assert!(matches!(
            Tag::parse("a\tb"),
            Err(InvalidTag::ControlChar { .. })
        ));
    }
}
