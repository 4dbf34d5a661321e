//! Discovery documents: `/version`, legacy discovery (`/api`, `/apis`,
//! `/api/v1`, `/apis/<group>[/<version>]`) and aggregated discovery
//! (`apidiscovery.k8s.io/v2`), built from the resource table.
//!
//! Objects are written in kube-apiserver's field order; `serde_json` keeps
//! it only with its `preserve_order` feature, which clients never need.

use serde_json::{Map, Value, json};

use crate::resources::{ResourceDef, Subresource};

/// The Kubernetes version Mars reports; clients pick behaviour by it.
pub const KUBERNETES_MINOR: &str = "33";

/// `/version`'s `gitVersion`: valid semver whose build metadata (ignored
/// by version comparisons, as k3s's `+k3s1`) names Mars.
pub const GIT_VERSION: &str = "v1.33.0+mars";

/// `/version`: `version.Info`. Commit, tree state and build date come from
/// `MARS_GIT_COMMIT`, `MARS_GIT_TREE_STATE` and `MARS_BUILD_DATE` at build
/// time, with kube's defaults for unstamped builds.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": KUBERNETES_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": option_env!("MARS_GIT_COMMIT").unwrap_or(""),
        "gitTreeState": option_env!("MARS_GIT_TREE_STATE").unwrap_or(""),
        "buildDate": option_env!("MARS_BUILD_DATE").unwrap_or("1970-01-01T00:00:00Z"),
        "goVersion": concat!("rust", env!("CARGO_PKG_RUST_VERSION")),
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

/// Go's name (`GOARCH`) for this machine's architecture, as `platform`
/// spells it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        other => other,
    }
}

/// `/api`: `APIVersions`.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    })
}

