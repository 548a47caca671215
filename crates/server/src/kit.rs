//! The emergency kit: what the owner needs to restore the off-site backup
//! once the box is gone (the repository's address and its key, printed or
//! saved as a PDF by the web UI). The key itself is only ever in the
//! storage service's root-only file and in the kit; this records which key
//! the newest kit holds (a fingerprint) and whether the owner confirmed
//! keeping it, which the alerts check until they do.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shoebox_catalog::{Millis, now_millis};

use crate::dto::iso;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const SETTING: &str = "backup.kit";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Kit {
    pub repository: String,
    /// The key's fingerprint, printed on the kit so kits can be told apart.
    pub key_id: String,
    pub created_at: Millis,
    pub confirmed_at: Option<Millis>,
}

/// The first 8 bytes of the key's SHA-256, as four groups of hex digits:
/// enough to tell kits apart, nothing towards guessing the key.
pub fn key_id(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest[..8].chunks(2).map(hex::encode).collect::<Vec<_>>().join("-")
}

/// Notes a new kit for `repository` and `key`, not yet confirmed.
pub async fn record(state: &AppState, repository: &str, key: &str) -> ApiResult<Kit> {
    let kit = Kit {
        repository: repository.to_string(),
        key_id: key_id(key),
        created_at: now_millis(),
        confirmed_at: None,
    };
    state.set_json_setting(SETTING, &kit).await?;
    Ok(kit)
}

pub async fn current(state: &AppState) -> ApiResult<Option<Kit>> {
    state.json_setting(SETTING).await
}

/// The owner says they kept the kit with fingerprint `key_id`; an older
/// kit's fingerprint is refused, since its key no longer opens anything.
pub async fn confirm(state: &AppState, key_id: &str) -> ApiResult<Kit> {
    let mut kit = current(state)
        .await?
        .ok_or_else(|| ApiError::bad_request("There is no emergency kit yet: set up the off-site backup first"))?;
    if kit.key_id != key_id {
        return Err(ApiError::bad_request(format!(
            "That kit ({key_id}) is not the newest: keep the kit with key fingerprint {}",
            kit.key_id
        )));
    }
    kit.confirmed_at.get_or_insert_with(now_millis);
    state.set_json_setting(SETTING, &kit).await?;
    Ok(kit)
}

pub fn json(kit: &Kit) -> Value {
    json!({
        "repository": kit.repository, "keyId": kit.key_id,
        "createdAt": iso(kit.created_at), "confirmedAt": kit.confirmed_at.map(iso),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_fingerprint_is_short_stable_and_tells_keys_apart() {
        let id = key_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        assert_eq!(id.len(), 19, "{id}");
        assert_eq!(id.matches('-').count(), 3, "{id}");
        assert_eq!(id, key_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        assert_ne!(id, key_id("another key"));
    }
}
