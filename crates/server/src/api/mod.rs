//! The HTTP surface: `/api/v1` (REST, JSON, OpenAPI generated from these handlers),
//! `/api/v2?Action=…` (the OMS shim), `/metrics`, and the console for everything else.

mod cluster;
pub mod datasources;
mod doc_errors;
pub mod error;
mod extract;
pub mod guard;
mod messages;
mod objects;
mod oms;
mod preview;
mod progress;
mod projects;
mod revision;
mod session;
mod system;
pub(crate) mod tags;
mod users;
mod verify;

use axum::middleware;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

pub use crate::auth::Actor;
use crate::http;
use crate::state::AppState;
use error::{ApiError, ApiResult};
pub use revision::IfMatch;

/// Most items one page holds (OMS's limit for project lists).
pub const MAX_PAGE_SIZE: u64 = 150;
const DEFAULT_PAGE_SIZE: u64 = 20;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "obsync server API",
        description = "Data sources, tags and sync projects of obsync. Errors are {code, message, advice, field}. Every path but /api/v1/health and POST /api/v1/session needs a session cookie (POST /api/v1/session) or an API token (Authorization: Bearer). Each operation's x-obsync-role names the least role it needs (viewer < operator < admin); a lower one gets 403 FORBIDDEN_ROLE.",
        version = "1"
    ),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

/// A project named in another object's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectRef {
    pub id: String,
    pub name: String,
}

/// `?page=&page_size=` checked.
pub struct Paging {
    pub page: u64,
    pub size: u64,
}

impl Paging {
    pub fn new(page: Option<u64>, size: Option<u64>) -> ApiResult<Paging> {
        let page = page.unwrap_or(1);
        let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 {
            return Err(ApiError::bad_request(
                "page",
                "page starts at 1",
                "ask for page=1 or later",
            ));
        }
        if size == 0 || size > MAX_PAGE_SIZE {
            return Err(ApiError::bad_request(
                "page_size",
                format!("page_size {size} is out of range"),
                format!("use 1-{MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Paging { page, size })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.size)
    }

    pub fn slice<T>(&self, all: Vec<T>) -> Vec<T> {
        all.into_iter()
            .skip(self.offset() as usize)
            .take(self.size as usize)
            .collect()
    }
}

fn api_routes(state: &AppState) -> (Router<AppState>, OpenApiDoc) {
    let mut protected = OpenApiRouter::new()
        .merge(session::routes())
        .merge(datasources::routes())
        .merge(tags::routes())
        .merge(projects::routes())
        .merge(objects::routes())
        .merge(messages::routes())
        .merge(verify::routes())
        .merge(preview::routes())
        .merge(system::protected_routes())
        .merge(cluster::routes())
        .merge(users::routes());
    doc_errors::add_login_errors(protected.get_openapi_mut());
    crate::roles::declare_defaults(protected.get_openapi_mut());
    doc_errors::add_role_errors(protected.get_openapi_mut());
    let roles = std::sync::Arc::new(crate::roles::RoleTable::from_doc(
        protected.get_openapi_mut(),
    ));
    // The role check runs inside the login check (the later layer is the outer one).
    let protected = protected
        .layer(middleware::from_fn_with_state(
            roles,
            crate::roles::require_role,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::api::guard::require_login,
        ));
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::public_routes())
        .merge(session::public_routes())
        .merge(protected)
        .split_for_parts();
    doc_errors::add_request_errors(&mut doc);
    (router, doc)
}

/// The OpenAPI document the server serves (and `docs/openapi.json` holds).
pub fn openapi(state: &AppState) -> OpenApiDoc {
    api_routes(state).1
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api_routes(&state);
    let doc = std::sync::Arc::new(doc);
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(oms::routes(state.clone()))
        .merge(system::metrics_route(state.clone()))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .fallback(crate::console::serve)
        .layer(middleware::from_fn(crate::api::guard::reject_cross_site))
        .layer(middleware::from_fn_with_state(
            state.request_timeout,
            http::request_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.allowed_hosts.clone(),
            http::check_host,
        ))
        .layer(middleware::from_fn_with_state(
            state.tls,
            http::security_headers,
        ))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        error::ErrorCode::NotFound {
            what: "api_path".into(),
            id: String::new(),
        },
        "no such API path",
        "see /api/v1/openapi.json for the paths",
    )
}
