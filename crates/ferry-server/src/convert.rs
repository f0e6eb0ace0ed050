//! From stored records to wire types.

use ferry_api as api;
use ferry_store::auth::{TokenRecord, UserRecord};
use ferry_store::config::Stored;
use ferry_store::deployments::DeploymentRecord;
use ferry_store::releases::ReleaseRecord;

use crate::error::ApiError;

pub fn environment(stored: Stored<api::EnvironmentSpec>) -> api::Environment {
    api::Environment {
        spec: stored.spec,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

pub fn lifecycle(stored: Stored<api::LifecycleSpec>) -> api::Lifecycle {
    api::Lifecycle {
        spec: stored.spec,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

pub fn service(stored: Stored<api::ServiceSpec>) -> api::Service {
    api::Service {
        spec: stored.spec,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

pub fn release(record: ReleaseRecord) -> api::Release {
    api::Release {
        id: record.id,
        service: record.service,
        version: record.version,
        state: record.state,
        notes: record.notes,
        commit: record.commit,
        previous_version: record.previous_version,
        artifacts: record
            .artifacts
            .into_iter()
            .map(|a| api::Artifact {
                stored: a.uri.is_none(),
                name: a.name,
                digest: a.digest,
                size: a.size,
                uri: a.uri,
            })
            .collect(),
        created_by: record.created_by,
        created_at: record.created_at,
    }
}

pub fn deployment(record: DeploymentRecord) -> api::Deployment {
    api::Deployment {
        id: record.id,
        service: record.service,
        version: record.version,
        environment: record.environment,
        status: record.status,
        created_by: record.created_by,
        created_at: record.created_at,
        updated_at: record.updated_at,
        scheduled_at: record.scheduled_at,
        emergency_reason: record.emergency_reason,
        url: record.url,
        reason: record.reason,
        rollback_of: record.rollback_of,
        progress: None,
        targets: Vec::new(),
        pause: None,
    }
}

pub fn user(record: UserRecord) -> api::User {
    api::User {
        name: record.name,
        email: record.email,
        admin: record.admin,
        created_at: record.created_at,
        disabled_at: record.disabled_at,
    }
}

pub fn grant(record: ferry_store::access::GrantRecord) -> api::GrantEntry {
    api::GrantEntry {
        id: record.id,
        user: record.user,
        group: record.group,
        grant: record.grant,
        created_by: record.created_by,
        created_at: record.created_at,
    }
}

pub fn group(record: ferry_store::access::GroupRecord) -> api::Group {
    api::Group {
        name: record.name,
        members: record.members,
        created_at: record.created_at,
    }
}

pub fn token(record: TokenRecord) -> api::Token {
    api::Token {
        id: record.id,
        name: record.name,
        user: record.user,
        prefix: record.prefix,
        created_at: record.created_at,
        last_used_at: record.last_used_at,
        revoked_at: record.revoked_at,
        expires_at: record.expires_at,
        grants: record.grants,
    }
}

pub fn audit_event(record: ferry_core::audit::AuditRecord) -> api::AuditEvent {
    // Details were written by the store as JSON; an unreadable one is shown as
    // the text it is rather than hidden, since this is the audit trail.
    let details =
        serde_json::from_str(&record.details).unwrap_or(serde_json::Value::String(record.details));
    api::AuditEvent {
        seq: record.seq,
        time: record.time,
        actor: record.actor,
        action: record.action,
        object: record.object,
        details,
        prev_hash: record.prev_hash,
        hash: record.hash,
    }
}

/// A text checked against its limit (length, control characters), or a 422
/// naming the field, the limit and the size.
/// A lock as the API shows it.
pub fn lock(record: ferry_store::locks::LockRecord) -> api::Lock {
    let unlocked = record.unlocked;
    api::Lock {
        id: record.id,
        environment: record.lock.environment,
        service: record.lock.service,
        reason: record.lock.reason,
        locked_by: record.lock.locked_by,
        locked_at: record.lock.locked_at,
        unlocked_by: unlocked.as_ref().map(|l| l.by.clone()),
        unlocked_at: unlocked.as_ref().map(|l| l.at),
        unlock_reason: unlocked.map(|l| l.reason),
    }
}

/// A bad mark as the API shows it.
pub fn mark(record: ferry_store::marks::MarkRecord) -> api::Mark {
    let unmarked = record.unmarked;
    api::Mark {
        id: record.id,
        release: record.release.to_string(),
        environment: record.mark.environment,
        reason: record.mark.reason,
        marked_by: record.mark.marked_by,
        marked_at: record.mark.marked_at,
        deployment: record.mark.deployment,
        unmarked_by: unmarked.as_ref().map(|l| l.by.clone()),
        unmarked_at: unmarked.as_ref().map(|l| l.at),
        unmark_reason: unmarked.map(|l| l.reason),
    }
}

pub fn within(limit: &ferry_core::limits::Limit, field: &str, value: &str) -> Result<(), ApiError> {
    limit
        .check(field, value)
        .map_err(|error| ApiError::Unprocessable(error.to_string()))
}

/// A list within `limit` (counted in items), or a 422 naming the field,
/// its size and the limit.
pub fn within_count(
    limit: &ferry_core::limits::Limit,
    field: &str,
    size: usize,
) -> Result<(), ApiError> {
    limit
        .check_count(field, size)
        .map_err(|error| ApiError::Unprocessable(error.to_string()))
}

/// A name from a path or body, or a 400 saying what is wrong with it.
pub fn name(what: &str, text: &str) -> Result<ferry_core::Name, ApiError> {
    ferry_core::Name::parse(text)
        .map_err(|error| ApiError::BadRequest(format!("invalid {what} name: {error}")))
}

/// A numeric id from a path, or a 400 naming what it should have been.
pub fn id(what: &str, text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| ApiError::BadRequest(format!("{what} id {text:?} is not a number")))
}

/// A version from a path or body, or a 422 saying what is wrong with it.
pub fn version(text: &str) -> Result<semver::Version, ApiError> {
    ferry_core::release::parse_version(text).map_err(ApiError::Unprocessable)
}

pub fn evidence(record: ferry_store::evidence::EvidenceRecord) -> Result<api::Evidence, ApiError> {
    let report = record
        .report
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| ApiError::Internal(format!("stored test report unreadable: {e}")))?;
    Ok(api::Evidence {
        id: record.id,
        name: record.name,
        passed: record.passed,
        summary: record.summary,
        report,
        url: record.url,
        created_by: record.created_by,
        created_at: record.created_at,
    })
}
