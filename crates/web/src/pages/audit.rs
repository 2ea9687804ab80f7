//! The audit log page (admin and owner).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};

use super::Chrome;
use crate::api::audit::{AuditEntryView, AuditParams, PAGE, page_of};
use crate::auth::Caller;
use crate::error::WebError;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub(crate) struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditEntryView>,
    /// The `before` of the next (older) page, when there may be one.
    older: Option<i64>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AuditParams>,
) -> Result<AuditPage, WebError> {
    let params = AuditParams {
        limit: Some(PAGE),
        ..params
    };
    let entries = page_of(&state, &caller, &params).await?;
    let full = u32::try_from(entries.len()).unwrap_or(u32::MAX) >= PAGE;
    let older = entries.last().filter(|_| full).map(|e| e.id);
    Ok(AuditPage {
        chrome: Chrome::of(&caller),
        entries,
        older,
    })
}
