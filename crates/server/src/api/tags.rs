//! `/api/v1/tags`: labels to group and filter projects (OMS limits: 1-20 characters, no
//! spaces, unique, at most 100).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Json, Path};
use crate::model::Tag;
use crate::state::AppState;
use crate::tags::{checked_name, new_tag};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(rename_tag, delete_tag))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagList {
    pub items: Vec<Tag>,
    pub total: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    /// 1-20 characters, no spaces, unique.
    #[schema(pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,20}$")]
    pub name: String,
}

/// Every tag.
#[utoipa::path(get, path = "/api/v1/tags", tag = "tags", responses((status = 200, body = TagList), (status = 401, body = ErrorBody)))]
async fn list_tags(State(state): State<AppState>) -> ApiResult<Json<TagList>> {
    let items = state.store.list_tags().await?;
    Ok(Json(TagList {
        total: items.len() as u64,
        items,
    }))
}

/// Create a tag.
#[utoipa::path(post, path = "/api/v1/tags", tag = "tags", request_body = TagInput,
    responses((status = 201, body = Tag), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn create_tag(
    State(state): State<AppState>,
    Json(input): Json<TagInput>,
) -> ApiResult<(StatusCode, Json<Tag>)> {
    let tag = new_tag(&state, &input.name, 0).await?;
    state.store.put_tag(&tag).await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

/// Rename a tag.
#[utoipa::path(put, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = String, Path)), request_body = TagInput,
    responses((status = 200, body = Tag), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn rename_tag(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(input): Json<TagInput>,
) -> ApiResult<Json<Tag>> {
    if !state.store.list_tags().await?.iter().any(|t| t.id == id) {
        return Err(ApiError::not_found("tag", &id));
    }
    let tag = Tag {
        name: checked_name(&state, &input.name, Some(&id)).await?,
        id,
    };
    state.store.put_tag(&tag).await?;
    Ok(Json(tag))
}

/// Delete a tag; projects that carry it lose it.
#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn delete_tag(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let _guard = state.lifecycle.lock().await;
    if !state.store.delete_tag(&id).await? {
        return Err(ApiError::not_found("tag", &id));
    }
    for mut p in state.store.list_projects().await? {
        if p.spec.tag_ids.contains(&id) {
            p.spec.tag_ids.retain(|t| t != &id);
            if let Some(pre) = p.precheck.as_mut() {
                pre.spec.tag_ids.retain(|t| t != &id);
            }
            state.store.put_project(&p).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
