//! The live set of served resources: the built-in table plus the resources
//! of every established CustomResourceDefinition. Requests read a snapshot;
//! the CRD controller swaps in a new one when a definition changes, and
//! everything derived from the set (discovery, OpenAPI) is keyed by the
//! snapshot's generation.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::resources::ResourceDef;

/// One state of the served set.
#[derive(Debug)]
pub struct Served {
    /// Built-ins first (discovery's order), then custom resources by group.
    pub resources: Vec<ResourceDef>,
    /// Bumped on every change, so derived documents know they are stale.
    pub generation: u64,
}

impl Served {
    /// The resource served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }
}

/// The served set, shared by the request path and the CRD controller.
#[derive(Debug)]
pub struct Catalog {
    builtin: Vec<ResourceDef>,
    state: RwLock<State>,
}

#[derive(Debug)]
struct State {
    /// Custom resources by the name of the CRD that defines them.
    custom: BTreeMap<String, Vec<ResourceDef>>,
    served: Arc<Served>,
}

impl Catalog {
    /// A catalog serving `builtin` and no custom resources yet.
    pub fn new(builtin: &[ResourceDef]) -> Self {
        let served = Arc::new(Served {
            resources: builtin.to_vec(),
            generation: 0,
        });
        Self {
            builtin: builtin.to_vec(),
            state: RwLock::new(State {
                custom: BTreeMap::new(),
                served,
            }),
        }
    }

    /// The current set; cheap, and stable for as long as it is held.
    pub fn snapshot(&self) -> Arc<Served> {
        Arc::clone(&self.state.read().served)
    }

    /// The resource served at `group/version/plural` right now.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        self.snapshot().find(group, version, plural).cloned()
    }

    /// The resources a CRD defines now (empty: it defines none).
    pub fn custom(&self, crd: &str) -> Vec<ResourceDef> {
        self.state
            .read()
            .custom
            .get(crd)
            .cloned()
            .unwrap_or_default()
    }

    /// Every CRD's resources but `crd`'s (for name-conflict checks).
    pub fn custom_except(&self, crd: &str) -> Vec<ResourceDef> {
        let state = self.state.read();
        state
            .custom
            .iter()
            .filter(|(name, _)| name.as_str() != crd)
            .flat_map(|(_, defs)| defs.iter().cloned())
            .collect()
    }

    /// Built-in resources only.
    pub fn builtin(&self) -> &[ResourceDef] {
        &self.builtin
    }

    /// Serves exactly `resources` for `crd` (none: stops serving it).
    pub fn set_custom(&self, crd: &str, resources: Vec<ResourceDef>) {
        let mut state = self.state.write();
        if resources.is_empty() {
            state.custom.remove(crd);
        } else {
            state.custom.insert(crd.to_string(), resources);
        }
        let mut all = self.builtin.clone();
        let mut custom: Vec<&ResourceDef> = state.custom.values().flatten().collect();
        // Groups sorted by name; within a group, versions keep the CRD's
        // priority order (the order the CRD's definitions were built in).
        custom.sort_by_key(|r| r.group);
        all.extend(custom.into_iter().cloned());
        let generation = state.served.generation + 1;
        state.served = Arc::new(Served {
            resources: all,
            generation,
        });
    }
}
