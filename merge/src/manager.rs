//! Field ownership: server-side apply and the attribution of every other
//! write, recorded in `metadata.managedFields` (kube's field manager over
//! structured-merge-diff's `Updater`).
//!
//! An applier owns exactly the fields of its last applied configuration:
//! applying merges the configuration into the object, removes what the
//! applier set before and nobody sets now, and refuses (409) to change a
//! field another manager owns unless forced, which moves the field to the
//! applier. Every other write (create, update, patch) is an `Update` by its
//! manager, who takes the fields it changed from their previous owners.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::path::Path;
use crate::schema::{Schema, TypeId};
use crate::set::Set;
use crate::typed::{self, TypeError};

/// How many `Update` managers an object keeps; older ones are merged into
/// one `ancient-changes` entry (kube's cap).
const MAX_UPDATE_MANAGERS: usize = 10;

/// The kind of write a manager made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    /// RFC 3339, seconds precision.
    pub time: Option<String>,
    pub subresource: String,
    pub fields: Set,
}

impl Entry {
    /// Whether this entry records `writer`'s writes: appliers are one
    /// entry whatever apiVersion they used, updaters one per apiVersion.
    fn belongs_to(&self, writer: &Writer<'_>, operation: Operation) -> bool {
        self.manager == writer.manager
            && self.operation == operation
            && self.subresource == writer.subresource
            && (operation == Operation::Apply || self.api_version == writer.api_version)
    }

    /// How kube names a manager in conflict messages.
    fn describe(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn to_json(&self) -> Value {
        let mut entry = json!({
            "manager": self.manager,
            "operation": self.operation.as_str(),
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.to_fields_v1(),
        });
        if let Some(time) = &self.time {
            entry["time"] = json!(time);
        }
        if !self.subresource.is_empty() {
            entry["subresource"] = json!(self.subresource);
        }
        entry
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let operation = match value.get("operation").and_then(Value::as_str) {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            other => return Err(format!("unknown operation {other:?}")),
        };
        if text("fieldsType") != "FieldsV1" {
            return Err(format!("unknown fieldsType {:?}", text("fieldsType")));
        }
        Ok(Self {
            manager: text("manager"),
            operation,
            api_version: text("apiVersion"),
            time: value
                .get("time")
                .and_then(Value::as_str)
                .map(str::to_string),
            subresource: text("subresource"),
            fields: Set::from_fields_v1(value.get("fieldsV1").unwrap_or(&Value::Null))?,
        })
    }
}

/// Who writes, and when.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    /// The `fieldManager` (or the user agent's product name).
    pub manager: &'a str,
    /// The apiVersion the write used.
    pub api_version: &'a str,
    /// `""` for the main resource, else e.g. `"status"`.
    pub subresource: &'a str,
    /// Now, RFC 3339 with seconds precision.
    pub now: &'a str,
}

/// A refused apply: another manager owns fields the configuration changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The owner, as kube prints it (`"bob"`, `"kubectl-edit" using v1`).
    pub manager: String,
    pub path: Path,
}

/// Why an apply failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// 409: fields owned by others would change.
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
    /// 400: the configuration is not a valid apply request.
    #[error("{0}")]
    BadRequest(String),
    /// 422 (kube's wording for a value its schema cannot read).
    #[error("{0}")]
    Invalid(TypeError),
}

fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager, only.path
        );
    }
    let mut managers: Vec<&str> = conflicts.iter().map(|c| c.manager.as_str()).collect();
    managers.sort_unstable();
    managers.dedup();
    let mut lines = Vec::new();
    for manager in managers {
        lines.push(format!("conflicts with {manager}:"));
        lines.extend(
            conflicts
                .iter()
                .filter(|c| c.manager == manager)
                .map(|c| format!("- {}", c.path)),
        );
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conflict with {}", self.manager)
    }
}

/// Which part of the object a write through this endpoint may own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource; `status` is reset by the server when the kind has
    /// a status subresource, so nobody owns it through here.
    Main { status_reset: bool },
    /// The status subresource: only `status`.
    Status,
    /// Another subresource (scale): everything it changes.
    Other,
}

/// Ownership bookkeeping for one kind.
#[derive(Debug, Clone, Copy)]
pub struct FieldManager<'a> {
    pub schema: &'a Schema,
    pub ty: TypeId,
    pub scope: Scope,
}

