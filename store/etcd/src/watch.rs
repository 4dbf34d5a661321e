//! `Store::watch` over an etcd watch stream: one etcd stream per trait-level
//! watch, so dropping the returned stream drops the gRPC stream, which is how
//! etcd learns the watcher is gone (it cancels watchers of a closed stream).

use std::time::Duration;

use etcd_client::{WatchClient, WatchFilterType, WatchOptions, WatchResponse};
use futures::stream;
use mars_store::{StoreError, WatchMessage, WatchSpec, WatchStream};
use tonic::Code;

use crate::convert;
use crate::error::{status_error, store_error};

/// Opens the watch and waits for etcd to confirm it, so events written after
/// this returns are seen (the embedded backend registers synchronously).
pub(crate) async fn open(
    mut client: WatchClient,
    spec: WatchSpec,
    progress_notify: bool,
    timeout: Duration,
) -> Result<WatchStream, StoreError> {
    if spec.key.is_empty() {
        // As the embedded backend: the trait has no "whole keyspace" watch.
        return Err(StoreError::EmptyKey);
    }
    let mut options = WatchOptions::new().with_start_revision(spec.start_revision);
    if !spec.range_end.is_empty() {
        options = options.with_range(spec.range_end.to_vec());
    }
    if spec.prev_kv {
        options = options.with_prev_key();
    }
    let mut filters = Vec::new();
    if spec.no_put {
        filters.push(WatchFilterType::NoPut);
    }
    if spec.no_delete {
        filters.push(WatchFilterType::NoDelete);
    }
    if !filters.is_empty() {
        options = options.with_filters(filters);
    }
    if progress_notify {
        options = options.with_progress_notify();
    }

    let confirm = async {
        let mut watch = client.watch(spec.key.to_vec(), Some(options)).await?;
        let first = watch.message().await?;
        Ok::<_, etcd_client::Error>((watch, first))
    };
    let (watch, first) = tokio::time::timeout(timeout, confirm)
        .await
        .map_err(|_| {
            StoreError::Unavailable(format!("etcd did not confirm a watch within {timeout:?}"))
        })?
        .map_err(store_error)?;
    let pending = match first {
        None => {
            return Err(StoreError::Unavailable(
                "etcd closed the watch stream before confirming the watch".into(),
            ));
        }
        Some(response) => {
            if let Some(error) = ended(&response) {
                return Err(error);
            }
            // The confirmation itself carries no events; anything else is
            // the first real message and is delivered first.
            (!response.0.created).then_some(response)
        }
    };

    let state = State {
        watch,
        pending,
        done: false,
        progress_requests: spec.progress_requests,
    };
    Ok(Box::pin(stream::unfold(state, next)))
}

struct State {
    /// Owns the gRPC stream: dropping it cancels the watch on the server.
    watch: etcd_client::WatchStream,
    pending: Option<WatchResponse>,
    /// An error was yielded; the stream ends after it.
    done: bool,
    /// Forwarded to etcd as `WatchProgressRequest`s.
    progress_requests: Option<std::sync::Arc<tokio::sync::Notify>>,
}

async fn next(mut state: State) -> Option<(Result<WatchMessage, StoreError>, State)> {
    if state.done {
        return None;
    }
    loop {
        let response = match state.pending.take() {
            Some(response) => response,
            None => match receive(&mut state).await {
                Ok(Some(response)) => response,
                Ok(None) => {
                    return Some(fail(
                        state,
                        StoreError::Unavailable("etcd closed the watch stream".into()),
                    ));
                }
                Err(error) => return Some(fail(state, store_error(error))),
            },
        };
        if let Some(error) = ended(&response) {
            return Some(fail(state, error));
        }
        if response.0.created {
            // A (late) creation confirmation, not a progress notification.
            continue;
        }
        let response = response.0;
        let message = WatchMessage {
            tag: 0,
            revision: convert::revision_of(response.header.as_ref()),
            events: response.events.into_iter().map(convert::event).collect(),
        };
        return Some((Ok(message), state));
    }
}

/// The next response, asking etcd for progress whenever the owner of the
/// watch requests it meanwhile.
async fn receive(state: &mut State) -> Result<Option<WatchResponse>, etcd_client::Error> {
    let Some(requests) = state.progress_requests.clone() else {
        return state.watch.message().await;
    };
    loop {
        tokio::select! {
            message = state.watch.message() => return message,
            _ = requests.notified() => state.watch.request_progress().await?,
        }
    }
}

fn fail(mut state: State, error: StoreError) -> (Result<WatchMessage, StoreError>, State) {
    tracing::debug!(%error, "etcd watch ended");
    state.done = true;
    (Err(error), state)
}

/// Why etcd ended the watch with this response, if it did: its start
/// revision was compacted away (etcd says to which revision), or it was
/// cancelled for another reason.
fn ended(response: &WatchResponse) -> Option<StoreError> {
    let response = &response.0;
    if response.compact_revision != 0 {
        return Some(StoreError::Compacted {
            compact_revision: response.compact_revision,
        });
    }
    if !response.canceled {
        return None;
    }
    Some(if response.cancel_reason.is_empty() {
        StoreError::Backend("etcd cancelled the watch".into())
    } else {
        status_error(Code::Unknown, &response.cancel_reason)
    })
}
