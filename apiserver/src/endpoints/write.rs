//! Write endpoints: create, update, patch, delete and deletecollection,
//! plus the subresources with their own shapes (`scale`, `binding`) and
//! the review resources answered without storage (`selfsubjectreviews`).

use bytes::Bytes;
use futures::StreamExt;
use http::{Response, StatusCode};
use serde_json::{Value, json};

use super::{Call, list_options, output, service_account_token};
use crate::error::ApiError;
use crate::fields::{self, FieldValidation};
use crate::negotiation::{self, BodyType};
use crate::registry::lifecycle;
use crate::registry::{Deleted, Write};
use crate::request::Verb;
use crate::resources::{ResourceDef, Subresource};
use crate::response::Body;
use crate::selectors::LabelSelector;
use mars_merge::patch;

/// How many deletes of one deletecollection run at once.
const DELETE_COLLECTION_PARALLELISM: usize = 64;

/// What every write of one request shares: dry run, field validation and
/// the field manager it is recorded under.
struct Options {
    dry_run: bool,
    validation: FieldValidation,
    manager: String,
    /// The authenticated user, for kinds that record who did what.
    actor: String,
}

impl Options {
    fn of(call: &Call<'_>) -> Result<Self, ApiError> {
        Ok(Self {
            dry_run: call.dry_run()?,
            validation: FieldValidation::parse(call.query.get("fieldValidation"))?,
            manager: fields::manager_name(
                call.query.get("fieldManager"),
                call.user_agent.as_deref(),
            )?,
            actor: call.user.username.clone(),
        })
    }

    /// A registry write attributed to this request's manager.
    fn write(&self, subresource: Option<Subresource>) -> Write<'_> {
        Write {
            subresource,
            dry_run: self.dry_run,
            pinned: None,
            manager: Some(&self.manager),
            actor: Some(&self.actor),
        }
    }
}

/// Serves a write verb with its body.
pub async fn serve(
    call: &Call<'_>,
    verb: Verb,
    content_type: Option<&str>,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    let options = Options::of(call)?;
    match verb {
        Verb::Create => create(call, content_type, &body, &options).await,
        Verb::Update => update(call, content_type, &body, &options).await,
        Verb::Patch => patch(call, content_type, &body, &options).await,
        Verb::Delete => delete(call, content_type, &body, options.dry_run).await,
        _ => delete_collection(call, content_type, &body, options.dry_run).await,
    }
}

/// A request body as a value: JSON, YAML, or the protobuf kubectl's typed
/// commands send (with Go's unset zero values left out).
fn decode_body(content_type: Option<&str>, body: &[u8], kind: &str) -> Result<Value, ApiError> {
    let yaml = match negotiation::body_type(content_type)? {
        BodyType::Json => false,
        BodyType::Yaml => true,
        BodyType::Protobuf => {
            let mut value = crate::protobuf::decode(body).map_err(|e| {
                ApiError::BadRequest(format!(
                    "the object provided is unrecognized (must be of type {kind}): {e}"
                ))
            })?;
            crate::protobuf::omit_unset(&mut value);
            return Ok(value);
        }
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "415: Unsupported Media Type".into(),
            ));
        }
    };
    negotiation::decode(body, kind, yaml)
}

/// The body again when it is JSON, for the duplicate-field check.
fn json_body<'b>(content_type: Option<&str>, body: &'b [u8]) -> Option<&'b [u8]> {
    matches!(negotiation::body_type(content_type), Ok(BodyType::Json)).then_some(body)
}

/// `Warning` headers (RFC 7234 code 299, as kube-apiserver sends them),
/// which kubectl prints as `Warning: …`.
pub(super) fn with_warnings(mut response: Response<Body>, warnings: &[String]) -> Response<Body> {
    for warning in warnings {
        let escaped = warning.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(value) = http::HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            response.headers_mut().append(http::header::WARNING, value);
        }
    }
    response
}

