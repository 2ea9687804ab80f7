//! API tokens: create (the token is shown once), list, revoke.
//!
//! Everyone may make tokens for themselves (a token acts with its user's role); owners see and
//! revoke every token of the tenant.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use runway_store::{ApiToken, ApiTokenId};

use super::Chrome;
use crate::auth::{Action, Caller, tokens};
use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};
use crate::state::AppState;
use crate::view::local_time;

/// A token row.
pub(crate) struct TokenLine {
    id: i64,
    name: String,
    user_email: String,
    created_at: String,
    last_used_at: String,
    revoked_at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
pub(crate) struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenLine>,
    created: Option<String>,
    errors: FieldErrors,
}

/// The tokens a caller may see: their own, or all of the tenant for owners.
pub(crate) async fn visible(state: &AppState, caller: &Caller) -> Result<Vec<ApiToken>, WebError> {
    let all = state.store.api_tokens(caller.tenant.id).await?;
    Ok(if caller.may(Action::ManageUsers) {
        all
    } else {
        all.into_iter()
            .filter(|t| t.user_id == caller.user.id)
            .collect()
    })
}

async fn render(
    state: &AppState,
    caller: &Caller,
    created: Option<String>,
    errors: FieldErrors,
) -> Result<TokensPage, WebError> {
    let zone = &caller.tenant.settings.zone;
    let time = |t: Option<jiff::Timestamp>| t.map_or_else(String::new, |t| local_time(t, zone));
    Ok(TokensPage {
        chrome: Chrome::of(caller),
        tokens: visible(state, caller)
            .await?
            .into_iter()
            .map(|t| TokenLine {
                id: t.id.0,
                name: t.name,
                user_email: t.user_email,
                created_at: local_time(t.created_at, zone),
                last_used_at: time(t.last_used_at),
                revoked_at: time(t.revoked_at),
            })
            .collect(),
        created,
        errors,
    })
}

pub(crate) async fn page(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<TokensPage, WebError> {
    render(&state, &caller, None, FieldErrors::default()).await
}

pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    form: FormData,
) -> Result<TokensPage, WebError> {
    let name = form.get("name");
    if name.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add("name", "name the token after what will use it");
        return render(&state, &caller, None, errors).await;
    }
    let (plaintext, _) = tokens::create_api_token(
        &state.store,
        caller.tenant.id,
        caller.user.id,
        &name,
        state.now(),
    )
    .await?;
    render(
        &state,
        &caller,
        Some(plaintext.expose().to_owned()),
        FieldErrors::default(),
    )
    .await
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = ApiTokenId(id.trim().parse().map_err(|_| WebError::NotFound)?);
    if !visible(&state, &caller).await?.iter().any(|t| t.id == id) {
        return Err(WebError::NotFound);
    }
    tokens::revoke_api_token(&state.store, caller.tenant.id, id, state.now()).await?;
    Ok(Redirect::to("/tokens").into_response())
}
