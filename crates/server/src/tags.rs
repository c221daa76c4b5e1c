//! Tags: labels to group and filter projects, with OMS's limits (1-20 characters, no
//! spaces, unique, at most 100) and the project file's own rule, so every tag exports.

use crate::error::{Error, Result, Rule};
use crate::model::{new_id, Tag};
use crate::state::AppState;

/// Most tags a server holds, as OMS.
pub const MAX_TAGS: usize = 100;
/// Longest tag name, in characters (names hold no whitespace).
pub const TAG_MAX_CHARS: usize = 20;

/// `name` trimmed, if it is a valid tag name no other tag than `own_id` carries.
pub async fn checked_name(state: &AppState, name: &str, own_id: Option<&str>) -> Result<String> {
    let name = name.trim();
    crate::names::check_visible("name", name)?;
    let count = name.chars().count();
    if count == 0 || count > TAG_MAX_CHARS || name.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            Rule::Tag,
            "name",
            format!("tag {name:?} is invalid"),
            format!("use 1-{TAG_MAX_CHARS} characters without spaces"),
        )
        .with_rule(crate::error::InputRule::TagName { max: TAG_MAX_CHARS }));
    }
    // The project file's own rule for tags, so that every tag can be exported.
    if let Err(e) = obsync_config::Tag::parse(name) {
        return Err(Error::invalid(
            Rule::Tag,
            "name",
            e.to_string(),
            obsync_config::InvalidTag::RULE,
        )
        .with_rule(obsync_config::RuleMessage::from(&e)));
    }
    if state
        .store
        .list_tags()
        .await?
        .iter()
        .any(|t| t.name == name && Some(t.id.as_str()) != own_id)
    {
        return Err(Error::NameTaken {
            what: "tag",
            name: name.to_string(),
        });
    }
    Ok(name.to_string())
}

/// A new tag named `name`, judged by the tags' rules and their cap, not yet stored;
/// `pending` tags are about to be stored with it (an import's).
pub async fn new_tag(state: &AppState, name: &str, pending: usize) -> Result<Tag> {
    let name = checked_name(state, name, None).await?;
    if state.store.list_tags().await?.len() + pending >= MAX_TAGS {
        return Err(Error::TooMany {
            what: "tag",
            limit: MAX_TAGS,
        });
    }
    Ok(Tag {
        id: new_id("tag"),
        name,
    })
}
