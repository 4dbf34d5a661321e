//! The Swagger 2.0 document in the protobuf encoding client-go's
//! `OpenAPISchema()` asks for (`Accept:
//! application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, the
//! `openapi.v2.Document` message of gnostic's `OpenAPIv2.proto`). client-go
//! has no JSON fallback: kubectl before 1.29 needs this encoding for
//! `apply`, `explain` and client-side validation.
//!
//! The encoder walks the JSON document; field numbers are gnostic's.
//! Vendor extensions (`x-kubernetes-*`) travel as YAML text, which JSON is.

use serde_json::{Map, Value};

/// The media type client-go puts in `Accept` for `/openapi/v2`.
pub const V2_PROTOBUF_MEDIA_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The `Content-Type` to answer it with: kube-apiserver's spelling, which
/// Go's `mime.ParseMediaType` accepts (it rejects the `@` of the request's).
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `document` (as [`v2`](super::v2) builds it) as an `openapi.v2.Document`.
pub fn v2_protobuf(document: &Value) -> Vec<u8> {
    let mut out = Message::default();
    out.string(1, str_at(document, "swagger"));
    if let Some(info) = document.get("info") {
        out.message(2, info_message(info));
    }
    out.strings(5, document.get("schemes"));
    out.strings(6, document.get("consumes"));
    out.strings(7, document.get("produces"));
    if let Some(Value::Object(paths)) = document.get("paths") {
        out.message(8, paths_message(paths));
    }
    if let Some(Value::Object(definitions)) = document.get("definitions") {
        out.message(9, named(1, definitions, schema_message));
    }
    for requirement in array_at(document, "security") {
        out.message(12, security_requirement(requirement));
    }
    if let Some(Value::Object(definitions)) = document.get("securityDefinitions") {
        out.message(13, named(1, definitions, security_definition));
    }
    out.vendor_extensions(16, document);
    out.0
}

/// A protobuf message being written.
#[derive(Debug, Default)]
struct Message(Vec<u8>);

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;

impl Message {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn key(&mut self, field: u32, wire_type: u32) {
        self.varint(u64::from(field << 3 | wire_type));
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, LENGTH_DELIMITED);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    /// A proto3 string: empty ones are not written.
    fn string(&mut self, field: u32, value: &str) {
        if !value.is_empty() {
            self.bytes(field, value.as_bytes());
        }
    }

    /// A repeated string from a JSON array.
    fn strings(&mut self, field: u32, values: Option<&Value>) {
        for value in values.and_then(Value::as_array).into_iter().flatten() {
            self.bytes(field, value.as_str().unwrap_or_default().as_bytes());
        }
    }

