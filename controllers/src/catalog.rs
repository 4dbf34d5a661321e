//! The controllers by name, and `--controllers` selection (`*`, `name`,
//! `-name`, as kube-controller-manager's flag).

use futures::future::BoxFuture;

/// One controller `mars server` can run.
#[derive(Clone, Copy)]
pub struct Controller {
    /// Its name in `--controllers`.
    pub name: &'static str,
    /// Runs it until the future is dropped.
    pub run: fn(kube::Client) -> BoxFuture<'static, ()>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every controller, in start order.
pub static ALL: &[Controller] = &[
    Controller {
        name: "replicaset",
        run: |client| Box::pin(crate::replicaset::run(client)),
    },
    Controller {
        name: "deployment",
        run: |client| Box::pin(crate::deployment::run(client)),
    },
    Controller {
        name: "garbagecollector",
        run: |client| Box::pin(crate::garbage_collector::run(client)),
    },
    Controller {
        name: "namespace",
        run: |client| Box::pin(crate::namespace::run(client)),
    },
    Controller {
        name: "serviceaccount",
        run: |client| Box::pin(crate::serviceaccount::run(client)),
    },
];

/// The controllers a `--controllers` value selects: a comma-separated list
/// of names, `*` for all, `-name` to leave one out.
pub fn select(spec: &str) -> Result<Vec<Controller>, String> {
    let mut chosen: Vec<Controller> = Vec::new();
    let mut excluded = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "*" {
            chosen.extend(ALL.iter().copied());
        } else if let Some(name) = item.strip_prefix('-') {
            find(name)?;
            excluded.push(name);
        } else {
            chosen.push(find(item)?);
        }
    }
    let mut seen = Vec::new();
    chosen.retain(|c| {
        !excluded.contains(&c.name) && !seen.contains(&c.name) && {
            seen.push(c.name);
            true
        }
    });
    Ok(chosen)
}

fn find(name: &str) -> Result<Controller, String> {
    ALL.iter().copied().find(|c| c.name == name).ok_or_else(|| {
        let names: Vec<&str> = ALL.iter().map(|c| c.name).collect();
        format!("unknown controller {name:?}; known: {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(spec: &str) -> Vec<&'static str> {
        select(spec).unwrap().into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn selection_follows_kube_controller_managers_flag() {
        assert_eq!(names("*").len(), ALL.len());
        assert!(!names("*,-namespace").contains(&"namespace"));
        assert_eq!(names("deployment,replicaset"), ["deployment", "replicaset"]);
        assert_eq!(names(""), Vec::<&str>::new());
        assert!(
            select("*,-nope")
                .unwrap_err()
                .contains("unknown controller \"nope\"")
        );
    }
}
