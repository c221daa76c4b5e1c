//! The verify report as text, one block per table and a verdict line.

use std::fmt;

use super::{Comparison, Keys, VerifyReport};

/// Longest example key shown; longer ones (whole rows of keyless tables, long texts)
/// are cut with an ellipsis.
const EXAMPLE_CHARS: usize = 120;

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "project {}: {} tables", self.project, self.tables.len())?;
        for t in &self.topics {
            write!(f, "topic {}: {} records read", t.topic, t.records)?;
            if t.other_records > 0 {
                write!(
                    f,
                    ", {} of tables outside the project ignored",
                    t.other_records
                )?;
            }
            match &t.sequence {
                None => writeln!(f, "; no storeDataSequence in this format")?,
                Some(s) if s.regressions == 0 => writeln!(
                    f,
                    "; storeDataSequence strictly increases per partition ({} numbered)",
                    s.numbered
                )?,
                Some(s) => writeln!(
                    f,
                    "; storeDataSequence goes back {} times, first in {}",
                    s.regressions,
                    s.first_regression.as_deref().unwrap_or("?")
                )?,
            }
        }
        for t in &self.tables {
            let how = match &t.comparison {
                Comparison::ByKey(columns) => format!("by key ({})", columns.join(", ")),
                Comparison::Multiset => {
                    "as a multiset of whole rows (no primary or NOT NULL unique key)".to_string()
                }
            };
            writeln!(f, "table {} (topic {}), compared {how}", t.table, t.topic)?;
            if let Some((first, last)) = &t.positions {
                if first == last {
                    writeln!(f, "  read at change-log position {first}")?;
                } else {
                    writeln!(f, "  read at change-log positions {first} … {last}")?;
                }
            }
            writeln!(
                f,
                "  rows checked {}, rows in topic {}, missing {}, extra {}, different {}, rechecked {}: {}",
                t.rows_checked,
                t.rows_in_topic,
                t.missing.count,
                t.extra.count,
                t.different.count,
                t.rechecked,
                if t.is_clean() { "clean" } else { "DIFFERENT" }
            )?;
            examples(f, "missing (in the source, not in the topic)", &t.missing)?;
            examples(f, "extra (in the topic, not in the source)", &t.extra)?;
            examples(f, "different", &t.different)?;
        }
        for (id, reason) in &self.excluded {
            writeln!(f, "not verified: {id}: {reason}")?;
        }
        let differing = self.tables.iter().filter(|t| !t.is_clean()).count();
        if self.is_clean() {
            writeln!(f, "result: clean")
        } else if differing > 0 {
            writeln!(
                f,
                "result: {differing} of {} tables differ",
                self.tables.len()
            )
        } else {
            writeln!(f, "result: storeDataSequence goes back")
        }
    }
}

fn examples(f: &mut fmt::Formatter<'_>, what: &str, keys: &Keys) -> fmt::Result {
    if keys.examples.is_empty() {
        return Ok(());
    }
    writeln!(f, "  {what}, e.g.:")?;
    for key in &keys.examples {
        let shown: String = key.chars().take(EXAMPLE_CHARS).collect();
        let cut = if shown.len() < key.len() { "…" } else { "" };
        writeln!(f, "    {shown}{cut}")?;
    }
    Ok(())
}
