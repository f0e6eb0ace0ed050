//! The parts of the OpenAPI document that no single route states: the bearer
//! scheme, the problem answers every operation may give (a malformed request,
//! a missing token, a full disk…), and the limits of `ferry_core::limits` on
//! the fields they govern. With them the document says what the server does,
//! so that a client generated from it, or an API scanner, meets no surprise.

use std::collections::BTreeMap;

use ferry_core::limits::{self, Limit, Unit};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The fields each limit governs: (schema, property, limit). The server
/// checks them in the routes; this table only describes them.
const LIMITED_FIELDS: &[(&str, &str, &Limit)] = &[
    ("CreateChange", "title", &limits::TITLE),
    ("CreateChange", "description", &limits::DESCRIPTION),
    ("ChangeActionBody", "impact", &limits::DESCRIPTION),
    ("ChangeActionBody", "reason", &limits::DESCRIPTION),
    ("ChangeActionBody", "notes", &limits::DESCRIPTION),
    ("Decide", "comment", &limits::COMMENT),
    ("DeploymentDecision", "comment", &limits::COMMENT),
    ("FreezeSpec", "reason", &limits::FREEZE_REASON),
    ("Promote", "emergency_reason", &limits::EMERGENCY_REASON),
    ("NewLock", "reason", &limits::REASON),
    ("NewPlanTask", "title", &limits::TITLE),
    ("NewPlanTask", "description", &limits::DESCRIPTION),
    ("NewPlanTask", "link", &limits::URL),
    ("NewPlanMilestone", "name", &limits::TITLE),
    ("TaskMove", "reason", &limits::REASON),
    ("Unlock", "reason", &limits::REASON),
    ("Unmark", "reason", &limits::REASON),
    ("Rollback", "reason", &limits::REASON),
    ("CompleteReview", "notes", &limits::REVIEW_NOTES),
    ("CompleteReview", "actions", &limits::REVIEW_ACTIONS),
    ("CreateToken", "name", &limits::TOKEN_NAME),
    ("CreateCalendarFeed", "name", &limits::FEED_NAME),
    ("AddEvidence", "name", &limits::EVIDENCE_NAME),
    ("AddEvidence", "url", &limits::URL),
    ("NewWebhook", "url", &limits::URL),
    ("ReportDeployment", "url", &limits::URL),
    ("CreateAgentToken", "tags", &limits::TAGS),
    (
        "EnvironmentSpec",
        "description",
        &limits::CONFIG_DESCRIPTION,
    ),
    ("ServiceSpec", "description", &limits::CONFIG_DESCRIPTION),
    ("CreateRelease", "notes", &limits::NOTES),
    ("CreateRelease", "authors", &limits::AUTHORS),
    ("CreateRelease", "artifacts", &limits::ARTIFACTS),
];

/// The lists whose items are limited texts: (schema, property, limit of
/// each item).
const LIMITED_ITEMS: &[(&str, &str, &Limit)] =
    &[("CompleteReview", "actions", &limits::REVIEW_ACTION)];

/// The maps whose keys and values are limited: (schema, property, keys, values).
const LIMITED_MAPS: &[(&str, &str, &Limit, &Limit)] = &[(
    "CreateAgentToken",
    "tags",
    &limits::TAG_KEY,
    &limits::TAG_VALUE,
)];

/// The string fields that take one of the webhook formats
/// (`ferry_core::chat::Format`): (schema, property).
const FORMAT_FIELDS: &[(&str, &str)] = &[("NewWebhook", "format"), ("Webhook", "format")];

