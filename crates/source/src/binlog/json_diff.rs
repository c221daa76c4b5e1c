//! Partial JSON updates (`PARTIAL_UPDATE_ROWS_EVENT`, MySQL's
//! `binlog_row_value_options=PARTIAL_JSON`, also written by OceanBase's Binlog Service):
//! the after image of a JSON column is a list of diffs — REPLACE, INSERT or REMOVE at a
//! path — to apply to the before image's document.
//!
//! mysql_common decodes the diffs (operation, path text, binary JSON value) but does not
//! apply them, and no maintained crate applies MySQL JSON paths (JSONPath and JSON
//! Pointer crates use other syntaxes), so the path parser and the three operations are
//! written here, following the server's rules (`apply_json_diffs` in MySQL's
//! `sql/json_diff.cc`): a diff that does not fit the document is *rejected*, never
//! approximated — the caller fails the table with the column named, see
//! [`super::error::BinlogError::JsonDiff`].

use mysql_common::binlog::jsondiff::{JsonDiff, JsonDiffOperation};
use serde_json::Value as Json;

/// One step of a path: an object member or an array cell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Leg {
    Member(String),
    /// `[n]`.
    Index(usize),
    /// `[last]` (0) or `[last-n]` (n): counted from the end.
    FromLast(usize),
}

/// Applies `diffs` in order to `doc` (the before image's document) and returns the
/// after image's document; `Err` says which diff did not fit and why.
pub(crate) fn apply(mut doc: Json, diffs: &[JsonDiff<'_>]) -> Result<Json, String> {
    for (n, diff) in diffs.iter().enumerate() {
        let path = diff.path_str();
        let op = diff.operation();
        let fail = |why: String| format!("diff {} ({op:?} at {path}): {why}", n + 1);
        let legs = parse_path(&path).map_err(&fail)?;
        let value = match diff.value() {
            Some(v) => Some(
                Json::try_from(v.clone())
                    .map_err(|e| fail(format!("its value is not readable JSON: {e}")))?,
            ),
            None => None,
        };
        apply_one(&mut doc, op, &legs, value).map_err(fail)?;
    }
    Ok(doc)
}

fn apply_one(
    doc: &mut Json,
    op: JsonDiffOperation,
    legs: &[Leg],
    value: Option<Json>,
) -> Result<(), String> {
    // The server never writes a diff of the whole document (it logs the full value).
    let Some((last, parents)) = legs.split_last() else {
        return Err("a diff of the whole document".into());
    };
    let parent = seek(doc, parents).ok_or("the path's parent is not in the document")?;
    let value = || {
        value
            .clone()
            .ok_or_else(|| format!("{op:?} without a value"))
    };
    match (op, parent, last) {
        (JsonDiffOperation::REPLACE, Json::Object(map), Leg::Member(key)) => {
            let slot = map.get_mut(key).ok_or("the member to replace is missing")?;
            *slot = value()?;
        }
        (JsonDiffOperation::REPLACE, Json::Array(items), leg) => {
            let i = within(items.len(), leg).ok_or("the cell to replace is missing")?;
            items[i] = value()?;
        }
        (JsonDiffOperation::INSERT, Json::Object(map), Leg::Member(key)) => {
            if map.contains_key(key) {
                return Err("the member to insert exists already".into());
            }
            map.insert(key.clone(), value()?);
        }
        (
            JsonDiffOperation::INSERT,
            Json::Array(items),
            leg @ (Leg::Index(_) | Leg::FromLast(_)),
        ) => {
            // Past the end appends, as the server's array insert does.
            let i = position(items.len(), leg).min(items.len());
            items.insert(i, value()?);
        }
        (JsonDiffOperation::REMOVE, Json::Object(map), Leg::Member(key)) => {
            map.remove(key).ok_or("the member to remove is missing")?;
        }
        (JsonDiffOperation::REMOVE, Json::Array(items), leg) => {
            let i = within(items.len(), leg).ok_or("the cell to remove is missing")?;
            items.remove(i);
        }
        (_, parent, leg) => {
            return Err(format!(
                "the path step {leg:?} does not fit a {} there",
                kind(parent)
            ))
        }
    }
    Ok(())
}

/// The value at `legs` exactly (no auto-wrapping, no wildcards), as the server seeks it.
fn seek<'a>(mut doc: &'a mut Json, legs: &[Leg]) -> Option<&'a mut Json> {
    for leg in legs {
        doc = match (doc, leg) {
            (Json::Object(map), Leg::Member(key)) => map.get_mut(key)?,
            (Json::Array(items), leg) => {
                let i = within(items.len(), leg)?;
                &mut items[i]
            }
            _ => return None,
        };
    }
    Some(doc)
}

/// The array position a cell leg names (may be out of bounds; `Member` names none).
fn position(len: usize, leg: &Leg) -> usize {
    match leg {
        Leg::Index(i) => *i,
        // `last-n` before the first cell is out of bounds: usize::MAX never fits.
        Leg::FromLast(n) => len.checked_sub(n + 1).unwrap_or(usize::MAX),
        Leg::Member(_) => usize::MAX,
    }
}

fn within(len: usize, leg: &Leg) -> Option<usize> {
    let i = position(len, leg);
    (i < len).then_some(i)
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Object(_) => "object",
        Json::Array(_) => "array",
        _ => "scalar",
    }
}

