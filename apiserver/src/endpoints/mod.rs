//! Resource endpoints: routing a resource request to its verb, and the
//! representations objects and lists are answered in (JSON, YAML, Table,
//! metadata only).

mod output;
pub(crate) mod service_account_token;
mod watch;
mod write;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;

use crate::auth::UserInfo;
use crate::error::ApiError;
use crate::handler::Api;
use crate::negotiation;
use crate::registry::ListOptions;
use crate::request::{Query, ResourceTarget, Verb};
use crate::resources::{ResourceDef, Subresource};
use crate::response::Body;
use crate::selectors::{FieldSelector, LabelSelector};

/// A resource request, resolved against the resource table.
pub struct Call<'a> {
    pub api: &'a Arc<Api>,
    pub user: &'a UserInfo,
    pub resource: ResourceDef,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<Subresource>,
    pub query: Query,
    pub output: negotiation::Output,
    pub accept_encoding: Option<String>,
    /// Names the field manager of writes that do not say `fieldManager`.
    pub user_agent: Option<String>,
}

impl Call<'_> {
    fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    fn name(&self) -> Result<&str, ApiError> {
        self.name.as_deref().ok_or(ApiError::MethodNotAllowed)
    }

    /// `dryRun=All` (the only value kube-apiserver accepts).
    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.query.get("dryRun") {
            None => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "dryRun: Unsupported value: {other:?}: supported values: \"All\""
            ))),
        }
    }
}

/// Serves a resource request.
pub async fn serve<B>(
    api: &Arc<Api>,
    user: &UserInfo,
    target: ResourceTarget,
    query: Query,
    request: Request<B>,
) -> Result<Response<Body>, ApiError>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let resource = api
        .catalog
        .find(&target.group, &target.version, &target.resource)
        .ok_or(ApiError::NoRoute)?;
    if target.namespace.is_some() && !resource.namespaced {
        return Err(ApiError::NoRoute);
    }
    let subresource = match &target.subresource {
        None => None,
        Some(name) => Some(
            Subresource::parse(name)
                .filter(|s| resource.serves(*s))
                .ok_or(ApiError::NoRoute)?,
        ),
    };
    if !verb_allowed(&resource, subresource, target.verb) {
        return Err(ApiError::MethodNotAllowed);
    }
    let headers = request.headers();
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let call = Call {
        api,
        user,
        resource,
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        subresource,
        query,
        output: negotiation::output(accept)?,
        accept_encoding: headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let response = match target.verb {
        Verb::Get => get(&call).await,
        Verb::List => list(&call).await,
        Verb::Watch => watch::serve(&call).await,
        Verb::Create | Verb::Update | Verb::Patch | Verb::Delete | Verb::DeleteCollection => {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = read_body(request, api.max_body_bytes).await?;
            write::serve(&call, target.verb, content_type.as_deref(), body).await
        }
    }?;
    // A deprecated custom resource version says so on every answer.
    let deprecation = call
        .resource
        .custom
        .as_ref()
        .and_then(|c| c.deprecation_warning.clone());
    Ok(match deprecation {
        Some(warning) => write::with_warnings(response, &[warning]),
        None => response,
    })
}

fn verb_allowed(resource: &ResourceDef, subresource: Option<Subresource>, verb: Verb) -> bool {
    match subresource {
        None => resource.verbs.allows(verb.name()),
        Some(Subresource::Binding | Subresource::Token) => verb == Verb::Create,
        Some(_) => matches!(verb, Verb::Get | Verb::Update | Verb::Patch),
    }
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
async fn read_body<B>(request: Request<B>, limit: usize) -> Result<Bytes, ApiError>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let too_large =
        || ApiError::RequestEntityTooLarge(format!("Request entity too large: limit is {limit}"));
    if let Some(length) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(request.into_body(), limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error)
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(error) => Err(ApiError::BadRequest(format!(
            "cannot read the request body: {error}"
        ))),
    }
}

/// The list options of a list, watch or deletecollection request.
fn list_options(call: &Call<'_>) -> Result<ListOptions, ApiError> {
    let labels = LabelSelector::parse(call.query.get("labelSelector").unwrap_or_default())
        .map_err(ApiError::BadRequest)?;
    let fields = FieldSelector::parse(
        &call.resource,
        call.query.get("fieldSelector").unwrap_or_default(),
    )
    .map_err(ApiError::BadRequest)?;
    let limit = match call.query.get("limit") {
        None => 0,
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| ApiError::BadRequest(format!("invalid limit: {v:?}")))?
            .max(0),
    };
    Ok(ListOptions {
        labels,
        fields,
        limit,
        continue_token: call.query.get("continue").map(str::to_string),
        resource_version: call.query.get("resourceVersion").map(str::to_string),
        resource_version_match: call.query.get("resourceVersionMatch").map(str::to_string),
    })
}

async fn get(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let name = call.name()?;
    let object = call
        .api
        .registry
        .get(&call.resource, call.namespace(), name)
        .await?;
    if call.subresource == Some(Subresource::Scale) {
        let scale = write::scale_of(&call.resource, &object.value());
        return Ok(output::value(call, StatusCode::OK, &scale));
    }
    Ok(output::object(call, StatusCode::OK, &object))
}

async fn list(call: &Call<'_>) -> Result<Response<Body>, ApiError> {
    let options = list_options(call)?;
    let result = call
        .api
        .registry
        .list(&call.resource, call.namespace(), &options)
        .await?;
    Ok(output::list(call, &result))
}
