//! The one rule for every name a user gives the server (data sources, projects, tags,
//! tokens): no control or invisible format characters. A NUL, a newline, a bidi override
//! (U+202E shows "exe.txt" as "txt.exe") or a zero-width space makes a name look like
//! another one in the console, the logs and the exports.

use crate::error::{Error, Rule};

/// Refuses `name` (the value of `field`) if it holds a control (Unicode Cc) or format (Cf)
/// character; see [`obsync_config::hidden_char`].
pub fn check_visible(field: &str, name: &str) -> Result<(), Error> {
    match obsync_config::hidden_char(name) {
        None => Ok(()),
        Some(c) => Err(Error::invalid(
            Rule::Name,
            field,
            format!(
                "{field} {:?} contains the invisible or control character U+{:04X}",
                name.escape_default().to_string(),
                c as u32
            ),
            "type the name again without control characters, bidi marks or zero-width characters",
        )
        .with_rule(crate::error::InputRule::HiddenChar {
            code_point: format!("U+{:04X}", c as u32),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::check_visible;

    #[test]
    fn names_with_control_or_format_characters_are_refused() {
        for ok in ["orders", "订单同步01", "kafka-prod_2", "ünïcödé"] {
            assert!(check_visible("name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "a\0b",
            "a\nb",
            "a\u{7f}",
            "evil\u{202e}txt",
            "a\u{2066}b",
            "a\u{2069}",
            "zero\u{200b}width",
            "a\u{200d}",
            "\u{feff}bom",
            "a\u{202a}",
            "soft\u{ad}hyphen",
        ] {
            let e = crate::api::error::ApiError::from(check_visible("name", bad).unwrap_err());
            assert_eq!(e.body.field.as_deref(), Some("name"), "{bad:?}");
            assert_eq!(e.body.code, "INVALID_NAME");
        }
    }
}
