//! The handlers' extractors: axum's `Json`, `Query` and `Path`, whose refusals
//! (malformed JSON, a wrong type, a missing content type, a bad query string) answer
//! with the API's `{code, message, advice, field}` instead of axum's plain text.
//! Named like axum's so that handlers and their OpenAPI annotations read the same.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};

/// A JSON body (and a JSON answer, as `axum::Json`).
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The query string.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// The path's parameters.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let field = json_error_path(&rejection);
        let advice = match &rejection {
            JsonRejection::JsonDataError(_) => {
                "send the field with the type the API document (/api/v1/openapi.json) gives it"
            }
            JsonRejection::JsonSyntaxError(_) => "send one well-formed JSON document as the body",
            JsonRejection::MissingJsonContentType(_) => {
                "send the body as JSON with the header Content-Type: application/json"
            }
            _ => "send the request body again, as JSON with Content-Type: application/json",
        };
        let error = ApiError::new(
            rejection.status(),
            ErrorCode::InvalidRequest {},
            rejection.body_text(),
            advice,
        );
        match field {
            Some(field) => error.with_field(field),
            None => error,
        }
    }
}

/// Where in the body a type error sits (`spec.objects[0].topic`), from the
/// `serde_path_to_error` cause that axum keeps.
fn json_error_path(rejection: &JsonRejection) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if let Some(e) = error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            let path = e.path().to_string();
            return (path != ".").then_some(path);
        }
        cause = error.source();
    }
    None
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest {},
            rejection.body_text(),
            "send the query parameters with the types the API document (/api/v1/openapi.json) gives them",
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        let status = match rejection.status() {
            // A path that does not deserialize names nothing that exists.
            s if s.is_client_error() => s,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(
            status,
            ErrorCode::InvalidRequest {},
            rejection.body_text(),
            "check the ids in the path; list the objects to find the right ones",
        )
    }
}