    fn bool(&mut self, field: u32, value: Option<&Value>) {
        if value.and_then(Value::as_bool) == Some(true) {
            self.key(field, VARINT);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, value: Option<&Value>) {
        if let Some(value) = value.and_then(Value::as_i64).filter(|v| *v != 0) {
            self.key(field, VARINT);
            self.varint(value as u64);
        }
    }

    fn double(&mut self, field: u32, value: Option<&Value>) {
        if let Some(value) = value.and_then(Value::as_f64).filter(|v| *v != 0.0) {
            self.key(field, FIXED64);
            self.0.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn message(&mut self, field: u32, message: Message) {
        self.bytes(field, &message.0);
    }

    /// Every `x-…` member of `object` as a `NamedAny` whose `Any.yaml`
    /// holds the value.
    fn vendor_extensions(&mut self, field: u32, object: &Value) {
        let Some(object) = object.as_object() else {
            return;
        };
        for (name, value) in object.iter().filter(|(name, _)| name.starts_with("x-")) {
            self.message(field, named_any(name, value));
        }
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn array_at<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A map as gnostic's ordered `Named…` pairs: `{1: name, 2: value}`.
fn named(field: u32, map: &Map<String, Value>, encode: fn(&Value) -> Message) -> Message {
    let mut out = Message::default();
    for (name, value) in map {
        let mut pair = Message::default();
        pair.string(1, name);
        pair.message(2, encode(value));
        out.message(field, pair);
    }
    out
}

/// `NamedAny {1: name, 2: Any {2: yaml}}`.
fn named_any(name: &str, value: &Value) -> Message {
    let mut any = Message::default();
    any.string(2, &value.to_string());
    let mut pair = Message::default();
    pair.string(1, name);
    pair.message(2, any);
    pair
}

/// `Any {2: yaml}`.
fn any(value: &Value) -> Message {
    let mut any = Message::default();
    any.string(2, &value.to_string());
    any
}

fn info_message(info: &Value) -> Message {
    let mut out = Message::default();
    out.string(1, str_at(info, "title"));
    out.string(2, str_at(info, "version"));
    out.string(3, str_at(info, "description"));
    out.vendor_extensions(7, info);
    out
}

/// `Paths {2: repeated NamedPathItem}`.
fn paths_message(paths: &Map<String, Value>) -> Message {
    named(2, paths, path_item)
}

fn path_item(item: &Value) -> Message {
    const METHODS: [(&str, u32); 7] = [
        ("get", 2),
        ("put", 3),
        ("post", 4),
        ("delete", 5),
        ("options", 6),
        ("head", 7),
        ("patch", 8),
    ];
    let mut out = Message::default();
    out.string(1, str_at(item, "$ref"));
    for (method, field) in METHODS {
        if let Some(operation) = item.get(method) {
            out.message(field, operation_message(operation));
        }
    }
    for parameter in array_at(item, "parameters") {
        out.message(9, parameters_item(parameter));
    }
    out.vendor_extensions(10, item);
    out
}

fn operation_message(operation: &Value) -> Message {
    let mut out = Message::default();
    out.strings(1, operation.get("tags"));
    out.string(2, str_at(operation, "summary"));
    out.string(3, str_at(operation, "description"));
    out.string(5, str_at(operation, "operationId"));
    out.strings(6, operation.get("produces"));
    out.strings(7, operation.get("consumes"));
    for parameter in array_at(operation, "parameters") {
        out.message(8, parameters_item(parameter));
    }
    if let Some(Value::Object(responses)) = operation.get("responses") {
        out.message(9, named(1, responses, response_value));
    }
    out.strings(10, operation.get("schemes"));
    out.bool(11, operation.get("deprecated"));
    out.vendor_extensions(13, operation);
    out
}

/// `ParametersItem`: a `$ref` (`JsonReference`, field 2) or a parameter
/// (field 1).
fn parameters_item(parameter: &Value) -> Message {
    let mut out = Message::default();
    if let Some(reference) = parameter.get("$ref").and_then(Value::as_str) {
        let mut json_reference = Message::default();
        json_reference.string(1, reference);
        out.message(2, json_reference);
    } else {
        out.message(1, parameter_message(parameter));
    }
    out
}

/// `Parameter`: a `BodyParameter` (field 1) or a `NonBodyParameter`
/// (field 2) holding the sub-schema of its location.
fn parameter_message(parameter: &Value) -> Message {
    let location = str_at(parameter, "in");
    let mut out = Message::default();
    if location == "body" {
        let mut body = Message::default();
        body.string(1, str_at(parameter, "description"));
        body.string(2, str_at(parameter, "name"));
        body.string(3, location);
        body.bool(4, parameter.get("required"));
        if let Some(schema) = parameter.get("schema") {
            body.message(5, schema_message(schema));
        }
        body.vendor_extensions(6, parameter);
        out.message(1, body);
        return out;
    }
    // Query and formData sub-schemas have `allowEmptyValue` at 5, which
    // shifts their later fields by one.
    let (oneof_field, shift) = match location {
        "header" => (1, 0),
        "formData" => (2, 1),
        "path" => (4, 0),
        _ => (3, 1),
    };
    let mut sub = Message::default();
    sub.bool(1, parameter.get("required"));
    sub.string(2, location);
    sub.string(3, str_at(parameter, "description"));
    sub.string(4, str_at(parameter, "name"));
    sub.string(5 + shift, str_at(parameter, "type"));
    sub.string(6 + shift, str_at(parameter, "format"));
    sub.bool(19 + shift, parameter.get("uniqueItems"));
    sub.vendor_extensions(22 + shift, parameter);
    let mut non_body = Message::default();
    non_body.message(oneof_field, sub);
    out.message(2, non_body);
    out
}

/// `ResponseValue {1: Response {1: description, 2: SchemaItem {1: Schema}}}`.
fn response_value(response: &Value) -> Message {
    let mut inner = Message::default();
    inner.string(1, str_at(response, "description"));
    if let Some(schema) = response.get("schema") {
        let mut item = Message::default();
        item.message(1, schema_message(schema));
        inner.message(2, item);
    }
    inner.vendor_extensions(5, response);
    let mut out = Message::default();
    out.message(1, inner);
    out
}

fn schema_message(schema: &Value) -> Message {
    let mut out = Message::default();
    out.string(1, str_at(schema, "$ref"));
    out.string(2, str_at(schema, "format"));
    out.string(3, str_at(schema, "title"));
    out.string(4, str_at(schema, "description"));
    if let Some(default) = schema.get("default") {
        out.message(5, any(default));
    }
    out.double(6, schema.get("multipleOf"));
    out.double(7, schema.get("maximum"));
    out.bool(8, schema.get("exclusiveMaximum"));
    out.double(9, schema.get("minimum"));
    out.bool(10, schema.get("exclusiveMinimum"));
    out.int64(11, schema.get("maxLength"));
    out.int64(12, schema.get("minLength"));
    out.string(13, str_at(schema, "pattern"));
    out.int64(14, schema.get("maxItems"));
    out.int64(15, schema.get("minItems"));
    out.bool(16, schema.get("uniqueItems"));
    out.int64(17, schema.get("maxProperties"));
    out.int64(18, schema.get("minProperties"));
    out.strings(19, schema.get("required"));
    for value in array_at(schema, "enum") {
        out.message(20, any(value));
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(allowed)) => {
            let mut item = Message::default();
            item.key(2, VARINT);
            item.varint(u64::from(*allowed));
            out.message(21, item);
        }
        Some(additional @ Value::Object(_)) => {
            let mut item = Message::default();
            item.message(1, schema_message(additional));
            out.message(21, item);
        }
        _ => {}
    }
    match schema.get("type") {
        Some(Value::String(single)) => {
            let mut types = Message::default();
            types.string(1, single);
            out.message(22, types);
        }
        Some(many @ Value::Array(_)) => {
            let mut types = Message::default();
            types.strings(1, Some(many));
            out.message(22, types);
        }
        _ => {}
    }
    if let Some(items) = schema.get("items") {
        let mut item = Message::default();
        match items {
            Value::Array(schemas) => schemas
                .iter()
                .for_each(|s| item.message(1, schema_message(s))),
            single => item.message(1, schema_message(single)),
        }
        out.message(23, item);
    }
    for part in array_at(schema, "allOf") {
        out.message(24, schema_message(part));
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        out.message(25, named(1, properties, schema_message));
    }
    out.string(26, str_at(schema, "discriminator"));
    out.bool(27, schema.get("readOnly"));
    if let Some(example) = schema.get("example") {
        out.message(30, any(example));
    }
    out.vendor_extensions(31, schema);
    out
}

/// `SecurityRequirement {1: repeated NamedStringArray}`.
fn security_requirement(requirement: &Value) -> Message {
    let mut out = Message::default();
    for (name, scopes) in requirement.as_object().into_iter().flatten() {
        let mut array = Message::default();
        array.strings(1, Some(scopes));
        let mut pair = Message::default();
        pair.string(1, name);
        pair.message(2, array);
        out.message(1, pair);
    }
    out
}

/// `SecurityDefinitionsItem`; Mars only has API-key (bearer token) schemes.
fn security_definition(definition: &Value) -> Message {
    let mut api_key = Message::default();
    api_key.string(1, str_at(definition, "type"));
    api_key.string(2, str_at(definition, "name"));
    api_key.string(3, str_at(definition, "in"));
    api_key.string(4, str_at(definition, "description"));
    api_key.vendor_extensions(5, definition);
    let mut out = Message::default();
    out.message(2, api_key);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn varints_and_strings_use_protobuf_wire_format() {
        let mut message = Message::default();
        message.varint(300);
        assert_eq!(message.0, [0xac, 0x02]);
        let mut message = Message::default();
        message.string(1, "2.0");
        message.string(3, "");
        assert_eq!(message.0, [0x0a, 3, b'2', b'.', b'0']);
    }

    #[test]
    fn document_starts_with_swagger_version_and_keeps_extensions() {
        let document = json!({
            "swagger": "2.0",
            "definitions": {
                "io.k8s.api.core.v1.PodSpec": {
                    "type": "object",
                    "properties": {"containers": {"type": "array", "x-kubernetes-patch-strategy": "merge"}},
                },
            },
        });
        let bytes = v2_protobuf(&document);
        assert_eq!(&bytes[..5], [0x0a, 3, b'2', b'.', b'0']);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("io.k8s.api.core.v1.PodSpec"));
        assert!(text.contains("x-kubernetes-patch-strategy"));
        assert!(text.contains("\"merge\""));
    }
}
