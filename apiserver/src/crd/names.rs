//! Name acceptance (apiextensions-apiserver's naming controller): a CRD's
//! plural, singular, short names and kinds must not collide with another
//! served resource of its group, else it is not served and its
//! `NamesAccepted` condition says which name is taken.

use serde_json::Value;

use crate::resources::ResourceDef;

/// Why the CRD's names cannot be accepted: `(reason, message)` for its
/// `NamesAccepted` condition; `None` when they can.
pub fn conflict(crd: &Value, others: &[ResourceDef]) -> Option<(&'static str, String)> {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let names = &crd["spec"]["names"];
    let text = |field: &str| names[field].as_str().unwrap_or_default().to_string();
    let (plural, singular, kind) = (text("plural"), text("singular"), text("kind"));
    let list_kind = names["listKind"]
        .as_str()
        .map_or_else(|| format!("{kind}List"), str::to_string);
    let same_group: Vec<&ResourceDef> = others.iter().filter(|r| r.group == group).collect();
    let taken = |name: &str| {
        same_group
            .iter()
            .any(|r| r.plural == name || r.singular == name || r.short_names.contains(&name))
    };
    if taken(&plural) {
        return Some(("PluralConflict", format!("{plural:?} is already in use")));
    }
    if taken(&singular) {
        return Some((
            "SingularConflict",
            format!("{singular:?} is already in use"),
        ));
    }
    let short_names = names["shortNames"].as_array().cloned().unwrap_or_default();
    for short in short_names.iter().filter_map(Value::as_str) {
        if taken(short) {
            return Some(("ShortNamesConflict", format!("{short:?} is already in use")));
        }
    }
    if same_group.iter().any(|r| r.kind == kind) {
        return Some(("KindConflict", format!("{kind:?} is already in use")));
    }
    if same_group
        .iter()
        .any(|r| format!("{}List", r.kind) == list_kind || r.kind == list_kind)
    {
        return Some((
            "ListKindConflict",
            format!("{list_kind:?} is already in use"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;
    use serde_json::json;

    fn crd(group: &str, plural: &str, kind: &str, short: &[&str]) -> Value {
        json!({"spec": {"group": group, "names": {
            "plural": plural, "singular": plural.trim_end_matches('s'), "kind": kind,
            "shortNames": short,
        }}})
    }

    #[test]
    fn names_taken_in_the_same_group_conflict() {
        let deployments = find("apps", "v1", "deployments").unwrap().clone();
        let others = vec![deployments];
        assert_eq!(
            conflict(&crd("apps", "deployments", "Thing", &[]), &others),
            Some(("PluralConflict", "\"deployments\" is already in use".into()))
        );
        assert_eq!(
            conflict(&crd("apps", "things", "Thing", &["deploy"]), &others),
            Some(("ShortNamesConflict", "\"deploy\" is already in use".into()))
        );
        assert_eq!(
            conflict(&crd("apps", "things", "Deployment", &[]), &others),
            Some(("KindConflict", "\"Deployment\" is already in use".into()))
        );
        assert_eq!(
            conflict(
                &crd("example.com", "deployments", "Deployment", &["deploy"]),
                &others
            ),
            None
        );
    }
}