async fn create(
    call: &Call<'_>,
    content_type: Option<&str>,
    body: &[u8],
    options: &Options,
) -> Result<Response<Body>, ApiError> {
    let resource = &call.resource;
    match call.subresource {
        Some(Subresource::Binding) => return bind(call, content_type, body, options.dry_run).await,
        Some(Subresource::Token) => {
            let request = decode_body(content_type, body, "TokenRequest")?;
            let issued = service_account_token::issue(call, request).await?;
            return Ok(output::value(call, StatusCode::CREATED, &issued));
        }
        _ => {}
    }
    if call.name.is_some() {
        return Err(ApiError::MethodNotAllowed);
    }
    let mut obj = decode_body(content_type, body, resource.kind)?;
    lifecycle::check_type(resource, &mut obj)?;
    if resource.group == "authentication.k8s.io" && resource.plural == "selfsubjectreviews" {
        return Ok(output::value(
            call,
            StatusCode::CREATED,
            &self_subject_review(call),
        ));
    }
    let warnings = options
        .validation
        .check(resource, &mut obj, json_body(content_type, body))?;
    lifecycle::settle_namespace(resource, &mut obj, call.namespace())?;
    let created = call
        .api
        .registry
        .create(resource, call.namespace(), obj, options.write(None))
        .await?;
    let response = output::value(call, StatusCode::CREATED, &created);
    Ok(with_warnings(response, &warnings))
}

fn self_subject_review(call: &Call<'_>) -> Value {
    let user = call.user;
    let mut info = json!({"username": user.username, "groups": user.groups});
    if !user.uid.is_empty() {
        info["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        info["extra"] = json!(user.extra);
    }
    json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": lifecycle::timestamp(jiff::Timestamp::now())},
        "status": {"userInfo": info},
    })
}

async fn update(
    call: &Call<'_>,
    content_type: Option<&str>,
    body: &[u8],
    options: &Options,
) -> Result<Response<Body>, ApiError> {
    let name = call.name()?;
    let resource = &call.resource;
    if call.subresource == Some(Subresource::Scale) {
        let scale = decode_body(content_type, body, "Scale")?;
        return write_scale(call, name, &scale, options).await;
    }
    let mut obj = decode_body(content_type, body, resource.kind)?;
    let warnings = options
        .validation
        .check(resource, &mut obj, json_body(content_type, body))?;
    let (written, created) = call
        .api
        .registry
        .update(
            resource,
            call.namespace(),
            name,
            obj,
            options.write(call.subresource),
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_warnings(
        output::value(call, status, &written),
        &warnings,
    ))
}

async fn patch(
    call: &Call<'_>,
    content_type: Option<&str>,
    body: &[u8],
    options: &Options,
) -> Result<Response<Body>, ApiError> {
    let kind = negotiation::body_type(content_type)?;
    let patch_doc: Value = match kind {
        BodyType::ApplyPatch => negotiation::decode(body, call.resource.kind, true)?,
        BodyType::JsonPatch => serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?,
        BodyType::MergePatch | BodyType::StrategicMergePatch => {
            negotiation::decode(body, call.resource.kind, false)?
        }
        BodyType::Json | BodyType::Yaml | BodyType::Protobuf => {
            return Err(ApiError::UnsupportedMediaType(
                "415: Unsupported Media Type".into(),
            ));
        }
    };
    if kind == BodyType::ApplyPatch {
        return apply(call, patch_doc, options).await;
    }
    let name = call.name()?;
    let resource = &call.resource;
    let scale = call.subresource == Some(Subresource::Scale);
    let patched = |current: &Value| -> Result<Value, ApiError> {
        let invalid = |e: patch::PatchError| ApiError::PatchRejected(e.to_string());
        match kind {
            BodyType::JsonPatch => patch::json_patch(current, &patch_doc).map_err(invalid),
            // A Scale has no lists to merge by key.
            BodyType::MergePatch => Ok(patch::merge_patch(current, &patch_doc)),
            _ if scale => Ok(patch::merge_patch(current, &patch_doc)),
            _ => fields::strategic_merge_patch(resource, current, &patch_doc),
        }
    };
    if scale {
        let current = call
            .api
            .registry
            .get(resource, call.namespace(), name)
            .await?;
        let scale = patched(&scale_of(resource, &current.value()))?;
        return write_scale(call, name, &scale, options).await;
    }
    // Duplicates are a property of the patch document; unknown fields are
    // checked on the patched object, where the patch's fields land.
    let duplicates = match kind {
        BodyType::MergePatch | BodyType::StrategicMergePatch => {
            options.validation.check_duplicates(resource, body)?
        }
        _ => Vec::new(),
    };
    let mut warnings = Vec::new();
    let write = Write {
        pinned: pinned_revision(&patch_doc),
        ..options.write(call.subresource)
    };
    let written = call
        .api
        .registry
        .guaranteed_update(resource, call.namespace(), name, write, |current| {
            let mut next = patched(current)?;
            warnings = options.validation.check(resource, &mut next, None)?;
            Ok(next)
        })
        .await?;
    warnings.splice(0..0, duplicates);
    Ok(with_warnings(
        output::value(call, StatusCode::OK, &written),
        &warnings,
    ))
}

