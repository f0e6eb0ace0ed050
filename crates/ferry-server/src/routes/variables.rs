//! Variables of environments: listed by anyone who may read (secret values
//! never), set and unset by administrators
//! (`ferry var`), and gathered for an agent's job.
//!
//! A variable comes from ferry.toml (plain, with its environment) or is set
//! here (plain or secret); a set one wins over ferry.toml's of the same name.
//! A secret is sealed before it is stored and never answered: only an
//! agent's job carries it, opened, with its name in the job's `secrets` so
//! the agent masks it.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use ferry_api::{Page, Problem, SetVariable, Variable, VariableSource};
use ferry_core::Name;
use ferry_core::environment::EnvironmentSpec;
use ferry_store::StoreError;
use ferry_store::config::Stored;
use ferry_store::variables::{NewValue, VariableRecord};

use crate::auth::Caller;
use crate::convert::name;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::whole;
use crate::secrets::SecretKey;
use crate::state::AppState;
use ferry_core::access::{Action, Target};

fn secret_key(state: &AppState) -> Result<&SecretKey, ApiError> {
    state
        .secret_key
        .as_ref()
        .ok_or_else(|| ApiError::Internal("the server has no key to encrypt secrets with".into()))
}

async fn environment(state: &AppState, wanted: &Name) -> Result<Stored<EnvironmentSpec>, ApiError> {
    state
        .store
        .environments()
        .await?
        .into_iter()
        .find(|e| &e.spec.name == wanted)
        .ok_or_else(|| ApiError::NotFound(format!("there is no environment {:?}", wanted.as_str())))
}

fn variable_name(text: &str) -> Result<&str, ApiError> {
    ferry_core::variables::check_name(text).map_err(ApiError::Unprocessable)?;
    Ok(text)
}

/// A set variable as answered: a secret without its value.
fn set_variable_of(record: VariableRecord, config: &BTreeMap<String, String>) -> Variable {
    Variable {
        overrides_config: config.contains_key(&record.name),
        value: (!record.secret).then_some(record.value),
        name: record.name,
        secret: record.secret,
        source: VariableSource::Set,
        updated_by: Some(record.updated_by),
        updated_at: record.updated_at,
    }
}

