//! `serviceaccounts/token` (TokenRequest): issues bound service-account
//! tokens, and decides whether a presented token still stands for its
//! service account (kube's `serviceaccount.TokenGenerator` and
//! `validator`).

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Call;
use crate::auth::UserInfo;
use crate::auth::service_account_token::{Claims, ISSUER, KubernetesClaim, Ref};
use crate::error::ApiError;
use crate::handler::Api;
use crate::registry::lifecycle;
use crate::resources::{self, ResourceDef};
use crate::{FieldError, auth};

/// kube's default `expirationSeconds` (an hour).
const DEFAULT_EXPIRATION: i64 = 3600;
/// The shortest lifetime kube issues (ten minutes).
const MIN_EXPIRATION: i64 = 600;
/// The longest: kube validates against 2^32 seconds.
const MAX_EXPIRATION: i64 = 1 << 32;
/// A token bound to an object stays valid this long after the object's
/// deletion starts (kube's grace for pods shutting down).
const DELETION_GRACE: i64 = 60;

/// The group every service account is in.
const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
/// The `user.Info` extra keys kube fills for service-account tokens.
const EXTRA_CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";
const EXTRA_POD_NAME: &str = "authentication.kubernetes.io/pod-name";
const EXTRA_POD_UID: &str = "authentication.kubernetes.io/pod-uid";
const EXTRA_NODE_NAME: &str = "authentication.kubernetes.io/node-name";
const EXTRA_NODE_UID: &str = "authentication.kubernetes.io/node-uid";

/// Answers a TokenRequest for the service account `call` names.
pub(crate) async fn issue(call: &Call<'_>, request: Value) -> Result<Value, ApiError> {
    let name = call.name()?;
    let namespace = call.namespace().unwrap_or_default();
    let signer = call
        .api
        .authenticator
        .service_account_signer()
        .ok_or(ApiError::NoRoute)?;
    let spec = &request["spec"];
    let expiration = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_EXPIRATION);
    let audiences: Vec<String> = match spec["audiences"].as_array() {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|a| a.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => vec![ISSUER.to_string()],
    };
    let bound = &spec["boundObjectRef"];
    let mut causes = Vec::new();
    if expiration < MIN_EXPIRATION {
        causes.push(FieldError::invalid(
            "spec.expirationSeconds",
            &json!(expiration),
            "may not specify a duration less than 10 minutes",
        ));
    } else if expiration > MAX_EXPIRATION {
        causes.push(FieldError::invalid(
            "spec.expirationSeconds",
            &json!(expiration),
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    let bound_kind = bound["kind"].as_str().unwrap_or_default();
    if bound.is_object() && !matches!(bound_kind, "Pod" | "Secret" | "Node") {
        causes.push(FieldError::not_supported(
            "spec.boundObjectRef.kind",
            &json!(bound_kind),
            &["Pod", "Node", "Secret"],
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::Invalid {
            kind: "TokenRequest".into(),
            group: "authentication.k8s.io".into(),
            name: name.to_string(),
            causes,
        });
    }

    let registry = &call.api.registry;
    let account = registry
        .get(service_accounts(), Some(namespace), name)
        .await?
        .value();
    let mut kubernetes = KubernetesClaim {
        namespace: namespace.to_string(),
        serviceaccount: Ref {
            name: name.to_string(),
            uid: uid(&account).to_string(),
        },
        pod: None,
        secret: None,
        node: None,
    };
    if bound.is_object() {
        let bound_name = bound["name"].as_str().unwrap_or_default();
        let (resource, scope) = match bound_kind {
            "Pod" => (find("pods"), Some(namespace)),
            "Secret" => (find("secrets"), Some(namespace)),
            _ => (find("nodes"), None),
        };
        let object = registry.get(resource, scope, bound_name).await?.value();
        let actual = uid(&object);
        if let Some(wanted) = bound["uid"].as_str().filter(|u| !u.is_empty())
            && wanted != actual
        {
            return Err(ApiError::Conflict {
                resource: bound_kind.to_string(),
                group: String::new(),
                name: bound_name.to_string(),
                detail: format!(
                    "the UID in the bound object reference ({wanted}) does not match the UID in record. The object might have been deleted and then recreated"
                ),
            });
        }
        let reference = Some(Ref {
            name: bound_name.to_string(),
            uid: actual.to_string(),
        });
        match bound_kind {
            "Pod" => {
                kubernetes.pod = reference;
                // kube also names the pod's node, so node-bound policies apply.
                if let Some(node) = object["spec"]["nodeName"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    && let Ok(node_object) = registry.get(find("nodes"), None, node).await
                {
                    kubernetes.node = Some(Ref {
                        name: node.to_string(),
                        uid: uid(&node_object.value()).to_string(),
                    });
                }
            }
            "Secret" => kubernetes.secret = reference,
            _ => kubernetes.node = reference,
        }
    }

    let now = Timestamp::now().as_second();
    let claims = Claims {
        iss: ISSUER.into(),
        sub: format!("system:serviceaccount:{namespace}:{name}"),
        aud: audiences.clone(),
        exp: now + expiration,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().to_string(),
        kubernetes,
    };
    let token = signer
        .sign(&claims)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let expires = Timestamp::from_second(claims.exp).unwrap_or(Timestamp::MAX);
    let mut spec = json!({"audiences": audiences, "expirationSeconds": expiration});
    if bound.is_object() {
        spec["boundObjectRef"] = bound.clone();
    }
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": lifecycle::timestamp(Timestamp::now()),
        },
        "spec": spec,
        "status": {
            "token": token,
            "expirationTimestamp": lifecycle::timestamp(expires),
        },
    }))
}

