//! Authentication: client certificates signed by the cluster CA and bearer
//! tokens; impersonation headers.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use super::authz::{self, Attributes};
use super::pki::Credentials;
use super::service_account_token::{self as sa_token, Claims, TokenSigner};
use super::{
    ADMIN_USER, ANONYMOUS, AUTHENTICATED, SYSTEM_MASTERS, UNAUTHENTICATED, UserInfo, VIEWER_USER,
    VIEWERS,
};
use crate::ApiError;

/// `Impersonate-User`: the user to act as.
pub const IMPERSONATE_USER: &str = "impersonate-user";
/// `Impersonate-Uid`: the uid to act as.
pub const IMPERSONATE_UID: &str = "impersonate-uid";
/// `Impersonate-Group`, repeatable: the groups to act as.
pub const IMPERSONATE_GROUP: &str = "impersonate-group";
/// `Impersonate-Extra-<key>`, repeatable: the extra attributes to act with.
pub const IMPERSONATE_EXTRA_PREFIX: &str = "impersonate-extra-";

/// The user-name prefix of service accounts.
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";
/// The group of every service account.
const SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts";
/// The API group of `userextras` and `uids` impersonation checks.
const AUTHENTICATION_GROUP: &str = "authentication.k8s.io";

/// Maps request credentials to users.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    tokens: HashMap<String, UserInfo>,
    service_accounts: Option<Arc<TokenSigner>>,
}

/// Who a request's credentials say it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// A client certificate or a static token: the user as is.
    User(UserInfo),
    /// A service-account token with a valid signature, lifetime and
    /// audience; it stands for its service account only once the caller
    /// has checked that the account and the bound object still exist.
    ServiceAccount(Box<Claims>),
}

impl Authenticator {
    /// An authenticator accepting these bearer tokens.
    pub fn new(tokens: HashMap<String, UserInfo>) -> Self {
        Self {
            tokens,
            service_accounts: None,
        }
    }

    /// Also accepts service-account tokens `signer` signed.
    pub fn with_service_accounts(mut self, signer: Arc<TokenSigner>) -> Self {
        self.service_accounts = Some(signer);
        self
    }

    /// The authenticator of a freshly started server: the admin token is
    /// `mars-admin` (`system:masters`), the read-only token `mars-viewer`
    /// (`mars:viewers`). Client certificates need no registration.
    pub fn from_credentials(creds: &Credentials) -> Self {
        let user = |name: &str, group: &str| UserInfo {
            username: name.into(),
            groups: vec![group.into(), AUTHENTICATED.into()],
            ..UserInfo::default()
        };
        let authenticator = Self::new(HashMap::from([
            (creds.admin_token.clone(), user(ADMIN_USER, SYSTEM_MASTERS)),
            (creds.readonly_token.clone(), user(VIEWER_USER, VIEWERS)),
        ]));
        match TokenSigner::from_pkcs8(&creds.service_account_key_der) {
            Ok(signer) => authenticator.with_service_accounts(Arc::new(signer)),
            Err(error) => {
                tracing::warn!(%error, "service-account tokens are disabled");
                authenticator
            }
        }
    }

    /// The signer of service-account tokens, if they are enabled.
    pub fn service_account_signer(&self) -> Option<&Arc<TokenSigner>> {
        self.service_accounts.as_ref()
    }

    /// The user behind a request: its verified client certificate (DER, the
    /// first of the chain) or its `Authorization: Bearer` token. `Ok(None)`
    /// means no credentials (anonymous); a wrong token is 401.
    ///
    /// As in kube-apiserver, the certificate wins over a token, a certificate
    /// without a common name is ignored, and an `Authorization` header that
    /// is not a bearer token counts as no credentials.
    pub fn authenticate(
        &self,
        client_cert: Option<&[u8]>,
        headers: &http::HeaderMap,
    ) -> Result<Option<Credential>, ApiError> {
        if let Some(der) = client_cert
            && let Some(user) = user_from_certificate(der)?
        {
            return Ok(Some(Credential::User(with_authenticated_group(user))));
        }
        let Some(token) = bearer_token(headers) else {
            return Ok(None);
        };
        if let Some(user) = self.tokens.get(token) {
            return Ok(Some(Credential::User(with_authenticated_group(
                user.clone(),
            ))));
        }
        let signer = self
            .service_accounts
            .as_ref()
            .ok_or(ApiError::Unauthorized)?;
        match signer.verify(token, sa_token::ISSUER, jiff::Timestamp::now().as_second()) {
            Ok(claims) => Ok(Some(Credential::ServiceAccount(Box::new(claims)))),
            Err(error) => {
                tracing::debug!(%error, "service-account token refused");
                Err(ApiError::Unauthorized)
            }
        }
    }
}

