//! Content negotiation: which representation a client accepts (JSON, YAML,
//! a server-side Table, metadata only) and how its request body is encoded.

use serde_json::Value;

use crate::error::ApiError;

/// The representations Mars can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// `meta.k8s.io/v1` Table.
    Table,
    /// `PartialObjectMetadata(List)`.
    Metadata,
}

const AVAILABLE: &str = "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, application/json;stream=watch";

/// Picks the first acceptable representation from an `Accept` header.
pub fn output(accept: Option<&str>) -> Result<Output, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Json);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut as_ = None;
        let mut group = None;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                match k.trim() {
                    "as" => as_ = Some(v.trim().to_string()),
                    "g" => group = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let json_like = matches!(media.as_str(), "application/json" | "*/*" | "application/*");
        match (as_.as_deref(), group.as_deref()) {
            (Some("Table"), Some("meta.k8s.io")) if json_like => return Ok(Output::Table),
            (Some("PartialObjectMetadata" | "PartialObjectMetadataList"), Some("meta.k8s.io"))
                if json_like =>
            {
                return Ok(Output::Metadata);
            }
            (Some(_), _) => continue,
            (None, _) => {}
        }
        match media.as_str() {
            "application/json" | "*/*" | "application/*" => return Ok(Output::Json),
            "application/yaml" => return Ok(Output::Yaml),
            _ => {}
        }
    }
    Err(ApiError::NotAcceptable(AVAILABLE.to_string()))
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    Json,
    Yaml,
    /// Kubernetes protobuf (`application/vnd.kubernetes.protobuf`), which
    /// kubectl's typed commands send.
    Protobuf,
    JsonPatch,
    MergePatch,
    StrategicMergePatch,
    ApplyPatch,
}

/// The body type of a `Content-Type`; unsupported ones are 415.
pub fn body_type(content_type: Option<&str>) -> Result<BodyType, ApiError> {
    let media = content_type
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Ok(match media.as_str() {
        "" | "application/json" | "*/*" => BodyType::Json,
        "application/yaml" | "application/x-yaml" | "text/yaml" => BodyType::Yaml,
        "application/vnd.kubernetes.protobuf" => BodyType::Protobuf,
        "application/json-patch+json" => BodyType::JsonPatch,
        "application/merge-patch+json" => BodyType::MergePatch,
        "application/strategic-merge-patch+json" => BodyType::StrategicMergePatch,
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => BodyType::ApplyPatch,
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "415: Unsupported Media Type".into(),
            ));
        }
    })
}

/// Decodes a JSON or YAML body into a value; errors carry the decoder's
/// message the way kube-apiserver words them.
pub fn decode(body: &[u8], kind: &str, yaml: bool) -> Result<Value, ApiError> {
    let result = if yaml {
        serde_yaml::from_slice::<Value>(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
    };
    let value = result.map_err(|e| {
        ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; json parse error: {e}"
        ))
    })?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {kind}): expected a JSON object, got {}",
            kind_of(&value)
        )));
    }
    Ok(value)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_of_real_clients() {
        // kubectl get
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(output(Some(kubectl)).unwrap(), Output::Table);
        // client-go with protobuf preferred
        assert_eq!(
            output(Some("application/vnd.kubernetes.protobuf, */*")).unwrap(),
            Output::Json
        );
        assert_eq!(output(None).unwrap(), Output::Json);
        assert_eq!(output(Some("application/yaml")).unwrap(), Output::Yaml);
        assert_eq!(
            output(Some(
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
            ))
            .unwrap(),
            Output::Metadata
        );
        let err = output(Some("application/vnd.kubernetes.protobuf")).unwrap_err();
        assert_eq!(err.code(), 406);
    }

    #[test]
    fn bodies() {
        assert_eq!(
            body_type(Some("application/json; charset=utf-8")).unwrap(),
            BodyType::Json
        );
        assert_eq!(
            body_type(Some("application/vnd.kubernetes.protobuf")).unwrap(),
            BodyType::Protobuf
        );
        assert_eq!(body_type(Some("application/cbor")).unwrap_err().code(), 415);
        let err = decode(b"{not json", "ConfigMap", false).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the object provided is unrecognized (must be of type ConfigMap)")
        );
        assert_eq!(decode(b"a: 1\n", "ConfigMap", true).unwrap()["a"], 1);
        assert_eq!(decode(b"[1]", "ConfigMap", false).unwrap_err().code(), 400);
    }
}
