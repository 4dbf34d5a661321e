//! Bound service-account tokens: the JWTs the `serviceaccounts/token`
//! subresource issues (`kubectl create token`) and the authenticator
//! accepts.
//!
//! Tokens are ES256 JWTs with kube's claims (`iss`, `sub`, `aud`, `exp`,
//! `iat`, `nbf`, `jti` and the private `kubernetes.io` claim naming the
//! service account and the object the token is bound to). Verifying the
//! signature, lifetime and audience is pure and lives here; whether the
//! service account and bound object still exist is checked by the caller
//! against the store, as kube's `validator` does.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};

/// The issuer and default audience, as kube-apiserver's defaults in
/// kubeadm clusters (`--service-account-issuer`, `--api-audiences`).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The private claim naming the service account and the bound object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubernetesClaim {
    pub namespace: String,
    pub serviceaccount: Ref,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Ref>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Ref>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Ref>,
}

/// A name and uid, as the claims carry them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ref {
    pub name: String,
    pub uid: String,
}

/// The claims of a service-account token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaim,
}

/// Why a token was not accepted. The authenticator answers 401 either
/// way; the reason goes to the log, never to the client.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("signed by another key")]
    BadSignature,
    #[error("issued by {0:?}")]
    WrongIssuer(String),
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("meant for other audiences {0:?}")]
    WrongAudience(Vec<String>),
    #[error("cannot sign: {0}")]
    Signing(String),
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

/// The key that signs and verifies tokens.
pub struct TokenSigner {
    key: EcdsaKeyPair,
    key_id: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer over a PKCS#8 DER P-256 key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, TokenError> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        // kube's key id: the unpadded base64url SHA-256 of the public key.
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        Ok(Self {
            key_id: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            key,
            rng,
        })
    }

    /// The signed JWT of `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let header = Header {
            alg: "ES256".into(),
            kid: self.key_id.clone(),
        };
        let signing_input = format!("{}.{}", segment(&header)?, segment(claims)?);
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// The claims of `token` if this key signed it, it is current at
    /// `now` (unix seconds) and it is meant for `audience`.
    pub fn verify(&self, token: &str, audience: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| TokenError::Malformed)
        };
        let parsed: Header =
            serde_json::from_slice(&decode(header)?).map_err(|_| TokenError::Malformed)?;
        if parsed.alg != "ES256" {
            return Err(TokenError::BadSignature);
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.key.public_key().as_ref())
            .verify(signing_input.as_bytes(), &decode(signature)?)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims =
            serde_json::from_slice(&decode(payload)?).map_err(|_| TokenError::Malformed)?;
        if claims.iss != ISSUER {
            return Err(TokenError::WrongIssuer(claims.iss));
        }
        // kube allows a minute of clock skew on both ends.
        if now > claims.exp + LEEWAY {
            return Err(TokenError::Expired);
        }
        if now + LEEWAY < claims.nbf {
            return Err(TokenError::NotYetValid);
        }
        if !claims.aud.iter().any(|a| a == audience) {
            return Err(TokenError::WrongAudience(claims.aud));
        }
        Ok(claims)
    }
}

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY: i64 = 60;

/// One base64url JSON segment of a JWT.
fn segment(value: &impl Serialize) -> Result<String, TokenError> {
    let json = serde_json::to_vec(value).map_err(|e| TokenError::Signing(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            sub: "system:serviceaccount:default:builder".into(),
            aud: vec![ISSUER.into()],
            exp: now + 3600,
            iat: now,
            nbf: now,
            jti: "5f0c".into(),
            kubernetes: KubernetesClaim {
                namespace: "default".into(),
                serviceaccount: Ref {
                    name: "builder".into(),
                    uid: "sa-uid".into(),
                },
                pod: Some(Ref {
                    name: "web-0".into(),
                    uid: "pod-uid".into(),
                }),
                secret: None,
                node: None,
            },
        }
    }

    fn signer() -> TokenSigner {
        let key = rcgen::KeyPair::generate().expect("key");
        TokenSigner::from_pkcs8(&key.serialize_der()).expect("signer")
    }

    #[test]
    fn a_signed_token_verifies_with_its_claims() {
        let signer = signer();
        let token = signer.sign(&claims(1000)).expect("signed");
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(signer.verify(&token, ISSUER, 1000), Ok(claims(1000)));
    }

    #[test]
    fn another_key_a_changed_payload_or_garbage_is_refused() {
        let token = signer().sign(&claims(1000)).expect("signed");
        assert_eq!(
            signer().verify(&token, ISSUER, 1000),
            Err(TokenError::BadSignature)
        );
        let signer = signer();
        let token = signer.sign(&claims(1000)).expect("signed");
        let mut forged = claims(1000);
        forged.sub = "system:serviceaccount:kube-system:admin".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(
            signer.verify(&tampered, ISSUER, 1000),
            Err(TokenError::BadSignature)
        );
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(
                signer.verify(garbage, ISSUER, 1000),
                Err(TokenError::Malformed)
            );
        }
    }

    #[test]
    fn lifetime_and_audience_are_enforced() {
        let signer = signer();
        let token = signer.sign(&claims(1000)).expect("signed");
        assert!(signer.verify(&token, ISSUER, 1000 + 3600 + 60).is_ok());
        assert_eq!(
            signer.verify(&token, ISSUER, 1000 + 3600 + 61),
            Err(TokenError::Expired)
        );
        assert_eq!(
            signer.verify(&token, ISSUER, 1000 - 61),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            signer.verify(&token, "vault", 1000),
            Err(TokenError::WrongAudience(vec![ISSUER.into()]))
        );
    }
}