/// Parses a path as the server prints it: `$`, then `.member`, `."quoted member"`,
/// `[n]`, `[last]` or `[last-n]` legs.
fn parse_path(text: &str) -> Result<Vec<Leg>, String> {
    let bad = |why: &str| format!("unreadable path {text:?}: {why}");
    let mut rest = text
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| bad("it does not start with $"))?;
    let mut legs = Vec::new();
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else {
            return Ok(legs);
        };
        match c {
            '.' => {
                rest = rest[1..].trim_start();
                if rest.starts_with('"') {
                    let end =
                        quoted_end(rest).ok_or_else(|| bad("an unterminated quoted member"))?;
                    let key: String = serde_json::from_str(&rest[..end])
                        .map_err(|e| bad(&format!("a bad quoted member: {e}")))?;
                    legs.push(Leg::Member(key));
                    rest = &rest[end..];
                } else {
                    let end = rest
                        .find(|c: char| c == '.' || c == '[' || c.is_whitespace())
                        .unwrap_or(rest.len());
                    if end == 0 || rest[..end].contains('*') {
                        return Err(bad("an empty or wildcard member"));
                    }
                    legs.push(Leg::Member(rest[..end].to_string()));
                    rest = &rest[end..];
                }
            }
            '[' => {
                let end = rest.find(']').ok_or_else(|| bad("an unterminated cell"))?;
                let cell = rest[1..end].trim();
                let leg = match cell.strip_prefix("last") {
                    Some("") => Leg::FromLast(0),
                    Some(back) => {
                        let n = back.trim_start().strip_prefix('-').map(str::trim);
                        Leg::FromLast(
                            n.and_then(|n| n.parse().ok())
                                .ok_or_else(|| bad("a cell other than [n], [last] or [last-n]"))?,
                        )
                    }
                    None => Leg::Index(
                        cell.parse()
                            .map_err(|_| bad("a cell other than [n], [last] or [last-n]"))?,
                    ),
                };
                legs.push(leg);
                rest = &rest[end + 1..];
            }
            _ => return Err(bad("a step other than .member or [cell]")),
        }
    }
}

/// The byte length of the JSON string literal at the start of `s` (quotes included).
fn quoted_end(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_as_the_server_prints_them() {
        assert_eq!(parse_path("$"), Ok(vec![]));
        assert_eq!(
            parse_path(r#"$.a[2]."b c\"d"[last-1][last]"#),
            Ok(vec![
                Leg::Member("a".into()),
                Leg::Index(2),
                Leg::Member("b c\"d".into()),
                Leg::FromLast(1),
                Leg::FromLast(0),
            ])
        );
        assert!(parse_path("$.*").is_err());
        assert!(parse_path("$[1 to 3]").is_err());
        assert!(parse_path("a.b").is_err());
        assert!(parse_path(r#"$."open"#).is_err());
    }

    fn one(
        doc: Json,
        op: JsonDiffOperation,
        path: &str,
        value: Option<Json>,
    ) -> Result<Json, String> {
        let mut doc = doc;
        apply_one(&mut doc, op, &parse_path(path)?, value)?;
        Ok(doc)
    }

    #[test]
    fn the_three_operations_follow_the_server() {
        use JsonDiffOperation::*;
        let doc = json!({"a": [1, 2, 3], "o": {"k": "v"}});
        assert_eq!(
            one(doc.clone(), REPLACE, "$.o.k", Some(json!(7))),
            Ok(json!({"a": [1, 2, 3], "o": {"k": 7}}))
        );
        assert_eq!(
            one(doc.clone(), REPLACE, "$.a[last]", Some(json!("x"))),
            Ok(json!({"a": [1, 2, "x"], "o": {"k": "v"}}))
        );
        assert_eq!(
            one(doc.clone(), INSERT, "$.a[1]", Some(json!(9))),
            Ok(json!({"a": [1, 9, 2, 3], "o": {"k": "v"}}))
        );
        // Past the end appends.
        assert_eq!(
            one(doc.clone(), INSERT, "$.a[10]", Some(json!(9))),
            Ok(json!({"a": [1, 2, 3, 9], "o": {"k": "v"}}))
        );
        assert_eq!(
            one(doc.clone(), INSERT, "$.n", Some(json!(null))),
            Ok(json!({"a": [1, 2, 3], "n": null, "o": {"k": "v"}}))
        );
        assert_eq!(
            one(doc.clone(), REMOVE, "$.a[0]", None),
            Ok(json!({"a": [2, 3], "o": {"k": "v"}}))
        );
        assert_eq!(
            one(doc.clone(), REMOVE, "$.o", None),
            Ok(json!({"a": [1, 2, 3]}))
        );
    }

    #[test]
    fn a_diff_that_does_not_fit_is_rejected() {
        use JsonDiffOperation::*;
        let doc = json!({"a": [1], "s": "text"});
        for (op, path, value) in [
            (REPLACE, "$.missing", Some(json!(1))),
            (REPLACE, "$.a[1]", Some(json!(1))),
            (REPLACE, "$", Some(json!(1))),
            (INSERT, "$.a", Some(json!(1))),
            (INSERT, "$.s.x", Some(json!(1))),
            (INSERT, "$.nope.x", Some(json!(1))),
            (REMOVE, "$.a[5]", None),
            (REMOVE, "$.a[last-3]", None),
            (REMOVE, "$.zz", None),
            (REPLACE, "$.a[0]", None),
        ] {
            assert!(
                one(doc.clone(), op, path, value.clone()).is_err(),
                "{op:?} {path} {value:?}"
            );
        }
    }
}
