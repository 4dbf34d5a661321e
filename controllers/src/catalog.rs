//! The controllers by name, and `--controllers` selection (`*`, `name`,
//! `-name`, as kube-controller-manager's flag).

use futures::future::BoxFuture;

/// What every controller is started with.
#[derive(Clone)]
pub struct Context {
    pub client: kube::Client,
    /// The cluster CA (PEM) the API server's certificate chains to, which
    /// the root-CA publisher puts in every namespace.
    pub ca_pem: Option<String>,
    /// How long a node may go without renewing its Lease before it is
    /// marked Unknown (`--node-monitor-grace-period`).
    pub node_monitor_grace_period: std::time::Duration,
    /// The pod and node caches the controllers share.
    pub caches: crate::cache::Shared,
}

/// One controller `mars server` can run.
#[derive(Clone, Copy)]
pub struct Controller {
    /// Its name in `--controllers`.
    pub name: &'static str,
    /// Runs it until the future is dropped.
    pub run: fn(Context) -> BoxFuture<'static, ()>,
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
        run: |cx| Box::pin(crate::replicaset::run(cx.client, cx.caches)),
    },
    Controller {
        name: "deployment",
        run: |cx| Box::pin(crate::deployment::run(cx.client, cx.caches)),
    },
    Controller {
        name: "statefulset",
        run: |cx| Box::pin(crate::statefulset::run(cx.client, cx.caches)),
    },
    Controller {
        name: "daemonset",
        run: |cx| Box::pin(crate::daemonset::run(cx.client, cx.caches)),
    },
    Controller {
        name: "job",
        run: |cx| Box::pin(crate::job::run(cx.client, cx.caches)),
    },
    Controller {
        name: "cronjob",
        run: |cx| Box::pin(crate::cronjob::run(cx.client)),
    },
    Controller {
        name: "endpointslice",
        run: |cx| Box::pin(crate::endpointslice::run(cx.client, cx.caches)),
    },
    Controller {
        name: "nodelifecycle",
        run: |cx| {
            Box::pin(crate::nodelifecycle::run(
                cx.client,
                cx.caches,
                cx.node_monitor_grace_period,
            ))
        },
    },
    Controller {
        name: "garbagecollector",
        run: |cx| Box::pin(crate::garbage_collector::run(cx.client)),
    },
    Controller {
        name: "namespace",
        run: |cx| Box::pin(crate::namespace::run(cx.client)),
    },
    Controller {
        name: "serviceaccount",
        run: |cx| match cx.ca_pem {
            Some(ca) => Box::pin(crate::serviceaccount::run_with_ca(cx.client, ca)),
            None => Box::pin(crate::serviceaccount::run(cx.client)),
        },
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
