//! Customers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use runway_store::{Customer, CustomerDraft, CustomerId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{body, path_id};
use crate::auth::{Action, ApiCaller};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Notes.
    pub notes: String,
    /// How many instances it has.
    pub instance_count: u32,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> CustomerView {
        CustomerView {
            id: c.id.0,
            name: c.name,
            notes: c.notes,
            instance_count: c.instance_count,
        }
    }
}

/// A customer to create or update.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomerInput {
    /// Its name.
    pub name: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// Deleting a customer.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeleteParams {
    /// Delete its instances (and their history) too.
    #[serde(default)]
    pub cascade: bool,
}

/// The tenant's customers, by name.
#[utoipa::path(get, path = "/customers", tag = "customers",
    responses((status = 200, body = Vec<CustomerView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<CustomerView>>, ApiError> {
    let customers = state.store.customers(caller.tenant.id).await?;
    Ok(Json(
        customers.into_iter().map(CustomerView::from).collect(),
    ))
}

/// Creates a customer (admin).
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, body = CustomerView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<CustomerView>), ApiError> {
    caller.require(Action::Edit)?;
    let input: CustomerInput = body(&bytes)?;
    let customer = state
        .store
        .create_customer(
            caller.tenant.id,
            &CustomerDraft {
                name: input.name,
                notes: input.notes,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(customer.into())))
}

/// One customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    let customer = state
        .store
        .customer(caller.tenant.id, CustomerId(path_id(&id)?))
        .await?;
    Ok(Json(customer.into()))
}

/// Renames a customer and replaces its notes (admin).
#[utoipa::path(put, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = CustomerInput,
    responses((status = 200, body = CustomerView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<CustomerView>, ApiError> {
    caller.require(Action::Edit)?;
    let id = CustomerId(path_id(&id)?);
    let input: CustomerInput = body(&bytes)?;
    let customer = state
        .store
        .update_customer(
            caller.tenant.id,
            id,
            &CustomerDraft {
                name: input.name,
                notes: input.notes,
            },
        )
        .await?;
    Ok(Json(customer.into()))
}

/// Deletes a customer; one with instances needs `cascade=true` (admin).
#[utoipa::path(delete, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path), DeleteParams),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::Edit)?;
    state
        .store
        .delete_customer(caller.tenant.id, CustomerId(path_id(&id)?), params.cascade)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