/// The problem answers, by status: (status, component name, description).
const PROBLEMS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "The request does not have the documented form (a parameter, a path segment, a header or the JSON body), or is no HTTP/1.1 the server can read",
    ),
    ("401", "Unauthorized", "No valid token was sent"),
    (
        "403",
        "Forbidden",
        "The token's roles do not allow this here; the problem names the roles that would",
    ),
    ("404", "NotFound", "Nothing is there"),
    ("408", "RequestTimeout", "The request took too long"),
    (
        "414",
        "UriTooLong",
        "The path and query are longer than the server reads (8 KiB)",
    ),
    (
        "431",
        "HeadersTooLarge",
        "The request's headers are larger than the server reads (about 400 KiB)",
    ),
    (
        "413",
        "TooLarge",
        "The body is larger than a request may be (see docs/limits.md)",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not of the media type the operation takes",
    ),
    (
        "422",
        "Invalid",
        "The request has the documented form but means nothing, or breaks a rule or a limit; the problem says which",
    ),
    (
        "500",
        "Internal",
        "The server failed; the problem carries an id to quote to its operator",
    ),
    (
        "503",
        "Unavailable",
        "The server cannot reach its database just now; try again",
    ),
    (
        "507",
        "InsufficientStorage",
        "The server's disk is full: nothing was saved",
    ),
];

/// Completes the document built from the routes' annotations.
pub fn complete(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    for (name, schema) in [
        ("Name", ferry_core::Name::schema()),
        ("Version", Version::schema()),
        ("VariableName", VariableName::schema()),
        ("Id", Id::schema()),
        ("Digest", ferry_core::digest::Digest::schema()),
        ("ChangeAction", ferry_core::change::ChangeAction::schema()),
        ("TaskAction", ferry_core::release_plan::TaskAction::schema()),
    ] {
        components.schemas.insert(name.to_owned(), schema);
    }
    for (_, name, description) in PROBLEMS {
        components
            .responses
            .insert((*name).to_owned(), problem_response(description));
    }
    merge_flattened(&mut components.schemas);
    for (schema, property, limit) in LIMITED_FIELDS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema)
            && let Some(RefOr::T(field)) = object.properties.get_mut(*property)
        {
            describe_limit(field, limit);
        }
    }
    for (schema, property, limit) in LIMITED_ITEMS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema)
            && let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut(*property)
            && let ArrayItems::RefOrSchema(items) = &mut array.items
            && let RefOr::T(item) = items.as_mut()
        {
            describe_limit(item, limit);
        }
    }
    for (schema, property) in FORMAT_FIELDS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema)
            && let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(*property)
        {
            let mut names: Vec<serde_json::Value> = ferry_core::chat::Format::ALL
                .iter()
                .map(|format| serde_json::Value::from(format.as_str()))
                .collect();
            // An optional field may be sent as null.
            if matches!(&field.schema_type, SchemaType::Array(types) if types.contains(&Type::Null))
            {
                names.push(serde_json::Value::Null);
            }
            field.enum_values = Some(names);
        }
    }
    for (schema, property, keys, values) in LIMITED_MAPS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema)
            && let Some(RefOr::T(Schema::Object(map))) = object.properties.get_mut(*property)
        {
            let mut key = Schema::Object(ObjectBuilder::new().schema_type(Type::String).build());
            describe_limit(&mut key, keys);
            map.property_names = Some(Box::new(key));
            let mut value = Schema::Object(ObjectBuilder::new().schema_type(Type::String).build());
            describe_limit(&mut value, values);
            map.additional_properties =
                Some(Box::new(AdditionalProperties::RefOr(RefOr::T(value))));
        }
    }
    for item in openapi.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.head,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_problems(operation);
        }
    }
}

fn problem_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            ferry_api::PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
        .into()
}

/// The answers an operation may give besides its own: those of any request
/// (a failure, an unreachable database), of a request with parameters or a
/// body, of one that needs a token, and of one that writes.
fn add_problems(operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_input = !parameters.is_empty() || operation.request_body.is_some();
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    // Any request may be refused before it is read (400, 414, 431).
    let mut statuses = vec!["400", "408", "414", "431", "500", "503"];
    if has_input {
        statuses.push("422");
    }
    if has_input {
        // A path, a parameter or a body naming something that is not there.
        statuses.push("404");
    }
    if secured {
        statuses.extend(["401", "403", "507"]);
    }
    if operation.request_body.is_some() {
        statuses.extend(["413", "415"]);
    }
    let responses: &mut BTreeMap<String, RefOr<Response>> = &mut operation.responses.responses;
    for status in statuses {
        let Some((_, name, _)) = PROBLEMS.iter().find(|(code, _, _)| *code == status) else {
            continue;
        };
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
    }
}