/// `/apis`: `APIGroupList` over the non-core groups of `resources`.
pub fn api_groups(resources: &[ResourceDef]) -> Value {
    let groups: Vec<Value> = group_versions(resources)
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, versions)| group_body(group, &versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`: `APIGroup`, if served.
pub fn api_group(resources: &[ResourceDef], group: &str) -> Option<Value> {
    if group.is_empty() {
        return None;
    }
    let (name, versions) = group_versions(resources)
        .into_iter()
        .find(|(name, _)| *name == group)?;
    let mut object = Map::new();
    object.insert("kind".into(), "APIGroup".into());
    object.insert("apiVersion".into(), "v1".into());
    if let Value::Object(body) = group_body(name, &versions) {
        object.extend(body);
    }
    Some(Value::Object(object))
}

/// `/api/v1` or `/apis/<group>/<version>`: `APIResourceList`, if served.
pub fn resource_list(resources: &[ResourceDef], group: &str, version: &str) -> Option<Value> {
    let mut entries: Vec<(String, Value)> = Vec::new();
    for r in served_in(resources, group, version) {
        entries.push((r.plural.to_string(), api_resource(r)));
        for &sub in r.subresources {
            entries.push((
                format!("{}/{}", r.plural, sub.name()),
                api_subresource(r, sub),
            ));
        }
    }
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let entries: Vec<Value> = entries.into_iter().map(|(_, entry)| entry).collect();
    let mut list = Map::new();
    list.insert("kind".into(), "APIResourceList".into());
    // kube-apiserver leaves `apiVersion` out of the legacy group's list.
    if !group.is_empty() {
        list.insert("apiVersion".into(), "v1".into());
    }
    list.insert("groupVersion".into(), group_version(group, version).into());
    list.insert("resources".into(), entries.into());
    Some(Value::Object(list))
}

/// Aggregated discovery (`APIGroupDiscoveryList`) of the core group
/// (`legacy`, served at `/api`) or of every other group (`/apis`).
pub fn aggregated(resources: &[ResourceDef], legacy: bool) -> Value {
    let items: Vec<Value> = group_versions(resources)
        .into_iter()
        .filter(|(group, _)| group.is_empty() == legacy)
        .map(|(group, versions)| group_discovery(resources, group, &versions))
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// What a subresource answers with, and the verbs it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubresourceKind {
    /// The response kind's group and version, when not its resource's own.
    pub group_version: Option<(&'static str, &'static str)>,
    pub kind: &'static str,
    /// Discovery verb names, sorted.
    pub verbs: &'static [&'static str],
}

/// The kind and verbs of `sub` on `resource` (discovery and OpenAPI both
/// describe subresources by them).
pub fn subresource_kind(resource: &ResourceDef, sub: Subresource) -> SubresourceKind {
    const READ_WRITE: &[&str] = &["get", "patch", "update"];
    match sub {
        Subresource::Status => SubresourceKind {
            group_version: None,
            kind: resource.kind,
            verbs: READ_WRITE,
        },
        Subresource::Scale => SubresourceKind {
            group_version: Some(("autoscaling", "v1")),
            kind: "Scale",
            verbs: READ_WRITE,
        },
        Subresource::Binding => SubresourceKind {
            group_version: None,
            kind: "Binding",
            verbs: &["create"],
        },
        Subresource::Finalize => SubresourceKind {
            group_version: None,
            kind: resource.kind,
            verbs: &["update"],
        },
        Subresource::Token => SubresourceKind {
            group_version: Some(("authentication.k8s.io", "v1")),
            kind: "TokenRequest",
            verbs: &["create"],
        },
    }
}

/// The groups of `resources` in table order, each with its versions,
/// preferred (first listed) first.
pub fn group_versions(resources: &[ResourceDef]) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for r in resources {
        match groups.iter_mut().find(|(group, _)| *group == r.group) {
            Some((_, versions)) if !versions.contains(&r.version) => versions.push(r.version),
            Some(_) => {}
            None => groups.push((r.group, vec![r.version])),
        }
    }
    groups
}

/// `apps/v1`, or `v1` for the core group.
fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn served_in<'a>(
    resources: &'a [ResourceDef],
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'a ResourceDef> {
    resources
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// The body an `APIGroup` shares with the entries of an `APIGroupList`.
fn group_body(group: &str, versions: &[&str]) -> Value {
    let version_entry =
        |version: &&str| json!({"groupVersion": group_version(group, version), "version": version});
    let entries: Vec<Value> = versions.iter().map(version_entry).collect();
    let preferred = versions.first().map(version_entry).unwrap_or(Value::Null);
    json!({"name": group, "versions": entries, "preferredVersion": preferred})
}

/// Inserts `key: values` unless `values` is empty (Go's `omitempty`).
fn insert_nonempty(object: &mut Map<String, Value>, key: &str, values: &[&str]) {
    if !values.is_empty() {
        object.insert(key.into(), values.into());
    }
}

/// A resource's `APIResource` entry.
fn api_resource(r: &ResourceDef) -> Value {
    let mut entry = Map::new();
    entry.insert("name".into(), r.plural.into());
    entry.insert("singularName".into(), r.singular.into());
    entry.insert("namespaced".into(), r.namespaced.into());
    entry.insert("kind".into(), r.kind.into());
    entry.insert("verbs".into(), r.verbs.names().into());
    insert_nonempty(&mut entry, "shortNames", r.short_names);
    insert_nonempty(&mut entry, "categories", r.categories);
    Value::Object(entry)
}

/// A subresource's `APIResource` entry (`deployments/scale`).
fn api_subresource(r: &ResourceDef, sub: Subresource) -> Value {
    let info = subresource_kind(r, sub);
    let mut entry = Map::new();
    entry.insert("name".into(), format!("{}/{}", r.plural, sub.name()).into());
    entry.insert("singularName".into(), "".into());
    entry.insert("namespaced".into(), r.namespaced.into());
    if let Some((group, version)) = info.group_version {
        entry.insert("group".into(), group.into());
        entry.insert("version".into(), version.into());
    }
    entry.insert("kind".into(), info.kind.into());
    entry.insert("verbs".into(), info.verbs.into());
    Value::Object(entry)
}

/// One `APIGroupDiscovery` item of aggregated discovery.
fn group_discovery(resources: &[ResourceDef], group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let mut served: Vec<&ResourceDef> = served_in(resources, group, version).collect();
            served.sort_by_key(|r| r.plural);
            let entries: Vec<Value> = served.into_iter().map(resource_discovery).collect();
            json!({"version": version, "resources": entries, "freshness": "Current"})
        })
        .collect();
    let mut metadata = Map::new();
    // The core group's name is empty, which kube-apiserver omits.
    if !group.is_empty() {
        metadata.insert("name".into(), group.into());
    }
    metadata.insert("creationTimestamp".into(), Value::Null);
    json!({"metadata": metadata, "versions": versions})
}

/// `{group, version, kind}` as aggregated discovery's `responseKind`;
/// empty group and version mean the resource's own.
fn response_kind(group_version: Option<(&str, &str)>, kind: &str) -> Value {
    let (group, version) = group_version.unwrap_or(("", ""));
    json!({"group": group, "version": version, "kind": kind})
}

/// One `APIResourceDiscovery` entry.
fn resource_discovery(r: &ResourceDef) -> Value {
    let mut entry = Map::new();
    entry.insert("resource".into(), r.plural.into());
    entry.insert("responseKind".into(), response_kind(None, r.kind));
    let scope = if r.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    entry.insert("scope".into(), scope.into());
    entry.insert("singularResource".into(), r.singular.into());
    entry.insert("verbs".into(), r.verbs.names().into());
    insert_nonempty(&mut entry, "shortNames", r.short_names);
    insert_nonempty(&mut entry, "categories", r.categories);
    let mut subs: Vec<Subresource> = r.subresources.to_vec();
    subs.sort_by_key(|sub| sub.name());
    if !subs.is_empty() {
        let subs: Vec<Value> = subs
            .into_iter()
            .map(|sub| {
                let info = subresource_kind(r, sub);
                json!({
                    "subresource": sub.name(),
                    "responseKind": response_kind(info.group_version, info.kind),
                    "verbs": info.verbs,
                })
            })
            .collect();
        entry.insert("subresources".into(), subs.into());
    }
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::BUILTIN;

    fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn version_is_semver_and_matches_minor() {
        let info = version_info();
        assert_eq!(info["major"], "1");
        assert_eq!(info["minor"], KUBERNETES_MINOR);
        let git = info["gitVersion"].as_str().unwrap();
        let core = git.strip_prefix('v').unwrap().split('+').next().unwrap();
        let parts: Vec<u64> = core.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts, vec![1, KUBERNETES_MINOR.parse().unwrap(), 0]);
        let platform = info["platform"].as_str().unwrap();
        assert!(platform.starts_with(std::env::consts::OS));
        assert!(!platform.contains("x86_64"));
    }

    #[test]
    fn api_versions_names_server_address() {
        let doc = api_versions("10.0.0.1:6443");
        assert_eq!(doc["versions"], json!(["v1"]));
        assert_eq!(
            doc["serverAddressByClientCIDRs"][0]["serverAddress"],
            "10.0.0.1:6443"
        );
    }

    #[test]
    fn group_list_prefers_autoscaling_v2_and_skips_core() {
        let doc = api_groups(BUILTIN);
        let groups = doc["groups"].as_array().unwrap();
        assert!(groups.iter().all(|g| g["name"] != ""));
        let autoscaling = groups.iter().find(|g| g["name"] == "autoscaling").unwrap();
        assert_eq!(
            autoscaling["preferredVersion"],
            json!({"groupVersion": "autoscaling/v2", "version": "v2"})
        );
        assert_eq!(autoscaling["versions"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn api_group_of_apps_and_unknown() {
        let apps = api_group(BUILTIN, "apps").unwrap();
        assert_eq!(apps["kind"], "APIGroup");
        assert_eq!(
            apps["versions"],
            json!([{"groupVersion": "apps/v1", "version": "v1"}])
        );
        assert!(api_group(BUILTIN, "nope.example.com").is_none());
        assert!(api_group(BUILTIN, "").is_none());
    }

    #[test]
    fn apps_v1_lists_deployments_and_scale() {
        let list = resource_list(BUILTIN, "apps", "v1").unwrap();
        assert_eq!(list["apiVersion"], "v1");
        assert_eq!(list["groupVersion"], "apps/v1");
        let deployments = entry(&list, "deployments");
        assert_eq!(deployments["kind"], "Deployment");
        assert_eq!(deployments["singularName"], "deployment");
        assert_eq!(deployments["shortNames"], json!(["deploy"]));
        assert_eq!(deployments["categories"], json!(["all"]));
        assert_eq!(deployments["verbs"].as_array().unwrap().len(), 8);
        let scale = entry(&list, "deployments/scale");
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["version"], "v1");
        assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
        assert_eq!(scale["singularName"], "");
        let status = entry(&list, "deployments/status");
        assert_eq!(status["kind"], "Deployment");
        assert!(status.get("group").is_none());
    }

    #[test]
    fn core_v1_has_binding_finalize_and_sorted_names() {
        let list = resource_list(BUILTIN, "", "v1").unwrap();
        assert!(list.get("apiVersion").is_none());
        assert_eq!(list["groupVersion"], "v1");
        let binding = entry(&list, "pods/binding");
        assert_eq!(binding["kind"], "Binding");
        assert_eq!(binding["verbs"], json!(["create"]));
        assert_eq!(
            entry(&list, "namespaces/finalize")["verbs"],
            json!(["update"])
        );
        assert_eq!(
            entry(&list, "pods/status")["verbs"],
            json!(["get", "patch", "update"])
        );
        assert!(
            !entry(&list, "namespaces")["verbs"]
                .as_array()
                .unwrap()
                .contains(&json!("deletecollection"))
        );
        assert!(entry(&list, "configmaps").get("categories").is_none());
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(resource_list(BUILTIN, "apps", "v9").is_none());
    }

    #[test]
    fn aggregated_core_group() {
        let doc = aggregated(BUILTIN, true);
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        assert_eq!(doc["kind"], "APIGroupDiscoveryList");
        let items = doc["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["metadata"], json!({"creationTimestamp": null}));
        let v1 = &items[0]["versions"][0];
        assert_eq!(v1["version"], "v1");
        assert_eq!(v1["freshness"], "Current");
        let pods = v1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["singularResource"], "pod");
        assert_eq!(
            pods["responseKind"],
            json!({"group": "", "version": "", "kind": "Pod"})
        );
        assert_eq!(pods["subresources"][0]["subresource"], "binding");
        assert_eq!(pods["subresources"][0]["responseKind"]["kind"], "Binding");
        assert_eq!(pods["subresources"][1]["subresource"], "status");
    }

    #[test]
    fn aggregated_groups_exclude_core_and_prefer_first_version() {
        let doc = aggregated(BUILTIN, false);
        let items = doc["items"].as_array().unwrap();
        assert!(items.iter().all(|g| g["metadata"]["name"] != ""));
        let autoscaling = items
            .iter()
            .find(|g| g["metadata"]["name"] == "autoscaling")
            .unwrap();
        assert_eq!(autoscaling["versions"][0]["version"], "v2");
        assert_eq!(autoscaling["versions"][1]["version"], "v1");
        let apps = items
            .iter()
            .find(|g| g["metadata"]["name"] == "apps")
            .unwrap();
        let deployments = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(
            deployments["subresources"][0]["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
        let crds = items
            .iter()
            .find(|g| g["metadata"]["name"] == "apiextensions.k8s.io")
            .unwrap();
        assert_eq!(crds["versions"][0]["resources"][0]["scope"], "Cluster");
    }
}