impl FieldManager<'_> {
    /// Records a non-apply write of `new` over `live` (`Value::Null` for a
    /// create) in `new`'s `managedFields`. `managedFields` the client sent
    /// replace the live ones; `[{}]` clears them.
    pub fn update(&self, live: &Value, new: &mut Value, writer: Writer<'_>) {
        // What the client sent, or else what is recorded; either way the
        // JSON of each entry this write leaves alone is written back as it
        // is, not encoded again.
        let sent = take_managed_fields(new);
        let recorded = sent.or_else(|| managed_fields(live).cloned());
        let mut entries: Vec<(Entry, Option<Value>)> = match recorded {
            Some(Value::Array(items)) if !clears(&items) => {
                match items
                    .iter()
                    .map(Entry::from_json)
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(decoded) => decoded
                        .into_iter()
                        .zip(items.into_iter().map(Some))
                        .collect(),
                    Err(_) => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        let comparison = typed::compare(
            self.schema,
            self.ty,
            &self.owned_part(live),
            &self.owned_part(new),
        );
        let changed = comparison.changed();
        for (entry, json) in &mut entries {
            if !entry.belongs_to(&writer, Operation::Update) && entry.fields.overlaps(&changed) {
                entry.fields = entry.fields.difference(&changed);
                *json = None;
            }
            if entry.fields.overlaps(&comparison.removed) {
                entry.fields = entry.fields.difference(&comparison.removed);
                *json = None;
            }
        }
        if !changed.is_empty() {
            match entries
                .iter_mut()
                .find(|(e, _)| e.belongs_to(&writer, Operation::Update))
            {
                Some((entry, json)) => {
                    entry.fields = entry.fields.union(&changed);
                    entry.time = Some(writer.now.to_string());
                    *json = None;
                }
                None => entries.push((
                    Entry {
                        manager: writer.manager.to_string(),
                        operation: Operation::Update,
                        api_version: writer.api_version.to_string(),
                        time: Some(writer.now.to_string()),
                        subresource: writer.subresource.to_string(),
                        fields: changed,
                    },
                    None,
                )),
            }
        }
        entries.retain(|(e, _)| !e.fields.is_empty());
        if too_many_updaters(entries.iter().map(|(e, _)| e)) {
            let mut plain: Vec<Entry> = entries.into_iter().map(|(e, _)| e).collect();
            cap_update_managers(&mut plain);
            set_managed_fields(new, &plain);
        } else {
            write_managed_fields(new, entries);
        }
    }

    /// Server-side apply of `config` over `live` (`Value::Null` when the
    /// object does not exist yet): the new object, with `managedFields`.
    pub fn apply(
        &self,
        live: &Value,
        config: &Value,
        writer: Writer<'_>,
        force: bool,
    ) -> Result<Value, ApplyError> {
        if !config["metadata"]["managedFields"].is_null() {
            return Err(ApplyError::BadRequest(
                "metadata.managedFields must be nil".into(),
            ));
        }
        let config = without_nulls(config);
        let applied = typed::field_set(self.schema, self.ty, &self.owned_part(&config))
            .map_err(ApplyError::Invalid)?;
        let mut entries = decode(managed_fields(live)).unwrap_or_default();
        let mine = entries
            .iter()
            .position(|e| e.belongs_to(&writer, Operation::Apply));
        let previous = mine.map(|i| entries[i].fields.clone()).unwrap_or_default();
        let kept = entries
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != mine)
            .fold(applied.clone(), |kept, (_, e)| kept.union(&e.fields));
        let mut live_object = live.clone();
        strip_managed_fields(&mut live_object);
        let merged = typed::merge(self.schema, self.ty, &live_object, &config);
        let mut new = typed::remove_unowned(self.schema, self.ty, &merged, &previous, &kept);
        let comparison = typed::compare(
            self.schema,
            self.ty,
            &self.owned_part(&live_object),
            &self.owned_part(&new),
        );
        let changed = comparison.changed();
        let mut conflicts = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if Some(i) != mine {
                conflicts.extend(entry.fields.intersection(&changed).paths().into_iter().map(
                    |path| Conflict {
                        manager: entry.describe(),
                        path,
                    },
                ));
            }
        }
        if !conflicts.is_empty() && !force {
            return Err(ApplyError::Conflicts(conflicts));
        }
        for (i, entry) in entries.iter_mut().enumerate() {
            if Some(i) != mine {
                entry.fields = entry.fields.difference(&changed);
            }
            entry.fields = entry.fields.difference(&comparison.removed);
        }
        let time = match mine {
            Some(i) if comparison.is_same() && entries[i].fields == applied => {
                entries[i].time.clone()
            }
            _ => Some(writer.now.to_string()),
        };
        let entry = Entry {
            manager: writer.manager.to_string(),
            operation: Operation::Apply,
            api_version: writer.api_version.to_string(),
            time,
            subresource: writer.subresource.to_string(),
            fields: applied,
        };
        match mine {
            Some(i) => entries[i] = entry,
            None => entries.push(entry),
        }
        entries.retain(|e| !e.fields.is_empty());
        set_managed_fields(&mut new, &entries);
        Ok(new)
    }

    /// The part of an object ownership is tracked for: without the
    /// identity and server-set metadata kube never attributes, and without
    /// what this endpoint cannot change.
    fn owned_part(&self, object: &Value) -> Value {
        let Value::Object(object) = object else {
            return Value::Object(Map::new());
        };
        // Copies only what is kept: a pod's managedFields (never owned)
        // can be most of it.
        let kept = |key: &str| match self.scope {
            Scope::Main { status_reset: true } => key != "status",
            Scope::Status => key == "status",
            Scope::Main {
                status_reset: false,
            }
            | Scope::Other => true,
        };
        let mut out = Map::new();
        for (key, value) in object {
            if key == "apiVersion" || key == "kind" || !kept(key) {
                continue;
            }
            match value {
                Value::Object(metadata) if key == "metadata" => {
                    let owned: Map<String, Value> = metadata
                        .iter()
                        .filter(|(field, _)| !SERVER_METADATA.contains(&field.as_str()))
                        .map(|(field, value)| (field.clone(), value.clone()))
                        .collect();
                    if !owned.is_empty() {
                        out.insert(key.clone(), Value::Object(owned));
                    }
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        Value::Object(out)
    }
}

/// Metadata nobody owns: identity and what the server sets.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "generation",
    "managedFields",
    "resourceVersion",
];

fn managed_fields(object: &Value) -> Option<&Value> {
    object
        .get("metadata")?
        .get("managedFields")
        .filter(|m| !m.is_null())
}

fn decode(value: Option<&Value>) -> Result<Vec<Entry>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let items = value.as_array().ok_or("managedFields must be a list")?;
    if clears(items) {
        return Ok(Vec::new());
    }
    items.iter().map(Entry::from_json).collect()
}

