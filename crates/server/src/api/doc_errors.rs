//! The error answers that come from the layers and extractors around the handlers,
//! added to the generated OpenAPI document in one place rather than on every handler:
//! 401 from the login layer, 403 from the cross-site check, 400/415/422 from the
//! extractors (`extract.rs`). A client (and schemathesis) then finds every status the
//! server can give documented, each with the `ErrorBody` schema.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Adds 401 to every operation of `doc` (the routes behind the login layer).
pub fn add_login_errors(doc: &mut OpenApi) {
    for op in operations(doc) {
        add(
            op.1,
            "401",
            "Not logged in: no valid session cookie or API token.",
        );
    }
}

/// Adds 403 to every operation that needs more than the `viewer` role: the role check
/// ([`crate::roles::require_role`]) answers it to a user whose role is below.
/// Runs after [`crate::roles::declare_defaults`], so every operation names its role.
pub fn add_role_errors(doc: &mut OpenApi) {
    for (changes_state, op) in operations(doc) {
        let role = op
            .extensions
            .as_ref()
            .and_then(|e| e.get(crate::roles::ROLE_EXTENSION))
            .and_then(|v| v.as_str())
            .and_then(crate::roles::Role::parse);
        if role.is_some_and(|r| r > crate::roles::Role::Viewer) {
            let description = if changes_state {
                "Forbidden: your role is below the one this operation needs (x-obsync-role), \
                 or a state-changing request came from another site."
            } else {
                "Forbidden: your role is below the one this operation needs (x-obsync-role)."
            };
            add(op, "403", description);
        }
    }
}

/// Adds what the cross-site check and the extractors answer, by what each operation takes.
pub fn add_request_errors(doc: &mut OpenApi) {
    for (changes_state, op) in operations(doc) {
        if changes_state {
            add(op, "403", "A state-changing request from another site.");
        }
        let json_body = op
            .request_body
            .as_ref()
            .is_some_and(|b| b.content.contains_key("application/json"));
        let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
        if json_body || has_params {
            add(
                op,
                "400",
                "The request is malformed (JSON syntax, a query or path parameter).",
            );
        }
        if json_body {
            add(op, "415", "The body is not sent as application/json.");
            add(
                op,
                "422",
                "A field of the body has the wrong type or is missing.",
            );
        }
    }
}

/// Every operation, with whether its method changes state.
fn operations(doc: &mut OpenApi) -> impl Iterator<Item = (bool, &mut Operation)> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            (false, item.get.as_mut()),
            (false, item.head.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ]
        .into_iter()
        .filter_map(|(changes, op)| Some((changes, op?)))
    })
}

/// Documents `status` unless the handler already does (its own text wins).
fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(error_response(description)));
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