/// Server-side apply: merges the configuration into the object (creating
/// it when missing) and records the manager's ownership.
async fn apply(
    call: &Call<'_>,
    mut config: Value,
    options: &Options,
) -> Result<Response<Body>, ApiError> {
    let name = call.name()?;
    let resource = &call.resource;
    if call.query.get("fieldManager").is_none() {
        return Err(ApiError::BadRequest(
            "PATCH, application/apply-patch+yaml requests require the fieldManager parameter"
                .into(),
        ));
    }
    let force = call.query.flag("force");
    lifecycle::check_type(resource, &mut config)?;
    let warnings = options.validation.check(resource, &mut config, None)?;
    let body_name = config["metadata"]["name"].as_str().unwrap_or_default();
    if body_name != name {
        return Err(ApiError::BadRequest(
            "the name of the object does not match the name on the URL".into(),
        ));
    }
    let manager = options.manager.as_str();
    let write = Write {
        manager: None,
        pinned: pinned_revision(&config),
        ..options.write(call.subresource)
    };
    let registry = &call.api.registry;
    // Two appliers may both find the object missing; the one whose create
    // loses applies again over what the other created.
    let mut attempts = 2;
    let (status, written) = loop {
        attempts -= 1;
        let result = registry
            .guaranteed_update(resource, call.namespace(), name, write, |live| {
                fields::apply(resource, call.subresource, live, &config, manager, force)
            })
            .await;
        match result {
            Err(ApiError::NotFound { .. }) if call.subresource.is_none() => {
                let mut obj = fields::apply(resource, None, &Value::Null, &config, manager, force)?;
                lifecycle::settle_namespace(resource, &mut obj, call.namespace())?;
                match registry
                    .create(resource, call.namespace(), obj, write)
                    .await
                {
                    Err(ApiError::AlreadyExists { .. }) if attempts > 0 => continue,
                    created => break (StatusCode::CREATED, created?),
                }
            }
            other => break (StatusCode::OK, other?),
        }
    };
    Ok(with_warnings(
        output::value(call, status, &written),
        &warnings,
    ))
}

fn pinned_revision(patch_doc: &Value) -> Option<i64> {
    patch_doc["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
}

async fn delete(
    call: &Call<'_>,
    content_type: Option<&str>,
    body: &[u8],
    dry_run: bool,
) -> Result<Response<Body>, ApiError> {
    let name = call.name()?;
    let options = delete_options(call, content_type, body)?;
    // kubectl ≥ 1.33 sends dryRun in DeleteOptions rather than the query.
    let dry_run = dry_run || body_dry_run(&options)?;
    let deleted = call
        .api
        .registry
        .delete(&call.resource, call.namespace(), name, &options, dry_run)
        .await?;
    Ok(match deleted {
        Deleted::Pending(obj) => output::value(call, StatusCode::OK, &obj),
        Deleted::Gone(obj) if returns_deleted_object(&call.resource) => {
            output::value(call, StatusCode::OK, &obj)
        }
        Deleted::Gone(obj) => output::value(call, StatusCode::OK, &success(&call.resource, &obj)),
    })
}

/// Pods (and custom resources) answer a delete with the object itself.
fn returns_deleted_object(resource: &ResourceDef) -> bool {
    resource.group.is_empty() && resource.plural == "pods"
}

fn success(resource: &ResourceDef, obj: &Value) -> Value {
    let mut details = json!({
        "name": obj["metadata"]["name"],
        "kind": resource.plural,
        "uid": obj["metadata"]["uid"],
    });
    if !resource.group.is_empty() {
        details["group"] = json!(resource.group);
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

/// `DeleteOptions.dryRun`: `["All"]` or nothing.
fn body_dry_run(options: &Value) -> Result<bool, ApiError> {
    match options.get("dryRun") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Array(values)) if values.is_empty() => Ok(false),
        Some(Value::Array(values)) if values.iter().all(|v| v == "All") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "dryRun: Unsupported value: {other}: supported values: \"All\""
        ))),
    }
}

