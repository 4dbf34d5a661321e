//! Sets of field paths, stored as a tree: at each level the elements that
//! are members themselves and the elements with members below them (an
//! element can be both: a list item owned as a whole and field by field).
//! `managedFields` stores one per manager as `FieldsV1`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::path::{Path, PathElement};

/// A set of paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Set {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, Set>,
}

impl Set {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no path is in the set.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(Set::is_empty)
    }

    /// Adds a path (the empty path is not a field and is ignored).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` itself is in the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Whether `element` is a member at this level.
    pub fn has_member(&self, element: &PathElement) -> bool {
        self.members.contains(element)
    }

    /// The paths below `element`, if any.
    pub fn child(&self, element: &PathElement) -> Option<&Set> {
        self.children.get(element).filter(|c| !c.is_empty())
    }

    /// Whether the set has `element` or anything below it.
    pub fn touches(&self, element: &PathElement) -> bool {
        self.has_member(element) || self.child(element).is_some()
    }

    /// Every path in the set, in order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Path::default(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        let elements: BTreeSet<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        for element in elements {
            prefix.0.push(element.clone());
            if self.members.contains(element) {
                out.push(prefix.clone());
            }
            if let Some(child) = self.children.get(element) {
                child.collect_paths(prefix, out);
            }
            prefix.0.pop();
        }
    }

    /// The paths in either set.
    pub fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (element, child) in &other.children {
            let merged = match out.children.get(element) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(element.clone(), merged);
        }
        out
    }

    /// The paths of `self` that are not in `other` (path by path: removing
    /// a path leaves the paths below it).
    pub fn difference(&self, other: &Set) -> Set {
        let mut out = Set::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (element, child) in &self.children {
            let rest = match other.children.get(element) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(element.clone(), rest);
            }
        }
        out
    }

    /// Whether some path is in both sets ([`Set::intersection`] is not
    /// empty), found without building anything.
    pub fn overlaps(&self, other: &Set) -> bool {
        let (few, many) = if self.members.len() <= other.members.len() {
            (&self.members, &other.members)
        } else {
            (&other.members, &self.members)
        };
        few.iter().any(|element| many.contains(element))
            || self.children.iter().any(|(element, child)| {
                other
                    .children
                    .get(element)
                    .is_some_and(|theirs| child.overlaps(theirs))
            })
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &Set) -> Set {
        let mut out = Set::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (element, child) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(element.clone(), both);
                }
            }
        }
        out
    }

    /// The set without `element` and everything below it.
    pub fn without(&self, element: &PathElement) -> Set {
        let mut out = self.clone();
        out.members.remove(element);
        out.children.remove(element);
        out
    }

    /// The set as `FieldsV1` JSON.
    pub fn to_fields_v1(&self) -> Value {
        let mut object = Map::new();
        let elements: BTreeSet<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        for element in elements {
            let mut entry = match self.children.get(element) {
                Some(child) if !child.is_empty() => match child.to_fields_v1() {
                    Value::Object(map) => map,
                    _ => Map::new(),
                },
                _ => Map::new(),
            };
            if self.members.contains(element) && !entry.is_empty() {
                entry.insert(".".into(), Value::Object(Map::new()));
            }
            object.insert(element.fields_v1_key(), Value::Object(entry));
        }
        Value::Object(object)
    }

    /// Parses `FieldsV1` JSON.
    pub fn from_fields_v1(value: &Value) -> Result<Set, String> {
        let Value::Object(object) = value else {
            return Err("FieldsV1 must be a JSON object".into());
        };
        let mut set = Set::new();
        for (key, entry) in object {
            if key == "." {
                continue;
            }
            let element = PathElement::parse_fields_v1_key(key)?;
            let Value::Object(inner) = entry else {
                return Err(format!("FieldsV1 entry {key:?} must be an object"));
            };
            if inner.is_empty() || inner.contains_key(".") {
                set.members.insert(element.clone());
            }
            let child = Set::from_fields_v1(entry)?;
            if !child.is_empty() {
                set.children.insert(element, child);
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    #[test]
    fn fields_v1_round_trip_keeps_members_with_children() {
        let fields = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}},
        });
        let set = Set::from_fields_v1(&fields).unwrap();
        assert!(set.contains(&[field("metadata"), field("labels")]));
        assert!(set.contains(&[field("metadata"), field("labels"), field("app")]));
        assert!(!set.contains(&[field("metadata")]));
        assert_eq!(set.to_fields_v1(), fields);
        assert_eq!(set.paths().len(), 5);
    }

    #[test]
    fn algebra() {
        let mut a = Set::new();
        a.insert(&[field("data"), field("x")]);
        a.insert(&[field("data"), field("y")]);
        let mut b = Set::new();
        b.insert(&[field("data"), field("y")]);
        b.insert(&[field("spec")]);
        let mut only_x = Set::new();
        only_x.insert(&[field("data"), field("x")]);
        assert_eq!(a.difference(&b), only_x);
        assert_eq!(a.intersection(&b).paths().len(), 1);
        assert_eq!(a.union(&b).paths().len(), 3);
        assert!(a.difference(&a).is_empty());
        assert!(a.touches(&field("data")) && !a.touches(&field("spec")));
        assert!(a.without(&field("data")).is_empty());
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!only_x.overlaps(&b) && !b.overlaps(&only_x));
        assert!(!a.overlaps(&Set::new()));
        // A member on one side and a child set on the other share no path.
        let mut data = Set::new();
        data.insert(&[field("data")]);
        assert!(!data.overlaps(&a) && !a.overlaps(&data));
        for (x, y) in [(&a, &b), (&only_x, &b), (&data, &a)] {
            assert_eq!(x.overlaps(y), !x.intersection(y).is_empty());
        }
    }
}
