//! Every way a request can fail, and the one place each becomes a
//! `metav1.Status` body with kube-apiserver's code, reason and wording.

use serde_json::{Value, json};

pub use mars_apiextensions::{FieldError, render_value};

/// A failed request, named for what went wrong; [`ApiError::status`] is the
/// only place these turn into HTTP.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The object (or resource) does not exist.
    #[error("{} \"{name}\" not found", qualified(.resource, .group))]
    NotFound {
        resource: String,
        group: String,
        name: String,
    },
    /// No such path: unknown group, version or resource.
    #[error("the server could not find the requested resource")]
    NoRoute,
    #[error("{} \"{name}\" already exists", qualified(.resource, .group))]
    AlreadyExists {
        resource: String,
        group: String,
        name: String,
    },
    /// A stale resourceVersion or failed precondition.
    #[error("Operation cannot be fulfilled on {} \"{name}\": {detail}", qualified(.resource, .group))]
    Conflict {
        resource: String,
        group: String,
        name: String,
        detail: String,
    },
    /// Server-side apply would change fields other managers own.
    #[error("{message}")]
    ApplyConflict {
        message: String,
        causes: Vec<FieldError>,
    },
    /// A patch that cannot be applied to the object (a JSON patch's `test`
    /// failed, a path is missing): kube's generic 422, with the reason as
    /// its one cause.
    #[error("the server rejected our request due to an error in our request")]
    PatchRejected(String),
    /// Field validation failed.
    #[error("{kind} \"{name}\" is invalid: {}", causes_line(.causes))]
    Invalid {
        kind: String,
        group: String,
        name: String,
        causes: Vec<FieldError>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Forbidden {
        message: String,
        kind: String,
        group: String,
        name: String,
    },
    #[error("Unauthorized")]
    Unauthorized,
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    RequestEntityTooLarge(String),
    /// A resourceVersion or continue token older than retained history.
    #[error("{message}")]
    Gone {
        message: String,
        /// Kubernetes says `Expired` for continue tokens, `Gone` otherwise.
        expired: bool,
        continue_token: Option<String>,
    },
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    ServiceUnavailable(String),
}

