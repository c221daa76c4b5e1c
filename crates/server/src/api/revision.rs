//! Revisions on the wire: a project's or data source's `ETag` is its stored revision,
//! and `If-Match` on a change makes it apply only to that revision (409 otherwise), so
//! two clients editing the same record cannot silently overwrite each other.

use axum::extract::FromRequestParts;
use axum::http::header::{HeaderValue, ETAG, IF_MATCH};
use axum::http::request::Parts;
use axum::http::HeaderName;

use super::error::ApiError;

/// The revision a change was made to: `If-Match: "<revision>"`; `None` without the
/// header or with `*` (any revision).
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<IfMatch, ApiError> {
        let Some(value) = parts.headers.get(IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or("").trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        text.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse::<u64>().ok())
            .map(|r| IfMatch(Some(r)))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "If-Match",
                    format!("If-Match {text:?} is not an ETag this server gave"),
                    "send the ETag of the GET answer as it came, e.g. If-Match: \"3\", or no If-Match",
                )
            })
    }
}

impl IfMatch {
    /// Refuses the change when the client's revision is not `current`'s.
    pub fn check(self, what: &'static str, id: &str, current: u64) -> Result<(), ApiError> {
        Ok(crate::store::check_revision(what, id, self.0, current)?)
    }
}

/// The `ETag` header of a record at `revision`.
pub fn etag(revision: u64) -> [(HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&format!("\"{revision}\""))
        .expect("a quoted number is a valid header value");
    [(ETAG, value)]
}
