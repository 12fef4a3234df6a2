//! `authorizer`: an API Gateway (HTTP API, payload 2.0, simple responses) Lambda authorizer
//! that verifies a Cognito access token and hands the handlers the caller's `sub`. It decides
//! nothing about roles: handlers load the caller's current record on every request (docs/rules.md, rule 5).

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `https://cognito-idp.<region>.amazonaws.com/<pool id>`: what tokens carry in `iss`.
    pub issuer: String,
    /// Where the pool's keys are fetched. On AWS `<issuer>/.well-known/jwks.json`; moto serves
    /// them on its own port while still writing the AWS issuer into tokens.
    pub jwks_url: String,
    pub client_id: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("token rejected: {0}")]
    Invalid(String),
    #[error("signing keys unavailable: {0}")]
    Keys(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub sub: String,
    pub username: String,
    /// When Cognito issued the token: handlers refuse tokens older than the user's last
    /// sign-out everywhere (a JWT can't be revoked).
    pub issued_at: i64,
}

impl Identity {
    /// What the handlers read as `requestContext.authorizer.lambda` (see `shared::http::authorized`).
    pub fn context(&self) -> serde_json::Value {
        json!({ "sub": self.sub, "username": self.username, "iat": self.issued_at })
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    token_use: String,
    client_id: String,
    #[serde(default)]
    username: String,
    // Required: every Cognito access token has it, and without it a token's age is unknown.
    iat: i64,
}

/// Keys are refetched at most this often when a token names an unknown `kid` (rotation), so a
/// flood of forged kids can't turn into a flood of JWKS requests.
const REFETCH_AFTER: Duration = Duration::from_secs(60);
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// The JWKS lives on a Cognito endpoint, so the Amazon Trust Services roots are all it needs
/// (see `shared::config::AMAZON_TRUST_SERVICES_PEM` for why not the platform store).
#[allow(
    clippy::expect_used,
    reason = "the roots are a constant compiled in, parsed by every test that builds a Verifier; a bad one is a build defect"
)]
fn amazon_roots_only() -> rustls::ClientConfig {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(shared::config::AMAZON_TRUST_SERVICES_PEM.as_bytes())
    {
        roots
            .add(cert.expect("the bundled roots are valid PEM"))
            .expect("the bundled roots are valid certificates");
    }
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

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

    async fn fetch_keys(&self) -> Result<JwkSet, AuthError> {
        let uri: http::Uri = self
            .settings
            .jwks_url
            .parse()
            .map_err(|e| AuthError::Keys(format!("bad JWKS url: {e}")))?;
        let fetch = async {
            let resp = self
                .client
                .get(uri)
                .await
                .map_err(|e| AuthError::Keys(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(AuthError::Keys(format!("JWKS answered {}", resp.status())));
            }
            let body = Limited::new(resp.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|e| AuthError::Keys(e.to_string()))?
                .to_bytes();
            serde_json::from_slice::<JwkSet>(&body).map_err(|e| AuthError::Keys(e.to_string()))
        };
        tokio::time::timeout(Duration::from_secs(3), fetch)
            .await
            .map_err(|_| AuthError::Keys("JWKS fetch timed out".into()))?
    }

    async fn key_for(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        {
            let guard = self.keys.read().await;
            if let Some((set, fetched)) = guard.as_ref() {
                if let Some(jwk) = set.find(kid) {
                    return DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Keys(e.to_string()));
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
            Some(k) => k.map_err(|e| AuthError::Keys(e.to_string())),
            None => Err(AuthError::Invalid("unknown signing key".into())),
        }
    }

    /// Signature (RS256 against the pool's JWKS), issuer, expiry, `token_use = access` and the
    /// app client.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
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
        Ok(Identity {
            sub: claims.sub,
            username: claims.username,
            issued_at: claims.iat,
        })
    }
}

/// The token from `Authorization: Bearer <jwt>` (scheme case-insensitive).
pub fn bearer(headers: &http::HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AuthError::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token.trim())
}

/// Verifies the request's token; never logs it.
pub async fn authorize(
    verifier: &Verifier,
    headers: &http::HeaderMap,
) -> Result<Identity, AuthError> {
    let token = bearer(headers)?;
    verifier.verify(token).await
}

/// A token that fails verification is denied. A failure to get the signing keys is not a
/// verdict on the token: it ends the invocation with an error, because API Gateway caches a
/// deny per token for `ReauthorizeEvery` (five minutes) and would lock the caller out long
/// after the key fetch recovered; an error is answered once (500) and not cached.
pub async fn handle(
    verifier: &Verifier,
    event: ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, AuthError> {
    let mut resp = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    match authorize(verifier, &event.headers).await {
        Ok(id) => {
            resp.is_authorized = true;
            resp.context = id.context();
        }
        Err(e @ AuthError::Keys(_)) => {
            tracing::error!(error = %e, "authorizer cannot verify");
            return Err(e);
        }
        Err(e) => {
            tracing::info!(reason = %e, "request not authorized");
            resp.is_authorized = false;
            resp.context = json!({});
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_authorization_header_yields_a_token() {
        let mut h = http::HeaderMap::new();
        assert_eq!(bearer(&h), Err(AuthError::Missing));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), Err(AuthError::Missing));
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), Err(AuthError::Missing));
        h.insert("authorization", "bearer abc.def.ghi".parse().unwrap());
        assert_eq!(bearer(&h), Ok("abc.def.ghi"));
    }

    #[tokio::test]
    async fn garbage_and_unsigned_tokens_are_refused_without_fetching_keys() {
        let v = Verifier::new(Settings {
            issuer: "https://issuer.example".into(),
            jwks_url: "http://127.0.0.1:9/jwks.json".into(),
            client_id: "c".into(),
        });
        assert!(matches!(
            v.verify("garbage").await,
            Err(AuthError::Invalid(_))
        ));
        // {"alg":"none"} . {"sub":"x"} . (no signature)
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        assert!(matches!(v.verify(none).await, Err(AuthError::Invalid(_))));
        // HS256 with a kid: refused by algorithm before any key lookup.
        let hs = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(
            v.verify(hs).await,
            Err(AuthError::Invalid("algorithm must be RS256".into()))
        );
    }

    fn request_with(token: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
        let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
        event
            .headers
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        event
    }

    #[tokio::test]
    async fn unreachable_keys_end_the_invocation_with_an_error_not_a_cached_deny() {
        let v = Verifier::new(Settings {
            issuer: "https://issuer.example".into(),
            // A closed loopback port: the key fetch fails at once.
            jwks_url: "http://127.0.0.1:9/jwks.json".into(),
            client_id: "c".into(),
        });
        // {"alg":"RS256","kid":"k"} . {"sub":"x"} . sig: well formed, so its key is needed.
        let rs = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln";
        assert!(matches!(
            handle(&v, request_with(rs)).await,
            Err(AuthError::Keys(_))
        ));
        // A token refused on its own is still a deny.
        let denied = handle(&v, request_with("garbage")).await.unwrap();
        assert!(!denied.is_authorized);
        let none = handle(&v, ApiGatewayV2CustomAuthorizerV2Request::default())
            .await
            .unwrap();
        assert!(!none.is_authorized);
    }
}
