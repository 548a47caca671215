//! The mobile apps' sync stream: `POST /sync/stream` answers JSON lines,
//! one per changed row after the session's checkpoints, parents before
//! children, ending with `SyncCompleteV1`; the app acknowledges what it
//! applied with `POST /sync/ack`. See docs/immich-mobile-protocol.md §2.
//!
//! An acknowledgement is `<entity type>|<change number>`: change numbers
//! come from the catalog's one counter (see `shoebox_catalog::SyncSnapshot`),
//! so "after the checkpoint" is a plain comparison and no change committed
//! during a stream is skipped by the next one.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::json::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{Deleted, Seq, SyncSnapshot, User};
use tokio::sync::mpsc;

use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sync/stream", post(stream))
        .route("/sync/ack", post(set_acks).get(list_acks).delete(delete_acks))
}

/// `SyncRequestType` of the 3.0 spec, plus `AssetOcrV1`, which 3.x apps send.
const REQUEST_TYPES: &[&str] = &[
    "AlbumsV1",
    "AlbumsV2",
    "AlbumUsersV1",
    "AlbumToAssetsV1",
    "AlbumAssetsV1",
    "AlbumAssetsV2",
    "AlbumAssetExifsV1",
    "AssetsV1",
    "AssetsV2",
    "AssetExifsV1",
    "AssetEditsV1",
    "AssetMetadataV1",
    "AuthUsersV1",
    "MemoriesV1",
    "MemoryToAssetsV1",
    "PartnersV1",
    "PartnerAssetsV1",
    "PartnerAssetsV2",
    "PartnerAssetExifsV1",
    "PartnerStacksV1",
    "StacksV1",
    "UsersV1",
    "PeopleV1",
    "AssetFacesV1",
    "AssetFacesV2",
    "UserMetadataV1",
    "AssetOcrV1",
];

/// Request types a 3.0 server refuses, as Immich does: the V2 types replace them.
const RETIRED: &[&str] = &["AssetsV1", "PartnerAssetsV1", "AlbumAssetsV1", "AssetFacesV1"];

/// `SyncEntityType` of the 3.0 spec plus the OCR types 3.x apps know:
/// the checkpoint keys an acknowledgement may name.
const ENTITY_TYPES: &[&str] = &[
    "AuthUserV1",
    "UserV1",
    "UserDeleteV1",
    "AssetV1",
    "AssetV2",
    "AssetDeleteV1",
    "AssetExifV1",
    "AssetEditV1",
    "AssetEditDeleteV1",
    "AssetMetadataV1",
    "AssetMetadataDeleteV1",
    "PartnerV1",
    "PartnerDeleteV1",
    "PartnerAssetV1",
    "PartnerAssetV2",
    "PartnerAssetBackfillV1",
    "PartnerAssetBackfillV2",
    "PartnerAssetDeleteV1",
    "PartnerAssetExifV1",
    "PartnerAssetExifBackfillV1",
    "PartnerStackBackfillV1",
    "PartnerStackDeleteV1",
    "PartnerStackV1",
    "AlbumV1",
    "AlbumV2",
    "AlbumDeleteV1",
    "AlbumUserV1",
    "AlbumUserBackfillV1",
    "AlbumUserDeleteV1",
    "AlbumAssetCreateV1",
    "AlbumAssetCreateV2",
    "AlbumAssetUpdateV1",
    "AlbumAssetUpdateV2",
    "AlbumAssetBackfillV1",
    "AlbumAssetBackfillV2",
    "AlbumAssetExifCreateV1",
    "AlbumAssetExifUpdateV1",
    "AlbumAssetExifBackfillV1",
    "AlbumToAssetV1",
    "AlbumToAssetDeleteV1",
    "AlbumToAssetBackfillV1",
    "MemoryV1",
    "MemoryDeleteV1",
    "MemoryToAssetV1",
    "MemoryToAssetDeleteV1",
    "StackV1",
    "StackDeleteV1",
    "PersonV1",
    "PersonDeleteV1",
    "AssetFaceV1",
    "AssetFaceV2",
    "AssetFaceDeleteV1",
    "UserMetadataV1",
    "UserMetadataDeleteV1",
    "AssetOcrV1",
    "AssetOcrDeleteV1",
    "SyncAckV1",
    "SyncResetV1",
    "SyncCompleteV1",
];