/// The variables of an environment as its deployment steps see them: those
/// of ferry.toml, replaced by those set of the same name. Secrets are listed
/// without their values. Anyone who may read.
#[utoipa::path(get, path = "/api/v1/environments/{environment}/variables", tag = "configuration", security(("bearer" = [])),
    params(("environment" = ferry_core::Name, Path, description = "The environment's name")),
    responses(
        (status = 200, body = Page<Variable>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn list_variables(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<axum::Json<Page<Variable>>> {
    caller
        .require(&state, Action::Read, &Target::SERVER)
        .await?;
    let wanted = name("environment", &text)?;
    let environment = environment(&state, &wanted).await?;
    let config = &environment.spec.variables;
    let mut variables: BTreeMap<String, Variable> = config
        .iter()
        .map(|(variable, value)| {
            let listed = Variable {
                name: variable.clone(),
                value: Some(value.clone()),
                secret: false,
                source: VariableSource::Config,
                overrides_config: false,
                updated_by: None,
                updated_at: environment.updated_at,
            };
            (variable.clone(), listed)
        })
        .collect();
    for record in state.store.variables(Some(&wanted)).await? {
        variables.insert(record.name.clone(), set_variable_of(record, config));
    }
    Ok(axum::Json(whole(variables.into_values().collect())))
}

/// Sets a variable of an environment, replacing what was set before under
/// that name (201 when it is new). A secret is encrypted before it is
/// stored, is never answered, and agents mask it in logs. Administrators
/// only; the audit trail records who set what, never a secret's value.
#[utoipa::path(put, path = "/api/v1/environments/{environment}/variables/{name}", tag = "configuration", security(("bearer" = [])),
    params(
        ("environment" = ferry_core::Name, Path, description = "The environment's name"),
        ("name" = crate::openapi::VariableName, Path, description = "The variable's name: letters, digits and underscores, not starting with a digit or FERRY_")
    ),
    request_body = SetVariable,
    responses(
        (status = 200, description = "Replaced", body = Variable),
        (status = 201, description = "Created", body = Variable),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The value cannot be used (too long, a NUL, a secret too short to mask)", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn set_variable(
    State(state): State<AppState>,
    caller: Caller,
    Path((environment_text, variable_text)): Path<(String, String)>,
    Json(request): Json<SetVariable>,
) -> ApiResult<(StatusCode, axum::Json<Variable>)> {
    let wanted = name("environment", &environment_text)?;
    caller
        .require(
            &state,
            Action::ManageVariables,
            &Target::environment(&wanted, false),
        )
        .await?;
    let variable = variable_name(&variable_text)?;
    let environment = environment(&state, &wanted).await?;
    let sealed;
    let value = if request.secret {
        ferry_core::variables::check_secret(variable, &request.value)
            .map_err(ApiError::Unprocessable)?;
        sealed = secret_key(&state)?
            .seal(wanted.as_str(), variable, &request.value)
            .map_err(|e| ApiError::Internal(format!("cannot encrypt {variable}: {e}")))?;
        NewValue::Sealed(&sealed)
    } else {
        ferry_core::variables::check_value(variable, &request.value)
            .map_err(ApiError::Unprocessable)?;
        NewValue::Plain(&request.value)
    };
    let (record, created) = state
        .store
        .set_variable(caller.actor(), &wanted, variable, value)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(set_variable_of(record, &environment.spec.variables)),
    ))
}

/// Removes a variable that was set; a ferry.toml variable of the same name
/// applies again. Answers the variable removed (a secret without its value).
/// Administrators only.
#[utoipa::path(delete, path = "/api/v1/environments/{environment}/variables/{name}", tag = "configuration", security(("bearer" = [])),
    params(
        ("environment" = ferry_core::Name, Path, description = "The environment's name"),
        ("name" = crate::openapi::VariableName, Path, description = "The variable's name")
    ),
    responses(
        (status = 200, body = Variable),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The variable comes from ferry.toml", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn unset_variable(
    State(state): State<AppState>,
    caller: Caller,
    Path((environment_text, variable_text)): Path<(String, String)>,
) -> ApiResult<axum::Json<Variable>> {
    let wanted = name("environment", &environment_text)?;
    caller
        .require(
            &state,
            Action::ManageVariables,
            &Target::environment(&wanted, false),
        )
        .await?;
    let variable = variable_name(&variable_text)?;
    let environment = environment(&state, &wanted).await?;
    let config = &environment.spec.variables;
    match state
        .store
        .unset_variable(caller.actor(), &wanted, variable)
        .await
    {
        Ok(removed) => Ok(axum::Json(set_variable_of(removed, config))),
        Err(StoreError::NotFound(_)) if config.contains_key(variable) => {
            Err(ApiError::Conflict(format!(
                "{variable} of environment {:?} comes from ferry.toml: remove it there and run `ferry apply`",
                wanted.as_str()
            )))
        }
        Err(error) => Err(error.into()),
    }
}

/// The variables an agent's job in `environment` gets, secrets opened, and
/// the names of the secret ones, which the agent masks in what it prints
/// and reports.
pub(super) async fn for_job(
    state: &AppState,
    environment: &str,
) -> Result<(BTreeMap<String, String>, Vec<String>), ApiError> {
    let wanted = name("environment", environment)?;
    let mut variables = state
        .store
        .environments()
        .await?
        .into_iter()
        .find(|e| e.spec.name == wanted)
        .map(|e| e.spec.variables)
        .unwrap_or_default();
    let mut secrets = Vec::new();
    for record in state.store.variables(Some(&wanted)).await? {
        let value = if record.secret {
            let opened = secret_key(state)?
                .open(environment, &record.name, &record.value)
                .map_err(|error| {
                    ApiError::Internal(format!(
                        "cannot decrypt secret {} of environment {environment:?}: {error}",
                        record.name
                    ))
                })?;
            secrets.push(record.name.clone());
            opened
        } else {
            record.value
        };
        variables.insert(record.name, value);
    }
    Ok((variables, secrets))
}
