//! The CustomResourceDefinitions of every Mars kind, in one stable order,
//! tidied for `kubectl explain` and checked to be structural.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube_core::CustomResourceExt;
use serde_json::Value;

use crate::{Alert, AlertRule, Case, ChangePlan, Device, Link, Site, TrafficPolicy, Workload};

/// API group of every Mars kind.
pub const GROUP: &str = "mars.io";
/// The one served (and stored) version.
pub const VERSION: &str = "v1alpha1";
/// `kubectl get mars` lists every Mars kind.
pub const CATEGORY: &str = "mars";

/// Every Mars CRD, infrastructure first (Site, Link, Device), then
/// workloads and traffic, then alerting and remediation. The order is
/// stable so `mars crds` output diffs cleanly.
pub fn definitions() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        Site::crd(),
        Link::crd(),
        Device::crd(),
        Workload::crd(),
        TrafficPolicy::crd(),
        AlertRule::crd(),
        Alert::crd(),
        Case::crd(),
        ChangePlan::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                tidy(schema);
            }
        }
    }
    crds
}

/// [`definitions_yaml`] as generated into the repository
/// (`crds/generated/mars-crds.yaml`, like controller-gen's output): what
/// `mars server` installs and `mars crds` prints, without generating
/// schemas at run time. A test keeps it equal to [`definitions_yaml`]; run
/// `MARS_UPDATE_CRDS=1 cargo test -p mars-crds` after changing a kind.
pub const GENERATED_YAML: &str = include_str!("../generated/mars-crds.yaml");

/// The definitions as a multi-document YAML stream (`---` between
/// documents), what `mars crds` prints and `kubectl apply -f -` accepts.
pub fn definitions_yaml() -> String {
    let mut out = String::new();
    for crd in definitions() {
        out.push_str("---\n");
        // Serialising a k8s-openapi struct to YAML cannot fail: every key is
        // a string and every value plain data.
        match serde_yaml::to_string(&crd) {
            Ok(doc) => out.push_str(&doc),
            Err(err) => out.push_str(&format!(
                "# cannot render {}: {err}\n",
                crd.metadata.name.unwrap_or_default()
            )),
        }
    }
    out
}

/// Rewrites a generated schema for people: doc-comment line breaks become
/// spaces (paragraphs and list items stay), and the Rust type title at the
/// root goes.
fn tidy(schema: &mut JSONSchemaProps) {
    let Ok(mut value) = serde_json::to_value(&*schema) else {
        return;
    };
    if let Some(obj) = value.as_object_mut() {
        obj.remove("title");
    }
    walk(&mut value);
    if let Ok(tidied) = serde_json::from_value(value) {
        *schema = tidied;
    }
}

fn walk(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child) {
                    ("description", Value::String(text)) => *text = reflow(text),
                    (_, child) => walk(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

/// Joins hard-wrapped lines of a doc comment; keeps blank-line paragraph
/// breaks and lines that start a list item.
fn reflow(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            let mut out = String::new();
            for line in paragraph.lines().map(str::trim) {
                if out.is_empty() {
                    out.push_str(line);
                } else if line.starts_with("- ") || line.starts_with("* ") {
                    out.push('\n');
                    out.push_str(line);
                } else {
                    out.push(' ');
                    out.push_str(line);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests;