/// `[{}]` is kube's way to ask for managedFields to be cleared.
fn clears(items: &[Value]) -> bool {
    items.len() == 1 && items[0].as_object().is_some_and(Map::is_empty)
}

fn take_managed_fields(object: &mut Value) -> Option<Value> {
    object
        .get_mut("metadata")?
        .as_object_mut()?
        .remove("managedFields")
        .filter(|m| !m.is_null())
}

fn strip_managed_fields(object: &mut Value) {
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.remove("managedFields");
    }
}

/// Writes `entries` sorted as kube sorts them (appliers first, then by
/// time, manager, apiVersion, subresource); none means no field.
fn set_managed_fields(object: &mut Value, entries: &[Entry]) {
    write_managed_fields(object, entries.iter().map(|e| (e, None)));
}

/// [`set_managed_fields`] of entries some of which come with their JSON
/// (as recorded, and unchanged since).
fn write_managed_fields<E: std::borrow::Borrow<Entry>>(
    object: &mut Value,
    entries: impl IntoIterator<Item = (E, Option<Value>)>,
) {
    let mut sorted: Vec<(E, Option<Value>)> = entries.into_iter().collect();
    sorted.sort_by(|(a, _), (b, _)| sort_key(a.borrow()).cmp(&sort_key(b.borrow())));
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if sorted.is_empty() {
        metadata.remove("managedFields");
    } else {
        metadata.insert(
            "managedFields".into(),
            sorted
                .into_iter()
                .map(|(e, json)| json.unwrap_or_else(|| e.borrow().to_json()))
                .collect(),
        );
    }
}

/// The order kube sorts managedFields in.
fn sort_key(e: &Entry) -> (Operation, Option<&str>, &str, &str, &str) {
    (
        e.operation,
        e.time.as_deref(),
        &e.manager,
        &e.api_version,
        &e.subresource,
    )
}

/// Whether there are more `Update` entries than kube keeps.
fn too_many_updaters<'a>(entries: impl Iterator<Item = &'a Entry>) -> bool {
    entries.filter(|e| e.operation == Operation::Update).count() > MAX_UPDATE_MANAGERS
}

/// Merges the oldest `Update` entries into one when there are too many.
fn cap_update_managers(entries: &mut Vec<Entry>) {
    if !too_many_updaters(entries.iter()) {
        return;
    }
    let updates = entries
        .iter()
        .filter(|e| e.operation == Operation::Update)
        .count();
    let mut order: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == Operation::Update)
        .collect();
    order.sort_by(|&a, &b| entries[a].time.cmp(&entries[b].time));
    let oldest: Vec<usize> = order[..=updates - MAX_UPDATE_MANAGERS].to_vec();
    let mut ancient = Entry {
        manager: "ancient-changes".into(),
        operation: Operation::Update,
        api_version: String::new(),
        time: None,
        subresource: String::new(),
        fields: Set::new(),
    };
    for &i in &oldest {
        ancient.fields = ancient.fields.union(&entries[i].fields);
        ancient.api_version = entries[i].api_version.clone();
        ancient.time = entries[i].time.clone();
    }
    let mut i = 0;
    entries.retain(|_| {
        i += 1;
        !oldest.contains(&(i - 1))
    });
    entries.push(ancient);
}

/// The configuration without `null` fields: kube's apply treats them as
/// not set (so a field set to null is released, and removed if nobody
/// else owns it).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