/// The service account a verified token stands for, if the account and
/// the object the token is bound to still exist (same uid, not deleted
/// for more than a minute); 401 otherwise.
pub(crate) async fn holder(api: &Arc<Api>, claims: &Claims) -> Result<UserInfo, ApiError> {
    let k = &claims.kubernetes;
    let namespace = k.namespace.as_str();
    let registry = &api.registry;
    let now = Timestamp::now().as_second();
    let current = |resource: &'static ResourceDef, scope: Option<&str>, r: &Ref| {
        let (scope, name, uid_wanted) = (scope.map(str::to_string), r.name.clone(), r.uid.clone());
        async move {
            let object = registry
                .get(resource, scope.as_deref(), &name)
                .await
                .ok()?
                .value();
            let deleted_long_ago = object["metadata"]["deletionTimestamp"]
                .as_str()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .is_some_and(|t| t.as_second() + DELETION_GRACE < now);
            (uid(&object) == uid_wanted && !deleted_long_ago).then_some(())
        }
    };
    let refused = |why: &str| {
        tracing::debug!(subject = %claims.sub, why, "service-account token refused");
        ApiError::Unauthorized
    };
    current(service_accounts(), Some(namespace), &k.serviceaccount)
        .await
        .ok_or_else(|| refused("service account gone"))?;
    if let Some(pod) = &k.pod {
        current(find("pods"), Some(namespace), pod)
            .await
            .ok_or_else(|| refused("pod gone"))?;
    }
    if let Some(secret) = &k.secret {
        current(find("secrets"), Some(namespace), secret)
            .await
            .ok_or_else(|| refused("secret gone"))?;
    }
    if k.pod.is_none()
        && let Some(node) = &k.node
    {
        current(find("nodes"), None, node)
            .await
            .ok_or_else(|| refused("node gone"))?;
    }
    let mut extra = std::collections::BTreeMap::new();
    extra.insert(
        EXTRA_CREDENTIAL_ID.to_string(),
        vec![format!("JTI={}", claims.jti)],
    );
    if let Some(pod) = &k.pod {
        extra.insert(EXTRA_POD_NAME.to_string(), vec![pod.name.clone()]);
        extra.insert(EXTRA_POD_UID.to_string(), vec![pod.uid.clone()]);
    }
    if let Some(node) = &k.node {
        extra.insert(EXTRA_NODE_NAME.to_string(), vec![node.name.clone()]);
        extra.insert(EXTRA_NODE_UID.to_string(), vec![node.uid.clone()]);
    }
    Ok(UserInfo {
        username: claims.sub.clone(),
        uid: k.serviceaccount.uid.clone(),
        groups: vec![
            SERVICE_ACCOUNTS.to_string(),
            format!("{SERVICE_ACCOUNTS}:{namespace}"),
            auth::AUTHENTICATED.to_string(),
        ],
        extra,
    })
}

fn uid(object: &Value) -> &str {
    object["metadata"]["uid"].as_str().unwrap_or_default()
}

fn find(plural: &str) -> &'static ResourceDef {
    resources::find("", "v1", plural).expect("a core resource")
}

fn service_accounts() -> &'static ResourceDef {
    find("serviceaccounts")
}
