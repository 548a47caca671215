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
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use rand::Rng;
use sha2::{Digest, Sha256};
use shoebox_catalog::{AuthSubject, SharedLink, User};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Cookie the Immich web client and our web UI carry the session token in.
pub const ACCESS_COOKIE: &str = "immich_access_token";

pub fn hash_password(password: &str) -> ApiResult<String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
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

/// A new random secret and the digest to store: 43 letters and digits
/// (256 bits), as Immich's keys are. Nothing else, so a key pasted on a
/// command line can never start with a `-` and pass for an option.
pub fn new_token() -> (String, Vec<u8>) {
    let token: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(43)
        .map(char::from)
        .collect();
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
    cookie(parts, ACCESS_COOKIE)
}

fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
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
        self.session().map(|s| s.id.clone())
    }

    /// The login session signed in with, `None` for an API key.
    pub fn session(&self) -> Option<&shoebox_catalog::Session> {
        match &self.0 {
            AuthSubject::Session { session, .. } => Some(session),
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

/// The setup wizard's door: an admin, or anyone while the box has no
/// admin yet (the same trust as `POST /api/auth/admin-sign-up`), so that
/// a blank box can be given disks and a library restored from backup
/// before any account exists.
#[derive(Debug, Clone)]
pub struct SetupAccess;

impl FromRequestParts<AppState> for SetupAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if !state.db(|c| c.has_admin()).await? {
            return Ok(SetupAccess);
        }
        AdminAuth::from_request_parts(parts, state).await.map(|_| SetupAccess)
    }
}

/// Cookie a shared-link visitor who gave the link's password carries.
pub const SHARED_LINK_COOKIE: &str = "immich_shared_link_token";

#[derive(serde::Deserialize, Default)]
struct LinkQuery {
    key: Option<String>,
    slug: Option<String>,
}

/// Who may read: a signed-in user, or a visitor holding a shared link
/// (`?key=` or `?slug=`, as the Immich web and apps send them). A link
/// that has expired, or whose password the visitor has not given, admits
/// nobody.
#[derive(Debug, Clone)]
pub enum Access {
    User(Auth),
    Link(SharedLink),
}

/// The link a request names (`?key=`, `?slug=` or the `x-immich-share-key`
/// header), found and unexpired.
async fn named_link(parts: &Parts, state: &AppState) -> Result<Option<SharedLink>, ApiError> {
    let q = axum::extract::Query::<LinkQuery>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let key = q.key.or_else(|| {
        parts
            .headers
            .get("x-immich-share-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    if key.is_none() && q.slug.is_none() {
        return Ok(None);
    }
    let digest = key.as_deref().map(token_digest);
    let link = state
        .db(move |c| c.find_shared_link(digest.as_deref(), q.slug.as_deref()))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid share key: ask for a new link"))?;
    if link.settings.expires_at.is_some_and(|t| t <= shoebox_catalog::now_millis()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "This shared link has expired: ask its owner for a new one",
        ));
    }
    Ok(Some(link))
}

/// A link with a password admits only visitors who gave it.
async fn admitted(parts: &Parts, state: &AppState, link: &SharedLink) -> Result<(), ApiError> {
    if link.settings.password_hash.is_none() {
        return Ok(());
    }
    if let Some(digest) = cookie(parts, SHARED_LINK_COOKIE).map(|t| token_digest(&t)) {
        let id = link.id.clone();
        if state.db(move |c| c.shared_link_session_valid(&id, &digest)).await? {
            return Ok(());
        }
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Password required: enter the link's password",
    ))
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match named_link(parts, state).await? {
            Some(link) => {
                admitted(parts, state, &link).await?;
                Ok(Access::Link(link))
            }
            None => Auth::from_request_parts(parts, state).await.map(Access::User),
        }
    }
}

/// The shared link a request names, before its password is given: what
/// the password form itself needs.
pub struct NamedLink(pub SharedLink);

impl FromRequestParts<AppState> for NamedLink {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        named_link(parts, state)
            .await?
            .map(NamedLink)
            .ok_or_else(|| ApiError::bad_request("key or slug is required: open the link you were given"))
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
        assert!(a.len() == 43 && a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_eq!(token_digest(&a), da);
        assert_eq!(da.len(), 32);
    }
}