/// The user of a client certificate, as kube's `CommonNameUserConversion`:
/// the subject's common name, its organizations as groups. `Ok(None)` when
/// the certificate has no common name; 401 when it cannot be parsed.
pub fn user_from_certificate(der: &[u8]) -> Result<Option<UserInfo>, ApiError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| ApiError::Unauthorized)?;
    let subject = cert.subject();
    // Go's pkix.Name keeps the last common name it sees.
    let common_name = subject
        .iter_common_name()
        .filter_map(|attr| attr.as_str().ok())
        .last()
        .unwrap_or_default();
    if common_name.is_empty() {
        return Ok(None);
    }
    let groups = subject
        .iter_organization()
        .filter_map(|attr| attr.as_str().ok())
        .map(str::to_string)
        .collect();
    Ok(Some(UserInfo {
        username: common_name.to_string(),
        groups,
        ..UserInfo::default()
    }))
}

/// The token of `Authorization: Bearer <token>`, parsed as kube's bearer
/// token authenticator does (scheme case-insensitive, one space).
fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// kube's `AuthenticatedGroupAdder`: every authenticated user is in
/// `system:authenticated` unless it already says it is (un)authenticated.
fn with_authenticated_group(mut user: UserInfo) -> UserInfo {
    let marked = user
        .groups
        .iter()
        .any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED);
    if user.username != ANONYMOUS && !marked {
        user.groups.push(AUTHENTICATED.into());
    }
    user
}

/// The user a request acts as: `user` itself, or the one named by its
/// `Impersonate-*` headers if `user` may impersonate.
///
/// This is kube-apiserver's `WithImpersonation` filter: each requested
/// user, group, extra value and uid is a separate `impersonate` check, the
/// first denial is a 403, and the impersonated user is built only from the
/// headers (never inheriting the caller's groups).
pub fn impersonate(user: UserInfo, headers: &http::HeaderMap) -> Result<UserInfo, ApiError> {
    let requests = impersonation_requests(headers)?;
    if requests.is_empty() {
        return Ok(user);
    }
    // Explicit groups are the whole truth, even for service accounts.
    let groups_specified = headers.contains_key(IMPERSONATE_GROUP);
    let mut username = String::new();
    let mut uid = String::new();
    let mut groups = Vec::new();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for request in &requests {
        match request {
            Impersonation::ServiceAccount { namespace, name } => {
                username = format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}");
                if !groups_specified {
                    groups = vec![
                        SERVICE_ACCOUNTS_GROUP.to_string(),
                        format!("{SERVICE_ACCOUNTS_GROUP}:{namespace}"),
                    ];
                }
            }
            Impersonation::User(name) => username = name.clone(),
            Impersonation::Group(group) => groups.push(group.clone()),
            Impersonation::Extra { key, value } => {
                extra.entry(key.clone()).or_default().push(value.clone());
            }
            Impersonation::Uid(value) => uid = value.clone(),
        }
        let attrs = request.attributes();
        if !authz::allowed(&user, &attrs) {
            return Err(authz::forbidden(&user, &attrs));
        }
    }
    if username == ANONYMOUS {
        if !groups.iter().any(|g| g == UNAUTHENTICATED) {
            groups.push(UNAUTHENTICATED.into());
        }
    } else if !groups
        .iter()
        .any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED)
    {
        groups.push(AUTHENTICATED.into());
    }
    Ok(UserInfo {
        username,
        uid,
        groups,
        extra,
    })
}