/// The order feeds are sent in, whatever order the app asks: the app's
/// database enforces foreign keys, so owners and assets come before the
/// rows that point at them. Feeds Shoebox has no data for send nothing.
const FEED_ORDER: &[&str] = &[
    "AuthUsersV1",
    "UsersV1",
    "PartnersV1",
    "AssetsV2",
    "StacksV1",
    "PartnerAssetsV2",
    "PartnerStacksV1",
    "AlbumAssetsV2",
    "AlbumsV2",
    "AlbumUsersV1",
    "AlbumToAssetsV1",
    "AssetExifsV1",
    "AlbumAssetExifsV1",
    "PartnerAssetExifsV1",
    "PeopleV1",
    "AssetFacesV2",
];

#[derive(Deserialize)]
struct StreamRequest {
    types: Vec<String>,
    #[serde(default)]
    reset: bool,
}

#[derive(Deserialize)]
struct AckSet {
    acks: Vec<String>,
}

#[derive(Deserialize, Default)]
struct AckDelete {
    types: Option<Vec<String>>,
}

/// Sync progress belongs to a login session, as in Immich.
fn session_of(auth: &Auth) -> ApiResult<String> {
    auth.session_id()
        .ok_or_else(|| ApiError::forbidden("Sync endpoints cannot be used with API keys: sign in with a password"))
}

fn check_entity_type(kind: &str) -> ApiResult<()> {
    if ENTITY_TYPES.contains(&kind) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("Invalid ack type {kind:?}")))
    }
}

async fn stream(State(state): State<AppState>, auth: Auth, Json(request): Json<StreamRequest>) -> ApiResult<Response> {
    let session = session_of(&auth)?;
    let mut types = HashSet::new();
    for kind in request.types {
        if RETIRED.contains(&kind.as_str()) {
            return Err(ApiError::bad_request(format!(
                "SyncRequestType.{kind} is deprecated, use SyncRequestType.{} instead",
                kind.replace("V1", "V2")
            )));
        }
        if !REQUEST_TYPES.contains(&kind.as_str()) {
            return Err(ApiError::bad_request(format!("types: {kind:?} is not a sync request type")));
        }
        types.insert(kind);
    }
    if request.reset {
        state.db(move |c| c.clear_sync_checkpoints(&session, None)).await?;
        return Ok(reset_response());
    }
    // Until the app acknowledges the reset, every stream says only that.
    if auth.session().is_some_and(|s| s.pending_sync_reset) {
        return Ok(reset_response());
    }
    let user = auth.user().clone();
    let (checkpoints, usage, pruned) = {
        let id = user.id.clone();
        state
            .db(move |c| Ok((c.sync_checkpoints(&session)?, c.usage_bytes(&id)?, c.sync_pruned_through()?)))
            .await?
    };
    let checkpoints = Checkpoints::parse(checkpoints);
    // Deletion records older than the client's last complete sync are gone:
    // it may have missed some, so it starts over.
    if checkpoints.has("SyncCompleteV1") && checkpoints.after("SyncCompleteV1") < pruned {
        return Ok(reset_response());
    }
    let (tx, rx) = mpsc::channel(4);
    let catalog = state.catalog.clone();
    tokio::task::spawn_blocking(move || {
        let mut out = Lines {
            tx,
            buf: Vec::new(),
            open: true,
        };
        let job = Feeds {
            user: &user,
            usage,
            types: &types,
            checkpoints: &checkpoints,
        };
        match catalog.sync_snapshot(|s| job.write(s, &mut out)) {
            Ok(()) => out.flush(),
            Err(e) => {
                // Ending the body with an error drops the connection, so
                // the app never takes a cut stream for a complete one.
                tracing::error!(error = %e, "sync stream failed");
                let _ = out.tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    Ok(lines_response(Body::from_stream(chunks)))
}

/// The one line that tells the app to empty its copy and sync again.
fn reset_response() -> Response {
    lines_response(Body::from(line("SyncResetV1", json!({}), "SyncResetV1|reset".into())))
}

fn lines_response(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "application/jsonlines+json")], body).into_response()
}

fn line(kind: &str, data: Value, ack: String) -> String {
    let mut text = json!({ "type": kind, "data": data, "ack": ack }).to_string();
    text.push('\n');
    text
}

/// The change number each checkpoint holds; a missing or foreign ack
/// counts as "nothing yet", so the worst case is sending rows again.
struct Checkpoints(HashMap<String, Seq>);

impl Checkpoints {
    fn parse(acks: Vec<(String, String)>) -> Self {
        Checkpoints(
            acks.into_iter()
                .map(|(kind, ack)| (kind, ack.split('|').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)))
                .collect(),
        )
    }
    fn after(&self, kind: &str) -> Seq {
        self.0.get(kind).copied().unwrap_or(0)
    }
    fn has(&self, kind: &str) -> bool {
        self.0.contains_key(kind)
    }
}

