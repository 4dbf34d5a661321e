//! A queue of names to sync, for the controllers that are not built on
//! kube-runtime's `Controller` (namespace, service account): each name is
//! synced when due, again when its sync asks, and after a growing delay
//! when its sync fails.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// The delay after the first failure, doubling with each further one.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    fn after(self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        (self.first * 2u32.pow(doublings)).min(self.max)
    }
}

/// Syncs the names `names` brings until the sender is gone and nothing is
/// due. `sync` answers `Ok(None)` when done with a name, `Ok(Some(delay))`
/// to be called again after `delay`; an error is logged (naming `who`) and
/// retried after `backoff`.
pub async fn run<S, F>(
    mut names: mpsc::UnboundedReceiver<String>,
    who: &str,
    backoff: Backoff,
    mut sync: S,
) where
    S: FnMut(String) -> F,
    F: Future<Output = Result<Option<Duration>, kube::Error>>,
{
    // name → (when due, failures so far)
    let mut due: HashMap<String, (Instant, u32)> = HashMap::new();
    loop {
        let next = due.values().map(|(t, _)| *t).min();
        let sleep = async {
            match next {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            name = names.recv() => match name {
                Some(name) => {
                    let entry = due.entry(name).or_insert((Instant::now(), 0));
                    entry.0 = entry.0.min(Instant::now());
                    continue;
                }
                None => std::future::pending::<()>().await,
            },
            () = sleep => {}
        }
        let now = Instant::now();
        let ready: Vec<String> = due
            .iter()
            .filter(|(_, (t, _))| *t <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in ready {
            let failures = due.remove(&name).map_or(0, |d| d.1);
            match sync(name.clone()).await {
                Ok(None) => {}
                Ok(Some(after)) => {
                    due.insert(name, (Instant::now() + after, 0));
                }
                Err(error) => {
                    tracing::warn!(%error, %name, "{who} sync failed; retrying");
                    let failures = failures + 1;
                    due.insert(name, (Instant::now() + backoff.after(failures), failures));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let b = Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(10),
        };
        let delays: Vec<u128> = (1..=8).map(|f| b.after(f).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
    }
}
