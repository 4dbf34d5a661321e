//! LIST with kube-apiserver's resourceVersion semantics: consistent reads
//! (and pages) from the store, `0` and `NotOlderThan` reads from the watch
//! cache, `Exact` reads at a past revision, and continue tokens.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use mars_store::{ListRequest, StoreError};

use super::{Registry, store_error};
use crate::error::ApiError;
use crate::resources::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::watchcache::{CachedObject, Selectable};

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// 0: everything.
    pub limit: i64,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
}

/// A list's items and metadata.
#[derive(Debug)]
pub struct ListResult {
    pub items: Vec<Arc<CachedObject>>,
    pub revision: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn encode_continue(revision: i64, start: &[u8]) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv: revision,
        start: String::from_utf8_lossy(start).into_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(token: &str) -> Result<ContinueToken, ApiError> {
    let bad = || ApiError::BadRequest(format!("continue key is not valid: {token:?}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(token))
        .map_err(|_| bad())?;
    let token: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if token.v != "meta.k8s.io/v1" || token.start.contains("..") {
        return Err(bad());
    }
    Ok(token)
}

/// Where a list reads from.
enum Source {
    /// The store at this revision (0 = now), paged.
    Store { revision: i64 },
    /// The watch cache, once it has this revision.
    Cache { at_least: i64 },
}

fn parse_rv(value: &str) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| ApiError::BadRequest(format!("invalid resource version: {value:?}")))
}

fn choose_source(options: &ListOptions) -> Result<Source, ApiError> {
    let rv = options
        .resource_version
        .as_deref()
        .filter(|v| !v.is_empty());
    match (options.resource_version_match.as_deref(), rv) {
        (Some("Exact"), Some(rv)) => match parse_rv(rv)? {
            0 => Err(ApiError::BadRequest(
                "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"".into(),
            )),
            rv => Ok(Source::Store { revision: rv }),
        },
        (Some("NotOlderThan"), Some(rv)) => Ok(Source::Cache {
            at_least: parse_rv(rv)?,
        }),
        (Some("Exact" | "NotOlderThan"), None) => Err(ApiError::BadRequest(
            "resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
        )),
        (Some(other), _) => Err(ApiError::BadRequest(format!(
            "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
        ))),
        (None, None) => Ok(Source::Store { revision: 0 }),
        (None, Some("0")) => Ok(Source::Cache { at_least: 0 }),
        // With a limit, a non-zero resourceVersion reads exactly there
        // (paging from a known revision); without one, not older than it.
        (None, Some(rv)) if options.limit > 0 => Ok(Source::Store {
            revision: parse_rv(rv)?,
        }),
        (None, Some(rv)) => Ok(Source::Cache {
            at_least: parse_rv(rv)?,
        }),
    }
}

impl Registry {
    /// Lists the resource (one namespace's objects, or all).
    pub async fn list(
        &self,
        resource: &ResourceDef,
        namespace: Option<&str>,
        options: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        let prefix = resource.namespace_prefix(namespace);
        if let Some(token) = &options.continue_token {
            if options
                .resource_version
                .as_deref()
                .is_some_and(|rv| !rv.is_empty())
            {
                return Err(ApiError::BadRequest(
                    "specifying resource version is not allowed when using continue".into(),
                ));
            }
            let token = decode_continue(token)?;
            let start = format!("{prefix}{}", token.start);
            return self
                .list_store(&prefix, start.into(), token.rv.max(0), options)
                .await
                .map_err(|e| match e {
                    ApiError::Gone { .. } => ApiError::Gone {
                        message: "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".into(),
                        expired: true,
                        continue_token: Some(encode_continue(-1, token.start.as_bytes())),
                    },
                    other => other,
                });
        }
        match choose_source(options)? {
            Source::Store { revision } => {
                self.list_store(&prefix, Bytes::from(prefix.clone()), revision, options)
                    .await
            }
            Source::Cache { at_least } => {
                let cache = self.cache_at_least(resource, at_least).await?;
                let snapshot = cache.snapshot(prefix.as_bytes());
                let items = snapshot
                    .objects
                    .into_iter()
                    .filter(|o| matches(o, options))
                    .collect();
                Ok(ListResult {
                    items,
                    revision: snapshot.revision.max(at_least),
                    continue_token: None,
                    remaining: None,
                })
            }
        }
    }

