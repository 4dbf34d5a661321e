//! One served version of a CustomResourceDefinition, compiled: everything
//! the request path needs beyond the resource row (schema checks, CEL
//! rules, printer columns, scale paths, selectable fields, the deprecation
//! warning), built once when the CRD changes.

use jiff::Timestamp;
use mars_apiextensions::cel::Rules;
use mars_apiextensions::{FieldError, Structural};
use mars_merge::{Schema, TypeId};
use serde_json::{Value, json};

use super::jsonpath::JsonPath;
use crate::interned;
use crate::table::{self, Column};

/// A compiled CRD version.
#[derive(Debug)]
pub struct CustomVersion {
    /// The CRD's name (`widgets.example.com`).
    pub crd: String,
    /// Every version the CRD serves: a body may name any of them.
    pub served_versions: Vec<String>,
    /// The version objects are stored in.
    pub storage_version: String,
    /// The `deprecationWarning` (or kube's default one) of a deprecated version.
    pub deprecation_warning: Option<String>,
    /// The replica and selector paths of the `scale` subresource.
    pub scale: Option<ScalePaths>,
    /// The raw `openAPIV3Schema`, for the OpenAPI documents.
    pub openapi_schema: Value,
    structural: Structural,
    rules: Rules,
    merge: (Schema, TypeId),
    columns: Vec<Column>,
    column_paths: Vec<Option<JsonPath>>,
    /// The `selectableFields`, as field selectors name them (`spec.color`).
    pub selectable_fields: &'static [&'static str],
}

/// Where a scalable custom resource keeps its replicas and selector.
#[derive(Debug, Clone)]
pub struct ScalePaths {
    pub spec_replicas: JsonPath,
    pub status_replicas: JsonPath,
    pub label_selector: Option<JsonPath>,
}

/// What a version is compiled from, beside its own JSON.
pub struct VersionContext<'a> {
    pub crd: &'a str,
    pub served_versions: Vec<String>,
    pub storage_version: &'a str,
    pub group: &'a str,
    pub kind: &'a str,
    /// The field path of the version in the CRD (`spec.versions[0]`).
    pub path: String,
}

impl CustomVersion {
    /// Compiles `version` (one entry of `spec.versions`); the errors are
    /// what makes the CRD invalid.
    pub fn compile(version: &Value, cx: VersionContext<'_>) -> Result<Self, Vec<FieldError>> {
        let schema_path = format!("{}.schema.openAPIV3Schema", cx.path);
        let schema = version["schema"]["openAPIV3Schema"].clone();
        let mut errors = Vec::new();
        let structural = Structural::compile(&schema, &schema_path)
            .map_err(|e| errors.extend(e))
            .ok();
        let rules = Rules::compile(&schema, &schema_path)
            .map_err(|e| errors.extend(e))
            .ok();
        let (columns, column_paths) = printer_columns(version, &cx.path, &mut errors);
        let scale = scale_paths(version, &cx.path, &mut errors);
        let selectable = selectable_fields(version, &cx.path, &mut errors);
        let (Some(structural), Some(rules)) = (structural, rules) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let name = version["name"].as_str().unwrap_or_default();
        let deprecation_warning = version["deprecated"].as_bool().unwrap_or(false).then(|| {
            version["deprecationWarning"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}/{name} {} is deprecated", cx.group, cx.kind))
        });
        Ok(Self {
            crd: cx.crd.to_string(),
            served_versions: cx.served_versions,
            storage_version: cx.storage_version.to_string(),
            deprecation_warning,
            scale,
            merge: crate::fields::custom_type(&schema),
            openapi_schema: schema,
            structural,
            rules,
            columns,
            column_paths,
            selectable_fields: interned::list(&selectable),
        })
    }

    /// Drops the fields the schema does not know; returns their paths.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        self.structural.prune(obj)
    }

    /// Fills in the schema's defaults.
    pub fn apply_defaults(&self, obj: &mut Value) {
        self.structural.apply_defaults(obj);
    }

    /// Schema and CEL violations of `obj` (`old`: the stored object, for
    /// transition rules).
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errors = self.structural.validate(obj);
        // Ratcheting (kube ≥ 1.30): an update is not refused for what was
        // already wrong, unchanged, in the stored object (a schema that
        // tightened since it was written). A field changed to another bad
        // value reports another error, which stays.
        if let Some(old) = old
            && !errors.is_empty()
        {
            let before = self.structural.validate(old);
            errors.retain(|error| !before.contains(error));
        }
        if !self.rules.is_empty() {
            errors.extend(self.rules.evaluate(obj, old));
        }
        errors
    }

    /// The schema server-side apply and field ownership use.
    pub fn merge_type(&self) -> (&Schema, TypeId) {
        (&self.merge.0, self.merge.1)
    }

    /// The Table columns: Name, then the printer columns.
    pub fn columns(&self) -> Vec<Column> {
        let mut columns = vec![table::NAME];
        columns.extend(self.columns.iter().cloned());
        columns
    }

    /// One object's Table cells, as kube's custom resource table
    /// convertor fills them (dates as ages; a missing or mistyped value is
    /// `null`).
    pub fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let mut cells = vec![obj["metadata"]["name"].clone()];
        for (column, path) in self.columns.iter().zip(&self.column_paths) {
            let value = path.as_ref().and_then(|p| p.first(obj));
            cells.push(value.map_or(Value::Null, |v| cell(column.type_, v, now)));
        }
        cells
    }
}