/// One thing a request asks to impersonate, as kube's `ObjectReference`
/// per impersonation header value.
#[derive(Debug, Clone, PartialEq)]
enum Impersonation {
    ServiceAccount { namespace: String, name: String },
    User(String),
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Impersonation {
    /// The `impersonate` check this request needs.
    fn attributes(&self) -> Attributes {
        let (group, resource, subresource, namespace, name) = match self {
            Self::ServiceAccount { namespace, name } => {
                ("", "serviceaccounts", "", namespace.as_str(), name.as_str())
            }
            Self::User(name) => ("", "users", "", "", name.as_str()),
            Self::Group(name) => ("", "groups", "", "", name.as_str()),
            Self::Extra { key, value } => (
                AUTHENTICATION_GROUP,
                "userextras",
                key.as_str(),
                "",
                value.as_str(),
            ),
            Self::Uid(uid) => (AUTHENTICATION_GROUP, "uids", "", "", uid.as_str()),
        };
        Attributes {
            verb: "impersonate".into(),
            resource_request: true,
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: namespace.into(),
            name: name.into(),
            path: String::new(),
        }
    }
}

/// Go's `%v` of the `v1.ObjectReference`, which kube puts in its errors:
/// `{Kind Namespace Name UID APIVersion ResourceVersion FieldPath}`.
impl fmt::Display for Impersonation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth_v1 = "authentication.k8s.io/v1";
        let (kind, namespace, name, api_version, field_path) = match self {
            Self::ServiceAccount { namespace, name } => {
                ("ServiceAccount", namespace.as_str(), name, "", "")
            }
            Self::User(name) => ("User", "", name, "", ""),
            Self::Group(name) => ("Group", "", name, "", ""),
            Self::Extra { key, value } => ("UserExtra", "", value, auth_v1, key.as_str()),
            Self::Uid(uid) => ("UID", "", uid, auth_v1, ""),
        };
        write!(
            f,
            "{{{kind} {namespace} {name}  {api_version}  {field_path}}}"
        )
    }
}

/// The impersonation requests of a request's headers, in kube's order:
/// user, groups, extras, uid. Groups, extras or a uid without a user is a
/// bad request.
fn impersonation_requests(headers: &http::HeaderMap) -> Result<Vec<Impersonation>, ApiError> {
    let text = |value: &http::HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned();
    let mut requests = Vec::new();

    let requested_user = headers.get(IMPERSONATE_USER).map(text).unwrap_or_default();
    let has_user = !requested_user.is_empty();
    if has_user {
        requests.push(match split_service_account(&requested_user) {
            Some((namespace, name)) => Impersonation::ServiceAccount {
                namespace: namespace.into(),
                name: name.into(),
            },
            None => Impersonation::User(requested_user),
        });
    }

    let mut has_other = false;
    for group in headers.get_all(IMPERSONATE_GROUP) {
        has_other = true;
        requests.push(Impersonation::Group(text(group)));
    }

    for name in headers.keys() {
        let Some(encoded) = name.as_str().strip_prefix(IMPERSONATE_EXTRA_PREFIX) else {
            continue;
        };
        has_other = true;
        let key = path_unescape(encoded).unwrap_or_else(|| encoded.to_string());
        for value in headers.get_all(name) {
            requests.push(Impersonation::Extra {
                key: key.clone(),
                value: text(value),
            });
        }
    }

    let requested_uid = headers.get(IMPERSONATE_UID).map(text).unwrap_or_default();
    if !requested_uid.is_empty() {
        has_other = true;
        requests.push(Impersonation::Uid(requested_uid));
    }

    if has_other && !has_user {
        let list: Vec<String> = requests.iter().map(ToString::to_string).collect();
        return Err(ApiError::BadRequest(format!(
            "requested [{}] without impersonating a user",
            list.join(" ")
        )));
    }
    Ok(requests)
}

