//! Disks, pool, snapshots and backup (`/api/shoebox/storage/...`, admin
//! only): every call goes to shoebox-storaged over D-Bus, since this
//! process never runs as root.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_storaged::backup_disks::BackupDisk;

use crate::auth::{AdminAuth, SetupAccess};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::restore::{Outcome, Snapshot};
use crate::state::AppState;
use crate::storage_service::{storage, unavailable};
use crate::{drill, kit};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shoebox/storage/disks", get(disks))
        .route("/shoebox/storage/backup-disks", get(backup_disks))
        .route("/shoebox/storage/pool", get(pool).post(create_pool))
        .route("/shoebox/storage/pool/plan", post(plan_pool))
        .route("/shoebox/storage/pool/scrub", post(scrub))
        .route("/shoebox/storage/snapshots", get(snapshots).post(snapshot_now))
        .route("/shoebox/storage/backup", get(backup_status).put(configure_backup))
        .route("/shoebox/storage/backup/run", post(backup_now))
        .route("/shoebox/storage/backup/key", post(change_key))
        .route("/shoebox/storage/backup/kit/confirm", post(confirm_kit))
        .route(
            "/shoebox/storage/backup/drill",
            get(drill_status).post(drill_now).put(drill_schedule),
        )
        .route("/shoebox/storage/snapshots/{name}/assets", get(snapshot_assets))
        .route("/shoebox/storage/snapshots/{name}/restore", post(restore))
}

async fn disks(State(state): State<AppState>, _setup: SetupAccess) -> ApiResult<Json<Vec<Value>>> {
    let disks = storage(&state).await?.list_disks().await.map_err(unavailable)?;
    Ok(Json(
        disks
            .into_iter()
            .map(|d| {
                json!({
                    "path": d.path, "model": d.model, "serial": d.serial, "sizeBytes": d.size_bytes,
                    "transport": d.transport, "blank": d.blank, "system": d.system,
                    "inPool": d.in_pool, "smart": d.smart,
                })
            })
            .collect(),
    ))
}

/// Disks outside the pool (USB disks) to restore from or back up to,
/// mounted by the storage service, with the backups found on each.
async fn backup_disks(State(state): State<AppState>, _setup: SetupAccess) -> ApiResult<Json<Vec<BackupDisk>>> {
    let disks = storage(&state).await?.list_backup_disks().await.map_err(unavailable)?;
    Ok(Json(disks))
}

/// The pool's health: members, errors, profiles, the last scrub and what is running.
async fn pool(State(state): State<AppState>, _setup: SetupAccess) -> ApiResult<Json<Value>> {
    let p = storage(&state).await?.pool_status().await.map_err(unavailable)?;
    let devices: Vec<Value> = p
        .devices
        .iter()
        .map(|d| json!({ "devid": d.devid, "path": d.path, "sizeBytes": d.size_bytes, "missing": d.missing, "errors": d.errors }))
        .collect();
    Ok(Json(json!({
        "present": p.present, "uuid": p.uuid, "mounted": p.mounted, "degraded": p.degraded,
        "dataProfile": p.data_profile, "metadataProfile": p.metadata_profile,
        "sizeBytes": p.size_bytes, "usedBytes": p.used_bytes, "devices": devices,
        "scrub": { "state": p.scrub.state, "started": p.scrub.started, "errors": p.scrub.errors, "corrected": p.scrub.corrected },
        "activity": p.activity, "lastError": p.last_error,
    })))
}

async fn scrub(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<StatusCode> {
    storage(&state).await?.start_scrub().await.map_err(unavailable)?;
    Ok(StatusCode::ACCEPTED)
}

fn snapshot_json(s: &shoebox_storaged::snapshots::Snapshot) -> Value {
    let created = chrono::DateTime::from_timestamp(s.created, 0).unwrap_or_default();
    json!({ "name": s.name, "createdAt": created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "trigger": s.trigger })
}

async fn snapshots(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    let list = storage(&state).await?.list_snapshots().await.map_err(unavailable)?;
    Ok(Json(list.iter().map(snapshot_json).collect()))
}

/// A snapshot on demand; 409 when there is no pool to snapshot.
async fn snapshot_now(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<(StatusCode, Json<Value>)> {
    let storage = storage(&state).await?;
    let name = storage.snapshot_now("ui").await.map_err(unavailable)?;
    if name.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "There is no storage pool to snapshot: create one on the storage page first",
        ));
    }
    let list = storage.list_snapshots().await.map_err(unavailable)?;
    let taken = list
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ApiError::internal("the new snapshot is not listed"))?;
    Ok((StatusCode::CREATED, Json(snapshot_json(taken))))
}

