//! Authentication: argon2id password hashes, opaque random tokens for
//! sessions and API keys, and the extractors routes use to learn who is
//! calling.
//!
//! Tokens are stored only as SHA-256 digests and looked up by digest: the
//! database compares digests, never secrets, so lookup timing tells an
//! attacker nothing about any stored secret. A leaked catalog holds no
//! usable token.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use shoebox_catalog::{AuthSubject, User};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Cookie the Immich web client and our web UI carry the session token in.
pub const ACCESS_COOKIE: &str = "immich_access_token";

pub fn hash_password(password: &str) -> ApiResult<String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(ApiError::internal)?;
    Argon2::default() // argon2id, v19, the crate's recommended cost
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the email is unknown, so a login for a
/// missing user costs the same time as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such user").expect("hashing a constant works"))
}

pub fn check_new_password(password: &str) -> ApiResult<()> {
    if password.chars().count() < 8 {
        return Err(ApiError::bad_request("The password must be at least 8 characters long"));
    }
    Ok(())
}

/// A new random secret (256 bits, URL-safe) and the digest to store.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let digest = token_digest(&token);
    (token, digest)
}

pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The credential a request presents, in Immich's order of precedence.
fn presented_token(parts: &Parts) -> Option<String> {
    let header_str = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(key) = header_str("x-api-key") {
        return Some(key.trim().to_string());
    }
    if let Some(bearer) = header_str(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer ")) {
        return Some(bearer.trim().to_string());
    }
    if let Some(token) = header_str("x-immich-user-token") {
        return Some(token.trim().to_string());
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == ACCESS_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The authenticated caller. Extracting it rejects anonymous requests with 401.
#[derive(Debug, Clone)]
pub struct Auth(pub AuthSubject);

impl Auth {
    pub fn user(&self) -> &User {
        self.0.user()
    }
    pub fn user_id(&self) -> String {
        self.0.user().id.clone()
    }

    /// The session the request was made with; `None` for an API key.
    pub fn session_id(&self) -> Option<String> {
        match &self.0 {
            AuthSubject::Session { session, .. } => Some(session.id.clone()),
            AuthSubject::ApiKey { .. } => None,
        }
    }

    /// Sessions may do anything their user may; API keys only what they
    /// were granted (Immich permission names such as `asset.upload`).
    pub fn require(&self, permission: &str) -> ApiResult<()> {
        match &self.0 {
            AuthSubject::ApiKey { key, .. } if !key.permissions.iter().any(|p| p == "all" || p == permission) => Err(ApiError::forbidden(
                format!("Missing required permission: {permission}; create an API key that has it"),
            )),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts)
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let digest = token_digest(&token);
        let subject = state.db(move |c| c.authenticate(&digest)).await?;
        subject.map(Auth).ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "Invalid or revoked access token or API key: sign in again",
            )
        })
    }
}

/// An authenticated admin; others get 403.
#[derive(Debug, Clone)]
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        if !auth.user().is_admin {
            return Err(ApiError::forbidden("Only an admin can do this"));
        }
        Ok(AdminAuth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_only_their_digest_is_kept() {
        let (a, da) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(token_digest(&a), da);
        assert_eq!(da.len(), 32);
    }
}