/// `system:serviceaccount:<namespace>:<name>` split as kube's
/// `serviceaccount.SplitUsername`, with both parts valid object names.
fn split_service_account(username: &str) -> Option<(&str, &str)> {
    let rest = username.strip_prefix(SERVICE_ACCOUNT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    (!name.contains(':') && is_dns1123_label(namespace) && is_dns1123_subdomain(name))
        .then_some((namespace, name))
}

/// A DNS-1123 label: the shape of a namespace name.
fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1123 subdomain: the shape of most object names.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Go's `url.PathUnescape`: `%XX` escapes decoded, `None` if malformed.
fn path_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        map
    }

    fn creds() -> Credentials {
        Credentials {
            ca_cert_pem: String::new(),
            server_cert_pem: String::new(),
            server_key_pem: String::new(),
            admin_cert_pem: String::new(),
            admin_key_pem: String::new(),
            admin_token: "admin-token".into(),
            readonly_token: "viewer-token".into(),
            service_account_key_der: Vec::new(),
        }
    }

    /// The user of a certificate or static token.
    fn user_of(credential: Option<Credential>) -> UserInfo {
        match credential {
            Some(Credential::User(user)) => user,
            other => panic!("not a user: {other:?}"),
        }
    }

    fn admin() -> UserInfo {
        UserInfo {
            username: ADMIN_USER.into(),
            groups: vec![SYSTEM_MASTERS.into(), AUTHENTICATED.into()],
            ..UserInfo::default()
        }
    }

    fn viewer() -> UserInfo {
        UserInfo {
            username: VIEWER_USER.into(),
            groups: vec![VIEWERS.into(), AUTHENTICATED.into()],
            ..UserInfo::default()
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tokens_map_to_their_users() {
        let authn = Authenticator::from_credentials(&creds());
        let user = user_of(
            authn
                .authenticate(None, &headers(&[("authorization", "Bearer admin-token")]))
                .expect("authenticated"),
        );
        assert_eq!(user, admin());
        let user = user_of(
            authn
                .authenticate(None, &headers(&[("authorization", "bearer viewer-token")]))
                .expect("authenticated"),
        );
        assert_eq!(user, viewer());
    }

    #[test]
    fn bad_tokens_are_unauthorized() {
        let authn = Authenticator::from_credentials(&creds());
        for value in ["Bearer nope", "Bearer admin-token-x", "Bearer ADMIN-TOKEN"] {
            let err = authn
                .authenticate(None, &headers(&[("authorization", value)]))
                .expect_err(value);
            assert!(matches!(err, ApiError::Unauthorized), "{value}");
            assert_eq!(err.code(), 401);
        }
    }

    #[test]
    fn no_bearer_token_is_anonymous() {
        let authn = Authenticator::from_credentials(&creds());
        for h in [
            headers(&[]),
            headers(&[("authorization", "Basic YWRtaW46YWRtaW4=")]),
            headers(&[("authorization", "Bearer")]),
            headers(&[("authorization", "Bearer  admin-token")]),
        ] {
            assert_eq!(authn.authenticate(None, &h).expect("no error"), None);
        }
    }

    #[test]
    fn new_adds_the_authenticated_group() {
        let authn = Authenticator::new(HashMap::from([(
            "t".to_string(),
            UserInfo {
                username: "bob".into(),
                groups: vec!["devs".into()],
                ..UserInfo::default()
            },
        )]));
        let user = user_of(
            authn
                .authenticate(None, &headers(&[("authorization", "Bearer t")]))
                .expect("ok"),
        );
        assert_eq!(user.groups, strings(&["devs", AUTHENTICATED]));
    }

    #[test]
    fn certificates_map_common_name_and_organizations() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "carol");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "devs");
        let cert = params.self_signed(&key).expect("cert");
        let authn = Authenticator::from_credentials(&creds());
        // The certificate wins over a (even wrong) token.
        let user = user_of(
            authn
                .authenticate(
                    Some(cert.der()),
                    &headers(&[("authorization", "Bearer wrong")]),
                )
                .expect("ok"),
        );
        assert_eq!(user.username, "carol");
        assert_eq!(user.groups, strings(&["devs", AUTHENTICATED]));

        // No common name: fall through to the token.
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let cert = params.self_signed(&key).expect("cert");
        let user = user_of(
            authn
                .authenticate(
                    Some(cert.der()),
                    &headers(&[("authorization", "Bearer viewer-token")]),
                )
                .expect("ok"),
        );
        assert_eq!(user.username, VIEWER_USER);

        assert!(matches!(
            authn.authenticate(Some(b"not a certificate"), &headers(&[])),
            Err(ApiError::Unauthorized)
        ));
    }

    #[test]
    fn no_impersonation_headers_keep_the_user() {
        let user = impersonate(viewer(), &headers(&[("x-other", "1")])).expect("ok");
        assert_eq!(user, viewer());
    }

    #[test]
    fn admin_impersonates_a_user() {
        let user = impersonate(admin(), &headers(&[("impersonate-user", "bob")])).expect("ok");
        assert_eq!(
            user,
            UserInfo {
                username: "bob".into(),
                groups: strings(&[AUTHENTICATED]),
                ..UserInfo::default()
            }
        );
    }

    #[test]
    fn admin_impersonates_user_groups_uid_and_extras() {
        let user = impersonate(
            admin(),
            &headers(&[
                ("impersonate-user", "bob"),
                ("impersonate-group", "devs"),
                ("impersonate-group", "ops"),
                ("impersonate-uid", "1234"),
                ("impersonate-extra-scopes", "view"),
                ("impersonate-extra-scopes", "edit"),
                ("impersonate-extra-example.com%2fteam", "blue"),
                ("impersonate-extra-bad%zz", "x"),
            ]),
        )
        .expect("ok");
        assert_eq!(user.username, "bob");
        assert_eq!(user.uid, "1234");
        assert_eq!(user.groups, strings(&["devs", "ops", AUTHENTICATED]));
        assert_eq!(
            user.extra,
            BTreeMap::from([
                ("scopes".to_string(), strings(&["view", "edit"])),
                ("example.com/team".to_string(), strings(&["blue"])),
                ("bad%zz".to_string(), strings(&["x"])),
            ])
        );
    }

    #[test]
    fn explicit_unauthenticated_group_is_kept_alone() {
        let user = impersonate(
            admin(),
            &headers(&[
                ("impersonate-user", "bob"),
                ("impersonate-group", UNAUTHENTICATED),
            ]),
        )
        .expect("ok");
        assert_eq!(user.groups, strings(&[UNAUTHENTICATED]));
        let user = impersonate(
            admin(),
            &headers(&[
                ("impersonate-user", "bob"),
                ("impersonate-group", AUTHENTICATED),
            ]),
        )
        .expect("ok");
        assert_eq!(user.groups, strings(&[AUTHENTICATED]));
    }

    #[test]
    fn impersonating_anonymous_adds_unauthenticated() {
        let user = impersonate(admin(), &headers(&[("impersonate-user", ANONYMOUS)])).expect("ok");
        assert_eq!(user.username, ANONYMOUS);
        assert_eq!(user.groups, strings(&[UNAUTHENTICATED]));
    }

    #[test]
    fn service_accounts_get_their_groups() {
        let user = impersonate(
            admin(),
            &headers(&[(
                "impersonate-user",
                "system:serviceaccount:kube-system:default",
            )]),
        )
        .expect("ok");
        assert_eq!(user.username, "system:serviceaccount:kube-system:default");
        assert_eq!(
            user.groups,
            strings(&[
                "system:serviceaccounts",
                "system:serviceaccounts:kube-system",
                AUTHENTICATED
            ])
        );
        // Explicit groups replace the service account's.
        let user = impersonate(
            admin(),
            &headers(&[
                ("impersonate-user", "system:serviceaccount:ns1:builder"),
                ("impersonate-group", "devs"),
            ]),
        )
        .expect("ok");
        assert_eq!(user.groups, strings(&["devs", AUTHENTICATED]));
        // Not a valid service account name: an ordinary user.
        let user = impersonate(
            admin(),
            &headers(&[("impersonate-user", "system:serviceaccount:Bad_NS:x")]),
        )
        .expect("ok");
        assert_eq!(user.groups, strings(&[AUTHENTICATED]));
    }

    #[test]
    fn groups_without_a_user_are_rejected() {
        let err =
            impersonate(admin(), &headers(&[("impersonate-group", "devs")])).expect_err("400");
        assert_eq!(err.code(), 400);
        assert_eq!(
            err.to_string(),
            "requested [{Group  devs    }] without impersonating a user"
        );
        let err = impersonate(
            admin(),
            &headers(&[
                ("impersonate-extra-scopes", "view"),
                ("impersonate-uid", "42"),
            ]),
        )
        .expect_err("400");
        assert_eq!(
            err.to_string(),
            "requested [{UserExtra  view  authentication.k8s.io/v1  scopes} {UID  42  authentication.k8s.io/v1  }] without impersonating a user"
        );
    }

    #[test]
    fn only_impersonators_may_impersonate() {
        let forbidden = |user: UserInfo, pairs: &[(&str, &str)]| {
            let err = impersonate(user, &headers(pairs)).expect_err("forbidden");
            assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
            assert_eq!(err.code(), 403);
            err.to_string()
        };
        assert_eq!(
            forbidden(viewer(), &[("impersonate-user", "bob")]),
            r#"users "bob" is forbidden: User "mars-viewer" cannot impersonate resource "users" in API group "" at the cluster scope"#
        );
        assert_eq!(
            forbidden(UserInfo::anonymous(), &[("impersonate-user", "bob")]),
            r#"users "bob" is forbidden: User "system:anonymous" cannot impersonate resource "users" in API group "" at the cluster scope"#
        );
        assert_eq!(
            forbidden(
                viewer(),
                &[("impersonate-user", "system:serviceaccount:default:builder")]
            ),
            r#"serviceaccounts "builder" is forbidden: User "mars-viewer" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "default""#
        );
        let err = impersonate(viewer(), &headers(&[("impersonate-user", "bob")])).expect_err("403");
        assert_eq!(
            err.status()["details"],
            serde_json::json!({"name": "bob", "kind": "users"})
        );
    }

    #[test]
    fn impersonation_checks_name_their_resources() {
        let user = Impersonation::User("bob".into()).attributes();
        assert_eq!(
            (
                user.verb.as_str(),
                user.resource.as_str(),
                user.name.as_str()
            ),
            ("impersonate", "users", "bob")
        );
        let extra = Impersonation::Extra {
            key: "scopes".into(),
            value: "view".into(),
        };
        assert_eq!(
            authz::forbidden_message(&viewer(), &extra.attributes()),
            r#"userextras.authentication.k8s.io "view" is forbidden: User "mars-viewer" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope"#
        );
        assert_eq!(
            authz::forbidden_message(&viewer(), &Impersonation::Uid("42".into()).attributes()),
            r#"uids.authentication.k8s.io "42" is forbidden: User "mars-viewer" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope"#
        );
        assert_eq!(
            authz::forbidden_message(&viewer(), &Impersonation::Group("devs".into()).attributes()),
            r#"groups "devs" is forbidden: User "mars-viewer" cannot impersonate resource "groups" in API group "" at the cluster scope"#
        );
    }

    #[test]
    fn service_account_names_are_validated() {
        assert_eq!(
            split_service_account("system:serviceaccount:ns:sa.name"),
            Some(("ns", "sa.name"))
        );
        for bad in [
            "system:serviceaccount:ns",
            "system:serviceaccount::sa",
            "system:serviceaccount:ns:",
            "system:serviceaccount:ns:a:b",
            "system:serviceaccount:n.s:sa",
            "system:serviceaccount:ns:SA",
            "serviceaccount:ns:sa",
        ] {
            assert_eq!(split_service_account(bad), None, "{bad}");
        }
    }

    #[test]
    fn path_unescape_is_gos() {
        assert_eq!(path_unescape("a%2Fb"), Some("a/b".into()));
        assert_eq!(path_unescape("a+b"), Some("a+b".into()));
        assert_eq!(path_unescape("a%2"), None);
        assert_eq!(path_unescape("a%zz"), None);
    }
}
