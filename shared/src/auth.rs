//! Who is calling: the Cognito access token in `Authorization: Bearer …`, verified by the
//! function itself (no gateway authorizer), so a refused credential answers the same 401
//! problem on every gateway: in-process, `sam local` and AWS (docs/rules.md, rule 12).
//!
//! The pool's signing keys are fetched once per container and kept; a token naming a key we
//! don't hold refetches at most once a minute (rotation), so forged key ids can't turn into a
//! flood of fetches. A failed fetch is not a verdict on the token: the request answers 503 and
//! the next one tries again, so a signing-key outage never locks anyone out for longer than
//! it lasts. Roles and status are not in the token: every request re-reads the caller
//! (rule 5), which also refuses a token issued before a suspension or sign-out.

use crate::domain::{Cause, UserId};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// Keys are refetched at most this often when a token names an unknown `kid` (rotation).
const REFETCH_AFTER: Duration = Duration::from_secs(60);
const MAX_JWKS_BYTES: usize = 64 * 1024;
/// A key fetch gives up after this; the request then answers 503 inside its own deadline.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct Settings {
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`: what tokens carry in `iss`.
    pub issuer: String,
    /// Where the pool's keys are fetched. On AWS `<issuer>/.well-known/jwks.json`; moto serves
    /// them on its own port while still writing the AWS issuer into tokens.
    pub jwks_url: String,
    pub client_id: String,
}

impl Settings {
    /// `TOKEN_ISSUER`, `USER_POOL_CLIENT_ID`, and `JWKS_URL` (empty or unset: the issuer's).
    pub fn from_env() -> Result<Settings, crate::config::ConfigError> {
        let issuer = crate::config::env("TOKEN_ISSUER")?;
        Ok(Settings {
            jwks_url: crate::config::env("JWKS_URL")
                .unwrap_or_else(|_| format!("{issuer}/.well-known/jwks.json")),
            issuer,
            client_id: crate::config::env("USER_POOL_CLIENT_ID")?,
        })
    }
}

/// Why no caller could be established.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header at all (RFC 6750: answered without an error code).
    #[error("no credential sent")]
    Missing,
    /// A credential was sent and is not one we accept: malformed, forged, expired, for
    /// another client or pool, or not an access token.
    #[error("credential refused: {0}")]
    Invalid(String),
    /// The pool's keys could not be read: nothing is known about the token.
    #[error("signing keys unavailable")]
    Keys(#[source] Cause),
}

/// A verified access token's subject and when Cognito issued it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub sub: UserId,
    /// Handlers refuse tokens older than the user's last sign-out everywhere (a JWT can't be
    /// recalled).
    pub issued_at: i64,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    token_use: String,
    client_id: String,
    // Required: every Cognito access token has it, and without it a token's age is unknown.
    iat: i64,
}

/// The JWKS lives on a Cognito endpoint, so the Amazon Trust Services roots are all it needs
/// (see `config::AMAZON_TRUST_SERVICES_PEM` for why not the platform store), as DER.
#[allow(
    clippy::expect_used,
    reason = "the roots are a constant compiled in, parsed by every test that builds a Verifier; a bad one is a build defect"
)]
fn amazon_roots_only() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for der in crate::config::AMAZON_TRUST_SERVICES_DER {
        roots
            .add(rustls::pki_types::CertificateDer::from(der))
            .expect("the bundled roots are valid certificates");
    }
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Verifies access tokens for one pool and app client; one per container, shared by its
/// requests (the keys it caches are the container's).
pub struct Verifier {
    settings: Settings,
    client: Client<Https, Empty<bytes::Bytes>>,
    keys: RwLock<Option<(JwkSet, Instant)>>,
}

impl Verifier {
    pub fn new(settings: Settings) -> Verifier {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(amazon_roots_only())
            .https_or_http()
            .enable_http1()
            .build();
        Verifier {
            settings,
            client: Client::builder(TokioExecutor::new()).build(https),
            keys: RwLock::new(None),
        }
    }

    /// As deployed: the pool and client Lambda's environment names.
    pub fn from_env() -> Result<Verifier, crate::config::ConfigError> {
        Ok(Verifier::new(Settings::from_env()?))
    }

    async fn fetch_keys(&self) -> Result<JwkSet, AuthError> {
        let uri: http::Uri = self
            .settings
            .jwks_url
            .parse()
            .map_err(|e| AuthError::Keys(Cause::new(e)))?;
        let fetch = async {
            let resp = self
                .client
                .get(uri)
                .await
                .map_err(|e| AuthError::Keys(Cause::new(e)))?;
            if !resp.status().is_success() {
                let why = format!("the JWKS endpoint answered {}", resp.status());
                return Err(AuthError::Keys(why.into()));
            }
            let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| AuthError::Keys(e.to_string().into()))?
                .to_bytes();
            serde_json::from_slice::<JwkSet>(&body).map_err(|e| AuthError::Keys(Cause::new(e)))
        };
        tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| AuthError::Keys("the JWKS fetch timed out".into()))?
    }

    async fn key_for(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        {
            let guard = self.keys.read().await;
            if let Some((set, fetched)) = guard.as_ref() {
                if let Some(jwk) = set.find(kid) {
                    return DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Keys(Cause::new(e)));
                }
                if fetched.elapsed() < REFETCH_AFTER {
                    return Err(AuthError::Invalid("unknown signing key".into()));
                }
            }
        }
        let mut guard = self.keys.write().await;
        let set = self.fetch_keys().await?;
        let found = set.find(kid).map(DecodingKey::from_jwk);
        *guard = Some((set, Instant::now()));
        match found {
            Some(k) => k.map_err(|e| AuthError::Keys(Cause::new(e))),
            None => Err(AuthError::Invalid("unknown signing key".into())),
        }
    }

    /// Signature (RS256 against the pool's JWKS), issuer, expiry, `token_use = access` and the
    /// app client. Nothing about the token is logged.
    pub async fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let header = decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("algorithm must be RS256".into()));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("no key id".into()))?;
        let key = self.key_for(&kid).await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.settings.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        v.validate_aud = false; // access tokens carry `client_id`, checked below
        v.leeway = 30;
        let claims = decode::<Claims>(token, &key, &v)
            .map_err(|e| AuthError::Invalid(e.to_string()))?
            .claims;
        if claims.token_use != "access" {
            return Err(AuthError::Invalid("not an access token".into()));
        }
        if claims.client_id != self.settings.client_id {
            return Err(AuthError::Invalid("token from another app client".into()));
        }
        let sub = UserId::parse(&claims.sub)
            .ok_or_else(|| AuthError::Invalid("subject is not a user id".into()))?;
        Ok(Verified {
            sub,
            issued_at: claims.iat,
        })
    }

    /// The request's credential, verified: absent, refused, or its subject.
    pub async fn check(&self, headers: &http::HeaderMap) -> Result<Verified, AuthError> {
        let token = bearer(headers)?;
        self.verify(token).await
    }
}

/// The token from `Authorization: Bearer <jwt>` (scheme case-insensitive). No header, or one
/// of another scheme (`Basic …`), is no bearer credential at all: RFC 6750 section 3.1 has the
/// challenge then carry no error code. A bearer header without a usable token is a refused one.
pub fn bearer(headers: &http::HeaderMap) -> Result<&str, AuthError> {
    let Some(raw) = headers.get(http::header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let malformed = || AuthError::Invalid("not a bearer token".into());
    let value = raw.to_str().map_err(|_| malformed())?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    match token.trim() {
        "" => Err(malformed()),
        token => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> Verifier {
        Verifier::new(Settings {
            issuer: "https://issuer.example".into(),
            // A closed loopback port: a key fetch fails at once.
            jwks_url: "http://127.0.0.1:9/jwks.json".into(),
            client_id: "c".into(),
        })
    }

    #[test]
    fn no_bearer_header_is_missing_and_a_bearer_header_without_a_token_is_refused() {
        let mut h = http::HeaderMap::new();
        assert!(matches!(bearer(&h), Err(AuthError::Missing)));
        for other in ["Basic abc", "token abc", "Digest", ""] {
            h.insert("authorization", other.parse().unwrap());
            assert!(matches!(bearer(&h), Err(AuthError::Missing)), "{other:?}");
        }
        for refused in ["Bearer ", "Bearer", " bearer  "] {
            h.insert("authorization", refused.parse().unwrap());
            assert!(
                matches!(bearer(&h), Err(AuthError::Invalid(_))),
                "{refused:?}"
            );
        }
        h.insert(
            "authorization",
            http::HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        assert!(matches!(bearer(&h), Err(AuthError::Invalid(_))));
        h.insert("authorization", "bearer abc.def.ghi".parse().unwrap());
        assert_eq!(bearer(&h).unwrap(), "abc.def.ghi");
    }

    #[tokio::test]
    async fn garbage_and_unsigned_tokens_are_refused_without_fetching_keys() {
        let v = verifier();
        assert!(matches!(
            v.verify("garbage").await,
            Err(AuthError::Invalid(_))
        ));
        // {"alg":"none"} . {"sub":"x"} . (no signature)
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        assert!(matches!(v.verify(none).await, Err(AuthError::Invalid(_))));
        // HS256 with a kid: refused by algorithm before any key lookup.
        let hs = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln";
        assert!(matches!(
            v.verify(hs).await,
            Err(AuthError::Invalid(why)) if why == "algorithm must be RS256"
        ));
    }

    #[tokio::test]
    async fn unreachable_keys_are_no_verdict_on_the_token() {
        let v = verifier();
        // {"alg":"RS256","kid":"k"} . {"sub":"x"} . sig: well formed, so its key is needed.
        let rs = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln";
        assert!(matches!(v.verify(rs).await, Err(AuthError::Keys(_))));
        // Nothing was cached by the failure: the next request tries the fetch again.
        assert!(v.keys.read().await.is_none());
    }
}