/// States a limit on a property's schema: `maxLength` (and, for a text of
/// one line, a pattern refusing control characters) or `maxItems` /
/// `maxProperties`.
fn describe_limit(field: &mut Schema, limit: &Limit) {
    match (field, limit.unit) {
        (Schema::Object(object), Unit::Characters) => {
            object.max_length = Some(limit.max);
            object.pattern = Some(if limit.multiline {
                TEXT_PATTERN.to_owned()
            } else {
                LINE_PATTERN.to_owned()
            });
        }
        (Schema::Object(object), Unit::Items)
            if object.schema_type == SchemaType::Type(Type::Object) =>
        {
            object.max_properties = Some(limit.max);
        }
        (Schema::Array(array), Unit::Items) => array.max_items = Some(limit.max),
        _ => {}
    }
}

/// One line of printable text: no control character.
const LINE_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// Text on several lines: line feeds, carriage returns and tabs, but no
/// other control character.
const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$";

/// A version as paths and bodies write it: the document's schema of it
/// (the routes read it with `ferry_core::release::parse_version`).
pub struct Version;

impl PartialSchema for Version {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(limits::VERSION.max))
            .pattern(Some(ferry_core::release::VERSION_PATTERN))
            .description(Some(
                "A semantic version (2.0.0), such as 1.4.0 or 2.0.0-rc.1",
            ))
            .into()
    }
}

impl ToSchema for Version {}

/// A variable's name, as paths write it.
pub struct VariableName;

impl PartialSchema for VariableName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(ferry_core::variables::MAX_NAME_LEN))
            .pattern(Some(ferry_core::variables::NAME_PATTERN))
            .description(Some(
                "Letters, digits and underscores, not starting with a digit; FERRY_ is reserved",
            ))
            .into()
    }
}

impl ToSchema for VariableName {}

/// A numeric id (of a deployment, a job, an agent, a grant, a change request).
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .into()
    }
}

impl ToSchema for Id {}

/// A type that flattens another (`Freeze` holds a `FreezeSpec` and its
/// `created_at`) is generated as `allOf` the two, each refusing properties it
/// does not name: no value could satisfy both. Such a schema is merged into
/// one object with the properties of both, closed when a part was (serde
/// refuses unknown fields of the whole then).
fn merge_flattened(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let objects: BTreeMap<String, Object> = schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(object)) => {
                Some((format!("#/components/schemas/{name}"), object.clone()))
            }
            _ => None,
        })
        .collect();
    for schema in schemas.values_mut() {
        merge_in(schema, &objects);
    }
}