/// Lines on their way to the client, sent in chunks of about 64 KiB.
struct Lines {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
    open: bool,
}

impl Lines {
    /// Adds a row line; false once the client has gone.
    fn row(&mut self, kind: &str, data: Value, seq: Seq) -> bool {
        self.raw(kind, data, format!("{kind}|{seq}"))
    }

    fn raw(&mut self, kind: &str, data: Value, ack: String) -> bool {
        self.buf.extend_from_slice(line(kind, data, ack).as_bytes());
        if self.buf.len() >= 64 * 1024 {
            self.flush();
        }
        self.open
    }

    fn flush(&mut self) {
        if self.open && !self.buf.is_empty() {
            let chunk = Bytes::from(std::mem::take(&mut self.buf));
            self.open = self.tx.blocking_send(Ok(chunk)).is_ok();
        }
    }
}

/// One stream's work: which feeds, for whom, from where.
struct Feeds<'a> {
    user: &'a User,
    usage: i64,
    types: &'a HashSet<String>,
    checkpoints: &'a Checkpoints,
}

impl Feeds<'_> {
    fn write(&self, s: &SyncSnapshot, out: &mut Lines) -> shoebox_catalog::Result<()> {
        for feed in FEED_ORDER.iter().filter(|f| self.types.contains(**f)) {
            self.feed(feed, s, out)?;
            if !out.open {
                return Ok(());
            }
        }
        out.raw("SyncCompleteV1", json!({}), format!("SyncCompleteV1|{}", s.bound()));
        Ok(())
    }

    fn feed(&self, feed: &str, s: &SyncSnapshot, out: &mut Lines) -> shoebox_catalog::Result<()> {
        let me = self.user.id.as_str();
        let cp = self.checkpoints;
        match feed {
            "AuthUsersV1" => {
                if let Some((seq, u)) = s.user(me, cp.after("AuthUserV1"))? {
                    out.row("AuthUserV1", dto::sync_auth_user(&u, self.usage), seq);
                }
            }
            "UsersV1" => {
                s.deletions(Deleted::User, me, cp.after("UserDeleteV1"), |seq, (id, _)| {
                    out.row("UserDeleteV1", json!({ "userId": id }), seq)
                })?;
                s.users(cp.after("UserV1"), |seq, u| out.row("UserV1", dto::sync_user(&u), seq))?;
            }
            "AssetsV2" => {
                s.deletions(Deleted::Asset, me, cp.after("AssetDeleteV1"), |seq, (id, _)| {
                    out.row("AssetDeleteV1", json!({ "assetId": id }), seq)
                })?;
                s.assets(me, cp.after("AssetV2"), |seq, a| out.row("AssetV2", dto::sync_asset(&a), seq))?;
            }
            "AlbumAssetsV2" => {
                if cp.has("AlbumAssetUpdateV2") {
                    s.album_assets_changed(me, cp.after("AlbumAssetUpdateV2"), cp.after("AlbumAssetCreateV2"), |seq, a| {
                        out.row("AlbumAssetUpdateV2", dto::sync_asset(&a), seq)
                    })?;
                }
                // New memberships carry their asset's current state, so the
                // update feed may skip to now once the first one is sent.
                let mut updates_caught_up = false;
                s.album_assets_added(me, cp.after("AlbumAssetCreateV2"), |seq, a| {
                    if !updates_caught_up {
                        updates_caught_up = true;
                        out.raw("SyncAckV1", json!({}), format!("AlbumAssetUpdateV2|{}", s.bound()));
                    }
                    out.row("AlbumAssetCreateV2", dto::sync_asset(&a), seq)
                })?;
            }
            "AlbumsV2" => {
                s.deletions(Deleted::Album, me, cp.after("AlbumDeleteV1"), |seq, (id, _)| {
                    out.row("AlbumDeleteV1", json!({ "albumId": id }), seq)
                })?;
                s.albums(me, cp.after("AlbumV2"), |seq, a| out.row("AlbumV2", dto::sync_album(&a), seq))?;
            }
            "AlbumUsersV1" => {
                s.deletions(Deleted::AlbumUser, me, cp.after("AlbumUserDeleteV1"), |seq, (album, user)| {
                    out.row("AlbumUserDeleteV1", json!({ "albumId": album, "userId": user }), seq)
                })?;
                // The owner comes as a member with role "owner": the app
                // finds an album's owner through that row.
                s.album_users(me, cp.after("AlbumUserV1"), |seq, (album, user, role)| {
                    out.row(
                        "AlbumUserV1",
                        json!({ "albumId": album, "userId": user, "role": role.as_str() }),
                        seq,
                    )
                })?;
            }
            "AlbumToAssetsV1" => {
                s.deletions(Deleted::AlbumAsset, me, cp.after("AlbumToAssetDeleteV1"), |seq, (album, asset)| {
                    out.row("AlbumToAssetDeleteV1", json!({ "albumId": album, "assetId": asset }), seq)
                })?;
                s.album_links(me, cp.after("AlbumToAssetV1"), |seq, (album, asset)| {
                    out.row("AlbumToAssetV1", json!({ "albumId": album, "assetId": asset }), seq)
                })?;
            }
            "PartnersV1" => {
                s.deletions(Deleted::Partner, me, cp.after("PartnerDeleteV1"), |seq, (by, with)| {
                    out.row("PartnerDeleteV1", json!({ "sharedById": by, "sharedWithId": with }), seq)
                })?;
                s.partners(me, cp.after("PartnerV1"), |seq, (by, with, in_timeline)| {
                    out.row(
                        "PartnerV1",
                        json!({ "sharedById": by, "sharedWithId": with, "inTimeline": in_timeline }),
                        seq,
                    )
                })?;
            }
            "PartnerAssetsV2" => {
                s.partner_asset_deletions(me, cp.after("PartnerAssetDeleteV1"), |seq, id| {
                    out.row("PartnerAssetDeleteV1", json!({ "assetId": id }), seq)
                })?;
                self.backfill(s, out, "PartnerAssetV2", "PartnerAssetBackfillV2", |sharer, upto, ack, out| {
                    s.older_assets(sharer, upto, |_, a| {
                        out.raw("PartnerAssetBackfillV2", dto::sync_asset(&a), ack.to_owned())
                    })
                })?;
                s.partner_assets(me, cp.after("PartnerAssetV2"), |seq, a| {
                    out.row("PartnerAssetV2", dto::sync_asset(&a), seq)
                })?;
            }
            "PartnerAssetExifsV1" => {
                self.backfill(
                    s,
                    out,
                    "PartnerAssetExifV1",
                    "PartnerAssetExifBackfillV1",
                    |sharer, upto, ack, out| {
                        s.older_exifs(sharer, upto, |_, (id, e)| {
                            out.raw("PartnerAssetExifBackfillV1", dto::sync_exif(&id, &e), ack.to_owned())
                        })
                    },
                )?;
                s.partner_exifs(me, cp.after("PartnerAssetExifV1"), |seq, (id, e)| {
                    out.row("PartnerAssetExifV1", dto::sync_exif(&id, &e), seq)
                })?;
            }
            "AssetExifsV1" => {
                s.exifs(me, cp.after("AssetExifV1"), |seq, (id, e)| {
                    out.row("AssetExifV1", dto::sync_exif(&id, &e), seq)
                })?;
            }
            "PeopleV1" => {
                s.deletions(Deleted::Person, me, cp.after("PersonDeleteV1"), |seq, (id, _)| {
                    out.row("PersonDeleteV1", json!({ "personId": id }), seq)
                })?;
                s.people(me, cp.after("PersonV1"), |seq, p| out.row("PersonV1", dto::sync_person(&p), seq))?;
            }
            // After people: a face points at its person.
            "AssetFacesV2" => {
                s.deletions(Deleted::AssetFace, me, cp.after("AssetFaceDeleteV1"), |seq, (id, _)| {
                    out.row("AssetFaceDeleteV1", json!({ "assetFaceId": id }), seq)
                })?;
                s.faces(me, cp.after("AssetFaceV2"), |seq, (asset, f)| {
                    out.row("AssetFaceV2", dto::sync_face(&asset, &f), seq)
                })?;
            }
            "AlbumAssetExifsV1" => {
                if cp.has("AlbumAssetExifUpdateV1") {
                    s.album_exifs_changed(
                        me,
                        cp.after("AlbumAssetExifUpdateV1"),
                        cp.after("AlbumAssetExifCreateV1"),
                        |seq, (id, e)| out.row("AlbumAssetExifUpdateV1", dto::sync_exif(&id, &e), seq),
                    )?;
                }
                let mut updates_caught_up = false;
                s.album_exifs_added(me, cp.after("AlbumAssetExifCreateV1"), |seq, (id, e)| {
                    if !updates_caught_up {
                        updates_caught_up = true;
                        out.raw("SyncAckV1", json!({}), format!("AlbumAssetExifUpdateV1|{}", s.bound()));
                    }
                    out.row("AlbumAssetExifCreateV1", dto::sync_exif(&id, &e), seq)
                })?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Feeds<'_> {
    /// Sends the older rows of partners who began sharing since the last
    /// completed backfill: rows changed after the client's `upsert`
    /// checkpoint come through the normal feed, the older ones only here.
    /// Backfill rows repeat the last completed position as their ack; a
    /// `SyncAckV1` line after each partner records its completion.
    fn backfill(
        &self,
        s: &SyncSnapshot,
        out: &mut Lines,
        upsert: &str,
        backfill: &str,
        older: impl Fn(&str, Seq, &str, &mut Lines) -> shoebox_catalog::Result<()>,
    ) -> shoebox_catalog::Result<()> {
        let done = self.checkpoints.after(backfill);
        let created = s.partnerships_created(&self.user.id, done)?;
        let Some((newest, _)) = created.last() else {
            return Ok(());
        };
        if !self.checkpoints.has(upsert) {
            // A first sync: the normal feed carries everything.
            out.raw("SyncAckV1", json!({}), format!("{backfill}|{newest}"));
            return Ok(());
        }
        let upto = self.checkpoints.after(upsert);
        let ack = format!("{backfill}|{done}");
        for (seq, sharer) in &created {
            older(sharer, upto, &ack, out)?;
            if !out.raw("SyncAckV1", json!({}), format!("{backfill}|{seq}")) {
                break;
            }
        }
        Ok(())
    }
}

/// Stores the last acknowledgement per entity type. Acknowledging
/// `SyncResetV1` clears the session's progress, after the app has
/// emptied its own copy.
async fn set_acks(State(state): State<AppState>, auth: Auth, Json(set): Json<AckSet>) -> ApiResult<StatusCode> {
    let session = session_of(&auth)?;
    if set.acks.len() > 1000 {
        return Err(ApiError::bad_request("acks: at most 1000 per request"));
    }
    let mut latest = BTreeMap::new();
    for ack in set.acks {
        let kind = ack.split('|').next().unwrap_or_default().to_owned();
        check_entity_type(&kind)?;
        if kind == "SyncResetV1" {
            state.db(move |c| c.clear_sync_checkpoints(&session, None)).await?;
            return Ok(StatusCode::NO_CONTENT);
        }
        latest.insert(kind, ack);
    }
    let acks: Vec<_> = latest.into_iter().collect();
    state.db(move |c| c.set_sync_checkpoints(&session, &acks)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_acks(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let session = session_of(&auth)?;
    let acks = state.db(move |c| c.sync_checkpoints(&session)).await?;
    Ok(Json(
        acks.into_iter().map(|(kind, ack)| json!({ "type": kind, "ack": ack })).collect(),
    ))
}

/// Forgets checkpoints (the named types, or all), so those feeds start over.
/// The body is optional, as in Immich.
async fn delete_acks(State(state): State<AppState>, auth: Auth, body: Bytes) -> ApiResult<StatusCode> {
    let session = session_of(&auth)?;
    let request: AckDelete = if body.iter().all(u8::is_ascii_whitespace) {
        AckDelete::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?
    };
    if let Some(types) = &request.types {
        types.iter().try_for_each(|t| check_entity_type(t))?;
    }
    state
        .db(move |c| c.clear_sync_checkpoints(&session, request.types.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