/// `DeleteOptions` from the body, with query parameters taking their place
/// when the body is empty (as kubectl and client-go send either).
fn delete_options(
    call: &Call<'_>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let mut options = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        decode_body(content_type, body, "DeleteOptions")?
    };
    if let Some(grace) = call.query.get("gracePeriodSeconds") {
        let grace: i64 = grace
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid gracePeriodSeconds: {grace:?}")))?;
        options["gracePeriodSeconds"] = json!(grace);
    }
    if let Some(policy) = call.query.get("propagationPolicy") {
        options["propagationPolicy"] = json!(policy);
    }
    if let Some(policy) = options["propagationPolicy"].as_str()
        && !matches!(policy, "Orphan" | "Background" | "Foreground")
    {
        return Err(ApiError::Invalid {
            kind: "DeleteOptions".into(),
            group: String::new(),
            name: String::new(),
            causes: vec![crate::FieldError::not_supported(
                "propagationPolicy",
                &json!(policy),
                &["Foreground", "Background", "Orphan", "nil"],
            )],
        });
    }
    Ok(options)
}

async fn delete_collection(
    call: &Call<'_>,
    content_type: Option<&str>,
    body: &[u8],
    dry_run: bool,
) -> Result<Response<Body>, ApiError> {
    let options = delete_options(call, content_type, body)?;
    let dry_run = dry_run || body_dry_run(&options)?;
    let filter = list_options(call)?;
    let registry = &call.api.registry;
    let listed = registry
        .list(&call.resource, call.namespace(), &filter)
        .await?;
    // Deletes run side by side so their commits share the store's group
    // commit (one at a time, 5,000 objects took seconds).
    let resource = &call.resource;
    let options = std::sync::Arc::new(options);
    let deletions = listed.items.iter().map(|object| {
        let value = object.value();
        let registry = std::sync::Arc::clone(registry);
        let options = std::sync::Arc::clone(&options);
        async move {
            let name = value["metadata"]["name"].as_str().unwrap_or_default();
            let namespace = value["metadata"]["namespace"].as_str();
            match registry
                .delete(resource, namespace, name, &options, dry_run)
                .await
            {
                Ok(Deleted::Gone(obj) | Deleted::Pending(obj)) => Ok(Some(obj)),
                Err(ApiError::NotFound { .. }) => Ok(None),
                Err(other) => Err(other),
            }
        }
    });
    // Collected first: a lazy iterator here trips the compiler's `Send`
    // inference for the connection future.
    let deletions: Vec<_> = deletions.collect();
    let results: Vec<Result<Option<Value>, ApiError>> = futures::stream::iter(deletions)
        .buffered(DELETE_COLLECTION_PARALLELISM)
        .collect()
        .await;
    let mut items = Vec::with_capacity(results.len());
    for result in results {
        items.extend(result?);
    }
    let list = json!({
        "kind": format!("{}List", call.resource.kind),
        "apiVersion": call.resource.api_version(),
        "metadata": {"resourceVersion": listed.revision.to_string()},
        "items": items,
    });
    Ok(output::value(call, StatusCode::OK, &list))
}