/// Merges every `allOf` of objects in a schema and the schemas inside it.
fn merge_in(schema: &mut RefOr<Schema>, objects: &BTreeMap<String, Object>) {
    let RefOr::T(inner) = schema else { return };
    match inner {
        Schema::Object(object) => {
            for property in object.properties.values_mut() {
                merge_in(property, objects);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                merge_in(items, objects);
            }
        }
        Schema::OneOf(one_of) => {
            for item in &mut one_of.items {
                merge_in(item, objects);
            }
        }
        Schema::AllOf(all_of) => {
            for item in &mut all_of.items {
                merge_in(item, objects);
            }
            let parts: Option<Vec<&Object>> = all_of
                .items
                .iter()
                .map(|part| match part {
                    RefOr::T(Schema::Object(object)) => Some(object),
                    RefOr::Ref(reference) => objects.get(&reference.ref_location),
                    _ => None,
                })
                .collect();
            let Some(parts) = parts else { return };
            let mut merged = ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(all_of.description.clone())
                .build();
            for part in parts {
                if merged.description.is_none() {
                    merged.description.clone_from(&part.description);
                }
                merged.properties.extend(part.properties.clone());
                merged.required.extend(part.required.iter().cloned());
                if part.additional_properties.is_some() {
                    merged
                        .additional_properties
                        .clone_from(&part.additional_properties);
                }
            }
            *inner = Schema::Object(merged);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property<'a>(document: &'a OpenApi, schema: &str, name: &str) -> &'a Schema {
        let components = document.components.as_ref().expect("components");
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get(schema) else {
            panic!("no object schema {schema}");
        };
        match object.properties.get(name) {
            Some(RefOr::T(field)) => field,
            _ => panic!("{schema}.{name} is not an inline schema"),
        }
    }

    #[test]
    fn the_document_states_every_limit_on_the_field_it_governs() {
        let document = crate::routes::openapi_document();
        for (schema, name, limit) in LIMITED_FIELDS {
            let stated = match property(&document, schema, name) {
                Schema::Object(object) if limit.unit == Unit::Characters => object.max_length,
                Schema::Object(object) => object.max_properties,
                Schema::Array(array) => array.max_items,
                _ => panic!("{schema}.{name} is not an inline schema"),
            };
            assert_eq!(stated, Some(limit.max), "{schema}.{name}");
        }
        let mut covered: Vec<&str> = LIMITED_FIELDS.iter().map(|(_, _, l)| l.what).collect();
        for (schema, name, limit) in LIMITED_ITEMS {
            let Schema::Array(array) = property(&document, schema, name) else {
                panic!("{schema}.{name} is not a list");
            };
            let ArrayItems::RefOrSchema(items) = &array.items else {
                panic!("{schema}.{name} has no items");
            };
            let RefOr::T(Schema::Object(item)) = items.as_ref() else {
                panic!("{schema}.{name}'s items are not inline");
            };
            assert_eq!(item.max_length, Some(limit.max), "{schema}.{name} items");
            covered.push(limit.what);
        }
        for (schema, name, keys, values) in LIMITED_MAPS {
            let Schema::Object(map) = property(&document, schema, name) else {
                panic!("{schema}.{name} is not a map");
            };
            let Some(Schema::Object(key)) = map.property_names.as_deref() else {
                panic!("{schema}.{name} states no limit on its keys");
            };
            assert_eq!(key.max_length, Some(keys.max), "{schema}.{name} keys");
            let Some(AdditionalProperties::RefOr(RefOr::T(Schema::Object(value)))) =
                map.additional_properties.as_deref()
            else {
                panic!("{schema}.{name} states no limit on its values");
            };
            assert_eq!(value.max_length, Some(values.max), "{schema}.{name} values");
            covered.extend([keys.what, values.what]);
        }
        for limit in limits::ALL {
            assert!(
                covered.contains(&limit.what) || limit.what == limits::VERSION.what,
                "{} is stated on no field",
                limit.what
            );
        }
    }

    #[test]
    fn webhook_formats_are_named_in_the_document() {
        let document = crate::routes::openapi_document();
        for (schema, name) in FORMAT_FIELDS {
            let Schema::Object(field) = property(&document, schema, name) else {
                panic!("{schema}.{name} is not a string");
            };
            let names = field.enum_values.as_ref().expect("its values");
            for format in ferry_core::chat::Format::ALL {
                assert!(
                    names.contains(&serde_json::Value::from(format.as_str())),
                    "{schema}.{name}: {names:?}"
                );
            }
        }
        let route = &document.paths.paths["/api/v1/integrations/slack/interactions"];
        let post = route.post.as_ref().expect("Slack's callback is a POST");
        assert!(
            post.security.as_ref().is_none_or(Vec::is_empty),
            "it takes no token"
        );
        assert!(post.responses.responses.contains_key("401"));
    }

    #[test]
    fn every_operation_says_how_it_may_fail() {
        let document = crate::routes::openapi_document();
        for (path, item) in &document.paths.paths {
            for operation in [&item.get, &item.post, &item.put, &item.delete]
                .into_iter()
                .flatten()
            {
                let statuses = &operation.responses.responses;
                assert!(statuses.contains_key("500"), "{path}: no 500");
                if operation.request_body.is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(statuses.contains_key(status), "{path}: no {status}");
                    }
                }
            }
        }
    }
}
