//! CustomResourceDefinitions: turning a definition into served resources
//! (one [`ResourceDef`] per served version, carrying its compiled
//! [`CustomVersion`]), and the controller that establishes, updates and
//! finalizes them (apiextensions-apiserver's CRD handler and its
//! establishing, naming and finalizing controllers).

pub mod controller;
mod jsonpath;
mod names;
mod version;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use serde_json::Value;

pub use jsonpath::JsonPath;
pub use version::{CustomVersion, ScalePaths};

use crate::FieldError;
use crate::interned;
use crate::resources::{ResourceDef, Subresource, Verbs};
use version::VersionContext;

/// The finalizer that holds a deleted CRD until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

type Compiled = Result<Vec<ResourceDef>, Vec<FieldError>>;

/// The last compilation of each CRD (by name), with a hash of the spec it
/// was compiled from: the write that stores a CRD compiles it to validate
/// it, and the controller that serves it moments later reuses the result
/// (a Prometheus-sized schema takes a while to compile).
static COMPILED: LazyLock<Mutex<HashMap<String, (u64, Compiled)>>> =
    LazyLock::new(Default::default);

/// The resources `crd` serves, most preferred version first; the errors
/// are why its schemas, columns or paths cannot be served.
pub fn resources(crd: &Value) -> Compiled {
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let mut hasher = std::hash::DefaultHasher::new();
    crd["spec"].to_string().hash(&mut hasher);
    let hash = hasher.finish();
    if let Some((seen, compiled)) = COMPILED.lock().get(name)
        && *seen == hash
    {
        return compiled.clone();
    }
    let compiled = compile(crd);
    COMPILED
        .lock()
        .insert(name.to_string(), (hash, compiled.clone()));
    compiled
}

/// Drops what [`resources`] remembers of a deleted CRD.
pub fn forget(name: &str) {
    COMPILED.lock().remove(name);
}

fn compile(crd: &Value) -> Compiled {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let kind = names["kind"].as_str().unwrap_or_default();
    let plural = names["plural"].as_str().unwrap_or_default();
    let crd_name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let versions = spec["versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let served: Vec<String> = versions
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(false))
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect();
    let storage_version = versions
        .iter()
        .find(|v| v["storage"].as_bool().unwrap_or(false))
        .and_then(|v| v["name"].as_str())
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut defs = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let name = version["name"].as_str().unwrap_or_default();
        let cx = VersionContext {
            crd: crd_name,
            served_versions: served.clone(),
            storage_version,
            group,
            kind,
            path: format!("spec.versions[{i}]"),
        };
        let compiled = match CustomVersion::compile(version, cx) {
            Ok(compiled) => compiled,
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        if !version["served"].as_bool().unwrap_or(false) {
            continue;
        }
        let subresources = &version["subresources"];
        let subresources: &'static [Subresource] = match (
            subresources.get("scale").is_some(),
            subresources.get("status").is_some(),
        ) {
            (true, true) => &[Subresource::Scale, Subresource::Status],
            (true, false) => &[Subresource::Scale],
            (false, true) => &[Subresource::Status],
            (false, false) => &[],
        };
        defs.push(ResourceDef {
            group: interned::string(group),
            version: interned::string(name),
            kind: interned::string(kind),
            plural: interned::string(plural),
            singular: interned::string(names["singular"].as_str().unwrap_or_default()),
            namespaced: spec["scope"].as_str() != Some("Cluster"),
            short_names: interned::list(&string_list(&names["shortNames"])),
            categories: interned::list(&string_list(&names["categories"])),
            subresources,
            verbs: Verbs::CustomCrud,
            has_generation: true,
            storage: Some((interned::string(group), interned::string(plural))),
            custom: Some(Arc::new(compiled)),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    defs.sort_by(|a, b| version_priority(a.version, b.version));
    Ok(defs)
}

/// Why `crd`'s versions cannot be served (its schemas, columns and
/// paths), for validation on write.
pub fn validate(crd: &Value) -> Vec<FieldError> {
    resources(crd).err().unwrap_or_default()
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// kube's version priority (`CompareKubeAwareVersionStrings`): GA before
/// beta before alpha before anything else; higher numbers first; other
/// strings alphabetically.
pub fn version_priority(a: &str, b: &str) -> Ordering {
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

/// A sort key: smaller sorts first.
fn rank(version: &str) -> (u8, std::cmp::Reverse<u64>, std::cmp::Reverse<u64>) {
    use std::cmp::Reverse;
    let parsed = version.strip_prefix('v').and_then(|rest| {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: u64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((0, major, 0));
        }
        for (stage, prefix) in [(1u8, "beta"), (2, "alpha")] {
            if let Some(n) = tail.strip_prefix(prefix) {
                let minor: u64 = n.parse().ok()?;
                return Some((stage, major, minor));
            }
        }
        None
    });
    match parsed {
        Some((stage, major, minor)) => (stage, Reverse(major), Reverse(minor)),
        None => (3, Reverse(0), Reverse(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_kube_prefers_them() {
        let mut versions = vec![
            "v1alpha1",
            "v11alpha2",
            "foo1",
            "v10",
            "v2",
            "foo10",
            "v1",
            "v12alpha1",
            "v3beta1",
            "v10beta3",
            "v11beta2",
            "v1beta1",
            "v10alpha1",
        ];
        versions.sort_by(|a, b| version_priority(a, b));
        assert_eq!(
            versions,
            vec![
                "v10",
                "v2",
                "v1",
                "v11beta2",
                "v10beta3",
                "v3beta1",
                "v1beta1",
                "v12alpha1",
                "v11alpha2",
                "v10alpha1",
                "v1alpha1",
                "foo1",
                "foo10",
            ]
        );
    }
}