/// kube's `cellForJSONValue`, plus its string printing.
fn cell(type_: &str, value: &Value, now: Timestamp) -> Value {
    match (type_, value) {
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, Value::from),
        ("integer", Value::String(s)) => s.parse::<i64>().map_or(Value::Null, Value::from),
        ("number", Value::Number(_)) => value.clone(),
        ("number", Value::String(s)) => s.parse::<f64>().map_or(Value::Null, Value::from),
        ("boolean", Value::Bool(_)) => value.clone(),
        ("boolean", Value::String(s)) => s.parse::<bool>().map_or(Value::Null, Value::from),
        ("date", Value::String(s)) => s.parse::<Timestamp>().map_or(Value::Null, |at| {
            json!(table::human_duration(now.duration_since(at)))
        }),
        ("string", Value::String(s)) => json!(s),
        ("string", Value::Number(_) | Value::Bool(_)) => json!(value.to_string()),
        ("string", Value::Null) => Value::Null,
        ("string", other) => json!(other.to_string()),
        _ => Value::Null,
    }
}

const COLUMN_TYPES: &[&str] = &["integer", "number", "string", "boolean", "date"];

fn printer_columns(
    version: &Value,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> (Vec<Column>, Vec<Option<JsonPath>>) {
    let declared = version["additionalPrinterColumns"].as_array();
    let default_age = [json!({
        "name": "Age",
        "type": "date",
        "jsonPath": ".metadata.creationTimestamp",
        "description": table::CREATION_TIMESTAMP_DOC,
    })];
    let list: &[Value] = match declared {
        Some(list) => list,
        None => &default_age,
    };
    let mut columns = Vec::new();
    let mut paths = Vec::new();
    for (i, column) in list.iter().enumerate() {
        let at = format!("{path}.additionalPrinterColumns[{i}]");
        let name = column["name"].as_str().unwrap_or_default();
        let type_ = column["type"].as_str().unwrap_or_default();
        let json_path = column["jsonPath"].as_str().unwrap_or_default();
        if name.is_empty() {
            errors.push(FieldError::required(format!("{at}.name"), ""));
        }
        if !COLUMN_TYPES.contains(&type_) {
            errors.push(FieldError::not_supported(
                format!("{at}.type"),
                &json!(type_),
                COLUMN_TYPES,
            ));
        }
        let parsed = match JsonPath::parse(json_path) {
            Ok(p) if !json_path.is_empty() => Some(p),
            Ok(_) => {
                errors.push(FieldError::required(format!("{at}.jsonPath"), ""));
                None
            }
            Err(e) => {
                errors.push(FieldError::invalid(
                    format!("{at}.jsonPath"),
                    &json!(json_path),
                    format!("must be a simple json path: {e}"),
                ));
                None
            }
        };
        let description = column["description"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!("Custom resource definition column (in JSONPath format): {json_path}")
            });
        columns.push(Column {
            name: interned::string(name),
            type_: interned::string(type_),
            format: interned::string(column["format"].as_str().unwrap_or_default()),
            description: interned::string(&description),
            priority: column["priority"].as_i64().unwrap_or(0) as i32,
        });
        paths.push(parsed);
    }
    (columns, paths)
}

fn scale_paths(version: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<ScalePaths> {
    let scale = version["subresources"].get("scale")?;
    let at = format!("{path}.subresources.scale");
    let mut field = |name: &str, required: bool| -> Option<JsonPath> {
        let text = scale[name].as_str().unwrap_or_default();
        if text.is_empty() {
            if required {
                errors.push(FieldError::required(format!("{at}.{name}"), ""));
            }
            return None;
        }
        match JsonPath::parse(text) {
            Ok(p) if p.fields().is_some() => Some(p),
            _ => {
                errors.push(FieldError::invalid(
                    format!("{at}.{name}"),
                    &json!(text),
                    "should be a json path under .spec or .status",
                ));
                None
            }
        }
    };
    let spec_replicas = field("specReplicasPath", true);
    let status_replicas = field("statusReplicasPath", true);
    let label_selector = field("labelSelectorPath", false);
    Some(ScalePaths {
        spec_replicas: spec_replicas?,
        status_replicas: status_replicas?,
        label_selector,
    })
}

fn selectable_fields(version: &Value, path: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let Some(list) = version["selectableFields"].as_array() else {
        return Vec::new();
    };
    let mut fields = Vec::new();
    for (i, field) in list.iter().enumerate() {
        let text = field["jsonPath"].as_str().unwrap_or_default();
        match JsonPath::parse(text) {
            Ok(p) if p.fields().is_some_and(|f| !f.is_empty()) => {
                fields.push(p.fields().unwrap_or_default().join("."));
            }
            _ => errors.push(FieldError::invalid(
                format!("{path}.selectableFields[{i}].jsonPath"),
                &json!(text),
                "must be a simple path to a field",
            )),
        }
    }
    fields
}