/// The `autoscaling/v1` Scale of a scalable object.
pub fn scale_of(resource: &ResourceDef, obj: &Value) -> Value {
    if let Some(paths) = resource.custom.as_ref().and_then(|c| c.scale.as_ref()) {
        let replicas =
            |path: &crate::crd::JsonPath| path.first(obj).and_then(Value::as_i64).unwrap_or(0);
        let selector = paths
            .label_selector
            .as_ref()
            .and_then(|p| p.first(obj))
            .and_then(Value::as_str)
            .unwrap_or_default();
        return scale(
            obj,
            replicas(&paths.spec_replicas),
            replicas(&paths.status_replicas),
            selector,
        );
    }
    let selector = match &obj["spec"]["selector"] {
        Value::Object(_) => LabelSelector::from_label_selector_object(&obj["spec"]["selector"])
            .map(|s| s.to_string())
            .unwrap_or_default(),
        // ReplicationControllers select with a plain map.
        _ => String::new(),
    };
    let selector = if resource.kind == "ReplicationController" {
        obj["spec"]["selector"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    } else {
        selector
    };
    scale(
        obj,
        obj["spec"]["replicas"].as_i64().unwrap_or(0),
        obj["status"]["replicas"].as_i64().unwrap_or(0),
        &selector,
    )
}

fn scale(obj: &Value, spec_replicas: i64, status_replicas: i64, selector: &str) -> Value {
    let meta = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": spec_replicas},
        "status": {"replicas": status_replicas, "selector": selector},
    })
}

/// Sets the replicas a Scale asks for on the scaled object.
fn set_replicas(resource: &ResourceDef, obj: &mut Value, replicas: i64) {
    let custom_path = resource
        .custom
        .as_ref()
        .and_then(|c| c.scale.as_ref())
        .and_then(|paths| paths.spec_replicas.fields());
    let path = custom_path.unwrap_or_else(|| vec!["spec", "replicas"]);
    let mut at = obj;
    for field in path {
        if !at.is_object() {
            *at = json!({});
        }
        let Value::Object(map) = at else { return };
        at = map.entry(field).or_insert(Value::Null);
    }
    *at = json!(replicas);
}

async fn write_scale(
    call: &Call<'_>,
    name: &str,
    scale: &Value,
    options: &Options,
) -> Result<Response<Body>, ApiError> {
    let resource = &call.resource;
    let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
    if replicas < 0 {
        return Err(ApiError::Invalid {
            kind: "Scale".into(),
            group: "autoscaling".into(),
            name: name.to_string(),
            causes: vec![crate::FieldError::invalid(
                "spec.replicas",
                &json!(replicas),
                "must be greater than or equal to 0",
            )],
        });
    }
    let write = Write {
        pinned: pinned_revision(scale),
        ..options.write(None)
    };
    let written = call
        .api
        .registry
        .guaranteed_update(resource, call.namespace(), name, write, |current| {
            let mut next = current.clone();
            set_replicas(resource, &mut next, replicas);
            Ok(next)
        })
        .await?;
    Ok(output::value(
        call,
        StatusCode::OK,
        &scale_of(resource, &written),
    ))
}

/// `pods/binding`: assigns a pending pod to a node, once.
async fn bind(
    call: &Call<'_>,
    content_type: Option<&str>,
    body: &[u8],
    dry_run: bool,
) -> Result<Response<Body>, ApiError> {
    let name = call.name()?;
    let binding = decode_body(content_type, body, "Binding")?;
    let node = binding["target"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if node.is_empty() {
        return Err(ApiError::Invalid {
            kind: "Binding".into(),
            group: String::new(),
            name: name.to_string(),
            causes: vec![crate::FieldError::required("target.name", "")],
        });
    }
    call.api
        .registry
        .guaranteed_update(
            &call.resource,
            call.namespace(),
            name,
            Write {
                subresource: Some(Subresource::Binding),
                dry_run,
                ..Write::internal()
            },
            |pod| {
                let current = pod["spec"]["nodeName"].as_str().unwrap_or_default();
                let conflict = |detail: String| ApiError::conflict(&call.resource, name, detail);
                if !current.is_empty() {
                    return Err(conflict(format!(
                        "pod {name} is already assigned to node \"{current}\""
                    )));
                }
                if lifecycle::is_deleting(pod) {
                    return Err(conflict(format!(
                        "pod {name} is being deleted, cannot be assigned to a host"
                    )));
                }
                let mut next = pod.clone();
                next["spec"]["nodeName"] = json!(node);
                Ok(next)
            },
        )
        .await?;
    let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
    Ok(output::value(call, StatusCode::CREATED, &status))
}