    async fn list_store(
        &self,
        prefix: &str,
        start: Bytes,
        revision: i64,
        options: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        let filtering = !options.labels.is_empty() || !options.fields.is_empty();
        let mut request = ListRequest::prefix(Bytes::from(prefix.to_string()));
        request.key = start;
        request.revision = revision;
        request.limit = options.limit.max(0);
        let mut items = Vec::new();
        loop {
            let page = self.store.list(&request).await.map_err(|e| match e {
                StoreError::Compacted { .. } => ApiError::Gone {
                    message: "The resourceVersion for the provided list is too old.".into(),
                    expired: true,
                    continue_token: None,
                },
                other => store_error(other),
            })?;
            request.revision = page.revision;
            let next = page.continue_key();
            let remaining = page.remaining;
            for kv in page.kvs {
                let object = CachedObject::from_store(kv.key, kv.value, kv.mod_revision);
                if !filtering || matches(&object, options) {
                    items.push(Arc::new(object));
                }
            }
            let full = options.limit > 0 && items.len() as i64 >= options.limit;
            match next {
                Some(key) if full || options.limit == 0 => {
                    let relative = &key[prefix.len()..];
                    return Ok(ListResult {
                        items,
                        revision: page.revision,
                        continue_token: Some(encode_continue(page.revision, relative)),
                        remaining: (!filtering).then_some(remaining),
                    });
                }
                Some(key) => {
                    request.key = key;
                    request.limit = options.limit - items.len() as i64;
                }
                None => {
                    return Ok(ListResult {
                        items,
                        revision: page.revision,
                        continue_token: None,
                        remaining: None,
                    });
                }
            }
        }
    }
}

/// Whether a listed object passes the label and field selectors.
pub fn matches(object: &CachedObject, options: &ListOptions) -> bool {
    matches_decoded(object, options, &OnceLock::new())
}

/// [`matches`], decoding the object's selectable fields (only if a field
/// selector needs them) into `decoded`, so every watcher of one event
/// shares one decoding.
pub fn matches_decoded(
    object: &CachedObject,
    options: &ListOptions,
    decoded: &OnceLock<Selectable>,
) -> bool {
    let fields = &options.fields;
    options.labels.matches(&object.labels)
        && (fields.is_empty() || {
            let first = decoded.get_or_init(|| Selectable {
                projection: Arc::clone(fields.projection()),
                value: fields.selectable(&object.raw),
            });
            if first.projection == *fields.projection() {
                fields.matches(&first.value)
            } else {
                // Selectors of another version of a custom resource may
                // read other fields.
                fields.matches(&fields.selectable(&object.raw))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_read_kubes_encoding() {
        let token = encode_continue(42, b"ns/name\0");
        let back = decode_continue(&token).unwrap();
        assert_eq!((back.rv, back.start.as_str()), (42, "ns/name\0"));
        // kube-apiserver's own token (std base64) decodes too.
        let kube =
            decode_continue("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiYSJ9").unwrap();
        assert_eq!((kube.rv, kube.start.as_str()), (-1, "a"));
        assert!(decode_continue("garbage").is_err());
    }

    #[test]
    fn resource_version_rules() {
        let opts = |rv: Option<&str>, m: Option<&str>, limit| ListOptions {
            resource_version: rv.map(String::from),
            resource_version_match: m.map(String::from),
            limit,
            ..ListOptions::default()
        };
        assert!(matches!(
            choose_source(&opts(None, None, 0)).unwrap(),
            Source::Store { revision: 0 }
        ));
        assert!(matches!(
            choose_source(&opts(Some("0"), None, 5)).unwrap(),
            Source::Cache { at_least: 0 }
        ));
        assert!(matches!(
            choose_source(&opts(Some("7"), None, 5)).unwrap(),
            Source::Store { revision: 7 }
        ));
        assert!(matches!(
            choose_source(&opts(Some("7"), None, 0)).unwrap(),
            Source::Cache { at_least: 7 }
        ));
        assert!(matches!(
            choose_source(&opts(Some("7"), Some("Exact"), 0)).unwrap(),
            Source::Store { revision: 7 }
        ));
        assert!(choose_source(&opts(None, Some("Exact"), 0)).is_err());
        assert!(choose_source(&opts(Some("x"), None, 0)).is_err());
    }
}
