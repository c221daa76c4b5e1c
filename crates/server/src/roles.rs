//! Roles and the one place they are enforced.
//!
//! Every operation of the OpenAPI document carries the role it needs as
//! `x-obsync-role`: declared next to the route in its `#[utoipa::path]`
//! (`extensions(("x-obsync-role" = json!("operator")))`), or by default read-only
//! operations (GET) need `viewer` and every other one `admin` ([`declare_defaults`]).
//! [`require_role`] reads the same table from the document, so what the document says
//! is what the server enforces, and a route nobody declared is admin-only.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::Operation;
use utoipa::openapi::OpenApi;
use utoipa::ToSchema;

use crate::api::error::ApiError;
use crate::auth::Actor;

/// What a user (or an API token) may do; each role includes the ones below it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything (projects, data sources without secrets, events, metrics).
    Viewer,
    /// A viewer who also creates, edits, prechecks, starts, pauses, resumes, releases
    /// and deletes projects, and manages tags.
    Operator,
    /// Everything: users, data sources, and what operators do.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The OpenAPI extension naming an operation's role.
pub const ROLE_EXTENSION: &str = "x-obsync-role";

/// Gives every operation of `doc` (the routes behind the login) that declares no role
/// the default one: `viewer` for GET, `admin` for anything that changes state.
pub fn declare_defaults(doc: &mut OpenApi) {
    for (method, _, op) in operations(doc) {
        let extensions = op.extensions.get_or_insert_with(Default::default);
        if !extensions.contains_key(ROLE_EXTENSION) {
            let role = if method == Method::GET {
                Role::Viewer
            } else {
                Role::Admin
            };
            extensions.insert(ROLE_EXTENSION.into(), role.as_str().into());
        }
    }
}

/// The role each (method, path) of the document needs.
#[derive(Debug, Default)]
pub struct RoleTable(HashMap<(Method, String), Role>);

impl RoleTable {
    /// Reads `x-obsync-role` from every operation of `doc`.
    ///
    /// Panics on a role name that is not one: a declaration error in the code, found by
    /// every test that builds the app.
    pub fn from_doc(doc: &mut OpenApi) -> RoleTable {
        let mut table = HashMap::new();
        for (method, path, op) in operations(doc) {
            let declared = op.extensions.as_ref().and_then(|e| e.get(ROLE_EXTENSION));
            if let Some(value) = declared {
                let role = value.as_str().and_then(Role::parse).unwrap_or_else(|| {
                    panic!("{method} {path}: x-obsync-role {value} is not a role")
                });
                table.insert((method, path), role);
            }
        }
        RoleTable(table)
    }

    /// The role `method path` needs; routes missing from the table are admin-only.
    pub fn required(&self, method: &Method, path: &str) -> Role {
        self.0
            .get(&(method.clone(), path.to_string()))
            .copied()
            .unwrap_or(Role::Admin)
    }
}

fn operations(doc: &mut OpenApi) -> impl Iterator<Item = (Method, String, &mut Operation)> {
    doc.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            (Method::GET, item.get.as_mut()),
            (Method::HEAD, item.head.as_mut()),
            (Method::POST, item.post.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::PATCH, item.patch.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
        ]
        .into_iter()
        .filter_map(move |(method, op)| Some((method, path.clone(), op?)))
    })
}

/// Middleware behind [`crate::auth::require_login`]: answers 403 when the caller's role
/// is below the one the route needs.
pub async fn require_role(
    State(table): State<Arc<RoleTable>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let needed = table.required(req.method(), &path);
    match req.extensions().get::<Actor>() {
        Some(actor) if actor.role >= needed => next.run(req).await,
        Some(actor) => forbidden(actor.role, needed).into_response(),
        None => ApiError::unauthenticated().into_response(),
    }
}

/// The 403 of a role too low for the action.
pub fn forbidden(have: Role, needed: Role) -> ApiError {
    crate::error::Error::Forbidden { have, needed }.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn an_undeclared_route_is_admin_only() {
        let table = RoleTable::default();
        assert_eq!(table.required(&Method::GET, "/x"), Role::Admin);
    }
}