/// `deployments.apps`, or `pods` in the core group.
fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn causes_line(causes: &[FieldError]) -> String {
    match causes {
        [one] => one.to_line(),
        many => format!(
            "[{}]",
            many.iter()
                .map(FieldError::to_line)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl ApiError {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => 404,
            ApiError::AlreadyExists { .. }
            | ApiError::Conflict { .. }
            | ApiError::ApplyConflict { .. } => 409,
            ApiError::Invalid { .. } | ApiError::PatchRejected(_) => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::Forbidden { .. } => 403,
            ApiError::Unauthorized => 401,
            ApiError::MethodNotAllowed => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::RequestEntityTooLarge(_) => 413,
            ApiError::Gone { .. } => 410,
            ApiError::Timeout(_) => 504,
            ApiError::TooManyRequests(_) => 429,
            ApiError::Internal(_) => 500,
            ApiError::ServiceUnavailable(_) => 503,
        }
    }

    /// The Status `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::PatchRejected(_) => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::RequestEntityTooLarge(_) => "RequestEntityTooLarge",
            ApiError::Gone { expired: true, .. } => "Expired",
            ApiError::Gone { .. } => "Gone",
            ApiError::Timeout(_) => "Timeout",
            ApiError::TooManyRequests(_) => "TooManyRequests",
            ApiError::Internal(_) => "InternalError",
            ApiError::ServiceUnavailable(_) => "ServiceUnavailable",
        }
    }

    /// The `metav1.Status` body.
    pub fn status(&self) -> Value {
        let mut metadata = json!({});
        let details = match self {
            ApiError::NotFound {
                resource,
                group,
                name,
            }
            | ApiError::AlreadyExists {
                resource,
                group,
                name,
            }
            | ApiError::Conflict {
                resource,
                group,
                name,
                ..
            } => Some(details(name, group, resource)),
            ApiError::Forbidden {
                kind, group, name, ..
            } => Some(details(name, group, kind)),
            ApiError::Invalid {
                kind,
                group,
                name,
                causes,
            } => {
                let mut d = details(name, group, kind);
                d["causes"] = causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                Some(d)
            }
            ApiError::ApplyConflict { causes, .. } => Some(json!({"causes": causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect::<Vec<_>>()})),
            ApiError::PatchRejected(reason) => Some(json!({"causes": [
                {"reason": "UnexpectedServerResponse", "message": reason}
            ]})),
            ApiError::NoRoute | ApiError::MethodNotAllowed | ApiError::NotAcceptable(_) => {
                Some(json!({}))
            }
            ApiError::Gone {
                continue_token: Some(token),
                ..
            } => {
                metadata["continue"] = json!(token);
                None
            }
            _ => None,
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": metadata,
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        if let Some(details) = details {
            status["details"] = details;
        }
        status
    }

    /// A `NotFound` for an object of `resource`.
    pub fn not_found(resource: &crate::resources::ResourceDef, name: &str) -> Self {
        ApiError::NotFound {
            resource: resource.plural.to_string(),
            group: resource.group.to_string(),
            name: name.to_string(),
        }
    }

    /// An `AlreadyExists` for an object of `resource`.
    pub fn already_exists(resource: &crate::resources::ResourceDef, name: &str) -> Self {
        ApiError::AlreadyExists {
            resource: resource.plural.to_string(),
            group: resource.group.to_string(),
            name: name.to_string(),
        }
    }

    /// The `Conflict` of a write that lost an optimistic-concurrency race.
    pub fn stale(resource: &crate::resources::ResourceDef, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// A `Conflict` on an object of `resource`, for the reason `detail`.
    pub fn conflict(
        resource: &crate::resources::ResourceDef,
        name: &str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError::Conflict {
            resource: resource.plural.to_string(),
            group: resource.group.to_string(),
            name: name.to_string(),
            detail: detail.into(),
        }
    }

    /// An `Invalid` naming the object's kind.
    pub fn invalid(
        resource: &crate::resources::ResourceDef,
        name: &str,
        causes: Vec<FieldError>,
    ) -> Self {
        ApiError::Invalid {
            kind: resource.kind.to_string(),
            group: resource.group.to_string(),
            name: name.to_string(),
            causes,
        }
    }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = serde_json::Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    if !kind.is_empty() {
        d.insert("kind".into(), json!(kind));
    }
    Value::Object(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_matches_kube_apiserver_wording() {
        let err = ApiError::Invalid {
            kind: "ConfigMap".into(),
            group: String::new(),
            name: "Bad_Name".into(),
            causes: vec![FieldError::invalid(
                "metadata.name",
                &json!("Bad_Name"),
                "a lowercase RFC 1123 subdomain must be short",
            )],
        };
        let status = err.status();
        assert_eq!(status["code"], 422);
        assert_eq!(
            status["message"],
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must be short"
        );
        assert_eq!(
            status["details"]["causes"][0]["reason"],
            "FieldValueInvalid"
        );
        assert_eq!(status["details"]["kind"], "ConfigMap");
    }

    #[test]
    fn several_causes_are_bracketed() {
        let err = ApiError::Invalid {
            kind: "Pod".into(),
            group: String::new(),
            name: "p".into(),
            causes: vec![
                FieldError::required("spec.containers", ""),
                FieldError::not_supported(
                    "spec.restartPolicy",
                    &json!("Sometimes"),
                    &["Always", "Never"],
                ),
            ],
        };
        assert_eq!(
            err.to_string(),
            "Pod \"p\" is invalid: [spec.containers: Required value, spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\"]"
        );
    }

    #[test]
    fn conflict_names_the_resource() {
        let err = ApiError::Conflict {
            resource: "configmaps".into(),
            group: String::new(),
            name: "cm1".into(),
            detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
        };
        assert_eq!(
            err.status()["message"],
            "Operation cannot be fulfilled on configmaps \"cm1\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(
            err.status()["details"],
            json!({"name": "cm1", "kind": "configmaps"})
        );
    }
}