/// Every asset a snapshot holds, and whether the library still has it.
async fn snapshot_assets(State(state): State<AppState>, _admin: AdminAuth, Path(name): Path<String>) -> ApiResult<Json<Vec<Value>>> {
    let (live, layout) = (state.catalog.clone(), state.layout.clone());
    let listed = tokio::task::spawn_blocking(move || -> ApiResult<Vec<Value>> {
        let snapshot = Snapshot::open(&layout, &name)?;
        let mut listed = Vec::new();
        for user in snapshot.catalog.users()? {
            let assets = snapshot.catalog.owner_assets(&user.id, false, i64::MAX, 0)?;
            let checksums: Vec<Vec<u8>> = assets.iter().map(|a| a.checksum.clone()).collect();
            let present = live.find_checksums(&user.id, &checksums)?;
            listed.extend(assets.iter().map(|a| {
                json!({
                    "id": a.id, "ownerId": a.owner_id, "originalFileName": a.original_file_name,
                    "type": a.kind.as_str(), "fileCreatedAt": crate::dto::iso(a.file_created_at),
                    "inLibrary": present.contains_key(&a.checksum),
                })
            }));
        }
        Ok(listed)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(listed))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestoreRequest {
    #[serde(default)]
    asset_ids: Vec<String>,
    album_id: Option<String>,
}

/// Copies assets, or a whole album, from a snapshot back into the library.
async fn restore(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(name): Path<String>,
    Json(request): Json<RestoreRequest>,
) -> ApiResult<Json<Value>> {
    if request.asset_ids.is_empty() && request.album_id.is_none() {
        return Err(ApiError::bad_request("Name what to restore: assetIds, albumId, or both"));
    }
    let (live, layout) = (state.catalog.clone(), state.layout.clone());
    let (album_id, outcomes) = tokio::task::spawn_blocking(move || -> ApiResult<_> {
        let snapshot = Snapshot::open(&layout, &name)?;
        let mut outcomes = snapshot.restore(&live, &layout, &request.asset_ids);
        let album_id = match &request.album_id {
            Some(id) => {
                let (album_id, album_outcomes) = snapshot.restore_album(&live, &layout, id)?;
                outcomes.extend(album_outcomes);
                Some(album_id)
            }
            None => None,
        };
        Ok((album_id, outcomes))
    })
    .await
    .map_err(ApiError::internal)??;
    state.jobs.wake();
    let results: Vec<Value> = outcomes
        .into_iter()
        .map(|(id, outcome)| match outcome {
            Outcome::Restored(asset_id) => json!({ "id": id, "status": "restored", "assetId": asset_id }),
            Outcome::Present(asset_id) => json!({ "id": id, "status": "present", "assetId": asset_id }),
            Outcome::Failed(error) => json!({ "id": id, "status": "failed", "error": error }),
        })
        .collect();
    Ok(Json(json!({ "albumId": album_id, "results": results })))
}

async fn backup_status(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    let b = storage(&state).await?.backup_status().await.map_err(unavailable)?;
    let finished = (b.last.finished > 0).then(|| {
        chrono::DateTime::from_timestamp(b.last.finished, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    let kit = kit::current(&state).await?.filter(|k| b.configured && k.repository == b.repository);
    Ok(Json(json!({
        "configured": b.configured, "repository": b.repository, "running": b.running,
        "kit": kit.as_ref().map(kit::json),
        "doneBytes": b.done_bytes, "totalBytes": b.total_bytes,
        "last": finished.map(|at| json!({
            "finishedAt": at, "ok": b.last.ok, "error": b.last.message,
            "snapshotId": b.last.snapshot_id, "files": b.last.files, "bytes": b.last.bytes,
        })),
    })))
}

/// The last restore drill, whether one runs, and when the next is due.
async fn drill_status(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    let (last, every) = (drill::last(&state).await?, drill::every_days(&state).await?);
    let next = drill::next_due(last.as_ref(), every).max(shoebox_catalog::now_millis());
    Ok(Json(json!({
        "running": drill::running(&state),
        "everyDays": every,
        "nextAt": crate::dto::iso(next),
        "last": last.map(|d| json!({
            "startedAt": crate::dto::iso(d.started_at), "finishedAt": crate::dto::iso(d.finished_at),
            "ok": d.ok, "backupId": d.backup_id,
            "backupCreatedAt": (d.backup_created_at > 0).then(|| crate::dto::iso(d.backup_created_at)),
            "assets": d.findings.assets, "bytes": d.findings.bytes,
            "problems": d.findings.problems, "problemCount": d.findings.problem_count, "error": d.error,
        })),
    })))
}

/// Starts a restore drill now.
async fn drill_now(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<(StatusCode, Json<Value>)> {
    drill::start(&state)?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "running": true }))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DrillSchedule {
    every_days: u32,
}

async fn drill_schedule(State(state): State<AppState>, admin: AdminAuth, Json(s): Json<DrillSchedule>) -> ApiResult<Json<Value>> {
    drill::set_every_days(&state, s.every_days).await?;
    drill_status(State(state), admin).await
}

#[derive(Deserialize)]
struct BackupTarget {
    repository: String,
    #[serde(default)]
    password: String,
}

/// Sets the off-site repository; answers with its key and the emergency
/// kit that holds it, which the owner must keep.
async fn configure_backup(State(state): State<AppState>, _admin: AdminAuth, Json(target): Json<BackupTarget>) -> ApiResult<Json<Value>> {
    let password = storage(&state)
        .await?
        .configure_backup(&target.repository, &target.password)
        .await
        .map_err(unavailable)?;
    new_kit(&state, &target.repository, &password).await
}

/// A new key for the repository (the old one stops working): a new kit.
async fn change_key(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    let storage = storage(&state).await?;
    let password = storage.change_backup_key().await.map_err(unavailable)?;
    let repository = storage.backup_status().await.map_err(unavailable)?.repository;
    new_kit(&state, &repository, &password).await
}

async fn new_kit(state: &AppState, repository: &str, password: &str) -> ApiResult<Json<Value>> {
    let kit = kit::record(state, repository, password).await?;
    Ok(Json(
        json!({ "repository": repository, "password": password, "kit": kit::json(&kit) }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KitConfirmation {
    key_id: String,
}

async fn confirm_kit(State(state): State<AppState>, _admin: AdminAuth, Json(c): Json<KitConfirmation>) -> ApiResult<Json<Value>> {
    Ok(Json(kit::json(&kit::confirm(&state, &c.key_id).await?)))
}

async fn backup_now(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<(StatusCode, Json<Value>)> {
    let job = storage(&state).await?.backup_now("ui").await.map_err(unavailable)?;
    if job.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "No off-site backup is set up: choose where backups go first",
        ));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobId": job }))))
}

#[derive(Deserialize)]
struct PoolRequest {
    disks: Vec<String>,
    profile: String,
    #[serde(default)]
    token: String,
}

/// What creating the pool would erase, and the token that confirms it.
async fn plan_pool(State(state): State<AppState>, _setup: SetupAccess, Json(request): Json<PoolRequest>) -> ApiResult<Json<Value>> {
    let disks: Vec<&str> = request.disks.iter().map(String::as_str).collect();
    let plan = storage(&state)
        .await?
        .plan_pool(&disks, &request.profile)
        .await
        .map_err(unavailable)?;
    Ok(Json(json!({ "token": plan.token, "erases": plan.erases })))
}

/// Creates the pool and moves the library onto it, then restarts the
/// server on it. The catalog is held still meanwhile, so the copy the
/// storage service makes of it is consistent.
async fn create_pool(
    State(state): State<AppState>,
    _setup: SetupAccess,
    Json(request): Json<PoolRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let storage = storage(&state).await?;
    let runtime = tokio::runtime::Handle::current();
    let catalog = state.catalog.clone();
    let created = tokio::task::spawn_blocking(move || {
        let disks: Vec<&str> = request.disks.iter().map(String::as_str).collect();
        catalog.while_still(|| runtime.block_on(storage.create_pool(&disks, &request.profile, &request.token)))
    })
    .await
    .map_err(ApiError::internal)??;
    created.map_err(unavailable)?;
    tracing::info!("the library moved onto the new pool; restarting on it");
    state.restart.notify_one();
    Ok((StatusCode::ACCEPTED, Json(json!({ "restarting": true }))))
}
